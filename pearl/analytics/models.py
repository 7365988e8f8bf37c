"""Derived figures per customer, the grading rules and the smart-tag rules.

``CustomerFigures`` and ``CustomerCategoryFigure`` are derived data: rebuilt from orders, payments,
communications and complaints (never edited), kept up to date by the event handlers and the nightly
sweep. The rules are rows admins edit on the insights page.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from pearl.core.models import VersionedModel
from pearl.customers.choices import Grade
from pearl.customers.models import Customer, Tag
from pearl.sales.models import ProductCategory

ZERO = Decimal("0.00")


class CustomerFigures(models.Model):
    """Key figures of one customer. Cancelled orders never count.

    ``last_order_day`` is the local (Asia/Shanghai) calendar day of the last order as a day number
    (days since 1970-01-01), so "no order for K × their cycle" compiles to plain arithmetic on both
    databases. The ``*_12m``, ``overdue_amount`` and ``complaints_30d`` figures depend on the date and
    are refreshed by the nightly sweep as of its moment.
    """

    customer = models.OneToOneField(
        Customer, on_delete=models.CASCADE, primary_key=True, related_name="figures", verbose_name=_("customer")
    )
    first_order_at = models.DateTimeField(_("first purchase"), null=True, blank=True)
    last_order_at = models.DateTimeField(_("last purchase"), null=True, blank=True)
    last_order_day = models.IntegerField(null=True, blank=True)
    order_count = models.PositiveIntegerField(_("orders"), default=0)
    orders_12m = models.PositiveIntegerField(_("orders in the last 12 months"), default=0)
    purchase_cycle_days = models.DecimalField(
        _("purchase cycle (days)"), max_digits=8, decimal_places=1, null=True, blank=True
    )
    avg_order_value = models.DecimalField(
        _("average order value"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    revenue_12m = models.DecimalField(_("revenue, last 12 months"), max_digits=16, decimal_places=2, default=ZERO)
    revenue_total = models.DecimalField(_("lifetime revenue"), max_digits=16, decimal_places=2, default=ZERO)
    margin_12m = models.DecimalField(
        _("margin, last 12 months"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    avg_discount_rate = models.DecimalField(
        _("average discount rate"), max_digits=7, decimal_places=4, null=True, blank=True
    )
    avg_days_to_pay = models.DecimalField(
        _("average days to pay"), max_digits=8, decimal_places=1, null=True, blank=True
    )
    unpaid_amount = models.DecimalField(_("unpaid"), max_digits=16, decimal_places=2, default=ZERO)
    overdue_amount = models.DecimalField(_("overdue"), max_digits=16, decimal_places=2, default=ZERO)
    complaints_30d = models.PositiveIntegerField(_("complaints, last 30 days"), default=0)
    last_contact_at = models.DateTimeField(_("last contact"), null=True, blank=True)
    next_follow_up_at = models.DateTimeField(_("next follow-up"), null=True, blank=True)
    top_categories = models.JSONField(_("top categories"), default=list, blank=True)
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("customer figures")
        verbose_name_plural = _("customer figures")

    def __str__(self) -> str:
        return f"figures #{self.customer_id}"


class CustomerCategoryFigure(models.Model):
    """What one customer bought of one product category: for top categories and lapsed-category rules."""

    pk = models.CompositePrimaryKey("customer", "category")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+", db_index=False)
    category = models.ForeignKey(ProductCategory, on_delete=models.CASCADE, related_name="+", db_index=False)
    first_at = models.DateTimeField(_("first bought"))
    last_at = models.DateTimeField(_("last bought"))
    amount = models.DecimalField(_("amount"), max_digits=16, decimal_places=2, default=ZERO)
    quantity = models.DecimalField(_("quantity"), max_digits=16, decimal_places=3, default=Decimal("0"))
    orders = models.PositiveIntegerField(_("orders"), default=0)

    class Meta:
        verbose_name = _("customer category figure")
        verbose_name_plural = _("customer category figures")
        # "Bought category C before a date and not since": a range of one category's last purchases.
        indexes = [models.Index(fields=["category", "last_at"], name="catfigure_category_last_idx")]

    def __str__(self) -> str:
        return f"#{self.customer_id} {self.category_id}: {self.amount}"


class GradingRule(VersionedModel):
    """One line of the automatic grading: the first active rule (by ``order``) a customer meets gives
    its grade. A rule without thresholds catches everyone left ("else C"). No active rules: grades
    stay as people set them."""

    grade = models.CharField(_("grade"), max_length=1, choices=Grade.choices)
    order = models.PositiveIntegerField(_("order"), default=0)
    min_revenue_12m = models.DecimalField(
        _("revenue, last 12 months, at least"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    min_orders_12m = models.PositiveIntegerField(_("orders in the last 12 months, at least"), null=True, blank=True)
    min_margin_12m = models.DecimalField(
        _("margin, last 12 months, at least"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("grading rule")
        verbose_name_plural = _("grading rules")
        constraints = [
            models.CheckConstraint(
                condition=Q(min_revenue_12m__isnull=True) | Q(min_revenue_12m__gte=0), name="gradingrule_revenue_nonneg"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.grade} #{self.pk}"


class SmartTagRule(VersionedModel):
    """A tag applied by a rule: ``conditions`` are rows ``{field, op, value}`` (all must hold), see
    ``pearl.analytics.conditions``. While the rule exists its tag cannot be set or removed by hand;
    an inactive rule's tag carries nobody."""

    tag = models.OneToOneField(Tag, on_delete=models.CASCADE, related_name="+", verbose_name=_("tag"))
    conditions = models.JSONField(_("conditions"), default=list)
    description = models.CharField(_("description"), max_length=200, blank=True)
    is_active = models.BooleanField(_("in use"), default=False)
    last_synced_at = models.DateTimeField(_("last applied"), null=True, blank=True)
    member_count = models.PositiveIntegerField(_("customers"), default=0)

    class Meta:
        ordering = ["tag__name"]
        verbose_name = _("smart tag")
        verbose_name_plural = _("smart tags")

    def __str__(self) -> str:
        return f"smart tag {self.tag_id}"


class SweepMark(models.Model):
    """The moment a sweep last brought its derived data up to (the next one starts from there)."""

    name = models.CharField(max_length=64, primary_key=True)
    at = models.DateTimeField()

    class Meta:
        verbose_name = _("sweep mark")
        verbose_name_plural = _("sweep marks")

    def __str__(self) -> str:
        return f"{self.name} @ {self.at:%Y-%m-%d %H:%M}"
