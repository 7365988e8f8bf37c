"""Data quality at a glance: completeness of customers and the lists worth fixing, as aggregate SQL.

Every figure is one set-based query over the actor's customers (``COUNT(*) FILTER``/``CASE`` sums, an
``EXISTS`` for contacts), never a Python loop over customers, so the page stays quick at a million.
Read-only: nothing here writes.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Case, Count, Exists, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from pearl.accounts.models import User
from pearl.customers.filters import has_valid_mobile
from pearl.customers.models import Customer
from pearl.customers.selectors import customer_visible
from pearl.dataquality import selectors

# The key fields of a complete customer, each one point; the label is what the page shows.
KEY_FIELDS: list[tuple[str, Any]] = [
    ("name", _("Name")),
    ("short_name", _("Short name")),
    ("customer_type", _("Customer type")),
    ("region", _("Region")),
    ("address", _("Address")),
    ("owner", _("Owner")),
    ("mobile", _("Contact with a valid mobile")),
    ("grade", _("Grade")),
]
FILLED = "filled"  # the annotation's name (a variable, since type checkers only know model fields)
DEFAULT_STALE_MONTHS = 12
MAX_STALE_MONTHS = 120


def _filled() -> dict[str, Q | Exists]:
    return {
        "name": ~Q(name=""),
        "short_name": ~Q(short_name=""),
        "customer_type": Q(customer_type__isnull=False),
        "region": ~Q(province="") | ~Q(city=""),
        "address": ~Q(address=""),
        "owner": Q(owner__isnull=False),
        "mobile": has_valid_mobile(),
        "grade": ~Q(grade=""),
    }


def _point(condition: Q | Exists) -> Case:
    return Case(When(condition, then=Value(1)), default=Value(0), output_field=IntegerField())


def with_completeness(qs: QuerySet[Customer]) -> QuerySet[Customer]:
    """``qs`` annotated with ``filled``: how many of the KEY_FIELDS each customer has (0..len)."""
    points = [_point(condition) for condition in _filled().values()]
    total: Any = points[0]
    for point in points[1:]:
        total = total + point
    return qs.annotate(**{FILLED: total})


def months_ago(today: dt.date, months: int) -> dt.date:
    """The same day ``months`` calendar months earlier (clamped to the month's last day)."""
    year, month = divmod(today.year * 12 + today.month - 1 - months, 12)
    month += 1
    return dt.date(year, month, min(today.day, calendar.monthrange(year, month)[1]))


@dataclass
class QualityReport:
    total: int
    average: float  # 0..100, the mean completeness
    histogram: list[tuple[int, int, int]]  # (fields filled, percent, customers)
    field_counts: list[tuple[str, Any, int]]  # (key, label, customers missing it)
    no_mobile: int
    no_owner: int
    stale: int
    stale_months: int
    stale_before: dt.date
    pending_duplicates: int
    least_complete: list[Customer] = field(default_factory=list)


def quality_report(*, actor: User, stale_months: int = DEFAULT_STALE_MONTHS, sample: int = 20) -> QualityReport:
    stale_months = max(1, min(stale_months, MAX_STALE_MONTHS))
    stale_before = months_ago(timezone.localdate(), stale_months)
    stale_start = timezone.make_aware(dt.datetime.combine(stale_before, dt.time.min))
    visible = customer_visible(actor=actor).order_by()
    conditions = _filled()
    # One pass: the count of customers missing each key field, and the stale ones.
    missing = visible.aggregate(
        total=Count("pk"),
        stale=Count("pk", filter=Q(updated_at__lt=stale_start)),
        **{f"missing_{key}": Count("pk", filter=~Q(condition)) for key, condition in conditions.items()},
    )
    # A second: how many customers have 0, 1, … key fields filled (the average comes from it).
    buckets = dict(
        with_completeness(visible).values(FILLED).annotate(n=Count("pk")).order_by().values_list(FILLED, "n")
    )
    total = missing["total"]
    size = len(KEY_FIELDS)
    average = sum(k * n for k, n in buckets.items()) / (total * size) * 100 if total else 0.0
    histogram = [(k, round(100 * k / size), buckets.get(k, 0)) for k in range(size + 1)]
    least: list[Customer] = []
    if total:
        lowest = min(k for k, n in buckets.items() if n)
        least = list(
            with_completeness(visible).filter(**{FILLED: lowest}).select_related("owner").order_by("-id")[:sample]
        )
    return QualityReport(
        total=total,
        average=round(average, 1),
        histogram=histogram,
        field_counts=[(key, label, missing[f"missing_{key}"]) for key, label in KEY_FIELDS],
        no_mobile=missing["missing_mobile"],
        no_owner=missing["missing_owner"],
        stale=missing["stale"],
        stale_months=stale_months,
        stale_before=stale_before,
        pending_duplicates=selectors.pending_pair_count(actor=actor),
        least_complete=least,
    )


def completeness_percent(customer: Any) -> int:
    """A customer annotated by ``with_completeness`` as a percentage."""
    return round(100 * int(getattr(customer, FILLED, 0)) / len(KEY_FIELDS))
