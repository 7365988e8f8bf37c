"""A leaving salesperson's open leads go to the receivers in turn, with history; closed ones stay."""

from __future__ import annotations

from pearl.core import handover
from pearl.core.models import ChangeLog
from pearl.core.testing.personas import Org
from pearl.leads.choices import LeadStatus
from pearl.leads.models import Lead
from pearl.leads.tests.conftest import make_lead


def test_open_leads_are_shared_out_and_closed_ones_stay(org: Org) -> None:
    leads = [make_lead(org.owner) for _ in range(3)]
    closed = make_lead(org.owner)
    Lead.objects.filter(pk=closed.pk).update(status=LeadStatus.DISQUALIFIED)
    assert {h.name for h in handover.registered()} >= {"leads"}
    hook = next(h for h in handover.registered() if h.name == "leads")
    assert hook.count_fn(org.owner.pk) == 3

    moved = hook.transfer_fn(actor=org.admin, from_user_id=org.owner.pk, to_user_ids=[org.teammate.pk, org.manager.pk])

    assert moved == 3
    owners = dict(Lead.objects.filter(pk__in=[x.pk for x in leads]).values_list("pk", "owner_id"))
    assert [owners[x.pk] for x in leads] == [org.teammate.pk, org.manager.pk, org.teammate.pk]
    first = Lead.objects.get(pk=leads[0].pk)
    assert first.team_id == org.teammate.team_id and first.version == leads[0].version + 1
    assert str(org.teammate) in first.assignment_reason
    assert Lead.objects.get(pk=closed.pk).owner_id == org.owner.pk
    log = ChangeLog.objects.filter(object_type="leads.lead", object_id=leads[1].pk, action="update").latest("pk")
    assert log.changes == {"owner": [org.owner.pk, org.manager.pk]} and log.actor_id == org.admin.pk
    assert hook.count_fn(org.owner.pk) == 0
    # the leaving user among the receivers, or nobody active: nothing moves
    assert hook.transfer_fn(actor=org.admin, from_user_id=org.teammate.pk, to_user_ids=[org.teammate.pk]) == 0
