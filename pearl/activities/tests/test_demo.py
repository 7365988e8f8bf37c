"""The demo's contact history: calls, visits, WeChat summaries and complaints, each on the timeline."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest
from django.utils import timezone

from pearl.accounts.models import User
from pearl.activities.models import Communication, Complaint, TimelineEvent
from pearl.activities.selectors.timeline import timeline_page
from pearl.activities.services.communications import communication_event
from pearl.activities.services.complaints import complaint_event
from pearl.core.context import Channel, acting_through
from pearl.customers import demo
from pearl.customers.models import Customer
from pearl.sales.choices import OrderStatus
from pearl.sales.models import Order

CUSTOMERS = 300


@pytest.fixture(autouse=True)
def fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def loaded(db: None) -> demo.DemoResult:
    with acting_through(Channel.COMMAND):
        return demo.build_demo(customers=CUSTOMERS, seed=4)


def test_calls_visits_and_wechat_with_purpose_place_and_outcome(loaded: demo.DemoResult) -> None:
    communications = list(Communication.objects.select_related("customer", "contact"))
    kinds = Counter(c.kind for c in communications)
    assert set(kinds) == {"call", "wechat", "visit", "note", "meeting", "email"}
    assert kinds["call"] > kinds["visit"] > kinds["email"]
    now = timezone.now()
    for c in communications:
        assert c.purpose and c.summary and c.outcome
        assert c.author_id == c.customer.owner_id
        assert c.customer.created_at <= c.occurred_at <= now
        assert c.contact is None or c.contact.customer_id == c.customer_id
        if c.kind == "visit":
            assert c.place and c.duration_minutes
        if c.kind == "call":
            assert c.duration_minutes
        if c.next_follow_up_at is not None:
            assert c.next_follow_up_at > c.occurred_at
    follow_ups = [c for c in communications if c.next_follow_up_at is not None]
    assert any(c.next_follow_up_at > now for c in follow_ups)  # type: ignore[operator]
    assert all(c.occurred_at > now - dt.timedelta(days=46) for c in follow_ups)  # the last month, debts 45 d
    # Customers who owe overdue money get collection calls.
    today = timezone.localdate()
    debtors = {
        o.customer_id
        for o in Order.objects.exclude(status=OrderStatus.CANCELLED)
        if o.paid_amount < o.amount and o.due_date is not None and o.due_date < today
    }
    chased = {c.customer_id for c in communications if c.purpose == "催收货款"}
    assert debtors and chased == debtors


def test_complaints_with_statuses_resolutions_and_orders(loaded: demo.DemoResult) -> None:
    complaints = list(Complaint.objects.select_related("order"))
    assert complaints
    statuses = Counter(c.status for c in complaints)
    assert statuses["closed"] + statuses["resolved"] > 0
    # Both kinds are drawn (3 of the templates are feedback); 300 customers give only a dozen or so
    # complaints, and on some dates none of them is feedback, so only complaints are required here.
    kinds = {c.kind for c in complaints}
    assert "complaint" in kinds and kinds <= {"complaint", "feedback"}
    for c in complaints:
        assert c.title and c.description and c.category
        if c.status in ("resolved", "closed"):
            assert c.resolved_at is not None and c.resolved_at >= c.received_at and c.resolution
        else:
            assert c.resolved_at is None and not c.resolution
        if c.order is not None:
            assert c.order.customer_id == c.customer_id and c.order.ordered_at <= c.received_at


def _event_fields(event: Any) -> tuple[Any, ...]:
    return (
        event.customer_id,
        event.kind,
        event.occurred_at,
        event.actor_id,
        event.actor_label,
        event.channel,
        event.subject_type,
        event.subject_id,
        event.title,
        event.payload,
    )


def test_each_communication_and_complaint_is_on_the_timeline_as_the_services_write_it(
    loaded: demo.DemoResult,
) -> None:
    communications = Communication.objects.select_related("author", "contact").order_by("id")
    complaints = Complaint.objects.select_related("handler").order_by("id")
    assert TimelineEvent.objects.filter(subject_type="activities.communication").count() == communications.count()
    assert TimelineEvent.objects.filter(kind="complaint").count() == complaints.count()
    with acting_through(Channel.COMMAND):
        for c in communications[:200]:
            stored = TimelineEvent.objects.get(subject_type="activities.communication", subject_id=c.pk)
            assert _event_fields(stored) == _event_fields(communication_event(c).row())
        for complaint in complaints:
            stored = TimelineEvent.objects.get(subject_type="activities.complaint", subject_id=complaint.pk)
            assert _event_fields(stored) == _event_fields(complaint_event(complaint).row())


def test_a_customers_timeline_shows_its_orders_payments_and_calls(loaded: demo.DemoResult) -> None:
    kinds = set(TimelineEvent.objects.values_list("kind", flat=True))
    assert {"order", "payment", "call", "visit", "wechat", "complaint"} <= kinds
    busiest = Counter(TimelineEvent.objects.values_list("customer_id", flat=True)).most_common(1)[0][0]
    owner_id = Customer.objects.get(pk=busiest).owner_id
    assert owner_id is not None
    owner = User.objects.get(pk=owner_id)
    page = timeline_page(actor=owner, customer_id=busiest, limit=200)
    seen = {item.kind for item in page.items}
    assert {"order", "payment"} <= seen
    times = [item.occurred_at for item in page.items]
    assert times == sorted(times, reverse=True)
