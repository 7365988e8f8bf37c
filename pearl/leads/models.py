from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from pearl.core.models import TimestampedModel, VersionedModel
from pearl.core.phones import format_phone
from pearl.customers.choices import ChoiceList
from pearl.leads.choices import AssignMethod, FollowUpKind, LeadStatus


class AssignmentRule(TimestampedModel):
    """Who gets a new lead: the first active rule (by ``order``) whose conditions hold hands it to one
    of its members, in turn or to the one with the fewest open leads."""

    name = models.CharField(_("name"), max_length=64)
    is_active = models.BooleanField(_("active"), default=True)
    order = models.PositiveIntegerField(_("order"), default=0)
    # {"provinces": [...], "cities": [...], "sources": [option ids], "product_categories": [ids],
    #  "fields": [{"field": "company", "op": "contains", "value": "水产"}]}; all given must hold.
    conditions = models.JSONField(_("conditions"), default=dict, blank=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="lead_rules", verbose_name=_("members")
    )
    method = models.CharField(
        _("method"), max_length=16, choices=AssignMethod.choices, default=AssignMethod.ROUND_ROBIN
    )
    capacity = models.PositiveIntegerField(_("open leads per person at most"), null=True, blank=True)
    # Round robin: the member (index in id order) whose turn is next; advanced under a row lock.
    pointer = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("assignment rule")
        verbose_name_plural = _("assignment rules")

    def __str__(self) -> str:
        return self.name


class Lead(VersionedModel):
    name = models.CharField(_("name"), max_length=64)
    company = models.CharField(_("company"), max_length=200, blank=True)
    mobile = models.CharField(_("mobile / phone"), max_length=16, blank=True)
    email = models.EmailField(_("email"), blank=True)
    wechat = models.CharField(_("WeChat id"), max_length=64, blank=True)
    source = models.ForeignKey(
        "customers.ChoiceOption",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"list_name": ChoiceList.SOURCE},
        verbose_name=_("source channel"),
    )
    province = models.CharField(_("province"), max_length=32, blank=True)
    city = models.CharField(_("city"), max_length=32, blank=True)
    product_interest = models.ForeignKey(
        "sales.ProductCategory",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("product interest"),
    )
    note = models.TextField(_("note"), blank=True)
    status = models.CharField(_("status"), max_length=16, choices=LeadStatus.choices, default=LeadStatus.NEW)
    disqualify_reason = models.CharField(_("reason"), max_length=200, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("owner"),
    )
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("team")
    )
    assigned_rule = models.ForeignKey(
        AssignmentRule,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="leads",
        verbose_name=_("assignment rule"),
    )
    assignment_reason = models.CharField(_("why this owner"), max_length=255, blank=True)
    assigned_at = models.DateTimeField(_("assigned"), null=True, blank=True)
    first_follow_up_at = models.DateTimeField(_("first follow-up"), null=True, blank=True)
    # When the owner and their manager were told nobody followed it up (once per lead).
    reminded_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The customer it became: an id, not a foreign key, so a later merge or delete of that customer
    # needs nothing from this app (a merged-away id still resolves through its alias).
    converted_customer_id = models.BigIntegerField(_("customer"), null=True, blank=True)
    converted_at = models.DateTimeField(_("converted"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-id"]
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        indexes = [
            models.Index(fields=["owner", "status"], name="lead_owner_status_idx"),
            models.Index(fields=["team", "-id"], name="lead_team_idx"),
            models.Index(fields=["status", "-id"], name="lead_status_idx"),
            models.Index(fields=["province", "city"], name="lead_region_idx"),
            models.Index(fields=["mobile"], name="lead_mobile_idx"),
            # An arriving inquiry (channel event, web form, import row) finds the open lead it belongs to.
            models.Index(fields=["email"], name="lead_email_idx", condition=~models.Q(email="")),
            models.Index(fields=["wechat"], name="lead_wechat_idx", condition=~models.Q(wechat="")),
            # The reminder sweep: open, assigned, never followed up, not yet reminded.
            models.Index(
                fields=["assigned_at"],
                name="lead_unfollowed_idx",
                condition=models.Q(
                    first_follow_up_at__isnull=True,
                    reminded_at__isnull=True,
                    owner__isnull=False,
                    status__in=["new", "contacted"],
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.company}）" if self.company else self.name

    @property
    def mobile_display(self) -> str:
        return format_phone(self.mobile)

    @property
    def is_open(self) -> bool:
        return self.status in (LeadStatus.NEW, LeadStatus.CONTACTED)


class LeadFollowUp(models.Model):
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="follow_ups")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("by")
    )
    at = models.DateTimeField(_("time"))
    kind = models.CharField(_("kind"), max_length=16, choices=FollowUpKind.choices, default=FollowUpKind.CALL)
    summary = models.CharField(_("summary"), max_length=500, blank=True)
    # An inquiry that arrived through a channel: the channel ("web", "form:3") and its own id for the
    # message, unique together so a replayed message is recognised and recorded once.
    source = models.CharField(_("channel"), max_length=32, blank=True)
    external_id = models.CharField(max_length=128, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["lead", "-at"], name="leadfollowup_lead_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=~models.Q(external_id=""),
                name="leadfollowup_external_uniq",
            )
        ]
        verbose_name = _("lead follow-up")
        verbose_name_plural = _("lead follow-ups")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.at:%Y-%m-%d %H:%M}"
