from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from pearl.activities.choices import (
    CommunicationKind,
    ComplaintCategory,
    ComplaintKind,
    ComplaintStatus,
    Outcome,
    TimelineKind,
)
from pearl.core.context import Channel
from pearl.core.models import VersionedModel
from pearl.customers.models import Contact, Customer


class TimelineEvent(models.Model):
    """One thing that happened to a customer: the spine the 360° page reads.

    Append-only in spirit: a service that records an order, a call or a payment writes one row here
    in the same transaction, pointing back at its record through ``subject_type``/``subject_id``.
    When that record is edited or deleted its service updates or removes the row, so the timeline
    never shows what no longer exists. Changes from the change log are *not* copied here; the
    timeline selector reads them beside these rows (see docs/architecture.md).

    ``source``/``external_id`` are a channel's name and its own event id: unique together, so a
    channel replaying an event records nothing new.
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+", db_index=False)
    kind = models.CharField(_("kind"), max_length=16, choices=TimelineKind.choices)
    occurred_at = models.DateTimeField(_("time"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(_("by"), max_length=150, blank=True)
    channel = models.CharField(_("entered through"), max_length=16, choices=Channel.choices, default=Channel.SYSTEM)
    source = models.CharField(_("source"), max_length=32, blank=True)
    external_id = models.CharField(_("channel event id"), max_length=128, blank=True)
    subject_type = models.CharField(max_length=64, blank=True)
    subject_id = models.BigIntegerField(null=True, blank=True)
    title = models.CharField(_("summary"), max_length=200)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("timeline event")
        verbose_name_plural = _("timeline events")
        indexes = [
            # The timeline page: one customer's newest first, optionally of some kinds.
            models.Index(fields=["customer", "-occurred_at", "-id"], name="timeline_customer_idx"),
            models.Index(fields=["customer", "kind", "-occurred_at", "-id"], name="timeline_customer_kind_idx"),
            models.Index(fields=["subject_type", "subject_id"], name="timeline_subject_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=~models.Q(external_id=""),
                name="timeline_source_external_uniq",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.title}"


class Communication(VersionedModel):
    """A call, visit, WeChat conversation, email, meeting or note with a customer."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+", db_index=False)
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("contact")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=CommunicationKind.choices)
    occurred_at = models.DateTimeField(_("when"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("by"),
    )  # fmt: skip
    purpose = models.CharField(_("purpose"), max_length=100, blank=True)
    place = models.CharField(_("place"), max_length=200, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, blank=True)
    summary = models.TextField(_("summary"), max_length=4000, blank=True)
    duration_minutes = models.PositiveIntegerField(_("duration (minutes)"), null=True, blank=True)
    next_follow_up_at = models.DateTimeField(_("next follow-up"), null=True, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("communication")
        verbose_name_plural = _("communications")
        indexes = [
            models.Index(fields=["customer", "-occurred_at"], name="communication_customer_idx"),
            models.Index(fields=["author", "-occurred_at"], name="communication_author_idx"),
            models.Index(fields=["next_follow_up_at"], name="communication_followup_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.occurred_at:%Y-%m-%d}"


class Complaint(VersionedModel):
    """A complaint or piece of feedback from a customer (the service desk builds on this later)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+", db_index=False)
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("contact")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=ComplaintKind.choices, default=ComplaintKind.COMPLAINT)
    category = models.CharField(_("category"), max_length=16, choices=ComplaintCategory.choices)
    title = models.CharField(_("title"), max_length=100)
    description = models.TextField(_("description"), max_length=4000, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=ComplaintStatus.choices, default=ComplaintStatus.OPEN)
    received_at = models.DateTimeField(_("received at"))
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolution = models.TextField(_("resolution"), max_length=4000, blank=True)
    order = models.ForeignKey(
        "sales.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("order concerned"),
    )  # fmt: skip
    handler = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("handled by"),
    )  # fmt: skip

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("complaint / feedback")
        verbose_name_plural = _("complaints and feedback")
        indexes = [
            models.Index(fields=["customer", "-received_at"], name="complaint_customer_idx"),
            models.Index(fields=["status", "-received_at"], name="complaint_status_idx"),
        ]

    def __str__(self) -> str:
        return self.title


class Attachment(models.Model):
    """A file on any record of a customer (a visit's photos, an order's signed delivery note…).

    ``subject_type``/``subject_id`` name the record as timeline events do; the file lives in the
    default storage (the data dir's ``media/`` by default, S3-compatible storage by configuration).
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+", db_index=False)
    subject_type = models.CharField(max_length=64)
    subject_id = models.BigIntegerField()
    file = models.FileField(_("file"), upload_to="attachments/%Y/%m/", max_length=255)
    # A small JPEG of an image (at most 320 px a side, turned upright), so pages and phones show
    # photos without fetching the originals; empty for other files.
    thumbnail = models.FileField(_("thumbnail"), upload_to="attachments/thumbs/%Y/%m/", max_length=255, blank=True)
    name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField(_("size"))
    is_image = models.BooleanField(default=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        indexes = [
            models.Index(fields=["subject_type", "subject_id"], name="attachment_subject_idx"),
            models.Index(fields=["customer"], name="attachment_customer_idx"),
        ]

    def __str__(self) -> str:
        return self.name
