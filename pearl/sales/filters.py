"""One filter set per list (products, orders, payments, receivables), shared by the pages and the API.

Every filter lands on an indexed column: orders by customer, status or time (``-ordered_at``),
receivables by due date over the unpaid orders' partial index.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from pearl.sales.choices import OrderStatus, PaymentMethod
from pearl.sales.models import Order, Payment, Product, ProductCategory

MAX_ID = 2**63 - 1

PERIODS = {"7d": 7, "30d": 30, "90d": 90, "365d": 365}
PERIOD_CHOICES = [
    ("", "—"),
    ("7d", _("Last 7 days")),
    ("30d", _("Last 30 days")),
    ("90d", _("Last 90 days")),
    ("365d", _("Last 12 months")),
]


class Bucket:
    NOT_DUE = "not_due"
    D1_30 = "1_30"
    D31_60 = "31_60"
    D61_90 = "61_90"
    D90_PLUS = "90_plus"


BUCKETS = [
    (Bucket.NOT_DUE, pgettext_lazy("ageing", "Not yet due")),
    (Bucket.D1_30, pgettext_lazy("ageing", "1–30 days")),
    (Bucket.D31_60, pgettext_lazy("ageing", "31–60 days")),
    (Bucket.D61_90, pgettext_lazy("ageing", "61–90 days")),
    (Bucket.D90_PLUS, pgettext_lazy("ageing", "Over 90 days")),
]


def today() -> dt.date:
    return timezone.localdate()


def bucket_q(bucket: str, day: dt.date | None = None) -> Q:
    """The unpaid orders of one ageing bucket by their due date (days overdue = today − due date)."""
    day = day or today()
    if bucket == Bucket.NOT_DUE:
        return Q(due_date__gte=day) | Q(due_date__isnull=True)
    ranges = {Bucket.D1_30: (1, 30), Bucket.D31_60: (31, 60), Bucket.D61_90: (61, 90)}
    if bucket in ranges:
        low, high = ranges[bucket]
        return Q(due_date__lte=day - dt.timedelta(days=low), due_date__gte=day - dt.timedelta(days=high))
    return Q(due_date__lt=day - dt.timedelta(days=90))


def unpaid_q() -> Q:
    """Orders with something owed; matches the partial index ``order_unpaid_due_idx``."""
    return Q(paid_at__isnull=True) & ~Q(status=OrderStatus.CANCELLED)


_FULL_NUMBER = re.compile(r"[A-Z]{2}\d{8}-\d{4,}")
_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _after(text: str) -> str | None:
    """The smallest string of letters and digits above every string starting with ``text`` (carrying over 9 / Z)."""
    chars = list(text)
    while chars:
        last = chars.pop()
        index = _ALNUM.find(last)
        if 0 <= index < len(_ALNUM) - 1:
            return "".join(chars) + _ALNUM[index + 1]
    return None


def number_q(text: str) -> Q:
    """Orders whose number is ``text`` or starts with it, as a key range on the unique index.

    ``LIKE 'SO2026%'`` cannot use the index on SQLite (case-insensitive LIKE) nor on PostgreSQL
    outside the C collation; a range of letters and digits can (trailing punctuation is left out of
    the bounds because locale collations skip it), and the prefix test keeps the answer exact.
    """
    text = text.strip().upper()
    if _FULL_NUMBER.fullmatch(text):
        return Q(number=text)
    base = text.rstrip("-_ ./")
    q = Q(number__startswith=text)
    if base and all(c in _ALNUM for c in base):
        q &= Q(number__gte=base)
        upper = _after(base)
        if upper:
            q &= Q(number__lt=upper)
    return q


def _blank(choices: Any) -> list[tuple[str, Any]]:
    return [("", "—"), *choices]


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class OwnerField(forms.CharField):
    def clean(self, value: Any) -> str:
        text = (super().clean(value) or "").strip()
        if text and text != "me" and not (text.isdigit() and 0 < int(text) <= MAX_ID):
            raise forms.ValidationError(_("Owner is a user id or “me”."))
        return text


def _owner_q(owner: str, actor: Any) -> Q:
    return Q(customer__owner_id=actor.pk if owner == "me" else int(owner))


class ProductFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=64)
    category = forms.IntegerField(label=_("Category"), required=False, min_value=1, max_value=MAX_ID)
    active = forms.NullBooleanField(label=_("On sale"), required=False)

    def apply(self, qs: QuerySet[Product]) -> QuerySet[Product]:
        data = self.cleaned_data
        if q := (data.get("q") or "").strip():
            qs = qs.filter(Q(sku__startswith=q) | Q(name__contains=q))
        if data.get("category"):
            ids = category_subtree(data["category"])
            qs = qs.filter(category_id__in=ids)
        if data.get("active") is not None:
            qs = qs.filter(is_active=data["active"])
        return qs


def category_subtree(category_id: int) -> list[int]:
    """The category and all below it (the tree is small: one read, walked in Python)."""
    children: dict[int | None, list[int]] = {}
    for pk, parent in ProductCategory.objects.values_list("pk", "parent_id"):
        children.setdefault(parent, []).append(pk)
    out, stack = [], [category_id]
    while stack:
        node = stack.pop()
        if node in out:
            continue
        out.append(node)
        stack.extend(children.get(node, []))
    return out


class OrderFilterForm(forms.Form):
    q = forms.CharField(label=_("Order number"), required=False, max_length=32)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=_blank(OrderStatus.choices))
    customer = forms.IntegerField(label=_("Customer"), required=False, min_value=1, max_value=MAX_ID)
    period = forms.ChoiceField(label=_("Period"), required=False, choices=PERIOD_CHOICES)
    date_from = forms.DateField(label=_("From"), required=False)
    date_to = forms.DateField(label=_("To"), required=False)
    overdue = forms.NullBooleanField(label=_("Overdue only"), required=False)
    owner = OwnerField(label=_("Owner"), required=False, max_length=20)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return cleaned

    def apply(self, qs: QuerySet[Order], actor: Any) -> QuerySet[Order]:
        data = self.cleaned_data
        if q := (data.get("q") or "").strip():
            qs = qs.filter(number_q(q))
        if data.get("status"):
            qs = qs.filter(status=data["status"])
        if data.get("customer"):
            qs = qs.filter(customer_id=data["customer"])
        if data.get("period"):
            qs = qs.filter(ordered_at__gte=_start_of(today() - dt.timedelta(days=PERIODS[data["period"]] - 1)))
        if data.get("date_from"):
            qs = qs.filter(ordered_at__gte=_start_of(data["date_from"]))
        if data.get("date_to"):
            qs = qs.filter(ordered_at__lt=_start_of(data["date_to"] + dt.timedelta(days=1)))
        if data.get("overdue"):
            qs = qs.filter(unpaid_q(), due_date__lt=today())
        if data.get("owner"):
            qs = qs.filter(_owner_q(data["owner"], actor))
        if data.get("overdue"):
            # Longest overdue first, along the unpaid orders' due-date index (no sort of all of them).
            return qs.order_by("due_date", "id")
        return qs.order_by("-ordered_at", "-id")


class PaymentFilterForm(forms.Form):
    customer = forms.IntegerField(label=_("Customer"), required=False, min_value=1, max_value=MAX_ID)
    method = forms.ChoiceField(label=_("Method"), required=False, choices=_blank(PaymentMethod.choices))
    period = forms.ChoiceField(label=_("Period"), required=False, choices=PERIOD_CHOICES)
    date_from = forms.DateField(label=_("From"), required=False)
    date_to = forms.DateField(label=_("To"), required=False)
    owner = OwnerField(label=_("Owner"), required=False, max_length=20)

    def apply(self, qs: QuerySet[Payment], actor: Any) -> QuerySet[Payment]:
        data = self.cleaned_data
        if data.get("customer"):
            qs = qs.filter(customer_id=data["customer"])
        if data.get("method"):
            qs = qs.filter(method=data["method"])
        if data.get("period"):
            qs = qs.filter(received_at__gte=_start_of(today() - dt.timedelta(days=PERIODS[data["period"]] - 1)))
        if data.get("date_from"):
            qs = qs.filter(received_at__gte=_start_of(data["date_from"]))
        if data.get("date_to"):
            qs = qs.filter(received_at__lt=_start_of(data["date_to"] + dt.timedelta(days=1)))
        if data.get("owner"):
            qs = qs.filter(_owner_q(data["owner"], actor))
        return qs.order_by("-received_at", "-id")


class ReceivableFilterForm(forms.Form):
    customer = forms.IntegerField(label=_("Customer"), required=False, min_value=1, max_value=MAX_ID)
    owner = OwnerField(label=_("Owner"), required=False, max_length=20)
    bucket = forms.ChoiceField(label=_("Ageing"), required=False, choices=_blank(BUCKETS))

    def apply(self, qs: QuerySet[Order], actor: Any, *, with_bucket: bool = True) -> QuerySet[Order]:
        data = self.cleaned_data
        qs = qs.filter(unpaid_q())
        if data.get("customer"):
            qs = qs.filter(customer_id=data["customer"])
        if data.get("owner"):
            qs = qs.filter(_owner_q(data["owner"], actor))
        if with_bucket and data.get("bucket"):
            qs = qs.filter(bucket_q(data["bucket"]))
        return qs.order_by("due_date", "id")


def filter_errors(form: forms.Form) -> dict[str, list[str]]:
    return {field: [str(e) for e in errs] for field, errs in form.errors.items()}
