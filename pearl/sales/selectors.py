"""Reads of the sales app: a record is visible iff its customer is; out of scope is NotFound."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from django import forms
from django.db.models import (
    Case,
    Count,
    DecimalField,
    F,
    IntegerField,
    Model,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.core.errors import NotFound, ValidationFailed
from pearl.core.models import ChangeLog
from pearl.core.permissions import scope_q
from pearl.customers.models import Customer
from pearl.sales.filters import (
    BUCKETS,
    Bucket,
    OrderFilterForm,
    PaymentFilterForm,
    ProductFilterForm,
    ReceivableFilterForm,
    bucket_q,
    filter_errors,
    today,
    unpaid_q,
)
from pearl.sales.models import (
    ZERO,
    CustomerBilling,
    Order,
    OrderLine,
    Payment,
    PaymentAllocation,
    PriceList,
    Product,
    ProductCategory,
)
from pearl.sales.services.catalogue import prices_for
from pearl.sales.services.common import as_id
from pearl.sales.services.payments import unpaid_orders

ORDER_SCOPE = {"owner": "customer__owner", "team": "customer__team"}
COUNT_CAP = 1000
EXPORT_CHUNK = 2000

M = TypeVar("M", bound=Model)


def _valid(form: forms.Form) -> None:
    if not form.is_valid():
        errors = filter_errors(form)
        raise ValidationFailed(next(iter(errors.values()))[0], field_errors=errors)


def capped_count(qs: QuerySet[Any], cap: int = COUNT_CAP) -> tuple[int, bool]:
    """(count, more): counting stops at ``cap`` so a broad filter over millions of orders stays cheap."""
    n = qs.order_by().values("pk")[: cap + 1].count()
    return min(n, cap), n > cap


# --- catalogue -------------------------------------------------------------------------------------


def category_list(*, actor: User) -> QuerySet[ProductCategory]:
    return ProductCategory.objects.select_related("parent").annotate(product_count=Count("products"))


def category_get(*, actor: User, category_id: int) -> ProductCategory:
    category = ProductCategory.objects.select_related("parent").filter(pk=category_id).first()
    if category is None:
        raise NotFound(_("Category not found."))
    return category


def category_tree(*, actor: User) -> list[tuple[ProductCategory, int]]:
    """Categories in tree order with their depth, for pickers."""
    rows = list(ProductCategory.objects.all())
    children: dict[int | None, list[ProductCategory]] = {}
    for row in rows:
        children.setdefault(row.parent_id, []).append(row)
    out: list[tuple[ProductCategory, int]] = []

    def walk(parent: int | None, depth: int) -> None:
        for node in children.get(parent, []):
            out.append((node, depth))
            if depth < 20:
                walk(node.pk, depth + 1)

    walk(None, 0)
    return out


def product_list(*, actor: User, filters: dict[str, Any] | None = None) -> QuerySet[Product]:
    form = ProductFilterForm(filters or {})
    _valid(form)
    return form.apply(Product.objects.select_related("category")).order_by("category__order", "sku")


def product_get(*, actor: User, product_id: int) -> Product:
    product = Product.objects.select_related("category").filter(pk=product_id).first()
    if product is None:
        raise NotFound(_("Product not found."))
    return product


def products_by_sku(*, actor: User, skus: list[str]) -> dict[str, Product]:
    return {p.sku: p for p in Product.objects.filter(sku__in=skus)}


def price_list_list(*, actor: User) -> QuerySet[PriceList]:
    return PriceList.objects.select_related("customer_type").prefetch_related("items__product")


def price_list_get(*, actor: User, price_list_id: int) -> PriceList:
    price_list = price_list_list(actor=actor).filter(pk=price_list_id).first()
    if price_list is None:
        raise NotFound(_("Price list not found."))
    return price_list


# --- customers in scope ----------------------------------------------------------------------------


def sales_customer(*, actor: User, customer_id: Any) -> Customer:
    pk = as_id(customer_id)
    customer = Customer.objects.filter(scope_q(actor)).filter(pk=pk).first() if pk else None
    if customer is None:
        raise NotFound(_("Customer not found."))
    return customer


def customer_price(*, actor: User, customer_id: Any, product_id: Any) -> Decimal | None:
    """The unit price an order line for this customer defaults to (None for an unknown product)."""
    customer = sales_customer(actor=actor, customer_id=customer_id)
    pk = as_id(product_id)
    product = Product.objects.filter(pk=pk).first() if pk else None
    if product is None:
        return None
    return prices_for(customer, [product])[product.pk]


# --- orders ----------------------------------------------------------------------------------------


def line_count() -> Subquery:
    """An order's number of lines, as a correlated sub-select: computed for the page's rows only
    (a join with GROUP BY would make the database count the lines of every matching order first)."""
    counted = OrderLine.objects.filter(order=OuterRef("pk")).order_by().values("order").annotate(n=Count("pk"))
    return Subquery(counted.values("n"), output_field=IntegerField())


def order_visible(*, actor: User) -> QuerySet[Order]:
    return Order.objects.filter(scope_q(actor, **ORDER_SCOPE))


def order_list(*, actor: User, filters: dict[str, Any] | None = None) -> QuerySet[Order]:
    """Orders whose customer the actor may see, newest first (the ``-ordered_at`` indexes)."""
    form = OrderFilterForm(filters or {})
    _valid(form)
    qs = form.apply(order_visible(actor=actor), actor)
    return qs.select_related("customer", "salesperson").annotate(line_count=line_count())


def order_export(*, actor: User, filters: dict[str, Any] | None = None, chunk: int = EXPORT_CHUNK) -> Iterator[Order]:
    """Every order the list shows for these filters, in its order, for a CSV export of any size.

    The filters are checked now (ValidationFailed before anything is streamed); the rows are read
    lazily, ``chunk`` at a time, with only the columns the export writes and the sorts read (``due_date``
    for "overdue only"); no line count.
    """
    form = OrderFilterForm(filters or {})
    _valid(form)
    qs = (
        form.apply(order_visible(actor=actor), actor)
        .select_related("customer", "customer__owner")
        .only(
            "number", "ordered_at", "due_date", "status", "amount", "paid_amount", "customer__name",
            "customer__owner__username", "customer__owner__display_name",
        )
    )  # fmt: skip
    return keyset_chunks(qs, chunk)


def keyset_chunks(qs: QuerySet[M], size: int) -> Iterator[M]:
    """All rows of ``qs`` in its order, ``size`` per query, each query starting after the last row read.

    ``qs`` is ordered by one non-null column and then the primary key (both sorts of the order list).
    A keyset range stays an index range however deep the export goes (OFFSET would rescan every row
    before it), and no cursor is held open for the whole download: a PostgreSQL cursor outside a
    transaction is materialised in full on the server, and SQLite would pin its WAL meanwhile.
    """
    ordering = [str(o) for o in qs.query.order_by]
    if len(ordering) != 2 or ordering[1].lstrip("-") not in ("id", "pk"):
        raise ValueError(f"keyset_chunks needs an ordering (column, id), got {ordering}")
    column, descending = ordering[0].lstrip("-"), ordering[0].startswith("-")
    id_descending = ordering[1].startswith("-")
    after: Q | None = None
    last: M | None = None
    while True:
        rows = list((qs if after is None else qs.filter(after))[:size])
        if rows and last is not None and rows[0].pk == last.pk:  # a wrong bound would loop for ever
            raise RuntimeError("keyset_chunks read the same row again")
        yield from rows
        if len(rows) < size:
            return
        last = rows[-1]
        value = getattr(last, column)
        # (column, id) past the last row: the column up to its value (an index range), less the rows
        # that tie on it and do not come after the last id.
        after = Q(**{f"{column}__{'lte' if descending else 'gte'}": value}) & ~Q(
            **{column: value, f"pk__{'gte' if id_descending else 'lte'}": last.pk}
        )


def order_get(*, actor: User, order_id: Any) -> Order:
    pk = as_id(order_id)
    order = (
        order_visible(actor=actor)
        .select_related("customer", "salesperson")
        .prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.select_related("product__category").order_by("id")),
            Prefetch("allocations", queryset=PaymentAllocation.objects.select_related("payment").order_by("id")),
        )
        .filter(pk=pk)
        .first()
        if pk
        else None
    )
    if order is None:
        raise NotFound(_("Order not found."))
    return order


def order_history(*, actor: User, order_id: Any) -> QuerySet[ChangeLog]:
    order = order_get(actor=actor, order_id=order_id)
    return ChangeLog.objects.filter(root_type="sales.order", root_id=order.pk).select_related("actor")


# --- payments --------------------------------------------------------------------------------------


def payment_visible(*, actor: User) -> QuerySet[Payment]:
    return Payment.objects.filter(scope_q(actor, **ORDER_SCOPE))


def payment_list(*, actor: User, filters: dict[str, Any] | None = None) -> QuerySet[Payment]:
    form = PaymentFilterForm(filters or {})
    _valid(form)
    qs = form.apply(payment_visible(actor=actor), actor)
    allocations = PaymentAllocation.objects.select_related("order").order_by("id")
    return qs.select_related("customer", "recorded_by").prefetch_related(Prefetch("allocations", allocations))


def payment_get(*, actor: User, payment_id: Any) -> Payment:
    pk = as_id(payment_id)
    payment = payment_list(actor=actor).filter(pk=pk).first() if pk else None
    if payment is None:
        raise NotFound(_("Payment not found."))
    return payment


def unpaid_orders_of(*, actor: User, customer_id: Any) -> list[Order]:
    """The customer's orders with something owed, oldest due first (for the allocation form)."""
    customer = sales_customer(actor=actor, customer_id=customer_id)
    return unpaid_orders(customer.pk)


# --- receivables -----------------------------------------------------------------------------------


@dataclass
class Ageing:
    buckets: list[dict[str, Any]] = field(default_factory=list)  # key, label, amount, count
    total: Decimal = ZERO
    overdue: Decimal = ZERO
    count: int = 0


def _outstanding() -> Any:
    return F("amount") - F("paid_amount")


def ageing(qs: QuerySet[Order], day: dt.date | None = None) -> Ageing:
    """Totals per ageing bucket of unpaid orders, in one query."""
    day = day or today()
    money = DecimalField(max_digits=16, decimal_places=2)
    aggregates: dict[str, Any] = {}
    for key, _label in BUCKETS:
        aggregates[f"a_{key}"] = Coalesce(
            Sum(Case(When(bucket_q(key, day), then=_outstanding()), default=Value(ZERO), output_field=money)),
            Value(ZERO),
            output_field=money,
        )
        aggregates[f"n_{key}"] = Count("pk", filter=bucket_q(key, day))
    row = qs.filter(unpaid_q()).order_by().aggregate(**aggregates)
    result = Ageing()
    for key, label in BUCKETS:
        amount = Decimal(row[f"a_{key}"] or 0)
        result.buckets.append({"key": key, "label": label, "amount": amount, "count": row[f"n_{key}"]})
        result.total += amount
        result.count += row[f"n_{key}"]
        if key != Bucket.NOT_DUE:
            result.overdue += amount
    return result


def receivable_list(*, actor: User, filters: dict[str, Any] | None = None) -> QuerySet[Order]:
    """Unpaid orders, earliest due first, with ``outstanding`` and ``days_overdue`` worked out per row."""
    form = ReceivableFilterForm(filters or {})
    _valid(form)
    qs = form.apply(order_visible(actor=actor), actor)
    return qs.select_related("customer", "customer__owner")


def receivable_summary(*, actor: User, filters: dict[str, Any] | None = None) -> Ageing:
    """Ageing totals of the receivables the filters select (the bucket filter itself left aside)."""
    form = ReceivableFilterForm(filters or {})
    _valid(form)
    return ageing(form.apply(order_visible(actor=actor), actor, with_bucket=False))


def days_overdue(order: Order, day: dt.date | None = None) -> int:
    if order.due_date is None:
        return 0
    return max(0, ((day or today()) - order.due_date).days)


# --- invoicing details and the customer page's panel -------------------------------------------------


def billing_get(*, actor: User, customer_id: Any) -> CustomerBilling | None:
    customer = sales_customer(actor=actor, customer_id=customer_id)
    return CustomerBilling.objects.filter(customer=customer).first()


@dataclass
class SalesOverview:
    customer_id: int
    recent_orders: list[Order]
    unpaid_total: Decimal
    overdue_total: Decimal
    overdue_orders: list[Order]
    ageing: Ageing
    billing: CustomerBilling | None
    order_count: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def customer_sales_overview(*, actor: User, customer_id: Any = None, customer: Customer | None = None) -> SalesOverview:
    """What the customer page's sales panel shows: a handful of indexed reads on one customer.

    Pass ``customer`` when it was read with ``customers.selectors.customer_get`` (the 360° page:
    already scope-checked, so not read again), else ``customer_id`` (checked here: NotFound out of scope).
    """
    if customer is None:
        customer = sales_customer(actor=actor, customer_id=customer_id)  # None or junk: NotFound
    elif customer_id is not None:
        raise TypeError("Give either customer (already scope-checked) or customer_id, not both.")
    orders = Order.objects.filter(customer_id=customer.pk)
    recent: list[Order] = list(orders.annotate(line_count=line_count()).order_by("-ordered_at", "-id")[:5])
    aged = ageing(orders)
    overdue = list(orders.filter(unpaid_q(), due_date__lt=today()).order_by("due_date", "id")[:5])
    for order in recent + overdue:  # the customer is known: no join to read it again per order
        order.customer = customer
    billing = CustomerBilling.objects.filter(customer_id=customer.pk).first()
    return SalesOverview(
        customer_id=customer.pk,
        recent_orders=recent,
        unpaid_total=aged.total,
        overdue_total=aged.overdue,
        overdue_orders=overdue,
        ageing=aged,
        billing=billing,
    )


def overdue_filter() -> Q:
    return unpaid_q() & Q(due_date__lt=today())
