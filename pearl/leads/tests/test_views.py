"""Leads pages: list, new lead, detail with the two-tap follow-up and convert; the rules page."""

from __future__ import annotations

from typing import Any

from django.test import Client

from pearl.accounts.models import User
from pearl.core.testing.personas import Org
from pearl.customers.models import Customer
from pearl.leads.models import AssignmentRule, Lead
from pearl.leads.tests.conftest import make_lead, make_rule


def login(user: User) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def test_list_filters_and_scope(org: Org) -> None:
    mine = make_lead(org.owner, name="张三", province="广东省")
    make_lead(org.outsider, name="外人")
    page = login(org.owner).get("/leads/?province=广东省")
    assert page.status_code == 200
    text = page.content.decode()
    assert "张三" in text and "外人" not in text and f"/leads/{mine.pk}/" in text
    assert login(org.owner).get("/leads/?since=notadate").status_code == 422
    assert login(org.outsider).get(f"/leads/{mine.pk}/").status_code == 404


def test_new_lead_form_assigns_and_shows_reason(org: Org) -> None:
    client = login(org.owner)
    assert client.get("/leads/new/").status_code == 200
    bad = client.post("/leads/new/", {"name": "王五", "mobile": "123"})
    assert bad.status_code == 422 and "Enter a mainland mobile" in bad.content.decode()
    ok = client.post("/leads/new/", {"name": "王五", "mobile": "13800138000", "province": "广东省"})
    lead = Lead.objects.get()
    assert ok.status_code == 302 and ok["Location"] == f"/leads/{lead.pk}/"
    detail = client.get(ok["Location"]).content.decode()
    assert "it stays with owner, who created it" in detail


def test_two_tap_follow_up_then_convert(org: Org) -> None:
    lead = make_lead(org.owner, name="刘洋", mobile="13912345678")
    client = login(org.owner)
    detail = client.get(f"/leads/{lead.pk}/").content.decode()
    assert 'name="kind" value="call"' in detail
    done = client.post(f"/leads/{lead.pk}/follow-up/", {"kind": "call"})
    assert done.status_code == 302
    lead.refresh_from_db()
    assert lead.status == "contacted" and lead.first_follow_up_at is not None
    converted = client.post(f"/leads/{lead.pk}/convert/")
    customer = Customer.objects.get()
    assert converted.status_code == 302 and converted["Location"] == f"/customers/{customer.pk}/"
    again = client.post(f"/leads/{lead.pk}/convert/")
    assert again.status_code == 409 and Customer.objects.count() == 1


def test_disqualify_needs_a_reason(org: Org) -> None:
    lead = make_lead(org.owner)
    client = login(org.owner)
    assert client.post(f"/leads/{lead.pk}/disqualify/", {"disqualify_reason": ""}).status_code == 422
    assert client.post(f"/leads/{lead.pk}/disqualify/", {"disqualify_reason": "空号"}).status_code == 302
    lead.refresh_from_db()
    assert lead.status == "disqualified" and lead.disqualify_reason == "空号"


def _rule_post(**data: Any) -> dict[str, Any]:
    return {"name": "华南", "is_active": "on", "method": "round_robin", **data}


def test_rules_page_create_edit_move_delete(org: Org, sellers: list[User]) -> None:
    assert login(org.owner).get("/leads/rules/").status_code == 403
    client = login(org.admin)
    assert client.get("/leads/rules/new/").status_code == 200
    bad = client.post("/leads/rules/new/", _rule_post(name="", members=[str(sellers[0].pk)]))
    assert bad.status_code == 422
    made = client.post("/leads/rules/new/", _rule_post(members=[str(sellers[0].pk)], provinces="广东省，广西壮族自治区",
                                                        field="company", op="contains", value="酒楼"))  # fmt: skip
    assert made.status_code == 302, made.content.decode()
    rule = AssignmentRule.objects.get(name="华南")
    assert rule.conditions == {"provinces": ["广东省", "广西壮族自治区"],
                               "fields": [{"field": "company", "op": "contains", "value": "酒楼"}]}  # fmt: skip
    other = make_rule(org.admin, "兜底", [sellers[1]])
    edit = client.get(f"/leads/rules/{rule.pk}/")
    assert edit.status_code == 200 and "广东省, 广西壮族自治区" in edit.content.decode()
    client.post(f"/leads/rules/{other.pk}/move/", {"direction": "up"})
    assert list(AssignmentRule.objects.order_by("order").values_list("name", flat=True)) == ["兜底", "华南"]
    listing = client.get("/leads/rules/").content.decode()
    assert listing.index("兜底") < listing.index("华南")
    assert client.post(f"/leads/rules/{rule.pk}/", _rule_post(name="华南区", method="least_loaded")).status_code == 302
    rule.refresh_from_db()
    assert rule.name == "华南区" and rule.method == "least_loaded" and not rule.members.exists()
    assert client.post(f"/leads/rules/{rule.pk}/delete/").status_code == 302
    assert not AssignmentRule.objects.filter(pk=rule.pk).exists()


def _queries(client: Client, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_list_page_and_api_queries_do_not_grow_with_rows(org: Org) -> None:
    from pearl.leads.tests.conftest import source

    web = source("线上询盘").pk
    client = login(org.manager)
    for _ in range(3):
        make_lead(org.owner, source=web)
    few = (_queries(client, "/leads/"), _queries(client, "/api/v1/leads"))
    for _ in range(12):
        make_lead(org.teammate, source=web, company="鑫海")
    assert (_queries(client, "/leads/"), _queries(client, "/api/v1/leads")) == few


def test_edit_page_saves_detects_stale_and_reassigns(org: Org) -> None:
    lead = make_lead(org.owner, name="张三")
    owner = login(org.owner)
    form = owner.get(f"/leads/{lead.pk}/edit/")
    assert form.status_code == 200 and 'name="version" value="1"' in form.content.decode()
    base = {"name": "张三丰", "mobile": lead.mobile, "version": "1"}
    assert owner.post(f"/leads/{lead.pk}/edit/", base).status_code == 302
    lead.refresh_from_db()
    assert lead.name == "张三丰" and lead.owner_id == org.owner.pk and lead.version == 2
    stale = owner.post(f"/leads/{lead.pk}/edit/", {**base, "name": "旧的"})
    assert stale.status_code == 422 and "Someone else changed this lead" in stale.content.decode()
    # own scope: the owner field is disabled, a posted owner is ignored
    owner.post(f"/leads/{lead.pk}/edit/", {**base, "version": "2", "owner": str(org.teammate.pk)})
    lead.refresh_from_db()
    assert lead.owner_id == org.owner.pk
    manager = login(org.manager)
    moved = manager.post(
        f"/leads/{lead.pk}/edit/", {**base, "version": str(lead.version), "owner": str(org.teammate.pk)}
    )
    assert moved.status_code == 302
    lead.refresh_from_db()
    assert lead.owner_id == org.teammate.pk and "by hand" in lead.assignment_reason
    assert login(org.outsider).get(f"/leads/{lead.pk}/edit/").status_code == 404
