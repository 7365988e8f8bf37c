"""Two salespeople claiming the same customer at the same moment: exactly one wins.

On PostgreSQL the two transactions really overlap (the loser's DELETE of the pool entry waits for
the winner's and then finds nothing); on SQLite the writers are serialised and the second finds the
customer gone. Either way the loser gets a clear 409.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connections
from django.utils import translation

from pearl.core.errors import Conflict
from pearl.core.testing.personas import Org
from pearl.customers.models import Customer
from pearl.pools.models import ClaimLog, Pool, PoolEntry
from pearl.pools.selectors import ClaimQuota
from pearl.pools.services import claims, pool_claim
from pearl.pools.tests.conftest import pooled


def _postgres_only() -> pytest.MarkDecorator:
    from django.db import connection

    return pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent writers (PostgreSQL)")


def _together(*jobs: Callable[[], Any]) -> list[Any]:
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def run(index: int, job: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            with translation.override("en"):
                results[index] = job()
        except Exception as exc:  # the test inspects it
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@_postgres_only()
def test_two_claims_at_once_have_exactly_one_winner(org: Org, pool: Pool) -> None:
    customer = pooled(org.manager, pool)
    for _round in range(3):
        results = _together(
            lambda: pool_claim(actor=org.owner, pool_id=pool.pk, customer_id=customer.pk),
            lambda: pool_claim(actor=org.outsider, pool_id=pool.pk, customer_id=customer.pk),
        )
        winners = [r for r in results if isinstance(r, Customer)]
        losers = [r for r in results if isinstance(r, Conflict)]
        assert len(winners) == 1 and len(losers) == 1, results
        assert "claimed this customer first" in str(losers[0].message)
        owner = Customer.objects.get(pk=customer.pk).owner_id
        assert owner == winners[0].owner_id
        assert not PoolEntry.objects.filter(customer=customer).exists()
        assert ClaimLog.objects.filter(customer=customer).count() == _round + 1
        # Back to the pool for the next round.
        from pearl.pools.services import pool_release

        holder = org.owner if owner == org.owner.pk else org.outsider
        pool_release(actor=holder, customer_id=customer.pk, pool_id=pool.pk, reason="again")


@pytest.mark.django_db
def test_a_claim_overtaken_between_its_checks_and_its_write_loses(org: Org, pool: Pool, monkeypatch: Any) -> None:
    """The interleaving of the race on any database: the rival's whole claim runs after this claim
    read the entry and passed its checks, before it deletes the entry."""
    customer = pooled(org.manager, pool)
    real_quota = claims.claim_quota
    rival: list[Any] = []

    def quota_then_rival(**kwargs: Any) -> ClaimQuota:
        if not rival:
            rival.append(None)
            rival[0] = pool_claim(actor=org.outsider, pool_id=pool.pk, customer_id=customer.pk)
        return real_quota(**kwargs)

    monkeypatch.setattr(claims, "claim_quota", quota_then_rival)
    with pytest.raises(Conflict) as refused:
        pool_claim(actor=org.owner, pool_id=pool.pk, customer_id=customer.pk)
    assert "claimed this customer first" in str(refused.value.message)
    # (the rival ran inside this claim's transaction here, so the refusal rolled both back)
    assert isinstance(rival[0], Customer) and rival[0].owner_id == org.outsider.pk
