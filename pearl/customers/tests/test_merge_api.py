"""/api/v1 merges: merge, aliases (301 on read, 409 on write), the merge record, unmerge, denials."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pearl.core.testing.personas import Org
from pearl.customers.models import Customer, CustomerMerge
from pearl.customers.services import customer_merge
from pearl.customers.tests.factories import make_customer, mobile
from pearl.customers.tests.test_api import Api, assert_problem


@pytest.fixture
def pair(org: Org) -> tuple[Customer, Customer]:
    s = make_customer(org.owner, city="广州市", contacts=[{"name": "张伟", "mobile": mobile(1)}])
    a = make_customer(org.owner, city="深圳市", contacts=[{"name": "李娜", "mobile": mobile(2)}])
    return s, a


def test_merge_returns_the_survivor_and_the_merge(org: Org, pair: Any) -> None:
    s, a = pair
    response = Api(org.manager).post(
        "/customers/merge", {"survivor": s.pk, "others": [a.pk], "choices": {"city": s.pk}, "rule": "complete"}
    )
    assert response.status_code == 201, response.content.decode()
    body = json.loads(response.content)
    merge = CustomerMerge.objects.get()
    assert body["merge_id"] == merge.pk and body["merge"]["merged"] == [a.pk] and body["merge"]["rule"] == "complete"
    assert body["customer"]["id"] == s.pk and body["customer"]["city"] == "广州市"
    assert {c["name"] for c in body["customer"]["contacts"]} == {"张伟", "李娜"}
    assert response["Location"] == f"/api/v1/merges/{merge.pk}"
    got = Api(org.owner).get(f"/merges/{merge.pk}")
    assert got.status_code == 200 and json.loads(got.content)["survivor"] == s.pk


def test_merge_honours_the_idempotency_key(org: Org, pair: Any) -> None:
    s, a = pair
    api = Api(org.manager)
    body = {"survivor": s.pk, "others": [a.pk]}
    first = api.post("/customers/merge", body, headers={"Idempotency-Key": "merge-1"})
    again = api.post("/customers/merge", body, headers={"Idempotency-Key": "merge-1"})
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and again.content == first.content
    assert CustomerMerge.objects.count() == 1


def test_an_alias_answers_301_on_read_and_409_on_write(org: Org, pair: Any) -> None:
    s, a = pair
    customer_merge(actor=org.manager, survivor_id=s.pk, other_ids=[a.pk])
    api = Api(org.owner)
    response = api.get(f"/customers/{a.pk}")
    assert response.status_code == 301
    assert response["Location"] == f"/api/v1/customers/{s.pk}"
    assert api.get(f"/customers/{a.pk}/history")["Location"] == f"/api/v1/customers/{s.pk}/history"
    for answer in (api.patch(f"/customers/{a.pk}", {"city": "佛山市"}), api.delete(f"/customers/{a.pk}")):
        problem = assert_problem(answer, 409, "customer_merged")
        assert problem["survivor"] == s.pk and problem["survivor_url"] == f"/api/v1/customers/{s.pk}"
        assert f"#{s.pk}" in problem["detail"]
    assert Customer.objects.get(pk=s.pk).city == "深圳市"  # nothing was written


def test_an_alias_is_not_found_for_an_outsider(org: Org, pair: Any) -> None:
    s, a = pair
    merge = customer_merge(actor=org.manager, survivor_id=s.pk, other_ids=[a.pk])
    api = Api(org.outsider)
    assert_problem(api.get(f"/customers/{a.pk}"), 404, "not_found")
    assert_problem(api.patch(f"/customers/{a.pk}", {"city": "佛山市"}), 404)
    assert_problem(api.get(f"/merges/{merge.pk}"), 404)
    assert_problem(api.post(f"/merges/{merge.pk}/unmerge"), 404)
    assert_problem(api.post("/customers/merge", {"survivor": s.pk, "others": [make_customer(org.owner).pk]}), 404)


def test_unmerge_restores_and_a_second_unmerge_is_a_conflict(org: Org, pair: Any) -> None:
    s, a = pair
    merge = customer_merge(actor=org.manager, survivor_id=s.pk, other_ids=[a.pk])
    api = Api(org.manager)
    response = api.post(f"/merges/{merge.pk}/unmerge")
    assert response.status_code == 200, response.content.decode()
    body = json.loads(response.content)
    assert [c["id"] for c in body["customers"]] == [s.pk, a.pk]
    assert body["customers"][0]["city"] == "广州市" and body["customers"][1]["city"] == "深圳市"
    assert body["merge"]["undone_at"] and body["merge"]["undone_by"] == org.manager.pk
    assert api.get(f"/customers/{a.pk}").status_code == 200
    problem = assert_problem(api.post(f"/merges/{merge.pk}/unmerge"), 409, "conflict")
    assert "already undone" in problem["detail"] and problem["problems"]


def test_merge_denials_and_bad_input(org: Org, pair: Any) -> None:
    s, a = pair
    assert_problem(Api(org.owner).post("/customers/merge", {"survivor": s.pk, "others": [a.pk]}), 403)
    api = Api(org.manager)
    problem = assert_problem(api.post("/customers/merge", {"survivor": s.pk, "others": []}), 422)
    assert "at least one other customer" in problem["detail"]
    problem = assert_problem(api.post("/customers/merge", {"survivor": s.pk, "others": [s.pk]}), 422)
    assert "listed twice" in problem["detail"]
    problem = assert_problem(
        api.post("/customers/merge", {"survivor": s.pk, "others": [a.pk], "choices": {"x": 1}}), 422
    )
    assert "choices.x" in problem["errors"]
    assert_problem(api.post("/customers/merge", {"survivor": s.pk, "others": [a.pk], "rule": "best"}), 422)
    problem = assert_problem(api.post("/customers/merge", {"survivor": s.pk, "others": [999999]}), 404)
    assert "#999999" in problem["detail"]
    assert_problem(api.get("/merges/999999"), 404)
    assert Customer.objects.filter(pk=a.pk).exists()
