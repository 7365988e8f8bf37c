"""Issue 5 "done when": sales2 leaves and a colleague receives everything — customers, open leads,
open opportunities and open tasks — with history intact, through the one handover service."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from pearl.accounts.models import User
from pearl.core.testing.personas import Org
from pearl.customers.models import Customer
from pearl.customers.tests.factories import make_customer
from pearl.leads.models import Lead
from pearl.leads.tests.conftest import make_lead
from pearl.pipelines.models import Opportunity
from pearl.pipelines.tests.factories import make_opportunity
from pearl.pools.services import user_handover
from pearl.reminders.models import Task
from pearl.reminders.services import task_create


def test_a_leaving_salesperson_hands_over_everything(org: Org) -> None:
    leaving, receiver = org.owner, org.teammate
    customers = [make_customer(leaving) for _ in range(2)]
    lead = make_lead(leaving)
    opportunity = make_opportunity(leaving, customers[0].pk)
    task = task_create(actor=leaving, owner=leaving, title="回访", due_at=timezone.now() + dt.timedelta(days=1),
                       customer_id=customers[1].pk)  # fmt: skip

    plan = user_handover(actor=org.admin, from_user_id=leaving.pk, to_user_ids=[receiver.pk], deactivate=True,
                         dry_run=True)  # fmt: skip
    assert plan.counts == {"customers": 2, "leads": 1, "opportunities": 1, "tasks": 1}
    assert Customer.objects.filter(owner=leaving).count() == 2  # a preview moves nothing

    done = user_handover(actor=org.admin, from_user_id=leaving.pk, to_user_ids=[receiver.pk], deactivate=True,
                         dry_run=False)  # fmt: skip
    assert done.moved == {"customers": 2, "leads": 1, "opportunities": 1, "tasks": 1}
    assert set(Customer.objects.filter(pk__in=[c.pk for c in customers]).values_list("owner_id", flat=True)) == {
        receiver.pk
    }
    assert Lead.objects.get(pk=lead.pk).owner_id == receiver.pk
    assert Opportunity.objects.get(pk=opportunity.pk).owner_id == receiver.pk
    assert Task.objects.get(pk=task.pk).owner_id == receiver.pk
    assert User.objects.get(pk=leaving.pk).is_active is False
    # nothing is left orphaned with the leaving user
    assert not Customer.objects.filter(owner=leaving).exists()
    assert not Lead.objects.filter(owner=leaving, status__in=["new", "contacted"]).exists()
