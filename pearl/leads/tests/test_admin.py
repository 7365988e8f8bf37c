"""The leads admin is read-only like every other app's: it lists and searches, never writes."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from pearl.accounts.models import User
from pearl.core.testing.personas import Org
from pearl.leads.models import Lead, LeadFollowUp
from pearl.leads.services import lead_follow_up_add
from pearl.leads.tests.conftest import make_lead, make_rule

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client: Any, org: Org) -> Any:
    root = User.objects.create_superuser(username="root", email="root@example.cn", password="pearl-test-pass-2026")
    client.force_login(root)
    return client


def test_the_admin_lists_searches_and_filters_leads(staff: Any, org: Org) -> None:
    rule = make_rule(org.admin, "广东线索", [org.owner], conditions={"provinces": ["广东省"]})
    lead = make_lead(org.admin, name="王小明", company="顺德渔港", province="广东省")
    other = make_lead(org.admin, name="李四", company="杭州水产", province="浙江省")
    assert Lead.objects.get(pk=lead.pk).assigned_rule_id == rule.pk

    listed = staff.get(reverse("admin:leads_lead_changelist")).content.decode()
    assert "王小明" in listed and "顺德渔港" in listed and "李四" in listed and "广东线索" in listed
    found = staff.get(reverse("admin:leads_lead_changelist"), {"q": lead.mobile}).content.decode()
    assert "王小明" in found and "李四" not in found
    by_rule = staff.get(reverse("admin:leads_lead_changelist"), {"assigned_rule__id__exact": rule.pk})
    assert "王小明" in by_rule.content.decode() and other.name not in by_rule.content.decode()
    assert reverse("admin:leads_lead_add") not in listed  # no "add" button


def test_the_admin_refuses_to_add_change_or_delete(staff: Any, org: Org) -> None:
    lead = make_lead(org.admin, name="王小明", company="顺德渔港")
    assert staff.get(reverse("admin:leads_lead_add")).status_code == 403
    change = reverse("admin:leads_lead_change", args=[lead.pk])
    assert staff.get(change).status_code == 200  # a read-only view of the lead
    assert staff.post(change, {"name": "改名", "status": "new"}).status_code == 403
    assert staff.post(reverse("admin:leads_lead_delete", args=[lead.pk]), {"post": "yes"}).status_code == 403
    assert Lead.objects.get(pk=lead.pk).name == "王小明"
    assert staff.get(reverse("admin:leads_assignmentrule_add")).status_code == 403
    assert staff.get(reverse("admin:leads_leadfollowup_add")).status_code == 403


def test_rules_and_follow_ups_are_listed(staff: Any, org: Org) -> None:
    make_rule(org.admin, "全国轮流", [org.owner, org.teammate])
    lead = make_lead(org.admin, name="王小明")
    lead_follow_up_add(actor=org.admin, lead_id=lead.pk, kind="call", summary="约了下周看样")
    assert LeadFollowUp.objects.filter(lead=lead).exists()
    assert "全国轮流" in staff.get(reverse("admin:leads_assignmentrule_changelist")).content.decode()
    assert "约了下周看样" in staff.get(reverse("admin:leads_leadfollowup_changelist")).content.decode()
