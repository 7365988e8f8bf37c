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
    for number, message in ImportIssue.objects.filter(job=job).order_by("row", "id").values_list("row", "message"):
        reasons.setdefault(number, []).append(message)
    if not reasons:
        return False
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=(job.sheet or "Sheet1")[:31])
    sheet.append([*job.headers, _("Error reason"), _("Row in the original file")])
    width = len(job.headers)
    with open_job_sheet(job, actor) as source:
        for row in source.rows():
            messages = reasons.get(row.number)
            if messages:
                sheet.append([*row.values[:width], "；".join(messages), row.number])
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
