"""Who owns a customer: the one writer of ``Customer.owner/team`` for the public pool (claim,
release, reclaim) and handovers.

Set-based: the rows are locked once, one UPDATE per new owner moves them (the customer follows
its new owner's team; back to nobody clears both), the version is bumped, one change-log row per
customer is written in the same statement batch, and ``customer.updated`` goes out after commit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from pearl.accounts.models import User
from pearl.core import context
from pearl.core.events import emit_many
from pearl.core.models import ChangeAction, ChangeLog
from pearl.customers.models import Customer

_UNSET: Any = object()


@dataclass(frozen=True)
class OwnershipChange:
    """One customer that changed hands: who had it before and who has it now."""

    customer_id: int
    old_owner_id: int | None
    old_team_id: int | None
    new_owner_id: int | None
    new_team_id: int | None


@transaction.atomic
def customer_owners_set(
    *,
    actor: User | None,
    assignments: Mapping[int, int | None],
    expected_owners: Mapping[int, int | None] | None = None,
) -> list[OwnershipChange]:
    """Give each customer of ``assignments`` (customer id → new owner id, or None for nobody) its owner.

    The caller has checked the actor's right to do so (claim rules, handover, the reclaim sweep).
    With ``expected_owners`` a customer whose owner is no longer the one expected (someone else got
    there first) is left alone; so is a customer that already has the new owner. Returns the
    customers that changed, ordered by id.
    """
    if not assignments:
        return []
    owner_ids = {o for o in assignments.values() if o is not None}
    teams = dict(User.objects.filter(pk__in=owner_ids).values_list("pk", "team_id"))
    if len(teams) != len(owner_ids):
        raise ValueError("an assigned owner does not exist")
    rows = (
        Customer.objects.select_for_update()
        .filter(pk__in=list(assignments))
        .order_by("pk")
        .values_list("pk", "owner_id", "team_id")
    )
    changes: list[OwnershipChange] = []
    for pk, old_owner, old_team in rows:
        new_owner = assignments[pk]
        if expected_owners is not None and expected_owners.get(pk, _UNSET) != old_owner:
            continue
        if new_owner == old_owner:
            continue
        new_team = teams[new_owner] if new_owner is not None else None
        changes.append(OwnershipChange(pk, old_owner, old_team, new_owner, new_team))
    if not changes:
        return []

    now = timezone.now()
    groups: dict[int | None, list[int]] = defaultdict(list)
    for change in changes:
        groups[change.new_owner_id].append(change.customer_id)
    for new_owner, ids in groups.items():
        Customer.objects.filter(pk__in=ids).update(
            owner_id=new_owner,
            team_id=teams[new_owner] if new_owner is not None else None,
            version=F("version") + 1,
            updated_at=now,
        )

    ctx = context.current()
    label = str(getattr(actor, "username", "") or "system")
    names = dict(Customer.objects.filter(pk__in=[c.customer_id for c in changes]).values_list("pk", "name"))
    ChangeLog.objects.bulk_create(
        [
            ChangeLog(
                actor=actor if getattr(actor, "pk", None) else None,
                actor_label=label,
                channel=ctx.channel,
                request_id=ctx.request_id,
                action=ChangeAction.UPDATE,
                object_type=Customer._meta.label_lower,
                object_id=c.customer_id,
                object_repr=str(names.get(c.customer_id, ""))[:255],
                root_type=Customer._meta.label_lower,
                root_id=c.customer_id,
                changes={
                    k: v
                    for k, v in {
                        "owner": [c.old_owner_id, c.new_owner_id],
                        "team": [c.old_team_id, c.new_team_id],
                    }.items()
                    if v[0] != v[1]
                },
            )
            for c in changes
        ],
        batch_size=1000,
    )
    emit_many(
        "customer.updated",
        [
            {"customer_id": c.customer_id, "actor_id": getattr(actor, "pk", None), "fields": ["owner", "team"]}
            for c in changes
        ],
    )
    return changes
