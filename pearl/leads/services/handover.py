"""A leaving salesperson's open leads, for the handover (``pearl.core.handover``; the handover service
has checked the actor and the receivers). Each lead goes to the receivers in turn, takes the
receiver's team, keeps its history and says why it moved."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.core import context
from pearl.core.events import emit_many
from pearl.core.models import ChangeAction, ChangeLog
from pearl.leads.choices import OPEN_STATUSES
from pearl.leads.models import Lead

CHUNK = 500


def open_lead_count(from_user_id: int) -> int:
    """The handover preview: how many open leads the leaving user holds."""
    return Lead.objects.filter(owner_id=from_user_id, status__in=OPEN_STATUSES).count()


def leads_handover(*, actor: User | None, from_user_id: int, to_user_ids: Sequence[int]) -> int:
    """Give the open leads of ``from_user_id`` to the receivers in turn (lead id order); returns how many."""
    receivers = {u.pk: u for u in User.objects.filter(pk__in=list(to_user_ids), is_active=True)}
    order = [pk for pk in to_user_ids if pk in receivers and pk != from_user_id]
    if not order:
        return 0
    ids = list(
        Lead.objects.select_for_update()
        .filter(owner_id=from_user_id, status__in=OPEN_STATUSES)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    groups: dict[int, list[int]] = {pk: [] for pk in order}
    for turn, lead_id in enumerate(ids):
        groups[order[turn % len(order)]].append(lead_id)
    now = timezone.now()
    ctx = context.current()
    label = str(getattr(actor, "username", "") or "system")
    moved = 0
    logs: list[ChangeLog] = []
    for to_id, lead_ids in groups.items():
        receiver = receivers[to_id]
        reason = _("Handed over to %(name)s") % {"name": str(receiver)}
        for start in range(0, len(lead_ids), CHUNK):
            moved += Lead.objects.filter(pk__in=lead_ids[start : start + CHUNK]).update(
                owner_id=to_id, team_id=receiver.team_id, assignment_reason=reason[:255], assigned_at=now,
                version=F("version") + 1, updated_at=now,
            )  # fmt: skip
        logs.extend(
            ChangeLog(
                actor=actor if getattr(actor, "pk", None) else None, actor_label=label, channel=ctx.channel,
                request_id=ctx.request_id, action=ChangeAction.UPDATE, object_type=Lead._meta.label_lower,
                object_id=pk, object_repr=f"#{pk}", root_type=Lead._meta.label_lower, root_id=pk,
                changes={"owner": [from_user_id, to_id]},
            )
            for pk in lead_ids
        )  # fmt: skip
    ChangeLog.objects.bulk_create(logs, batch_size=1000)
    emit_many(
        "lead.updated",
        [{"lead_id": pk, "owner_id": to_id, "actor_id": getattr(actor, "pk", None)}
         for to_id, lead_ids in groups.items() for pk in lead_ids],
    )  # fmt: skip
    return moved
