"""The one writer of Customer.owner/team for pools and handovers: set-based, logged, versioned."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pearl.core.models import ChangeLog
from pearl.core.testing.personas import Org
from pearl.customers.models import Customer
from pearl.customers.services import customer_owners_set
from pearl.customers.tests.factories import make_customer

pytestmark = pytest.mark.django_db


def test_moves_many_customers_in_a_fixed_number_of_statements(org: Org) -> None:
    ids = [make_customer(org.owner).pk for _ in range(6)]
    versions = dict(Customer.objects.filter(pk__in=ids).values_list("pk", "version"))
    assignments = {pk: (org.teammate.pk if i % 2 else org.outsider.pk) for i, pk in enumerate(ids)}
    with CaptureQueriesContext(connection) as queries:
        changes = customer_owners_set(actor=org.admin, assignments=assignments)
    assert len(queries) <= 8  # independent of the number of customers
    assert [c.customer_id for c in changes] == sorted(ids)
    for c in Customer.objects.filter(pk__in=ids):
        assert c.owner_id == assignments[c.pk]
        assert c.team_id == (org.team_a.pk if c.owner_id == org.teammate.pk else org.team_b.pk)
        assert c.version == versions[c.pk] + 1
    logs = ChangeLog.objects.filter(root_type="customers.customer", root_id__in=ids, actor=org.admin)
    assert logs.count() == 6
    assert all(log.changes["owner"][0] == org.owner.pk for log in logs)


def test_expected_owner_guards_against_a_concurrent_change(org: Org) -> None:
    a, b = make_customer(org.owner), make_customer(org.teammate)
    changes = customer_owners_set(
        actor=None,
        assignments={a.pk: None, b.pk: None},
        expected_owners={a.pk: org.owner.pk, b.pk: org.owner.pk},  # b is no longer the owner's
    )
    assert [c.customer_id for c in changes] == [a.pk]
    assert Customer.objects.get(pk=a.pk).owner_id is None and Customer.objects.get(pk=a.pk).team_id is None
    assert Customer.objects.get(pk=b.pk).owner_id == org.teammate.pk
    assert ChangeLog.objects.get(root_id=a.pk, changes__owner__1=None).actor_label == "system"


def test_unchanged_customers_write_nothing(org: Org) -> None:
    customer = make_customer(org.owner)
    before = ChangeLog.objects.count()
    assert customer_owners_set(actor=org.admin, assignments={customer.pk: org.owner.pk}) == []
    assert ChangeLog.objects.count() == before
    assert Customer.objects.get(pk=customer.pk).version == customer.version


def test_unknown_owner_is_refused(org: Org) -> None:
    customer = make_customer(org.owner)
    with pytest.raises(ValueError):
        customer_owners_set(actor=org.admin, assignments={customer.pk: 10**9})
