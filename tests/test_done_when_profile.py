"""Issue 4's "done when", end to end on the demo company: a manager opens a demo customer and sees its
purchase history, figures, grade, tags, calls and overdue payments on one page; a channel event posted
with that customer's known mobile lands on it, and a replay creates nothing. (Logging a visit and
seeing it on the timeline in a browser: ``tests/e2e/test_visit_log.py``.)"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.management import call_command
from django.template.defaultfilters import floatformat
from django.test import Client
from django.utils import timezone, translation

from pearl.accounts.models import User
from pearl.accounts.services import token_create
from pearl.activities.models import Communication, TimelineEvent
from pearl.analytics.models import CustomerFigures
from pearl.analytics.services import grading_rule_create, smart_tag_create
from pearl.customers.models import Customer, Identity
from pearl.sales.choices import OrderStatus
from pearl.sales.models import Order

EN = {"Accept-Language": "en"}


@pytest.fixture(autouse=True)
def fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _money(value: Any) -> str:
    with translation.override("en"):
        return "¥" + str(floatformat(value, "2g"))


def test_a_manager_sees_the_whole_customer_and_a_channel_event_lands_on_it(db: None) -> None:
    # `pearl demo` as `make demo` runs it (orders, payments, calls…, then the figures), smaller.
    call_command("demo", "--customers", "200", "--seed", "4", "--no-serve", verbosity=0)
    admin = User.objects.get(username="admin")
    # What an admin sets up on /insights/: grading by 12-month revenue, and a smart tag.
    grading_rule_create(actor=admin, data={"grade": "A", "order": 1, "min_revenue_12m": "1", "is_active": True})
    grading_rule_create(actor=admin, data={"grade": "C", "order": 2, "is_active": True})
    smart_tag_create(actor=admin, data={"name": "近一年下过单", "is_active": True,
                                        "conditions": [{"field": "orders_12m", "op": "gte", "value": 1}]})  # fmt: skip
    call_command("sweep", verbosity=0)

    today = timezone.localdate()
    overdue = Order.objects.exclude(status=OrderStatus.CANCELLED).filter(due_date__lt=today)
    debtors = {o.customer_id for o in overdue if o.paid_amount < o.amount}
    called = set(Communication.objects.filter(kind="call").values_list("customer_id", flat=True))
    recent_buyers = set(CustomerFigures.objects.filter(orders_12m__gte=1).values_list("customer_id", flat=True))
    chosen = sorted(debtors & called & recent_buyers)
    assert chosen, "the demo has customers who bought this year, were called and owe overdue money"
    customer = Customer.objects.get(pk=chosen[0])
    figures = CustomerFigures.objects.get(customer=customer)
    assert customer.grade == "A" and figures.overdue_amount > 0
    assert TimelineEvent.objects.filter(customer=customer, kind="grade").exists()

    client = Client()
    client.force_login(User.objects.get(username="manager"))
    page = client.get(f"/customers/{customer.pk}/", headers=EN)
    assert page.status_code == 200
    html = page.content.decode()
    # purchase history: the latest orders, numbered, on the page
    latest = Order.objects.filter(customer=customer).order_by("-ordered_at", "-id")[:3]
    assert all(o.number in html for o in latest)
    # figures kept from the events (not computed on view)
    assert f"{figures.order_count} orders" in html
    assert _money(figures.revenue_total) in html and _money(figures.overdue_amount) in html
    # grade and tags, the smart one among them
    assert "<dt>Grade</dt><dd>A</dd>" in html
    assert "近一年下过单" in html
    assert all(t.name in html for t in customer.tags.all())
    # calls on the timeline, and the overdue orders with what is still owed
    last_call = Communication.objects.filter(customer=customer, kind="call").order_by("-occurred_at").first()
    assert last_call is not None
    timeline = client.get(f"/customers/{customer.pk}/", {"kind": "call"}, headers=EN).content.decode()
    assert last_call.purpose in timeline or last_call.summary[:20] in timeline
    assert "Overdue orders" in html
    owed = [o for o in overdue.filter(customer=customer) if o.paid_amount < o.amount]
    assert all(o.number in html for o in owed)

    # A channel event carrying the customer's known mobile (in the format a web form sends).
    mobile = Identity.objects.filter(customer=customer, kind="mobile").values_list("value", flat=True).first()
    assert mobile
    _token, secret = token_create(actor=None, user=admin)
    api = Client(headers={"Authorization": f"Bearer {secret}", **EN})
    posted = {
        "id": "web-2026-0001", "channel": "web", "type": "form_submitted",
        "occurred_at": timezone.now().isoformat(),
        "identifiers": {"mobile": f"+86 {mobile[:3]} {mobile[3:7]} {mobile[7:]}"},
        "payload": {"title": "询价 大闸蟹 20 斤"},
    }  # fmt: skip
    before = (Customer.objects.count(), TimelineEvent.objects.count())
    first = api.post("/api/v1/events", json.dumps(posted), content_type="application/json")
    assert first.status_code == 201, first.content
    assert first.json()["customer"] == customer.pk and first.json()["new"] is False
    assert (Customer.objects.count(), TimelineEvent.objects.count()) == (before[0], before[1] + 1)
    again = api.post("/api/v1/events", json.dumps(posted), content_type="application/json")
    assert again.status_code == 200 and again.json()["replay"] is True and again.json()["customer"] == customer.pk
    assert (Customer.objects.count(), TimelineEvent.objects.count()) == (before[0], before[1] + 1)
    # …and the manager sees it at the top of the customer's timeline.
    newest = client.get(f"/customers/{customer.pk}/timeline/", headers={**EN, "HX-Request": "true"}).content.decode()
    assert "询价 大闸蟹 20 斤" in newest.split('class="timeline-entry')[1]
