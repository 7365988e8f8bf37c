from __future__ import annotations

import pytest

from pearl.core.testing.personas import Org
from pearl.customers.services import customer_merge, customer_unmerge
from pearl.customers.tests.factories import make_customer
from pearl.pools.models import ClaimLog, CustomerProtection, Pool, PoolEntry
from pearl.pools.services import customer_protection_set, pool_claim
from pearl.pools.tests.conftest import pooled

pytestmark = pytest.mark.django_db


def test_merge_drops_the_merged_pool_entry_and_unmerge_brings_it_back(org: Org, pool: Pool) -> None:
    survivor = make_customer(org.owner)
    other = pooled(org.owner, pool)
    entry_id = PoolEntry.objects.get(customer=other).pk
    merge = customer_merge(actor=org.admin, survivor_id=survivor.pk, other_ids=[other.pk])
    assert not PoolEntry.objects.filter(pk=entry_id).exists()
    assert not PoolEntry.objects.filter(customer=survivor).exists()  # the survivor keeps its owner
    customer_unmerge(actor=org.admin, merge_id=merge.pk)
    restored = PoolEntry.objects.get(customer_id=other.pk)
    assert (restored.pk, restored.pool_id, restored.previous_owner_id) == (entry_id, pool.pk, org.owner.pk)


def test_merge_moves_protection_and_claims(org: Org, pool: Pool) -> None:
    survivor = make_customer(org.owner)
    other = pooled(org.manager, pool)
    pool_claim(actor=org.owner, pool_id=pool.pk, customer_id=other.pk)
    customer_protection_set(actor=org.manager, customer_id=other.pk, reason="VIP")
    merge = customer_merge(actor=org.admin, survivor_id=survivor.pk, other_ids=[other.pk])
    assert CustomerProtection.objects.get().customer_id == survivor.pk
    assert ClaimLog.objects.get().customer_id == survivor.pk
    customer_unmerge(actor=org.admin, merge_id=merge.pk)
    assert CustomerProtection.objects.get().customer_id == other.pk
    assert ClaimLog.objects.get().customer_id == other.pk
