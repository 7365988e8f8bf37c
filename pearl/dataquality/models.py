"""Import jobs: the uploaded file, its mapping, progress, what it wrote (for revert) and its rejected rows."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from pearl.dataquality.choices import ImportKey, ImportRule, ImportStatus, ImportTarget, IssueKind, RecordAction

# A check or a run records progress after every batch (a batch takes seconds, even with the matcher as key):
# this long without any means the process doing it has stopped.
STALLED_AFTER = datetime.timedelta(minutes=5)


class ImportPreset(models.Model):
    """A saved column mapping by header text (e.g. "财务回款表"), applied to later files of the same shape."""

    name = models.CharField(_("name"), max_length=64, unique=True)
    mapping = models.JSONField(_("mapping"), default=dict)  # {"header text": "field key" or ""}
    key = models.CharField(_("match on"), max_length=16, choices=ImportKey.choices, default=ImportKey.MOBILE)
    rule = models.CharField(_("rule"), max_length=16, choices=ImportRule.choices, default=ImportRule.FILL_EMPTY)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("import preset")
        verbose_name_plural = _("import presets")

    def __str__(self) -> str:
        return self.name


class ImportJob(models.Model):
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("imported by")
    )
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    file = models.FileField(upload_to="imports/%Y/%m/", max_length=255)
    filename = models.CharField(_("file"), max_length=255)
    sha256 = models.CharField(max_length=64, db_index=True)
    size = models.PositiveBigIntegerField(default=0)
    file_format = models.CharField(max_length=8, blank=True)
    sheet = models.CharField(_("sheet"), max_length=100, blank=True)
    sheet_names = models.JSONField(default=list)
    header_row = models.PositiveIntegerField(default=1)
    headers = models.JSONField(default=list)
    mapping = models.JSONField(_("mapping"), default=dict)  # {"column index": "field key"}
    # Chosen at upload and fixed afterwards: the mapping's fields, the writer and the revert depend on it.
    target = models.CharField(_("import"), max_length=16, choices=ImportTarget.choices, default=ImportTarget.CUSTOMERS)
    key = models.CharField(_("match on"), max_length=16, choices=ImportKey.choices, default=ImportKey.MOBILE)
    rule = models.CharField(_("rule"), max_length=16, choices=ImportRule.choices, default=ImportRule.FILL_EMPTY)
    status = models.CharField(_("status"), max_length=16, choices=ImportStatus.choices, default=ImportStatus.UPLOADED)
    preview = models.JSONField(default=dict, blank=True)  # counts and the first rows' problems of the dry run
    total_rows = models.PositiveIntegerField(null=True, blank=True)  # known after a preview or a run
    rows_processed = models.PositiveIntegerField(default=0)
    last_row = models.PositiveIntegerField(default=0)  # sheet row number of the last committed batch's end
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    duplicate_count = models.PositiveIntegerField(default=0)
    invalid_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    # A leads import's result beyond the counts, moved in the same transaction as ``last_row`` so a
    # resumed run ends with the same figures: {"rules": {group: {"label", "n"}}, "owners": {id: {"label",
    # "n"}}}, and after a revert {"kept": [lead ids changed since, not deleted], "deleted": n}.
    summary = models.JSONField(default=dict, blank=True)
    report = models.FileField(upload_to="imports/reports/%Y/%m/", max_length=255, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    reverted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        indexes = [models.Index(fields=["created_by", "-id"], name="importjob_user_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.filename}"

    @property
    def stalled(self) -> bool:
        """Checked or run in the background, but silent for ``STALLED_AFTER``: the process doing it has
        most likely stopped (a server restart, a killed worker). Both record progress after every batch."""
        return (
            self.status in (ImportStatus.PREVIEWING, ImportStatus.RUNNING)
            and self.updated_at is not None
            and timezone.now() - self.updated_at > STALLED_AFTER
        )

    @property
    def percent(self) -> int:
        if not self.total_rows:
            return 100 if self.status == ImportStatus.DONE else 0
        return min(100, round(100 * self.rows_processed / self.total_rows))

    @property
    def for_leads(self) -> bool:
        return self.target == ImportTarget.LEADS

    @property
    def counts(self) -> dict[str, int]:
        return {
            "created": self.created_count,
            "updated": self.updated_count,
            "unchanged": self.unchanged_count,
            "duplicate": self.duplicate_count,
            "invalid": self.invalid_count,
        }


class ImportedRecord(models.Model):
    """One customer or lead an import created (or customer it updated): what revert deletes or restores.

    The ids are plain ids: the record may be deleted or merged later and the record must still say
    what the import did. ``version`` is the record's version right after the import, so a revert can
    tell whether someone changed it since.

    A lead has its own column rather than sharing ``customer_id`` with the job's target deciding what
    it means: a reader of the table (or of a query over it) sees which kind of record each row names
    without looking up the job, and the check below keeps exactly one of the two filled.
    """

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="records")
    customer_id = models.BigIntegerField(null=True, blank=True)
    lead_id = models.BigIntegerField(null=True, blank=True)
    action = models.CharField(max_length=8, choices=RecordAction.choices)
    version = models.PositiveIntegerField()
    before = models.JSONField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["job", "action"], name="importedrecord_job_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(customer_id__isnull=False, lead_id__isnull=True)
                | models.Q(customer_id__isnull=True, lead_id__isnull=False),
                name="importedrecord_one_target",
            )
        ]

    def __str__(self) -> str:
        return f"{self.action} #{self.customer_id or self.lead_id}"


class ImportIssue(models.Model):
    """A row the import did not write (invalid, or a duplicate of an earlier row), with the reason."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="issues")
    row = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=IssueKind.choices)
    message = models.TextField()
    # The row as read (one value per header), so the rejected-rows report needs no second read of the file.
    values = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["row"]
        indexes = [models.Index(fields=["job", "row"], name="importissue_job_row_idx")]

    def __str__(self) -> str:
        return f"{self.row}: {self.message}"


# --- duplicate review queue --------------------------------------------------------------------


class PairStatus(models.TextChoices):
    PENDING = "pending", _("Pending review")
    MERGED = "merged", _("Merged")
    DISMISSED = "dismissed", _("Not duplicates")


class DuplicatePair(models.Model):
    """Two customers the matcher scored in either band, waiting for (or after) a person's decision.

    The ids are plain integers, not foreign keys: a merge deletes the merged-away customer and the
    review service re-points or drops its pairs itself (a foreign key would cascade them away first,
    and would make the pair one more relation every merge hook must move). ``left_id < right_id``.
    """

    left_id = models.BigIntegerField()
    right_id = models.BigIntegerField(db_index=True)
    score = models.FloatField(_("score"))
    band = models.CharField(_("band"), max_length=16)  # "duplicate" | "possible"
    reasons = models.JSONField(_("reasons"), default=list)  # [[field, outcome, weight, detail], …]
    status = models.CharField(_("status"), max_length=16, choices=PairStatus.choices, default=PairStatus.PENDING)
    found_at = models.DateTimeField(_("found"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    merge_id = models.BigIntegerField(null=True, blank=True)  # the CustomerMerge a "merged" decision made

    class Meta:
        ordering = ["-score", "id"]
        verbose_name = _("duplicate pair")
        verbose_name_plural = _("duplicate pairs")
        constraints = [
            models.UniqueConstraint(fields=["left_id", "right_id"], name="duplicatepair_unique"),
            models.CheckConstraint(condition=models.Q(left_id__lt=models.F("right_id")), name="duplicatepair_ordered"),
        ]
        indexes = [models.Index(fields=["status", "band", "-score"], name="duplicatepair_queue_idx")]

    def __str__(self) -> str:
        return f"#{self.left_id} ~ #{self.right_id} ({self.score})"


class DedupeSettings(models.Model):
    """The one row of duplicate-detection settings (pk 1) and what the last batch scan found.

    The thresholds apply wherever the matcher runs (``services.duplicates.match_config``).
    """

    duplicate_threshold = models.FloatField(_("duplicate from score"), default=11.5)
    possible_threshold = models.FloatField(_("possible duplicate from score"), default=8.0)
    auto_merge_duplicates = models.BooleanField(_("merge confident duplicates automatically"), default=False)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)
    last_scan_at = models.DateTimeField(_("last scan"), null=True, blank=True)
    last_scan_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_scan_stats = models.JSONField(default=dict, blank=True)  # customers, pairs, new, merged, seconds

    class Meta:
        verbose_name = _("duplicate detection settings")
        verbose_name_plural = _("duplicate detection settings")

    def __str__(self) -> str:
        return f"{self.duplicate_threshold}/{self.possible_threshold}"


class MatchKey(models.Model):
    """The duplicate matcher's blocking keys of every customer, kept in step by the customer services.

    A new customer's keys (``m:13800138000``, ``nc:广州|xinhai``…) are looked up here to find the
    few existing customers worth comparing with it, so the check while typing reads an index
    instead of scanning the base. Rebuilt with ``pearl dedupe --reindex``.
    """

    pk = models.CompositePrimaryKey("key", "customer")
    key = models.CharField(max_length=32)
    # db_index=False: matchkey_customer_idx (customer, key) serves the per-customer refresh.
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+", db_index=False)

    class Meta:
        indexes = [models.Index(fields=["customer", "key"], name="matchkey_customer_idx")]

    def __str__(self) -> str:
        return self.key


class MatchRecord(models.Model):
    """The matcher's features of a customer (parsed name, region, address, pinyin…), kept in step with
    its match keys: the batch scan and the check while typing read them instead of parsing every
    name and address again, which is most of a scan's work.

    ``features`` is one string, the configuration's features in order (``matching.columns.stored``);
    a row with another number of fields (the configuration changed) is recomputed by whoever reads it.
    """

    customer = models.OneToOneField(
        "customers.Customer", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    features = models.TextField()

    def __str__(self) -> str:
        return f"match record of customer #{self.customer_id}"
