"""The rejected-rows report: the original columns of every row not imported, plus the reason.

The user fixes the rows in the report and imports the report itself: its header row is the
original one, and the reason column maps to no field.
"""

from __future__ import annotations

import os
import tempfile

from django.core.files import File
from django.utils.translation import gettext as _
from openpyxl import Workbook

from pearl.accounts.models import User
from pearl.dataquality.models import ImportIssue, ImportJob


def build_report(job: ImportJob, actor: User) -> bool:
    """Write ``job.report`` (.xlsx, streamed) when some rows were refused; returns whether it did."""
    from pearl.dataquality.services.imports import open_job_sheet

    reasons: dict[int, list[str]] = {}
    read: dict[int, list[str | None]] = {}
    issues = ImportIssue.objects.filter(job=job).order_by("row", "id").values_list("row", "message", "values")
    for number, message, values in issues.iterator(chunk_size=5000):
        reasons.setdefault(number, []).append(message)
        if values is not None:
            read[number] = values
    if not reasons:
        return False
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=(job.sheet or "Sheet1")[:31])
    sheet.append([*job.headers, _("Error reason"), _("Row in the original file")])
    width = len(job.headers)
    if len(read) < len(reasons):  # issues recorded before they kept their row: read the file again
        with open_job_sheet(job, actor) as source:
            read.update((row.number, row.values) for row in source.rows() if row.number in reasons)
    for number, messages in reasons.items():
        sheet.append([*read.get(number, [])[:width], "；".join(messages), number])
    with tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False) as tmp:
        path = tmp.name
    try:
        book.save(path)
        stem = os.path.splitext(job.filename)[0][:80] or "import"
        with open(path, "rb") as fh:
            job.report.save(f"{stem}-rejected-{job.pk}.xlsx", File(fh), save=False)
    finally:
        os.unlink(path)
    ImportJob.objects.filter(pk=job.pk).update(report=job.report.name)
    return True
