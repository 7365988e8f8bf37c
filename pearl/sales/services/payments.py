"""Payments (回款) and their allocation to the customer's orders.

A payment is allocated explicitly (``[{order, amount}]`` adding up to the payment) or, without
allocations, to the customer's unpaid orders oldest due first. The customer's unpaid orders are
locked for the transaction, so two payments recorded at once cannot both pay the same debt.
Nothing is written when any part is refused.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.activities.services import subject_key, timeline_record, timeline_remove_subject, timeline_update_subject
from pearl.core.changes import created, deleted, diff, record_change, snapshot
from pearl.core.errors import Conflict, NotFound, ValidationFailed
from pearl.core.events import emit
from pearl.core.models import ChangeAction
from pearl.core.permissions import require, scope_q
from pearl.sales.choices import OrderStatus, PaymentMethod
from pearl.sales.models import ZERO, Order, Payment, PaymentAllocation
from pearl.sales.services.common import (
    as_id,
    check_version,
    clean_short_text,
    next_number,
    parse_datetime,
    parse_money,
    raise_errors,
    visible_customer,
)
from pearl.sales.services.events import payment_event
from pearl.sales.services.orders import ORDER_SCOPE, settle

PAYMENT_FIELDS = ["number", "customer", "amount", "received_at", "method", "reference", "note"]
EDITABLE = ["received_at", "method", "reference", "note"]


def unpaid_orders(customer_id: int, *, lock: bool = False) -> list[Order]:
    """The customer's orders with something owed, oldest due first (no due date last)."""
    qs = Order.objects.filter(customer_id=customer_id, paid_at__isnull=True, amount__gt=F("paid_amount")).exclude(
        status=OrderStatus.CANCELLED
    )
    if lock:
        qs = qs.select_for_update()
    orders = list(qs.order_by("due_date", "ordered_at", "id"))
    orders.sort(key=lambda o: (o.due_date is None, o.due_date or dt.date.max, o.ordered_at, o.pk))
    return orders


def plan_allocations(
    customer_id: int, amount: Decimal, allocations: list[dict[str, Any]] | None, *, lock: bool = False
) -> list[tuple[Order, Decimal]]:
    """Which orders a payment pays and how much; raises ValidationFailed naming every problem.

    Used by the service (with the orders locked) and by the page's allocation preview.
    """
    orders = unpaid_orders(customer_id, lock=lock)
    owed = sum((o.outstanding for o in orders), ZERO)
    if amount > owed:
        message = (
            _("This payment of ¥%(amount)s is more than the ¥%(owed)s the customer owes in total.")
            % {"amount": f"{amount:,.2f}", "owed": f"{owed:,.2f}"}
            if owed
            else _("The customer owes nothing at the moment; there is no order to pay.")
        )
        raise ValidationFailed(message, field_errors={"amount": [message]}, extra={"owed": str(owed)})
    if not allocations:
        plan: list[tuple[Order, Decimal]] = []
        left = amount
        for order in orders:
            if left <= 0:
                break
            part = min(left, order.outstanding)
            plan.append((order, part))
            left -= part
        return plan
    by_id = {o.pk: o for o in orders}
    errors: dict[str, list[str]] = {}
    plan = []
    seen: set[int] = set()
    total = ZERO
    for index, item in enumerate(allocations):
        key = f"allocations.{index}."
        pk = as_id(item.get("order")) if isinstance(item, dict) else None
        parsed, error = parse_money(item.get("amount") if isinstance(item, dict) else None, allow_zero=False)
        found = by_id.get(pk) if pk else None
        if found is None:
            other = Order.objects.filter(pk=pk).first() if pk else None
            if other is None:
                errors[key + "order"] = [_("Allocation %(n)d: order not found.") % {"n": index + 1}]
            elif other.customer_id != customer_id:
                errors[key + "order"] = [
                    _("Allocation %(n)d: order %(number)s belongs to another customer.")
                    % {"n": index + 1, "number": other.number}
                ]
            elif other.status == OrderStatus.CANCELLED:
                errors[key + "order"] = [
                    _("Allocation %(n)d: order %(number)s is cancelled.") % {"n": index + 1, "number": other.number}
                ]
            else:
                errors[key + "order"] = [
                    _("Allocation %(n)d: order %(number)s is paid in full already.")
                    % {"n": index + 1, "number": other.number}
                ]
            continue
        order = found
        if order.pk in seen:
            errors[key + "order"] = [
                _("Allocation %(n)d: order %(number)s is listed twice.") % {"n": index + 1, "number": order.number}
            ]
            continue
        seen.add(order.pk)
        if error or parsed is None:
            errors[key + "amount"] = [_("Allocation %(n)d: %(error)s") % {"n": index + 1, "error": error}]
            continue
        part = parsed
        if part > order.outstanding:
            errors[key + "amount"] = [
                _("Allocation %(n)d: ¥%(part)s is more than the ¥%(left)s still owed on order %(number)s.")
                % {"n": index + 1, "part": part, "left": order.outstanding, "number": order.number}
            ]
            continue
        total += part
        plan.append((order, part))
    if not errors and total != amount:
        message = _("The allocations add up to ¥%(total)s but the payment is ¥%(amount)s.") % {
            "total": total,
            "amount": amount,
        }
        errors["allocations"] = [message]
    raise_errors(errors)
    return plan


def _clean_header(data: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    if "received_at" in data or creating:
        moment, error = parse_datetime(data.get("received_at"))
        if error:
            errors["received_at"] = [error]
        out["received_at"] = moment
    if "method" in data or creating:
        method = data.get("method") or PaymentMethod.BANK
        if method not in PaymentMethod.values:
            errors["method"] = [_("Choose one of %(choices)s.") % {"choices": ", ".join(PaymentMethod.values)}]
        out["method"] = method
    for key, limit in (("reference", 64), ("note", 500)):
        if key in data:
            text, error = clean_short_text(data[key], limit)
            if error:
                errors[key] = [error]
            out[key] = text
    raise_errors(errors)
    return out


def _taken(number: str) -> bool:
    return Payment.objects.filter(number=number).exists()


def _apply(actor: User, order: Order, delta: Decimal, moment: dt.datetime | None) -> None:
    """Add ``delta`` (negative to reverse) to what is paid on a locked order; logged on the order."""
    before = snapshot(order, ["paid_amount", "paid_at"])
    order.paid_amount += delta
    settle(order, moment)
    order.version += 1
    order.save(update_fields=["paid_amount", "paid_at", "version", "updated_at"])
    record_change(
        actor=actor,
        action=ChangeAction.UPDATE,
        instance=order,
        changes=diff(before, snapshot(order, ["paid_amount", "paid_at"])),
        root=order,
    )


def _move_paid_at(actor: User, order: Order, moment: dt.datetime) -> None:
    before = snapshot(order, ["paid_at"])
    order.paid_at = moment
    order.version += 1
    order.save(update_fields=["paid_at", "version", "updated_at"])
    record_change(
        actor=actor, action=ChangeAction.UPDATE, instance=order, changes=diff(before, snapshot(order, ["paid_at"])),
        root=order,
    )  # fmt: skip


def _emit(payment_id: int, customer_id: int, order_ids: list[int], actor: User) -> None:
    emit("payment.changed", customer_id=customer_id, payment_id=payment_id, order_ids=order_ids, actor_id=actor.pk)


@transaction.atomic
def payment_create(
    *,
    actor: User,
    customer_id: int,
    amount: Any,
    received_at: Any,
    method: str = PaymentMethod.BANK,
    reference: str = "",
    note: str = "",
    allocations: list[dict[str, Any]] | None = None,
) -> Payment:
    """Record money received and allocate it; refused whole when it would overpay anything."""
    require(actor, "create")
    customer = visible_customer(actor, customer_id)
    header = _clean_header(
        {"received_at": received_at, "method": method, "reference": reference, "note": note}, creating=True
    )
    value, error = parse_money(amount, allow_zero=False)
    if error or value is None:
        message = error or _("Enter a number.")
        raise ValidationFailed(message, field_errors={"amount": [message]})
    if allocations is not None and not isinstance(allocations, list):
        message = _("Allocations are a list of {order, amount}.")
        raise ValidationFailed(message, field_errors={"allocations": [message]})
    plan = plan_allocations(customer.pk, value, allocations, lock=True)
    payment = Payment(customer=customer, amount=value, recorded_by=actor, **header)
    payment.number = next_number("SK", payment.received_at, _taken)
    try:
        with transaction.atomic():
            payment.save()
    except IntegrityError as exc:
        raise Conflict(_("Another payment took this number at the same moment; please try again.")) from exc
    rows = PaymentAllocation.objects.bulk_create(
        [PaymentAllocation(payment=payment, order=order, amount=part) for order, part in plan]
    )
    for order, part in plan:
        _apply(actor, order, part, payment.received_at)
    for row, (order, _part) in zip(rows, plan, strict=True):
        row.order = order
    record_change(
        actor=actor,
        action=ChangeAction.CREATE,
        instance=payment,
        changes={
            **created(snapshot(payment, PAYMENT_FIELDS)),
            "allocations": [None, {o.number: str(p) for o, p in plan}],
        },
    )
    timeline_record(payment_event(payment, rows))
    _emit(payment.pk, customer.pk, [o.pk for o, _p in plan], actor)
    return payment


def lock_payment(actor: User, payment_id: Any) -> Payment:
    pk = as_id(payment_id)
    locked = Payment.objects.select_for_update(of=("self",)).filter(scope_q(actor, **ORDER_SCOPE))
    payment = locked.filter(pk=pk).first() if pk else None
    if payment is None:
        raise NotFound(_("Payment not found."))
    return payment


@transaction.atomic
def payment_update(
    *, actor: User, payment_id: int, data: dict[str, Any], expected_version: int | None = None
) -> Payment:
    """Change when, how and with what reference it came; the amount and allocations are fixed
    (delete the payment and record it again to change them)."""
    require(actor, "edit")
    payment = lock_payment(actor, payment_id)
    check_version(payment, expected_version, _("payment"))
    fixed = sorted(set(data) & {"amount", "allocations", "customer"})
    unknown = sorted(set(data) - set(EDITABLE) - set(fixed))
    errors: dict[str, list[str]] = {
        **{k: [_("Unknown field %(field)s.") % {"field": k}] for k in unknown},
        **{
            k: [_("The amount, customer and allocations cannot change; delete the payment and record it again.")]
            for k in fixed
        },
    }
    raise_errors(errors)
    before = snapshot(payment, PAYMENT_FIELDS)
    received_before = payment.received_at
    for key, value in _clean_header(data, creating=False).items():
        setattr(payment, key, value)
    changes = diff(before, snapshot(payment, PAYMENT_FIELDS))
    if not changes:
        return payment
    payment.version += 1
    payment.save()
    record_change(actor=actor, action=ChangeAction.UPDATE, instance=payment, changes=changes)
    if payment.received_at != received_before:
        # Orders this payment finished paying were paid when the money came: move their paid_at along.
        paid_by_it = Order.objects.select_for_update().filter(
            pk__in=payment.allocations.values("order_id"), paid_at=received_before
        )
        for order in paid_by_it:
            _move_paid_at(actor, order, payment.received_at)
    event = payment_event(payment)
    timeline_update_subject(
        subject_key(payment), title=event.title[:200], payload=event.payload, occurred_at=event.occurred_at
    )
    order_ids = list(payment.allocations.values_list("order_id", flat=True))
    _emit(payment.pk, payment.customer_id, order_ids, actor)
    return payment


@transaction.atomic
def payment_delete(*, actor: User, payment_id: int, expected_version: int | None = None) -> None:
    """Delete a payment; what it paid on each order is owed again."""
    require(actor, "delete")
    payment = lock_payment(actor, payment_id)
    check_version(payment, expected_version, _("payment"))
    allocations = list(payment.allocations.order_by("id"))
    orders = {o.pk: o for o in Order.objects.select_for_update().filter(pk__in=[a.order_id for a in allocations])}
    for allocation in allocations:
        _apply(actor, orders[allocation.order_id], -allocation.amount, None)
    record_change(
        actor=actor,
        action=ChangeAction.DELETE,
        instance=payment,
        changes={
            **deleted(snapshot(payment, PAYMENT_FIELDS)),
            "allocations": [{orders[a.order_id].number: str(a.amount) for a in allocations}, None],
        },
    )
    timeline_remove_subject(subject_key(payment))
    pk, customer_id = payment.pk, payment.customer_id
    payment.delete()
    _emit(pk, customer_id, [a.order_id for a in allocations], actor)
