"""Pipelines (销售流程) of ordered stages, opportunities (商机) moving through them, and the history of moves.

A stage's ``kind`` says whether reaching it closes the opportunity (won / lost). Stages move along
the pipeline in any direction by hand (a move to a lost stage needs a reason); the automatic moves
of ``StageRule`` only ever go forward. Time in stage is read from ``StageChange`` rows.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from pearl.activities.choices import CommunicationKind, Outcome
from pearl.core.models import VersionedModel
from pearl.customers.models import Customer
from pearl.pipelines.choices import OpportunityStatus, QuoteStatus, StageKind, StageRole
from pearl.sales.models import Product

ZERO = Decimal("0.00")


class Pipeline(models.Model):
    name = models.CharField(_("name"), max_length=64, unique=True)
    is_default = models.BooleanField(_("default"), default=False)
    active = models.BooleanField(_("in use"), default=True)
    order = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("pipeline")
        verbose_name_plural = _("pipelines")
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="pipeline_one_default"),
        ]

    def __str__(self) -> str:
        return self.name


class Stage(models.Model):
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages", verbose_name=_("pipeline"))
    name = models.CharField(_("name"), max_length=32)
    order = models.PositiveIntegerField(_("order"), default=0)
    probability = models.PositiveSmallIntegerField(_("win probability (%)"), default=0)
    kind = models.CharField(_("kind"), max_length=8, choices=StageKind.choices, default=StageKind.OPEN)
    # NULL (not "") for "no role", so the unique constraint below leaves role-less stages alone.
    role = models.CharField(_("stage role"), max_length=8, choices=StageRole.choices, null=True, blank=True)  # noqa: DJ001

    class Meta:
        ordering = ["pipeline_id", "order", "id"]
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "name"], name="stage_pipeline_name_uniq"),
            models.CheckConstraint(condition=Q(probability__lte=100), name="stage_probability_max"),
            models.UniqueConstraint(
                fields=["pipeline", "role"], condition=Q(role__isnull=False), name="stage_pipeline_role_uniq"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Opportunity(VersionedModel):
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+", verbose_name=_("customer"))
    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="+", verbose_name=_("pipeline"))
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+", verbose_name=_("stage"))
    status = models.CharField(
        _("status"), max_length=8, choices=OpportunityStatus.choices, default=OpportunityStatus.OPEN
    )
    name = models.CharField(_("name"), max_length=100)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2, default=ZERO)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    expected_close_date = models.DateField(_("expected close date"), null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("owner"),
    )  # fmt: skip
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("team")
    )
    loss_reason = models.CharField(_("loss reason"), max_length=200, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # When it reached its current stage (the last StageChange's time), so the board shows days in
    # stage without reading the history.
    stage_entered_at = models.DateTimeField(_("in stage since"), default=timezone.now)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        indexes = [
            models.Index(fields=["pipeline", "stage", "-stage_entered_at"], name="opp_board_idx"),
            models.Index(fields=["owner", "-id"], name="opp_owner_idx"),
            models.Index(fields=["team", "-id"], name="opp_team_idx"),
            models.Index(fields=["customer"], name="opp_customer_open_idx", condition=Q(status="open")),
        ]
        constraints = [models.CheckConstraint(condition=Q(amount__gte=0), name="opp_amount_nonneg")]

    def __str__(self) -> str:
        return self.name


class OpportunityLine(models.Model):
    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+", verbose_name=_("product"))
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=3)
    unit_price = models.DecimalField(_("unit price"), max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["id"]
        verbose_name = _("opportunity line")
        verbose_name_plural = _("opportunity lines")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="opp_line_quantity_pos"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="opp_line_price_nonneg"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} × {self.quantity}"


class StageChange(models.Model):
    """One move of an opportunity (the first row is its creation, ``from_stage`` empty)."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.ForeignKey(
        Stage, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("from stage")
    )
    to_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+", verbose_name=_("to stage"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("by"),
    )  # fmt: skip
    automatic = models.BooleanField(_("automatic"), default=False)
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")
        indexes = [models.Index(fields=["opportunity", "at"], name="stagechange_opp_idx")]

    def __str__(self) -> str:
        return f"{self.opportunity_id}: {self.from_stage_id} → {self.to_stage_id}"


class StageRule(models.Model):
    """A logged communication of ``kind`` (and ``outcome``, when set) moves the customer's open
    opportunities of the target stage's pipeline up to that stage; never backwards."""

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="rules", verbose_name=_("pipeline"))
    communication_kind = models.CharField(_("communication kind"), max_length=16, choices=CommunicationKind.choices)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, blank=True)
    target_stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="+", verbose_name=_("move to"))
    active = models.BooleanField(_("in use"), default=True)

    class Meta:
        ordering = ["pipeline_id", "communication_kind", "id"]
        verbose_name = _("stage rule")
        verbose_name_plural = _("stage rules")
        constraints = [
            models.UniqueConstraint(
                fields=["pipeline", "communication_kind", "outcome"], name="stagerule_kind_outcome_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.communication_kind}/{self.outcome or '*'} → {self.target_stage_id}"


class Quote(VersionedModel):
    """A quote (报价单) for an opportunity: draft → sent → accepted / rejected / expired
    (``choices.QUOTE_TRANSITIONS``). Totals are the sum of the lines' amounts, each rounded half up to the fen."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="quotes")
    number = models.CharField(_("number"), max_length=32, unique=True)
    status = models.CharField(_("status"), max_length=8, choices=QuoteStatus.choices, default=QuoteStatus.DRAFT)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    subtotal = models.DecimalField(_("subtotal"), max_digits=14, decimal_places=2, default=ZERO)
    discount = models.DecimalField(_("discount"), max_digits=14, decimal_places=2, default=ZERO)
    total = models.DecimalField(_("total"), max_digits=14, decimal_places=2, default=ZERO)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("created by"),
    )  # fmt: skip
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    responded_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    # When the sweep asked the owner to follow up an unanswered quote (once per quote).
    follow_up_at = models.DateTimeField(_("follow-up asked at"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("quote")
        verbose_name_plural = _("quotes")
        indexes = [
            models.Index(fields=["opportunity", "-id"], name="quote_opp_idx"),
            models.Index(
                fields=["sent_at"], name="quote_waiting_idx", condition=Q(status="sent", follow_up_at__isnull=True)
            ),
        ]
        constraints = [models.CheckConstraint(condition=Q(total__gte=0), name="quote_total_nonneg")]

    def __str__(self) -> str:
        return self.number


class QuoteLine(models.Model):
    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("product")
    )
    description = models.CharField(_("description"), max_length=200)
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=3)
    unit = models.CharField(_("unit"), max_length=16, blank=True)
    unit_price = models.DecimalField(_("unit price"), max_digits=12, decimal_places=2)
    discount = models.DecimalField(_("discount"), max_digits=12, decimal_places=2, default=ZERO)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["id"]
        verbose_name = _("quote line")
        verbose_name_plural = _("quote lines")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="quote_line_quantity_pos"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="quote_line_price_nonneg"),
            models.CheckConstraint(condition=Q(discount__gte=0), name="quote_line_discount_nonneg"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="quote_line_amount_nonneg"),
        ]

    def __str__(self) -> str:
        return f"{self.description} × {self.quantity}"
