"""Lead events (type ``lead``): someone asking to buy becomes a lead assigned by the rules, not a customer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import translation

from pearl.activities.models import TimelineEvent
from pearl.core.testing.personas import Org
from pearl.customers.models import ChoiceOption, Customer
from pearl.customers.tests.factories import make_customer
from pearl.integrations.tests.test_events_api import Api, body
from pearl.leads import services as lead_services
from pearl.leads.choices import FollowUpKind, LeadStatus
from pearl.leads.models import Lead, LeadFollowUp
from pearl.reminders.models import Notification
from pearl.sales.models import ProductCategory

MOBILE = "13922223333"


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


@pytest.fixture
def api(org: Org) -> Api:
    return Api(org.admin)


@pytest.fixture
def south_rule(org: Org) -> Any:
    """广东 leads go to the teammate (the only member)."""
    return lead_services.assignment_rule_create(
        actor=org.admin, data={"name": "华南", "members": [org.teammate.pk], "conditions": {"provinces": ["广东"]}}
    )


def lead_event(event_id: str = "L1", channel: str = "线上询盘", **payload: Any) -> dict[str, Any]:
    identifiers = payload.pop("identifiers", {"mobile": MOBILE})
    return {
        "id": event_id,
        "channel": channel,
        "type": "lead.form",
        "occurred_at": "2026-05-01T10:30:00+08:00",
        "identifiers": identifiers,
        "payload": {"name": "林先生", "province": "广东", "city": "深圳", "message": "想订 200 箱大闸蟹", **payload},
    }


def test_an_unknown_person_becomes_a_lead_assigned_by_rule(org: Org, api: Api, south_rule: Any) -> None:
    crabs = ProductCategory.objects.create(name="蟹类")
    customers = Customer.objects.count()
    answer = body(api.post("/events", lead_event(product_interest="蟹类", company="深圳海鲜楼")), 201)
    assert answer["customer"] is None and answer["matched_by"] == "new_lead"
    assert answer["lead_new"] is True and answer["lead_owner"] == org.teammate.pk
    assert "华南" in answer["assignment_reason"]
    assert Customer.objects.count() == customers  # no customer: a lead
    lead = Lead.objects.get(pk=answer["lead"])
    assert (lead.name, lead.company, lead.mobile, lead.province, lead.city) == (
        "林先生",
        "深圳海鲜楼",
        MOBILE,
        "广东",
        "深圳",
    )
    assert lead.owner == org.teammate and lead.assigned_rule == south_rule and lead.status == LeadStatus.NEW
    assert lead.product_interest == crabs
    assert lead.source == ChoiceOption.objects.get(list_name="source", label="线上询盘")  # the channel's name
    inquiry = LeadFollowUp.objects.get(lead=lead)
    assert inquiry.kind == FollowUpKind.INQUIRY and inquiry.actor is None
    assert inquiry.summary == "想订 200 箱大闸蟹" and (inquiry.source, inquiry.external_id) == ("线上询盘", "L1")
    # An inquiry is not a follow-up by the owner: the 24 h reminder still runs.
    assert lead.first_follow_up_at is None


def test_a_replay_writes_nothing_and_answers_the_same_lead(api: Api, south_rule: Any) -> None:
    first = body(api.post("/events", lead_event()), 201)
    leads, inquiries = Lead.objects.count(), LeadFollowUp.objects.count()
    again = body(api.post("/events", lead_event()), 200)
    assert again["replay"] is True and again["lead"] == first["lead"]
    assert (Lead.objects.count(), LeadFollowUp.objects.count()) == (leads, inquiries)


def test_a_second_inquiry_lands_on_the_open_lead(org: Org, api: Api, south_rule: Any) -> None:
    first = body(api.post("/events", lead_event("L1")), 201)
    told = Notification.objects.filter(recipient=org.teammate, subject_id=first["lead"])
    assert [n.title for n in told] == ["新线索：林先生"]  # the owner hears of the lead, in the site's language
    second = body(api.post("/events", lead_event("L2", message="再问一下价格")), 201)
    assert second["lead"] == first["lead"] and second["matched_by"] == "lead" and second["lead_new"] is False
    assert Lead.objects.count() == 1
    assert sorted(LeadFollowUp.objects.values_list("summary", flat=True)) == ["再问一下价格", "想订 200 箱大闸蟹"]
    again = told.exclude(title="新线索：林先生").get()
    assert again.title == "线索「林先生」再次咨询" and again.body == "再问一下价格"


def test_a_closed_lead_does_not_swallow_a_new_inquiry(org: Org, api: Api, south_rule: Any) -> None:
    first = body(api.post("/events", lead_event("L1")), 201)
    lead_services.lead_update(
        actor=org.admin, lead_id=first["lead"], data={"status": "disqualified", "disqualify_reason": "同行"}
    )
    second = body(api.post("/events", lead_event("L2")), 201)
    assert second["matched_by"] == "new_lead" and second["lead"] != first["lead"]


def test_a_known_customer_asking_stays_on_the_customer(org: Org, api: Api, south_rule: Any) -> None:
    known = make_customer(org.owner, contacts=[{"name": "林先生", "mobile": MOBILE}])
    answer = body(api.post("/events", lead_event()), 201)
    assert answer["customer"] == known.pk and answer["matched_by"] == "mobile" and answer["lead"] is None
    assert not Lead.objects.exists()
    assert TimelineEvent.objects.filter(customer_id=known.pk, external_id="L1").exists()
    # Its owner hears of it (once: a replay tells nobody again).
    (notice,) = Notification.objects.filter(recipient=org.owner)
    assert notice.title == f"客户「{known.name}」通过 线上询盘 咨询" and notice.body == "想订 200 箱大闸蟹"
    body(api.post("/events", lead_event()), 200)
    assert Notification.objects.filter(recipient=org.owner).count() == 1


def test_a_batch_groups_one_person_and_mixes_with_orders(org: Org, api: Api, south_rule: Any) -> None:
    events = [
        lead_event("L1"),
        lead_event("L2", message="第二条留言", identifiers={"mobile": MOBILE, "wechat": "lin_sz"}),
        lead_event("L3", name="赵女士", province="浙江", identifiers={"mobile": "13955556666"}),
        {**lead_event("O1", identifiers={"mobile": "13977778888"}), "type": "order"},
    ]
    answer = body(api.post("/events/batch", {"events": events}), 200)
    items = answer["items"]
    assert items[0]["lead"] == items[1]["lead"] and items[0]["lead_new"] and not items[1]["lead_new"]
    assert items[2]["lead"] not in (None, items[0]["lead"])
    assert items[3]["lead"] is None and items[3]["new"] is True  # an order from a stranger: a customer
    assert (answer["leads_created"], answer["customers_created"], answer["failed"]) == (2, 1, 0)
    zhao = Lead.objects.get(pk=items[2]["lead"])
    # 浙江 matches no rule: the lead stays with the caller (the API's user), as a lead created by hand would.
    assert zhao.assigned_rule is None and zhao.owner == org.admin
    lin = Lead.objects.get(pk=items[0]["lead"])
    assert lin.wechat == "lin_sz" and lin.follow_ups.count() == 2  # what any of its events gave


def test_a_lead_without_a_way_to_reach_is_refused_and_writes_nothing(api: Api, south_rule: Any) -> None:
    leads = Lead.objects.count()
    bad = lead_event("X1", identifiers={"external_id": "visitor-77"})
    good = lead_event("L9")
    answer = body(api.post("/events/batch", {"events": [bad, good]}), 200)
    error = answer["items"][0]["error"]
    assert error["status"] == 422 and "mobile, email or WeChat" in error["detail"]
    assert answer["items"][1]["lead_new"] is True
    assert Lead.objects.count() == leads + 1
    assert not LeadFollowUp.objects.filter(external_id="X1").exists()


def test_an_unknown_product_interest_is_kept_in_the_note(api: Api, south_rule: Any) -> None:
    answer = body(api.post("/events", lead_event(product_interest="帝王蟹礼盒")), 201)
    lead = Lead.objects.get(pk=answer["lead"])
    assert lead.product_interest is None
    assert lead.note.splitlines() == ["Product interest: 帝王蟹礼盒", "想订 200 箱大闸蟹"]


def test_a_lead_event_with_a_too_long_city_is_refused(api: Api) -> None:
    answer = body(api.post("/events", lead_event(city="深" * 33)), 422)
    assert "payload.city" in answer["errors"]
    assert not Lead.objects.exists()
