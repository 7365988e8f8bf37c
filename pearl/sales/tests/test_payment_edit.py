"""Editing a payment (回款) on the pages: through ``services.payment_update``, so its refusals, its
version check and its scope apply as through the API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from pearl.sales.models import Order, Payment
from pearl.sales.services import payment_update
from pearl.sales.tests.factories import order, payment


@pytest.fixture
def owner(en: Any, org: Any) -> Any:
    en.force_login(org.owner)
    return en


def _client(user: Any) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(user)
    return client


def _form(p: Payment, **overrides: str) -> dict[str, str]:
    """What the edit page posts when the user changes only ``overrides``."""
    data = {
        "received_at": timezone.localtime(p.received_at).strftime("%Y-%m-%dT%H:%M"), "method": p.method,
        "reference": p.reference, "note": p.note, "version": str(p.version),
    }  # fmt: skip
    data.update(overrides)
    return data


def _paid(pk: int) -> Payment:
    p = Payment.objects.get(pk=pk)
    assert p.recorded_by_id is not None
    return p


def test_edit_a_payment_through_the_page(owner, org, catalogue, customer) -> None:
    o = order(org.owner, customer.pk, [(catalogue.prawn, "10")])  # ¥100
    p = payment(org.owner, customer.pk, "100", received_at=timezone.now() - dt.timedelta(days=3), note="首款")
    o.refresh_from_db()
    assert o.paid_at == p.received_at  # this payment finished paying the order
    # Reachable from the detail page and the list.
    edit_url = reverse("sales:payment_edit", args=[p.pk])
    assert edit_url in owner.get(reverse("sales:payment_detail", args=[p.pk])).text
    assert edit_url in owner.get(reverse("sales:payment_list")).text
    r = owner.get(edit_url)
    assert r.status_code == 200 and 'value="首款"' in r.text and "delete the payment and record it again" in r.text
    moved = timezone.localtime(timezone.now() - dt.timedelta(days=1)).replace(second=0, microsecond=0)
    data = _form(p, method="wechat", reference="WX-889", note="微信补录", received_at=moved.strftime("%Y-%m-%dT%H:%M"))
    r = owner.post(edit_url, data)
    assert r.status_code == 302 and r["Location"] == reverse("sales:payment_detail", args=[p.pk])
    saved = _paid(p.pk)
    assert (saved.method, saved.reference, saved.note) == ("wechat", "WX-889", "微信补录")
    assert saved.received_at == moved and saved.version == p.version + 1
    assert saved.amount == Decimal("100.00")
    o.refresh_from_db()
    assert o.paid_at == moved  # the service moved the order's paid date along with the payment
    assert f"Payment {p.number} saved." in owner.get(r["Location"]).text


def test_a_refused_edit_shows_the_message_and_writes_nothing(owner, org, catalogue, customer) -> None:
    order(org.owner, customer.pk, [(catalogue.prawn, "10")])
    p = payment(org.owner, customer.pk, "40", note="原备注")
    url = reverse("sales:payment_edit", args=[p.pk])
    # A date the service refuses, sent together with a valid change of the note: neither is saved.
    r = owner.post(url, _form(p, note="新备注", received_at="1999-12-31T10:00"))
    assert r.status_code == 422
    assert "Please correct the marked fields." in r.text and "The date must lie between 2000" in r.text
    assert 'value="新备注"' in r.text  # what was typed stays on the form
    r = owner.post(url, _form(p, note="新备注", received_at=""))
    assert r.status_code == 422 and "Enter a valid date and time" in r.text
    saved = _paid(p.pk)
    assert (saved.note, saved.received_at, saved.version) == ("原备注", p.received_at, p.version)


def test_the_amount_and_allocations_cannot_be_changed_through_the_edit_page(owner, org, catalogue, customer) -> None:
    # The service keeps the amount fixed (delete and record again); a posted amount must not slip through.
    o = order(org.owner, customer.pk, [(catalogue.prawn, "10")])
    p = payment(org.owner, customer.pk, "40")
    r = owner.post(reverse("sales:payment_edit", args=[p.pk]),
                   {**_form(p, note="改金额"), "amount": "100", f"alloc-{o.pk}": "100", "customer": "1"})  # fmt: skip
    assert r.status_code == 302
    saved = _paid(p.pk)
    assert saved.amount == Decimal("40.00") and saved.note == "改金额" and saved.customer_id == customer.pk
    assert list(saved.allocations.values_list("order_id", "amount")) == [(o.pk, Decimal("40.00"))]
    assert Order.objects.get(pk=o.pk).paid_amount == Decimal("40.00")


def test_a_stale_edit_is_refused(owner, org, catalogue, customer) -> None:
    order(org.owner, customer.pk, [(catalogue.prawn, "10")])
    p = payment(org.owner, customer.pk, "40")
    loaded = _form(p, note="我的修改")  # the page was loaded at this version…
    payment_update(actor=org.owner, payment_id=p.pk, data={"note": "别人的修改"})  # …then someone saved
    r = owner.post(reverse("sales:payment_edit", args=[p.pk]), loaded)
    assert r.status_code == 412 and "Someone else changed this payment meanwhile" in r.text
    assert _paid(p.pk).note == "别人的修改"
    r = owner.post(reverse("sales:payment_edit", args=[p.pk]), {**loaded, "version": "x"})
    assert r.status_code == 422 and _paid(p.pk).note == "别人的修改"


def test_outsider_gets_404_and_a_role_without_edit_403(en, org, catalogue, customer) -> None:
    order(org.owner, customer.pk, [(catalogue.prawn, "10")])
    p = payment(org.owner, customer.pk, "40", note="原备注")
    url = reverse("sales:payment_edit", args=[p.pk])
    outsider = _client(org.outsider)
    assert outsider.get(url).status_code == 404
    assert outsider.post(url, _form(p, note="越权")).status_code == 404
    assert _client(org.teammate).post(url, _form(p, note="越权")).status_code == 404  # sales see their own only
    assert _client(org.owner).get(reverse("sales:payment_edit", args=[p.pk + 1000])).status_code == 404
    finance = _client(org.finance)  # sees every payment, may not edit
    assert finance.get(url).status_code == 403
    assert finance.post(url, _form(p, note="越权")).status_code == 403
    assert url not in finance.get(reverse("sales:payment_detail", args=[p.pk])).text
    assert _paid(p.pk).note == "原备注"
