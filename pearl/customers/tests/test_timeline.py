"""The customer's timeline: stored events and change-log entries, merged newest first, by page, API and selector."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from pearl.activities.models import TimelineEvent
from pearl.activities.selectors import timeline_page
from pearl.activities.services import NewEvent, timeline_record, timeline_record_many
from pearl.core.errors import NotFound, ValidationFailed
from pearl.core.models import ChangeLog
from pearl.core.testing.personas import Org
from pearl.customers.models import Customer
from pearl.customers.services import customer_update
from pearl.customers.tests.factories import make_customer
from pearl.customers.tests.test_api import Api, assert_problem

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 5, 1, 9, 0, tzinfo=dt.UTC)


def _event(customer: Customer, minutes: int, kind: str = "call", title: str = "") -> NewEvent:
    return NewEvent(
        customer_id=customer.pk,
        kind=kind,
        occurred_at=T0 + dt.timedelta(minutes=minutes),
        title=title or f"{kind} at +{minutes}",
    )


def _walk(actor: Any, customer: Customer, limit: int, **filters: Any) -> list[str]:
    """Every key of the timeline, page by page, following the cursors."""
    keys: list[str] = []
    cursor = None
    for _ in range(1000):
        page = timeline_page(actor=actor, customer_id=customer.pk, cursor=cursor, limit=limit, **filters)
        keys += [item.key for item in page.items]
        cursor = page.next_cursor
        if cursor is None:
            return keys
    raise AssertionError("the cursor never ended")


def test_events_and_changes_are_merged_newest_first(org: Org) -> None:
    customer = make_customer(org.owner)  # writes one "create" change now (after T0)
    timeline_record(_event(customer, 0, "order"))
    timeline_record(_event(customer, 60, "visit"))
    page = timeline_page(actor=org.owner, customer_id=customer.pk)
    assert [item.kind for item in page.items] == ["change", "visit", "order"]
    assert page.next_cursor is None
    assert page.items[0].change is not None and page.items[0].change.action == "create"


def test_the_cursor_walks_every_entry_once_even_when_many_share_a_time(org: Org) -> None:
    customer = make_customer(org.owner)
    # 25 events at the same instant, 10 more spread out, and a few changes made now.
    timeline_record_many([_event(customer, 5) for _ in range(25)] + [_event(customer, m) for m in range(10)])
    for n in range(3):
        customer = customer_update(actor=org.owner, customer_id=customer.pk, data={"address": f"{n}号"})
    expected = set(
        [f"e{pk}" for pk in TimelineEvent.objects.filter(customer=customer).values_list("pk", flat=True)]
        + [f"c{pk}" for pk in ChangeLog.objects.filter(root_id=customer.pk).values_list("pk", flat=True)]
    )
    for limit in (1, 4, 7, 50):
        keys = _walk(org.owner, customer, limit)
        assert len(keys) == len(set(keys)) == len(expected) == 39
        assert set(keys) == expected
    times = [i.occurred_at for i in timeline_page(actor=org.owner, customer_id=customer.pk, limit=200).items]
    assert times == sorted(times, reverse=True)


def test_kind_and_period_filters(org: Org) -> None:
    customer = make_customer(org.owner)
    timeline_record_many(
        [_event(customer, 0, "order"), _event(customer, 60 * 24, "call"), _event(customer, 60 * 48, "visit")]
    )
    only_calls = timeline_page(actor=org.owner, customer_id=customer.pk, kinds=["call", "visit"])
    assert [i.kind for i in only_calls.items] == ["visit", "call"]
    changes = timeline_page(actor=org.owner, customer_id=customer.pk, kinds=["change"])
    assert [i.kind for i in changes.items] == ["change"]
    window = timeline_page(
        actor=org.owner, customer_id=customer.pk, since=T0 + dt.timedelta(hours=12), until=T0 + dt.timedelta(hours=36)
    )
    assert [i.kind for i in window.items] == ["call"]
    paged = _walk(org.owner, customer, 1, kinds=["order", "visit"])
    assert len(paged) == 2


def test_bad_filters_are_refused_by_name(org: Org) -> None:
    customer = make_customer(org.owner)
    with pytest.raises(ValidationFailed) as caught:
        timeline_page(actor=org.owner, customer_id=customer.pk, kinds=["orders"])
    assert "orders" in str(caught.value.message)
    with pytest.raises(ValidationFailed):
        timeline_page(actor=org.owner, customer_id=customer.pk, cursor="not-a-cursor")
    with pytest.raises(ValidationFailed):
        timeline_page(actor=org.owner, customer_id=customer.pk, cursor="1.7.3")


def test_outsider_sees_no_timeline(org: Org) -> None:
    customer = make_customer(org.owner)
    timeline_record(_event(customer, 0))
    with pytest.raises(NotFound):
        timeline_page(actor=org.outsider, customer_id=customer.pk)
    assert timeline_page(actor=org.manager, customer_id=customer.pk).items


# --- API ----------------------------------------------------------------------------------------------


def test_api_lists_the_timeline_with_filters_and_cursor(org: Org) -> None:
    customer = make_customer(org.owner)
    timeline_record_many([_event(customer, m, "order" if m % 2 else "call") for m in range(5)])
    api = Api(org.owner)
    body = json.loads(api.get(f"/customers/{customer.pk}/timeline", {"limit": 3}).content)
    assert [i["kind"] for i in body["items"]] == ["change", "call", "order"]
    assert body["items"][0]["payload"]["changes"]["name"][1] == customer.name
    assert body["next_cursor"]
    rest = json.loads(api.get(f"/customers/{customer.pk}/timeline", {"cursor": body["next_cursor"]}).content)
    assert [i["id"] for i in rest["items"]] and rest["next_cursor"] is None
    assert len(body["items"]) + len(rest["items"]) == 6
    orders = json.loads(api.get(f"/customers/{customer.pk}/timeline?kind=order&kind=change").content)
    assert {i["kind"] for i in orders["items"]} == {"order", "change"} and len(orders["items"]) == 3
    since = (T0 + dt.timedelta(minutes=3)).isoformat()
    recent = json.loads(api.get(f"/customers/{customer.pk}/timeline", {"since": since, "kind": "call"}).content)
    assert [i["title"] for i in recent["items"]] == ["call at +4"]


def test_api_refuses_bad_input_and_hides_other_customers(org: Org) -> None:
    customer = make_customer(org.owner)
    api = Api(org.owner)
    problem = assert_problem(api.get(f"/customers/{customer.pk}/timeline", {"kind": "orderz"}), 422)
    assert "orderz" in problem["detail"]
    assert_problem(api.get(f"/customers/{customer.pk}/timeline", {"cursor": "x"}), 422)
    assert_problem(api.get(f"/customers/{customer.pk}/timeline", {"limit": 1000}), 422)
    assert_problem(api.get(f"/customers/{customer.pk}/timeline", {"since": "yesterday"}), 422)
    assert_problem(api.get(f"/customers/{customer.pk}/timeline", {"colour": "red"}), 422)
    assert_problem(Api(org.outsider).get(f"/customers/{customer.pk}/timeline"), 404)


# --- page ---------------------------------------------------------------------------------------------


def test_detail_page_shows_the_timeline_and_loads_earlier_entries(en: Any, org: Org) -> None:
    customer = make_customer(org.owner)
    timeline_record_many([_event(customer, m, "visit", f"visit number {m}") for m in range(35)])
    en.force_login(org.owner)
    html = en.get(f"/customers/{customer.pk}/").content.decode()
    assert 'id="timeline"' in html and "visit number 34" in html
    assert "visit number 4" not in html  # only the first page of 30
    start = html.index('hx-get="/customers/', html.index('class="more"'))
    more = html[start + len('hx-get="') : html.index('"', start + len('hx-get="'))].replace("&amp;", "&")
    rest = en.get(more, HTTP_HX_REQUEST="true").content.decode()
    assert "visit number 4" in rest and "visit number 0" in rest and "visit number 34" not in rest
    assert "Data change" in html and "Data change" not in rest  # the creation (today) is the newest entry


def test_page_filters_by_kind_and_says_what_is_wrong(en: Any, org: Org) -> None:
    customer = make_customer(org.owner)
    timeline_record_many([_event(customer, 0, "order", "an order"), _event(customer, 1, "call", "a call")])
    en.force_login(org.owner)
    section = en.get(f"/customers/{customer.pk}/timeline/?kind=call", HTTP_HX_REQUEST="true").content.decode()
    assert "a call" in section and "an order" not in section
    bad = en.get(f"/customers/{customer.pk}/timeline/?kind=nope&since=soon", HTTP_HX_REQUEST="true")
    assert bad.status_code == 200
    text = bad.content.decode()
    assert "Unknown kind: nope" in text and "is not a date" in text
    # Without htmx the same URL goes to the detail page, keeping the filters.
    plain = en.get(f"/customers/{customer.pk}/timeline/?kind=call")
    assert plain.status_code == 302 and plain["Location"].endswith(f"/customers/{customer.pk}/?kind=call#timeline")
    assert en.get(f"/customers/{customer.pk}/?cursor=bogus").status_code == 200
    en.force_login(org.outsider)
    assert en.get(f"/customers/{customer.pk}/timeline/", HTTP_HX_REQUEST="true").status_code == 404


def test_detail_page_queries_do_not_grow_with_the_timeline(en: Any, org: Org) -> None:
    customer = make_customer(org.owner)
    en.force_login(org.owner)
    timeline_record_many([_event(customer, m) for m in range(3)])
    with CaptureQueriesContext(connection) as few:
        assert en.get(f"/customers/{customer.pk}/").status_code == 200
    now = timezone.now()
    timeline_record_many([_event(customer, m) for m in range(3, 60)])
    for n in range(5):
        customer_update(actor=org.owner, customer_id=customer.pk, data={"address": f"{n}号 {now:%H%M%S}"})
    with CaptureQueriesContext(connection) as many:
        assert en.get(f"/customers/{customer.pk}/").status_code == 200
    assert len(many) <= len(few) + 2, [q["sql"] for q in many.captured_queries]


def test_a_summary_that_made_the_title_is_not_shown_twice(en: Any, org: Org) -> None:
    customer = make_customer(org.owner)
    said = "客户要加订两箱基围虾，周五前送到"
    timeline_record(NewEvent(customer.pk, "visit", T0, title=said[:10] + "…", payload={"summary": said}))
    timeline_record(NewEvent(customer.pk, "call", T0, title="报价跟进", payload={"summary": "客户嫌贵"}))
    en.force_login(org.owner)
    html = en.get(f"/customers/{customer.pk}/timeline/?kind=visit&kind=call", HTTP_HX_REQUEST="true").content.decode()
    assert html.count("客户要加订两箱") == 1 and "客户嫌贵" in html and "报价跟进" in html


def test_an_order_status_is_shown_by_its_label_not_its_code(en: Any, org: Org) -> None:
    customer = make_customer(org.owner)
    timeline_record(NewEvent(customer.pk, "order", T0, title="订单 SO1", payload={"status": "delivered"}))
    timeline_record(NewEvent(customer.pk, "complaint", T0, title="虾不新鲜", payload={"status": "resolved"}))
    en.force_login(org.owner)
    url = f"/customers/{customer.pk}/timeline/?kind=order&kind=complaint"
    html = en.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "Delivered" in html and "delivered" not in html.replace("Delivered", "")
    assert "Resolved" in html
