"""Reads of the analytics app: a customer's figures (scoped like the customer) and the rules."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.analytics.models import CustomerFigures, GradingRule, SmartTagRule
from pearl.core.errors import NotFound
from pearl.core.permissions import require, scope_q
from pearl.customers.models import Customer


def smart_tag_ids() -> list[int]:
    """Tags managed by a rule (the customers app refuses to set or remove these by hand)."""
    return list(SmartTagRule.objects.values_list("tag_id", flat=True))


def customer_figures_get(
    *, actor: User, customer_id: int | None = None, customer: Customer | None = None
) -> CustomerFigures | None:
    """The figures of a customer the actor may see; None while none were computed yet.

    Pass ``customer`` when it was read with ``customers.selectors.customer_get`` (the 360° page:
    already scope-checked, so not checked again), else ``customer_id``: a customer out of scope
    (or missing) is then NotFound, so nothing leaks.
    """
    if customer is not None and customer_id is None:
        pk = customer.pk
    elif customer is None and customer_id is not None:
        if not Customer.objects.filter(scope_q(actor)).filter(pk=customer_id).exists():
            raise NotFound(_("Customer not found."))
        pk = customer_id
    else:
        raise TypeError("Give either customer (already scope-checked) or customer_id, not both.")
    return CustomerFigures.objects.filter(customer_id=pk).first()


def grading_rule_list(*, actor: User) -> QuerySet[GradingRule]:
    require(actor, "manage_settings")
    return GradingRule.objects.order_by("order", "id")


def grading_rule_get(*, actor: User, rule_id: int) -> GradingRule:
    rule = grading_rule_list(actor=actor).filter(pk=rule_id).first()
    if rule is None:
        raise NotFound(_("Grading rule not found."))
    return rule


def smart_tag_list(*, actor: User) -> QuerySet[SmartTagRule]:
    require(actor, "manage_settings")
    return SmartTagRule.objects.select_related("tag").order_by("tag__name")


def smart_tag_get(*, actor: User, rule_id: int) -> SmartTagRule:
    rule = smart_tag_list(actor=actor).filter(pk=rule_id).first()
    if rule is None:
        raise NotFound(_("Smart tag not found."))
    return rule
