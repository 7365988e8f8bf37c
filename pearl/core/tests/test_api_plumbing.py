"""The API's shared plumbing: auth, problem details, If-Match, Idempotency-Key, unknown routes."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

import pytest
from django.test import Client, RequestFactory
from django.utils import timezone, translation

from pearl.accounts.services import token_create, token_revoke, user_update
from pearl.core.api import (
    BadRequest,
    _request_hash,
    if_match_version,
    problem_response,
    validation_errors,
)
from pearl.core.models import IdempotencyRecord
from pearl.core.testing.personas import Org
from pearl.customers import selectors
from pearl.customers.models import Customer
from pearl.customers.tests.test_api import Api, assert_problem

CSRF = "a" * 32  # a syntactically valid CSRF secret: the cookie and the header must carry the same


# --- bearer tokens ------------------------------------------------------------------------------------


def test_bearer_token_authenticates(org: Org) -> None:
    response = Api(org.manager).get("/me")
    assert response.status_code == 200
    body = json.loads(response.content)
    assert body["username"] == "manager" and body["role"] == "manager" and body["data_scope"] == "subtree"
    assert body["team"] == org.region.pk and "delete" in body["permissions"]
    assert "manage_settings" not in body["permissions"]


def test_revoked_token_is_401(org: Org) -> None:
    token, secret = token_create(actor=None, user=org.owner)
    client = Client(headers={"Authorization": f"Bearer {secret}"})
    assert client.get("/api/v1/me").status_code == 200
    token_revoke(actor=org.owner, token=token)
    response = client.get("/api/v1/me")
    assert_problem(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_token_of_a_deactivated_user_is_401(org: Org) -> None:
    _token, secret = token_create(actor=None, user=org.owner)
    user_update(actor=org.admin, user=org.owner, data={"is_active": False})
    assert_problem(Client(headers={"Authorization": f"Bearer {secret}"}).get("/api/v1/me"), 401)


@pytest.mark.parametrize("header", ["Bearer pearl_wrong", "Bearer ", "Basic YWRtaW46eA==", "pearl_abc", "Token x"])
def test_malformed_or_unknown_credentials_are_401(db: None, header: str) -> None:
    assert_problem(Client(headers={"Authorization": header}).get("/api/v1/customers"), 401, "not_authenticated")


# --- session + CSRF -----------------------------------------------------------------------------------


def _browser(user: Any) -> Client:
    client = Client(enforce_csrf_checks=True, headers={"Accept-Language": "en"})
    client.force_login(user)
    client.cookies["csrftoken"] = CSRF
    return client


def test_session_reads_without_csrf(org: Org) -> None:
    response = _browser(org.owner).get("/api/v1/me")
    assert response.status_code == 200 and json.loads(response.content)["username"] == "owner"


def test_session_writes_need_the_csrf_header(org: Org) -> None:
    browser = _browser(org.owner)
    body = json.dumps({"name": "广州会话测试有限公司"})
    refused = browser.post("/api/v1/customers", body, content_type="application/json")
    assert_problem(refused, 403, "csrf_failed")
    assert not Customer.objects.exists()
    ok = browser.post("/api/v1/customers", body, content_type="application/json", headers={"X-CSRFToken": CSRF})
    assert ok.status_code == 201
    customer_id = json.loads(ok.content)["id"]
    assert_problem(browser.patch(f"/api/v1/customers/{customer_id}", "{}", content_type="application/json"), 403)


def test_a_bad_token_is_401_even_for_a_logged_in_browser(org: Org) -> None:
    browser = _browser(org.owner)
    assert_problem(browser.get("/api/v1/me", headers={"Authorization": "Bearer pearl_nope"}), 401)


def test_anonymous_write_is_401_not_a_csrf_403(db: None) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/api/v1/customers", "{}", content_type="application/json")
    assert_problem(response, 401, "not_authenticated")


# --- problem details for everything -------------------------------------------------------------------


def test_malformed_json_is_400(org: Org) -> None:
    body = assert_problem(Api(org.owner).post("/customers", "{name: 1"), 400, "malformed_json")
    assert "JSON" in body["detail"]


def test_a_json_body_that_is_not_an_object_is_422(org: Org) -> None:
    assert assert_problem(Api(org.owner).post("/customers", "[1, 2]"), 422)["errors"] == {"body": ["Send an object."]}
    assert "body" in assert_problem(Api(org.owner).post("/customers", ""), 422)["errors"]


def test_wrong_method_is_a_405_problem(org: Org) -> None:
    response = Api(org.owner).client.put(
        "/api/v1/customers", "{}", content_type="application/json", headers=Api(org.owner).headers
    )
    assert_problem(response, 405, "method_not_allowed")
    assert set(response["Allow"].replace(" ", "").split(",")) == {"GET", "POST"}


@pytest.mark.parametrize("path", ["/api/v1/", "/api/v1/nothing", "/api/v1/customers/", "/api/v1/customers/1/x"])
def test_unknown_api_paths_are_404_problems(db: None, path: str) -> None:
    assert_problem(Client().get(path), 404, "not_found")


def test_an_unexpected_error_is_a_logged_500_problem(
    org: Org, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(**kwargs: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(selectors, "customer_list", broken)
    with caplog.at_level(logging.ERROR, logger="pearl.core.api"):
        body = assert_problem(Api(org.owner).get("/customers"), 500, "server_error")
    assert "disk on fire" not in body["detail"]
    assert any("disk on fire" in (r.exc_text or "") or r.exc_info for r in caplog.records)


def test_problem_extensions_never_overwrite_standard_members() -> None:
    response = problem_response(409, "taken", code="conflict", extra={"status": 200, "customer": 7})
    body = json.loads(response.content)
    assert body["status"] == 409 and body["customer"] == 7 and body["type"] == "urn:pearl:problem:conflict"
    assert response["Content-Type"].startswith("application/problem+json")


PYDANTIC_ERRORS: list[dict[str, Any]] = [
    {"type": "missing", "loc": ("body", "payload", "contacts", 0, "name")},
    {"type": "int_parsing", "loc": ("query", "limit")},
    {"type": "extra_forbidden", "loc": ("body", "payload", "nickname")},
    {"type": "something_new", "loc": ("body", "payload", "x")},
]


def test_validation_error_paths_and_messages() -> None:
    with translation.override("en"):
        errors = validation_errors(PYDANTIC_ERRORS)
    assert errors == {
        "contacts.0.name": ["This field is required."],
        "limit": ["Enter a whole number."],
        "nickname": ["Unknown field nickname."],
        "x": ["Enter a valid value."],
    }


def test_validation_messages_are_translated() -> None:
    with translation.override("zh-hans"):
        errors = validation_errors(PYDANTIC_ERRORS)
    assert errors["contacts.0.name"] == ["这个字段是必填项。"] and errors["limit"] == ["输入整数。"]


# --- If-Match -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("header", "expected"), [(None, None), ("*", None), ('"3"', 3), ("12", 12), (' "4" ', 4)])
def test_if_match_values(header: str | None, expected: int | None) -> None:
    headers = {"If-Match": header} if header is not None else {}
    assert if_match_version(RequestFactory().patch("/x", headers=headers)) == expected


@pytest.mark.parametrize("header", ['W/"3"', "abc", '"3", "4"', '"-1"', ""])
def test_malformed_if_match_is_refused(header: str) -> None:
    with pytest.raises(BadRequest):
        if_match_version(RequestFactory().patch("/x", HTTP_IF_MATCH=header))


# --- Idempotency-Key ----------------------------------------------------------------------------------


def test_replaying_a_post_returns_the_first_answer_and_creates_nothing(org: Org) -> None:
    api = Api(org.owner)
    body = {"name": "广州幂等测试有限公司", "contacts": [{"name": "甲"}]}
    first = api.post("/customers", body, headers={"Idempotency-Key": "k-1"})
    second = api.post("/customers", body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == second.status_code == 201
    assert second.content == first.content and second["Idempotent-Replayed"] == "true"
    assert second["ETag"] == first["ETag"] and second["Location"] == first["Location"]
    assert "Idempotent-Replayed" not in first
    assert Customer.objects.count() == 1


def test_the_same_key_with_another_body_is_a_422(org: Org) -> None:
    api = Api(org.owner)
    api.post("/customers", {"name": "广州一号有限公司"}, headers={"Idempotency-Key": "k-2"})
    response = api.post("/customers", {"name": "广州二号有限公司"}, headers={"Idempotency-Key": "k-2"})
    assert_problem(response, 422, "idempotency_key_reused")
    assert list(Customer.objects.values_list("name", flat=True)) == ["广州一号有限公司"]


def test_a_failed_first_try_can_be_retried_with_the_same_key(org: Org) -> None:
    api = Api(org.owner)
    contact = {"name": "甲", "mobile": "123"}
    body: dict[str, Any] = {"name": "广州重试有限公司", "contacts": [contact]}
    assert_problem(api.post("/customers", body, headers={"Idempotency-Key": "k-3"}), 422)
    assert not IdempotencyRecord.objects.exists()
    contact["mobile"] = "13800138000"
    assert api.post("/customers", body, headers={"Idempotency-Key": "k-3"}).status_code == 201
    replay = api.post("/customers", body, headers={"Idempotency-Key": "k-3"})
    assert replay["Idempotent-Replayed"] == "true" and Customer.objects.count() == 1


def test_keys_belong_to_one_user(org: Org) -> None:
    Api(org.owner).post("/customers", {"name": "广州甲有限公司"}, headers={"Idempotency-Key": "shared"})
    other = Api(org.teammate).post("/customers", {"name": "广州甲有限公司"}, headers={"Idempotency-Key": "shared"})
    assert_problem(other, 422, "validation_failed")  # really ran: the name is taken, not a replay
    assert "Idempotent-Replayed" not in other


def test_a_request_still_in_progress_is_a_409_until_its_claim_goes_stale(org: Org) -> None:
    body = json.dumps({"name": "广州并发有限公司"})
    probe = RequestFactory().post("/api/v1/customers", body, content_type="application/json")
    record = IdempotencyRecord.objects.create(
        user=org.owner,
        key="k-4",
        method="POST",
        path="/api/v1/customers",
        request_hash=_request_hash(probe),
        status_code=0,
        response_body="",
        response_headers={},
    )
    api = Api(org.owner)
    assert_problem(api.post("/customers", body, headers={"Idempotency-Key": "k-4"}), 409, "idempotency_in_progress")
    assert not Customer.objects.exists()
    IdempotencyRecord.objects.filter(pk=record.pk).update(created_at=timezone.now() - dt.timedelta(hours=1))
    assert api.post("/customers", body, headers={"Idempotency-Key": "k-4"}).status_code == 201
    assert IdempotencyRecord.objects.get(pk=record.pk).status_code == 201


def test_idempotency_key_edge_cases(org: Org) -> None:
    api = Api(org.owner)
    assert_problem(api.post("/customers", {"name": "x"}, headers={"Idempotency-Key": "k" * 256}), 400)
    assert_problem(Api().post("/customers", {"name": "x"}, headers={"Idempotency-Key": "anon"}), 401)
    assert api.get("/customers", headers={"Idempotency-Key": "k-get"}).status_code == 200
    assert not IdempotencyRecord.objects.exists()


def test_idempotency_covers_every_post(org: Org) -> None:
    api = Api(org.admin)
    first = api.post("/tags", {"name": "幂等"}, headers={"Idempotency-Key": "tag-1"})
    again = api.post("/tags", {"name": "幂等"}, headers={"Idempotency-Key": "tag-1"})
    assert first.status_code == again.status_code == 201 and again["Idempotent-Replayed"] == "true"


def test_nan_and_infinity_literals_are_not_json(org: Org) -> None:
    assert_problem(Api(org.owner).post("/customers", '{"name": "x", "grade": NaN}'), 400, "malformed_json")


def test_null_characters_are_refused_before_they_reach_the_database(org: Org) -> None:
    api = Api(org.admin)
    assert assert_problem(api.post("/tags", '{"name": "a\\u0000"}'), 422)["errors"] == {
        "body": ["Null characters are not allowed."]
    }
    assert "q" in assert_problem(api.get("/contacts", {"q": "a\x00"}), 422)["errors"]
    assert api.post("/tags", '{"name": "a\\\\u0000"}').status_code == 201  # an escaped backslash, not a NUL
