"""The public pool (公海): pools and their rules, the customers in them, protections and claims."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from pearl.core.models import VersionedModel
from pearl.pools.choices import ClaimVia, EntryReason


class Pool(VersionedModel):
    """A public pool and its rules.

    ``teams`` decides who sees and claims from it (none = everyone); ``provinces`` decides which
    customers the reclaim sweep sends here (none = any). Customers that no specific pool takes go
    to the default pool.
    """

    name = models.CharField(_("name"), max_length=64)
    teams = models.ManyToManyField("accounts.Team", blank=True, related_name="+", verbose_name=_("visible to teams"))
    provinces = models.JSONField(_("provinces"), default=list, blank=True)
    reclaim_after_days_without_follow_up = models.PositiveIntegerField(
        _("reclaim after days without follow-up"), default=30
    )
    reclaim_after_days_without_deal = models.PositiveIntegerField(
        _("reclaim after days without a deal"), null=True, blank=True
    )
    warn_days_before = models.PositiveIntegerField(_("warn days before"), default=3)
    max_customers_per_person = models.PositiveIntegerField(
        _("most customers one person may hold"), null=True, blank=True
    )
    daily_claim_quota = models.PositiveIntegerField(_("claims per person per day"), null=True, blank=True)
    cooldown_days = models.PositiveIntegerField(_("days before the previous owner may claim again"), default=0)
    mask_contacts = models.BooleanField(_("mask contact details until claimed"), default=True)
    active = models.BooleanField(_("active"), default=True)
    is_default = models.BooleanField(_("default pool"), default=False)
    # When the pool was last switched on: no customer's reclaim clock starts before it, so switching a
    # pool on gives every owner the full N days (with the warning) instead of a mass reclaim that night.
    rules_since = models.DateTimeField(_("rules apply since"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-is_default", "name", "id"]
        verbose_name = _("public pool")
        verbose_name_plural = _("public pools")
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=models.Q(is_default=True), name="pool_one_default")
        ]

    def __str__(self) -> str:
        return self.name


class PoolEntry(models.Model):
    """A customer lying in a pool (nobody owns it). Claiming it deletes the row."""

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, related_name="pool_entry", verbose_name=_("customer")
    )
    pool = models.ForeignKey(Pool, on_delete=models.PROTECT, related_name="entries", verbose_name=_("pool"))
    entered_at = models.DateTimeField(_("entered the pool"))
    previous_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("previous owner"),
    )
    reason = models.CharField(_("reason"), max_length=16, choices=EntryReason.choices)
    note = models.CharField(_("note"), max_length=200, blank=True)
    rule = models.JSONField(_("rule applied"), default=dict, blank=True)

    class Meta:
        ordering = ["-entered_at", "-id"]
        indexes = [models.Index(fields=["pool", "-entered_at", "-id"], name="poolentry_pool_idx")]
        verbose_name = _("pool entry")
        verbose_name_plural = _("pool entries")

    def __str__(self) -> str:
        return f"{self.pool_id}:{self.customer_id}"


class CustomerProtection(models.Model):
    """A customer the reclaim sweep never takes from its owner."""

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, related_name="protection", verbose_name=_("customer")
    )
    protected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("protected by")
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    at = models.DateTimeField(_("since"))

    class Meta:
        verbose_name = _("protected customer")
        verbose_name_plural = _("protected customers")

    def __str__(self) -> str:
        return str(self.customer_id)


class ClaimLog(models.Model):
    """Every time someone was given a customer: claims from a pool (which count against the daily
    quota) and handovers. The latest row of a customer restarts its reclaim clock."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    pool = models.ForeignKey(Pool, null=True, blank=True, on_delete=models.CASCADE, related_name="claims")
    via = models.CharField(_("how"), max_length=16, choices=ClaimVia.choices, default=ClaimVia.CLAIM)
    at = models.DateTimeField(_("claimed at"))

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["user", "-at"], name="claimlog_user_idx"),
            models.Index(fields=["customer", "-at"], name="claimlog_customer_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}→{self.customer_id}"
