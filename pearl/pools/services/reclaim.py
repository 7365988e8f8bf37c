"""The reclaim sweep (``pools.reclaim``): customers nobody followed up (or sold to) for too long go
back to the public pool.

Set-based: for each active pool, one query lists the customers due (owned, not protected, no open
opportunity, in the pool's region, clock older than the pool's limit), then they move in chunks
ordered by id, one transaction per chunk (owner cleared through the customers app's ownership
service, pool entries and timeline events inserted in bulk). A sweep stopped half-way leaves whole
chunks behind and the next run takes the rest; a second run as of the same moment finds nobody.

The clock of a customer is its last contact (``CustomerFigures.last_contact_at``), or when it was
created or last claimed from a pool, or when the pool was switched on (``Pool.rules_since``), whichever
is later; the deal clock is its last order, else the same start.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import DateTimeField, Exists, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Greatest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.activities.services.timeline import timeline_record_many
from pearl.core.events import emit_many
from pearl.customers.models import Customer
from pearl.customers.services import customer_owners_set
from pearl.pipelines.selectors import customers_with_open_opportunities
from pearl.pools.choices import EntryReason
from pearl.pools.models import ClaimLog, CustomerProtection, Pool, PoolEntry
from pearl.pools.selectors import SHANGHAI
from pearl.pools.services.claims import ownership_event
from pearl.reminders.services import Notice, notify_many

CHUNK = 500


def _open_deal_customer_ids() -> QuerySet[Any, int]:
    """Customers with an open opportunity, which the sweep never takes (the pipelines app's data,
    read as a lazy sub-select through its selector)."""
    return customers_with_open_opportunities()


def with_clocks(qs: QuerySet[Customer], since: dt.datetime | None = None) -> QuerySet[Customer]:
    """``follow_clock``: since when nobody followed the customer up; ``deal_clock``: since its last deal.
    ``since`` (the pool's ``rules_since``): no clock starts earlier."""
    last_claim = Subquery(
        ClaimLog.objects.filter(customer_id=OuterRef("pk")).order_by("-at").values("at")[:1],
        output_field=DateTimeField(),
    )
    starts: list[Any] = [F("created_at"), Coalesce(last_claim, F("created_at"))]
    if since is not None:  # (never NULL inside GREATEST: SQLite's MAX() would answer NULL)
        starts.append(Value(since, output_field=DateTimeField()))
    start = Greatest(*starts, output_field=DateTimeField())
    # The figures are the analytics app's, read through the customer's reverse relation (no write).
    return qs.annotate(
        _start=start,
        follow_clock=Greatest(Coalesce(F("figures__last_contact_at"), F("_start")), F("_start")),
        deal_clock=Greatest(Coalesce(F("figures__last_order_at"), F("_start")), F("_start")),
    )


def _region_q(pool: Pool, team_ids: list[int]) -> Q:
    q = Q()
    if pool.provinces:
        q &= Q(province__in=pool.provinces)
    if team_ids:
        q &= Q(team_id__in=team_ids)
    return q


def pool_routes() -> list[tuple[Pool, Q]]:
    """Each active pool with the customers it takes: specific pools (by provinces and/or teams)
    first, the default pool takes the rest. A pool with neither takes nobody (releases only)."""
    pools = list(Pool.objects.filter(active=True).prefetch_related("teams").order_by("id"))
    taken = Q(pk__in=[])
    out: list[tuple[Pool, Q]] = []
    for pool in pools:
        team_ids = [t.pk for t in pool.teams.all()]
        if pool.is_default or not (pool.provinces or team_ids):
            continue
        region = _region_q(pool, team_ids)
        out.append((pool, region & ~taken))
        taken |= region
    default = next((p for p in pools if p.is_default), None)
    if default is not None:
        out.append((default, ~taken))
    return out


def _owned_candidates(region: Q) -> QuerySet[Customer]:
    protected = CustomerProtection.objects.filter(customer_id=OuterRef("pk"))
    return (
        Customer.objects.filter(owner__isnull=False)
        .filter(region)
        .exclude(Exists(protected))
        .exclude(pk__in=_open_deal_customer_ids())
    )


def _due_q(pool: Pool, at: dt.datetime) -> Q:
    due = Q(follow_clock__lt=at - dt.timedelta(days=pool.reclaim_after_days_without_follow_up))
    if pool.reclaim_after_days_without_deal is not None:
        due |= Q(deal_clock__lt=at - dt.timedelta(days=pool.reclaim_after_days_without_deal))
    return due


def due_customers(pool: Pool, region: Q, at: dt.datetime) -> QuerySet[Customer]:
    return with_clocks(_owned_candidates(region), pool.rules_since).filter(_due_q(pool, at))


def warned_customers(pool: Pool, region: Q, at: dt.datetime) -> QuerySet[Customer]:
    """Customers that become due within the pool's warning days (and are not due yet)."""
    ahead = at + dt.timedelta(days=pool.warn_days_before)
    return (
        with_clocks(_owned_candidates(region), pool.rules_since).filter(_due_q(pool, ahead)).exclude(_due_q(pool, at))
    )


def _rule(pool: Pool, at: dt.datetime, follow_clock: dt.datetime, deal_clock: dt.datetime) -> dict[str, Any]:
    follow_days = pool.reclaim_after_days_without_follow_up
    if follow_clock < at - dt.timedelta(days=follow_days):
        return {"pool": pool.pk, "rule": "no_follow_up", "days": follow_days, "since": follow_clock.isoformat()}
    return {
        "pool": pool.pk,
        "rule": "no_deal",
        "days": pool.reclaim_after_days_without_deal,
        "since": deal_clock.isoformat(),
    }


def _reclaim_chunk(pool: Pool, region: Q, at: dt.datetime, ids: list[int]) -> int:
    with transaction.atomic():
        rows = list(
            due_customers(pool, region, at)
            .filter(pk__in=ids)
            .order_by("pk")
            # annotated by with_clocks (the mypy plugin cannot follow annotations through a helper)
            .values_list("pk", "owner_id", "follow_clock", "deal_clock")  # type: ignore[misc]
        )
        if not rows:
            return 0
        changes = customer_owners_set(
            actor=None,
            assignments={pk: None for pk, *_rest in rows},
            expected_owners={pk: owner for pk, owner, *_rest in rows},
        )
        moved = {c.customer_id: c for c in changes}
        clocks = {pk: (follow, deal) for pk, _owner, follow, deal in rows if pk in moved}
        rules = {pk: _rule(pool, at, *clocks[pk]) for pk in clocks}
        PoolEntry.objects.bulk_create(
            [
                PoolEntry(
                    customer_id=pk,
                    pool=pool,
                    entered_at=at,
                    previous_owner_id=moved[pk].old_owner_id,
                    reason=EntryReason.RECLAIMED,
                    rule=rules[pk],
                )
                for pk in sorted(moved)
            ]
        )
        with translation.override(settings.LANGUAGE_CODE):
            titles = {
                "no_follow_up": _("Reclaimed to the pool “%(pool)s”: no follow-up for %(days)s days"),
                "no_deal": _("Reclaimed to the pool “%(pool)s”: no deal for %(days)s days"),
            }
            events = [
                ownership_event(
                    customer_id=pk,
                    actor=None,
                    at=at,
                    title=titles[rules[pk]["rule"]] % {"pool": pool.name, "days": rules[pk]["days"]},
                    action="reclaimed",
                    pool=pool,
                    previous_owner=moved[pk].old_owner_id,
                    rule=rules[pk]["rule"],
                    days=rules[pk]["days"],
                )
                for pk in sorted(moved)
            ]
        timeline_record_many(events)
        emit_many("pool.reclaimed", [{"customer_id": pk, "pool_id": pool.pk} for pk in sorted(moved)])
        return len(moved)


def reclaim_sweep(at: dt.datetime) -> dict[str, Any]:
    """Move every customer due as of ``at`` to its pool; warn the owners of those due soon."""
    reclaimed: dict[str, int] = {}
    warned = 0
    for pool, region in pool_routes():
        ids = list(due_customers(pool, region, at).order_by("pk").values_list("pk", flat=True))
        total = 0
        for start in range(0, len(ids), CHUNK):
            total += _reclaim_chunk(pool, region, at, ids[start : start + CHUNK])
        reclaimed[pool.name] = total
        warned += warn_owners(pool, region, at)
    return {"reclaimed": reclaimed, "warned": warned}


def reclaim_day(pool: Pool, follow_clock: dt.datetime, deal_clock: dt.datetime) -> dt.date:
    due = follow_clock + dt.timedelta(days=pool.reclaim_after_days_without_follow_up)
    if pool.reclaim_after_days_without_deal is not None:
        due = min(due, deal_clock + dt.timedelta(days=pool.reclaim_after_days_without_deal))
    return due.astimezone(SHANGHAI).date()


def warn_owners(pool: Pool, region: Q, at: dt.datetime) -> int:
    """Tell each owner, once per customer and reclaim day, that the customer goes back to the pool
    within the pool's warning days unless followed up."""
    if not pool.warn_days_before:
        return 0
    rows = list(
        warned_customers(pool, region, at)
        .order_by("pk")
        # annotated by with_clocks (the mypy plugin cannot follow annotations through a helper)
        .values_list("pk", "name", "owner_id", "follow_clock", "deal_clock")  # type: ignore[misc]
    )
    owners = {u.pk: u for u in User.objects.filter(pk__in={r[2] for r in rows}, is_active=True)}
    notices = []
    with translation.override(settings.LANGUAGE_CODE):
        body = _("Pool: %(pool)s") % {"pool": pool.name}
        for pk, name, owner_id, follow_clock, deal_clock in rows:
            owner = owners.get(owner_id)
            if owner is None:
                continue
            day = reclaim_day(pool, follow_clock, deal_clock)
            notices.append(
                Notice(
                    recipient=owner,
                    title=_("“%(customer)s” goes back to the public pool on %(day)s unless followed up")
                    % {"customer": name, "day": day.isoformat()},
                    body=body,
                    link=reverse("customers:customer_detail", args=[pk]),
                    subject=(Customer._meta.label_lower, pk),
                    dedupe_key=f"pools.reclaim-warning:{pk}:{day.isoformat()}",
                )
            )
    # All at once: one notification per call was 13k round trips (47 s) on a million customers.
    return notify_many(notices)
