"""The import wizard pages: list → upload → mapping → preview → run (progress) → result, report, revert.

Thin: each view calls one service or selector. The run happens on the task worker, and so does the
preview of a big file; the detail page polls the progress partial every second with htmx while the
job is being checked, queued or running.
"""

from __future__ import annotations

import functools
from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from pearl.core.errors import Conflict, ValidationFailed
from pearl.core.pages import actor_of, add_service_errors, page_view, render_page
from pearl.dataquality import selectors
from pearl.dataquality.choices import ImportStatus
from pearl.dataquality.forms import MappingForm, PresetForm, UploadForm
from pearl.dataquality.mapping import field_choices
from pearl.dataquality.models import ImportJob
from pearl.dataquality.services import imports, lead_import, presets
from pearl.dataquality.tasks import preview_import, run_import

ERROR_TEMPLATE = "customers/error.html"
page = page_view(error_template=ERROR_TEMPLATE)
render = functools.partial(render_page, nav="imports")
LIVE = {ImportStatus.PREVIEWING, ImportStatus.QUEUED, ImportStatus.RUNNING}
LIST_SIZE = 50


def _presets(actor: Any) -> list[tuple[int, str]]:
    return [(p.pk, p.name) for p in selectors.preset_list(actor=actor)]


@page
@require_GET
def import_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    jobs = list(selectors.job_list(actor=actor)[:LIST_SIZE])
    return render(request, "dataquality/import_list.html", {"jobs": jobs})


@page
@require_http_methods(["GET", "POST"])
def import_new(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    imports.require_import(actor)
    form = UploadForm(request.POST or None, request.FILES or None, presets=_presets(actor))
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = imports.job_create(
                actor=actor,
                file=upload,
                filename=upload.name,
                preset_id=form.cleaned_data["preset"],
                key=form.cleaned_data["key"],
                rule=form.cleaned_data["rule"],
                target=form.cleaned_data["target"],
            )
        except ValidationFailed as exc:
            add_service_errors(form, exc)
        else:
            return redirect("dataquality:import_mapping", pk=job.pk)
    status = 422 if request.method == "POST" else 200
    return render(request, "dataquality/import_new.html", {"form": form}, status=status)


def _preview(request: HttpRequest, job_id: int) -> None:
    """Check the file now, or (a big file) on the task worker, in the language of this page."""
    job = imports.job_preview_request(actor=actor_of(request), job_id=job_id)
    if job.status == ImportStatus.PREVIEWING:
        user_id, language = actor_of(request).pk, translation.get_language() or ""
        transaction.on_commit(lambda: preview_import(job.pk, user_id, language))


def _mapping_form(request: HttpRequest, job: ImportJob, data: Any = None) -> MappingForm:
    actor = actor_of(request)
    initial: dict[str, Any] = {"key": job.key, "rule": job.rule}
    initial.update({f"col_{i}": key for i, key in job.mapping.items()})
    return MappingForm(
        data,
        headers=job.headers,
        field_choices=field_choices(imports.mapping_fields(actor, job.target), target=job.target),
        target=job.target,
        initial=initial,
    )


@page
@require_http_methods(["GET", "POST"])
def import_mapping(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    job = selectors.job_get(actor=actor, job_id=pk)
    if job.status not in (ImportStatus.UPLOADED, ImportStatus.PREVIEWING, ImportStatus.PREVIEWED):
        return redirect("dataquality:import_detail", pk=job.pk)
    form = _mapping_form(request, job, request.POST if request.method == "POST" else None)
    preset_form = PresetForm(request.POST if "save_preset" in request.POST else None)
    error: str | None = None
    if request.method == "POST":
        try:
            if "apply_preset" in request.POST:
                preset_id = request.POST.get("preset_id", "")
                imports.job_apply_preset(
                    actor=actor,
                    job_id=job.pk,
                    preset_id=int(preset_id)
                    if preset_id.isascii() and preset_id.isdigit() and len(preset_id) < 10
                    else 0,
                )
                return redirect("dataquality:import_mapping", pk=job.pk)
            if form.is_valid():
                imports.job_set_mapping(
                    actor=actor,
                    job_id=job.pk,
                    mapping=form.mapping(),
                    key=form.cleaned_data.get("key"),  # a leads import has no key nor rule
                    rule=form.cleaned_data.get("rule"),
                )
                if "save_preset" in request.POST:
                    if preset_form.is_valid():
                        preset = presets.preset_save(actor=actor, job_id=job.pk, name=preset_form.cleaned_data["name"])
                        messages.success(request, _("Mapping saved as preset “%(name)s”.") % {"name": preset.name})
                        return redirect("dataquality:import_mapping", pk=job.pk)
                else:
                    _preview(request, job.pk)
                    return redirect("dataquality:import_detail", pk=job.pk)
        except (ValidationFailed, Conflict) as exc:
            error = str(exc.message)
    else:
        try:
            imports.check_mapping(actor=actor, job=job)
        except ValidationFailed as exc:
            error = str(exc.message)
    context = {
        "job": job,
        "form": form,
        "preset_form": preset_form,
        "presets": _presets(actor),
        "error": error,
        "columns": list(zip(form.column_fields(), imports.job_samples(actor=actor, job=job), strict=False)),
    }
    return render(request, "dataquality/import_mapping.html", context, status=422 if error and request.POST else 200)


@page
@require_GET
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    job = selectors.job_get(actor=actor, job_id=pk)
    issues = list(selectors.job_issues(actor=actor, job_id=pk)[:50]) if job.status in (ImportStatus.DONE,) else []
    context = {"job": job, "issues": issues, "live": job.status in LIVE}
    if job.for_leads:
        context["leads"] = lead_import.summary_lists(job.summary)
        context["assignment"] = lead_import.summary_lists(job.preview.get("assignment") or {})
    return render(request, "dataquality/import_detail.html", context)


@page
@require_POST
def import_preview(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        _preview(request, pk)
    except (ValidationFailed, Conflict) as exc:
        messages.error(request, str(exc.message))
    return redirect("dataquality:import_detail", pk=pk)


@page
@require_POST
def import_run(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    try:
        job = imports.job_start(actor=actor, job_id=pk)
    except (ValidationFailed, Conflict) as exc:
        messages.error(request, str(exc.message))
    else:
        transaction.on_commit(lambda: run_import(job.pk))
    return redirect("dataquality:import_detail", pk=pk)


@page
@require_GET
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress card alone; while the job is checked or runs it asks to be polled again, once
    that is over it reloads the page (the preview, the error or the result)."""
    job = selectors.job_get(actor=actor_of(request), job_id=pk)
    response = render(request, "dataquality/_progress.html", {"job": job, "live": job.status in LIVE})
    if job.status not in LIVE and request.headers.get("HX-Request"):
        response["HX-Refresh"] = "true"  # show the result page (counts, report, revert)
    return response


@page
@require_GET
def import_report(request: HttpRequest, pk: int) -> FileResponse | HttpResponse:
    job = selectors.job_get(actor=actor_of(request), job_id=pk)
    if not job.report:
        messages.info(request, _("No row was rejected, so there is no report."))
        return redirect("dataquality:import_detail", pk=pk)
    return FileResponse(job.report.open("rb"), as_attachment=True, filename=str(job.report.name).rsplit("/", 1)[-1])


@page
@require_POST
def import_revert(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    try:
        job = imports.job_revert(actor=actor, job_id=pk, skip_changed=request.POST.get("skip_changed") == "1")
    except Conflict as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The import was reverted."))
        if kept := job.summary.get("kept"):
            messages.info(
                request,
                ngettext(
                    "%(n)d lead was changed after the import and is kept.",
                    "%(n)d leads were changed after the import and are kept.",
                    len(kept),
                )
                % {"n": len(kept)},
            )
    return redirect("dataquality:import_detail", pk=pk)
