"""Tasks (to-dos with a due time), in-app notifications and the outbox of messages to send."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from pearl.core.models import VersionedModel
from pearl.customers.models import Customer
from pearl.reminders.choices import OutboxChannel


class Task(VersionedModel):
    """Something a person has to do by a time, optionally about a customer.

    ``source_type``/``source_id`` name the record it came from (``("leads.lead", 12)``); a rule that
    creates tasks passes a ``dedupe_key`` (unique when not empty) so running it again adds nothing.
    Tasks are scoped by their owner (own / the owner's team / subtree / all), like customers.
    """

    title = models.CharField(_("title"), max_length=200)
    note = models.TextField(_("note"), max_length=4000, blank=True)
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="+", verbose_name=_("customer")
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("owner")
    )
    due_at = models.DateTimeField(_("due"))
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("created by"),
    )  # fmt: skip
    source_type = models.CharField(max_length=64, blank=True)
    source_id = models.BigIntegerField(null=True, blank=True)
    dedupe_key = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        indexes = [
            models.Index(fields=["owner", "done_at", "due_at"], name="task_owner_open_idx"),
            models.Index(fields=["customer", "due_at"], name="task_customer_idx"),
            # The due sweep: open tasks by due time.
            models.Index(fields=["due_at"], name="task_open_due_idx", condition=models.Q(done_at__isnull=True)),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["dedupe_key"], condition=~models.Q(dedupe_key=""), name="task_dedupe_key_uniq"
            )
        ]

    def __str__(self) -> str:
        return self.title


class Notification(models.Model):
    """One message in a person's notification centre; ``dedupe_key`` makes a rule's message once-only."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("message"), max_length=4000, blank=True)
    link = models.CharField(_("link"), max_length=500, blank=True)
    subject_type = models.CharField(max_length=64, blank=True)
    subject_id = models.BigIntegerField(null=True, blank=True)
    dedupe_key = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [
            models.Index(fields=["recipient", "-created_at", "-id"], name="notification_recipient_idx"),
            models.Index(
                fields=["recipient"], name="notification_unread_idx", condition=models.Q(read_at__isnull=True)
            ),
            # The dedupe read of a batch (``_existing_keys``): 500 keys found by key, not by walking each
            # recipient's notifications through the unique index (55 ms a batch of new-lead notices on
            # PostgreSQL at ~250k notifications, 1 ms with this index).
            models.Index(fields=["dedupe_key"], name="notification_key_idx", condition=~models.Q(dedupe_key="")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "dedupe_key"],
                condition=~models.Q(dedupe_key=""),
                name="notification_dedupe_uniq",
            )
        ]

    def __str__(self) -> str:
        return self.title


class OutboxMessage(models.Model):
    """A message for a channel outside Pearl (email, WeCom, DingTalk, SMS), kept to send and to inspect."""

    channel = models.CharField(_("channel"), max_length=16, choices=OutboxChannel.choices)
    recipient = models.CharField(_("recipient"), max_length=254)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("message"), blank=True)
    # The page the message is about (a path such as /leads/12/, or a full address), for the adapters.
    link = models.CharField(_("link"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        indexes = [
            models.Index(fields=["channel", "id"], name="outbox_unsent_idx", condition=models.Q(sent_at__isnull=True))
        ]

    def __str__(self) -> str:
        return f"{self.channel} → {self.recipient}"


# Defaults of the reminder rules, as the issue sets them (the settings page changes them).
DEFAULT_LEAD_FOLLOW_UP_HOURS = 24
DEFAULT_CALL_BACK_MINUTES = 60
DEFAULT_QUOTE_FOLLOW_UP_DAYS = 3


class ReminderRules(models.Model):
    """The one row of reminder rules (pk 1), as ``dataquality.DedupeSettings``: each rule's switch and
    number, and the outside channels every notification also goes to. Until someone saves the
    settings page there is no row and ``selectors.reminder_rules()`` returns these defaults unsaved.
    """

    lead_follow_up_on = models.BooleanField(_("remind of new leads nobody followed up"), default=True)
    lead_follow_up_hours = models.PositiveIntegerField(
        _("hours after assignment"), default=DEFAULT_LEAD_FOLLOW_UP_HOURS
    )
    lead_follow_up_manager = models.BooleanField(_("also tell the owner's team manager"), default=True)
    call_back_on = models.BooleanField(_("remind of scheduled call-backs"), default=True)
    call_back_minutes = models.PositiveIntegerField(_("minutes ahead"), default=DEFAULT_CALL_BACK_MINUTES)
    quote_follow_up_on = models.BooleanField(_("follow-up task for unanswered quotes"), default=True)
    quote_follow_up_days = models.PositiveIntegerField(
        _("days without an answer"), default=DEFAULT_QUOTE_FOLLOW_UP_DAYS
    )
    # Outside channels: besides the notification centre, each new notification is also queued
    # for its recipient on these (an email address, or the WeCom / DingTalk group robot).
    send_email = models.BooleanField(_("email"), default=False)
    send_wecom = models.BooleanField(_("WeCom"), default=False)
    send_dingtalk = models.BooleanField(_("DingTalk"), default=False)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("reminder rules")
        verbose_name_plural = _("reminder rules")

    def __str__(self) -> str:
        return str(_("reminder rules"))

    @property
    def outside_channels(self) -> list[str]:
        """The outbox channels new notifications also go to, in a fixed order."""
        chosen = [
            (self.send_email, OutboxChannel.EMAIL),
            (self.send_wecom, OutboxChannel.WECOM),
            (self.send_dingtalk, OutboxChannel.DINGTALK),
        ]
        return [str(channel) for on, channel in chosen if on]
