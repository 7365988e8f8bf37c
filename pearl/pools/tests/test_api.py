from __future__ import annotations

import json
from typing import Any

import pytest

from pearl.accounts.models import User
from pearl.core.testing.personas import Org
from pearl.customers.models import Customer
from pearl.customers.tests.factories import make_customer
from pearl.customers.tests.test_api import Api, assert_problem
from pearl.pools.models import CustomerProtection, Pool
from pearl.pools.tests.conftest import pooled

pytestmark = pytest.mark.django_db


def _put(api: Api, path: str, body: Any) -> Any:
    return api.client.put("/api/v1" + path, json.dumps(body), content_type="application/json", headers=api.headers)


def test_list_pools_with_counts_and_scope(org: Org, pool: Pool, team_pool: Pool) -> None:
    pooled(org.owner, pool)
    pooled(org.owner, team_pool)
    pooled(org.owner, team_pool)
    body = json.loads(Api(org.teammate).get("/pools").content)
    assert {p["name"]: p["customer_count"] for p in body["items"]} == {pool.name: 1, team_pool.name: 2}
    outsider = json.loads(Api(org.outsider).get("/pools").content)
    assert [p["name"] for p in outsider["items"]] == [pool.name]
    assert_problem(Api(org.outsider).get(f"/pools/{team_pool.pk}/customers"), 404)
    assert Api().get("/pools").status_code == 401


def test_pool_customers_are_masked(org: Org, pool: Pool) -> None:
    customer = pooled(org.owner, pool)
    mobile = customer.contacts.get().mobile
    body = json.loads(Api(org.teammate).get(f"/pools/{pool.pk}/customers").content)
    assert body["count"] == 1
    item = body["items"][0]
    assert item["customer"] == customer.pk and item["mobile"] == f"{mobile[:3]}****{mobile[-4:]}"
    assert mobile not in json.dumps(body)
    assert body["quota"]["claimed_today"] == 0


def test_claim_and_conflict(org: Org, pool: Pool) -> None:
    customer = pooled(org.owner, pool)
    won = Api(org.teammate).post(f"/pools/{pool.pk}/claim", {"customer": customer.pk})
    assert won.status_code == 200, won.content
    assert json.loads(won.content)["owner"] == org.teammate.pk
    lost = assert_problem(Api(org.outsider).post(f"/pools/{pool.pk}/claim", {"customer": customer.pk}), 409)
    assert lost["reason"] == "already_claimed" and "claimed this customer first" in lost["detail"]


def test_daily_quota_is_a_409(org: Org, pool: Pool) -> None:
    a, b = pooled(org.owner, pool), pooled(org.owner, pool)
    pool.daily_claim_quota = 1
    pool.save()
    api = Api(org.outsider)
    assert api.post(f"/pools/{pool.pk}/claim", {"customer": a.pk}).status_code == 200
    assert assert_problem(api.post(f"/pools/{pool.pk}/claim", {"customer": b.pk}), 409)["reason"] == "daily_quota"


def test_release(org: Org, pool: Pool) -> None:
    customer = make_customer(org.owner)
    assert_problem(Api(org.owner).post(f"/pools/{pool.pk}/release", {"customer": customer.pk, "reason": ""}), 422)
    assert_problem(Api(org.outsider).post(f"/pools/{pool.pk}/release", {"customer": customer.pk, "reason": "x"}), 404)
    done = Api(org.owner).post(f"/pools/{pool.pk}/release", {"customer": customer.pk, "reason": "没需求"})
    assert done.status_code == 201 and json.loads(done.content)["previous_owner"] == org.owner.pk
    assert Customer.objects.get(pk=customer.pk).owner_id is None


def test_protection_is_for_managers(org: Org) -> None:
    customer = make_customer(org.owner)
    assert_problem(_put(Api(org.owner), f"/customers/{customer.pk}/protection", {"reason": "x"}), 403)
    assert_problem(_put(Api(org.outsider), f"/customers/{customer.pk}/protection", {"reason": "x"}), 403)
    ok = _put(Api(org.manager), f"/customers/{customer.pk}/protection", {"reason": "大客户"})
    assert ok.status_code == 200 and json.loads(ok.content)["protected_by"] == org.manager.pk
    assert CustomerProtection.objects.filter(customer=customer).exists()
    assert Api(org.manager).delete(f"/customers/{customer.pk}/protection").status_code == 204
    assert not CustomerProtection.objects.filter(customer=customer).exists()


def test_handover_endpoint(org: Org) -> None:
    make_customer(org.owner)
    make_customer(org.owner)
    path = f"/users/{org.owner.pk}/handover"
    assert_problem(Api(org.manager).post(path, {"to": [org.teammate.pk]}), 403)
    preview = json.loads(Api(org.admin).post(path, {"to": [org.teammate.pk]}).content)
    assert preview["counts"]["customers"] == 2 and preview["moved"] == {} and preview["dry_run"]
    User.objects.filter(pk=org.outsider.pk).update(is_active=False)
    assert_problem(Api(org.admin).post(path, {"to": [org.outsider.pk], "dry_run": False}), 422)
    done = json.loads(
        Api(org.admin).post(path, {"to": [org.teammate.pk], "dry_run": False, "deactivate": True}).content
    )
    assert done["moved"]["customers"] == 2 and done["deactivated"]
    assert Customer.objects.filter(owner=org.teammate).count() == 2
