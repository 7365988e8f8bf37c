"""Smart-tag conditions: rows ``{"field", "op", "value"}`` (plus a parameter for some fields), all of
which must hold. ``clean_conditions`` checks and normalises them (one message per bad row);
``compile_conditions`` turns them into ONE ``Q`` over customers joined to their figures, evaluated
as of a moment — the sweep runs it over everyone, the event path filters it to one customer.

Fields: customer fields (grade, status, kind, customer type, province, city, owner), figures
(revenue, orders, average order value, discount rate in percent, overdue…, days since the last
order or contact) and three special conditions:

- ``no_order_cycles`` ``gt`` K: no order for more than K × the customer's usual purchase cycle
  (customers with fewer than two orders have no cycle and never match);
- ``category_lapsed`` ``gt`` M with ``category`` (id or name; empty = any category): bought that
  category, last more than M months ago, and not since;
- ``complaints_recent`` ``gte`` N with ``days`` D (default 30): at least N complaints received in
  the last D days.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from dateutil.relativedelta import relativedelta
from django.db.models import Count, DecimalField, Exists, ExpressionWrapper, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.db.models.lookups import GreaterThanOrEqual, LessThan
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from pearl.activities.choices import ComplaintKind
from pearl.activities.models import Complaint
from pearl.analytics.models import CustomerCategoryFigure
from pearl.core.errors import ValidationFailed
from pearl.customers.choices import ChoiceList, CustomerKind, CustomerStatus, Grade
from pearl.customers.models import ChoiceOption
from pearl.sales.models import ProductCategory

EPOCH = dt.date(1970, 1, 1)
MAX_NUMBER = Decimal("1e13")

NUMBER_OPS = ("gt", "gte", "lt", "lte", "eq", "ne")
CHOICE_OPS = ("eq", "ne", "in")
OP_LABELS = {
    "gt": gettext_lazy("more than"),
    "gte": gettext_lazy("at least"),
    "lt": gettext_lazy("less than"),
    "lte": gettext_lazy("at most"),
    "eq": gettext_lazy("is"),
    "ne": gettext_lazy("is not"),
    "in": gettext_lazy("is one of"),
}


@dataclass(frozen=True)
class FieldSpec:
    label: Any
    kind: str  # "choice" | "text" | "option" | "owner" | "number" | "days" | special names
    ops: tuple[str, ...]
    column: str = ""  # the customer / figures column compared
    choices: tuple[str, ...] = ()
    param: str = ""  # extra key the row carries ("category", "days")
    unit: Any = ""


FIELDS: dict[str, FieldSpec] = {
    "grade": FieldSpec(gettext_lazy("Grade"), "choice", CHOICE_OPS, "grade", ("", *Grade.values)),
    "status": FieldSpec(gettext_lazy("Status"), "choice", CHOICE_OPS, "status", tuple(CustomerStatus.values)),
    "kind": FieldSpec(gettext_lazy("Kind"), "choice", CHOICE_OPS, "kind", tuple(CustomerKind.values)),
    "customer_type": FieldSpec(gettext_lazy("Customer type"), "option", CHOICE_OPS, "customer_type_id"),
    "province": FieldSpec(gettext_lazy("Province"), "text", CHOICE_OPS, "province"),
    "city": FieldSpec(gettext_lazy("City"), "text", CHOICE_OPS, "city"),
    "owner": FieldSpec(gettext_lazy("Owner"), "owner", CHOICE_OPS, "owner_id"),
    "revenue_12m": FieldSpec(gettext_lazy("Revenue, last 12 months"), "number", NUMBER_OPS, "figures__revenue_12m",
                             unit="¥"),
    "revenue_total": FieldSpec(gettext_lazy("Lifetime revenue"), "number", NUMBER_OPS, "figures__revenue_total",
                               unit="¥"),
    "margin_12m": FieldSpec(gettext_lazy("Margin, last 12 months"), "number", NUMBER_OPS, "figures__margin_12m",
                            unit="¥"),
    "order_count": FieldSpec(gettext_lazy("Orders (lifetime)"), "number", NUMBER_OPS, "figures__order_count"),
    "orders_12m": FieldSpec(gettext_lazy("Orders, last 12 months"), "number", NUMBER_OPS, "figures__orders_12m"),
    "avg_order_value": FieldSpec(gettext_lazy("Average order value"), "number", NUMBER_OPS,
                                 "figures__avg_order_value", unit="¥"),
    "avg_discount_rate": FieldSpec(gettext_lazy("Average discount rate"), "percent", NUMBER_OPS,
                                   "figures__avg_discount_rate", unit="%"),
    "purchase_cycle_days": FieldSpec(gettext_lazy("Purchase cycle"), "number", NUMBER_OPS,
                                     "figures__purchase_cycle_days", unit=gettext_lazy("days")),
    "avg_days_to_pay": FieldSpec(gettext_lazy("Average days to pay"), "number", NUMBER_OPS,
                                 "figures__avg_days_to_pay", unit=gettext_lazy("days")),
    "unpaid_amount": FieldSpec(gettext_lazy("Unpaid"), "number", NUMBER_OPS, "figures__unpaid_amount", unit="¥"),
    "overdue_amount": FieldSpec(gettext_lazy("Overdue"), "number", NUMBER_OPS, "figures__overdue_amount", unit="¥"),
    "complaints_30d": FieldSpec(gettext_lazy("Complaints, last 30 days"), "number", NUMBER_OPS,
                                "figures__complaints_30d"),
    "days_since_last_order": FieldSpec(gettext_lazy("Days since the last order"), "days",
                                       ("gt", "gte", "lt", "lte"), "figures__last_order_at",
                                       unit=gettext_lazy("days")),
    "days_since_last_contact": FieldSpec(gettext_lazy("Days since the last contact"), "days",
                                         ("gt", "gte", "lt", "lte"), "figures__last_contact_at",
                                         unit=gettext_lazy("days")),
    "no_order_cycles": FieldSpec(gettext_lazy("No order for more than K × the usual purchase cycle"),
                                 "no_order_cycles", ("gt",), unit="×"),
    "category_lapsed": FieldSpec(gettext_lazy("Bought a category more than M months ago and not since"),
                                 "category_lapsed", ("gt",), param="category", unit=gettext_lazy("months")),
    "complaints_recent": FieldSpec(gettext_lazy("Complaints in the last D days"), "complaints_recent",
                                   ("gte", "gt"), param="days"),
}  # fmt: skip

_LOOKUPS = {"gt": "gt", "gte": "gte", "lt": "lt", "lte": "lte", "eq": "exact"}


def day_number(at: dt.datetime) -> int:
    """The local calendar day of ``at`` as days since 1970-01-01 (what ``last_order_day`` holds)."""
    from django.utils import timezone

    return (timezone.localtime(at).date() - EPOCH).days


# --- cleaning ---------------------------------------------------------------------------------------


def _number(value: Any) -> Decimal:
    if isinstance(value, bool) or value is None or value == "":
        raise ValueError
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise ValueError from exc
    if not number.is_finite() or abs(number) >= MAX_NUMBER:
        raise ValueError
    return number


def _category(value: Any) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        found = ProductCategory.objects.filter(pk=value).values_list("pk", flat=True).first()
    else:
        text = str(value).strip()
        query = Q(name=text) | (Q(pk=int(text)) if text.isdigit() and len(text) < 19 else Q(pk__in=[]))
        found = ProductCategory.objects.filter(query).values_list("pk", flat=True).first()
    if found is None:
        raise LookupError
    return int(found)


def _choice_values(spec: FieldSpec, op: str, value: Any) -> list[Any]:
    values = value if op == "in" else [value]
    if not isinstance(values, list) or (op == "in" and not values):
        raise TypeError
    return values


def _clean_row(row: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """The normalised row and the messages per key (``field``, ``op``, ``value``, a parameter)."""
    if not isinstance(row, dict):
        return {}, {"": _("Each condition is an object with field, op and value.")}
    field = row.get("field")
    spec = FIELDS.get(field) if isinstance(field, str) else None
    if spec is None:
        return {}, {"field": _("Unknown field %(field)s.") % {"field": str(field)[:40]}}
    allowed = {"field", "op", "value", *([spec.param] if spec.param else [])}
    extra = sorted(str(k) for k in row if k not in allowed)
    if extra:
        return {}, {extra[0]: _("Unknown key %(key)s in a condition on %(field)s.") % {"key": extra[0], "field": field}}
    op = row.get("op")
    if op not in spec.ops:
        return {}, {
            "op": _("%(field)s takes the operators %(ops)s, not %(op)s.")
            % {"field": spec.label, "ops": ", ".join(spec.ops), "op": str(op)[:20]}
        }
    value = row.get("value")
    out: dict[str, Any] = {"field": field, "op": op}
    try:
        if spec.kind == "choice":
            values = _choice_values(spec, op, value)
            if any(not isinstance(v, str) or v not in spec.choices for v in values):
                return {}, {
                    "value": _("%(field)s is one of %(choices)s.")
                    % {"field": spec.label, "choices": ", ".join(c or '""' for c in spec.choices)}
                }
            out["value"] = values if op == "in" else values[0]
        elif spec.kind == "text":
            values = _choice_values(spec, op, value)
            if any(not isinstance(v, str) or len(v) > 32 for v in values):
                return {}, {"value": _("Enter text of at most 32 characters.")}
            cleaned = [v.strip() for v in values]
            out["value"] = cleaned if op == "in" else cleaned[0]
        elif spec.kind == "option":
            values = _choice_values(spec, op, value)
            options = [_option(v) for v in values]
            out["value"] = options if op == "in" else options[0]
        elif spec.kind == "owner":
            values = _choice_values(spec, op, value)
            owners = [_owner(v) for v in values]
            out["value"] = owners if op == "in" else owners[0]
        else:
            number = _number(value)
            if (
                spec.kind in ("days", "no_order_cycles", "category_lapsed", "complaints_recent", "percent")
                and number < 0
            ):
                raise ValueError
            if spec.kind == "no_order_cycles" and number <= 0:
                raise ValueError
            if spec.kind in ("days", "category_lapsed", "complaints_recent") and number != number.to_integral_value():
                raise ValueError
            out["value"] = int(number) if number == number.to_integral_value() else str(number)
    except LookupError:
        return {}, {
            "value": _("%(value)s is not one of the options of %(field)s.")
            % {"value": str(value)[:40], "field": spec.label}
        }
    except (TypeError, ValueError):
        if spec.kind in ("choice", "text", "option", "owner") and op == "in":
            return {}, {"value": _("“is one of” takes a non-empty list of values.")}
        return {}, {
            "value": _("%(field)s needs a number of 0 or more.") % {"field": spec.label}
            if spec.kind != "number"
            else _("%(field)s needs a number.") % {"field": spec.label}
        }
    if spec.param == "category":
        try:
            out["category"] = _category(row.get("category"))
        except (LookupError, ValueError):
            return {}, {
                "category": _("There is no product category %(name)s.") % {"name": str(row.get("category"))[:40]}
            }
    elif spec.param == "days":
        try:
            days = _number(row.get("days", 30))
            if days < 1 or days > 3650 or days != days.to_integral_value():
                raise ValueError
        except ValueError:
            return {}, {"days": _("The period is a whole number of days from 1 to 3650.")}
        out["days"] = int(days)
    return out, {}


def _option(value: Any) -> int:
    query = Q(label=str(value).strip())
    if isinstance(value, int) and not isinstance(value, bool):
        query = Q(pk=value)
    elif isinstance(value, str) and value.strip().isdigit() and len(value.strip()) < 19:
        query |= Q(pk=int(value))
    elif not isinstance(value, str):
        raise TypeError
    found = ChoiceOption.objects.filter(query, list_name=ChoiceList.CUSTOMER_TYPE).values_list("pk", flat=True).first()
    if found is None:
        raise LookupError
    return int(found)


def _owner(value: Any) -> int | None:
    from pearl.accounts.models import User

    if value in (None, "", "none"):
        return None
    if isinstance(value, bool):
        raise TypeError
    text = str(value).strip()
    query = Q(username=text) | (Q(pk=int(text)) if text.isdigit() and len(text) < 19 else Q(pk__in=[]))
    found = User.objects.filter(query).values_list("pk", flat=True).first()
    if found is None:
        raise LookupError
    return int(found)


def clean_conditions(raw: Any, *, key: str = "conditions") -> list[dict[str, Any]]:
    """The normalised conditions; raises ValidationFailed naming each bad row (``conditions.2.op``)."""
    if not isinstance(raw, list):
        raise ValidationFailed(
            _("Conditions are a list of {field, op, value}."),
            field_errors={key: [_("Conditions are a list of {field, op, value}.")]},
        )
    if not raw:
        raise ValidationFailed(_("Add at least one condition."), field_errors={key: [_("Add at least one condition.")]})
    if len(raw) > 20:
        raise ValidationFailed(_("At most 20 conditions."), field_errors={key: [_("At most 20 conditions.")]})
    cleaned: list[dict[str, Any]] = []
    errors: dict[str, list[str]] = {}
    for index, row in enumerate(raw):
        out, row_errors = _clean_row(row)
        for part, message in row_errors.items():
            errors[f"{key}.{index}" + (f".{part}" if part else "")] = [message]
        cleaned.append(out)
    if errors:
        first_key, messages = next(iter(errors.items()))
        raise ValidationFailed(
            _("Condition %(n)d: %(message)s") % {"n": int(first_key.split(".")[1]) + 1, "message": messages[0]},
            field_errors=errors,
        )
    return cleaned


# --- compiling ---------------------------------------------------------------------------------------


def _choice_q(column: str, op: str, value: Any) -> Q:
    if op == "in":
        values = list(value)
        q = Q(**{f"{column}__in": [v for v in values if v is not None]})
        if None in values:
            q |= Q(**{f"{column}__isnull": True})
        return q
    q = Q(**{f"{column}__isnull": True}) if value is None else Q(**{column: value})
    return ~q if op == "ne" else q


def _number_q(column: str, op: str, value: Decimal) -> Q:
    if op == "ne":
        return ~Q(**{column: value}) & Q(**{f"{column}__isnull": False})
    return Q(**{f"{column}__{_LOOKUPS[op]}": value})


def _days_q(column: str, op: str, days: int, at: dt.datetime) -> Q:
    """``days since X <op> N`` as a range on X (nulls never match)."""
    cutoff = at - dt.timedelta(days=days)
    flipped = {"gt": "lt", "gte": "lte", "lt": "gt", "lte": "gte"}[op]
    return Q(**{f"{column}__{flipped}": cutoff})


def _no_order_cycles_q(k: Decimal, at: dt.datetime) -> Q:
    """Last order's day + K × cycle < today: a predicate on the joined figures row (customers with
    fewer than two orders have no cycle, so the comparison is unknown and they never match)."""
    due = ExpressionWrapper(
        F("figures__last_order_day") + F("figures__purchase_cycle_days") * k,
        output_field=DecimalField(max_digits=20, decimal_places=4),
    )
    return Q(LessThan(due, day_number(at)))


def _category_lapsed_q(months: int, category: int | None, at: dt.datetime) -> Q:
    cutoff = at - relativedelta(months=months)
    rows = CustomerCategoryFigure.objects.filter(customer_id=OuterRef("pk"), last_at__lt=cutoff)
    if category is not None:
        rows = rows.filter(category_id=category)
    return Q(Exists(rows))


def _complaints_q(op: str, count: int, days: int, at: dt.datetime, *, correlated: bool) -> Q:
    """At least N complaints in the last D days: for everyone, one grouped sub-select of the
    customers that have them; for a few customers, a count of each one's complaints."""
    since = at - dt.timedelta(days=days)
    threshold = count if op == "gte" else count + 1
    if threshold <= 0:
        return Q()
    recent = Complaint.objects.filter(kind=ComplaintKind.COMPLAINT, received_at__gte=since, received_at__lte=at)
    if correlated:
        counted = (
            recent.filter(customer_id=OuterRef("pk"))
            .order_by()
            .values("customer_id")
            .annotate(n=Count("id"))
            .values("n")
        )
        return Q(GreaterThanOrEqual(Coalesce(Subquery(counted), 0), threshold))
    ids = recent.values("customer_id").annotate(n=Count("id")).filter(n__gte=threshold).values("customer_id")
    return Q(pk__in=ids)


def compile_row(row: dict[str, Any], at: dt.datetime, *, correlated: bool = False) -> Q:
    spec = FIELDS[row["field"]]
    op, value = row["op"], row.get("value")
    if spec.kind in ("choice", "text", "option", "owner"):
        return _choice_q(spec.column, op, value)
    number = Decimal(str(value))
    if spec.kind == "number":
        return _number_q(spec.column, op, number)
    if spec.kind == "percent":
        return _number_q(spec.column, op, number / 100)
    if spec.kind == "days":
        return _days_q(spec.column, op, int(number), at)
    if spec.kind == "no_order_cycles":
        return _no_order_cycles_q(number, at)
    if spec.kind == "category_lapsed":
        return _category_lapsed_q(int(number), row.get("category"), at)
    if spec.kind == "complaints_recent":
        return _complaints_q(op, int(number), int(row.get("days") or 30), at, correlated=correlated)
    raise ValueError(row["field"])  # pragma: no cover - clean_conditions knows every field


def compile_conditions(conditions: list[dict[str, Any]], at: dt.datetime, *, correlated: bool = False) -> Q:
    """All the (cleaned) conditions as one ``Q`` over ``Customer``, as of ``at``.

    ``correlated``: the same rule shaped for a few customers (the event path) — sub-selects that
    would aggregate over everyone become per-customer ones. Both forms select the same customers.
    """
    q = Q()
    for row in conditions:
        q &= compile_row(row, at, correlated=correlated)
    return q
