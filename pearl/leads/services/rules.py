"""Assignment rules, configured by administrators (manage_settings) and evaluated in ``order``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.core.changes import created, deleted, diff, record_change, snapshot
from pearl.core.errors import NotFound, ValidationFailed
from pearl.core.events import emit
from pearl.core.models import ChangeAction
from pearl.core.permissions import require
from pearl.core.text import clean_spaces, strip_control
from pearl.customers.choices import ChoiceList
from pearl.customers.models import ChoiceOption
from pearl.leads.choices import CONDITION_FIELDS, AssignMethod, ConditionOp
from pearl.leads.models import AssignmentRule
from pearl.sales.models import ProductCategory

RULE_FIELDS = ["name", "is_active", "order", "conditions", "method", "capacity"]
_INPUT = {*RULE_FIELDS, "members"}
_CONDITION_KEYS = {"provinces", "cities", "sources", "product_categories", "fields"}


def _rule_snapshot(rule: AssignmentRule) -> dict[str, Any]:
    data = snapshot(rule, RULE_FIELDS)
    data["members"] = sorted(u.pk for u in rule.members.all()) if rule.pk else []
    return data


def _ids(value: Any) -> list[int] | None:
    if not isinstance(value, list | tuple):
        return None
    out: list[int] = []
    for item in value:
        if isinstance(item, bool):
            return None
        try:
            number = int(item)
        except (TypeError, ValueError):
            return None
        if number < 1:
            return None
        out.append(number)
    return sorted(set(out))


def _texts(value: Any) -> list[str] | None:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        return None
    return sorted({clean_spaces(v) for v in value if clean_spaces(v)})


def clean_conditions(raw: Any) -> tuple[dict[str, Any], str | None]:
    """Conditions as stored (unknown keys, ids and operators refused with one message)."""
    if raw in (None, ""):
        return {}, None
    if not isinstance(raw, Mapping):
        return {}, _("Conditions must be an object.")
    unknown = sorted(set(raw) - _CONDITION_KEYS)
    if unknown:
        return {}, _("Unknown condition %(key)s.") % {"key": unknown[0]}
    out: dict[str, Any] = {}
    for key in ("provinces", "cities"):
        if key in raw:
            texts = _texts(raw[key])
            if texts is None:
                return {}, _("%(key)s must be a list of names.") % {"key": key}
            if texts:
                out[key] = texts
    if "sources" in raw:
        ids = _ids(raw["sources"])
        if ids is None or ChoiceOption.objects.filter(pk__in=ids, list_name=ChoiceList.SOURCE).count() != len(ids):
            return {}, _("Choose source channels from the list.")
        if ids:
            out["sources"] = ids
    if "product_categories" in raw:
        ids = _ids(raw["product_categories"])
        if ids is None or ProductCategory.objects.filter(pk__in=ids).count() != len(ids):
            return {}, _("Choose product categories from the list.")
        if ids:
            out["product_categories"] = ids
    if "fields" in raw:
        items = raw["fields"]
        if not isinstance(items, list | tuple):
            return {}, _("Field conditions must be a list.")
        conds = []
        for item in items:
            if not isinstance(item, Mapping) or set(item) - {"field", "op", "value"}:
                return {}, _("A field condition has field, op and value.")
            if item.get("field") not in CONDITION_FIELDS:
                return {}, _("A condition may test: %(fields)s.") % {"fields": ", ".join(CONDITION_FIELDS)}
            if item.get("op") not in ConditionOp.values:
                return {}, _("A condition's op is one of: %(ops)s.") % {"ops": ", ".join(ConditionOp.values)}
            value = item.get("value")
            if value is not None and not isinstance(value, str):
                return {}, _("A condition's value is text.")
            value = clean_spaces(value or "")
            if item["op"] in (ConditionOp.CONTAINS, ConditionOp.EQ) and not value:
                return {}, _("Say what the field should contain or equal.")
            conds.append({"field": item["field"], "op": item["op"], "value": value})
        if conds:
            out["fields"] = conds
    return out, None


def _clean(data: Mapping[str, Any], instance: AssignmentRule | None) -> tuple[dict[str, Any], list[User] | None]:
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    for key in sorted(set(data) - _INPUT):
        errors[key] = [_("Unknown field %(field)s.") % {"field": key}]
    if "name" in data or instance is None:
        raw = data.get("name")
        name = clean_spaces(strip_control(raw)) if isinstance(raw, str) else ""
        if not name:
            errors["name"] = [_("Give the rule a name.")]
        elif len(name) > 64:
            errors["name"] = [_("At most %(n)d characters.") % {"n": 64}]
        out["name"] = name
    if "is_active" in data:
        if not isinstance(data["is_active"], bool):
            errors["is_active"] = [_("Enter true or false.")]
        out["is_active"] = bool(data["is_active"])
    if "order" in data:
        order = data["order"]
        if isinstance(order, bool) or not isinstance(order, int) or not 0 <= order <= 1_000_000:
            errors["order"] = [_("Enter a whole number from 0.")]
        out["order"] = order
    if "method" in data or instance is None:
        method = data.get("method") or AssignMethod.ROUND_ROBIN
        if method not in AssignMethod.values:
            errors["method"] = [_("Choose round robin or fewest open leads.")]
        out["method"] = method
    if "capacity" in data:
        capacity = data["capacity"]
        if capacity in (None, ""):
            capacity = None
        elif isinstance(capacity, bool) or not isinstance(capacity, int) or not 1 <= capacity <= 100_000:
            errors["capacity"] = [_("Enter a whole number from 1, or leave it empty for no limit.")]
        out["capacity"] = capacity
    if "conditions" in data or instance is None:
        conditions, error = clean_conditions(data.get("conditions"))
        if error:
            errors["conditions"] = [error]
        out["conditions"] = conditions
    members: list[User] | None = None
    if "members" in data:
        ids = _ids(data["members"])
        members = list(User.objects.filter(pk__in=ids or [], is_active=True)) if ids is not None else []
        if ids is None or len(members) != len(ids):
            errors["members"] = [_("Choose active users.")]
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], field_errors=errors)
    return out, members


@transaction.atomic
def assignment_rule_create(*, actor: User, data: Mapping[str, Any]) -> AssignmentRule:
    """A new rule; without an ``order`` it goes last."""
    require(actor, "manage_settings")
    values, members = _clean(data, None)
    if "order" not in values:
        top = AssignmentRule.objects.aggregate(m=Max("order"))["m"]
        values["order"] = 0 if top is None else top + 10
    rule = AssignmentRule(**values)
    rule.save()
    if members is not None:
        rule.members.set(members)
    record_change(actor=actor, action=ChangeAction.CREATE, instance=rule, changes=created(_rule_snapshot(rule)))
    emit("assignment_rule.created", rule_id=rule.pk, actor_id=actor.pk)
    return rule


def _locked(rule_id: int) -> AssignmentRule:
    rule = AssignmentRule.objects.select_for_update().filter(pk=rule_id).first()
    if rule is None:
        raise NotFound(_("Assignment rule not found."))
    return rule


@transaction.atomic
def assignment_rule_update(*, actor: User, rule_id: int, data: Mapping[str, Any]) -> AssignmentRule:
    require(actor, "manage_settings")
    rule = _locked(rule_id)
    values, members = _clean(data, rule)
    before = _rule_snapshot(rule)
    for key, value in values.items():
        setattr(rule, key, value)
    rule.save()
    if members is not None:
        rule.members.set(members)
    changes = diff(before, _rule_snapshot(rule))
    record_change(actor=actor, action=ChangeAction.UPDATE, instance=rule, changes=changes)
    emit("assignment_rule.updated", rule_id=rule.pk, actor_id=actor.pk)
    return rule


@transaction.atomic
def assignment_rule_delete(*, actor: User, rule_id: int) -> None:
    """Leads it assigned keep their owner and reason; they just no longer link to it."""
    require(actor, "manage_settings")
    rule = _locked(rule_id)
    record_change(actor=actor, action=ChangeAction.DELETE, instance=rule, changes=deleted(_rule_snapshot(rule)))
    pk = rule.pk
    rule.delete()
    emit("assignment_rule.deleted", rule_id=pk, actor_id=actor.pk)


@transaction.atomic
def assignment_rules_reorder(*, actor: User, rule_ids: Sequence[int]) -> list[AssignmentRule]:
    """Put the rules in this order (every rule, each once); ``order`` becomes 10, 20, 30…"""
    require(actor, "manage_settings")
    rules = {r.pk: r for r in AssignmentRule.objects.select_for_update()}
    ids = list(rule_ids)
    if sorted(ids) != sorted(rules) or len(set(ids)) != len(ids):
        message = _("List every rule exactly once.")
        raise ValidationFailed(message, field_errors={"rule_ids": [message]})
    changed = []
    for position, pk in enumerate(ids, start=1):
        rule = rules[pk]
        if rule.order != position * 10:
            before = snapshot(rule, ["order"])
            rule.order = position * 10
            changed.append(rule)
            record_change(actor=actor, action=ChangeAction.UPDATE, instance=rule,
                          changes=diff(before, snapshot(rule, ["order"])))  # fmt: skip
    AssignmentRule.objects.bulk_update(changed, ["order"])
    return [rules[pk] for pk in ids]
