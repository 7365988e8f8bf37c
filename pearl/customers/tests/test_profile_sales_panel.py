"""The 360° page's sales panel: the sections pipelines, reminders and pools register in
``core.profile_panels`` (open opportunities, open tasks, the public pool), what each shows, to whom,
and what each costs. Pages are read in English (the source strings) so the assertions do not depend on
the compiled catalogue."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format

from pearl.core import profile_panels
from pearl.core.testing.personas import Org
from pearl.customers.models import Customer
from pearl.customers.selectors import customer_get
from pearl.customers.tests.factories import make_customer
from pearl.pipelines.models import Pipeline
from pearl.pipelines.profile import customer_opportunities
from pearl.pipelines.services import opportunity_move
from pearl.pipelines.tests.factories import make_opportunity
from pearl.pools.models import Pool, PoolEntry
from pearl.pools.profile import customer_pool_state
from pearl.pools.selectors import SHANGHAI
from pearl.pools.services import customer_protection_set, pool_release, reclaim_sweep
from pearl.reminders.profile import customer_tasks
from pearl.reminders.services import task_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def pool(org: Org) -> Pool:
    """The default pool, switched on (migration 0002 installs it off), reclaiming after 30 days."""
    pool = Pool.objects.filter(is_default=True).first() or Pool.objects.create(name="公海", is_default=True)
    Pool.objects.filter(pk=pool.pk).update(active=True, reclaim_after_days_without_follow_up=30)
    pool.refresh_from_db()
    return pool


def _page(client: Any, customer: Customer) -> str:
    response = client.get(reverse("customers:customer_detail", args=[customer.pk]))
    assert response.status_code == 200
    return str(response.content.decode())


def _panel(html: str) -> str:
    """The sales panel's markup (the page carries more, e.g. the timeline, which names opportunities too)."""
    match = re.search(r'<section class="card profile-panel" id="profile-sales">.*?</section>', html, re.S)
    assert match, "no sales panel on the page"
    return match.group(0)


def _stage(name: str) -> int:
    return Pipeline.objects.get(is_default=True).stages.get(name=name).pk


def test_the_three_apps_register_their_sections_in_order() -> None:
    names = [s.name for s in profile_panels.registered()]
    assert names[:3] == ["pools.state", "pipelines.opportunities", "reminders.tasks"]


def test_open_opportunities_of_this_customer_only_with_the_closed_ones_counted(en: Any, org: Org) -> None:
    customer = make_customer(org.owner)
    other = make_customer(org.owner)
    cold_store = make_opportunity(
        org.owner, customer.pk, name="冷库扩建", amount="128000.00", expected_close_date=dt.date(2026, 12, 20)
    )
    won = make_opportunity(org.owner, customer.pk, name="春节备货")
    opportunity_move(actor=org.owner, opportunity_id=won.pk, stage_id=_stage("赢单"))
    make_opportunity(org.owner, other.pk, name="别家的商机")
    en.force_login(org.owner)

    panel = _panel(_page(en, customer))

    assert "冷库扩建" in panel and "128,000.00" in panel and "2026-12-20" in panel
    assert reverse("pipelines:opportunity_detail", args=[cold_store.pk]) in panel
    assert str(org.owner) in panel  # the owner's name
    assert "别家的商机" not in panel  # another customer's
    assert "春节备货" not in panel  # closed: counted and linked, not listed
    closed_link = reverse("pipelines:opportunity_list") + f"?customer={customer.pk}&amp;status=won"
    assert closed_link in panel and "Won: 1" in panel
    assert "Lost:" not in panel


def test_open_tasks_with_the_overdue_one_highlighted(en: Any, org: Org) -> None:
    customer = make_customer(org.owner)
    now = timezone.now()
    late = task_create(actor=org.owner, owner=org.owner, title="回电确认报价", due_at=now - dt.timedelta(days=1),
                       customer_id=customer.pk)  # fmt: skip
    soon = task_create(actor=org.manager, owner=org.teammate, title="送样品", due_at=now + dt.timedelta(days=2),
                       customer_id=customer.pk)  # fmt: skip
    task_create(
        actor=org.owner, owner=org.owner, title="别家的任务", due_at=now, customer_id=make_customer(org.owner).pk
    )
    en.force_login(org.manager)  # sees both owners' tasks

    panel = _panel(_page(en, customer))

    late_row = re.search(rf'<li id="customer-task-{late.pk}" class="overdue">.*?</li>', panel, re.S)
    assert late_row and "回电确认报价" in late_row.group(0) and "overdue" in late_row.group(0)
    soon_row = re.search(rf'<li id="customer-task-{soon.pk}">.*?</li>', panel, re.S)  # no overdue class
    assert soon_row and "送样品" in soon_row.group(0) and str(org.teammate) in soon_row.group(0)
    assert "1 overdue" in panel
    assert "别家的任务" not in panel
    assert panel.index("回电确认报价") < panel.index("送样品")  # soonest due first


def test_a_customer_in_the_pool_shows_the_badge_the_pool_link_and_the_claim(en: Any, org: Org, pool: Pool) -> None:
    customer = make_customer(org.owner)
    swept_at = timezone.now() + dt.timedelta(days=31)
    reclaim_sweep(swept_at)
    assert PoolEntry.objects.filter(customer=customer, reason="reclaimed").exists()
    en.force_login(org.admin)  # nobody owns it now: only someone seeing all data sees it

    panel = _panel(_page(en, customer))

    day = swept_at.astimezone(SHANGHAI).strftime("%Y-%m-%d")
    assert f"In the public pool: {pool.name}, reclaimed on {day} after 30 days without follow-up" in panel
    assert f"Previous owner: {org.owner}" in panel
    assert reverse("pools:pool_detail", args=[pool.pk]) in panel
    claim_url = reverse("pools:pool_claim", args=[pool.pk, customer.pk])
    assert f'hx-post="{claim_url}"' in panel

    # The button is the pool page's claim: same endpoint, same answer.
    answer = en.post(claim_url, headers={"HX-Request": "true"})
    assert answer.status_code == 200 and "Claimed" in answer.content.decode()
    assert Customer.objects.get(pk=customer.pk).owner_id == org.admin.pk


def test_a_released_customer_names_who_gave_it_back_and_why(en: Any, org: Org, pool: Pool) -> None:
    customer = make_customer(org.owner)
    pool_release(actor=org.owner, customer_id=customer.pk, pool_id=pool.pk, reason="客户已转行")
    en.force_login(org.admin)
    panel = _panel(_page(en, customer))
    day = timezone.now().astimezone(SHANGHAI).strftime("%Y-%m-%d")
    assert f"In the public pool: {pool.name}, given back on {day} by {org.owner}: 客户已转行" in panel


def test_no_claim_button_for_a_pool_that_is_switched_off(en: Any, org: Org, pool: Pool) -> None:
    customer = make_customer(org.owner)
    pool_release(actor=org.owner, customer_id=customer.pk, pool_id=pool.pk, reason="不做了")
    Pool.objects.filter(pk=pool.pk).update(active=False)
    en.force_login(org.admin)
    panel = _panel(_page(en, customer))
    assert "In the public pool" in panel
    assert "pool_claim" not in panel and "/claim/" not in panel
    assert reverse("pools:pool_detail", args=[pool.pk]) not in panel


def test_a_protected_customer_shows_who_protected_it_and_why(en: Any, org: Org, pool: Pool) -> None:
    customer = make_customer(org.owner)
    customer_protection_set(actor=org.manager, customer_id=customer.pk, reason="战略客户")
    en.force_login(org.owner)

    panel = _panel(_page(en, customer))

    assert '<span class="badge ok">Protected</span>' in panel
    assert f"by {org.manager} since" in panel and "战略客户" in panel
    assert "Goes back to the public pool" not in panel  # protected: never reclaimed


def test_an_owned_customer_shows_when_the_sweep_would_reclaim_it(en: Any, org: Org, pool: Pool) -> None:
    customer = make_customer(org.owner)
    en.force_login(org.owner)

    panel = _panel(_page(en, customer))

    due = (customer.created_at + dt.timedelta(days=30)).astimezone(SHANGHAI).date()
    this_year = due.year == timezone.now().astimezone(SHANGHAI).year
    shown = date_format(due, "F j" if this_year else "Y-m-d")
    assert f"Goes back to the public pool ({pool.name}) on {shown} unless followed up." in panel

    # The day is the one the sweep keeps: nothing the day before, reclaimed the day after.
    reclaim_sweep(customer.created_at + dt.timedelta(days=29))
    assert Customer.objects.get(pk=customer.pk).owner_id == org.owner.pk
    reclaim_sweep(customer.created_at + dt.timedelta(days=30, hours=1))
    assert Customer.objects.get(pk=customer.pk).owner_id is None


def test_an_open_opportunity_keeps_the_customer_and_no_active_pool_means_no_forecast(en: Any, org: Org) -> None:
    customer = make_customer(org.owner)
    en.force_login(org.owner)
    # As installed, the default pool is switched off: nothing is reclaimed, nothing to say.
    assert "public pool" not in _panel(_page(en, customer))

    Pool.objects.filter(is_default=True).update(active=True)
    make_opportunity(org.owner, customer.pk, name="冷库扩建")
    panel = _panel(_page(en, customer))
    assert "Not reclaimed to the public pool while it has an open opportunity." in panel
    assert "Goes back to the public pool" not in panel


def test_out_of_scope_is_the_usual_not_found(en: Any, org: Org, pool: Pool) -> None:
    customer = make_customer(org.owner)
    make_opportunity(org.owner, customer.pk, name="冷库扩建")
    task_create(actor=org.owner, owner=org.owner, title="回电", due_at=timezone.now(), customer_id=customer.pk)
    en.force_login(org.outsider)
    response = en.get(reverse("customers:customer_detail", args=[customer.pk]))
    assert response.status_code == 404
    body = response.content.decode()
    assert customer.name not in body and "冷库扩建" not in body and "回电" not in body


def test_a_teammates_opportunity_and_task_follow_their_own_scope(en: Any, org: Org) -> None:
    """The sections show what the pipelines and reminders apps let the reader see, not more."""
    customer = make_customer(org.manager, owner=org.owner.pk)
    make_opportunity(org.manager, customer.pk, name="经理的商机", owner_id=org.manager.pk)
    task_create(actor=org.manager, owner=org.manager, title="经理的任务", due_at=timezone.now(),
                customer_id=customer.pk)  # fmt: skip
    en.force_login(org.manager)
    panel = _panel(_page(en, customer))
    assert "经理的商机" in panel and "经理的任务" in panel
    en.force_login(org.owner)  # sees the customer (theirs), not the manager's own records
    panel = _panel(_page(en, customer))
    assert "经理的商机" not in panel and "经理的任务" not in panel


def test_each_section_is_one_indexed_read(org: Org, pool: Pool, django_assert_num_queries: Any) -> None:
    customer = make_customer(org.owner)
    for n in range(12):
        make_opportunity(org.owner, customer.pk, name=f"商机{n}")
    for n in range(3):
        lost = make_opportunity(org.owner, customer.pk, name=f"丢单{n}")
        opportunity_move(actor=org.owner, opportunity_id=lost.pk, stage_id=_stage("输单"), loss_reason="价格")
    for n in range(12):
        task_create(actor=org.owner, owner=org.owner, title=f"任务{n}", due_at=timezone.now(), customer_id=customer.pk)
    loaded = customer_get(actor=org.manager, customer_id=customer.pk)

    with django_assert_num_queries(1):
        opportunities = customer_opportunities(org.manager, loaded)
    assert (len(opportunities.open), opportunities.open_count, opportunities.more) == (10, 12, 2)
    assert (opportunities.won_count, opportunities.lost_count) == (0, 3)
    with django_assert_num_queries(1):
        tasks = customer_tasks(org.manager, loaded)
        assert tasks.rows[0].task.customer is loaded  # the page's customer, no join
    assert len(tasks.rows) == 10 and tasks.more
    # Owned: the active pools, their teams, then the customer's protection, open-opportunity flag and route.
    with django_assert_num_queries(3):
        state = customer_pool_state(org.manager, loaded)
    assert state is not None and state.open_opportunity and state.forecast is None
    plain = customer_get(actor=org.manager, customer_id=make_customer(org.owner).pk)
    with django_assert_num_queries(4):  # the same and, since a pool would take it, its clocks
        state = customer_pool_state(org.manager, plain)
    assert state is not None and state.forecast is not None

    pool_release(actor=org.admin, customer_id=customer.pk, pool_id=pool.pk, reason="测试")
    unowned = customer_get(actor=org.admin, customer_id=customer.pk)
    with django_assert_num_queries(1):  # its pool entry with the pool and previous owner
        state = customer_pool_state(org.admin, unowned)
    assert state is not None and state.entry is not None and state.may_claim


def test_the_forecast_follows_the_sweeps_routing_and_candidates(org: Org, pool: Pool) -> None:
    """A regional pool takes its province's customers on its own clock; whether there is a forecast at all
    matches the sweep's own candidate query (owned, not protected, no open opportunity)."""
    south = Pool.objects.create(name="广东公海", provinces=["广东省"], reclaim_after_days_without_follow_up=60)
    local = make_customer(org.owner, province="广东省")
    plain = make_customer(org.owner, province="浙江省")
    guarded = make_customer(org.owner)
    customer_protection_set(actor=org.manager, customer_id=guarded.pk, reason="战略客户")
    busy = make_customer(org.owner)
    make_opportunity(org.owner, busy.pk, name="冷库扩建")
    done = make_customer(org.owner)  # only a lost opportunity: the sweep may take it
    lost = make_opportunity(org.owner, done.pk, name="丢单")
    opportunity_move(actor=org.owner, opportunity_id=lost.pk, stage_id=_stage("输单"), loss_reason="价格")

    states = {c.pk: customer_pool_state(org.manager, customer_get(actor=org.manager, customer_id=c.pk))
              for c in (local, plain, guarded, busy, done)}  # fmt: skip
    forecasts = {pk: s.forecast for pk, s in states.items() if s is not None and s.forecast is not None}

    local_day = (local.created_at + dt.timedelta(days=60)).astimezone(SHANGHAI).date()
    assert (forecasts[local.pk].pool, forecasts[local.pk].day) == (south, local_day)
    plain_day = (plain.created_at + dt.timedelta(days=30)).astimezone(SHANGHAI).date()
    assert (forecasts[plain.pk].pool, forecasts[plain.pk].day) == (pool, plain_day)
    # The sweep as of a year on takes exactly the customers with a forecast.
    reclaim_sweep(timezone.now() + dt.timedelta(days=365))
    taken = set(PoolEntry.objects.values_list("customer_id", flat=True))
    assert taken == set(forecasts) == {local.pk, plain.pk, done.pk}
    assert dict(PoolEntry.objects.values_list("customer_id", "pool_id"))[local.pk] == south.pk


def test_the_forecast_uses_the_clock_of_the_pool_that_takes_the_customer(org: Org, pool: Pool) -> None:
    """A pool switched on after the customer was created starts its clock then, for the sweep and the page."""
    customer = make_customer(org.owner)
    switched_on = timezone.now() + dt.timedelta(days=10)
    Pool.objects.filter(pk=pool.pk).update(rules_since=switched_on)
    state = customer_pool_state(org.owner, customer_get(actor=org.owner, customer_id=customer.pk))
    assert state is not None and state.forecast is not None
    assert state.forecast.day == (switched_on + dt.timedelta(days=30)).astimezone(SHANGHAI).date()
    reclaim_sweep(switched_on + dt.timedelta(days=29))
    assert Customer.objects.get(pk=customer.pk).owner_id == org.owner.pk
    reclaim_sweep(switched_on + dt.timedelta(days=30, hours=1))
    assert Customer.objects.get(pk=customer.pk).owner_id is None
