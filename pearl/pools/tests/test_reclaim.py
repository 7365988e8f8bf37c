from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from pearl.activities.models import TimelineEvent
from pearl.analytics.models import CustomerFigures
from pearl.core.models import ChangeLog
from pearl.core.testing.personas import Org
from pearl.customers.models import Customer
from pearl.customers.tests.factories import make_customer
from pearl.pools.models import Pool, PoolEntry
from pearl.pools.services import customer_protection_set, pool_claim, reclaim_sweep
from pearl.pools.services import reclaim as reclaim_module
from pearl.reminders.models import Notification

pytestmark = pytest.mark.django_db


def _days(n: float) -> dt.datetime:
    return timezone.now() + dt.timedelta(days=n)


def _owner(customer: Customer) -> int | None:
    return Customer.objects.get(pk=customer.pk).owner_id


def test_a_customer_nobody_followed_up_goes_back_after_30_days(org: Org, pool: Pool) -> None:
    customer = make_customer(org.owner)
    reclaim_sweep(_days(29))
    assert _owner(customer) == org.owner.pk
    summary = reclaim_sweep(_days(31))
    assert summary["reclaimed"] == {pool.name: 1}
    assert _owner(customer) is None
    entry = PoolEntry.objects.get(customer=customer)
    assert (entry.pool_id, entry.reason, entry.previous_owner_id) == (pool.pk, "reclaimed", org.owner.pk)
    assert entry.rule["rule"] == "no_follow_up" and entry.rule["days"] == 30
    event = TimelineEvent.objects.get(customer=customer, kind="ownership", payload__action="reclaimed")
    assert event.payload["previous_owner"] == org.owner.pk
    log = ChangeLog.objects.filter(root_id=customer.pk, root_type="customers.customer").order_by("-id").first()
    assert log is not None and log.changes["owner"] == [org.owner.pk, None] and log.actor_label == "system"


def test_a_recent_follow_up_keeps_the_customer(org: Org, pool: Pool) -> None:
    customer = make_customer(org.owner)
    CustomerFigures.objects.create(customer=customer, last_contact_at=_days(10), computed_at=timezone.now())
    reclaim_sweep(_days(31))
    assert _owner(customer) == org.owner.pk
    reclaim_sweep(_days(41))
    assert _owner(customer) is None


def test_a_claim_restarts_the_clock(org: Org, pool: Pool) -> None:
    customer = make_customer(org.owner)
    reclaim_sweep(_days(31))
    pool_claim(actor=org.teammate, pool_id=pool.pk, customer_id=customer.pk)
    # claimed "now": 31 days from creation but not from the claim
    reclaim_sweep(_days(29))
    assert _owner(customer) == org.teammate.pk


def test_no_deal_rule(org: Org, pool: Pool) -> None:
    pool.reclaim_after_days_without_deal = 60
    pool.save()
    customer = make_customer(org.owner)
    CustomerFigures.objects.create(
        customer=customer, last_contact_at=_days(60), last_order_at=_days(1.5), computed_at=timezone.now()
    )
    reclaim_sweep(_days(61))
    assert _owner(customer) == org.owner.pk
    reclaim_sweep(_days(62))
    assert _owner(customer) is None
    assert PoolEntry.objects.get(customer=customer).rule["rule"] == "no_deal"


def test_protected_customers_are_never_reclaimed(org: Org, pool: Pool) -> None:
    kept, lost = make_customer(org.owner), make_customer(org.owner)
    customer_protection_set(actor=org.manager, customer_id=kept.pk, reason="战略客户")
    reclaim_sweep(_days(100))
    assert _owner(kept) == org.owner.pk and _owner(lost) is None


def test_customers_with_an_open_opportunity_are_kept(org: Org, pool: Pool) -> None:
    from pearl.pipelines.tests.factories import make_opportunity

    kept, lost = make_customer(org.owner), make_customer(org.owner)
    make_opportunity(org.owner, kept.pk)
    reclaim_sweep(_days(100))
    assert _owner(kept) == org.owner.pk and _owner(lost) is None


def test_owner_is_warned_three_days_ahead_once(org: Org, pool: Pool) -> None:
    customer = make_customer(org.owner)
    assert reclaim_sweep(_days(26))["warned"] == 0
    assert reclaim_sweep(_days(27.1))["warned"] == 1
    note = Notification.objects.get(recipient=org.owner)
    assert note.subject_id == customer.pk and customer.name in note.title
    assert reclaim_sweep(_days(27.1))["warned"] == 0
    assert reclaim_sweep(_days(28))["warned"] == 0
    assert Notification.objects.filter(recipient=org.owner).count() == 1
    assert _owner(customer) == org.owner.pk


def test_sweep_twice_changes_nothing_the_second_time(org: Org, pool: Pool) -> None:
    for _ in range(3):
        make_customer(org.owner)
    at = _days(31)
    reclaim_sweep(at)
    counts = (PoolEntry.objects.count(), TimelineEvent.objects.count(), ChangeLog.objects.count())
    versions = list(Customer.objects.order_by("pk").values_list("version", flat=True))
    assert reclaim_sweep(at)["reclaimed"] == {pool.name: 0}
    assert (PoolEntry.objects.count(), TimelineEvent.objects.count(), ChangeLog.objects.count()) == counts
    assert list(Customer.objects.order_by("pk").values_list("version", flat=True)) == versions
    assert counts[0] == 3


def test_a_sweep_stopped_half_way_is_completed_by_the_next(org: Org, pool: Pool, monkeypatch: Any) -> None:
    customers = [make_customer(org.owner) for _ in range(4)]
    monkeypatch.setattr(reclaim_module, "CHUNK", 2)
    real = reclaim_module.timeline_record_many
    calls: list[int] = []

    def dies_on_second_chunk(events: Any) -> list[int]:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("killed")
        return real(events)

    monkeypatch.setattr(reclaim_module, "timeline_record_many", dies_on_second_chunk)
    with pytest.raises(RuntimeError):
        reclaim_sweep(_days(31))
    owners = [_owner(c) for c in customers]
    assert owners == [None, None, org.owner.pk, org.owner.pk]  # whole first chunk, nothing of the second
    assert PoolEntry.objects.count() == 2
    assert TimelineEvent.objects.filter(kind="ownership", payload__action="reclaimed").count() == 2
    reclaim_sweep(_days(31))
    assert [_owner(c) for c in customers] == [None] * 4
    assert PoolEntry.objects.count() == 4
    assert TimelineEvent.objects.filter(kind="ownership", payload__action="reclaimed").count() == 4


def test_province_pool_takes_its_region_and_the_default_the_rest(org: Org, pool: Pool) -> None:
    south = Pool.objects.create(name="广东公海", provinces=["广东省"], reclaim_after_days_without_follow_up=10)
    gd, other = make_customer(org.owner, province="广东省"), make_customer(org.owner, province="福建省")
    reclaim_sweep(_days(11))
    assert _owner(gd) is None and _owner(other) == org.owner.pk
    reclaim_sweep(_days(31))
    assert PoolEntry.objects.get(customer=gd).pool_id == south.pk
    assert PoolEntry.objects.get(customer=other).pool_id == pool.pk


def test_pearl_sweep_command_runs_the_reclaim(org: Org, pool: Pool, capsys: Any) -> None:
    customer = make_customer(org.owner)
    call_command("sweep", at=_days(31).isoformat(), only=["pools.reclaim"])
    capsys.readouterr()
    assert _owner(customer) is None


def test_a_handover_restarts_the_clock_without_using_the_quota(org: Org, pool: Pool) -> None:
    from pearl.pools.selectors import claim_quota
    from pearl.pools.services import user_handover

    customer = make_customer(org.owner)
    user_handover(
        actor=org.admin, from_user_id=org.owner.pk, to_user_ids=[org.teammate.pk], deactivate=False, dry_run=False
    )
    pool.daily_claim_quota = 1
    pool.save()
    assert claim_quota(actor=org.teammate, pool=pool).claimed_today == 0
    # 31 days after creation, but only just handed over: the new owner gets a fresh 30 days.
    from pearl.pools.models import ClaimLog

    ClaimLog.objects.update(at=_days(5))
    reclaim_sweep(_days(31))
    assert _owner(customer) == org.teammate.pk
    reclaim_sweep(_days(36))
    assert _owner(customer) is None


def test_switching_a_pool_on_gives_every_owner_the_full_period(org: Org, pool: Pool) -> None:
    """A customer untouched for a year is not reclaimed the night the pool is switched on: the clock
    starts then, the owner is warned K days before and the customer goes back after N days."""
    from pearl.pools.services import pool_update

    customer = make_customer(org.owner)
    Customer.objects.filter(pk=customer.pk).update(created_at=_days(-365))
    pool_update(actor=org.admin, pool_id=pool.pk, data={"active": False})
    pool_update(actor=org.admin, pool_id=pool.pk, data={"active": True})
    pool.refresh_from_db()
    assert pool.rules_since is not None and abs((pool.rules_since - timezone.now()).total_seconds()) < 60
    assert reclaim_sweep(_days(1))["reclaimed"] == {pool.name: 0}
    assert _owner(customer) == org.owner.pk
    reclaim_sweep(_days(28))  # within the 3 warning days
    assert Notification.objects.filter(recipient=org.owner, subject_id=customer.pk).exists()
    assert _owner(customer) == org.owner.pk
    reclaim_sweep(_days(31))
    assert _owner(customer) is None
    # Saving the pool while it is on does not restart anyone's clock.
    since = pool.rules_since
    pool_update(actor=org.admin, pool_id=pool.pk, data={"warn_days_before": 5})
    pool.refresh_from_db()
    assert pool.rules_since == since
