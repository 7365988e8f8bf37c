"""Writes of the analytics app: figures, automatic grades, smart-tag memberships, and the rules.

Figures are derived data kept true two ways:

- **events** (``on_customer_event``, subscribed in ``AnalyticsConfig.ready`` to ``order.changed``,
  ``payment.changed``, ``communication.changed``, ``complaint.changed``): after the writer's commit,
  the one customer's figures are recomputed in their own transaction (a few indexed reads), then
  its grade and its smart tags;
- **the nightly sweep** (``analytics_sweep``, registered in ``pearl.core.sweeps``): the figures that
  move with the clock, then grading, then smart tags, all set-based and idempotent.

``figures_rebuild`` recomputes everything in SQL (the demo loader calls it after a bulk load).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import BooleanField, Case, CharField, F, IntegerField, Q, Value, When
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.activities.choices import TimelineKind
from pearl.activities.services import NewEvent, timeline_record_many
from pearl.analytics import figures as compute
from pearl.analytics.conditions import clean_conditions, compile_conditions
from pearl.analytics.models import CustomerFigures, GradingRule, SmartTagRule
from pearl.core.errors import NotFound, PreconditionFailed, ValidationFailed
from pearl.core.permissions import require
from pearl.customers.choices import Grade
from pearl.customers.models import Customer, Tag
from pearl.customers.services import tag_create, tag_delete, tag_update
from pearl.customers.services.derived import (
    grades_set,
    tag_links_apply,
    tag_member_count,
    tag_members_clear,
    tag_members_sync,
)

logger = logging.getLogger(__name__)

EVENTS = ("order.changed", "payment.changed", "communication.changed", "complaint.changed")
CHUNK = 5000


def _now(at: dt.datetime | None) -> dt.datetime:
    if at is None:
        return timezone.now()
    if timezone.is_naive(at):
        raise ValueError("at must be an aware datetime")
    return at


# --- figures ---------------------------------------------------------------------------------------


def figures_refresh(*, customer_id: int, at: dt.datetime | None = None) -> CustomerFigures | None:
    """Recompute one customer's figures now (None when the customer no longer exists)."""
    at = _now(at)
    with transaction.atomic():
        # The customer's row locked: two events of one customer refresh one after the other.
        if not Customer.objects.select_for_update().filter(pk=customer_id).exists():
            return None
        return compute.refresh_one(customer_id, at)


def figures_rebuild(*, customer_ids: Sequence[int] | None = None, at: dt.datetime | None = None) -> int:
    """Recompute the figures of the given customers, or of everyone, set-based (INSERT … SELECT …
    GROUP BY, no per-customer Python). Returns the number of figures rows written."""
    at = _now(at)
    with transaction.atomic():
        return compute.rebuild(customer_ids, at)


# --- grading ---------------------------------------------------------------------------------------


def _rule_q(rule: GradingRule) -> Q:
    q = Q(pk__isnull=False)  # a rule without thresholds takes everyone left
    if rule.min_revenue_12m is not None:
        q &= Q(figures__revenue_12m__gte=rule.min_revenue_12m)
    if rule.min_orders_12m is not None:
        q &= Q(figures__orders_12m__gte=rule.min_orders_12m)
    if rule.min_margin_12m is not None:
        q &= Q(figures__margin_12m__gte=rule.min_margin_12m)
    return q


def active_grading_rules() -> list[GradingRule]:
    return list(GradingRule.objects.filter(is_active=True).order_by("order", "id"))


def _grade_changes(rules: list[GradingRule], customer_ids: Sequence[int] | None) -> Any:
    """(id, old grade, new grade, rule id) of every customer whose rule-given grade differs: ONE query
    (customers ⋈ figures with a CASE over the rules, first match wins)."""
    grade = Case(*(When(_rule_q(r), then=Value(r.grade)) for r in rules), default=Value(None), output_field=CharField())
    rule_id = Case(
        *(When(_rule_q(r), then=Value(r.pk)) for r in rules), default=Value(None), output_field=IntegerField()
    )
    qs = Customer.objects.all()
    if customer_ids is not None:
        qs = qs.filter(pk__in=list(customer_ids))
    return (
        qs.annotate(new_grade=grade, grade_rule=rule_id)
        .filter(new_grade__isnull=False)
        .exclude(grade=F("new_grade"))
        .values_list("pk", "grade", "new_grade", "grade_rule")
    )


def _grade_title(old: str, new: str) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        if old:
            return _("Grade %(old)s → %(new)s (automatic grading)") % {"old": old, "new": new}
        return _("Graded %(new)s (automatic grading)") % {"new": new}


def grades_apply(*, at: dt.datetime | None = None, customer_ids: Sequence[int] | None = None) -> int:
    """Give every customer (or the given ones) the grade of the first active rule it meets; each
    change is written to the customer and lands on its timeline. No active rule: nothing changes.
    Returns the number of customers whose grade changed (0 on a second run)."""
    at = _now(at)
    rules = active_grading_rules()
    if not rules:
        return 0
    changed = 0
    last = 0
    with transaction.atomic():
        # Pages in id order (keyset), each read before its writes: no cursor stays open on the
        # customers table while its grades change.
        while True:
            batch = list(_grade_changes(rules, customer_ids).filter(pk__gt=last).order_by("pk")[:CHUNK])
            if not batch:
                break
            changed += _write_grades(batch, at)
            last = batch[-1][0]
            if len(batch) < CHUNK:
                break
    return changed


def _write_grades(batch: list[tuple[int, str, str, int]], at: dt.datetime) -> int:
    grades_set((pk, new) for pk, _old, new, _rule in batch)
    with translation.override(settings.LANGUAGE_CODE):
        label = _("Automatic grading")
    titles = {(old, new): _grade_title(old, new) for _pk, old, new, _rule in {(0, o, n, 0) for _p, o, n, _r in batch}}
    timeline_record_many(
        NewEvent(
            customer_id=pk, kind=TimelineKind.GRADE, occurred_at=at, title=titles[(old, new)],
            payload={"old": old or None, "new": new, "rule": rule}, actor_label=label,
        )
        for pk, old, new, rule in batch
    )  # fmt: skip
    return len(batch)


# --- smart tags ------------------------------------------------------------------------------------


def smart_tags_apply(
    *, at: dt.datetime | None = None, customer_ids: Sequence[int] | None = None, rule_ids: Iterable[int] | None = None
) -> dict[str, dict[str, int]]:
    """Sync the members of every smart tag (or the given rules) with its rule as of ``at``: per tag,
    one DELETE of the customers no longer matching and one INSERT … SELECT of the new ones. With
    ``customer_ids`` only those customers are looked at (the event path: every rule evaluated for
    them in one query). Manual tags are never touched. Returns ``{tag name: {"added", "removed"}}``."""
    at = _now(at)
    rules = list(SmartTagRule.objects.select_related("tag").order_by("tag__name"))
    if rule_ids is not None:
        wanted = set(rule_ids)
        rules = [r for r in rules if r.pk in wanted]
    if customer_ids is not None:
        return _sync_customers(rules, list(customer_ids), at)
    out: dict[str, dict[str, int]] = {}
    with transaction.atomic():
        for rule in rules:
            if rule.is_active:
                members = Customer.objects.filter(compile_conditions(rule.conditions, at)).values("pk")
                added, removed = tag_members_sync(rule.tag_id, members)
            else:
                added, removed = 0, tag_members_clear(rule.tag_id)
            rule.member_count = tag_member_count(rule.tag_id)
            rule.last_synced_at = timezone.now()
            rule.save(update_fields=["member_count", "last_synced_at"])
            out[rule.tag.name] = {"added": added, "removed": removed}
    return out


def _sync_customers(rules: list[SmartTagRule], customer_ids: list[int], at: dt.datetime) -> dict[str, dict[str, int]]:
    """Every rule for a few customers: one query says which rules each one meets, one reads the
    smart tags they carry, then the differences are written."""
    out = {rule.tag.name: {"added": 0, "removed": 0} for rule in rules}
    if not rules or not customer_ids:
        return out
    flags = {
        f"rule_{rule.pk}": Case(
            When(compile_conditions(rule.conditions, at, correlated=True), then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        )
        for rule in rules
        if rule.is_active
    }
    desired: set[tuple[int, int]] = set()
    if flags:
        for row in Customer.objects.filter(pk__in=customer_ids).annotate(**flags).values("pk", *flags):
            desired.update((row["pk"], rule.tag_id) for rule in rules if row.get(f"rule_{rule.pk}"))
    current = set(
        Customer.tags.through.objects.filter(
            customer_id__in=customer_ids, tag_id__in=[r.tag_id for r in rules]
        ).values_list("customer_id", "tag_id")
    )
    add, remove = desired - current, current - desired
    if add or remove:
        with transaction.atomic():
            tag_links_apply(add=add, remove=remove)
    names = {rule.tag_id: rule.tag.name for rule in rules}
    for _customer, tag in add:
        out[names[tag]]["added"] += 1
    for _customer, tag in remove:
        out[names[tag]]["removed"] += 1
    return out


# --- one customer after an event, and the nightly sweep ---------------------------------------------


def customer_derived_refresh(*, customer_id: int, at: dt.datetime | None = None) -> CustomerFigures | None:
    """Figures, grade and smart tags of one customer, in one transaction of its own."""
    at = _now(at)
    with transaction.atomic():
        figures = figures_refresh(customer_id=customer_id, at=at)
        if figures is None:
            return None
        grades_apply(at=at, customer_ids=[customer_id])
        smart_tags_apply(at=at, customer_ids=[customer_id])
    return figures


def _customer_ids(payload: dict[str, Any]) -> list[int]:
    ids: list[int] = []
    for key in ("customer_id", "old_customer_id", "previous_customer_id"):
        value = payload.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            ids.append(value)
    for value in payload.get("customer_ids") or ():
        if isinstance(value, int) and not isinstance(value, bool):
            ids.append(value)
    return sorted(set(ids))


def on_customer_event(name: str, payload: dict[str, Any]) -> None:
    """Subscriber of the order, payment, communication and complaint events (after their commit)."""
    for customer_id in _customer_ids(payload):
        customer_derived_refresh(customer_id=customer_id)


def analytics_sweep(at: dt.datetime) -> dict[str, Any]:
    """The nightly sweep: time-dependent figures, then grades, then smart tags, as of ``at``."""
    figures = compute.sweep_time(at)
    graded = grades_apply(at=at)
    tags = smart_tags_apply(at=at)
    return {
        "figures_changed": figures,
        "grades_changed": graded,
        "smart_tags": {name: f"+{n['added']} −{n['removed']}" for name, n in tags.items()},
    }


# --- grading rules (settings) ----------------------------------------------------------------------

_RULE_FIELDS = ("grade", "order", "min_revenue_12m", "min_orders_12m", "min_margin_12m", "is_active")


def _money(value: Any, errors: dict[str, list[str]], key: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        if isinstance(value, bool):
            raise InvalidOperation
        number = Decimal(str(value).strip().replace(",", ""))
        if not number.is_finite() or number < 0 or number >= Decimal("1e13"):
            raise InvalidOperation
    except InvalidOperation:
        errors[key] = [_("Enter an amount of 0 or more, like 200000.")]
        return None
    return number.quantize(Decimal("0.01"))


def _whole(value: Any, errors: dict[str, list[str]], key: str, *, allow_none: bool = True) -> int | None:
    if value is None or value == "":
        if allow_none:
            return None
        value = 0
    try:
        if isinstance(value, bool):
            raise ValueError
        number = int(str(value).strip())
        if number < 0 or number > 1_000_000:
            raise ValueError
    except ValueError:
        errors[key] = [_("Enter a whole number of 0 or more.")]
        return None
    return number


def _rule_values(data: dict[str, Any], rule: GradingRule | None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    for key in sorted(set(data) - set(_RULE_FIELDS)):
        errors[key] = [_("Unknown field %(field)s.") % {"field": key}]
    current = {k: getattr(rule, k) for k in _RULE_FIELDS} if rule else {"order": 0, "is_active": True}
    merged = {**current, **{k: v for k, v in data.items() if k in _RULE_FIELDS}}
    grade = merged.get("grade")
    if grade not in Grade.values:
        errors["grade"] = [_("Grade must be A, B or C.")]
    values = {
        "grade": grade,
        "order": _whole(merged.get("order"), errors, "order", allow_none=False),
        "min_revenue_12m": _money(merged.get("min_revenue_12m"), errors, "min_revenue_12m"),
        "min_orders_12m": _whole(merged.get("min_orders_12m"), errors, "min_orders_12m"),
        "min_margin_12m": _money(merged.get("min_margin_12m"), errors, "min_margin_12m"),
        "is_active": merged.get("is_active"),
    }
    if not isinstance(values["is_active"], bool):
        errors["is_active"] = [_("Enter true or false.")]
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], field_errors=errors)
    return values


def _check_version(instance: Any, expected: int | None, what: str) -> None:
    if expected is not None and int(expected) != instance.version:
        raise PreconditionFailed(
            _("Someone else changed this %(what)s meanwhile; reload and apply your change again.") % {"what": what},
            extra={"version": instance.version},
        )


@transaction.atomic
def grading_rule_create(*, actor: User, data: dict[str, Any]) -> GradingRule:
    """A new grading rule (applied by the next sweep or event; nothing is regraded here)."""
    require(actor, "manage_settings")
    return GradingRule.objects.create(**_rule_values(data, None))


@transaction.atomic
def grading_rule_update(
    *, actor: User, rule_id: int, data: dict[str, Any], expected_version: int | None = None
) -> GradingRule:
    require(actor, "manage_settings")
    rule = GradingRule.objects.select_for_update().filter(pk=rule_id).first()
    if rule is None:
        raise NotFound(_("Grading rule not found."))
    _check_version(rule, expected_version, str(_("grading rule")))
    for key, value in _rule_values(data, rule).items():
        setattr(rule, key, value)
    rule.version += 1
    rule.save()
    return rule


@transaction.atomic
def grading_rule_delete(*, actor: User, rule_id: int, expected_version: int | None = None) -> None:
    require(actor, "manage_settings")
    rule = GradingRule.objects.select_for_update().filter(pk=rule_id).first()
    if rule is None:
        raise NotFound(_("Grading rule not found."))
    _check_version(rule, expected_version, str(_("grading rule")))
    rule.delete()


# --- smart-tag rules (settings) ----------------------------------------------------------------------

_SMART_FIELDS = ("name", "color", "conditions", "description", "is_active")


def _smart_values(data: dict[str, Any], rule: SmartTagRule | None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    for key in sorted(set(data) - set(_SMART_FIELDS)):
        errors[key] = [_("Unknown field %(field)s.") % {"field": key}]
    out: dict[str, Any] = {}
    if "conditions" in data or rule is None:
        try:
            out["conditions"] = clean_conditions(data.get("conditions"))
        except ValidationFailed as exc:
            errors.update(exc.field_errors)
    if "description" in data:
        description = str(data.get("description") or "").strip()
        if len(description) > 200:
            errors["description"] = [_("At most %(n)d characters.") % {"n": 200}]
        out["description"] = description
    if "is_active" in data:
        if not isinstance(data["is_active"], bool):
            errors["is_active"] = [_("Enter true or false.")]
        out["is_active"] = bool(data["is_active"])
    if errors:
        first = next(iter(errors.values()))[0]
        if any(k.startswith("conditions.") for k in errors):
            key = next(k for k in errors if k.startswith("conditions."))
            first = _("Condition %(n)d: %(message)s") % {"n": int(key.split(".")[1]) + 1, "message": errors[key][0]}
        raise ValidationFailed(first, field_errors=errors)
    return out


def _after_rule_change(rule: SmartTagRule) -> None:
    """An inactive rule's tag carries nobody; an active one is applied now (one rule, set-based)."""
    if rule.is_active:
        smart_tags_apply(rule_ids=[rule.pk])
    else:
        tag_members_clear(rule.tag_id)
        rule.member_count = 0
        rule.save(update_fields=["member_count"])


@transaction.atomic
def smart_tag_create(*, actor: User, data: dict[str, Any]) -> SmartTagRule:
    """A new tag (name, colour) with its rule; applied at once when created active."""
    require(actor, "manage_settings")
    values = _smart_values(data, None)
    tag = tag_create(actor=actor, data={k: data[k] for k in ("name", "color") if k in data})
    rule = SmartTagRule.objects.create(tag=tag, **values)
    _after_rule_change(rule)
    rule.refresh_from_db()
    return rule


def _locked_rule(rule_id: int) -> SmartTagRule:
    rule = SmartTagRule.objects.select_for_update().filter(pk=rule_id).first()
    if rule is None:
        raise NotFound(_("Smart tag not found."))
    return rule


@transaction.atomic
def smart_tag_update(
    *, actor: User, rule_id: int, data: dict[str, Any], expected_version: int | None = None
) -> SmartTagRule:
    require(actor, "manage_settings")
    rule = _locked_rule(rule_id)
    _check_version(rule, expected_version, str(_("smart tag")))
    values = _smart_values(data, rule)
    tag_data: dict[str, Any] = {k: data[k] for k in ("name", "color") if k in data}
    if tag_data:
        tag_update(actor=actor, tag=Tag.objects.get(pk=rule.tag_id), data=tag_data)
    for key, value in values.items():
        setattr(rule, key, value)
    rule.version += 1
    rule.save()
    _after_rule_change(rule)
    rule.refresh_from_db()
    return rule


@transaction.atomic
def smart_tag_delete(*, actor: User, rule_id: int, expected_version: int | None = None) -> None:
    """The tag goes with its rule (off every customer, each history says so)."""
    require(actor, "manage_settings")
    rule = _locked_rule(rule_id)
    _check_version(rule, expected_version, str(_("smart tag")))
    tag_delete(actor=actor, tag=Tag.objects.get(pk=rule.tag_id))


# The examples shipped with Pearl: inactive until an admin reviews and switches them on.
EXAMPLES: list[dict[str, Any]] = [
    {"name": "高价值客户", "color": "#c92a2a", "description": "近12个月销售额 ≥ 100,000",
     "conditions": [{"field": "revenue_12m", "op": "gte", "value": 100000}]},
    {"name": "价格敏感型", "color": "#e67700", "description": "平均折扣率 ≥ 10%",
     "conditions": [{"field": "avg_discount_rate", "op": "gte", "value": 10}]},
    {"name": "流失风险", "color": "#5f3dc4", "description": "超过平时采购周期的 2 倍未下单",
     "conditions": [{"field": "no_order_cycles", "op": "gt", "value": 2}]},
    {"name": "潜在换机客户", "color": "#1971c2", "description": "18 个月前买过某品类，此后未再购买",
     "conditions": [{"field": "category_lapsed", "op": "gt", "value": 18, "category": None}]},
    {"name": "近期多次投诉", "color": "#e03131", "description": "30 天内投诉 ≥ 2 次",
     "conditions": [{"field": "complaints_recent", "op": "gte", "value": 2, "days": 30}]},
]  # fmt: skip


@transaction.atomic
def smart_tag_examples_install(*, actor: User) -> list[SmartTagRule]:
    """Create the example smart tags (inactive) that do not exist yet; a name already used by a tag is
    skipped. Returns the rules created."""
    require(actor, "manage_settings")
    taken = set(Tag.objects.filter(name__in=[e["name"] for e in EXAMPLES]).values_list("name", flat=True))
    created = []
    for example in EXAMPLES:
        if example["name"] in taken:
            continue
        tag = tag_create(actor=actor, data={"name": example["name"], "color": example["color"]})
        created.append(
            SmartTagRule.objects.create(
                tag=tag, conditions=clean_conditions(example["conditions"]), description=example["description"],
                is_active=False,
            )
        )  # fmt: skip
    return created
