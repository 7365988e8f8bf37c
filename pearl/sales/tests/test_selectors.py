"""Reads: a record is visible iff its customer is; filters; number search as a key range."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from pearl.core.errors import NotFound, ValidationFailed
from pearl.sales import selectors
from pearl.sales.filters import _after, number_q
from pearl.sales.services import billing_update
from pearl.sales.tests.factories import order, payment


@pytest.fixture
def book(org, catalogue, customer, other_customer):
    mine = order(org.owner, customer.pk, [(catalogue.prawn, "10")], ordered_at=timezone.now() - dt.timedelta(days=40))
    theirs = order(org.outsider, other_customer.pk, [(catalogue.crab, "1")])
    paid = payment(org.owner, customer.pk, "30")
    billing_update(actor=org.owner, customer_id=customer.pk, data={"title": "鑫海"})
    return mine, theirs, paid


def test_outsider_sees_nothing_of_another_teams_customer(org, book, customer) -> None:
    mine, theirs, paid = book
    who = org.outsider
    assert list(selectors.order_list(actor=who)) == [theirs]
    assert not selectors.payment_list(actor=who).exists()
    assert list(selectors.receivable_list(actor=who)) == [theirs]
    assert selectors.receivable_summary(actor=who).total == Decimal("88.50")
    for read in (
        lambda: selectors.order_get(actor=who, order_id=mine.pk),
        lambda: selectors.order_history(actor=who, order_id=mine.pk),
        lambda: selectors.payment_get(actor=who, payment_id=paid.pk),
        lambda: selectors.billing_get(actor=who, customer_id=customer.pk),
        lambda: selectors.customer_sales_overview(actor=who, customer_id=customer.pk),
        lambda: selectors.unpaid_orders_of(actor=who, customer_id=customer.pk),
        lambda: selectors.customer_price(actor=who, customer_id=customer.pk, product_id=1),
    ):
        with pytest.raises(NotFound):
            read()


def test_scopes_of_the_other_roles(org, book) -> None:
    mine, theirs, _paid = book
    assert set(selectors.order_list(actor=org.manager)) == {mine, theirs}  # the region's subtree
    assert set(selectors.order_list(actor=org.finance)) == {mine, theirs}  # all
    assert list(selectors.order_list(actor=org.service)) == [mine]  # team 一组
    assert list(selectors.order_list(actor=org.teammate)) == []  # sales see their own customers only
    assert list(selectors.order_list(actor=org.owner, filters={"owner": "me"})) == [mine]


def test_filters(org, book, customer) -> None:
    mine, _theirs, _paid = book
    admin = org.admin
    assert list(selectors.order_list(actor=admin, filters={"overdue": "true"})) == [mine]
    assert list(selectors.order_list(actor=admin, filters={"customer": customer.pk})) == [mine]
    assert selectors.order_list(actor=admin, filters={"period": "30d"}).count() == 1
    assert selectors.order_list(actor=admin, filters={"status": "picking"}).count() == 0
    with pytest.raises(ValidationFailed) as exc:
        selectors.order_list(actor=admin, filters={"date_from": "2026-12-01", "date_to": "2026-11-01"})
    assert "date_to" in exc.value.field_errors
    with pytest.raises(ValidationFailed):
        selectors.order_list(actor=admin, filters={"owner": "bob"})
    receivables = list(selectors.receivable_list(actor=admin, filters={"bucket": "1_30"}))
    assert receivables == [mine] and selectors.days_overdue(mine) == 10
    assert receivables[0].outstanding == Decimal("70.00")  # 100 less the 30 paid


def test_number_search_is_a_key_range(org, catalogue, customer) -> None:
    o = order(org.owner, customer.pk, [(catalogue.prawn, "1")])
    day = o.number[:10]
    for text in (o.number, o.number.lower(), day, day + "-", day[:8], o.number[:-1]):
        assert list(selectors.order_list(actor=org.admin, filters={"q": text})) == [o], text
    assert not selectors.order_list(actor=org.admin, filters={"q": "SO19990101"}).exists()
    assert _after("SO20261129") == "SO2026112A" and _after("SO2Z") == "SO3" and _after("ZZ") is None
    assert "number__lt" in str(number_q("SO2026")) and str(number_q(o.number)) == str(number_q(o.number.lower()))
