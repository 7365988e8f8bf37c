"""Figures from orders, payments, complaints and calls: one customer in Python, everyone in SQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from pearl.analytics.conditions import day_number
from pearl.analytics.models import CustomerCategoryFigure, CustomerFigures
from pearl.analytics.services import figures_rebuild, figures_refresh
from pearl.analytics.tests.conftest import NOW, Shop, days_ago
from pearl.core.testing.personas import Org
from pearl.customers.models import Customer
from pearl.customers.tests.factories import make_customer

FIELDS = [
    "first_order_at", "last_order_at", "last_order_day", "order_count", "orders_12m", "purchase_cycle_days",
    "avg_order_value", "revenue_12m", "revenue_total", "margin_12m", "avg_discount_rate", "avg_days_to_pay",
    "unpaid_amount", "overdue_amount", "complaints_30d", "last_contact_at", "next_follow_up_at", "top_categories",
]  # fmt: skip


def history(shop: Shop, customer: Customer) -> None:
    """Orders 400, 100, 70 and 40 days ago (gaps 300, 30, 30: median 30), one cancelled 10 days ago."""
    first = shop.order(customer, days_ago(400), [(shop.prawn, "10")])  # 100.00, cost 60
    shop.pay(first, days_ago(390))  # paid after 10 days
    shop.order(customer, days_ago(100), [(shop.crab, "2")])  # 177.00, cost 100, due 70 days ago
    shop.order(customer, days_ago(70), [(shop.prawn, "5")])  # 50.00, cost 30, due 40 days ago
    shop.order(
        customer, days_ago(40), [(shop.prawn, "20")], discount="20.00", due=(NOW + dt.timedelta(days=5)).date()
    )  # 200 − 20 = 180.00, cost 120, not due yet
    shop.cancel(shop.order(customer, days_ago(10), [(shop.crab, "100")]))  # cancelled: never counts
    shop.complaint(customer, days_ago(5))
    shop.complaint(customer, days_ago(20))
    shop.complaint(customer, days_ago(45))  # outside 30 days
    shop.complaint(customer, days_ago(3), kind="feedback")  # feedback is not a complaint
    shop.call(customer, days_ago(8), follow_up=NOW + dt.timedelta(days=3))


def values(figures: CustomerFigures) -> dict[str, Any]:
    return {name: getattr(figures, name) for name in FIELDS}


def test_figures_of_one_customer(org: Org, shop: Shop, customer: Customer) -> None:
    history(shop, customer)
    f = figures_refresh(customer_id=customer.pk, at=NOW)
    assert f is not None
    f.refresh_from_db()
    assert f.first_order_at == days_ago(400) and f.last_order_at == days_ago(40)
    assert f.last_order_day == day_number(days_ago(40))
    assert f.order_count == 4 and f.orders_12m == 3
    assert f.purchase_cycle_days == Decimal("30.0")
    assert f.revenue_total == Decimal("507.00")
    assert f.revenue_12m == Decimal("407.00")
    assert f.avg_order_value == Decimal("126.75")
    assert f.margin_12m == Decimal("157.00")  # 77 + 20 + 60
    assert f.avg_discount_rate == Decimal("0.0380")  # 20 / 527
    assert f.avg_days_to_pay == Decimal("10.0")
    assert f.unpaid_amount == Decimal("407.00")
    assert f.overdue_amount == Decimal("227.00")  # 177 + 50; the last order is not due yet
    assert f.complaints_30d == 2
    assert f.last_contact_at == days_ago(8)
    assert f.next_follow_up_at == NOW + dt.timedelta(days=3)
    assert [(c["category"], c["amount"]) for c in f.top_categories] == [("虾", "330.00"), ("蟹", "177.00")]
    cats = {
        c.category.name: c for c in CustomerCategoryFigure.objects.filter(customer=customer).select_related("category")
    }
    assert cats["虾"].orders == 3 and cats["虾"].quantity == Decimal("35")
    assert cats["虾"].first_at == days_ago(400) and cats["虾"].last_at == days_ago(40)
    assert cats["蟹"].amount == Decimal("177.00") and cats["蟹"].orders == 1


def test_the_cycle_needs_two_orders_and_a_customer_without_orders_has_empty_figures(
    org: Org, shop: Shop, customer: Customer
) -> None:
    nobody = make_customer(org.owner)
    f = figures_refresh(customer_id=nobody.pk, at=NOW)
    assert f is not None and f.order_count == 0 and f.revenue_total == 0 and f.purchase_cycle_days is None
    assert f.avg_order_value is None and f.top_categories == []
    shop.order(customer, days_ago(10), [(shop.sauce, "3")])  # no cost: no margin
    f = figures_refresh(customer_id=customer.pk, at=NOW)
    assert f is not None and f.order_count == 1 and f.purchase_cycle_days is None and f.margin_12m is None
    assert figures_refresh(customer_id=999_999, at=NOW) is None


def test_median_of_an_even_number_of_gaps(org: Org, shop: Shop, customer: Customer) -> None:
    for days in (100, 90, 70, 40, 0):  # gaps 10, 20, 30, 40: median 25
        shop.order(customer, days_ago(days), [(shop.prawn, "1")])
    f = figures_refresh(customer_id=customer.pk, at=NOW)
    assert f is not None and f.purchase_cycle_days == Decimal("25.0")


def test_set_based_rebuild_equals_the_per_customer_refresh(org: Org, shop: Shop, customer: Customer) -> None:
    history(shop, customer)
    other = make_customer(org.outsider)
    for days in (300, 200, 150, 149):
        shop.order(other, days_ago(days), [(shop.crab, "1"), (shop.sauce, "2")])
    idle = make_customer(org.owner)
    ids = [customer.pk, other.pk, idle.pk]
    one = {}
    for pk in ids:
        f = figures_refresh(customer_id=pk, at=NOW)
        assert f is not None
        f.refresh_from_db()
        one[pk] = values(f)
    one_cats = set(CustomerCategoryFigure.objects.values_list("customer_id", "category_id", "amount", "orders"))

    assert figures_rebuild(at=NOW) == Customer.objects.count()
    every = {f.customer_id: values(f) for f in CustomerFigures.objects.all()}
    for pk in ids:
        assert every[pk] == one[pk], pk
    assert set(CustomerCategoryFigure.objects.values_list("customer_id", "category_id", "amount", "orders")) == one_cats

    CustomerFigures.objects.all().delete()
    assert figures_rebuild(customer_ids=[other.pk], at=NOW) == 1
    assert list(CustomerFigures.objects.values_list("customer_id", flat=True)) == [other.pk]
    assert values(CustomerFigures.objects.get(pk=other.pk)) == one[other.pk]


@pytest.mark.parametrize("months_later", [0, 3])
def test_the_sweep_moves_the_12_month_window_and_overdue(
    org: Org, shop: Shop, customer: Customer, months_later: int
) -> None:
    from pearl.analytics import figures as compute

    history(shop, customer)
    figures_rebuild(at=NOW)
    at = NOW + dt.timedelta(days=30 * months_later)
    compute.sweep_time(at)
    f = CustomerFigures.objects.get(pk=customer.pk)
    fresh = figures_refresh(customer_id=customer.pk, at=at)
    assert fresh is not None
    fresh.refresh_from_db()
    for name in ("revenue_12m", "orders_12m", "margin_12m", "overdue_amount", "complaints_30d"):
        assert getattr(f, name) == getattr(fresh, name), name
    if months_later:
        assert f.complaints_30d == 0 and f.overdue_amount == Decimal("407.00")
    assert compute.sweep_time(at) == 0  # nothing changes the second time
