"""Import jobs: upload → mapping → preview (dry run) → run in batches → report → revert.

The file is checked by the reader before anything is stored, so a rejected file leaves nothing
behind. A run commits batch by batch; each batch's transaction also moves ``job.last_row``, so a
process killed half-way leaves whole batches only, and running the job again resumes after the last
committed one with the same final result. Rows are written through
``pearl.customers.services.bulk.customer_bulk_upsert``, or, for a leads import (``job.target``), through
``pearl.leads.services.leads_create_clean`` (see ``lead_import``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from typing import IO, Any

from django.core.files import File
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.core.context import Channel, acting_through
from pearl.core.errors import ApplicationError, Conflict, PermissionDenied, ValidationFailed
from pearl.core.rows import insert_rows
from pearl.customers import selectors as customer_selectors
from pearl.customers.services.bulk import (
    BulkResult,
    BulkState,
    CustomerRowIn,
    Lookups,
    Outcome,
    customer_bulk_upsert,
)
from pearl.customers.services.bulk_revert import customer_bulk_revert
from pearl.customers.services.bulk_rows import Prepared
from pearl.dataquality.choices import (
    EDITABLE,
    IMPORT_TRANSITIONS,
    RUNNABLE,
    ImportKey,
    ImportRule,
    ImportStatus,
    ImportTarget,
    IssueKind,
    RecordAction,
)
from pearl.dataquality.mapping import CUSTOM_PREFIX, auto_map, validate_mapping
from pearl.dataquality.models import ImportedRecord, ImportIssue, ImportJob, ImportPreset
from pearl.dataquality.reader import Sheet, SheetRow, SkippedRow, open_sheet
from pearl.dataquality.services import import_pipeline, lead_import
from pearl.dataquality.services.addresses import split_addresses

logger = logging.getLogger(__name__)

# Rows per transaction. Each commit costs a WAL sync and, now and then, a checkpoint; 2,000 rows per
# batch halves that cost against 500 and gives the sorted token inserts more neighbours per page.
BATCH_SIZE = 2000
PREVIEW_ISSUES = 50
Progress = Callable[[ImportJob], None]


def custom_field_pairs(actor: User) -> list[tuple[str, str]]:
    """(key, label) of the customer custom fields, for header recognition and the mapping dropdowns."""
    return [(d.key, d.label) for d in customer_selectors.custom_field_list(actor=actor, object_type="customer")]


def require_import(actor: User, target: str = ImportTarget.CUSTOMERS) -> None:
    """Importing creates customers or updates them: a role needs one of the two rights (importing
    leads only creates: the create right)."""
    if target == ImportTarget.LEADS:
        lead_import.require_lead_import(actor)
    elif not (actor.may("create") or actor.may("edit")):
        raise PermissionDenied(_("Your role may not import customers."))


def mapping_fields(actor: User, target: str) -> list[tuple[str, str]]:
    """The custom fields a job's columns may feed: the customer ones; a lead has none."""
    return [] if target == ImportTarget.LEADS else custom_field_pairs(actor)


def _move(job: ImportJob, status: str) -> None:
    if status not in IMPORT_TRANSITIONS[job.status]:
        raise Conflict(
            _("This import is %(status)s and cannot do that now.") % {"status": ImportStatus(job.status).label}
        )
    job.status = status


def _mapping(job: ImportJob) -> dict[int, str]:
    return {int(k): v for k, v in job.mapping.items()}


def _digest(stream: IO[bytes]) -> tuple[str, int]:
    sha, size = hashlib.sha256(), 0
    stream.seek(0)
    while chunk := stream.read(1024 * 1024):
        sha.update(chunk)
        size += len(chunk)
    stream.seek(0)
    return sha.hexdigest(), size


# --- upload and mapping ------------------------------------------------------------------------------


@transaction.atomic
def job_create(
    *,
    actor: User,
    file: IO[bytes],
    filename: str,
    sheet: str | None = None,
    preset_id: int | None = None,
    key: str = ImportKey.MOBILE,
    rule: str = ImportRule.FILL_EMPTY,
    require_mapping: bool = False,
    target: str = ImportTarget.CUSTOMERS,
) -> ImportJob:
    """Check the file with the reader, then store it with an automatic (or preset) mapping.

    A file the reader rejects raises its SpreadsheetRejected (a ValidationFailed) and stores nothing;
    with ``require_mapping`` (no one to fix the mapping, e.g. ``pearl import``) so does a file whose
    headers do not map to a customer (or, ``target="leads"``, to a lead).
    """
    try:
        target = ImportTarget(target)
    except ValueError:
        message = _("Choose what to import: customers or leads.")
        raise ValidationFailed(message, field_errors={"target": [message]}) from None
    require_import(actor, target)
    key, rule = ImportKey(key), ImportRule(rule)
    custom = custom_field_pairs(actor)
    fields = mapping_fields(actor, target)
    preset = ImportPreset.objects.filter(pk=preset_id).first() if preset_id else None
    if preset_id and preset is None:
        raise ValidationFailed(_("That mapping preset no longer exists."))
    with open_sheet(file, filename=filename, sheet=sheet or None, custom_fields=custom) as opened:
        result = auto_map(
            opened.headers, custom_fields=fields, preset=preset.mapping if preset else None, target=target
        )
        if require_mapping:
            validate_mapping(result.mapping, custom_fields=fields, column_count=len(opened.headers), target=target)
        job = ImportJob(
            created_by=actor,
            filename=os.path.basename(filename)[:255] or "import",
            file_format=opened.format.value,
            sheet=opened.sheet_name or "",
            sheet_names=opened.sheet_names,
            header_row=opened.header_row,
            headers=opened.headers,
            mapping={str(i): k for i, k in result.mapping.items()},
            target=target,
            key=preset.key if preset else key,
            rule=preset.rule if preset else rule,
        )
    job.sha256, job.size = _digest(file)
    job.file.save(job.filename, File(file, name=job.filename), save=False)
    job.save()
    return job


@transaction.atomic
def job_set_mapping(
    *,
    actor: User,
    job_id: int,
    mapping: dict[int, str],
    key: str | None = None,
    rule: str | None = None,
) -> ImportJob:
    """Replace the column mapping (``{column index: field key}``, empty key = not imported)."""
    job = _job_for_write(actor, job_id)
    if job.status not in EDITABLE:
        raise Conflict(_("The mapping can only be changed before the import runs."))
    cleaned = {int(i): k for i, k in mapping.items() if k}
    validate_mapping(
        cleaned, custom_fields=mapping_fields(actor, job.target), column_count=len(job.headers), target=job.target
    )
    job.mapping = {str(i): k for i, k in sorted(cleaned.items())}
    if key is not None:
        job.key = ImportKey(key)
    if rule is not None:
        job.rule = ImportRule(rule)
    _move(job, ImportStatus.UPLOADED)  # the old preview (or the error of a failed check) no longer applies
    job.preview, job.error, job.rows_processed = {}, "", 0
    job.save()
    return job


def job_apply_preset(*, actor: User, job_id: int, preset_id: int) -> ImportJob:
    job = _job_for_read(actor, job_id)  # job_set_mapping locks and checks it again
    preset = ImportPreset.objects.filter(pk=preset_id).first()
    if preset is None:
        raise ValidationFailed(_("That mapping preset no longer exists."))
    result = auto_map(
        job.headers, custom_fields=mapping_fields(actor, job.target), preset=preset.mapping, target=job.target
    )
    return job_set_mapping(actor=actor, job_id=job_id, mapping=result.mapping, key=preset.key, rule=preset.rule)


def _job_for_read(actor: User, job_id: int) -> ImportJob:
    from pearl.dataquality.selectors import job_get

    require_import(actor)
    job = job_get(actor=actor, job_id=job_id)
    if job.target != ImportTarget.CUSTOMERS:
        require_import(actor, job.target)
    return job


def _job_for_write(actor: User, job_id: int) -> ImportJob:
    """The job locked for this transaction (callers are atomic: PostgreSQL refuses a lock outside one)."""
    job = _job_for_read(actor, job_id)
    return ImportJob.objects.select_for_update().get(pk=job.pk)


# --- reading rows ---------------------------------------------------------------------------------------


@dataclass
class _Batch:
    numbers: list[int]  # the sheet's row number of each row
    data: list[CustomerRowIn]
    values: list[list[str | None]]  # each row as read, for the rejected-rows report
    prepared: Prepared | None = None  # validated by the second process (import_pipeline)

    @property
    def last(self) -> int:
        return self.numbers[-1]


def open_job_sheet(job: ImportJob, actor: User) -> Sheet:
    """The job's stored file, opened again."""
    return open_stored(stored_location(job), job.filename, job.sheet or None, custom_field_pairs(actor))


def stored_location(job: ImportJob) -> str:
    """Where the job's file is: a path when the storage has one (calamine and the second process
    open it directly), else its name in the storage."""
    try:
        return job.file.path
    except NotImplementedError:  # remote storage (S3)
        return f"{_REMOTE}{job.file.name}"


_REMOTE = "storage:"


def open_stored(location: str, filename: str, sheet: str | None, custom_fields: Sequence[tuple[str, str]]) -> Sheet:
    """An import's stored file at a ``stored_location`` (also used by the import's second process,
    which has the location but no database)."""
    if location.startswith(_REMOTE):
        stored = ImportJob.file.field.storage.open(location[len(_REMOTE) :], "rb")
        return open_sheet(stored, filename=filename, sheet=sheet, custom_fields=custom_fields)
    return open_sheet(location, filename=filename, sheet=sheet, custom_fields=custom_fields)


def _row_in(row: SheetRow, mapping: dict[int, str], headers: Sequence[str]) -> CustomerRowIn:
    data: dict[str, Any] = {"row": row.number}
    custom: dict[str, str | None] = {}
    for index, key in mapping.items():
        value = row.values[index] if index < len(row.values) else None
        if key.startswith(CUSTOM_PREFIX):
            custom[key[len(CUSTOM_PREFIX) :]] = value
        else:
            data[key] = value
    if custom:
        data["custom_fields"] = custom
    if row.errors:
        data["errors"] = [
            f"{headers[c] if c < len(headers) else c + 1}: {e.message}" for c, e in sorted(row.errors.items())
        ]
    return data  # type: ignore[return-value]


RawBatch = tuple[list[int], list[CustomerRowIn], list[list[str | None]]]


def raw_batches(
    sheet: Sheet, mapping: dict[int, str], headers: Sequence[str], size: int, after: int
) -> Iterator[RawBatch]:
    """``(row numbers, rows as the services take them, rows as read)`` of the rows after ``after``,
    ``size`` at a time."""
    numbers: list[int] = []
    data: list[CustomerRowIn] = []
    values: list[list[str | None]] = []
    for row in sheet.rows():
        if row.number <= after:
            continue
        numbers.append(row.number)
        data.append(_row_in(row, mapping, headers))
        values.append(row.values)
        if len(numbers) >= size:
            yield numbers, data, values
            numbers, data, values = [], [], []
    if numbers:
        yield numbers, data, values


def _batches(
    sheet: Sheet, job: ImportJob, size: int, after: int = 0, lookups: Lookups | None = None
) -> Generator[_Batch, None, None]:
    """The rows after ``after`` in batches of ``size``; with ``lookups``, a big sheet's rows are read
    and validated by a second process (see import_pipeline), the same rows either way."""
    mapping = _mapping(job)
    fields = set(mapping.values())
    parse_address = "address" in fields and not fields & {"province", "city", "district"}
    expected = (job.total_rows or rows_estimate(job, sheet)) - after
    if lookups is not None and expected >= import_pipeline.PIPELINE_MIN_ROWS and import_pipeline.available():
        plan = import_pipeline.SheetPlan(
            location=stored_location(job), filename=job.filename, sheet=job.sheet or None,
            custom_fields=sheet.custom_fields, header_row=sheet.header_row, mapping=mapping,
            headers=job.headers, size=size, after=after,
        )  # fmt: skip
        skipped: list[SkippedRow] = []
        for (numbers, data, values), prepared in import_pipeline.pipelined(lookups, plan, parse_address, skipped):
            yield _Batch(numbers, data, values, prepared)
        sheet.skipped = skipped  # the worker read the rows, so its totals rows are this sheet's
        return
    for numbers, data, values in raw_batches(sheet, mapping, job.headers, size, after):
        if parse_address:
            split_addresses(data)  # type: ignore[arg-type]  # CustomerRowIn is a str-keyed dict
        yield _Batch(numbers, data, values)


def _ready(job: ImportJob, actor: User) -> None:
    require_import(actor, job.target)
    validate_mapping(
        _mapping(job),
        custom_fields=mapping_fields(actor, job.target),
        column_count=len(job.headers),
        target=job.target,
    )


def check_mapping(*, actor: User, job: ImportJob) -> None:
    """Raise MappingInvalid (with the message for the user) unless the job's mapping can make customers
    (or leads)."""
    _ready(job, actor)


def job_samples(*, actor: User, job: ImportJob, count: int = 3) -> list[list[str]]:
    """The first values of each column (``[column][sample]``), shown beside the mapping dropdowns."""
    columns: list[list[str]] = [[] for _header in job.headers]
    with open_job_sheet(job, actor) as sheet:
        for taken, row in enumerate(sheet.rows()):
            if taken >= count:
                break
            for index, value in enumerate(row.values[: len(columns)]):
                if value:
                    columns[index].append(value)
    return columns


# --- preview -------------------------------------------------------------------------------------------


def job_preview(*, actor: User, job_id: int, batch_size: int = BATCH_SIZE) -> ImportJob:
    """A dry run over the whole file: what would be created, updated, left alone or refused, and why."""
    # Read without a lock: the dry run reads the whole file outside any transaction; the status
    # is checked again under the lock before the preview is saved.
    job = _job_for_read(actor, job_id)
    if job.status not in EDITABLE:
        raise Conflict(_("This import has already run."))
    _ready(job, actor)
    preview, total = _dry_run(job, actor, batch_size)
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.status not in EDITABLE:
            raise Conflict(_("This import has already run."))
        _save_preview(job, preview, total)
    return job


def _dry_run(
    job: ImportJob, actor: User, batch_size: int, on_rows: Callable[[int, int | None], None] | None = None
) -> tuple[dict[str, Any], int]:
    """(preview, rows read) of the whole file; ``on_rows(rows so far, rows in the sheet if known)``
    once the sheet is open and after each batch."""
    if job.target == ImportTarget.LEADS:
        return lead_import.dry_run(job, actor, batch_size, on_rows)
    counts = {o.value: 0 for o in Outcome}
    issues: list[dict[str, Any]] = []
    state, lookups, total = BulkState(), Lookups.load(actor), 0
    warnings: set[str] = set()
    with (
        state,
        open_job_sheet(job, actor) as sheet,
        closing(_batches(sheet, job, batch_size, lookups=lookups)) as batches,
    ):
        expected = sheet.total_rows - sheet.header_row if sheet.total_rows is not None else None
        if on_rows is not None:
            on_rows(0, expected)
        for batch in batches:
            result = customer_bulk_upsert(
                actor=actor, rows=batch.data, key=job.key, rule=job.rule, dry_run=True, state=state,
                lookups=lookups, prepared=batch.prepared,
            )  # fmt: skip
            total += len(batch.numbers)
            for name, n in result.counts.items():
                counts[name] += n
            for r in result.rows:
                if r.outcome in (Outcome.INVALID, Outcome.DUPLICATE):
                    if len(issues) < PREVIEW_ISSUES:
                        issues.append({"row": r.row, "kind": r.outcome.value, "messages": r.messages})
                elif r.messages:
                    warnings.update(r.messages)
            if on_rows is not None:
                on_rows(total, expected)
        skipped = [s.number for s in sheet.skipped]
    return {"counts": counts, "issues": issues, "warnings": sorted(warnings), "skipped_rows": skipped[:20]}, total


def _save_preview(job: ImportJob, preview: dict[str, Any], total: int) -> None:
    """Under the job's lock."""
    _move(job, ImportStatus.PREVIEWED)
    job.preview = preview
    job.total_rows = total
    job.rows_processed = 0  # counted the preview's progress; the run counts again from zero
    job.error = ""
    job.save()


# --- preview of a big file, on the task worker --------------------------------------------------------

# Bytes per row of a file whose sheet does not say how many rows it has (a CSV file, an .xlsx file
# written without a <dimension>): customer rows are rarely shorter than this, even zipped.
MIN_ROW_BYTES = 40


def rows_estimate(job: ImportJob, sheet: Sheet) -> int:
    """About how many data rows the file has: the sheet's last row, else its size over a short row."""
    if sheet.total_rows is not None:
        return max(0, sheet.total_rows - sheet.header_row)
    return job.size // MIN_ROW_BYTES


def preview_rows_estimate(job: ImportJob, actor: User) -> int:
    with open_job_sheet(job, actor) as sheet:
        return rows_estimate(job, sheet)


def job_preview_request(*, actor: User, job_id: int) -> ImportJob:
    """The preview the import pages ask for. A small file is checked right away (``job_preview``);
    a big one — as many rows as make the import use its second process — would hold the request
    for a minute, so the job is marked "previewing" and the caller queues ``tasks.preview_import``
    (see ``job_preview_run``) when the returned job has that status."""
    job = _job_for_read(actor, job_id)
    if job.status not in EDITABLE:
        raise Conflict(_("This import has already run."))
    _ready(job, actor)
    if preview_rows_estimate(job, actor) < import_pipeline.PIPELINE_MIN_ROWS:
        return job_preview(actor=actor, job_id=job_id)
    with transaction.atomic():
        job = _job_for_write(actor, job_id)
        if job.status not in EDITABLE:
            raise Conflict(_("This import has already run."))
        _move(job, ImportStatus.PREVIEWING)
        job.preview, job.error, job.rows_processed = {}, "", 0
        job.total_rows = None  # the row count of the last preview may be stale; the check counts again
        job.save()
    return job


def _plan(job: ImportJob) -> tuple[Any, str, str]:
    """What a preview's result depends on besides the file: a check made for another plan is stale."""
    return job.mapping, job.key, job.rule


def job_preview_run(*, actor: User, job_id: int, batch_size: int = BATCH_SIZE) -> ImportJob:
    """On the task worker: the dry run of a "previewing" job, its progress kept in ``rows_processed``.

    It never raises: a failure sends the job back to "uploaded" with the reason in ``error`` (in the
    language active here, the requester's: the task passes it), for the page to show. A job whose
    mapping changed meanwhile keeps its new state; the result of the stale check is dropped.
    """
    job = ImportJob.objects.get(pk=job_id)
    if job.status != ImportStatus.PREVIEWING:
        return job  # the mapping changed, or another check finished first
    plan = _plan(job)
    live = ImportJob.objects.filter(pk=job.pk, status=ImportStatus.PREVIEWING)
    try:
        job = _job_for_read(actor, job_id)
        _ready(job, actor)

        def progress(rows: int, expected: int | None) -> None:
            live.update(total_rows=expected, rows_processed=rows, updated_at=timezone.now())

        preview, total = _dry_run(job, actor, batch_size, progress)
    except Exception as exc:
        logger.exception("preview of import %s failed", job_id)
        if isinstance(exc, ApplicationError):
            reason = str(exc.message)
        else:
            reason = _("An unexpected error stopped the check. Try again; if it happens again, tell an "
                       "administrator (the details are in the server log).")  # fmt: skip
        with transaction.atomic():
            job = ImportJob.objects.select_for_update().get(pk=job_id)
            if job.status == ImportStatus.PREVIEWING and _plan(job) == plan:
                _move(job, ImportStatus.UPLOADED)
                job.error = (_("The file could not be checked: %(reason)s") % {"reason": reason})[:2000]
                job.rows_processed = 0
                job.save()
        return job
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job_id)
        if job.status == ImportStatus.PREVIEWING and _plan(job) == plan:
            _save_preview(job, preview, total)
    return job


# --- running -------------------------------------------------------------------------------------------


def job_start(*, actor: User, job_id: int) -> ImportJob:
    """Queue a job for the task worker (the view then enqueues ``tasks.run_import``). A run that has
    stalled (its process stopped) is queued again: it resumes after its last committed batch."""
    with transaction.atomic():
        job = _job_for_write(actor, job_id)
        if job.status == ImportStatus.QUEUED:
            # A second press of the button: one task is enough (two would claim the job one after the other).
            raise Conflict(_("This import is already queued; it starts as soon as the task worker is free."))
        if job.status not in RUNNABLE and not (job.status == ImportStatus.RUNNING and job.stalled):
            raise Conflict(_("This import cannot be started again."))
        _ready(job, actor)
        previewed = job.preview.get("counts", {}) if job.status == ImportStatus.PREVIEWED else None
        if job.target == ImportTarget.LEADS and previewed is not None and not previewed.get("created"):
            raise ValidationFailed(lead_import.no_lead_message())
        _move(job, ImportStatus.QUEUED)
        job.error = ""
        job.save()
    return job


def _claim(job_id: int) -> ImportJob:
    """Mark the job running; a job left "running" by a killed process may be claimed again to resume."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job_id)
        if job.status not in RUNNABLE | {ImportStatus.RUNNING}:
            raise Conflict(_("This import is %(status)s.") % {"status": ImportStatus(job.status).label})
        _move(job, ImportStatus.RUNNING)
        job.started_at = job.started_at or timezone.now()
        job.save()
    return job


def _commit_batch(job: ImportJob, batch: _Batch, result: BulkResult) -> None:
    """Inside the batch's transaction: what it wrote (for revert), what it refused, where to resume."""
    # Plain rows, not model instances: one record per created customer, so building thousands of
    # ImportedRecord objects per batch cost more than the insert itself. ``before`` is the JSON text
    # the JSONField would store (NULL for a created customer).
    records: list[tuple[int, int, str, int, str | None]] = [
        (job.pk, pk, RecordAction.CREATED.value, v, None) for pk, v in result.created
    ]
    records += [
        (job.pk, u.customer_id, RecordAction.UPDATED.value, u.version, json.dumps(u.before)) for u in result.updated
    ]
    insert_rows(ImportedRecord._meta.db_table, ("job_id", "customer_id", "action", "version", "before"), records)
    read = dict(zip(batch.numbers, batch.values, strict=True))
    refused = [r for r in result.rows if r.outcome in (Outcome.INVALID, Outcome.DUPLICATE)]
    ImportIssue.objects.bulk_create(
        ImportIssue(job=job, row=r.row, kind=IssueKind(r.outcome.value), message="；".join(r.messages),
                    values=read.get(r.row))
        for r in refused
    )  # fmt: skip
    counts = result.counts
    ImportJob.objects.filter(pk=job.pk).update(
        last_row=batch.last,
        rows_processed=F("rows_processed") + len(batch.numbers),
        created_count=F("created_count") + counts["created"],
        updated_count=F("updated_count") + counts["updated"],
        unchanged_count=F("unchanged_count") + counts["unchanged"],
        duplicate_count=F("duplicate_count") + counts["duplicate"],
        invalid_count=F("invalid_count") + counts["invalid"],
        updated_at=timezone.now(),
    )


def job_run(*, job_id: int, batch_size: int = BATCH_SIZE, on_progress: Progress | None = None) -> ImportJob:
    """Import the whole file as the job's creator, batch by batch; resumes after ``last_row``."""
    job = _claim(job_id)
    actor = job.created_by
    try:
        with acting_through(Channel.IMPORT, f"import-{job.pk}"):
            _run(job, actor, batch_size, on_progress)
    except Exception as exc:
        logger.exception("import %s failed", job.pk)
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportStatus.FAILED, error=str(getattr(exc, "message", exc))[:2000], updated_at=timezone.now()
        )
        raise
    job.refresh_from_db()
    return job


def count_rows(job: ImportJob, sheet: Sheet) -> None:
    """For the progress bar: the sheet's size when it knows it (an .xlsx file), else a counting pass;
    the exact count replaces it at the end."""
    if job.total_rows is None:
        total = rows_estimate(job, sheet) if sheet.total_rows is not None else sum(1 for _row in sheet.rows())
        ImportJob.objects.filter(pk=job.pk).update(total_rows=total)
        job.total_rows = total


def _run(job: ImportJob, actor: User, batch_size: int, on_progress: Progress | None) -> None:
    if job.target == ImportTarget.LEADS:
        lead_import.run_batches(job, actor, batch_size, on_progress)
    else:
        _run_customers(job, actor, batch_size, on_progress)
    from pearl.dataquality.services.report import build_report

    job.refresh_from_db()
    build_report(job, actor)
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        _move(job, ImportStatus.DONE)
        job.total_rows = job.rows_processed
        job.finished_at = timezone.now()
        job.save()


def _run_customers(job: ImportJob, actor: User, batch_size: int, on_progress: Progress | None) -> None:
    require_import(actor)
    state, lookups = BulkState(), Lookups.load(actor)
    with state, open_job_sheet(job, actor) as sheet:
        count_rows(job, sheet)
        if job.last_row:
            # Resuming: replay the committed rows dry so duplicates of them are still recognised,
            # knowing which customers this job created (the matcher leaves those alone).
            created = ImportedRecord.objects.filter(job=job, action=RecordAction.CREATED)
            ids = created.values_list("customer_id", flat=True).iterator(chunk_size=10_000)
            state.add_created(pk for pk in ids if pk is not None)
            for batch in _batches(sheet, job, batch_size):
                if batch.numbers[0] > job.last_row:
                    break
                committed = [d for d in batch.data if d["row"] <= job.last_row]
                customer_bulk_upsert(
                    actor=actor, rows=committed, key=job.key, rule=job.rule, dry_run=True, state=state, lookups=lookups,
                )  # fmt: skip
        with closing(_batches(sheet, job, batch_size, after=job.last_row, lookups=lookups)) as batches:
            for batch in batches:
                with transaction.atomic():
                    result = customer_bulk_upsert(
                        actor=actor, rows=batch.data, key=job.key, rule=job.rule, state=state, lookups=lookups,
                        prepared=batch.prepared,
                    )  # fmt: skip
                    _commit_batch(job, batch, result)
                if on_progress is not None:
                    job.refresh_from_db()
                    on_progress(job)


# --- revert -----------------------------------------------------------------------------------------------


def job_revert(*, actor: User, job_id: int, skip_changed: bool = False) -> ImportJob:
    """Delete what the job created and restore what it updated (from the before snapshots).

    Refuses, naming them, when customers were changed after the import — unless ``skip_changed``,
    which keeps those as they are and reverts the rest. A leads import deletes the leads nobody
    changed since and always keeps the others (listed in ``job.summary["kept"]``): a lead someone
    started working is theirs now, and there is nothing to restore.
    """
    with transaction.atomic():
        job = _job_for_write(actor, job_id)
        if job.status != ImportStatus.DONE:
            raise Conflict(_("Only a finished import can be reverted."))
        if job.target == ImportTarget.LEADS:
            with acting_through(Channel.IMPORT, f"revert-{job.pk}"):
                lead_import.revert(job, actor)
            _move(job, ImportStatus.REVERTED)
            job.reverted_at = timezone.now()
            job.save()
            return job
        records = [(r.customer_id, r) for r in job.records.all() if r.customer_id is not None]
        with acting_through(Channel.IMPORT, f"revert-{job.pk}"):
            customer_bulk_revert(
                actor=actor,
                created=[(pk, r.version) for pk, r in records if r.action == RecordAction.CREATED],
                updated=[(pk, r.version, r.before or {}) for pk, r in records if r.action == RecordAction.UPDATED],
                skip_changed=skip_changed,
            )
        _move(job, ImportStatus.REVERTED)
        job.reverted_at = timezone.now()
        job.save()
    return job
