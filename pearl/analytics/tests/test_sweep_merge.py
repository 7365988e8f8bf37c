"""The sweep command and registry, the nightly task, and figures following a merge."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from pearl.analytics.models import CustomerFigures
from pearl.analytics.services import figures_rebuild
from pearl.analytics.tests.conftest import NOW, Shop, days_ago
from pearl.core import sweeps
from pearl.core.testing.personas import Org
from pearl.customers.models import Customer
from pearl.customers.services import customer_merge, customer_unmerge
from pearl.customers.tests.factories import make_customer


def test_the_analytics_sweep_is_registered() -> None:
    assert "analytics.figures" in [s.name for s in sweeps.registered()]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--at", "yesterday"], "ISO-8601"),
        (["--at", "2027-13-40T00:00:00"], "ISO-8601"),
        (["--only", "nope"], "Unknown sweep nope"),
    ],
)
def test_bad_sweep_arguments_get_a_message(db: None, args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("sweep", *args, stdout=StringIO())


def test_a_date_alone_is_local_midnight_and_every_sweep_runs_once(db: None) -> None:
    seen: list[dt.datetime] = []

    def probe(at: dt.datetime) -> dict[str, Any]:
        seen.append(at)
        return {"ok": 1}

    def broken(at: dt.datetime) -> dict[str, Any]:
        raise RuntimeError("boom")

    sweeps.register("test.probe", probe)
    sweeps.register("test.broken", broken, order=1)
    try:
        out, err = StringIO(), StringIO()
        with pytest.raises(CommandError, match="failed"):
            call_command("sweep", "--at", "2027-01-01", stdout=out, stderr=err)
        assert seen == [dt.datetime(2027, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))]
        assert "test.probe" in out.getvalue() and "boom" in err.getvalue()
        call_command("sweep", "--only", "test.probe", "--at", "2027-01-01T00:00:00+08:00", stdout=StringIO())
        assert len(seen) == 2
    finally:
        sweeps.unregister("test.probe")
        sweeps.unregister("test.broken")


def test_the_nightly_task_runs_the_sweeps(org: Org, shop: Shop, customer: Customer) -> None:
    from pearl.analytics.tasks import nightly_sweep

    shop.order(customer, days_ago(5), [(shop.crab, "1")])
    figures_rebuild(at=NOW)
    result = nightly_sweep.call_local()
    assert "analytics.figures" in result and "grades_changed" in result["analytics.figures"]


def test_figures_are_rebuilt_for_both_sides_of_a_merge_and_an_unmerge(org: Org, shop: Shop) -> None:
    survivor, other = make_customer(org.owner), make_customer(org.owner)
    shop.order(survivor, days_ago(30), [(shop.crab, "1")])  # 88.50
    shop.order(other, days_ago(10), [(shop.prawn, "2")])  # 20.00
    figures_rebuild()
    merge = customer_merge(actor=org.admin, survivor_id=survivor.pk, other_ids=[other.pk])
    figures = CustomerFigures.objects.get(pk=survivor.pk)
    assert figures.order_count == 2 and figures.revenue_total == Decimal("108.50")
    assert not CustomerFigures.objects.filter(pk=other.pk).exists()
    customer_unmerge(actor=org.admin, merge_id=merge.pk)
    assert CustomerFigures.objects.get(pk=survivor.pk).revenue_total == Decimal("88.50")
    assert CustomerFigures.objects.get(pk=other.pk).revenue_total == Decimal("20.00")
