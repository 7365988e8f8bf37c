"""/api/v1/customers: every endpoint, every scope and every denial, through real HTTP requests.

``Api`` (below) is the client the other API test modules import: a bearer token per persona and
English messages unless a test asks for another language.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from pearl.accounts.models import User
from pearl.accounts.services import token_create
from pearl.core.models import ChangeLog
from pearl.core.testing.personas import Org
from pearl.customers.models import ChoiceOption, Customer
from pearl.customers.services import custom_field_create, tag_create
from pearl.customers.tests.factories import make_customer, mobile


class Api:
    """A test client speaking JSON to /api/v1 as one user (bearer token) or as nobody."""

    def __init__(self, user: User | None = None, *, language: str = "en") -> None:
        self.headers = {"Accept-Language": language}
        if user is not None:
            _token, secret = token_create(actor=None, user=user)
            self.headers["Authorization"] = f"Bearer {secret}"
        self.client = Client()

    def _h(self, headers: dict[str, str] | None) -> dict[str, str]:
        return {**self.headers, **(headers or {})}

    def get(self, path: str, params: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> Any:
        return self.client.get("/api/v1" + path, params or {}, headers=self._h(headers))

    def post(self, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        data = body if isinstance(body, str) else json.dumps(body)
        return self.client.post("/api/v1" + path, data, content_type="application/json", headers=self._h(headers))

    def patch(self, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        data = body if isinstance(body, str) else json.dumps(body)
        return self.client.patch("/api/v1" + path, data, content_type="application/json", headers=self._h(headers))

    def delete(self, path: str, headers: dict[str, str] | None = None) -> Any:
        return self.client.delete("/api/v1" + path, headers=self._h(headers))


def assert_problem(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status (and code); returns its body."""
    assert response.status_code == status, response.content.decode()
    assert response["Content-Type"].startswith("application/problem+json")
    body: dict[str, Any] = json.loads(response.content)
    assert body["status"] == status
    assert body["type"].startswith("urn:pearl:problem:") and body["title"] and body["detail"]
    if code is not None:
        assert body["code"] == code, body
    return body


def ids(response: Any) -> set[int]:
    assert response.status_code == 200, response.content.decode()
    return {item["id"] for item in json.loads(response.content)["items"]}


@pytest.fixture
def two(org: Org) -> tuple[Customer, Customer]:
    """One customer owned in 一组 (owner) and one in 二组 (outsider)."""
    return make_customer(org.owner, short_name="鑫海"), make_customer(org.outsider, short_name="蓝湾")


# --- authentication and the outsider ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/customers"),
        ("post", "/customers"),
        ("get", "/customers/1"),
        ("patch", "/customers/1"),
        ("delete", "/customers/1"),
        ("get", "/customers/1/history"),
    ],
)
def test_every_customer_endpoint_needs_authentication(db: None, method: str, path: str) -> None:
    body = assert_problem(getattr(Api(), method)(path), 401, "not_authenticated")
    assert "Bearer" in body["detail"]


def test_outsider_gets_404_on_every_record_endpoint_and_changes_nothing(org: Org, two: Any) -> None:
    mine, _theirs = two
    api = Api(org.outsider)
    assert_problem(api.get(f"/customers/{mine.pk}"), 404, "not_found")
    assert_problem(api.patch(f"/customers/{mine.pk}", {"grade": "A"}), 404)
    assert_problem(api.delete(f"/customers/{mine.pk}"), 404)
    assert_problem(api.get(f"/customers/{mine.pk}/history"), 404)
    mine.refresh_from_db()
    assert mine.grade == "" and mine.version == 1


def test_outsider_sees_nothing_of_the_owner_in_lists_or_search(org: Org, two: Any) -> None:
    _mine, theirs = two
    api = Api(org.outsider)
    assert ids(api.get("/customers")) == {theirs.pk}
    assert ids(api.get("/customers", {"q": "鑫海"})) == set()
    assert json.loads(api.get("/customers", {"q": "鑫海"}).content)["count"] == 0


@pytest.mark.parametrize(
    ("persona", "sees"),
    [
        ("owner", {"mine"}),
        ("teammate", set()),
        ("service", {"mine"}),
        ("manager", {"mine", "theirs"}),
        ("admin", {"mine", "theirs"}),
        ("outsider", {"theirs"}),
        ("finance", {"mine", "theirs"}),
    ],
)
def test_data_scope_of_each_role(org: Org, two: Any, persona: str, sees: set[str]) -> None:
    """own: the owner only; team (service): 一组; subtree (manager): the region; all: admin, finance."""
    mine, theirs = two
    api = Api(getattr(org, persona))
    by_name = {"mine": mine.pk, "theirs": theirs.pk}
    assert ids(api.get("/customers")) == {by_name[n] for n in sees}
    for name, customer_id in by_name.items():
        assert api.get(f"/customers/{customer_id}").status_code == (200 if name in sees else 404)


def test_unknown_and_impossible_ids_are_404(org: Org) -> None:
    api = Api(org.admin)
    assert_problem(api.get("/customers/999999"), 404, "not_found")
    assert_problem(api.get("/customers/99999999999999999999999"), 404)
    assert_problem(api.get("/customers/abc"), 404)
    assert_problem(api.patch("/customers/999999", {"grade": "A"}), 404)
    assert_problem(api.delete("/customers/999999"), 404)


# --- create -------------------------------------------------------------------------------------------


def test_create_customer_with_contacts(org: Org) -> None:
    api = Api(org.owner)
    response = api.post(
        "/customers",
        {
            "name": "广州鑫海水产贸易有限公司",
            "short_name": "鑫海水产",
            "customer_type": "批发",
            "industry": ChoiceOption.objects.get(list_name="industry", label="水产海鲜").pk,
            "province": "广东省",
            "city": "广州市",
            "district": "天河区",
            "address": "黄埔大道 1 号",
            "grade": "A",
            "contacts": [{"name": "王海", "mobile": "138-0013-8000", "position": "老板", "is_primary": True}],
        },
    )
    assert response.status_code == 201, response.content.decode()
    body = json.loads(response.content)
    customer = Customer.objects.get(pk=body["id"])
    assert response["ETag"] == '"1"' and response["Location"] == f"/api/v1/customers/{customer.pk}"
    assert body["name"] == "广州鑫海水产贸易有限公司" and body["kind"] == "company"
    assert body["customer_type"] == "批发" and body["industry"] == "水产海鲜" and body["source"] is None
    assert (body["province"], body["city"], body["district"], body["grade"]) == ("广东省", "广州市", "天河区", "A")
    assert body["owner"] == org.owner.pk and body["team"] == org.team_a.pk and body["version"] == 1
    [contact] = body["contacts"]
    assert contact["mobile"] == "13800138000" and contact["mobile_display"] == "138 0013 8000"
    assert contact["position"] == "老板" and contact["customer"] == customer.pk and contact["is_primary"]


def test_created_customer_is_logged_with_the_api_channel(org: Org) -> None:
    api = Api(org.owner)
    customer_id = json.loads(
        api.post("/customers", {"name": "佛山顺德渔港有限公司", "contacts": [{"name": "李四"}]}).content
    )["id"]
    history = json.loads(api.get(f"/customers/{customer_id}/history").content)
    assert history["count"] == 2
    assert {(e["object_type"], e["action"], e["channel"]) for e in history["items"]} == {
        ("customers.customer", "create", "api"),
        ("customers.contact", "create", "api"),
    }
    entry = next(e for e in history["items"] if e["object_type"] == "customers.customer")
    assert entry["actor"] == org.owner.pk and entry["actor_label"] == "owner"
    assert entry["changes"]["name"] == [None, "佛山顺德渔港有限公司"]
    assert ChangeLog.objects.filter(root_id=customer_id, channel="api").count() == 2


def test_create_with_an_unknown_choice_label_is_a_422_naming_the_list(org: Org) -> None:
    body = assert_problem(Api(org.owner).post("/customers", {"name": "某公司", "customer_type": "批零"}), 422)
    assert "批零" in body["errors"]["customer_type"][0] and "批发" in body["errors"]["customer_type"][0]
    assert not Customer.objects.exists()


def test_create_with_an_unknown_contact_position_names_the_contact(org: Org) -> None:
    response = Api(org.owner).post("/customers", {"name": "某公司", "contacts": [{"name": "甲", "position": "CEO"}]})
    assert "contacts.0.position" in assert_problem(response, 422)["errors"]
    assert not Customer.objects.exists()


def test_create_with_a_bad_mobile_is_a_422_and_writes_nothing(org: Org) -> None:
    response = Api(org.owner).post("/customers", {"name": "某公司", "contacts": [{"name": "甲", "mobile": "12345"}]})
    body = assert_problem(response, 422, "validation_failed")
    assert "11 digits" in body["errors"]["contacts.0.mobile"][0]
    assert not Customer.objects.exists()


def test_duplicate_legal_name_is_a_422_naming_the_existing_customer(org: Org) -> None:
    existing = make_customer(org.outsider, name="广州鑫海（海鲜）有限责任公司")
    response = Api(org.owner).post("/customers", {"name": "广州 鑫海(海鲜)有限公司"})
    body = assert_problem(response, 422, "validation_failed")
    assert "广州鑫海（海鲜）有限责任公司" in body["detail"] and body["existing"] == existing.pk
    assert body["errors"]["name"]
    assert Customer.objects.count() == 1


def test_identity_conflict_is_a_409_naming_the_holder(org: Org) -> None:
    holder = make_customer(org.owner, name="广州金湾酒楼有限公司", contacts=[{"name": "甲", "mobile": mobile(1)}])
    payload = {"name": "另一家公司", "contacts": [{"name": "乙", "mobile": mobile(1)}]}
    response = Api(org.owner).post("/customers", payload)
    body = assert_problem(response, 409, "conflict")
    assert "广州金湾酒楼有限公司" in body["detail"] and body["customer"] == holder.pk
    assert Customer.objects.count() == 1


def test_unknown_fields_are_refused(org: Org) -> None:
    body = assert_problem(Api(org.owner).post("/customers", {"name": "某公司", "nickname": "x"}), 422)
    assert body["errors"] == {"nickname": ["Unknown field nickname."]}


def test_wrong_types_are_422_per_field(org: Org) -> None:
    response = Api(org.owner).post("/customers", {"name": 5, "owner": "x", "tags": "a", "contacts": [{}]})
    errors = assert_problem(response, 422)["errors"]
    assert errors["name"] == ["Enter text."] and errors["owner"] == ["Enter a whole number."]
    assert errors["tags"] == ["Enter a list of values."]
    assert errors["contacts.0.name"] == ["This field is required."]


def test_bad_custom_field_value_is_a_422(org: Org) -> None:
    custom_field_create(
        actor=org.admin, data={"object_type": "customer", "key": "seats", "label": "座位数", "field_type": "number"}
    )
    response = Api(org.owner).post("/customers", {"name": "某公司", "custom_fields": {"seats": "many"}})
    body = assert_problem(response, 422)
    assert body["errors"] == {"cf_seats": ["Enter a whole number."]}
    ok = Api(org.owner).post("/customers", {"name": "某公司", "custom_fields": {"seats": "120"}})
    assert json.loads(ok.content)["custom_fields"] == {"seats": 120}


def test_sales_may_not_give_a_customer_to_someone_else(org: Org) -> None:
    body = assert_problem(Api(org.owner).post("/customers", {"name": "某公司", "owner": org.teammate.pk}), 422)
    assert "owner" in body["errors"]


def test_finance_may_not_create(org: Org) -> None:
    assert_problem(Api(org.finance).post("/customers", {"name": "某公司"}), 403, "permission_denied")
    assert not Customer.objects.exists()


def test_manager_creating_for_another_team_member_gets_the_record_back(org: Org) -> None:
    response = Api(org.manager).post("/customers", {"name": "某公司", "owner": org.outsider.pk})
    assert response.status_code == 201
    assert json.loads(response.content)["team"] == org.team_b.pk


# --- read ---------------------------------------------------------------------------------------------


def test_get_customer_has_contacts_tags_and_etag(org: Org) -> None:
    tag = tag_create(actor=org.admin, data={"name": "大客户", "color": "#ff0000"})
    customer = make_customer(org.owner, tags=[tag.pk], contacts=[{"name": "甲", "mobile": mobile(2)}])
    response = Api(org.owner).get(f"/customers/{customer.pk}")
    assert response.status_code == 200 and response["ETag"] == f'"{customer.version}"'
    body = json.loads(response.content)
    assert body["tags"] == [{"id": tag.pk, "name": "大客户", "color": "#ff0000"}]
    assert [c["name"] for c in body["contacts"]] == ["甲"]
    assert set(body) >= {
        "id",
        "name",
        "short_name",
        "kind",
        "customer_type",
        "province",
        "city",
        "district",
        "address",
        "grade",
        "owner",
        "team",
        "tags",
        "custom_fields",
        "contacts",
        "version",
        "created_at",
        "updated_at",
    }


def test_list_answers_items_and_count_without_contacts(org: Org, two: Any) -> None:
    body = json.loads(Api(org.admin).get("/customers").content)
    assert body["count"] == 2 and body["count_capped"] is False and len(body["items"]) == 2
    assert "contacts" not in body["items"][0]


def test_list_pagination(org: Org) -> None:
    made = [make_customer(org.owner) for _ in range(5)]
    api = Api(org.owner)
    body = json.loads(api.get("/customers", {"limit": 2, "offset": 1, "ordering": "id"}).content)
    assert body["count"] == 5 and [c["id"] for c in body["items"]] == [made[1].pk, made[2].pk]
    assert_problem(api.get("/customers", {"limit": 501}), 422)
    assert_problem(api.get("/customers", {"limit": 0}), 422)
    assert_problem(api.get("/customers", {"offset": -1}), 422)


def test_list_filters(org: Org) -> None:
    tag = tag_create(actor=org.admin, data={"name": "重点"})
    retail = ChoiceOption.objects.get(list_name="customer_type", label="零售")
    a = make_customer(org.owner, grade="A", tags=[tag.pk], customer_type=retail.pk, city="广州市")
    b = make_customer(org.owner, grade="B", city="深圳市")
    c = make_customer(org.manager, grade="A")
    api = Api(org.manager)
    assert ids(api.get("/customers", {"grade": "A"})) == {a.pk, c.pk}
    assert ids(api.get("/customers", {"tag": tag.pk})) == {a.pk}
    assert ids(api.get("/customers", {"tag": "重点"})) == {a.pk}
    assert ids(api.get("/customers", {"customer_type": "零售"})) == {a.pk}
    assert ids(api.get("/customers", {"customer_type": retail.pk})) == {a.pk}
    assert ids(api.get("/customers", {"city": "深圳市"})) == {b.pk}
    assert ids(api.get("/customers", {"owner": "me"})) == {c.pk}
    assert ids(api.get("/customers", {"owner": org.owner.pk})) == {a.pk, b.pk}
    assert ids(api.get("/customers", {"team": org.team_a.pk})) == {a.pk, b.pk}
    ordered = json.loads(api.get("/customers", {"ordering": "id"}).content)["items"]
    assert [x["id"] for x in ordered] == [a.pk, b.pk, c.pk]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"grade": "Z"}, "grade"),
        ({"ordering": "price"}, "ordering"),
        ({"colour": "red"}, "colour"),
        ({"customer_type": "批零"}, "customer_type"),
        ({"tag": "没有"}, "tag"),
        ({"owner": "boss"}, "owner"),
        ({"team": "99999999999999999999"}, "team"),
        ({"q": "x" * 65}, "q"),
        ({"cf_nope": "1"}, "cf_nope"),
    ],
)
def test_bad_filters_are_422_naming_the_parameter(org: Org, params: dict[str, Any], field: str) -> None:
    assert field in assert_problem(Api(org.owner).get("/customers", params), 422, "validation_failed")["errors"]


def test_custom_field_filter(org: Org) -> None:
    custom_field_create(
        actor=org.admin, data={"object_type": "customer", "key": "seats", "label": "座位数", "field_type": "number"}
    )
    big = make_customer(org.owner, custom_fields={"seats": 200})
    make_customer(org.owner, custom_fields={"seats": 20})
    api = Api(org.owner)
    assert ids(api.get("/customers", {"cf_seats": "200"})) == {big.pk}
    assert "cf_seats" in assert_problem(api.get("/customers", {"cf_seats": "lots"}), 422)["errors"]


def test_search_counts_stop_at_the_cap(org: Org, settings: Any) -> None:
    settings.PEARL_SEARCH_COUNT_CAP = 2
    for n in range(3):
        make_customer(org.owner, name=f"广州海鲜酒楼{n}号有限公司")
    api = Api(org.owner)
    searched = json.loads(api.get("/customers", {"q": "海鲜"}).content)
    assert searched["count"] == 2 and searched["count_capped"] is True and len(searched["items"]) == 3
    assert json.loads(api.get("/customers", {"q": "hxjl"}).content)["count_capped"] is True
    plain = json.loads(api.get("/customers").content)
    assert plain["count"] == 3 and plain["count_capped"] is False


def test_list_does_a_bounded_number_of_queries(org: Org, django_assert_max_num_queries: Any) -> None:
    tags = [tag_create(actor=org.admin, data={"name": f"标签{n}"}).pk for n in range(3)]
    industry = ChoiceOption.objects.filter(list_name="industry").first()
    api = Api(org.manager)

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert api.get("/customers", {"limit": 500}).status_code == 200
        return len(ctx.captured_queries)

    # Related rows are fetched once per relation present on the page, so the first customer has them all too.
    make_customer(org.owner, tags=tags, industry=industry.pk if industry else None, contacts=[{"name": "乙"}])
    api.get("/me")  # the token's first use records last_used_at: not part of the list's cost
    few = count_queries()
    for _ in range(20):
        make_customer(org.owner, tags=tags, industry=industry.pk if industry else None, contacts=[{"name": "甲"}])
    assert count_queries() == few
    with django_assert_max_num_queries(12):
        api.get("/customers", {"limit": 500, "grade": "A", "tag": tags[0]})


# --- update -------------------------------------------------------------------------------------------


def test_patch_changes_only_the_given_fields(org: Org) -> None:
    customer = make_customer(org.owner, grade="B", city="广州市")
    api = Api(org.owner)
    response = api.patch(f"/customers/{customer.pk}", {"grade": "A", "source": "展会", "customer_type": None})
    assert response.status_code == 200, response.content.decode()
    body = json.loads(response.content)
    assert body["grade"] == "A" and body["source"] == "展会" and body["city"] == "广州市"
    assert body["version"] == 2 and response["ETag"] == '"2"'
    [entry, _created] = json.loads(api.get(f"/customers/{customer.pk}/history").content)["items"]
    assert entry["action"] == "update" and entry["channel"] == "api" and entry["changes"]["grade"] == ["B", "A"]


def test_patch_with_a_stale_if_match_is_412_and_changes_nothing(org: Org) -> None:
    customer = make_customer(org.owner)
    api = Api(org.owner)
    etag = api.get(f"/customers/{customer.pk}")["ETag"]
    assert api.patch(f"/customers/{customer.pk}", {"grade": "A"}, headers={"If-Match": etag}).status_code == 200
    body = assert_problem(
        api.patch(f"/customers/{customer.pk}", {"grade": "C"}, headers={"If-Match": etag}), 412, "precondition_failed"
    )
    assert body["version"] == 2
    customer.refresh_from_db()
    assert customer.grade == "A"


def test_malformed_if_match_is_a_400(org: Org) -> None:
    customer = make_customer(org.owner)
    body = assert_problem(
        Api(org.owner).patch(f"/customers/{customer.pk}", {"grade": "A"}, headers={"If-Match": "yesterday"}),
        400,
        "bad_request",
    )
    assert "If-Match" in body["detail"]


def test_patch_validation_problems(org: Org) -> None:
    make_customer(org.owner, name="广州蓝湾海鲜有限公司")
    customer = make_customer(org.owner)
    api = Api(org.owner)
    for change, field in [
        ({"name": "广州蓝湾海鲜有限公司"}, "name"),
        ({"name": None}, "name"),
        ({"status": "gone"}, "status"),
        ({"tags": [12345]}, "tags"),
        ({"kind": "robot"}, "kind"),
        ({"owner": 99999999999999999999}, "owner"),
    ]:
        assert field in assert_problem(api.patch(f"/customers/{customer.pk}", change), 422)["errors"], change
    customer.refresh_from_db()
    assert customer.version == 1


def test_finance_sees_but_may_not_edit(org: Org) -> None:
    customer = make_customer(org.owner)
    assert_problem(Api(org.finance).patch(f"/customers/{customer.pk}", {"grade": "A"}), 403, "permission_denied")


def test_teammate_may_not_edit_the_owners_customer(org: Org) -> None:
    customer = make_customer(org.owner)
    assert_problem(Api(org.teammate).patch(f"/customers/{customer.pk}", {"grade": "A"}), 404)


def test_service_role_may_edit_its_teams_customer(org: Org) -> None:
    customer = make_customer(org.owner)
    assert Api(org.service).patch(f"/customers/{customer.pk}", {"grade": "A"}).status_code == 200


# --- delete -------------------------------------------------------------------------------------------


def test_sales_may_not_delete_their_own_customer(org: Org) -> None:
    customer = make_customer(org.owner)
    assert_problem(Api(org.owner).delete(f"/customers/{customer.pk}"), 403, "permission_denied")
    assert Customer.objects.filter(pk=customer.pk).exists()


def test_manager_deletes_with_if_match(org: Org) -> None:
    customer = make_customer(org.owner, contacts=[{"name": "甲"}])
    api = Api(org.manager)
    assert_problem(api.delete(f"/customers/{customer.pk}", headers={"If-Match": '"7"'}), 412)
    response = api.delete(f"/customers/{customer.pk}", headers={"If-Match": f'"{customer.version}"'})
    assert response.status_code == 204 and response.content == b""
    assert_problem(api.get(f"/customers/{customer.pk}"), 404)
    assert ChangeLog.objects.filter(root_id=customer.pk, action="delete", channel="api").count() == 2


# --- language -----------------------------------------------------------------------------------------


def test_validation_messages_follow_accept_language(org: Org) -> None:
    zh = assert_problem(Api(org.owner, language="zh-hans").post("/customers", {"short_name": "x"}), 422)
    assert zh["errors"]["name"] == ["这个字段是必填项。"]
    en = assert_problem(Api(org.owner, language="en").post("/customers", {"short_name": "x"}), 422)
    assert en["errors"]["name"] == ["This field is required."]


# --- bad input never answers 500 ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"name": "某公司", "customer_type": true}', "customer_type"),
        ('{"name": "某公司", "customer_type": 1.5}', "customer_type"),
        ('{"name": "某公司", "customer_type": 99999999999999999999999}', "customer_type"),
        ('{"name": "某公司", "owner": true}', "owner"),
        ('{"name": "某公司", "owner": "3"}', "owner"),
        ('{"name": "某公司", "team": 0}', "team"),
        ('{"name": "某公司", "tags": [null]}', "tags.0"),
        ('{"name": "某公司", "grade": 5}', "grade"),
        ('{"name": "某公司", "custom_fields": []}', "custom_fields"),
        ('{"name": "某公司", "contacts": {}}', "contacts"),
        ('{"name": "某公司", "contacts": [null]}', "contacts.0"),
        ('{"name": "某公司", "contacts": [{"name": "甲", "is_primary": "yes"}]}', "contacts.0.is_primary"),
        (
            '{"name": "某公司", "contacts": [{"name": "甲", "position": 99999999999999999999999}]}',
            "contacts.0.position",
        ),
        ('{"name": "某公司", "contacts": [{"name": "甲", "custom_fields": {"nope": 1}}]}', "contacts.0.cf_nope"),
        ('{"name": "某\\u0000公司"}', "body"),
        ('{"name": "' + "长" * 201 + '"}', "name"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(org: Org, body: str, field: str) -> None:
    assert field in assert_problem(Api(org.admin).post("/customers", body), 422)["errors"]
    assert not Customer.objects.exists()


def test_an_infinite_custom_field_number_is_a_422(org: Org) -> None:
    """Needs customfields.clean_value to refuse non-finite numbers before int() (see the API report)."""
    custom_field_create(
        actor=org.admin, data={"object_type": "customer", "key": "seats", "label": "座位数", "field_type": "number"}
    )
    api = Api(org.admin)
    assert (
        "cf_seats"
        in assert_problem(api.post("/customers", '{"name": "某", "custom_fields": {"seats": 1e400}}'), 422)["errors"]
    )
    assert "cf_seats" in assert_problem(api.get("/customers", {"cf_seats": "Infinity"}), 422)["errors"]
