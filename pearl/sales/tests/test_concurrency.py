"""Two writers at once (PostgreSQL: SQLite has one writer and serialises them anyway)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, connections
from django.utils import translation

from pearl.core.errors import ValidationFailed
from pearl.sales.models import Order, Payment
from pearl.sales.tests.factories import order, payment

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent writers (PostgreSQL)"),
]


def _together(*jobs: Callable[[], Any]) -> list[Any]:
    """Run the jobs in threads started at the same moment; each result or the exception raised."""
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def run(index: int, job: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            with translation.override("en"):  # a new thread starts in the default language (zh-hans)
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


def test_orders_placed_at_once_get_distinct_numbers(org, catalogue, customer) -> None:
    results = _together(*[lambda: order(org.owner, customer.pk, [(catalogue.prawn, "1")]) for _ in range(4)])
    assert all(isinstance(r, Order) for r in results), results
    numbers = sorted(r.number for r in results)
    assert len(set(numbers)) == 4 and [int(n[-4:]) for n in numbers] == [1, 2, 3, 4]


def test_two_payments_cannot_both_pay_the_same_debt(org, catalogue, customer) -> None:
    o = order(org.owner, customer.pk, [(catalogue.prawn, "10")])  # owes 100.00
    results = _together(
        lambda: payment(org.owner, customer.pk, "100"), lambda: payment(org.manager, customer.pk, "100")
    )
    assert sorted(type(r).__name__ for r in results) == ["Payment", "ValidationFailed"], results
    refused = next(r for r in results if isinstance(r, ValidationFailed))
    assert "owes nothing" in str(refused.message)
    o.refresh_from_db()
    assert o.paid_amount == Decimal("100.00") and Payment.objects.count() == 1
