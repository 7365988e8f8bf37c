"""/api/v1/tags and /api/v1/custom-fields: anyone signed in reads, only manage_settings writes."""

from __future__ import annotations

import json

import pytest

from pearl.core.testing.personas import Org
from pearl.customers.models import CustomFieldDefinition, Tag
from pearl.customers.services import custom_field_create, tag_create
from pearl.customers.tests.factories import make_customer
from pearl.customers.tests.test_api import Api, assert_problem, ids


@pytest.fixture
def tag(org: Org) -> Tag:
    return tag_create(actor=org.admin, data={"name": "大客户", "color": "#ff0000"})


@pytest.fixture
def field(org: Org) -> CustomFieldDefinition:
    return custom_field_create(
        actor=org.admin,
        data={
            "object_type": "customer",
            "key": "region_code",
            "label": "区域编码",
            "field_type": "choice",
            "choices": ["华南", "华东"],
        },
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/tags"),
        ("post", "/tags"),
        ("get", "/tags/1"),
        ("patch", "/tags/1"),
        ("delete", "/tags/1"),
        ("get", "/custom-fields"),
        ("post", "/custom-fields"),
        ("get", "/custom-fields/1"),
        ("patch", "/custom-fields/1"),
        ("delete", "/custom-fields/1"),
    ],
)
def test_settings_endpoints_need_authentication(db: None, method: str, path: str) -> None:
    assert_problem(getattr(Api(), method)(path), 401, "not_authenticated")


# --- tags ---------------------------------------------------------------------------------------------


def test_everyone_reads_tags(org: Org, tag: Tag) -> None:
    tag_create(actor=org.admin, data={"name": "新客"})
    api = Api(org.outsider)
    body = json.loads(api.get("/tags").content)
    assert body["count"] == 2 and {t["name"] for t in body["items"]} == {"大客户", "新客"}
    assert ids(api.get("/tags", {"q": "大"})) == {tag.pk}
    assert json.loads(api.get(f"/tags/{tag.pk}").content) == {"id": tag.pk, "name": "大客户", "color": "#ff0000"}
    assert_problem(api.get("/tags/999999"), 404, "not_found")
    assert "sort" in assert_problem(api.get("/tags", {"sort": "name"}), 422)["errors"]


def test_admin_manages_tags(org: Org, tag: Tag) -> None:
    api = Api(org.admin)
    response = api.post("/tags", {"name": "回头客", "color": "#00AA00"})
    assert response.status_code == 201
    created = json.loads(response.content)
    assert created["color"] == "#00aa00"
    assert json.loads(api.patch(f"/tags/{tag.pk}", {"color": "#0000ff"}).content)["color"] == "#0000ff"
    assert "name" in assert_problem(api.post("/tags", {"name": "大客户"}), 422)["errors"]
    assert "color" in assert_problem(api.patch(f"/tags/{tag.pk}", {"color": "red"}), 422)["errors"]
    assert api.delete(f"/tags/{created['id']}").status_code == 204
    assert not Tag.objects.filter(pk=created["id"]).exists()
    assert_problem(api.patch("/tags/999999", {"name": "x"}), 404)


@pytest.mark.parametrize("persona", ["owner", "manager", "finance"])
def test_tag_writes_need_manage_settings(org: Org, tag: Tag, persona: str) -> None:
    api = Api(getattr(org, persona))
    assert_problem(api.post("/tags", {"name": "私建"}), 403, "permission_denied")
    assert_problem(api.patch(f"/tags/{tag.pk}", {"name": "改名"}), 403, "permission_denied")
    assert_problem(api.delete(f"/tags/{tag.pk}"), 403, "permission_denied")
    assert list(Tag.objects.values_list("name", flat=True)) == ["大客户"]


# --- custom fields ------------------------------------------------------------------------------------


def test_everyone_reads_custom_fields(org: Org, field: CustomFieldDefinition) -> None:
    contact_field = custom_field_create(
        actor=org.admin, data={"object_type": "contact", "key": "birthday", "label": "生日", "field_type": "date"}
    )
    api = Api(org.owner)
    assert ids(api.get("/custom-fields")) == {field.pk, contact_field.pk}
    assert ids(api.get("/custom-fields", {"object_type": "contact"})) == {contact_field.pk}
    assert "object_type" in assert_problem(api.get("/custom-fields", {"object_type": "order"}), 422)["errors"]
    body = json.loads(api.get(f"/custom-fields/{field.pk}").content)
    assert body["key"] == "region_code" and body["choices"] == ["华南", "华东"] and body["field_type"] == "choice"
    assert_problem(api.get("/custom-fields/999999"), 404)


def test_admin_manages_custom_fields(org: Org, field: CustomFieldDefinition) -> None:
    api = Api(org.admin)
    response = api.post(
        "/custom-fields",
        {
            "object_type": "customer",
            "key": "seats",
            "label": "座位数",
            "field_type": "number",
            "required": False,
            "order": 2,
        },
    )
    assert response.status_code == 201, response.content.decode()
    seats = json.loads(response.content)
    assert seats["key"] == "seats" and seats["order"] == 2
    assert (
        "key"
        in assert_problem(
            api.post(
                "/custom-fields", {"object_type": "customer", "key": "seats", "label": "又一个", "field_type": "text"}
            ),
            422,
        )["errors"]
    )
    assert (
        "key"
        in assert_problem(
            api.post("/custom-fields", {"object_type": "customer", "key": "1bad", "label": "坏", "field_type": "text"}),
            422,
        )["errors"]
    )
    patched = json.loads(api.patch(f"/custom-fields/{field.pk}", {"label": "大区", "key": "region_code"}).content)
    assert patched["label"] == "大区"
    for change in ({"key": "area"}, {"field_type": "text"}, {"object_type": "contact"}):
        errors = assert_problem(api.patch(f"/custom-fields/{field.pk}", change), 422)["errors"]
        assert set(errors) == set(change)
    assert api.delete(f"/custom-fields/{seats['id']}").status_code == 204


def test_a_custom_field_still_holding_values_cannot_be_deleted(org: Org, field: CustomFieldDefinition) -> None:
    make_customer(org.owner, custom_fields={"region_code": "华南"})
    body = assert_problem(Api(org.admin).delete(f"/custom-fields/{field.pk}"), 409, "conflict")
    assert "区域编码" in body["detail"]
    assert CustomFieldDefinition.objects.filter(pk=field.pk).exists()


@pytest.mark.parametrize("persona", ["owner", "manager", "service"])
def test_custom_field_writes_need_manage_settings(org: Org, field: CustomFieldDefinition, persona: str) -> None:
    api = Api(getattr(org, persona))
    new = {"object_type": "customer", "key": "x", "label": "X", "field_type": "text"}
    assert_problem(api.post("/custom-fields", new), 403, "permission_denied")
    assert_problem(api.patch(f"/custom-fields/{field.pk}", {"label": "改"}), 403, "permission_denied")
    assert_problem(api.delete(f"/custom-fields/{field.pk}"), 403, "permission_denied")
    field.refresh_from_db()
    assert field.label == "区域编码" and CustomFieldDefinition.objects.count() == 1
