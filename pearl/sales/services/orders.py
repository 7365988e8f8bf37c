"""Orders: lines priced and summed in Decimal, numbers, status transitions, change log, timeline, events.

Line amount = quantity × unit price (rounded to the fen) − discount. The order keeps the sums:
``subtotal`` (gross), ``discount``, ``amount`` (owed) and ``cost``. Header and lines can be edited
while the order is placed; after that only the status moves, along ``ORDER_TRANSITIONS``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from pearl.accounts.models import User
from pearl.activities.services import subject_key, timeline_record, timeline_remove_subject, timeline_update_subject
from pearl.core.changes import created, deleted, diff, record_change, snapshot
from pearl.core.errors import Conflict, NotFound, ValidationFailed
from pearl.core.events import emit
from pearl.core.models import ChangeAction
from pearl.core.permissions import require, scope_q
from pearl.customers.models import Customer
from pearl.sales.choices import ORDER_TRANSITIONS, OrderStatus
from pearl.sales.models import ZERO, Order, OrderLine, Product
from pearl.sales.services.catalogue import prices_for
from pearl.sales.services.common import (
    MAX_QUANTITY,
    as_id,
    check_version,
    clean_short_text,
    due_days,
    fen,
    next_number,
    parse_date,
    parse_datetime,
    parse_decimal,
    parse_money,
    raise_errors,
    visible_customer,
)
from pearl.sales.services.events import order_event

MAX_LINES = 200
MAX_AMOUNT = Decimal("999999999999.99")  # what an order's amount column (14 digits, 2 places) holds
HEADER_FIELDS = ["ordered_at", "due_date", "delivery_contact", "delivery_phone", "delivery_address", "note"]
SNAPSHOT_FIELDS = [
    "number",
    "customer",
    "status",
    *HEADER_FIELDS,
    "salesperson",
    "subtotal",
    "discount",
    "amount",
    "cost",
    "paid_amount",
    "paid_at",
    "delivered_at",
]
_TEXT_LIMITS = {"delivery_contact": 64, "delivery_phone": 16, "delivery_address": 200, "note": 500}
ORDER_SCOPE = {"owner": "customer__owner", "team": "customer__team"}


@dataclass
class CleanLine:
    product: Product
    quantity: Decimal
    unit_price: Decimal
    discount: Decimal
    gross: Decimal
    amount: Decimal


def line_amounts(quantity: Decimal, unit_price: Decimal, discount: Decimal) -> tuple[Decimal, Decimal]:
    """(gross, amount) of a line: gross = quantity × unit price to the fen; amount = gross − discount."""
    gross = fen(quantity * unit_price)
    return gross, gross - discount


def status_error(old: str, new: str) -> str | None:
    if new == old or new in ORDER_TRANSITIONS[old]:
        return None
    allowed = "、".join(str(OrderStatus(s).label) for s in sorted(ORDER_TRANSITIONS[old]))
    return _("An order cannot go from %(old)s to %(new)s (possible: %(allowed)s).") % {
        "old": OrderStatus(old).label,
        "new": OrderStatus(new).label if new in OrderStatus.values else new,
        "allowed": allowed or "—",
    }


def clean_lines(customer: Customer, raw: Any, *, existing: set[int] | None = None) -> list[CleanLine]:
    """Validated lines, priced from the customer's price list where no unit price is given.

    ``existing`` are products already on the order: they may stay although taken off sale since.
    """
    errors: dict[str, list[str]] = {}
    if not isinstance(raw, list | tuple) or not raw:
        raise ValidationFailed(_("An order needs at least one line."), field_errors={"lines": [_("Add a line.")]})
    if len(raw) > MAX_LINES:
        message = _("An order has at most %(n)d lines.") % {"n": MAX_LINES}
        raise ValidationFailed(message, field_errors={"lines": [message]})
    ids = [as_id(line.get("product")) if isinstance(line, dict) else None for line in raw]
    products = {p.pk: p for p in Product.objects.select_related("category").filter(pk__in=[i for i in ids if i])}
    prices = prices_for(customer, list(products.values()))
    out: list[CleanLine] = []
    for index, (line, pk) in enumerate(zip(raw, ids, strict=True)):
        key = f"lines.{index}."
        if not isinstance(line, dict):
            errors[f"lines.{index}"] = [_("Each line is an object with product and quantity.")]
            continue
        unknown = sorted(set(line) - {"product", "quantity", "unit_price", "discount"})
        for name in unknown:
            errors[key + name] = [_("Unknown field %(field)s.") % {"field": name}]
        product = products.get(pk) if pk else None
        if product is None:
            errors[key + "product"] = [_("Line %(n)d: choose an existing product.") % {"n": index + 1}]
        elif not product.is_active and product.pk not in (existing or set()):
            errors[key + "product"] = [
                _("Line %(n)d: %(product)s is not on sale.") % {"n": index + 1, "product": product}
            ]
        quantity, error = parse_decimal(line.get("quantity"), places=3, maximum=MAX_QUANTITY, allow_negative=True)
        if error is None and quantity is not None and quantity <= 0:
            error = _("Line %(n)d: the quantity must be more than zero (got %(q)s).") % {
                "n": index + 1,
                "q": quantity,
            }
        elif error:
            error = _("Line %(n)d: quantity: %(error)s") % {"n": index + 1, "error": error}
        if error:
            errors[key + "quantity"] = [error]
        if line.get("unit_price") in (None, ""):
            unit_price = prices.get(product.pk) if product else None
        else:
            unit_price, error = parse_money(line["unit_price"])
            if error:
                errors[key + "unit_price"] = [_("Line %(n)d: unit price: %(error)s") % {"n": index + 1, "error": error}]
        discount = ZERO
        if line.get("discount") not in (None, ""):
            parsed, error = parse_money(line["discount"])
            if error or parsed is None:
                errors[key + "discount"] = [_("Line %(n)d: discount: %(error)s") % {"n": index + 1, "error": error}]
            else:
                discount = parsed
        if product is None or quantity is None or unit_price is None or any(k.startswith(key) for k in errors):
            continue
        gross, amount = line_amounts(quantity, unit_price, discount)
        if gross > MAX_AMOUNT:
            errors[key + "quantity"] = [
                _("Line %(n)d: the line comes to more than ¥%(max)s; split the order.")
                % {"n": index + 1, "max": f"{MAX_AMOUNT:,}"}
            ]
            continue
        if discount > gross:
            errors[key + "discount"] = [
                _("Line %(n)d: the discount ¥%(discount)s is more than the line's ¥%(gross)s.")
                % {"n": index + 1, "discount": discount, "gross": gross}
            ]
            continue
        out.append(CleanLine(product, quantity, unit_price, discount, gross, amount))
    if not errors and sum((line.gross for line in out), ZERO) > MAX_AMOUNT:
        message = _("The order comes to more than ¥%(max)s; split it.") % {"max": f"{MAX_AMOUNT:,}"}
        errors["lines"] = [message]
    raise_errors(errors)
    return out


def _clean_header(data: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    if "ordered_at" in data or creating:
        if data.get("ordered_at") in (None, ""):
            out["ordered_at"] = timezone.now()
        else:
            moment, error = parse_datetime(data["ordered_at"])
            if error:
                errors["ordered_at"] = [error]
            out["ordered_at"] = moment
    if "due_date" in data and data["due_date"] not in (None, ""):
        day, error = parse_date(data["due_date"])
        if error:
            errors["due_date"] = [error]
        out["due_date"] = day
    elif "due_date" in data:
        out["due_date"] = None  # back to the default
    for key, limit in _TEXT_LIMITS.items():
        if key in data:
            text, error = clean_short_text(data[key], limit)
            if error:
                errors[key] = [error]
            out[key] = text
    if (
        out.get("due_date")
        and out.get("ordered_at")
        and "ordered_at" not in errors
        and out["due_date"] < timezone.localtime(out["ordered_at"]).date()
    ):
        errors["due_date"] = [_("The due date cannot be before the order date.")]
    raise_errors(errors)
    return out


def default_due_date(ordered_at: dt.datetime) -> dt.date:
    return timezone.localtime(ordered_at).date() + dt.timedelta(days=due_days())


def order_snapshot(order: Order, lines: list[OrderLine] | None = None) -> dict[str, Any]:
    data = snapshot(order, SNAPSHOT_FIELDS)
    if lines is None:
        lines = list(order.lines.select_related("product")) if order.pk else []
    data["lines"] = [
        f"{line.product.sku} × {line.quantity.normalize():f} @ {line.unit_price}"
        + (f" − {line.discount}" if line.discount else "")
        + f" = {line.amount}"
        for line in lines
    ]
    return data


def _write_lines(order: Order, lines: list[CleanLine]) -> list[OrderLine]:
    rows = [
        OrderLine(
            order=order,
            product=line.product,
            quantity=line.quantity,
            unit_price=line.unit_price,
            discount=line.discount,
            amount=line.amount,
        )
        for line in lines
    ]
    OrderLine.objects.bulk_create(rows)
    order.subtotal = sum((line.gross for line in lines), ZERO)
    order.discount = sum((line.discount for line in lines), ZERO)
    order.amount = order.subtotal - order.discount
    costs = [line.product.cost for line in lines]
    order.cost = (
        None
        if any(c is None for c in costs)
        else sum((fen(line.quantity * (line.product.cost or ZERO)) for line in lines), ZERO)
    )
    return rows


def settle(order: Order, moment: dt.datetime | None = None) -> None:
    """``paid_at`` follows ``paid_amount``: set when the order is paid in full, cleared otherwise."""
    if order.paid_amount >= order.amount:
        order.paid_at = order.paid_at or moment or timezone.now()
    else:
        order.paid_at = None


def lock_order(actor: User, order_id: Any) -> Order:
    """The order locked for this transaction; out of the actor's scope is the same as missing."""
    pk = as_id(order_id)
    locked = Order.objects.select_for_update(of=("self",)).filter(scope_q(actor, **ORDER_SCOPE))
    order = locked.filter(pk=pk).first() if pk else None
    if order is None:
        raise NotFound(_("Order not found."))
    return order


def _sync_timeline(order: Order) -> None:
    event = order_event(order)
    timeline_update_subject(
        subject_key(order), title=event.title[:200], payload=event.payload, occurred_at=event.occurred_at
    )


def _emit(order: Order, actor: User) -> None:
    emit("order.changed", customer_id=order.customer_id, order_id=order.pk, actor_id=actor.pk)


def _taken(number: str) -> bool:
    return Order.objects.filter(number=number).exists()


@transaction.atomic
def order_create(
    *,
    actor: User,
    customer_id: int,
    lines: list[dict[str, Any]],
    ordered_at: dt.datetime | str | None = None,
    due_date: dt.date | str | None = None,
    delivery_contact: str = "",
    delivery_phone: str = "",
    delivery_address: str = "",
    note: str = "",
) -> Order:
    """Place an order for a customer the actor may see; all of it or nothing."""
    require(actor, "create")
    customer = visible_customer(actor, customer_id)
    header = _clean_header(
        {
            "ordered_at": ordered_at,
            "due_date": due_date,
            "delivery_contact": delivery_contact,
            "delivery_phone": delivery_phone,
            "delivery_address": delivery_address,
            "note": note,
        },
        creating=True,
    )
    clean = clean_lines(customer, lines)
    order = Order(customer=customer, salesperson=actor, status=OrderStatus.PLACED, **header)
    order.due_date = order.due_date or default_due_date(order.ordered_at)
    order.number = next_number("SO", order.ordered_at, _taken)
    try:
        with transaction.atomic():
            order.save()
    except IntegrityError as exc:
        raise Conflict(_("Another order took this number at the same moment; please try again.")) from exc
    rows = _write_lines(order, clean)
    settle(order, order.ordered_at)
    order.save()
    record_change(
        actor=actor,
        action=ChangeAction.CREATE,
        instance=order,
        changes=created(order_snapshot(order, rows)),
        root=order,
    )
    timeline_record(order_event(order, rows))
    _emit(order, actor)
    return order


@transaction.atomic
def order_update(
    *,
    actor: User,
    order_id: int,
    data: dict[str, Any] | None = None,
    lines: list[dict[str, Any]] | None = None,
    status: str | None = None,
    expected_version: int | None = None,
) -> Order:
    """Edit the header and/or replace the lines (placed orders only), and/or move the status."""
    require(actor, "edit")
    order = lock_order(actor, order_id)
    check_version(order, expected_version, pgettext("sales record", "order"))
    data = dict(data or {})
    if "status" in data:
        status = data.pop("status")
    unknown = sorted(set(data) - set(HEADER_FIELDS))
    if unknown:
        raise ValidationFailed(
            _("Unknown field %(field)s.") % {"field": unknown[0]},
            field_errors={k: [_("Unknown field %(field)s.") % {"field": k}] for k in unknown},
        )
    before = order_snapshot(order)
    if data or lines is not None:
        if order.status != OrderStatus.PLACED:
            raise Conflict(
                _("Only a placed order can be edited; this one is %(status)s.")
                % {"status": OrderStatus(order.status).label}
            )
        header = _clean_header(data, creating=False)
        # the due date moves with the order date unless it was set apart from the default
        if "ordered_at" in header and "due_date" not in header and order.due_date == default_due_date(order.ordered_at):
            header["due_date"] = default_due_date(header["ordered_at"])
        for key, value in header.items():
            setattr(order, key, value)
        if order.due_date is None:
            order.due_date = default_due_date(order.ordered_at)
        if order.due_date < timezone.localtime(order.ordered_at).date():
            message = _("The due date cannot be before the order date.")
            raise ValidationFailed(message, field_errors={"due_date": [message]})
        if lines is not None:
            existing = set(order.lines.values_list("product_id", flat=True))
            clean = clean_lines(order.customer, lines, existing=existing)
            order.lines.all().delete()
            _write_lines(order, clean)
            if order.amount < order.paid_amount:
                message = _(
                    "The new amount ¥%(amount)s is less than the ¥%(paid)s already paid; "
                    "delete or reallocate the payment first."
                ) % {"amount": order.amount, "paid": order.paid_amount}
                raise ValidationFailed(message, field_errors={"lines": [message]})
            settle(order)
    if status is not None:
        _transition(order, status)
    after = order_snapshot(order)
    changes = diff(before, after)
    if not changes:
        return order
    order.version += 1
    order.save()
    record_change(actor=actor, action=ChangeAction.UPDATE, instance=order, changes=changes, root=order)
    _sync_timeline(order)
    _emit(order, actor)
    return order


def _transition(order: Order, status: Any) -> None:
    if not isinstance(status, str) or status not in OrderStatus.values:
        choices = ", ".join(OrderStatus.values)
        message = _("Unknown status; choose one of %(choices)s.") % {"choices": choices}
        raise ValidationFailed(message, field_errors={"status": [message]})
    if status == order.status:
        return
    error = status_error(order.status, status)
    if error:
        allowed = sorted(ORDER_TRANSITIONS[order.status])
        raise Conflict(error, field_errors={"status": [error]}, extra={"allowed": allowed})
    if status == OrderStatus.CANCELLED and (order.paid_amount > 0 or order.allocations.exists()):
        message = _(
            "This order has payments allocated (¥%(paid)s); delete the payment or reallocate it "
            "to other orders before cancelling."
        ) % {"paid": order.paid_amount}
        raise Conflict(message, field_errors={"status": [message]})
    order.status = status
    if status == OrderStatus.DELIVERED:
        order.delivered_at = timezone.now()
    if status == OrderStatus.CANCELLED:
        order.paid_at = None


def order_transition(*, actor: User, order_id: int, status: str, expected_version: int | None = None) -> Order:
    """Move an order along 下单 → 配货 → 发货 → 签收, or to 取消 before delivery."""
    return order_update(actor=actor, order_id=order_id, status=status, expected_version=expected_version)


@transaction.atomic
def order_delete(*, actor: User, order_id: int, expected_version: int | None = None) -> None:
    """Delete a placed or cancelled order that no payment points at."""
    require(actor, "delete")
    order = lock_order(actor, order_id)
    check_version(order, expected_version, pgettext("sales record", "order"))
    if order.status not in (OrderStatus.PLACED, OrderStatus.CANCELLED):
        raise Conflict(
            _("Only placed or cancelled orders can be deleted; this one is %(status)s.")
            % {"status": OrderStatus(order.status).label}
        )
    if order.allocations.exists():
        raise Conflict(_("Payments are allocated to this order; delete or reallocate them first."))
    record_change(
        actor=actor, action=ChangeAction.DELETE, instance=order, changes=deleted(order_snapshot(order)), root=order
    )
    timeline_remove_subject(subject_key(order))
    pk, customer_id = order.pk, order.customer_id
    order.delete()
    emit("order.changed", customer_id=customer_id, order_id=pk, actor_id=actor.pk)
