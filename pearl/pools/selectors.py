"""Reads of the public pool: the pools a person may see, the customers lying in them (contacts
masked while unclaimed when the pool says so), a person's claim quota, and who is protected."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.core.errors import NotFound
from pearl.core.permissions import require, scope_q
from pearl.core.phones import mask_mobile
from pearl.customers.models import Customer
from pearl.pools.choices import ClaimVia
from pearl.pools.models import ClaimLog, CustomerProtection, Pool, PoolEntry

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _signed_in(actor: Any) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False) and actor.is_active


def pool_visible_q(actor: Any) -> Q:
    """Pools the actor may see and claim from: active, and open to everyone or to the actor's team
    (an actor seeing all data sees every pool)."""
    if not _signed_in(actor):
        return Q(pk__in=[])
    if actor.data_scope == "all":
        return Q(active=True)
    open_to = Pool.teams.through.objects.filter(team_id=actor.team_id).values("pool_id")
    return Q(active=True) & (~Q(pk__in=Pool.teams.through.objects.values("pool_id")) | Q(pk__in=open_to))


def pool_list(*, actor: User) -> QuerySet[Pool]:
    """Visible pools with the number of customers in each (``customer_count``)."""
    return (
        Pool.objects.filter(pool_visible_q(actor))
        .annotate(customer_count=Count("entries"))
        .order_by("-is_default", "name", "id")
    )


def pool_get(*, actor: User, pool_id: int) -> Pool:
    pool = Pool.objects.filter(pool_visible_q(actor)).filter(pk=pool_id).first()
    if pool is None:
        raise NotFound(_("Pool not found."))
    return pool


def pool_settings_list(*, actor: User) -> QuerySet[Pool]:
    """Every pool, inactive ones too (settings)."""
    require(actor, "manage_settings")
    return Pool.objects.prefetch_related("teams").order_by("-is_default", "name", "id")


def pool_settings_get(*, actor: User, pool_id: int) -> Pool:
    pool = pool_settings_list(actor=actor).filter(pk=pool_id).first()
    if pool is None:
        raise NotFound(_("Pool not found."))
    return pool


def mask_email(email: str) -> str:
    name, at, domain = email.partition("@")
    if not at:
        return "****" if email else ""
    return f"{name[:1]}***@{domain}"


def mask_wechat(wechat: str) -> str:
    return f"{wechat[:2]}****" if wechat else ""


@dataclass(frozen=True)
class PoolCustomer:
    """A customer in a pool as a claimer sees it."""

    customer_id: int
    name: str
    province: str
    city: str
    grade: str
    entered_at: dt.datetime
    reason: str
    previous_owner_id: int | None
    contact_name: str
    mobile: str
    email: str
    wechat: str
    masked: bool


def pool_entries(*, actor: User, pool_id: int) -> QuerySet[PoolEntry]:
    """The pool's entries, newest first (NotFound when the pool is not visible to the actor)."""
    return _entries(pool_get(actor=actor, pool_id=pool_id))


def _entries(pool: Pool) -> QuerySet[PoolEntry]:
    return (
        PoolEntry.objects.filter(pool=pool)
        .select_related("customer")
        .prefetch_related("customer__contacts")
        .order_by("-entered_at", "-id")
    )


def pool_customers(
    *, actor: User, pool_id: int, limit: int = 50, offset: int = 0
) -> tuple[Pool, list[PoolCustomer], int]:
    """A page of the pool's customers with their primary contact (masked when the pool says so) and
    the total count."""
    pool = pool_get(actor=actor, pool_id=pool_id)
    entries = _entries(pool)
    out = []
    for entry in entries[offset : offset + limit]:
        customer = entry.customer
        contacts = list(customer.contacts.all())
        contact = contacts[0] if contacts else None
        mobile = contact.mobile if contact else ""
        email = contact.email if contact else ""
        wechat = contact.wechat if contact else ""
        if pool.mask_contacts:
            mobile, email, wechat = mask_mobile(mobile), mask_email(email), mask_wechat(wechat)
        out.append(
            PoolCustomer(
                customer_id=customer.pk,
                name=customer.name,
                province=customer.province,
                city=customer.city,
                grade=customer.grade,
                entered_at=entry.entered_at,
                reason=entry.reason,
                previous_owner_id=entry.previous_owner_id,
                contact_name=contact.name if contact else "",
                mobile=mobile,
                email=email,
                wechat=wechat,
                masked=pool.mask_contacts,
            )
        )
    return pool, out, entries.count()


def shanghai_day_start(at: dt.datetime) -> dt.datetime:
    local = at.astimezone(SHANGHAI)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class ClaimQuota:
    """Where a person stands against a pool's limits (None = no limit)."""

    held: int
    max_held: int | None
    claimed_today: int
    daily_quota: int | None

    @property
    def held_left(self) -> int | None:
        return None if self.max_held is None else max(self.max_held - self.held, 0)

    @property
    def claims_left(self) -> int | None:
        return None if self.daily_quota is None else max(self.daily_quota - self.claimed_today, 0)


def claim_quota(*, actor: User, pool: Pool, at: dt.datetime | None = None) -> ClaimQuota:
    at = at or timezone.now()
    return ClaimQuota(
        held=Customer.objects.filter(owner_id=actor.pk).count(),
        max_held=pool.max_customers_per_person,
        claimed_today=ClaimLog.objects.filter(
            user_id=actor.pk, via=ClaimVia.CLAIM, at__gte=shanghai_day_start(at), at__lte=at
        ).count(),
        daily_quota=pool.daily_claim_quota,
    )


def customer_protection_get(*, actor: User, customer_id: int) -> CustomerProtection | None:
    """The customer's protection (None when unprotected); NotFound out of scope."""
    if not Customer.objects.filter(scope_q(actor)).filter(pk=customer_id).exists():
        raise NotFound(_("Customer not found."))
    return CustomerProtection.objects.filter(customer_id=customer_id).first()
