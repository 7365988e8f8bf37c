"""The public-pool section of the customer's 360° page (registered in ``PoolsConfig.ready`` through
``core.profile_panels``): the pool the customer lies in, its protection, or when the reclaim sweep
would take it.

The forecast is the sweep's own rule, not a copy of it: the pool that would take the customer comes
from the sweep's routing (``reclaim.pool_routes``), its clocks from the sweep's clock annotation
(``with_clocks``) and the day from the sweep's day arithmetic (``reclaim_day``, the one its warnings
use). Only the candidacy (owned, not protected, no open opportunity: ``_owned_candidates``) is read
here per customer, from the protection joined to the row and an indexed EXISTS on the customer's open
opportunities: the sweep's set-based form (``NOT IN`` every open opportunity's customer) would hash
all open opportunities on every page view.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, Exists, IntegerField, OuterRef, Value, When
from django.utils import timezone

from pearl.customers.models import Customer
from pearl.pipelines.selectors import customers_with_open_opportunities
from pearl.pools.models import Pool, PoolEntry
from pearl.pools.selectors import SHANGHAI, pool_visible_q
from pearl.pools.services.reclaim import pool_routes, reclaim_day, with_clocks


@dataclass(frozen=True)
class Protection:
    by: str  # who protected it ("" when that account is gone)
    reason: str
    at: dt.datetime


@dataclass(frozen=True)
class Forecast:
    """The reclaim sweep would move the customer to ``pool`` on ``day`` (Asia/Shanghai) unless followed up."""

    pool: Pool
    day: dt.date
    due: bool  # the day has passed (the sweep has not run since): the next sweep takes it
    same_year: bool  # the day falls in this year (shown without the year)


@dataclass(frozen=True)
class CustomerPoolState:
    entry: PoolEntry | None = None  # lying in a pool (with its pool and previous owner)
    pool_visible: bool = False  # the actor may open that pool's page (and claim from it)
    may_claim: bool = False
    protection: Protection | None = None
    open_opportunity: bool = False  # owned and kept from reclaim by an open opportunity
    forecast: Forecast | None = None

    @property
    def rule(self) -> str:
        return str((self.entry.rule or {}).get("rule", "")) if self.entry else ""

    @property
    def rule_days(self) -> Any:
        return (self.entry.rule or {}).get("days") if self.entry else None


def customer_pool_state(actor: Any, customer: Customer, at: dt.datetime | None = None) -> CustomerPoolState | None:
    """Where ``customer`` (already read in the actor's scope) stands with the public pool; None when
    there is nothing to say (owned, unprotected and no active pool would take it).

    Unowned: one read of its pool entry through the one-to-one's unique index (plus a check of the
    pool's teams for a reader who does not see all data). Owned: the active pools (one read, plus their
    teams when there are any: the sweep's routing), one primary-key read of the customer with its
    protection, open-opportunity flag and route, and, when a pool would take it, one more for its clocks.
    """
    if customer.owner_id is None:
        return _in_pool(actor, customer)
    return _owned(customer, at or timezone.now())


def _in_pool(actor: Any, customer: Customer) -> CustomerPoolState | None:
    entry = PoolEntry.objects.filter(customer_id=customer.pk).select_related("pool", "previous_owner").first()
    if entry is None:
        return None  # nobody's, but in no pool (e.g. imported without an owner)
    pool = entry.pool
    if not pool.active:
        visible = False
    elif getattr(actor, "data_scope", None) == "all":
        visible = True  # pool_visible_q is just "active" for them: no query
    else:
        visible = Pool.objects.filter(pool_visible_q(actor)).filter(pk=pool.pk).exists()
    return CustomerPoolState(entry=entry, pool_visible=visible, may_claim=visible and actor.may("edit"))


def _owned(customer: Customer, at: dt.datetime) -> CustomerPoolState | None:
    routes = pool_routes()
    pools = {pool.pk: pool for pool, _region in routes}
    route: Any = Value(None, output_field=IntegerField())
    if routes:
        route = Case(*(When(region, then=Value(pool.pk)) for pool, region in routes), output_field=IntegerField())
    row = (
        Customer.objects.filter(pk=customer.pk)
        .annotate(
            open_opportunity=Exists(customers_with_open_opportunities().filter(customer_id=OuterRef("pk"))),
            route=route,
        )
        .values(
            "open_opportunity",
            "route",
            "protection__reason",
            "protection__at",
            "protection__protected_by__display_name",
            "protection__protected_by__username",
        )
        .first()
    )
    if row is None:
        return None
    protection = None
    if row["protection__at"] is not None:
        by = row["protection__protected_by__display_name"] or row["protection__protected_by__username"] or ""
        protection = Protection(by=by, reason=row["protection__reason"], at=row["protection__at"])
    pool = pools.get(row["route"])
    # _owned_candidates' conditions for this one customer (it is owned: the caller checked).
    candidate = protection is None and not row["open_opportunity"]
    forecast = _forecast(customer, pool, at) if candidate and pool is not None else None
    # Worth saying only where a pool would otherwise take it (with no active pool, nothing is reclaimed).
    kept = bool(row["open_opportunity"]) and protection is None and pool is not None
    if protection is None and forecast is None and not kept:
        return None
    return CustomerPoolState(protection=protection, open_opportunity=kept, forecast=forecast)


def _forecast(customer: Customer, pool: Pool, at: dt.datetime) -> Forecast | None:
    """The day ``pool``'s rules take the customer: its clocks as the sweep computes them for that pool
    (they depend on the pool, e.g. no clock starts before the pool was switched on), one primary-key read."""
    clocks = (
        with_clocks(Customer.objects.filter(pk=customer.pk), pool.rules_since)
        # annotated by with_clocks (the mypy plugin cannot follow annotations through a helper)
        .values_list("follow_clock", "deal_clock")  # type: ignore[misc]
        .first()
    )
    if clocks is None:
        return None
    day = reclaim_day(pool, *clocks)
    today = at.astimezone(SHANGHAI).date()
    return Forecast(pool=pool, day=day, due=day < today, same_year=day.year == today.year)
