"""The demo's trade: catalogue, orders, lines and payments that add up, follow the seasons and owe a little."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from pearl.activities.models import TimelineEvent
from pearl.core.context import Channel, acting_through
from pearl.customers import demo
from pearl.customers.models import Customer
from pearl.sales import demo as sales_demo
from pearl.sales.choices import OrderStatus
from pearl.sales.models import Order, Payment, PaymentAllocation, PriceList, Product, ProductCategory
from pearl.sales.services.events import order_event, payment_event

FEN = Decimal("0.01")
CUSTOMERS = 300


@pytest.fixture(autouse=True)
def fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def loaded(db: None) -> demo.DemoResult:
    with acting_through(Channel.COMMAND):
        return demo.build_demo(customers=CUSTOMERS, seed=4)


def _fen(value: Decimal) -> Decimal:
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


def _local_day(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment).date()


def test_catalogue_categories_products_and_price_lists_once(db: None) -> None:
    assert sales_demo.catalogue_ensure() == len(sales_demo.PRODUCTS) >= 55
    assert list(ProductCategory.objects.values_list("name", flat=True)) == list(sales_demo.CATEGORIES)
    assert set(Product.objects.values_list("unit", flat=True)) == {"斤", "kg", "箱", "件"}
    assert all(p.cost is not None and 0 < p.cost < p.price for p in Product.objects.all())
    restaurants = PriceList.objects.get(name="酒楼价")
    assert restaurants.customer_type is not None and restaurants.customer_type.label == "餐饮"
    assert restaurants.items.count() == Product.objects.count()
    assert all(item.price < item.product.price for item in restaurants.items.select_related("product"))
    counts = (Product.objects.count(), PriceList.objects.count(), ProductCategory.objects.count())
    assert sales_demo.catalogue_ensure() == 0  # a second run adds nothing
    assert (Product.objects.count(), PriceList.objects.count(), ProductCategory.objects.count()) == counts


def test_orders_lines_and_payments_add_up(loaded: demo.DemoResult) -> None:
    assert loaded.trade is not None and loaded.trade.loaded
    orders = list(Order.objects.prefetch_related("lines__product", "allocations"))
    lines = sum(len(o.lines.all()) for o in orders)
    assert 4 * CUSTOMERS <= lines <= 20 * CUSTOMERS  # ~10 lines per customer
    number = re.compile(r"^SO\d{8}-\d{4}$")
    for order in orders:
        rows = list(order.lines.all())
        assert 1 <= len(rows) <= 6
        for line in rows:
            assert line.quantity > 0 and line.unit_price > 0 and line.discount >= 0
            assert line.amount == _fen(line.quantity * line.unit_price) - line.discount
        assert order.subtotal == sum(_fen(x.quantity * x.unit_price) for x in rows)
        assert order.discount == sum(x.discount for x in rows)
        assert order.amount == sum(x.amount for x in rows) == order.subtotal - order.discount
        assert order.cost == sum(_fen(x.quantity * (x.product.cost or 0)) for x in rows)
        assert 0 <= order.paid_amount <= order.amount
        assert order.paid_amount == sum((a.amount for a in order.allocations.all()), Decimal(0))
        paid_up = order.status != OrderStatus.CANCELLED and order.paid_amount == order.amount
        assert (order.paid_at is not None) == paid_up, order.number
        if order.status == OrderStatus.CANCELLED:
            assert order.paid_amount == 0
        if order.paid_at is not None:
            assert order.paid_at >= order.ordered_at
        assert order.due_date is not None
        assert (order.due_date - _local_day(order.ordered_at)).days in (30, 60)
        assert number.match(order.number) and order.number[2:10] == f"{_local_day(order.ordered_at):%Y%m%d}"
        assert order.ordered_at <= timezone.now()
        assert (order.delivered_at is not None) == (order.status == OrderStatus.DELIVERED)
        assert order.delivery_contact and order.delivery_phone and order.delivery_address
    statuses = Counter(o.status for o in orders)
    assert statuses[OrderStatus.DELIVERED] > 0.9 * len(orders)
    assert 0 < statuses[OrderStatus.CANCELLED] < 0.05 * len(orders)
    for payment in Payment.objects.prefetch_related("allocations__order"):
        allocations = list(payment.allocations.all())
        assert allocations and payment.amount == sum(a.amount for a in allocations)
        assert all(a.order.customer_id == payment.customer_id for a in allocations)
        assert all(a.order.ordered_at <= payment.received_at <= timezone.now() for a in allocations)
        assert re.match(r"^SK\d{8}-\d{4}$", payment.number)


def test_more_is_sold_in_the_weeks_before_spring_festival_than_in_july(loaded: demo.DemoResult) -> None:
    today = timezone.localdate()
    year = today.year if today >= dt.date(today.year, 8, 1) else today.year - 1
    festival = next(dt.date.fromisoformat(d) for d in sales_demo.SPRING_FESTIVAL if d.startswith(str(year)))

    def sold(first: dt.date, days: int) -> Decimal:
        orders = Order.objects.exclude(status=OrderStatus.CANCELLED)
        return sum(
            (o.amount for o in orders if first <= _local_day(o.ordered_at) < first + dt.timedelta(days=days)),
            Decimal(0),
        )

    before = sold(festival - dt.timedelta(days=28), 28)
    july = sold(dt.date(year, 7, 1), 28)
    assert before > Decimal("1.5") * july > 0


def test_some_customers_owe_overdue_money_most_pay_in_time(loaded: demo.DemoResult) -> None:
    today = timezone.localdate()
    open_orders = [o for o in Order.objects.exclude(status=OrderStatus.CANCELLED) if o.paid_amount < o.amount]
    overdue = {o.customer_id for o in open_orders if o.due_date is not None and o.due_date < today}
    assert 0.02 * CUSTOMERS <= len(overdue) <= 0.2 * CUSTOMERS
    assert any(o.paid_amount > 0 for o in open_orders)  # part-paid
    paid = list(Order.objects.filter(paid_at__isnull=False))
    late = [o for o in paid if o.due_date is not None and _local_day(o.paid_at) > o.due_date]  # type: ignore[arg-type]
    assert 0 < len(late) < 0.3 * len(paid)


def test_prospects_have_not_bought_and_buyers_follow_their_type(loaded: demo.DemoResult) -> None:
    buyers = set(Order.objects.values_list("customer_id", flat=True))
    prospects = set(Customer.objects.filter(status="prospect").values_list("pk", flat=True))
    assert prospects and not buyers & prospects
    assert len(buyers) > 0.6 * CUSTOMERS

    # Restaurants buy more often than individuals.
    def per_customer(label: str) -> float:
        ids = set(Customer.objects.filter(customer_type__label=label).values_list("pk", flat=True)) - prospects
        return Order.objects.filter(customer_id__in=ids).count() / max(len(ids), 1)

    assert per_customer("餐饮") > per_customer("个人")


def _event_fields(event: Any) -> tuple[Any, ...]:
    return (
        event.customer_id,
        event.kind,
        event.occurred_at,
        event.actor_id,
        event.actor_label,
        event.channel,
        event.subject_type,
        event.subject_id,
        event.title,
        event.payload,
    )


def test_every_order_and_payment_is_on_the_timeline_as_the_services_write_it(loaded: demo.DemoResult) -> None:
    orders = Order.objects.select_related("salesperson", "customer").order_by("id")
    assert TimelineEvent.objects.filter(kind="order").count() == orders.count()
    assert set(TimelineEvent.objects.filter(subject_type="sales.order").values_list("subject_id", flat=True)) == set(
        orders.values_list("pk", flat=True)
    )
    with acting_through(Channel.COMMAND):
        for order in orders[:150]:
            stored = TimelineEvent.objects.get(subject_type="sales.order", subject_id=order.pk)
            assert _event_fields(stored) == _event_fields(order_event(order).row())
            assert order.salesperson_id == order.customer.owner_id
        payments = Payment.objects.select_related("recorded_by").order_by("id")
        assert TimelineEvent.objects.filter(kind="payment").count() == payments.count() > 0
        for payment in payments[:150]:
            stored = TimelineEvent.objects.get(subject_type="sales.payment", subject_id=payment.pk)
            assert _event_fields(stored) == _event_fields(payment_event(payment).row())


def _trade_snapshot() -> list[tuple[Any, ...]]:
    return [
        (
            o.customer.name,
            o.number,
            o.status,
            o.amount,
            o.paid_amount,
            o.due_date,
            tuple(o.lines.values_list("product__sku", "quantity", "unit_price", "discount")),
        )
        for o in Order.objects.select_related("customer").order_by("id")
    ] + [
        (
            p.number,
            p.amount,
            p.method,
            tuple(PaymentAllocation.objects.filter(payment=p).values_list("order__number", "amount")),
        )
        for p in Payment.objects.order_by("id")
    ]


@pytest.mark.django_db
def test_the_same_seed_gives_the_same_history(monkeypatch: pytest.MonkeyPatch) -> None:
    moment = timezone.now().replace(microsecond=0)
    monkeypatch.setattr(timezone, "now", lambda: moment)

    def build(seed: int) -> list[tuple[Any, ...]]:
        with transaction.atomic():
            demo.build_demo(customers=60, seed=seed)
            snap = _trade_snapshot()
            transaction.set_rollback(True)
        return snap

    first, again, other = build(2), build(2), build(3)
    assert len(first) > 60
    assert first == again
    assert first != other
