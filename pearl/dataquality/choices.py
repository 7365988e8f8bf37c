"""Statuses of an import job and the transitions between them."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", _("Uploaded")
    PREVIEWING = "previewing", _("Checking the file")
    PREVIEWED = "previewed", _("Previewed")
    QUEUED = "queued", _("Waiting to run")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    REVERTED = "reverted", _("Reverted")


# A changed mapping sends a previewed job back to "uploaded"; a failed (or killed) job may run
# again and resumes after its last committed batch; only a finished import can be reverted. A big
# file's preview runs on the task worker ("previewing"): it ends "previewed", or back at "uploaded"
# with the error; the mapping may still change meanwhile (the stale check's result is dropped).
IMPORT_TRANSITIONS: dict[str, set[str]] = {
    ImportStatus.UPLOADED: {
        ImportStatus.UPLOADED,
        ImportStatus.PREVIEWING,
        ImportStatus.PREVIEWED,
        ImportStatus.QUEUED,
        ImportStatus.RUNNING,
    },
    ImportStatus.PREVIEWING: {ImportStatus.UPLOADED, ImportStatus.PREVIEWING, ImportStatus.PREVIEWED},
    ImportStatus.PREVIEWED: {
        ImportStatus.UPLOADED,
        ImportStatus.PREVIEWING,
        ImportStatus.PREVIEWED,
        ImportStatus.QUEUED,
        ImportStatus.RUNNING,
    },
    ImportStatus.QUEUED: {ImportStatus.RUNNING, ImportStatus.FAILED},
    # RUNNING → QUEUED: a run whose process stopped (see ImportJob.stalled) is queued again to resume.
    ImportStatus.RUNNING: {ImportStatus.RUNNING, ImportStatus.DONE, ImportStatus.FAILED, ImportStatus.QUEUED},
    ImportStatus.FAILED: {ImportStatus.QUEUED, ImportStatus.RUNNING},
    ImportStatus.DONE: {ImportStatus.REVERTED},
    ImportStatus.REVERTED: set(),
}
EDITABLE = {ImportStatus.UPLOADED, ImportStatus.PREVIEWING, ImportStatus.PREVIEWED}
RUNNABLE = {ImportStatus.UPLOADED, ImportStatus.PREVIEWED, ImportStatus.FAILED, ImportStatus.QUEUED}


class ImportTarget(models.TextChoices):
    """What a job's rows become: customers (created or updated) or new leads (created and assigned)."""

    CUSTOMERS = "customers", _("Customers")
    LEADS = "leads", _("Leads")


class ImportKey(models.TextChoices):
    """How a row finds its existing customer (pearl.customers.services.bulk.Key)."""

    MOBILE = "mobile", _("Mobile / phone")
    EMAIL = "email", _("Email")
    WECHAT = "wechat", _("WeChat id")
    EXTERNAL_ID = "external_id", _("External id")
    NAME = "name", _("Customer name")
    MATCHER = "matcher", _("Duplicate matcher (name, phone, address)")


class ImportRule(models.TextChoices):
    FILL_EMPTY = "fill_empty", _("Fill empty fields only")
    OVERWRITE = "overwrite", _("Overwrite with the file's values")


class RecordAction(models.TextChoices):
    CREATED = "created", _("Created")
    UPDATED = "updated", _("Updated")


class IssueKind(models.TextChoices):
    INVALID = "invalid", _("Invalid")
    DUPLICATE = "duplicate", _("Duplicate in the file")
