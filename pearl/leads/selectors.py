"""Reads of leads and assignment rules: leads scoped like customers (own / team / subtree / all)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.core.errors import NotFound, ValidationFailed
from pearl.core.permissions import require, scope_q
from pearl.core.text import nfkc
from pearl.leads.choices import OPEN_STATUSES
from pearl.leads.filters import LeadFilterForm, filter_errors
from pearl.leads.models import AssignmentRule, Lead, LeadFollowUp
from pearl.sales.models import ProductCategory


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


IDENTIFIERS = ("mobile", "email", "wechat")  # the lead fields that say who the person is


def open_leads_holding(*, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], list[int]]:
    """``(field, value) → ids of the open leads (new or contacted) holding it``, oldest first, for many
    identifiers in one query (an index per field). Values are compared as the lead services store them
    (a normalised mobile, a lower-case email, a WeChat id as given). Not scoped: an arrival must find
    the person's lead whoever may see it, and "never two open leads for one person" holds across owners."""
    wanted: dict[str, set[str]] = {name: set() for name in IDENTIFIERS}
    for name, value in pairs:
        if name in wanted and value:
            wanted[name].add(value)
    condition = Q()
    for name, values in wanted.items():
        if values:
            condition |= Q(**{f"{name}__in": sorted(values)})
    if not condition:
        return {}
    found: dict[tuple[str, str], list[int]] = {}
    rows = Lead.objects.filter(condition, status__in=OPEN_STATUSES).order_by("pk").values_list("pk", *IDENTIFIERS)
    for pk, *values in rows:
        for name, value in zip(IDENTIFIERS, values, strict=True):
            if value and value in wanted[name]:
                found.setdefault((name, value), []).append(pk)
    return found


def inquiries_recorded(*, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """The lead each (channel, message id) was recorded on before; one query."""
    keys = set(keys)
    if not keys:
        return {}
    rows = (
        LeadFollowUp.objects.exclude(external_id="")
        .filter(source__in=sorted({s for s, _e in keys}), external_id__in=sorted({e for _s, e in keys}))
        .values_list("source", "external_id", "lead_id")
    )
    return {(source, external_id): lead_id for source, external_id, lead_id in rows if (source, external_id) in keys}


def product_categories_by_name(*, names: Iterable[str]) -> dict[str, int]:
    """Product category ids by name, for arrivals that name what they want to buy (NFKC, case and
    spaces ignored); one query over the categories (a short list)."""
    wanted = {_name_key(n): n for n in names if n}
    if not wanted:
        return {}
    out: dict[str, int] = {}
    for pk, name in ProductCategory.objects.order_by("id").values_list("pk", "name"):
        original = wanted.get(_name_key(name))
        if original is not None:
            out.setdefault(original, pk)
    return out


def _name_key(text: str) -> str:
    return nfkc(text).strip().lower().replace(" ", "")
