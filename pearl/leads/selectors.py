"""Reads of leads and assignment rules: leads scoped like customers (own / team / subtree / all)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.core.errors import NotFound, ValidationFailed
from pearl.core.permissions import require, scope_q
from pearl.leads.filters import LeadFilterForm, filter_errors
from pearl.leads.models import AssignmentRule, Lead, LeadFollowUp


def lead_list(*, actor: User, filters: dict[str, Any] | None = None) -> QuerySet[Lead]:
    """Leads the actor may see, newest first; bad filters raise ValidationFailed."""
    form = LeadFilterForm(filters or {})
    if not form.is_valid():
        errors = filter_errors(form)
        raise ValidationFailed(next(iter(errors.values()))[0], field_errors=errors)
    qs = Lead.objects.filter(scope_q(actor)).filter(form.filter_q())
    return qs.select_related("owner", "team", "source", "assigned_rule", "product_interest").order_by("-id")


def lead_get(*, actor: User, lead_id: int) -> Lead:
    lead = (
        Lead.objects.filter(scope_q(actor))
        .select_related("owner", "team", "source", "assigned_rule", "product_interest")
        .filter(pk=lead_id)
        .first()
    )
    if lead is None:
        raise NotFound(_("Lead not found."))
    return lead


def lead_follow_ups(*, actor: User, lead: Lead) -> QuerySet[LeadFollowUp]:
    """The follow-ups of a lead already read with ``lead_get`` (scope-checked), newest first."""
    return LeadFollowUp.objects.filter(lead=lead).select_related("actor").order_by("-at", "-id")


def assignment_rule_list(*, actor: User) -> QuerySet[AssignmentRule]:
    """Every rule in evaluation order; administrators only (manage_settings)."""
    require(actor, "manage_settings")
    return AssignmentRule.objects.prefetch_related("members").order_by("order", "id")


def assignment_rule_get(*, actor: User, rule_id: int) -> AssignmentRule:
    require(actor, "manage_settings")
    rule = AssignmentRule.objects.prefetch_related("members").filter(pk=rule_id).first()
    if rule is None:
        raise NotFound(_("Assignment rule not found."))
    return rule
