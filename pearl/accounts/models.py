from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from pearl.accounts.choices import Action, DataScope, RoleName


class Team(models.Model):
    """A node of the organisation tree (company → region → team).

    ``path`` is the chain of ids ``/1/4/9/`` so a subtree is one indexed prefix match.
    """

    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("parent team"),
    )
    path = models.CharField(max_length=255, db_index=True, editable=False, default="")
    # Who is told when the team's work slips (a lead nobody followed up, a customer about to be reclaimed).
    manager = models.ForeignKey(
        "User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_teams",
        verbose_name=_("manager"),
    )

    class Meta:
        ordering = ["path"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.name

    @property
    def depth(self) -> int:
        return max(self.path.count("/") - 2, 0)


class Role(models.Model):
    name = models.CharField(_("code"), max_length=32, unique=True)
    label = models.CharField(_("name"), max_length=64)
    data_scope = models.CharField(_("data scope"), max_length=16, choices=DataScope.choices)
    can_create = models.BooleanField(_("may create"), default=False)
    can_edit = models.BooleanField(_("may edit"), default=False)
    can_delete = models.BooleanField(_("may delete"), default=False)
    can_export = models.BooleanField(_("may export"), default=False)
    can_manage_settings = models.BooleanField(_("may manage settings"), default=False)

    class Meta:
        ordering = ["id"]
        verbose_name = _("role")
        verbose_name_plural = _("roles")

    def __str__(self) -> str:
        return self.label

    def allows(self, action: str) -> bool:
        return bool(getattr(self, f"can_{Action(action).value}"))


class User(AbstractUser):
    display_name = models.CharField(_("display name"), max_length=64, blank=True)
    role = models.ForeignKey(Role, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("role"))
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="members", verbose_name=_("team")
    )
    # Still active (may log in, keeps their customers) but skipped when new leads are handed out.
    on_leave = models.BooleanField(_("on leave"), default=False)

    class Meta:
        ordering = ["username"]
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.username

    @property
    def data_scope(self) -> str:
        if self.is_superuser or (self.role and self.role.name == RoleName.ADMIN):
            return DataScope.ALL
        return self.role.data_scope if self.role else DataScope.OWN

    def may(self, action: str) -> bool:
        if not self.is_active:
            return False
        if self.is_superuser:
            return True
        return bool(self.role and self.role.allows(action))


class ApiToken(models.Model):
    """A bearer token; only its SHA-256 is kept, the secret is shown once when created."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100, blank=True)
    prefix = models.CharField(max_length=16)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.prefix}…"
