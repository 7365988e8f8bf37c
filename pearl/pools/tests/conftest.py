from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import translation

from pearl.accounts.models import User
from pearl.core.testing.personas import Org
from pearl.customers.models import Customer
from pearl.customers.tests.factories import make_customer
from pearl.pools.models import Pool
from pearl.pools.services import pool_release

_n = iter(range(1, 10**6))


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """The services' messages are asserted in English (the source strings), whatever an earlier test
    left active; the pages' Chinese is asserted where a page is requested."""
    with translation.override("en"):
        yield


def pooled(owner: User, pool: Pool, **data: Any) -> Customer:
    """A customer of ``owner`` given back to ``pool`` (so it lies there, unowned)."""
    n = next(_n)
    customer = make_customer(
        owner, [{"name": f"王{n}", "mobile": f"138{n:04d}5678", "email": f"wang{n}@example.cn"}], **data
    )
    pool_release(actor=owner, customer_id=customer.pk, pool_id=pool.pk, reason="test")
    return customer


@pytest.fixture
def pool(org: Org) -> Pool:
    pool = Pool.objects.filter(is_default=True).first() or Pool.objects.create(name="公海", is_default=True)
    Pool.objects.filter(pk=pool.pk).update(active=True)  # installed switched off (migration 0002)
    pool.refresh_from_db()
    return pool


@pytest.fixture
def team_pool(org: Org) -> Pool:
    """A pool only 一组 (owner, teammate) sees."""
    pool = Pool.objects.create(name="一组公海")
    pool.teams.set([org.team_a])
    return pool
