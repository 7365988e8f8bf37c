"""Infrastructure models shared by every app: no domain models live here."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from pearl.core.context import Channel


class TimestampedModel(models.Model):
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        abstract = True


class VersionedModel(TimestampedModel):
    """Optimistic concurrency: services bump ``version`` on every write and refuse stale ones."""

    version = models.PositiveIntegerField(_("version"), default=1)

    class Meta:
        abstract = True


class ChangeAction(models.TextChoices):
    CREATE = "create", pgettext_lazy("change", "Created")
    UPDATE = "update", pgettext_lazy("change", "Updated")
    DELETE = "delete", pgettext_lazy("change", "Deleted")


class ChangeLog(models.Model):
    """Field-level before/after of one write, recorded in the same transaction as the write.

    ``root_type``/``root_id`` name the record whose history this belongs to (a contact's change
    shows in its customer's history), so one indexed read builds a history tab.
    """

    occurred_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(_("actor"), max_length=150, blank=True)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    request_id = models.CharField(max_length=64, blank=True)
    action = models.CharField(_("action"), max_length=16, choices=ChangeAction.choices)
    object_type = models.CharField(max_length=64)
    object_id = models.BigIntegerField()
    object_repr = models.CharField(max_length=255, blank=True)
    root_type = models.CharField(max_length=64)
    root_id = models.BigIntegerField()
    changes = models.JSONField(default=dict)

    class Meta:
        indexes = [models.Index(fields=["root_type", "root_id", "-id"], name="changelog_root_idx")]
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}#{self.object_id}"


class IdempotencyRecord(models.Model):
    """The first answer to a POST carrying an ``Idempotency-Key``; a replay gets it back."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response_body = models.TextField()
    response_headers = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_user_key_uniq")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"
