"""/api/v1/imports: the import wizard as an API (upload, mapping, preview, run, progress, report, revert);
/api/v1/duplicates/check: the duplicate matcher on a customer being typed."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import File, Form, Router, Status
from ninja.files import UploadedFile

from pearl.core.api import IDEMPOTENCY_OPENAPI, api_actor, problem_responses
from pearl.core.duplicates import Candidate
from pearl.core.errors import NotFound
from pearl.dataquality import selectors
from pearl.dataquality.choices import ImportKey, ImportRule, ImportTarget
from pearl.dataquality.models import ImportJob
from pearl.dataquality.schemas import (
    DuplicateCheckIn,
    DuplicateCheckOut,
    ImportJobOut,
    ImportMappingPatch,
    ImportRevertIn,
)
from pearl.dataquality.services import imports, lead_import
from pearl.dataquality.tasks import run_import

router = Router(tags=["imports"])
_READ_ERRORS = problem_responses(401, 404)
_WRITE_ERRORS = problem_responses(400, 401, 403, 404, 409, 422)


def _assignment(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"rule": g["rule"], "reason": g["reason"], "count": g["n"]} for g in groups]


def _leads(job: ImportJob) -> dict[str, Any] | None:
    if not job.for_leads:
        return None
    summary = lead_import.summary_lists(job.summary)
    return {
        "assigned_by": _assignment(summary["rules"]),
        "owners": [{"owner": o["owner"], "name": o["name"], "count": o["n"]} for o in summary["owners"]],
        "reverted_deleted": summary["deleted"],
        "reverted_kept": summary["kept"],
    }


def _preview(job: ImportJob) -> dict[str, Any] | None:
    preview = job.preview or None
    if not preview or "counts" not in preview:
        return None
    assignment = _assignment(lead_import.summary_lists(preview.get("assignment") or {})["rules"])
    return {**preview, "assignment": assignment}


def _out(request: HttpRequest, job: ImportJob) -> dict[str, Any]:
    return {
        "id": job.pk,
        "filename": job.filename,
        "status": job.status,
        "sheet": job.sheet,
        "sheet_names": job.sheet_names,
        "header_row": job.header_row,
        "columns": [{"index": i, "header": h, "field": job.mapping.get(str(i))} for i, h in enumerate(job.headers)],
        "target": job.target,
        "key": job.key,
        "rule": job.rule,
        "total_rows": job.total_rows,
        "rows_processed": job.rows_processed,
        "percent": job.percent,
        "last_row": job.last_row,
        "stalled": job.stalled,
        "counts": job.counts,
        "preview": _preview(job),
        "leads": _leads(job),
        "error": job.error,
        "report_url": _report_url(request, job),
        "created_at": job.created_at,
        "finished_at": job.finished_at,
    }


def _report_url(request: HttpRequest, job: ImportJob) -> str | None:
    return request.build_absolute_uri(reverse("api:get_import_report", args=[job.pk])) if job.report else None


@router.post("/imports", response={201: ImportJobOut, **_WRITE_ERRORS}, openapi_extra=IDEMPOTENCY_OPENAPI)
def create_import(
    request: HttpRequest,
    response: HttpResponse,
    file: File[UploadedFile],
    sheet: Form[str] = "",
    preset: Form[int | None] = None,
    key: Form[ImportKey] = ImportKey.MOBILE,
    rule: Form[ImportRule] = ImportRule.FILL_EMPTY,
    target: Form[ImportTarget] = ImportTarget.CUSTOMERS,
) -> Status[dict[str, Any]]:
    """Upload a spreadsheet (multipart ``file``); the answer carries the automatic column mapping.

    ``target=leads`` imports leads (each assigned by the assignment rules as it is created) instead of
    customers; ``key`` and ``rule`` then do not apply. A file that is not a readable spreadsheet (or is
    empty, too large, too wide) is refused with 422 and nothing is stored.
    """
    job = imports.job_create(
        actor=api_actor(request), file=file, filename=file.name or "import", sheet=sheet or None,
        preset_id=preset, key=key, rule=rule, target=target,
    )  # fmt: skip
    response["Location"] = reverse("api:get_import", args=[job.pk])
    return Status(201, _out(request, job))


@router.get("/imports/{int:id}", response={200: ImportJobOut, **_READ_ERRORS})
def get_import(request: HttpRequest, id: int) -> dict[str, Any]:
    """The job: status, progress (poll it while running), counts and the preview."""
    return _out(request, selectors.job_get(actor=api_actor(request), job_id=id))


@router.patch("/imports/{int:id}", response={200: ImportJobOut, **_WRITE_ERRORS})
def update_import_mapping(request: HttpRequest, id: int, payload: ImportMappingPatch) -> dict[str, Any]:
    """Change the column mapping, key or rule (before the import runs); the preview must be redone."""
    actor = api_actor(request)
    job = selectors.job_get(actor=actor, job_id=id)
    mapping = payload.mapping if payload.mapping is not None else {int(i): k for i, k in job.mapping.items()}
    job = imports.job_set_mapping(actor=actor, job_id=id, mapping=mapping, key=payload.key, rule=payload.rule)
    return _out(request, job)


@router.post("/imports/{int:id}/preview", response={200: ImportJobOut, **_WRITE_ERRORS})
def preview_import(request: HttpRequest, id: int) -> dict[str, Any]:
    """Dry run over the whole file: counts of new / updated / unchanged / duplicate / invalid rows."""
    return _out(request, imports.job_preview(actor=api_actor(request), job_id=id))


@router.post("/imports/{int:id}/run", response={202: ImportJobOut, **_WRITE_ERRORS})
def run_import_job(request: HttpRequest, response: HttpResponse, id: int) -> Status[dict[str, Any]]:
    """Start (or resume) the import on the task worker; poll GET /imports/{id} for progress."""
    job = imports.job_start(actor=api_actor(request), job_id=id)
    run_import(job.pk)
    response["Location"] = reverse("api:get_import", args=[job.pk])
    job.refresh_from_db()
    return Status(202, _out(request, job))


@router.get("/imports/{int:id}/report", response={200: None, **_READ_ERRORS})
def get_import_report(request: HttpRequest, id: int) -> FileResponse:
    """The rejected rows as .xlsx: the original columns plus the reason."""
    job = selectors.job_get(actor=api_actor(request), job_id=id)
    if not job.report:
        raise NotFound(_("This import has no rejected rows (or has not finished)."))
    return FileResponse(job.report.open("rb"), as_attachment=True, filename=str(job.report.name).rsplit("/", 1)[-1])


@router.post("/imports/{int:id}/revert", response={200: ImportJobOut, **_WRITE_ERRORS})
def revert_import(request: HttpRequest, id: int, payload: ImportRevertIn | None = None) -> dict[str, Any]:
    """Delete the customers the import created and restore the ones it updated (409 if changed since).

    A leads import deletes the leads nobody changed since and keeps the others (``leads.reverted_kept``)."""
    skip = bool(payload and payload.skip_changed)
    return _out(request, imports.job_revert(actor=api_actor(request), job_id=id, skip_changed=skip))


@router.post("/duplicates/check", response={200: DuplicateCheckOut, **problem_responses(401, 422)}, tags=["duplicates"])
def check_duplicates(request: HttpRequest, payload: DuplicateCheckIn) -> dict[str, Any]:
    """Existing customers that what is typed so far may duplicate, best first, each with its reasons.

    The same matcher that refuses a duplicate create and fills the review queue; it reads the
    indexed match keys, so it answers in milliseconds at a million customers. Nothing is written.
    """
    data = payload.model_dump()
    contacts = data.pop("contacts")
    candidate = Candidate.of(data, contacts)
    check = selectors.duplicate_check(actor=api_actor(request), candidate=candidate, exclude_id=payload.exclude)
    items = [
        {"customer": h.customer_id if h.visible else None, "name": h.name, "score": h.score, "band": h.band,
         "reasons": list(h.reasons)}
        for h in check.hits
    ]  # fmt: skip
    return {"items": items, "hidden": sum(1 for h in check.hits if not h.visible), "ms": round(check.seconds * 1000, 1)}
