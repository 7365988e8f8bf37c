"""Claiming customers from the public pool, giving them back, and protecting them from reclaim."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.activities.choices import TimelineKind
from pearl.activities.services.timeline import NewEvent, timeline_record
from pearl.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from pearl.core.events import emit
from pearl.core.permissions import require, scope_q
from pearl.customers.models import Customer
from pearl.customers.services import customer_owners_set
from pearl.pools.choices import EntryReason
from pearl.pools.models import ClaimLog, CustomerProtection, Pool, PoolEntry
from pearl.pools.selectors import claim_quota, pool_get


def person(user: Any) -> str:
    if user is None:
        return ""
    return str(user.get_full_name() or user)


def ownership_event(
    *, customer_id: int, actor: Any, at: dt.datetime, title: str, action: str, pool: Pool | None, **extra: Any
) -> NewEvent:
    """The ``ownership`` timeline event of a claim, release, reclaim or handover."""
    payload: dict[str, Any] = {"action": action, **extra}
    if pool is not None:
        payload["pool"] = pool.pk
        payload["pool_name"] = pool.name
    return NewEvent(
        customer_id=customer_id,
        kind=TimelineKind.OWNERSHIP,
        occurred_at=at,
        title=title,
        actor=actor,
        subject=(Customer._meta.label_lower, customer_id),
        payload=payload,
    )


def _claimed_first() -> Conflict:
    return Conflict(_("Someone else claimed this customer first."), extra={"reason": "already_claimed"})


@transaction.atomic
def pool_claim(*, actor: User, pool_id: int, customer_id: int) -> Customer:
    """Take a customer from a pool the actor sees; exactly one of two people claiming at once wins.

    Refused (409) beyond the pool's limits: customers held, claims today (Asia/Shanghai day), and
    the previous owner's cool-down.
    """
    require(actor, "edit")  # a claim makes the actor the customer's owner: only roles that edit customers
    pool = pool_get(actor=actor, pool_id=pool_id)
    # One person's claims run one after the other, so two tabs cannot both take the last quota.
    User.objects.select_for_update().filter(pk=actor.pk).values_list("pk", flat=True).first()
    entry = PoolEntry.objects.filter(pool=pool, customer_id=customer_id).first()
    if entry is None:
        if Customer.objects.filter(pk=customer_id, owner__isnull=False).exists():
            raise _claimed_first()
        raise NotFound(_("This customer is not in the pool."))
    now = timezone.now()
    if pool.cooldown_days and entry.previous_owner_id == actor.pk:
        until = entry.entered_at + dt.timedelta(days=pool.cooldown_days)
        if now < until:
            raise Conflict(
                _("You gave this customer up recently; you may claim it again from %(date)s.")
                % {"date": timezone.localtime(until).strftime("%Y-%m-%d %H:%M")},
                extra={"reason": "cooldown"},
            )
    quota = claim_quota(actor=actor, pool=pool, at=now)
    if quota.max_held is not None and quota.held >= quota.max_held:
        raise Conflict(
            _("You already hold %(held)d customers, the most this pool allows (%(max)d).")
            % {"held": quota.held, "max": quota.max_held},
            extra={"reason": "max_held"},
        )
    if quota.daily_quota is not None and quota.claimed_today >= quota.daily_quota:
        raise Conflict(
            _("You have used today's %(quota)d claims from this pool; try again tomorrow.")
            % {"quota": quota.daily_quota},
            extra={"reason": "daily_quota"},
        )
    # The race is decided here: the DELETE of a row another transaction deleted first finds nothing.
    deleted, _rows = PoolEntry.objects.filter(pk=entry.pk).delete()
    if not deleted:
        raise _claimed_first()
    changes = customer_owners_set(actor=actor, assignments={customer_id: actor.pk}, expected_owners={customer_id: None})
    if not changes:
        raise _claimed_first()
    ClaimLog.objects.create(user=actor, customer_id=customer_id, pool=pool, at=now)
    with translation.override(settings.LANGUAGE_CODE):
        title = _("%(person)s claimed the customer from the pool “%(pool)s”") % {
            "person": person(actor),
            "pool": pool.name,
        }
    timeline_record(
        ownership_event(
            customer_id=customer_id,
            actor=actor,
            at=now,
            title=title,
            action="claimed",
            pool=pool,
            owner=actor.pk,
            owner_name=person(actor),
            previous_owner=entry.previous_owner_id,
        )
    )
    emit("pool.claimed", customer_id=customer_id, pool_id=pool.pk, actor_id=actor.pk)
    return Customer.objects.get(pk=customer_id)


@transaction.atomic
def pool_release(*, actor: User, customer_id: int, pool_id: int, reason: str) -> PoolEntry:
    """The owner (or a manager over the customer) gives it back to a pool."""
    require(actor, "edit")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(
            _("Say why you give this customer up."), field_errors={"reason": [_("Say why you give this customer up.")]}
        )
    pool = pool_get(actor=actor, pool_id=pool_id)
    customer = Customer.objects.select_for_update().filter(scope_q(actor)).filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(_("Customer not found."))
    if customer.owner_id is None:
        raise Conflict(_("This customer has no owner: it is already in the pool."))
    if customer.owner_id != actor.pk and actor.data_scope == "own":
        raise PermissionDenied(_("Only the customer's owner may give it back."))
    previous_id = customer.owner_id
    previous = User.objects.get(pk=previous_id)
    customer_owners_set(actor=actor, assignments={customer_id: None}, expected_owners={customer_id: previous_id})
    now = timezone.now()
    entry = PoolEntry.objects.create(
        customer_id=customer_id,
        pool=pool,
        entered_at=now,
        previous_owner=previous,
        reason=EntryReason.RELEASED,
        note=reason[:200],
        rule={},
    )
    with translation.override(settings.LANGUAGE_CODE):
        title = _("%(person)s gave the customer back to the pool “%(pool)s”: %(reason)s") % {
            "person": person(actor),
            "pool": pool.name,
            "reason": reason[:100],
        }
    timeline_record(
        ownership_event(
            customer_id=customer_id,
            actor=actor,
            at=now,
            title=title,
            action="released",
            pool=pool,
            previous_owner=previous.pk,
            previous_owner_name=person(previous),
            reason=reason[:200],
        )
    )
    emit("pool.released", customer_id=customer_id, pool_id=pool.pk, actor_id=actor.pk)
    return entry


def _may_protect(actor: User) -> None:
    require(actor, "edit")
    if actor.data_scope == "own":
        raise PermissionDenied(_("Only managers may protect customers from reclaim."))


def _locked_customer(actor: User, customer_id: int) -> Customer:
    customer = Customer.objects.select_for_update().filter(scope_q(actor)).filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(_("Customer not found."))
    return customer


@transaction.atomic
def customer_protection_set(*, actor: User, customer_id: int, reason: str = "") -> CustomerProtection:
    """Protect a customer from the reclaim sweep (managers)."""
    _may_protect(actor)
    _locked_customer(actor, customer_id)
    protection, _created = CustomerProtection.objects.update_or_create(
        customer_id=customer_id,
        defaults={"protected_by": actor, "reason": (reason or "").strip()[:200], "at": timezone.now()},
    )
    emit("customer.protected", customer_id=customer_id, actor_id=actor.pk)
    return protection


@transaction.atomic
def customer_protection_remove(*, actor: User, customer_id: int) -> None:
    _may_protect(actor)
    _locked_customer(actor, customer_id)
    CustomerProtection.objects.filter(customer_id=customer_id).delete()
    emit("customer.unprotected", customer_id=customer_id, actor_id=actor.pk)
