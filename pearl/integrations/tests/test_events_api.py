"""POST /api/v1/events and /api/v1/events/batch: resolution, replays, bad input, scopes, query counts."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from pearl.accounts.models import User
from pearl.accounts.services import token_create
from pearl.activities.models import Communication, Complaint, TimelineEvent
from pearl.core import duplicates, events
from pearl.core.errors import ValidationFailed
from pearl.core.models import ChangeLog
from pearl.core.phones import normalize_phone
from pearl.core.testing.personas import Org
from pearl.customers.models import ChoiceOption, Contact, Customer, CustomerSearchToken, Identity
from pearl.customers.tests.factories import make_customer
from pearl.integrations.schemas import BatchItemOut, BatchOut, EventErrorOut
from pearl.integrations.services import ingest
from pearl.integrations.services.clean import normalize_mobile

MOBILE = "13800138000"


class Api:
    """JSON to /api/v1 as one user (bearer token), English messages."""

    def __init__(self, user: User | None = None) -> None:
        self.headers = {"Accept-Language": "en"}
        if user is not None:
            _token, secret = token_create(actor=None, user=user)
            self.headers["Authorization"] = f"Bearer {secret}"
        self.client = Client()

    def post(self, path: str, body: Any) -> Any:
        data = body if isinstance(body, str) else json.dumps(body)
        return self.client.post("/api/v1" + path, data, content_type="application/json", headers=self.headers)


def event(event_id: str = "e1", channel: str = "web", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": event_id,
        "channel": channel,
        "type": "form_submitted",
        "occurred_at": "2026-05-01T10:30:00+08:00",
        "identifiers": {"mobile": MOBILE},
        "payload": {"title": "询价 大闸蟹"},
    }
    body.update(extra)
    return body


def counts() -> tuple[int, ...]:
    return (
        Customer.objects.count(),
        Contact.objects.count(),
        Identity.objects.count(),
        TimelineEvent.objects.count(),
        ChangeLog.objects.count(),
    )


def body(response: Any, status: int) -> Any:
    assert response.status_code == status, response.content.decode()
    return json.loads(response.content)


@pytest.fixture
def api(org: Org) -> Api:
    return Api(org.owner)


@pytest.fixture
def known(org: Org) -> Customer:
    return make_customer(org.owner, contacts=[{"name": "张三", "mobile": MOBILE, "email": "zhang@example.com"}])


@pytest.fixture
def recorded() -> Iterator[list[dict[str, Any]]]:
    seen: list[dict[str, Any]] = []

    def handler(name: str, payload: dict[str, Any]) -> None:
        seen.append(payload)

    events.subscribe("channel.event_recorded", handler)
    yield seen
    events.unsubscribe("channel.event_recorded", handler)


# --- landing on the right customer --------------------------------------------------------------------


def test_a_known_mobile_lands_on_that_customer(
    api: Api, known: Customer, recorded: list[dict[str, Any]], django_capture_on_commit_callbacks: Any
) -> None:
    before = Customer.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        answer = body(api.post("/events", event(identifiers={"mobile": "+86 138-0013-8000"})), 201)
    assert answer["customer"] == known.pk and answer["matched_by"] == "mobile"
    assert answer["new"] is False and answer["replay"] is False and answer["conflicts"] == []
    assert answer["visible"] is True and answer["customer_name"] == known.name
    assert Customer.objects.count() == before
    row = TimelineEvent.objects.get(pk=answer["timeline_event"])
    assert (row.customer_id, row.source, row.external_id, row.kind) == (known.pk, "web", "e1", "channel")
    assert row.title == "web · form_submitted: 询价 大闸蟹" and row.payload == {"title": "询价 大闸蟹"}
    assert row.occurred_at.isoformat() == "2026-05-01T02:30:00+00:00" and row.channel == "api"
    assert recorded == [
        {"customer_id": known.pk, "kind": "channel", "channel": "web", "event_id": "e1",
         "timeline_event_id": row.pk, "new_customer": False}
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("event_type", "kind"),
    [("call", "call"), ("call.missed", "call"), ("order", "order"), ("complaint", "complaint"), ("signup", "channel")],
)
def test_event_types_map_to_timeline_kinds(api: Api, known: Customer, event_type: str, kind: str) -> None:
    answer = body(api.post("/events", event(type=event_type)), 201)
    assert TimelineEvent.objects.get(pk=answer["timeline_event"]).kind == kind
    assert not Communication.objects.exists() and not Complaint.objects.exists()  # the timeline row only


def test_a_replay_creates_nothing_and_names_the_first_customer(api: Api, org: Org) -> None:
    first = body(api.post("/events", event(identifiers={"mobile": "13900000001"})), 201)
    assert first["new"] is True
    before = counts()
    again = api.post("/events", event(identifiers={"mobile": "13900000002"}, payload={"title": "changed"}))
    answer = body(again, 200)
    assert answer["replay"] is True and answer["new"] is False and answer["matched_by"] == "replay"
    assert answer["customer"] == first["customer"] and answer["timeline_event"] == first["timeline_event"]
    assert counts() == before
    # another channel may use the same event id: that is another event
    body(api.post("/events", event(channel="shop", identifiers={"mobile": "13900000001"})), 201)
    assert TimelineEvent.objects.count() == before[3] + 1


def test_new_identifiers_create_one_customer_even_twice_in_a_batch(api: Api, org: Org) -> None:
    batch = [
        event("a1", identifiers={"mobile": "13900000001"}),
        event("a2", identifiers={"mobile": "+86 139 0000 0001", "email": "Li@Example.com"}),
        event("a3", identifiers={"email": "li@example.com", "wechat": "wxid_li"}),
        event("b1", identifiers={"wechat": "wxid_other"}, payload={"name": "王五"}),
    ]
    before = Customer.objects.count()
    answer = body(api.post("/events/batch", {"events": batch}), 200)
    items = answer["items"]
    assert [i["index"] for i in items] == [0, 1, 2, 3]
    assert items[0]["customer"] == items[1]["customer"] == items[2]["customer"] != items[3]["customer"]
    assert [i["new"] for i in items] == [True, False, False, True]
    assert answer["customers_created"] == 2 and answer["recorded"] == 4 and Customer.objects.count() == before + 2
    person = Customer.objects.get(pk=items[0]["customer"])
    assert (person.kind, person.status, person.name, person.owner_id) == (
        "individual",
        "prospect",
        "Customer 139****0001",
        org.owner.pk,
    )
    assert set(person.identities.values_list("kind", "value")) == {
        ("mobile", "13900000001"), ("email", "li@example.com"), ("wechat", "wxid_li")}  # fmt: skip
    contact = Contact.objects.get(customer=person)
    assert (contact.name, contact.mobile, contact.is_primary) == ("Customer 139****0001", "13900000001", True)
    assert CustomerSearchToken.objects.filter(customer=person).exists()
    assert ChangeLog.objects.filter(object_type="customers.customer", object_id=person.pk, action="create").exists()
    named = Customer.objects.get(pk=items[3]["customer"])
    assert named.name == "王五" and named.contacts.get().wechat == "wxid_other"
    # next time the same mobile lands on it
    again = body(api.post("/events", event("a9", identifiers={"mobile": "13900000001"})), 201)
    assert again["customer"] == person.pk and again["new"] is False


def test_placeholders_external_ids_companies_and_source_option(api: Api) -> None:
    source = ChoiceOption.objects.get(list_name="source", label="微信")
    batch = [
        event("w1", channel="微信", identifiers={"wechat": "wxid_abc123"}),
        event("s1", channel="Shop", identifiers={"external_id": "u-77"}, payload={"company": "广州蓝湾海鲜有限公司"}),
    ]
    items = body(api.post("/events/batch", {"events": batch}), 200)["items"]
    wechat = Customer.objects.get(pk=items[0]["customer"])
    assert wechat.name == "WeChat user wxid_abc123" and wechat.source_id == source.pk
    company = Customer.objects.get(pk=items[1]["customer"])
    assert (company.kind, company.name, company.source_id) == ("company", "广州蓝湾海鲜有限公司", None)
    assert Identity.objects.get(kind="external", value="shop:u-77").customer_id == company.pk
    # the same legal name later lands on the company, spelt a little differently
    answer = body(
        api.post("/events", event("s2", channel="shop", identifiers={"email": "buyer@lanwan.cn"},
                                   payload={"company": "广州 蓝湾海鲜有限责任公司"})), 201
    )  # fmt: skip
    assert answer["customer"] == company.pk and answer["matched_by"] == "company_name"


def test_identifiers_nobody_holds_are_added_to_the_customer_an_event_lands_on(api: Api, known: Customer) -> None:
    logged = ChangeLog.objects.count()
    answer = body(
        api.post("/events", event("k1", channel="shop", identifiers={
            "mobile": MOBILE, "external_id": "u-9", "wechat": "wx_zhang", "email": "other@example.com"})), 201
    )  # fmt: skip
    assert answer["customer"] == known.pk and answer["matched_by"] == "mobile"
    # the contact's email was set already: a channel never overwrites it
    assert answer["identities_added"] == ["external_id", "wechat"]
    assert Identity.objects.get(kind="external", value="shop:u-9").customer_id == known.pk
    contact = Contact.objects.get(customer=known)
    assert (contact.wechat, contact.email, contact.version) == ("wx_zhang", "zhang@example.com", 2)
    assert Identity.objects.get(kind="wechat", value="wx_zhang").contact_id == contact.pk
    assert not Identity.objects.filter(value="other@example.com").exists()
    rows = ChangeLog.objects.order_by("pk")[logged:]
    assert [(r.object_type, r.action) for r in rows] == [
        ("customers.identity", "create"),
        ("customers.contact", "update"),
    ]
    assert rows[1].changes == {"wechat": ["", "wx_zhang"]} and rows[1].root_id == known.pk
    # the next event carrying only the shop's id, or only the WeChat id, lands directly
    again = body(api.post("/events", event("k2", channel="shop", identifiers={"external_id": "u-9"})), 201)
    assert (again["customer"], again["matched_by"], again["identities_added"]) == (known.pk, "external_id", [])
    by_wechat = body(api.post("/events", event("k3", identifiers={"wechat": "wx_zhang"})), 201)
    assert (by_wechat["customer"], by_wechat["matched_by"]) == (known.pk, "wechat")


def test_an_identifier_added_in_a_batch_resolves_later_events_of_that_batch(api: Api, known: Customer) -> None:
    before = Customer.objects.count()
    batch = [
        event("b1", identifiers={"mobile": MOBILE, "external_id": "m-1"}),
        event("b2", identifiers={"external_id": "m-1"}),
        event("b3", identifiers={"external_id": "lw-1"}, payload={"company": "广州蓝湾海鲜有限公司"}),
    ]
    items = body(api.post("/events/batch", {"events": batch}), 200)["items"]
    assert [(i["customer"], i["matched_by"]) for i in items[:2]] == [(known.pk, "mobile"), (known.pk, "external_id")]
    assert items[0]["identities_added"] == ["external_id"] and items[1]["identities_added"] == ["external_id"]
    assert Customer.objects.count() == before + 1 and items[2]["new"] is True
    # a company found by its legal name brings an email; another event with that email follows it there
    batch = [
        event("b4", identifiers={"email": "buyer@lanwan.cn"}, payload={"company": "广州 蓝湾海鲜有限公司"}),
        event("b5", identifiers={"email": "buyer@lanwan.cn", "wechat": "wx_buyer"}),
    ]
    items = body(api.post("/events/batch", {"events": batch}), 200)["items"]
    company = Customer.objects.get(name="广州蓝湾海鲜有限公司")
    assert items[0]["customer"] == company.pk and items[0]["matched_by"] == "company_name"
    assert items[0]["identities_added"] == ["email"]
    assert (items[1]["customer"], items[1]["matched_by"]) == (company.pk, "email")
    assert Identity.objects.get(kind="email", value="buyer@lanwan.cn").customer_id == company.pk


def test_conflicting_identifiers_follow_the_precedence(api: Api, org: Org, known: Customer) -> None:
    by_email = make_customer(org.owner, contacts=[{"name": "李四", "email": "li@example.com", "wechat": "wx_li"}])
    answer = body(
        api.post("/events", event("c1", identifiers={"email": "li@example.com", "mobile": MOBILE, "wechat": "wx_li"})),
        201,
    )
    assert answer["customer"] == known.pk and answer["matched_by"] == "mobile"
    assert answer["conflicts"] == [
        {"identifier": "wechat", "customer": by_email.pk},
        {"identifier": "email", "customer": by_email.pk},
    ]
    wechat_first = body(
        api.post("/events", event("c2", identifiers={"email": "zhang@example.com", "wechat": "wx_li"})), 201
    )
    assert wechat_first["customer"] == by_email.pk and wechat_first["conflicts"] == [
        {"identifier": "email", "customer": known.pk}
    ]
    # an external id beats them all (here: one a shop created a customer with)
    created = body(api.post("/events", event("c3", channel="shop", identifiers={"external_id": "u1"})), 201)
    answer = body(
        api.post("/events", event("c4", channel="shop", identifiers={"external_id": "u1", "mobile": MOBILE})), 201
    )
    assert answer["customer"] == created["customer"] and answer["matched_by"] == "external_id"
    assert answer["conflicts"] == [{"identifier": "mobile", "customer": known.pk}]


def test_the_duplicate_matcher_decides_for_a_named_stranger(
    api: Api, org: Org, known: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[duplicates.Candidate] = []

    def finder(actor: Any, candidate: duplicates.Candidate) -> duplicates.Check:
        asked.append(candidate)
        if candidate.name == "张三":
            return duplicates.Check(hits=(
                duplicates.Hit(customer_id=known.pk + 1000, score=0.6, band="possible"),
                duplicates.Hit(customer_id=known.pk, score=0.97, band="duplicate"),
            ))  # fmt: skip
        return duplicates.Check()

    monkeypatch.setattr(duplicates._registry, "finder", finder)
    monkeypatch.setattr(duplicates._registry, "many", lambda actor, candidates: [finder(actor, c) for c in candidates])
    before = Customer.objects.count()
    answer = body(
        api.post("/events", event("m1", identifiers={"mobile": "13700000000"}, payload={"name": "张三"})), 201
    )
    assert answer["customer"] == known.pk and answer["matched_by"] == "matcher" and answer["new"] is False
    assert asked == [duplicates.Candidate(kind="individual", name="张三", contact_names=("张三",),
                                          mobiles=("13700000000",))]  # fmt: skip
    assert Customer.objects.count() == before
    # a name the matcher does not know makes a new customer; no name: the matcher is not asked
    other = body(api.post("/events", event("m2", identifiers={"mobile": "13700000001"}, payload={"name": "赵六"})), 201)
    assert other["new"] is True
    body(api.post("/events", event("m3", identifiers={"mobile": "13700000002"}, payload={})), 201)
    assert [c.name for c in asked] == ["张三", "赵六"]


def test_the_real_matcher_is_asked_before_creating(api: Api, org: Org) -> None:
    """The registered matcher (data quality) finds the company by its name and contact person although
    the event's mobile is new and its name lacks the legal form."""
    existing = make_customer(
        org.owner, name="广州鑫海海鲜酒楼有限公司", city="广州",
        contacts=[{"name": "陈大文", "mobile": "13500000000", "email": "chen@xinhai.cn"}],
    )  # fmt: skip
    candidate = duplicates.Candidate(
        kind="company", name="广州鑫海海鲜酒楼", contact_names=("陈大文",), mobiles=("13500000009",)
    )
    assert [h.customer_id for h in duplicates.find(org.owner, candidate).duplicates] == [existing.pk]
    before = Customer.objects.count()
    answer = body(
        api.post("/events", event("r1", identifiers={"mobile": "13500000009"},
                                  payload={"company": "广州鑫海海鲜酒楼", "name": "陈大文"})), 201
    )  # fmt: skip
    assert answer["customer"] == existing.pk and answer["matched_by"] == "matcher"
    assert Customer.objects.count() == before


def test_a_batch_asks_the_matcher_once_for_all_its_named_strangers(api: Api, org: Org) -> None:
    """The real matcher, in a batch: the named stranger who is a known customer lands on it, the others
    become new customers; the reads do not grow with the number of named strangers."""
    existing = make_customer(
        org.owner, name="广州鑫海海鲜酒楼有限公司", city="广州",
        contacts=[{"name": "陈大文", "mobile": "13500000000"}],
    )  # fmt: skip

    def strangers(prefix: str, count: int, mobiles: str) -> list[dict[str, Any]]:
        return [
            event(f"{prefix}{n}", identifiers={"mobile": f"{mobiles}{n:04d}"},
                  payload={"name": random.Random(n).choice(["王芳", "李强", "赵敏"]) + str(n)})
            for n in range(count)
        ]  # fmt: skip

    known = event(
        "k1", identifiers={"mobile": "13500000009"}, payload={"company": "广州鑫海海鲜酒楼", "name": "陈大文"}
    )
    with CaptureQueriesContext(connection) as few:
        small = body(api.post("/events/batch", {"events": [known, *strangers("a", 2, "1370000")]}), 200)
    with CaptureQueriesContext(connection) as many:
        large = body(api.post("/events/batch", {"events": strangers("b", 20, "1371111")}), 200)
    assert small["items"][0]["customer"] == existing.pk and small["items"][0]["matched_by"] == "matcher"
    assert small["customers_created"] == 2 and large["customers_created"] == 20
    matcher_reads = [q for q in many.captured_queries if "dataquality_matchkey" in q["sql"] and "SELECT" in q["sql"]]
    assert len(matcher_reads) <= 2, [q["sql"][:120] for q in matcher_reads]
    assert len(many.captured_queries) <= len(few.captured_queries) + 2


# --- bad input ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"identifiers": {}}, "identifiers", "at least one usable identifier"),
        ({"identifiers": {"mobile": "", "email": " "}}, "identifiers", "at least one usable identifier"),
        ({"identifiers": {"mobile": "", "email": None}}, "identifiers", "at least one usable identifier"),
        ({"identifiers": {"external_id": "  ", "wechat": " "}}, "identifiers", "at least one usable identifier"),
        ({"identifiers": {"mobile": "12345"}}, "identifiers.mobile", "mainland mobile"),
        ({"identifiers": {"email": "not-an-email"}}, "identifiers.email", "valid email"),
        ({"identifiers": {"wechat": "has space"}}, "identifiers.wechat", "no spaces"),
        ({"identifiers": {"qq": "123"}}, "identifiers.qq", "Unknown field qq"),
        ({"identifiers": "13800138000"}, "identifiers", "as an object"),
        ({"occurred_at": "yesterday"}, "occurred_at", "ISO-8601"),
        ({"occurred_at": "2026-02-30T10:00:00"}, "occurred_at", "ISO-8601"),
        ({"occurred_at": "2999-01-01T00:00:00Z"}, "occurred_at", "future"),
        ({"colour": "red"}, "colour", "Unknown field colour"),
        ({"payload": [1, 2]}, "payload", "JSON object"),
        ({"payload": {"blob": "x" * 9000}}, "payload", "at most 8192 bytes"),
        ({"payload": {"name": 5}}, "payload.name", "Enter text"),
        ({"id": ""}, "id", "event id is required"),
        ({"id": None}, "id", "event id is required"),
        ({"id": "x" * 129}, "id", "At most 128"),
        ({"channel": None}, "channel", "channel is required"),
        ({"channel": "a b"}, "channel", "no spaces"),
        ({"type": ""}, "type", "event type is required"),
    ],
)
def test_bad_events_are_refused_and_write_nothing(
    api: Api, known: Customer, change: dict[str, Any], field: str, words: str
) -> None:
    before = counts()
    problem = body(api.post("/events", event(**change)), 422)
    assert problem["code"] == "validation_failed"
    assert field in problem["errors"], problem
    assert words in problem["errors"][field][0], problem
    assert counts() == before


def test_not_an_object_and_not_json(api: Api) -> None:
    assert "JSON object" in body(api.post("/events", [event()]), 422)["errors"]["event"][0]
    assert body(api.post("/events", "{not json"), 400)["code"] == "malformed_json"
    assert body(api.post("/events/batch", "[1,"), 400)["code"] == "malformed_json"


def test_missing_fields_are_all_named(api: Api) -> None:
    problem = body(api.post("/events", {"identifiers": {"mobile": MOBILE}}), 422)
    assert {"id", "channel", "type"} <= set(problem["errors"])


def test_chinese_messages(org: Org) -> None:
    client = Api(org.owner)
    client.headers["Accept-Language"] = "zh-hans"
    problem = body(client.post("/events", event(identifiers={})), 422)
    assert problem["errors"]["identifiers"][0]  # translated by the lead's merge of ingest.po


def test_a_batch_answers_each_event_and_records_the_good_ones(api: Api, known: Customer) -> None:
    batch = [
        event("g1"),
        event("bad", identifiers={"mobile": "123"}),
        "not an object",
        event("g1"),  # the same event twice in one batch: the second is a replay
        event("g2", type="call"),
    ]
    before = counts()
    answer = body(api.post("/events/batch", {"events": batch}), 200)
    items = answer["items"]
    assert (answer["recorded"], answer["replayed"], answer["failed"], answer["customers_created"]) == (2, 1, 2, 0)
    assert items[0]["customer"] == known.pk and items[0]["error"] is None
    assert items[1]["index"] == 1 and items[1]["id"] == "bad" and items[1]["customer"] is None
    assert items[1]["error"]["status"] == 422 and "identifiers.mobile" in items[1]["error"]["errors"]
    assert "JSON object" in items[2]["error"]["detail"] and items[2]["id"] is None
    assert items[3]["replay"] is True and items[3]["customer"] == known.pk
    assert items[3]["timeline_event"] == items[0]["timeline_event"]
    assert items[4]["customer"] == known.pk and items[4]["replay"] is False
    assert counts()[3] == before[3] + 2


@pytest.mark.parametrize(
    ("payload", "field", "words"),
    [
        ({"events": [event(str(i)) for i in range(1001)]}, "events", "at most 1,000 events"),
        ({"events": []}, "events", "at least one event"),
        ({"events": {"id": "x"}}, "events", "as a list"),
        ({"items": []}, "items", "Unknown field items"),
        ([event()], "body", "events"),
    ],
)
def test_bad_batches_are_refused_whole(api: Api, known: Customer, payload: Any, field: str, words: str) -> None:
    before = counts()
    problem = body(api.post("/events/batch", payload), 422)
    assert words in problem["errors"][field][0], problem
    assert counts() == before


def test_a_lost_race_is_answered_as_a_replay(api: Api, known: Customer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two requests with the same id at once: the unique constraint refuses the second writer, which
    reads again and answers a replay (simulated by hiding the first request's row from one reading)."""
    first = body(api.post("/events", event("race")), 201)
    real = ingest._replays
    calls = {"n": 0}

    def blind_once(clean: Any, results: Any) -> Any:
        calls["n"] += 1
        return list(clean) if calls["n"] == 1 else real(clean, results)

    monkeypatch.setattr(ingest, "_replays", blind_once)
    before = counts()
    answer = body(api.post("/events", event("race")), 200)
    assert calls["n"] == 2 and answer["replay"] is True and answer["customer"] == first["customer"]
    assert counts() == before


# --- who may post, and what they see ----------------------------------------------------------------------


def test_nobody_and_roles_without_create_may_not_post(org: Org, known: Customer) -> None:
    before = counts()
    assert body(Api().post("/events", event()), 401)["code"] == "not_authenticated"
    for user in (org.service, org.finance):
        assert body(Api(user).post("/events", event()), 403)["code"] == "permission_denied"
        assert body(Api(user).post("/events/batch", {"events": [event()]}), 403)["code"] == "permission_denied"
    session = Client()
    session.force_login(org.service)
    response = session.post("/api/v1/events", json.dumps(event()), content_type="application/json")
    assert body(response, 403)["code"] == "permission_denied"
    assert counts() == before


def test_a_session_may_post_with_the_csrf_token(org: Org, known: Customer) -> None:
    session = Client(enforce_csrf_checks=True)
    session.force_login(org.owner)
    refused = session.post("/api/v1/events", json.dumps(event()), content_type="application/json")
    assert body(refused, 403)["code"] == "csrf_failed"
    token = "k" * 32  # a CSRF secret as the cookie holds it; the header must repeat it
    session.cookies["csrftoken"] = token
    response = session.post(
        "/api/v1/events", json.dumps(event()), content_type="application/json", headers={"X-CSRFToken": token}
    )
    assert body(response, 201)["customer"] == known.pk


def test_the_outsider_lands_events_but_sees_only_the_id(org: Org, known: Customer) -> None:
    answer = body(Api(org.outsider).post("/events", event("o1")), 201)
    assert answer["customer"] == known.pk and answer["visible"] is False and answer["customer_name"] is None
    text = json.dumps(answer, ensure_ascii=False)
    assert known.name not in text and "张三" not in text
    batch = body(Api(org.outsider).post("/events/batch", {"events": [event("o2"), event("o1")]}), 200)["items"]
    assert [i["customer"] for i in batch] == [known.pk, known.pk]
    assert all(i["customer_name"] is None and i["visible"] is False for i in batch)
    # a customer the outsider's event creates is the outsider's own
    mine = body(Api(org.outsider).post("/events", event("o3", identifiers={"mobile": "13600000000"})), 201)
    assert mine["visible"] is True and Customer.objects.get(pk=mine["customer"]).owner_id == org.outsider.pk


# --- per batch, not per event ---------------------------------------------------------------------------------


def test_known_mobiles_cost_the_same_queries_for_10_or_100_events(api: Api, org: Org) -> None:
    mobiles = [f"139{n:08d}" for n in range(100)]
    # 100 customers with these mobiles, made through the API itself (one batch)
    body(api.post("/events/batch", {"events": [event(f"seed{n}", identifiers={"mobile": m})
                                               for n, m in enumerate(mobiles)]}), 200)  # fmt: skip

    def queries(n: int, prefix: str) -> tuple[int, int]:
        batch = {"events": [event(f"{prefix}{i}", identifiers={"mobile": mobiles[i]}) for i in range(n)]}
        with CaptureQueriesContext(connection) as captured:
            answer = body(api.post("/events/batch", batch), 200)
        assert answer["recorded"] == n and answer["customers_created"] == 0
        assert TimelineEvent.objects.filter(external_id__startswith=prefix).count() == n
        sql = [q["sql"] for q in captured.captured_queries]
        inserts = [q for q in sql if q.startswith('INSERT INTO "activities_timelineevent"')]
        return len(sql) - len(inserts), len(inserts)

    small, large = queries(10, "q"), queries(100, "r")
    # The same reads whatever the batch size (token, replays, identities, visibility, ids …) …
    assert small[0] == large[0] <= 8, (small, large)
    # … and the rows go in through the plain bulk path (one COPY / executemany, not a statement per row
    # through Django's cursor).
    assert small[1] == large[1] == 0, (small, large)


# --- the contract -------------------------------------------------------------------------------------------


def test_openapi_documents_both_endpoints(db: None) -> None:
    schema = json.loads(Client().get("/api/v1/openapi.json").content)
    single, batch = schema["paths"]["/api/v1/events"]["post"], schema["paths"]["/api/v1/events/batch"]["post"]
    assert (single["operationId"], batch["operationId"]) == ("record_event", "record_events")
    event_schema = single["requestBody"]["content"]["application/json"]["schema"]
    assert {"id", "channel", "type", "occurred_at", "identifiers", "payload"} == set(event_schema["properties"])
    assert set(event_schema["properties"]["identifiers"]["properties"]) == {"mobile", "email", "wechat", "external_id"}
    events_schema = batch["requestBody"]["content"]["application/json"]["schema"]["properties"]["events"]
    assert events_schema["maxItems"] == 1000
    assert {"200", "201", "401", "403", "422"} <= set(single["responses"])
    assert list(single["responses"]["422"]["content"]) == ["application/problem+json"]
    assert "Idempotency-Key" in {p["name"] for p in single.get("parameters", [])}


def test_the_fast_mobile_path_agrees_with_normalize_phone() -> None:
    rng = random.Random(7)
    numbers = [f"{prefix}{rng.randrange(10**7):07d}" for prefix in range(1000, 2000)]
    numbers += [f"1740{d}{rng.randrange(10**6):06d}" for d in range(10)] + [f"1610{d}{rng.randrange(10**6):06d}"
                                                                               for d in range(10)]  # fmt: skip
    numbers += ["+86 138 0013 8000", "138-0013-8000", "13800138000.0", "020-87654321", "1380013800", "+1 2025550100"]

    def outcome(function: Any, number: str) -> str | None:
        try:
            return str(function(number))
        except ValidationFailed:
            return None

    for number in numbers:
        assert outcome(normalize_mobile, number) == outcome(normalize_phone, number), number


def test_the_batch_answer_has_the_documented_fields(api: Api, known: Customer) -> None:
    answer = body(api.post("/events/batch", {"events": [event("f1"), event("f2", identifiers={})]}), 200)
    assert set(answer) == set(BatchOut.model_fields)
    for item in answer["items"]:
        assert set(item) == set(BatchItemOut.model_fields)
    assert set(answer["items"][1]["error"]) == set(EventErrorOut.model_fields)
