"""The API contract other tools rely on (issue §6), read from the served OpenAPI document."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

CONTRACT = {
    "/api/v1/customers": {"get", "post"},
    "/api/v1/customers/{id}": {"get", "patch", "delete"},
    "/api/v1/contacts": {"get", "post"},
    "/api/v1/contacts/{id}": {"get", "patch", "delete"},
    "/api/v1/tags": {"get", "post"},
    "/api/v1/tags/{id}": {"get", "patch", "delete"},
    "/api/v1/custom-fields": {"get", "post"},
    "/api/v1/custom-fields/{id}": {"get", "patch", "delete"},
}
CUSTOMER_FIELDS = {
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
    "version",
    "created_at",
    "updated_at",
}
CONTACT_FIELDS = {"id", "customer", "name", "mobile", "email", "wechat", "position", "is_primary"}


@pytest.fixture
def schema(db: None) -> dict[str, Any]:
    response = Client().get("/api/v1/openapi.json")  # public, and served with DEBUG off (the test default)
    assert response.status_code == 200
    result: dict[str, Any] = json.loads(response.content)
    return result


def _component(schema: dict[str, Any], ref_holder: dict[str, Any]) -> dict[str, Any]:
    ref = ref_holder["$ref"]
    found: dict[str, Any] = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return found


def _response_schema(schema: dict[str, Any], path: str, method: str, status: str) -> dict[str, Any]:
    content = schema["paths"][path][method]["responses"][status]["content"]
    return _component(schema, next(iter(content.values()))["schema"])


def test_contract_paths_and_methods(schema: dict[str, Any]) -> None:
    for path, methods in CONTRACT.items():
        assert path in schema["paths"], path
        assert methods <= set(schema["paths"][path]), (path, set(schema["paths"][path]))


def test_customer_contract_fields(schema: dict[str, Any]) -> None:
    detail = _response_schema(schema, "/api/v1/customers/{id}", "get", "200")
    assert CUSTOMER_FIELDS | {"contacts"} <= set(detail["properties"])
    assert detail["properties"]["kind"]["enum"] == ["company", "individual"]
    listed = _response_schema(schema, "/api/v1/customers", "get", "200")
    assert {"items", "count"} <= set(listed["properties"])
    item = _component(schema, listed["properties"]["items"]["items"])
    assert set(item["properties"]) >= CUSTOMER_FIELDS


def test_contact_contract_fields(schema: dict[str, Any]) -> None:
    contact = _response_schema(schema, "/api/v1/contacts/{id}", "get", "200")
    assert set(contact["properties"]) >= CONTACT_FIELDS


def test_customer_creation_may_carry_contacts_and_lists_take_the_filters(schema: dict[str, Any]) -> None:
    body = schema["paths"]["/api/v1/customers"]["post"]["requestBody"]["content"]["application/json"]
    assert "contacts" in _component(schema, body["schema"])["properties"]
    params = {p["name"] for p in schema["paths"]["/api/v1/customers"]["get"]["parameters"]}
    assert {"q", "limit", "offset", "customer_type", "province", "city", "grade", "tag", "owner", "ordering"} <= params
    post_headers = {p["name"] for p in schema["paths"]["/api/v1/customers"]["post"]["parameters"]}
    assert "Idempotency-Key" in post_headers


def test_operation_ids_and_errors_are_documented(schema: dict[str, Any]) -> None:
    operations = {op["operationId"] for methods in schema["paths"].values() for op in methods.values()}
    assert {
        "list_customers",
        "get_customer",
        "create_customer",
        "update_customer",
        "delete_customer",
        "list_contacts",
        "list_tags",
        "list_custom_fields",
    } <= operations
    not_found = schema["paths"]["/api/v1/customers/{id}"]["get"]["responses"]["404"]["content"]
    assert list(not_found) == ["application/problem+json"]
    security = schema["components"]["securitySchemes"]
    assert {"type": "http", "scheme": "bearer"}.items() <= next(iter(security.values())).items()


def test_docs_page_works_offline(db: None, settings: Any) -> None:
    """/api/v1/docs loads Swagger UI from Pearl's own static files, never from a CDN.

    Static URLs are checked against the staticfiles finders (what collectstatic and WhiteNoise
    serve); the manifest storage itself needs collectstatic, which is not a unit test's job.
    """
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    response = Client().get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/api/v1/openapi.json" in html
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(u.endswith("swagger-ui-bundle.js") for u in urls)
    assert not [u for u in urls if u.startswith(("http:", "https:", "//"))], urls
    for url in urls:
        assert url.startswith(settings.STATIC_URL), url
        assert finders.find(url[len(settings.STATIC_URL) :]), f"{url} is not a static file Pearl serves"
