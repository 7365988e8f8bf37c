"""/api/v1/opportunities and /api/v1/pipelines through real HTTP requests."""

from __future__ import annotations

from typing import Any

import pytest

from pearl.customers.models import Customer
from pearl.customers.tests.test_api import Api, assert_problem
from pearl.pipelines.models import Opportunity, Pipeline, Stage, StageChange
from pearl.pipelines.tests.factories import make_opportunity


@pytest.fixture
def api(org: Any) -> dict[str, Api]:
    return {name: Api(getattr(org, name)) for name in ("admin", "manager", "owner", "outsider")}


def test_create_get_patch_move_delete(api: dict[str, Api], customer: Customer, stages: dict[str, Stage]) -> None:
    body = {"customer": customer.pk, "name": "冷库扩建", "amount": "12800", "expected_close_date": "2027-02-01"}
    r = api["owner"].post("/opportunities", body, headers={"Idempotency-Key": "opp-1"})
    assert r.status_code == 201, r.content
    data = r.json()
    assert data["stage"] == {"id": stages["新线索"].pk, "name": "新线索", "probability": 10, "kind": "open"}
    assert data["pipeline"]["id"] == stages["新线索"].pipeline_id and data["amount"] == "12800.00"
    assert data["status"] == "open" and data["owner"]["name"] == "owner" and r["ETag"] == '"1"'
    assert r["Location"].endswith(f"/opportunities/{data['id']}")
    assert api["owner"].post("/opportunities", body, headers={"Idempotency-Key": "opp-1"}).status_code == 201
    assert Opportunity.objects.count() == 1
    pk = data["id"]

    got = api["owner"].get(f"/opportunities/{pk}")
    assert got.status_code == 200 and got.json()["name"] == "冷库扩建" and got["ETag"] == '"1"'

    patched = api["owner"].patch(f"/opportunities/{pk}", {"amount": 15000}, headers={"If-Match": '"1"'})
    assert patched.status_code == 200 and patched.json()["amount"] == "15000.00" and patched["ETag"] == '"2"'
    assert_problem(api["owner"].patch(f"/opportunities/{pk}", {"name": "x"}, headers={"If-Match": '"1"'}), 412)

    moved = api["owner"].post(
        f"/opportunities/{pk}/move", {"stage": stages["需求确认"].pk}, headers={"If-Match": '"2"'}
    )
    assert moved.status_code == 200, moved.content
    assert moved.json()["stage"]["name"] == "需求确认" and moved["ETag"] == '"3"'
    lost = api["owner"].post(f"/opportunities/{pk}/move", {"stage": stages["输单"].pk})
    problem = assert_problem(lost, 422, "loss_reason_required")
    assert "loss_reason" in problem["errors"]
    lost = api["owner"].post(f"/opportunities/{pk}/move", {"stage": stages["输单"].pk, "loss_reason": "价格"})
    assert lost.status_code == 200 and lost.json()["status"] == "lost" and lost.json()["loss_reason"] == "价格"
    assert api["owner"].get(f"/opportunities/{pk}/history").json()["count"] == 4

    assert_problem(api["owner"].delete(f"/opportunities/{pk}"), 403)  # sales may not delete
    assert api["manager"].delete(f"/opportunities/{pk}").status_code == 204
    assert not Opportunity.objects.exists()


def test_stage_of_another_pipeline_is_422(
    api: dict[str, Api], org: Any, customer: Customer, pipeline: Pipeline
) -> None:
    other = api["admin"].post("/pipelines", {"name": "工程项目", "stages": [{"name": "立项", "probability": 15}]})
    assert other.status_code == 201, other.content
    foreign = other.json()["stages"][0]["id"]
    opp = make_opportunity(org.owner, customer.pk)
    problem = assert_problem(api["owner"].post(f"/opportunities/{opp.pk}/move", {"stage": foreign}), 422)
    assert problem["code"] == "stage_not_in_pipeline" and "stage" in problem["errors"]
    assert "belongs to the pipeline “工程项目”" in problem["detail"]
    assert StageChange.objects.filter(opportunity=opp).count() == 1


def test_outsider_sees_nothing(api: dict[str, Api], org: Any, customer: Customer, stages: dict[str, Stage]) -> None:
    opp = make_opportunity(org.owner, customer.pk)
    outsider = api["outsider"]
    assert_problem(outsider.get(f"/opportunities/{opp.pk}"), 404)
    assert_problem(outsider.patch(f"/opportunities/{opp.pk}", {"name": "x"}), 404)
    assert_problem(outsider.post(f"/opportunities/{opp.pk}/move", {"stage": stages["需求确认"].pk}), 404)
    assert_problem(outsider.delete(f"/opportunities/{opp.pk}"), 404)
    assert_problem(outsider.get(f"/opportunities/{opp.pk}/history"), 404)
    listed = outsider.get("/opportunities").json()
    assert listed == {"items": [], "count": 0}
    # and cannot open one on the owner's customer
    assert_problem(outsider.post("/opportunities", {"customer": customer.pk, "name": "抢单"}), 422)
    assert api["manager"].get(f"/opportunities/{opp.pk}").status_code == 200


def test_list_filters_and_bad_input(
    api: dict[str, Api], org: Any, customer: Customer, stages: dict[str, Stage]
) -> None:
    a = make_opportunity(org.owner, customer.pk, name="甲")
    b = make_opportunity(org.owner, customer.pk, name="乙", stage_id=stages["赢单"].pk)
    c = make_opportunity(org.owner, customer.pk, name="丙", stage_id=stages["输单"].pk, loss_reason="预算")
    owner = api["owner"]

    def names(params: dict[str, Any]) -> list[str]:
        r = owner.get("/opportunities", params)
        assert r.status_code == 200, r.content
        return [item["name"] for item in r.json()["items"]]

    assert names({}) == ["丙", "乙", "甲"]
    assert (
        names({"status": "open"}) == ["甲"]
        and names({"status": "won"}) == ["乙"]
        and names({"status": "lost"}) == ["丙"]
    )
    assert names({"stage": stages["赢单"].pk}) == ["乙"]
    assert names({"owner": "me", "pipeline": a.pipeline_id, "customer": customer.pk}) == ["丙", "乙", "甲"]
    assert names({"owner": org.manager.pk}) == [] and names({"q": "乙"}) == ["乙"]
    assert {b.pk, c.pk} <= {item["id"] for item in owner.get("/opportunities").json()["items"]}
    assert_problem(owner.get("/opportunities", {"status": "maybe"}), 422)
    assert_problem(owner.get("/opportunities", {"stgae": 1}), 422)
    assert_problem(owner.post("/opportunities", {"customer": customer.pk, "name": "x", "amount": "abc"}), 422)
    assert_problem(owner.post("/opportunities", {"customer": customer.pk}), 422)
    assert_problem(owner.post("/opportunities", {"customer": customer.pk, "name": "x", "colour": 1}), 422)
    assert_problem(owner.patch(f"/opportunities/{a.pk}", {"stage": stages["赢单"].pk}), 422)
    assert_problem(owner.get("/opportunities/99999999"), 404)


def test_pipelines_list_and_admin_edits(api: dict[str, Api], pipeline: Pipeline) -> None:
    listed = api["owner"].get("/pipelines").json()
    default = next(p for p in listed["items"] if p["id"] == pipeline.pk)
    assert [s["name"] for s in default["stages"]][:3] == ["新线索", "初步沟通", "需求确认"] and default["is_default"]
    assert_problem(api["manager"].post(f"/pipelines/{pipeline.pk}/stages", {"name": "样品"}), 403)
    r = api["admin"].post(f"/pipelines/{pipeline.pk}/stages", {"name": "样品", "probability": 50, "order": 45})
    assert r.status_code == 201 and r.json()["order"] == 45
    r = api["admin"].patch(f"/pipelines/{pipeline.pk}/stages/{r.json()['id']}", {"probability": 55})
    assert r.status_code == 200 and r.json()["probability"] == 55
    assert_problem(api["admin"].post(f"/pipelines/{pipeline.pk}/stages", {"name": "x", "probability": 101}), 422)
    assert_problem(api["admin"].post(f"/pipelines/{pipeline.pk}/stages", {"name": "样品"}), 409)
    r = api["admin"].patch(f"/pipelines/{pipeline.pk}", {"name": "标准流程"})
    assert r.status_code == 200 and r.json()["name"] == "标准流程"


def test_stage_rules_and_an_automatic_move(
    api: dict[str, Api], org: Any, customer: Customer, stages: dict[str, Stage], django_capture_on_commit_callbacks: Any
) -> None:
    pipeline_id = stages["初步沟通"].pipeline_id
    body = {"stage": stages["初步沟通"].pk, "communication_kind": "call"}
    assert_problem(api["manager"].post(f"/pipelines/{pipeline_id}/rules", body), 403)
    r = api["admin"].post(f"/pipelines/{pipeline_id}/rules", body)
    assert r.status_code == 200, r.content
    rule = r.json()
    assert rule["stage"] == stages["初步沟通"].pk and rule["outcome"] == "" and rule["active"]
    assert_problem(api["admin"].post(f"/pipelines/{pipeline_id}/rules", {**body, "stage": stages["输单"].pk}), 422)
    assert_problem(api["admin"].post(f"/pipelines/{pipeline_id}/rules", {**body, "communication_kind": "fax"}), 422)
    assert api["owner"].get(f"/pipelines/{pipeline_id}/rules").json()["count"] == 1

    opp = make_opportunity(org.owner, customer.pk)
    with django_capture_on_commit_callbacks(execute=True):
        r = api["owner"].post("/communications", {"customer": customer.pk, "kind": "call", "summary": "电话沟通需求"})
    assert r.status_code == 201, r.content
    got = api["owner"].get(f"/opportunities/{opp.pk}").json()
    assert got["stage"]["name"] == "初步沟通" and got["version"] == 2

    assert api["admin"].delete(f"/pipelines/{pipeline_id}/rules/{rule['id']}").status_code == 204
    assert api["owner"].get(f"/pipelines/{pipeline_id}/rules").json()["count"] == 0
