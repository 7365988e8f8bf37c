"""Fixtures: a small catalogue and helpers that write orders, payments, complaints and calls through
the sales and activities services (exactly what users would produce)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone, translation

from pearl.accounts.models import User
from pearl.activities.services.communications import communication_create
from pearl.activities.services.complaints import complaint_create
from pearl.core.testing.personas import Org
from pearl.customers.models import Customer
from pearl.customers.tests.factories import make_customer
from pearl.sales.models import Order, Payment, Product, ProductCategory
from pearl.sales.services import order_create, order_transition, payment_create, product_create

# A fixed "now" for figures: every date in the tests is counted back from it.
NOW = timezone.make_aware(dt.datetime(2026, 6, 15, 12, 0, 0))


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def days_ago(days: float, *, at: dt.datetime = NOW) -> dt.datetime:
    return at - dt.timedelta(days=days)


@dataclass
class Shop:
    admin: User
    prawn: Product  # 虾 10.00, cost 6.00
    crab: Product  # 蟹 88.50, cost 50.00
    sauce: Product  # 调料 3.33, no cost

    def order(
        self,
        customer: Customer,
        when: dt.datetime,
        lines: list[tuple[Product, str]],
        *,
        discount: str | None = None,
        due: dt.date | None = None,
        actor: User | None = None,
    ) -> Order:
        rows: list[dict[str, Any]] = [{"product": p.pk, "quantity": q} for p, q in lines]
        if discount:
            rows[0]["discount"] = discount
        return order_create(
            actor=actor or self.admin, customer_id=customer.pk, lines=rows, ordered_at=when, due_date=due
        )

    def cancel(self, order: Order) -> Order:
        return order_transition(actor=self.admin, order_id=order.pk, status="cancelled")

    def pay(self, order: Order, when: dt.datetime, amount: str | None = None) -> Payment:
        order.refresh_from_db()
        value = Decimal(amount) if amount else order.amount - order.paid_amount
        return payment_create(
            actor=self.admin, customer_id=order.customer_id, amount=value, received_at=when,
            allocations=[{"order": order.pk, "amount": str(value)}],
        )  # fmt: skip

    def complaint(self, customer: Customer, when: dt.datetime, kind: str = "complaint") -> Any:
        return complaint_create(
            actor=self.admin, customer_id=customer.pk,
            data={"title": "虾不新鲜", "category": "quality", "kind": kind, "received_at": when},
        )  # fmt: skip

    def call(self, customer: Customer, when: dt.datetime, follow_up: dt.datetime | None = None) -> Any:
        data: dict[str, Any] = {"kind": "call", "occurred_at": when, "summary": "问了价格"}
        if follow_up:
            data["next_follow_up_at"] = follow_up
        return communication_create(actor=self.admin, customer_id=customer.pk, data=data)


def _category(name: str) -> ProductCategory:
    return ProductCategory.objects.filter(name=name).first() or ProductCategory.objects.create(name=name)


@pytest.fixture
def shop(org: Org) -> Shop:
    def product(sku: str, name: str, price: str, cost: str | None, category: str) -> Product:
        return product_create(
            actor=org.admin,
            data={"sku": sku, "name": name, "category": _category(category).pk, "unit": "斤", "price": price,
                  "cost": cost},
        )  # fmt: skip

    return Shop(
        admin=org.admin,
        prawn=product("P-1", "基围虾", "10.00", "6.00", "虾"),
        crab=product("C-1", "大闸蟹", "88.50", "50.00", "蟹"),
        sauce=product("S-1", "海鲜酱", "3.33", None, "调料"),
    )


@pytest.fixture
def customer(org: Org) -> Customer:
    """A customer of org.owner (team 一组)."""
    return make_customer(org.owner)
