"""Catalogue and order factories; orders and payments go through the services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import timezone

from pearl.accounts.models import User
from pearl.sales.models import Order, Payment, Product, ProductCategory
from pearl.sales.services import order_create, payment_create, product_create


def category(name: str = "虾", parent: ProductCategory | None = None) -> ProductCategory:
    found = ProductCategory.objects.filter(name=name).first()
    return found or ProductCategory.objects.create(name=name, parent=parent)


def product(
    admin: User, sku: str, *, price: str = "10.00", cost: str | None = "6.00", cat: str = "虾", **data: Any
) -> Product:
    return product_create(
        actor=admin,
        data={"sku": sku, "name": data.pop("name", f"商品{sku}"), "category": category(cat).pk, "unit": "斤",
              "price": price, "cost": cost, **data},
    )  # fmt: skip


def at(days_ago: int = 0) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days_ago)


def order(actor: User, customer_id: int, lines: list[tuple[Product, str]] | None = None, **kwargs: Any) -> Order:
    lines = lines or []
    return order_create(
        actor=actor,
        customer_id=customer_id,
        lines=[{"product": p.pk, "quantity": q} for p, q in lines],
        ordered_at=kwargs.pop("ordered_at", at()),
        **kwargs,
    )


def payment(actor: User, customer_id: int, amount: str | Decimal, **kwargs: Any) -> Payment:
    return payment_create(
        actor=actor,
        customer_id=customer_id,
        amount=amount,
        received_at=kwargs.pop("received_at", at()),
        **kwargs,
    )
