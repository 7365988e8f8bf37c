from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from pearl.activities.models import TimelineEvent
from pearl.core import events
from pearl.core.errors import Conflict, NotFound, PermissionDenied, PreconditionFailed, ValidationFailed
from pearl.core.models import ChangeLog
from pearl.customers.choices import ChoiceList
from pearl.customers.models import ChoiceOption
from pearl.sales.models import NumberSequence, Order, OrderLine, Payment, PaymentAllocation, PriceList
from pearl.sales.services import (
    billing_update,
    line_amounts,
    order_create,
    order_delete,
    order_event,
    order_transition,
    order_update,
    payment_delete,
    payment_event,
    payment_update,
    price_list_create,
    product_update,
)
from pearl.sales.tests.factories import at, order, payment


@pytest.fixture
def heard() -> Any:
    """Domain events dispatched after commit, as (name, payload)."""
    got: list[tuple[str, dict[str, Any]]] = []

    def handler(name: str, payload: dict[str, Any]) -> None:
        got.append((name, payload))

    events.subscribe("*", handler)
    yield got
    events.unsubscribe("*", handler)


# --- amounts -----------------------------------------------------------------------------------------


def test_line_amounts_round_to_the_fen_half_up() -> None:
    assert line_amounts(Decimal("1.005"), Decimal("3.33"), Decimal("0")) == (Decimal("3.35"), Decimal("3.35"))
    assert line_amounts(Decimal("2.5"), Decimal("10.01"), Decimal("0.03")) == (Decimal("25.03"), Decimal("25.00"))


def test_order_sums_lines_in_decimal(org, catalogue, customer, django_capture_on_commit_callbacks, heard) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        o = order_create(
            actor=org.owner,
            customer_id=customer.pk,
            lines=[
                {"product": catalogue.prawn.pk, "quantity": "12.5"},  # 125.00 at list price
                {"product": catalogue.crab.pk, "quantity": 3, "unit_price": "80", "discount": "0.5"},  # 240 - 0.5
                {"product": catalogue.sauce.pk, "quantity": "0.333"},  # 1.10889 → 1.11
            ],
            ordered_at=at(1),
        )
    assert (o.subtotal, o.discount, o.amount) == (Decimal("366.11"), Decimal("0.50"), Decimal("365.61"))
    assert o.cost is None  # the sauce has no cost: no margin rather than a wrong one
    amounts = list(o.lines.order_by("id").values_list("amount", flat=True))
    assert amounts == [Decimal("125.00"), Decimal("239.50"), Decimal("1.11")]
    assert o.number.startswith("SO" + timezone.localtime(o.ordered_at).strftime("%Y%m%d") + "-")
    assert o.due_date == timezone.localtime(o.ordered_at).date() + dt.timedelta(days=30)
    assert o.salesperson == org.owner and o.status == "placed" and o.version == 1
    assert ("order.changed", {"customer_id": customer.pk, "order_id": o.pk, "actor_id": org.owner.pk}) in heard


def test_cost_is_summed_when_every_product_has_one(org, catalogue, customer) -> None:
    o = order(org.owner, customer.pk, [(catalogue.prawn, "2"), (catalogue.crab, "1")])
    assert o.cost == Decimal("62.00") and o.amount == Decimal("108.50")


def test_numbers_count_up_per_day(org, catalogue, customer) -> None:
    first = order(org.owner, customer.pk, [(catalogue.prawn, "1")])
    second = order(org.owner, customer.pk, [(catalogue.prawn, "1")])
    assert int(second.number[-4:]) == int(first.number[-4:]) + 1
    assert first.number[:-4] == second.number[:-4]


def test_a_number_taken_by_a_bulk_load_is_skipped(org, catalogue, customer) -> None:
    o = order(org.owner, customer.pk, [(catalogue.prawn, "1")])
    day = o.number[2:10]
    # A loader wrote SO…-0002 … -0006 without the counter.
    Order.objects.bulk_create(
        [Order(number=f"SO{day}-{n:04d}", customer=customer, ordered_at=o.ordered_at) for n in range(2, 7)]
    )
    nxt = order(org.owner, customer.pk, [(catalogue.prawn, "1")])
    assert nxt.number == f"SO{day}-0007"
    assert NumberSequence.objects.get(key=f"SO{day}").last == 7


def test_price_defaults_to_the_customer_types_price_list(org, catalogue) -> None:
    from pearl.customers.tests.factories import make_customer

    kind = ChoiceOption.objects.filter(list_name=ChoiceList.CUSTOMER_TYPE).first()
    assert kind is not None
    price_list_create(
        actor=org.admin,
        data={"name": "酒楼价", "customer_type": kind.pk, "items": [{"product": catalogue.prawn.pk, "price": "9.20"}]},
    )
    typed = make_customer(org.owner, customer_type=kind.pk)
    o = order(org.owner, typed.pk, [(catalogue.prawn, "10"), (catalogue.crab, "1")])
    prices = dict(o.lines.values_list("product__sku", "unit_price"))
    assert prices == {"P-001": Decimal("9.20"), "C-001": Decimal("88.50")}
    PriceList.objects.update(is_active=False)
    o2 = order(org.owner, typed.pk, [(catalogue.prawn, "1")])
    assert o2.lines.get().unit_price == Decimal("10.00")


# --- bad lines ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "field", "text"),
    [
        ({"quantity": "-2"}, "lines.0.quantity", "must be more than zero (got -2)"),
        ({"quantity": "0"}, "lines.0.quantity", "must be more than zero"),
        ({"quantity": "abc"}, "lines.0.quantity", "Enter a number"),
        ({"quantity": "1.2345"}, "lines.0.quantity", "At most 3 decimal places"),
        ({"quantity": "1", "discount": "10.01"}, "lines.0.discount", "more than the line's ¥10.00"),
        ({"quantity": "1", "unit_price": "-1"}, "lines.0.unit_price", "Must not be negative"),
        ({"quantity": "NaN"}, "lines.0.quantity", "Enter a number"),
        ({"quantity": "999999999", "unit_price": "9999999"}, "lines.0.quantity", "comes to more than ¥"),
    ],
)
def test_bad_lines_are_refused_with_a_clear_message_and_nothing_written(
    org, catalogue, customer, line, field, text
) -> None:
    with pytest.raises(ValidationFailed) as exc:
        order_create(
            actor=org.owner, customer_id=customer.pk, lines=[{"product": catalogue.prawn.pk, **line}], ordered_at=at()
        )
    assert text in str(exc.value.field_errors[field][0])
    assert "Line 1" in str(exc.value.field_errors[field][0])
    assert not Order.objects.exists() and not OrderLine.objects.exists() and not TimelineEvent.objects.exists()
    assert not NumberSequence.objects.exists()


def test_off_sale_and_unknown_products_and_empty_orders_are_refused(org, catalogue, customer) -> None:
    with pytest.raises(ValidationFailed) as exc:
        order_create(
            actor=org.owner,
            customer_id=customer.pk,
            lines=[{"product": catalogue.retired.pk, "quantity": 1}, {"product": 10**9, "quantity": 1}],
        )
    assert "not on sale" in str(exc.value.field_errors["lines.0.product"][0])
    assert "choose an existing product" in str(exc.value.field_errors["lines.1.product"][0])
    with pytest.raises(ValidationFailed) as exc:
        order_create(actor=org.owner, customer_id=customer.pk, lines=[])
    assert "lines" in exc.value.field_errors
    assert not Order.objects.exists()


def test_orders_for_customers_out_of_scope_are_not_found(org, catalogue, other_customer) -> None:
    with pytest.raises(NotFound):
        order(org.owner, other_customer.pk, [(catalogue.prawn, "1")])
    with pytest.raises(PermissionDenied):
        order(org.service, other_customer.pk, [(catalogue.prawn, "1")])


# --- edit, transitions, delete -----------------------------------------------------------------------


def test_edit_lines_while_placed_and_history_and_timeline_follow(org, catalogue, customer) -> None:
    o = order(org.owner, customer.pk, [(catalogue.prawn, "1")])
    o = order_update(
        actor=org.owner,
        order_id=o.pk,
        data={"note": "早上送"},
        lines=[{"product": catalogue.crab.pk, "quantity": "2"}],
        expected_version=1,
    )
    assert o.amount == Decimal("177.00") and o.version == 2 and o.note == "早上送"
    history = list(ChangeLog.objects.filter(root_type="sales.order", root_id=o.pk).order_by("id"))
    assert [h.action for h in history] == ["create", "update"]
    assert history[1].changes["amount"] == ["10.00", "177.00"]
    assert history[1].changes["lines"][1] == ["C-001 × 2 @ 88.50 = 177.00"]
    event = TimelineEvent.objects.get(subject_type="sales.order", subject_id=o.pk)
    assert event.payload["amount"] == "177.00" and event.payload["categories"] == ["蟹"]
    assert "177.00" in event.title


def test_stale_version_is_412(org, catalogue, customer) -> None:
    o = order(org.owner, customer.pk, [(catalogue.prawn, "1")])
    order_update(actor=org.owner, order_id=o.pk, data={"note": "a"}, expected_version=1)
    with pytest.raises(PreconditionFailed):
        order_update(actor=org.owner, order_id=o.pk, data={"note": "b"}, expected_version=1)
    assert Order.objects.get().note == "a"


def test_transitions_follow_the_map(org, catalogue, customer, django_capture_on_commit_callbacks, heard) -> None:
    o = order(org.owner, customer.pk, [(catalogue.prawn, "1")])
    with pytest.raises(Conflict) as exc:
        order_transition(actor=org.owner, order_id=o.pk, status="delivered")
    assert "cannot go from Placed to Delivered" in str(exc.value.message)
    for status in ("picking", "shipped", "delivered"):
        with django_capture_on_commit_callbacks(execute=True):
            o = order_transition(actor=org.owner, order_id=o.pk, status=status)
    assert o.status == "delivered" and o.delivered_at is not None
    assert TimelineEvent.objects.get(subject_id=o.pk, subject_type="sales.order").payload["status"] == "delivered"
    assert [n for n, _p in heard].count("order.changed") == 3
    with pytest.raises(Conflict):
        order_transition(actor=org.owner, order_id=o.pk, status="cancelled")
    with pytest.raises(Conflict) as exc:
        order_update(actor=org.owner, order_id=o.pk, data={"note": "x"})
    assert "Only a placed order can be edited" in str(exc.value.message)
    with pytest.raises(ValidationFailed):
        order_transition(actor=org.owner, order_id=o.pk, status="lost")


def test_cancel_with_a_payment_is_refused_until_the_payment_goes(org, catalogue, customer) -> None:
    o = order(org.owner, customer.pk, [(catalogue.prawn, "10")])
    p = payment(org.owner, customer.pk, "50")
    with pytest.raises(Conflict) as exc:
        order_transition(actor=org.owner, order_id=o.pk, status="cancelled")
    assert "delete the payment or reallocate" in str(exc.value.message)
    with pytest.raises(Conflict):
        order_delete(actor=org.admin, order_id=o.pk)
    payment_delete(actor=org.admin, payment_id=p.pk)
    o = order_transition(actor=org.owner, order_id=o.pk, status="cancelled")
    assert o.status == "cancelled"
    title = TimelineEvent.objects.get(subject_type="sales.order").title  # written in the language active then
    assert "(cancelled)" in title or "（已取消）" in title


def test_delete_removes_the_timeline_event_and_keeps_the_history(org, catalogue, customer) -> None:
    o = order(org.manager, customer.pk, [(catalogue.prawn, "1")])
    with pytest.raises(PermissionDenied):
        order_delete(actor=org.owner, order_id=o.pk)  # sales may not delete
    order_transition(actor=org.manager, order_id=o.pk, status="picking")
    with pytest.raises(Conflict):
        order_delete(actor=org.manager, order_id=o.pk)
    o2 = order(org.manager, customer.pk, [(catalogue.prawn, "1")])
    order_delete(actor=org.manager, order_id=o2.pk)
    assert not Order.objects.filter(pk=o2.pk).exists()
    assert not TimelineEvent.objects.filter(subject_type="sales.order", subject_id=o2.pk).exists()
    assert ChangeLog.objects.filter(root_type="sales.order", root_id=o2.pk, action="delete").exists()


def test_order_event_is_what_the_service_recorded(org, catalogue, customer, settings) -> None:
    settings.LANGUAGE_CODE = "en"  # titles are written in the site's language
    o = order(org.owner, customer.pk, [(catalogue.prawn, "1"), (catalogue.crab, "1"), (catalogue.sauce, "3")])
    stored = TimelineEvent.objects.get(subject_type="sales.order", subject_id=o.pk)
    built = order_event(Order.objects.get(pk=o.pk))
    assert (built.title, built.payload, built.occurred_at) == (stored.title, stored.payload, stored.occurred_at)
    assert stored.kind == "order" and stored.customer_id == customer.pk
    assert stored.payload == {
        "number": o.number,
        "amount": "108.49",
        "status": "placed",
        "lines": 3,
        "categories": ["虾", "蟹", "调料"],
    }
    assert stored.title == f"Order {o.number} · ¥108.49 · 3 items"


# --- payments ----------------------------------------------------------------------------------------


def test_payment_without_allocations_pays_oldest_due_first(
    org, catalogue, customer, django_capture_on_commit_callbacks, heard
) -> None:
    old = order(org.owner, customer.pk, [(catalogue.prawn, "10")], ordered_at=at(60))  # 100, overdue
    new = order(org.owner, customer.pk, [(catalogue.prawn, "20")], ordered_at=at(5))  # 200
    with django_capture_on_commit_callbacks(execute=True):
        p = payment(org.owner, customer.pk, "150.00", method="wechat", reference="WX123")
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.paid_amount, new.paid_amount) == (Decimal("100.00"), Decimal("50.00"))
    assert old.paid_at == p.received_at and new.paid_at is None
    assert p.number.startswith("SK")
    assert dict(p.allocations.values_list("order_id", "amount")) == {old.pk: Decimal("100"), new.pk: Decimal("50")}
    payload = next(pl for n, pl in heard if n == "payment.changed")
    assert payload == {
        "customer_id": customer.pk,
        "payment_id": p.pk,
        "order_ids": [old.pk, new.pk],
        "actor_id": org.owner.pk,
    }
    event = TimelineEvent.objects.get(subject_type="sales.payment", subject_id=p.pk)
    assert event.kind == "payment" and event.payload["amount"] == "150.00" and event.payload["method"] == "wechat"
    assert [o["number"] for o in event.payload["orders"]] == [old.number, new.number]
    assert payment_event(p).payload == event.payload


def test_overpayment_is_refused_with_what_is_owed(org, catalogue, customer) -> None:
    order(org.owner, customer.pk, [(catalogue.prawn, "10")])
    with pytest.raises(ValidationFailed) as exc:
        payment(org.owner, customer.pk, "100.01")
    assert "more than the ¥100.00 the customer owes" in str(exc.value.message)
    assert exc.value.field_errors["amount"]
    assert not Payment.objects.exists() and Order.objects.get().paid_amount == 0
    with pytest.raises(ValidationFailed) as exc:
        payment(org.owner, customer.pk, "-5")
    assert "amount" in exc.value.field_errors


def test_explicit_allocations_are_checked(org, catalogue, customer, other_customer) -> None:
    a = order(org.owner, customer.pk, [(catalogue.prawn, "10")])  # 100
    b = order(org.owner, customer.pk, [(catalogue.prawn, "5")])  # 50
    foreign = order(org.outsider, other_customer.pk, [(catalogue.prawn, "5")])
    cancelled = order(org.owner, customer.pk, [(catalogue.prawn, "1")])
    order_transition(actor=org.owner, order_id=cancelled.pk, status="cancelled")
    with pytest.raises(ValidationFailed) as exc:
        payment(org.owner, customer.pk, "60", allocations=[{"order": b.pk, "amount": "60"}])
    assert "more than the ¥50.00 still owed" in str(exc.value.field_errors["allocations.0.amount"][0])
    with pytest.raises(ValidationFailed) as exc:
        payment(org.owner, customer.pk, "10", allocations=[{"order": foreign.pk, "amount": "10"}])
    assert "belongs to another customer" in str(exc.value.field_errors["allocations.0.order"][0])
    with pytest.raises(ValidationFailed) as exc:
        payment(org.owner, customer.pk, "10", allocations=[{"order": cancelled.pk, "amount": "10"}])
    assert "is cancelled" in str(exc.value.field_errors["allocations.0.order"][0])
    with pytest.raises(ValidationFailed) as exc:
        payment(org.owner, customer.pk, "30", allocations=[{"order": a.pk, "amount": "20"}])
    assert "add up to ¥20.00 but the payment is ¥30.00" in str(exc.value.field_errors["allocations"][0])
    assert not Payment.objects.exists() and not PaymentAllocation.objects.exists()
    p = payment(
        org.owner, customer.pk, "70", allocations=[{"order": b.pk, "amount": "50"}, {"order": a.pk, "amount": "20"}]
    )
    b.refresh_from_db()
    assert b.paid_at is not None and b.paid_amount == Decimal("50.00")
    assert p.allocations.count() == 2


def test_delete_payment_reverses_allocations(org, catalogue, customer, django_capture_on_commit_callbacks, heard):
    a = order(org.owner, customer.pk, [(catalogue.prawn, "10")])
    p = payment(org.owner, customer.pk, "100")
    a.refresh_from_db()
    assert a.paid_at is not None and a.version == 2
    with django_capture_on_commit_callbacks(execute=True):
        payment_delete(actor=org.manager, payment_id=p.pk)
    a.refresh_from_db()
    assert a.paid_amount == 0 and a.paid_at is None
    assert not TimelineEvent.objects.filter(subject_type="sales.payment").exists()
    assert ("payment.changed", {"customer_id": customer.pk, "payment_id": p.pk, "order_ids": [a.pk],
            "actor_id": org.manager.pk}) in heard  # fmt: skip


def test_lines_cannot_drop_below_what_was_paid(org, catalogue, customer) -> None:
    a = order(org.owner, customer.pk, [(catalogue.prawn, "10")])
    payment(org.owner, customer.pk, "80")
    with pytest.raises(ValidationFailed) as exc:
        order_update(actor=org.owner, order_id=a.pk, lines=[{"product": catalogue.prawn.pk, "quantity": "5"}])
    assert "less than the ¥80.00 already paid" in str(exc.value.message)
    assert Order.objects.get().amount == Decimal("100.00")


def test_outsider_cannot_pay_or_touch_others_orders(org, catalogue, customer) -> None:
    a = order(org.owner, customer.pk, [(catalogue.prawn, "10")])
    with pytest.raises(NotFound):
        payment(org.outsider, customer.pk, "10")
    with pytest.raises(NotFound):
        order_transition(actor=org.outsider, order_id=a.pk, status="picking")


# --- catalogue and billing --------------------------------------------------------------------------


def test_catalogue_needs_the_settings_right_and_unique_skus(org, catalogue) -> None:
    with pytest.raises(PermissionDenied):
        product_update(actor=org.manager, product_id=catalogue.prawn.pk, data={"price": "11"})
    with pytest.raises(ValidationFailed) as exc:
        product_update(actor=org.admin, product_id=catalogue.prawn.pk, data={"sku": "C-001", "price": "-1"})
    assert "belongs to “大闸蟹” already" in str(exc.value.field_errors["sku"][0])
    assert "price" in exc.value.field_errors
    p = product_update(actor=org.admin, product_id=catalogue.prawn.pk, data={"price": "11.5"}, expected_version=1)
    assert p.price == Decimal("11.50") and p.version == 2


def test_billing_checks_the_tax_id(org, customer) -> None:
    with pytest.raises(ValidationFailed) as exc:
        billing_update(actor=org.owner, customer_id=customer.pk, data={"title": "鑫海", "tax_id": "12345"})
    assert "15, 18 or 20" in str(exc.value.field_errors["tax_id"][0])
    with pytest.raises(ValidationFailed) as exc:
        billing_update(actor=org.owner, customer_id=customer.pk, data={"title": "鑫海", "invoice_type": "special"})
    assert {"tax_id", "bank", "account"} <= set(exc.value.field_errors)
    billing = billing_update(
        actor=org.owner, customer_id=customer.pk, data={"title": "鑫海", "tax_id": "91440101mA5ABCDE1x"}
    )
    assert billing.tax_id == "91440101MA5ABCDE1X" and billing.version == 1
    with pytest.raises(NotFound):
        billing_update(actor=org.outsider, customer_id=customer.pk, data={"title": "x"})
    assert ChangeLog.objects.filter(root_type="customers.customer", root_id=customer.pk,
                                    object_type="sales.customerbilling").exists()  # fmt: skip


def test_moving_a_payment_in_time_moves_the_paid_date_of_what_it_paid(org, catalogue, customer) -> None:
    a = order(org.owner, customer.pk, [(catalogue.prawn, "10")], ordered_at=at(20))
    b = order(org.owner, customer.pk, [(catalogue.prawn, "10")], ordered_at=at(10))
    p = payment(org.owner, customer.pk, "150", received_at=at(2))
    earlier = at(5)
    payment_update(actor=org.owner, payment_id=p.pk, data={"received_at": earlier, "reference": "X1"})
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.paid_at == earlier and b.paid_at is None  # b is only half paid
    event = TimelineEvent.objects.get(subject_type="sales.payment", subject_id=p.pk)
    assert event.occurred_at == earlier
    with pytest.raises(ValidationFailed) as exc:
        payment_update(actor=org.owner, payment_id=p.pk, data={"amount": "1"})
    assert "delete the payment and record it again" in str(exc.value.field_errors["amount"][0])
