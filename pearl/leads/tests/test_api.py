"""/api/v1 leads and assignment rules: contract, scopes (outsider 404), ETags, 422 in both languages."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

from pearl.accounts.models import User
from pearl.core.testing.personas import Org
from pearl.customers.models import Customer
from pearl.leads.models import AssignmentRule, Lead, LeadFollowUp
from pearl.leads.tests.conftest import make_lead, make_rule, source

API = "/api/v1"


def api(user: Any, lang: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=lang)
    client.force_login(user)
    return client


def post(client: Client, path: str, body: dict[str, Any], **headers: Any) -> Any:
    return client.post(API + path, json.dumps(body), content_type="application/json", **headers)


def patch(client: Client, path: str, body: dict[str, Any], **headers: Any) -> Any:
    return client.patch(API + path, json.dumps(body), content_type="application/json", **headers)


def test_create_answers_owner_rule_and_reason(org: Org, sellers: list[User]) -> None:
    rule = make_rule(org.admin, "华南区网络来源", [sellers[2]], conditions={"provinces": ["广东省"]})
    web = source("线上询盘")
    created = post(api(org.owner), "/leads", {"name": "刘洋", "mobile": "13912345678", "province": "广东省",
                                              "source": web.pk})  # fmt: skip
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["owner"] == {"id": sellers[2].pk, "name": "陈志强"}
    assert body["assigned_rule"] == {"id": rule.pk, "name": "华南区网络来源"}
    assert body["assignment_reason"] == "By rule “华南区网络来源” to 陈志强, in turn"
    assert body["source"] == {"id": web.pk, "name": "线上询盘"} and body["status"] == "new"
    assert created["ETag"] == '"1"' and created["Location"] == f"{API}/leads/{body['id']}"


def test_scopes_outsider_404_manager_sees_team(org: Org) -> None:
    lead = make_lead(org.owner)
    mine = make_lead(org.outsider)
    for client in (api(org.outsider),):
        assert client.get(f"{API}/leads/{lead.pk}").status_code == 404
        assert patch(client, f"/leads/{lead.pk}", {"note": "x"}).status_code == 404
        assert client.delete(f"{API}/leads/{lead.pk}").status_code == 404
        assert post(client, f"/leads/{lead.pk}/convert", {}).status_code == 404
        assert post(client, f"/leads/{lead.pk}/follow-ups", {"kind": "call"}).status_code == 404
        listed = client.get(f"{API}/leads").json()
        assert [item["id"] for item in listed["items"]] == [mine.pk]
    assert api(org.teammate).get(f"{API}/leads").json()["count"] == 0
    assert api(org.manager).get(f"{API}/leads").json()["count"] == 2
    assert api(org.admin).get(f"{API}/leads/{lead.pk}").status_code == 200
    assert not Customer.objects.exists() and not LeadFollowUp.objects.exists()


def test_list_filters(org: Org) -> None:
    web = source("线上询盘")
    a = make_lead(org.owner, name="张三", company="鑫海水产", province="广东省", source=web.pk)
    b = make_lead(org.manager, name="李四", province="福建省", mobile="13800138000")
    client = api(org.admin)

    def ids(query: str) -> list[int]:
        answer = client.get(f"{API}/leads?{query}")
        assert answer.status_code == 200, answer.content
        return [item["id"] for item in answer.json()["items"]]

    assert ids("province=广东省") == [a.pk]
    assert ids(f"source={web.pk}") == [a.pk]
    assert ids(f"owner={org.manager.pk}") == [b.pk]
    assert ids("q=鑫海") == [a.pk] and ids("q=0013800") == [b.pk]
    assert ids("status=open") == [b.pk, a.pk] and ids("status=converted") == []
    assert ids("since=2000-01-01") == [b.pk, a.pk] and ids("since=2999-01-01") == []
    assert client.get(f"{API}/leads?colour=red").status_code == 422
    assert client.get(f"{API}/leads?status=bogus").status_code == 422


def test_bad_input_422_in_english_and_chinese(org: Org) -> None:
    en = post(api(org.owner), "/leads", {"name": "王", "mobile": "12345"})
    assert en.status_code == 422 and en["Content-Type"].startswith("application/problem+json")
    assert en.json()["errors"]["mobile"] == [
        "Enter a mainland mobile (11 digits, e.g. 13800138000) or a landline with its area code (e.g. 020-87654321)."
    ]
    zh = post(api(org.owner, "zh-hans"), "/leads", {"name": "王", "mobile": "12345", "email": "bad"})
    assert zh.status_code == 422
    errors = zh.json()["errors"]
    assert errors["mobile"][0].startswith("请输入中国大陆手机号")
    assert errors["email"] == ["输入一个有效的邮箱地址。"]
    typed = post(api(org.owner, "zh-hans"), "/leads", {"name": 5})
    assert typed.status_code == 422 and typed.json()["errors"]["name"] == ["输入文本。"]
    unknown = post(api(org.owner), "/leads", {"name": "王", "mobile": "13800138000", "colour": "red"})
    assert unknown.status_code == 422 and "colour" in unknown.json()["errors"]
    assert not Lead.objects.exists()


def test_patch_if_match_status_and_delete(org: Org) -> None:
    lead = make_lead(org.owner)
    owner = api(org.owner)
    assert patch(owner, f"/leads/{lead.pk}", {"note": "x"}, HTTP_IF_MATCH='"9"').status_code == 412
    changed = patch(owner, f"/leads/{lead.pk}", {"company": "鑫海水产"}, HTTP_IF_MATCH='"1"')
    assert changed.status_code == 200 and changed.json()["version"] == 2 and changed["ETag"] == '"2"'
    no_reason = patch(owner, f"/leads/{lead.pk}", {"status": "disqualified"})
    assert no_reason.status_code == 422 and "disqualify_reason" in no_reason.json()["errors"]
    converted = patch(owner, f"/leads/{lead.pk}", {"status": "converted"})
    assert converted.status_code == 422
    dq = patch(owner, f"/leads/{lead.pk}", {"status": "disqualified", "disqualify_reason": "空号"})
    assert dq.status_code == 200 and dq.json()["disqualify_reason"] == "空号"
    assert owner.delete(f"{API}/leads/{lead.pk}").status_code == 403  # sales may not delete
    assert api(org.manager).delete(f"{API}/leads/{lead.pk}", HTTP_IF_MATCH='"3"').status_code == 204
    assert not Lead.objects.exists()


def test_follow_up_and_convert(org: Org) -> None:
    lead = make_lead(org.owner, name="刘洋", mobile="13912345678")
    owner = api(org.owner)
    logged = post(owner, f"/leads/{lead.pk}/follow-ups", {"kind": "wechat", "summary": "加了微信"})
    assert logged.status_code == 201, logged.content
    assert logged.json()["kind"] == "wechat" and logged.json()["actor"]["id"] == org.owner.pk
    assert post(owner, f"/leads/{lead.pk}/follow-ups", {"kind": "fax"}).status_code == 422
    got = owner.get(f"{API}/leads/{lead.pk}").json()
    assert got["status"] == "contacted" and got["first_follow_up_at"] is not None
    converted = post(owner, f"/leads/{lead.pk}/convert", {})
    assert converted.status_code == 200, converted.content
    body = converted.json()
    assert body["reused"] is False and body["lead"]["status"] == "converted"
    assert body["lead"]["converted_customer"] == body["customer"]
    assert Customer.objects.filter(pk=body["customer"]).exists()
    again = post(owner, f"/leads/{lead.pk}/convert", {})
    assert again.status_code == 409 and Customer.objects.count() == 1


def test_assignment_rules_crud_for_admins_only(org: Org, sellers: list[User]) -> None:
    admin = api(org.admin)
    contains = [{"field": "company", "op": "contains", "value": "酒楼"}]
    rule = {"name": "华南", "members": [sellers[0].pk, sellers[1].pk], "method": "least_loaded", "capacity": 20,
            "conditions": {"provinces": ["广东省"], "fields": contains}}  # fmt: skip
    created = post(admin, "/assignment-rules", rule)
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["method"] == "least_loaded" and [m["id"] for m in body["members"]] == [sellers[0].pk, sellers[1].pk]
    rid = body["id"]
    second = post(admin, "/assignment-rules", {"name": "兜底", "members": [sellers[2].pk]}).json()
    assert second["order"] > body["order"]
    bad = post(admin, "/assignment-rules", {"name": "x", "conditions": {"fields": [{"field": "salary", "op": "eq"}]}})
    assert bad.status_code == 422 and "conditions" in bad.json()["errors"]
    assert post(admin, "/assignment-rules", {"name": "x", "method": "lottery"}).status_code == 422
    for outsider in (api(org.owner), api(org.manager)):
        assert outsider.get(f"{API}/assignment-rules").status_code == 403
        assert post(outsider, "/assignment-rules", {"name": "偷偷"}).status_code == 403
        assert outsider.delete(f"{API}/assignment-rules/{rid}").status_code == 403
    changed = patch(admin, f"/assignment-rules/{rid}", {"is_active": False, "members": [sellers[2].pk]})
    assert changed.status_code == 200 and changed.json()["is_active"] is False
    reordered = post(admin, "/assignment-rules/reorder", {"rule_ids": [second["id"], rid]})
    assert [r["id"] for r in reordered.json()["items"]] == [second["id"], rid]
    assert post(admin, "/assignment-rules/reorder", {"rule_ids": [rid]}).status_code == 422
    assert [r["id"] for r in admin.get(f"{API}/assignment-rules").json()["items"]] == [second["id"], rid]
    assert admin.delete(f"{API}/assignment-rules/{rid}").status_code == 204
    assert admin.get(f"{API}/assignment-rules/{rid}").status_code == 404
    assert list(AssignmentRule.objects.values_list("pk", flat=True)) == [second["id"]]


def test_reassign_by_hand_restarts_the_follow_up_clock(org: Org) -> None:
    lead = make_lead(org.owner)
    owner = api(org.owner)
    post(owner, f"/leads/{lead.pk}/follow-ups", {"kind": "call"})
    assert patch(owner, f"/leads/{lead.pk}", {"owner": org.teammate.pk}).status_code == 422  # own scope: self only
    moved = patch(api(org.manager), f"/leads/{lead.pk}", {"owner": org.teammate.pk})
    assert moved.status_code == 200, moved.content
    body = moved.json()
    assert body["owner"]["id"] == org.teammate.pk and body["assigned_rule"] is None
    assert body["assignment_reason"] == "Assigned by hand to teammate by manager"
    assert body["first_follow_up_at"] is None
    assert owner.get(f"{API}/leads/{lead.pk}").status_code == 404  # no longer the owner's


def test_create_is_idempotent_with_a_key(org: Org) -> None:
    client = api(org.owner)
    first = post(client, "/leads", {"name": "王", "mobile": "13800138000"}, HTTP_IDEMPOTENCY_KEY="k-1")
    again = post(client, "/leads", {"name": "王", "mobile": "13800138000"}, HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201 and first.json()["id"] == again.json()["id"]
    assert Lead.objects.count() == 1
