"""Conversion reuses the customer a lead already is; the no-follow-up reminder tells owner and manager once."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from pearl.activities.models import TimelineEvent
from pearl.core import sweeps
from pearl.core.errors import Conflict
from pearl.core.testing.personas import Org
from pearl.customers.models import Contact, Customer
from pearl.customers.tests.factories import make_customer
from pearl.leads import services
from pearl.leads.choices import LeadStatus
from pearl.leads.models import Lead
from pearl.leads.tests.conftest import make_lead, source
from pearl.reminders.models import Notification


def test_conversion_creates_customer_contact_and_ownership_event(org: Org) -> None:
    web = source("线上询盘")
    lead = make_lead(org.owner, name="刘洋", company="深圳蓝海贸易有限公司", mobile="13912345678",
                     email="liu@lanhai.cn", province="广东省", city="深圳市", source=web.pk)  # fmt: skip
    result = services.lead_convert(actor=org.owner, lead_id=lead.pk)
    assert not result.reused and result.matched_by == ""
    customer = Customer.objects.get(pk=result.customer_id)
    assert customer.name == "深圳蓝海贸易有限公司" and customer.owner_id == org.owner.pk and customer.city == "深圳市"
    assert customer.source_id == web.pk
    contact = Contact.objects.get(customer=customer)
    assert (contact.name, contact.mobile, contact.email, contact.is_primary) == ("刘洋", "13912345678",
                                                                                  "liu@lanhai.cn", True)  # fmt: skip
    event = TimelineEvent.objects.get(customer=customer, kind="ownership")
    assert event.subject_type == "leads.lead" and event.subject_id == lead.pk and "owner" in event.title
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONVERTED and lead.converted_customer_id == customer.pk
    assert lead.converted_at is not None and lead.version == 2
    with pytest.raises(Conflict):
        services.lead_convert(actor=org.owner, lead_id=lead.pk)
    assert Customer.objects.count() == 1


def test_conversion_reuses_the_customer_holding_the_mobile(org: Org) -> None:
    existing = make_customer(org.teammate, name="广州鑫海海鲜酒楼有限公司",
                             contacts=[{"name": "陈大文", "mobile": "13500000000"}])  # fmt: skip
    lead = make_lead(org.owner, name="陈先生", mobile="135 0000 0000")
    before = Customer.objects.count()
    result = services.lead_convert(actor=org.owner, lead_id=lead.pk)
    assert result.reused and result.matched_by == "mobile" and result.customer_id == existing.pk
    assert Customer.objects.count() == before
    assert TimelineEvent.objects.filter(customer=existing, subject_type="leads.lead", subject_id=lead.pk).exists()


def test_conversion_reuses_a_matcher_hit_by_company_name(org: Org) -> None:
    existing = make_customer(org.owner, name="广州鑫海海鲜酒楼有限公司", city="广州",
                             contacts=[{"name": "陈大文", "mobile": "13500000000"}])  # fmt: skip
    # another mobile, the company without its legal form: only the matcher recognises it
    lead = make_lead(org.owner, name="陈大文", company="广州鑫海海鲜酒楼", city="广州", mobile="13500000009")
    before = Customer.objects.count()
    result = services.lead_convert(actor=org.owner, lead_id=lead.pk)
    assert result.reused and result.matched_by == "matcher" and result.customer_id == existing.pk
    assert Customer.objects.count() == before


def test_conversion_is_scoped(org: Org) -> None:
    from pearl.core.errors import NotFound

    lead = make_lead(org.owner)
    with pytest.raises(NotFound):
        services.lead_convert(actor=org.outsider, lead_id=lead.pk)
    assert Customer.objects.count() == 0


def _age(lead: Lead, hours: float) -> None:
    Lead.objects.filter(pk=lead.pk).update(assigned_at=timezone.now() - dt.timedelta(hours=hours))


def _run(at: dt.datetime) -> dict[str, Any]:
    [result] = sweeps.run_all(at, names=["leads.reminders"])
    assert not result.error, result.error
    return result.summary


def test_reminder_at_24_hours_to_owner_and_manager_once(org: Org) -> None:
    org.team_a.manager = org.manager
    org.team_a.save()
    late = make_lead(org.owner, name="迟到")
    followed = make_lead(org.owner, name="已跟进")
    fresh = make_lead(org.owner, name="新来")
    other = make_lead(org.teammate, name="别人的")
    now = timezone.now()
    for lead in (late, followed, other):
        _age(lead, 25)
    _age(fresh, 23)
    services.lead_follow_up_add(actor=org.owner, lead_id=followed.pk, kind="call", summary="已约")
    Lead.objects.filter(pk=followed.pk).update(first_follow_up_at=now - dt.timedelta(hours=24.5))

    assert _run(now) == {"leads": 2, "notifications": 4}
    got = sorted((n.recipient_id, n.title) for n in Notification.objects.all())
    assert got == sorted([
        (org.owner.pk, "Lead “迟到” not followed up 24 hours after assignment"),
        (org.manager.pk, "Lead “迟到” not followed up 24 hours after assignment"),
        (org.teammate.pk, "Lead “别人的” not followed up 24 hours after assignment"),
        (org.manager.pk, "Lead “别人的” not followed up 24 hours after assignment"),
    ])  # fmt: skip
    assert _run(now) == {"leads": 0, "notifications": 0}
    assert Notification.objects.count() == 4
    # an hour later the fresh one is due too; the others are not told again
    assert _run(now + dt.timedelta(hours=2)) == {"leads": 1, "notifications": 2}
    assert Notification.objects.count() == 6


def test_only_the_owners_follow_up_counts_as_first(org: Org) -> None:
    lead = make_lead(org.owner)
    services.lead_follow_up_add(actor=org.manager, lead_id=lead.pk, kind="note", summary="经理看过")
    lead.refresh_from_db()
    assert lead.first_follow_up_at is None and lead.status == LeadStatus.CONTACTED
    services.lead_follow_up_add(actor=org.owner, lead_id=lead.pk, kind="wechat")
    lead.refresh_from_db()
    assert lead.first_follow_up_at is not None and lead.follow_ups.count() == 2


def test_reminder_sweep_queries_do_not_grow_with_leads(org: Org) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def sweep_with(n: int, at: dt.datetime) -> int:
        leads = [make_lead(org.owner) for _ in range(n)]
        Lead.objects.filter(pk__in=[lead.pk for lead in leads]).update(assigned_at=at - dt.timedelta(hours=30))
        with CaptureQueriesContext(connection) as ctx:
            assert _run(at)["leads"] == n
        return len(ctx.captured_queries)

    now = timezone.now()
    assert sweep_with(2, now) == sweep_with(20, now + dt.timedelta(hours=1))
    assert Notification.objects.filter(recipient=org.owner).count() == 2
    assert "20 leads of owner" in Notification.objects.filter(recipient=org.owner).order_by("-id")[0].title
