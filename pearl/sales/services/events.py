"""The timeline entries of orders and payments, as pure functions.

The services record them; the demo loader builds its rows with the same functions, so a demo
order looks on the timeline exactly like one placed through the page. Titles are written in the
site's language (``LANGUAGE_CODE``), whoever's request recorded them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from pearl.activities.services import NewEvent, subject_key
from pearl.sales.choices import OrderStatus, PaymentMethod
from pearl.sales.models import Order, OrderLine, Payment, PaymentAllocation


def money_text(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def order_title(number: str, amount: Decimal, line_count: int) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return ngettext(
            "Order %(number)s · ¥%(amount)s · %(n)d item",
            "Order %(number)s · ¥%(amount)s · %(n)d items",
            line_count,
        ) % {"number": number, "amount": money_text(amount), "n": line_count}


def order_event(order: Order, lines: Sequence[OrderLine] | None = None) -> NewEvent:
    """The order's timeline entry. ``lines`` with product and category loaded, else they are read."""
    if lines is None:
        lines = list(order.lines.select_related("product__category"))
    categories: list[str] = []
    for line in lines:
        name = line.product.category.name
        if name not in categories:
            categories.append(name)
    title = order_title(order.number, order.amount, len(lines))
    if order.status == OrderStatus.CANCELLED:
        with translation.override(settings.LANGUAGE_CODE):
            title = _("%(title)s (cancelled)") % {"title": title}
    return NewEvent(
        customer_id=order.customer_id,
        kind="order",
        occurred_at=order.ordered_at,
        title=title,
        actor=order.salesperson,
        subject=subject_key(order),
        payload={
            "number": order.number,
            "amount": str(order.amount),
            "status": str(order.status),
            "lines": len(lines),
            "categories": categories,
        },
    )


def payment_title(number: str, amount: Decimal, method: str) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        label = PaymentMethod(method).label if method in PaymentMethod.values else method
        return _("Payment %(number)s · ¥%(amount)s · %(method)s") % {
            "number": number,
            "amount": money_text(amount),
            "method": label,
        }


def payment_event(payment: Payment, allocations: Iterable[PaymentAllocation] | None = None) -> NewEvent:
    """The payment's timeline entry. ``allocations`` with their orders loaded, else they are read."""
    if allocations is None:
        allocations = list(payment.allocations.select_related("order").order_by("id"))
    orders: list[dict[str, Any]] = [
        {"id": a.order_id, "number": a.order.number, "amount": str(a.amount)} for a in allocations
    ]
    return NewEvent(
        customer_id=payment.customer_id,
        kind="payment",
        occurred_at=payment.received_at,
        title=payment_title(payment.number, payment.amount, payment.method),
        actor=payment.recorded_by,
        subject=subject_key(payment),
        payload={
            "number": payment.number,
            "amount": str(payment.amount),
            "method": str(payment.method),
            "orders": orders,
        },
    )
