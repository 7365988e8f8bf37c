"""Assignment rules: order, conditions, round robin, least loaded, capacity, leave, reasons, bulk."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from pearl.accounts.models import User
from pearl.core.models import ChangeLog
from pearl.core.testing.personas import Org
from pearl.leads import services
from pearl.leads.choices import LeadStatus
from pearl.leads.models import AssignmentRule, Lead
from pearl.leads.tests.conftest import make_lead, make_rule, phone, source
from pearl.sales.models import ProductCategory


def test_conditions_match_every_kind() -> None:
    values = {"province": "广东省", "city": "广州市", "source": 3, "product_interest": 7, "company": "鑫海水产",
              "email": ""}  # fmt: skip
    assert services.matches({}, values)
    assert services.matches({"provinces": ["广东省"], "cities": ["广州市", "深圳市"]}, values)
    assert not services.matches({"provinces": ["福建省"]}, values)
    assert not services.matches({"cities": ["深圳市"]}, values)
    assert services.matches({"sources": [3]}, values) and not services.matches({"sources": [4]}, values)
    assert services.matches({"product_categories": [7]}, values)
    assert not services.matches({"product_categories": [8]}, values)
    contains = {"fields": [{"field": "company", "op": "contains", "value": "水产"}]}
    assert services.matches(contains, values)
    assert not services.matches({"fields": [{"field": "company", "op": "eq", "value": "水产"}]}, values)
    assert services.matches({"fields": [{"field": "email", "op": "empty", "value": ""}]}, values)
    assert not services.matches({"fields": [{"field": "email", "op": "not_empty", "value": ""}]}, values)
    # all conditions must hold
    assert not services.matches({"provinces": ["广东省"], "sources": [4]}, values)


def test_first_matching_rule_in_order_wins_and_reason_names_it(org: Org, sellers: list[User]) -> None:
    owner, teammate, chen = sellers
    web = source("线上询盘")
    cat = ProductCategory.objects.create(name="冻品")
    make_rule(org.admin, "兜底", [teammate], order=50)
    south = make_rule(org.admin, "华南区网络来源", [chen], order=10,
                      conditions={"provinces": ["广东省"], "sources": [web.pk]})  # fmt: skip
    make_rule(org.admin, "冻品", [owner], order=20, conditions={"product_categories": [cat.pk]})

    lead = make_lead(org.admin, province="广东省", source=web.pk, product_interest=cat.pk)
    assert lead.owner_id == chen.pk and lead.assigned_rule_id == south.pk and lead.team_id == org.team_a.pk
    assert lead.assignment_reason == "By rule “华南区网络来源” to 陈志强, in turn"
    assert lead.assigned_at is not None
    assert make_lead(org.admin, province="福建省", product_interest=cat.pk).owner_id == owner.pk
    assert make_lead(org.admin, province="福建省").owner_id == teammate.pk
    # reorder: 冻品 now before 华南区网络来源
    rules = list(AssignmentRule.objects.order_by("order").values_list("pk", flat=True))
    services.assignment_rules_reorder(actor=org.admin, rule_ids=[rules[1], rules[0], rules[2]])
    assert make_lead(org.admin, province="广东省", source=web.pk, product_interest=cat.pk).owner_id == owner.pk


def test_inactive_rule_and_generic_field_condition(org: Org, sellers: list[User]) -> None:
    owner, teammate, _chen = sellers
    make_rule(org.admin, "停用", [teammate], order=1, is_active=False)
    make_rule(org.admin, "酒楼", [owner], order=2,
              conditions={"fields": [{"field": "company", "op": "contains", "value": "酒楼"}]})  # fmt: skip
    assert make_lead(org.admin, company="广州海鲜酒楼").owner_id == owner.pk
    other = make_lead(org.admin, company="鑫海水产")
    assert other.owner_id == org.admin.pk and other.assigned_rule is None  # the admin may own leads
    assert "No rule assigned it; it stays with admin" in other.assignment_reason


def test_round_robin_cycles_and_skips_on_leave_inactive_and_full(org: Org, sellers: list[User]) -> None:
    owner, teammate, chen = sellers
    make_rule(org.admin, "轮流", [owner, teammate, chen], capacity=3)
    got = [make_lead(org.admin).owner_id for _ in range(3)]
    assert got == [owner.pk, teammate.pk, chen.pk]
    teammate.on_leave = True
    teammate.save()
    assert [make_lead(org.admin).owner_id for _ in range(2)] == [owner.pk, chen.pk]
    teammate.on_leave = False
    teammate.save()
    chen.is_active = False
    chen.save()
    assert [make_lead(org.admin).owner_id for _ in range(2)] == [owner.pk, teammate.pk]
    # owner has 3 open leads now (full); teammate 2; chen inactive → teammate, then nobody
    assert make_lead(org.admin).owner_id == teammate.pk
    overflow = make_lead(org.admin)
    assert overflow.owner_id == org.admin.pk and overflow.assigned_rule is None
    assert "“轮流” matched but nobody in it is available" in overflow.assignment_reason
    # a lead closed frees a slot
    closed = Lead.objects.filter(owner=owner).first()
    assert closed is not None
    services.lead_update(actor=org.admin, lead_id=closed.pk, data={"status": "disqualified",
                                                                    "disqualify_reason": "空号"})  # fmt: skip
    assert make_lead(org.admin).owner_id == owner.pk


def test_least_loaded_picks_the_lightest(org: Org, sellers: list[User]) -> None:
    owner, teammate, chen = sellers
    for _ in range(3):
        make_lead(owner)
    make_lead(teammate)
    rule = make_rule(org.admin, "最少", [owner, teammate, chen], method="least_loaded")
    first = make_lead(org.admin)
    assert first.owner_id == chen.pk and first.assigned_rule_id == rule.pk
    assert first.assignment_reason == "By rule “最少” to 陈志强, who had the fewest open leads"
    # chen 1, teammate 1: the lower id (teammate) wins the tie; then chen
    assert [make_lead(org.admin).owner_id for _ in range(2)] == [teammate.pk, chen.pk]


def test_no_rule_and_creator_may_not_own_leaves_it_in_the_team_queue(org: Org) -> None:
    from pearl.accounts.models import Role
    from pearl.accounts.services import user_create

    role = Role.objects.get(name="marketing")  # marketing records leads from a fair but does not work them
    role.can_create = True
    role.save()
    marketer = user_create(actor=None, username="mkt", password="pearl-test-pass-2026", role=role, team=org.region)
    lead = make_lead(marketer)
    assert lead.owner is None and lead.team_id == org.region.pk and lead.assigned_at is None
    assert lead.assignment_reason == "No rule assigned it; it waits unassigned in the queue of team 华南大区"


def test_bad_input_is_refused_with_every_problem(org: Org) -> None:
    import pytest

    from pearl.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as caught:
        services.lead_create(actor=org.owner, data={"name": "", "mobile": "12", "email": "x@", "source": 999999})
    assert set(caught.value.field_errors) == {"name", "mobile", "email", "source"}
    with pytest.raises(ValidationFailed) as no_way:
        services.lead_create(actor=org.owner, data={"name": "李四"})
    assert "at least one way to reach" in str(no_way.value.message)
    assert not Lead.objects.exists()


def test_contacts_are_normalised(org: Org) -> None:
    lead = make_lead(org.owner, mobile="+86 138-0013-8000", email=" Li@Example.COM ", wechat=" wx_li ")
    assert (lead.mobile, lead.email, lead.wechat) == ("13800138000", "li@example.com", "wx_li")


def _rows(n: int, web: int) -> list[dict[str, object]]:
    return [
        {"name": f"客户{i}", "mobile": phone(), "province": "广东省" if i % 2 else "福建省", "source": web}
        for i in range(n)
    ]


def test_bulk_assigns_set_wise_with_constant_queries(org: Org, sellers: list[User]) -> None:
    owner, teammate, chen = sellers
    web = source("线上询盘").pk
    make_rule(org.admin, "华南", [owner, teammate], conditions={"provinces": ["广东省"]})
    make_rule(org.admin, "其他", [chen], method="least_loaded", capacity=1000)
    counts = []
    for n in (10, 100):
        with CaptureQueriesContext(connection) as ctx:
            result = services.leads_create_many(actor=org.admin, rows=_rows(n, web))
        assert len(result.created) == n and not result.errors
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts
    leads = list(Lead.objects.order_by("id"))
    assert len(leads) == 110
    south = [lead.owner_id for lead in leads if lead.province == "广东省"]
    assert south[:4] == [owner.pk, teammate.pk, owner.pk, teammate.pk]
    assert {lead.owner_id for lead in leads if lead.province == "福建省"} == {chen.pk}
    assert all(lead.assignment_reason and lead.assigned_at for lead in leads)
    assert ChangeLog.objects.filter(object_type="leads.lead", action="create").count() == 110
    # the pointer continues where the bulk left it
    rule = AssignmentRule.objects.get(name="华南")
    assert rule.pointer == 55 % 2
    assert make_lead(org.admin, province="广东省").owner_id == [owner.pk, teammate.pk][rule.pointer]


def test_bulk_reports_bad_rows_and_writes_the_good(org: Org) -> None:
    rows = [{"name": "甲", "mobile": phone()}, {"name": "乙", "mobile": "123"}, {"name": "丙", "wechat": "wx_c"}]
    result = services.leads_create_many(actor=org.owner, rows=rows)
    assert [lead.name for lead in result.created] == ["甲", "丙"] and list(result.errors) == [1]
    assert "mobile" in result.errors[1]
    assert Lead.objects.filter(status=LeadStatus.NEW, owner=org.owner).count() == 2
