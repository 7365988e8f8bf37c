"""Handing a user's work over to colleagues (someone leaving, changing role): preview, then do it.

Customers are moved here through the customers app's ownership service (round-robin over the
receivers, in customer id order); other kinds of work (leads, opportunities, tasks…) come through
the hooks registered in ``pearl.core.handover``. One transaction: all of it moves or nothing does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.accounts.services import user_update
from pearl.activities.services.timeline import timeline_record_many
from pearl.core import handover
from pearl.core.errors import NotFound, ValidationFailed
from pearl.core.events import emit
from pearl.core.permissions import require
from pearl.customers.models import Customer
from pearl.customers.services import customer_owners_set
from pearl.pools.choices import ClaimVia
from pearl.pools.models import ClaimLog
from pearl.pools.services.claims import ownership_event, person


@dataclass
class HandoverPlan:
    """What a handover moves (``counts`` per kind: customers first, then each registered kind) and,
    once done, what it moved (``moved``)."""

    from_user_id: int
    to_user_ids: list[int]
    counts: dict[str, int]
    deactivate: bool
    dry_run: bool
    moved: dict[str, int] = field(default_factory=dict)
    deactivated: bool = False
    customers_per_receiver: dict[int, int] = field(default_factory=dict)


def _receivers(from_user: User, to_user_ids: list[int]) -> list[User]:
    ids = list(dict.fromkeys(int(i) for i in to_user_ids))
    if not ids:
        raise ValidationFailed(_("Choose who takes over."), field_errors={"to": [_("Choose who takes over.")]})
    if from_user.pk in ids:
        message = _("The leaving user cannot take over their own work.")
        raise ValidationFailed(message, field_errors={"to": [message]})
    users = {u.pk: u for u in User.objects.filter(pk__in=ids).select_related("team")}
    missing = [i for i in ids if i not in users]
    if missing:
        message = _("User #%(id)s does not exist.") % {"id": missing[0]}
        raise ValidationFailed(message, field_errors={"to": [message]})
    inactive = [users[i] for i in ids if not users[i].is_active]
    if inactive:
        message = _("%(person)s is deactivated and cannot take over work.") % {"person": person(inactive[0])}
        raise ValidationFailed(message, field_errors={"to": [message]})
    return [users[i] for i in ids]


def user_handover(
    *, actor: User, from_user_id: int, to_user_ids: list[int], deactivate: bool, dry_run: bool
) -> HandoverPlan:
    """Preview (``dry_run``) or hand over everything ``from_user`` owns to ``to_user_ids`` (administrators)."""
    require(actor, "manage_settings")
    from_user = User.objects.filter(pk=from_user_id).first()
    if from_user is None:
        raise NotFound(_("User not found."))
    receivers = _receivers(from_user, to_user_ids)
    if deactivate and from_user.pk == actor.pk:
        raise ValidationFailed(_("You cannot deactivate yourself."))
    customer_ids = list(Customer.objects.filter(owner_id=from_user.pk).order_by("pk").values_list("pk", flat=True))
    counts = {"customers": len(customer_ids)}
    for hook in handover.registered():
        counts[hook.name] = hook.count_fn(from_user.pk)
    plan = HandoverPlan(
        from_user_id=from_user.pk,
        to_user_ids=[u.pk for u in receivers],
        counts=counts,
        deactivate=deactivate,
        dry_run=dry_run,
    )
    plan.customers_per_receiver = {u.pk: 0 for u in receivers}
    for index in range(len(customer_ids)):
        plan.customers_per_receiver[receivers[index % len(receivers)].pk] += 1
    if dry_run:
        return plan
    with transaction.atomic():
        _transfer(actor, from_user, receivers, plan)
    return plan


def _transfer(actor: User, from_user: User, receivers: list[User], plan: HandoverPlan) -> None:
    # Lock the leaving user first: a claim by them waits, and a second handover sees what is left.
    User.objects.select_for_update().filter(pk=from_user.pk).values_list("pk", flat=True).first()
    customer_ids = list(Customer.objects.filter(owner_id=from_user.pk).order_by("pk").values_list("pk", flat=True))
    assignments = {pk: receivers[i % len(receivers)].pk for i, pk in enumerate(customer_ids)}
    changes = customer_owners_set(
        actor=actor, assignments=assignments, expected_owners=dict.fromkeys(customer_ids, from_user.pk)
    )
    if len(changes) != len(customer_ids):  # the rows are locked by the ownership service; cannot happen
        raise RuntimeError("handover lost customers")
    names = {u.pk: person(u) for u in receivers}
    now = timezone.now()
    with translation.override(settings.LANGUAGE_CODE):
        events = [
            ownership_event(
                customer_id=c.customer_id,
                actor=actor,
                at=now,
                title=_("Handed over from %(old)s to %(new)s")
                % {"old": person(from_user), "new": names[c.new_owner_id or 0]},
                action="handover",
                pool=None,
                previous_owner=from_user.pk,
                previous_owner_name=person(from_user),
                owner=c.new_owner_id,
                owner_name=names[c.new_owner_id or 0],
            )
            for c in changes
        ]
    timeline_record_many(events)
    # The new owner's reclaim clock starts now (the sweep reads the latest of these per customer).
    ClaimLog.objects.bulk_create(
        [
            ClaimLog(user_id=assignments[c.customer_id], customer_id=c.customer_id, via=ClaimVia.HANDOVER, at=now)
            for c in changes
        ],
        batch_size=1000,
    )
    plan.moved = {"customers": len(changes)}
    plan.customers_per_receiver = {u.pk: 0 for u in receivers}
    for c in changes:
        plan.customers_per_receiver[c.new_owner_id or 0] += 1
    plan.moved.update(handover.transfer_all(actor=actor, from_user_id=from_user.pk, to_user_ids=plan.to_user_ids))
    if plan.deactivate and from_user.is_active:
        user_update(actor=actor, user=from_user, data={"is_active": False})
        plan.deactivated = True
    emit(
        "user.handed_over",
        from_user_id=from_user.pk,
        to_user_ids=plan.to_user_ids,
        moved=plan.moved,
        actor_id=actor.pk,
        deactivated=plan.deactivated,
    )
