"""/api/v1/contacts: list, create, read, update, delete, with scopes, denials, ETags and identities."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pearl.core.models import ChangeLog
from pearl.core.testing.personas import Org
from pearl.customers.models import Contact, Customer
from pearl.customers.tests.factories import make_customer, mobile
from pearl.customers.tests.test_api import Api, assert_problem, ids


@pytest.fixture
def contact(org: Org) -> Contact:
    customer = make_customer(org.owner, contacts=[{"name": "王海", "mobile": mobile(10), "position": None}])
    return customer.contacts.get()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/contacts"),
        ("post", "/contacts"),
        ("get", "/contacts/1"),
        ("patch", "/contacts/1"),
        ("delete", "/contacts/1"),
    ],
)
def test_every_contact_endpoint_needs_authentication(db: None, method: str, path: str) -> None:
    assert_problem(getattr(Api(), method)(path), 401, "not_authenticated")


def test_list_contacts_in_scope_with_filters(org: Org, contact: Contact) -> None:
    other = make_customer(org.owner, contacts=[{"name": "李梅"}, {"name": "王强"}])
    theirs = make_customer(org.outsider, contacts=[{"name": "王五"}])
    api = Api(org.owner)
    assert ids(api.get("/contacts")) == {contact.pk, *other.contacts.values_list("pk", flat=True)}
    assert ids(api.get("/contacts", {"customer": other.pk})) == set(other.contacts.values_list("pk", flat=True))
    assert ids(api.get("/contacts", {"q": "王"})) == {contact.pk, other.contacts.get(name="王强").pk}
    body = json.loads(api.get("/contacts", {"limit": 1}).content)
    assert body["count"] == 3 and len(body["items"]) == 1
    assert ids(Api(org.outsider).get("/contacts")) == {theirs.contacts.get().pk}
    assert ids(Api(org.outsider).get("/contacts", {"customer": contact.customer_id})) == set()


def test_bad_contact_list_params_are_422(org: Org) -> None:
    api = Api(org.owner)
    assert "customer" in assert_problem(api.get("/contacts", {"customer": "abc"}), 422)["errors"]
    assert "sort" in assert_problem(api.get("/contacts", {"sort": "name"}), 422)["errors"]


def test_get_contact_has_etag_and_contract_fields(org: Org, contact: Contact) -> None:
    response = Api(org.owner).get(f"/contacts/{contact.pk}")
    assert response.status_code == 200 and response["ETag"] == f'"{contact.version}"'
    body = json.loads(response.content)
    assert body["customer"] == contact.customer_id and body["mobile"] == mobile(10)
    assert set(body) >= {
        "id",
        "customer",
        "name",
        "mobile",
        "email",
        "wechat",
        "position",
        "is_primary",
        "custom_fields",
        "version",
    }


def test_outsider_gets_404_on_every_contact_record_endpoint(org: Org, contact: Contact) -> None:
    api = Api(org.outsider)
    assert_problem(api.get(f"/contacts/{contact.pk}"), 404, "not_found")
    assert_problem(api.patch(f"/contacts/{contact.pk}", {"name": "改名"}), 404)
    assert_problem(api.delete(f"/contacts/{contact.pk}"), 404)
    assert_problem(api.post("/contacts", {"customer": contact.customer_id, "name": "新人"}), 404)
    contact.refresh_from_db()
    assert contact.name == "王海" and Contact.objects.count() == 1


def test_create_contact(org: Org, contact: Contact) -> None:
    api = Api(org.owner)
    response = api.post(
        "/contacts",
        {
            "customer": contact.customer_id,
            "name": "李梅",
            "mobile": "020-87654321",
            "email": "LI@Example.com",
            "position": "采购经理",
        },
    )
    assert response.status_code == 201, response.content.decode()
    body = json.loads(response.content)
    assert body["mobile"] == "02087654321" and body["email"] == "li@example.com"
    assert body["position"] == "采购经理" and body["is_primary"] is False
    assert response["ETag"] == '"1"' and response["Location"] == f"/api/v1/contacts/{body['id']}"
    assert Customer.objects.get(pk=contact.customer_id).version == 2  # the customer's JSON changed
    assert ChangeLog.objects.filter(object_id=body["id"], object_type="customers.contact", channel="api").exists()


def test_create_contact_validation(org: Org, contact: Contact) -> None:
    api = Api(org.owner)
    assert "customer" in assert_problem(api.post("/contacts", {"name": "甲"}), 422)["errors"]
    assert_problem(api.post("/contacts", {"customer": 999999, "name": "甲"}), 404)
    bad = {"customer": contact.customer_id, "name": "甲", "mobile": "110", "email": "nope", "position": "CEO"}
    assert "position" in assert_problem(api.post("/contacts", bad), 422)["errors"]
    bad["position"] = None
    errors = assert_problem(api.post("/contacts", bad), 422)["errors"]
    assert set(errors) == {"mobile", "email"}
    assert Contact.objects.count() == 1


def test_a_mobile_held_by_another_customer_is_a_409_naming_it(org: Org, contact: Contact) -> None:
    other = make_customer(org.owner, name="佛山渔人码头有限公司")
    body = assert_problem(
        Api(org.owner).post("/contacts", {"customer": other.pk, "name": "甲", "mobile": mobile(10)}), 409, "conflict"
    )
    assert contact.customer.name in body["detail"] and body["customer"] == contact.customer_id


def test_patch_contact_and_if_match(org: Org, contact: Contact) -> None:
    api = Api(org.owner)
    etag = api.get(f"/contacts/{contact.pk}")["ETag"]
    change = {"wechat": "wanghai88", "position": "老板"}
    response = api.patch(f"/contacts/{contact.pk}", change, headers={"If-Match": etag})
    assert response.status_code == 200, response.content.decode()
    body = json.loads(response.content)
    assert body["wechat"] == "wanghai88" and body["position"] == "老板" and body["name"] == "王海"
    assert response["ETag"] == f'"{body["version"]}"' != etag
    assert_problem(api.patch(f"/contacts/{contact.pk}", {"name": "旧"}, headers={"If-Match": etag}), 412)
    assert_problem(api.patch(f"/contacts/{contact.pk}", {"mobile": "abc"}), 422)
    assert_problem(api.patch(f"/contacts/{contact.pk}", {"customer": 1}), 422)
    contact.refresh_from_db()
    assert contact.name == "王海" and contact.wechat == "wanghai88"


def test_delete_contact(org: Org, contact: Contact) -> None:
    api = Api(org.owner)
    assert_problem(api.delete(f"/contacts/{contact.pk}", headers={"If-Match": '"9"'}), 412)
    assert api.delete(f"/contacts/{contact.pk}").status_code == 204
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert_problem(api.get(f"/contacts/{contact.pk}"), 404)


@pytest.mark.parametrize("method", ["post", "patch", "delete"])
def test_finance_sees_contacts_but_may_not_change_them(org: Org, contact: Contact, method: str) -> None:
    api = Api(org.finance)
    assert api.get(f"/contacts/{contact.pk}").status_code == 200
    calls: dict[str, Any] = {
        "post": lambda: api.post("/contacts", {"customer": contact.customer_id, "name": "甲"}),
        "patch": lambda: api.patch(f"/contacts/{contact.pk}", {"name": "甲"}),
        "delete": lambda: api.delete(f"/contacts/{contact.pk}"),
    }
    assert_problem(calls[method](), 403, "permission_denied")
    assert Contact.objects.get().name == "王海"
