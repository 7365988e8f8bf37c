"""Two leads arriving at once never take the same round-robin slot or the same least-loaded person.

PostgreSQL: real concurrent writers (the rule rows are locked by a no-op UPDATE before the pointer and
loads are read). SQLite: the same code, with the transactions serialised by its single writer (IMMEDIATE
transactions), run on a file database so the threads share it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connections
from django.utils import translation

from pearl.accounts.models import User
from pearl.core.testing.personas import Org
from pearl.leads import services
from pearl.leads.models import Lead
from pearl.leads.tests.conftest import make_rule, phone

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True)]


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


def _arrive(actor: User) -> Callable[[], Lead]:
    return lambda: services.lead_create(actor=actor, data={"name": "并发", "mobile": phone()})


@pytest.mark.parametrize("method", ["round_robin", "least_loaded"])
def test_two_arrivals_get_distinct_assignees(org: Org, sellers: list[User], method: str) -> None:
    db = connections["default"]
    if db.vendor == "sqlite" and db.is_in_memory_db():  # type: ignore[attr-defined]  # SQLite wrapper only
        # shared-cache in-memory SQLite answers a second writer "table is locked" instead of waiting
        pytest.skip("needs a database file or PostgreSQL: the in-memory SQLite test database refuses a second writer")
    make_rule(org.admin, "并发", sellers[:2], method=method)
    for _round in range(3):
        results = _together(_arrive(org.admin), _arrive(org.admin))
        assert all(isinstance(r, Lead) for r in results), results
        assert {r.owner_id for r in results} == {sellers[0].pk, sellers[1].pk}
    counts = sorted(Lead.objects.filter(owner__in=sellers[:2]).values_list("owner", flat=True))
    assert counts.count(sellers[0].pk) == counts.count(sellers[1].pk) == 3
