"""Opportunities: create, edit, move, delete, hand over.

Every write locks its opportunity in the actor's scope (out of scope is NotFound), checks the
expected version (412 through the API), records the change log and, for moves, a ``StageChange``
row and a customer timeline entry (kind ``opportunity``); ``opportunity.changed`` goes out after
commit with ``customer_id``, ``opportunity_id``, ``actor_id``."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.activities.services import timeline_remove_subject
from pearl.core.changes import created, deleted, diff, record_change, record_changes
from pearl.core.errors import ValidationFailed
from pearl.core.events import emit_many
from pearl.core.models import ChangeAction
from pearl.core.permissions import require, scope_q
from pearl.pipelines.choices import OpportunityStatus, StageKind
from pearl.pipelines.models import ZERO, Opportunity, StageChange
from pearl.pipelines.services.common import (
    EDITABLE,
    EVENT,
    LineInput,
    apply_move,
    collect,
    customer_in_scope,
    emit_changed,
    enter_stage,
    lines_total,
    lock_opportunity,
    loss_reason_for,
    opportunity_snapshot,
    owner_for,
    parse_amount,
    parse_close_date,
    parse_lines,
    parse_name,
    pipeline_for,
    record_move,
    stage_of,
    write_lines,
)
from pearl.sales.services.common import (
    as_id,
    check_version,
)

# --- opportunities ----------------------------------------------------------------------------------------


@transaction.atomic
def opportunity_create(
    *,
    actor: User,
    customer_id: int,
    name: str,
    amount: Decimal | str | int | None = None,
    pipeline_id: int | None = None,
    stage_id: int | None = None,
    expected_close_date: dt.date | str | None = None,
    owner_id: int | None = None,
    loss_reason: str = "",
    lines: list[dict[str, Any]] | None = None,
) -> Opportunity:
    """A new opportunity of a customer the actor may see, in the default pipeline's first stage unless
    told otherwise. With lines and no amount, the amount is their total."""
    require(actor, "create")
    customer = customer_in_scope(actor, customer_id)
    pipeline = pipeline_for(pipeline_id)
    if stage_id in (None, ""):
        stage = pipeline.stages.filter(kind=StageKind.OPEN).order_by("order", "id").first()
        if stage is None:
            raise ValidationFailed(
                _("This pipeline has no open stage."), field_errors={"stage": [_("Choose a stage.")]}
            )
    else:
        stage = stage_of(pipeline, stage_id)
    errors: dict[str, list[Any]] = {}
    reason = collect(errors, "", loss_reason_for, stage, loss_reason)
    no_lines: list[LineInput] = []
    clean_lines = collect(errors, no_lines, parse_lines, lines)
    clean_name = collect(errors, "", parse_name, name)
    value = collect(errors, ZERO, parse_amount, amount) if amount not in (None, "") else lines_total(clean_lines)
    close_date = collect(errors, None, parse_close_date, expected_close_date)
    owner = collect(errors, actor, owner_for, actor, owner_id) if owner_id not in (None, "") else actor
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], field_errors=errors)
    now = timezone.now()
    opportunity = Opportunity(
        customer=customer,
        pipeline=pipeline,
        name=clean_name,
        amount=value,
        expected_close_date=close_date,
        owner=owner,
        team_id=owner.team_id,
    )
    enter_stage(opportunity, stage, reason, now)
    opportunity.save()
    write_lines(opportunity, clean_lines)
    change = StageChange.objects.create(opportunity=opportunity, from_stage=None, to_stage=stage, actor=actor, at=now)
    record_change(
        actor=actor,
        action=ChangeAction.CREATE,
        instance=opportunity,
        changes=created(opportunity_snapshot(opportunity)),
    )
    record_move(opportunity, change, actor)
    emit_changed(opportunity.pk, customer.pk, actor)
    return opportunity


@transaction.atomic
def opportunity_update(
    *, actor: User, opportunity_id: int, data: dict[str, Any], expected_version: int | None = None
) -> Opportunity:
    """Change name, amount, expected close date, owner, customer or lines; the stage moves only
    through ``opportunity_move``."""
    require(actor, "edit")
    opportunity = lock_opportunity(actor, opportunity_id)
    check_version(opportunity, expected_version, _("opportunity"))
    unknown = sorted(set(data) - EDITABLE)
    if unknown:
        message = _("Unknown field %(field)s.") % {"field": unknown[0]}
        hint = {"stage": _("Move the stage with the move action.")}
        raise ValidationFailed(message, field_errors={k: [hint.get(k, message)] for k in unknown})
    before = opportunity_snapshot(opportunity)
    if "name" in data:
        opportunity.name = parse_name(data["name"])
    if "customer" in data:
        opportunity.customer = customer_in_scope(actor, data["customer"])
    if "owner" in data:
        owner = owner_for(actor, data["owner"])
        opportunity.owner, opportunity.team_id = owner, owner.team_id
    if "expected_close_date" in data:
        opportunity.expected_close_date = parse_close_date(data["expected_close_date"])
    clean_lines = parse_lines(data["lines"]) if data.get("lines") is not None else None
    if data.get("amount") not in (None, ""):
        opportunity.amount = parse_amount(data["amount"])
    elif clean_lines:
        opportunity.amount = lines_total(clean_lines)
    if clean_lines is not None:
        opportunity.lines.all().delete()
        write_lines(opportunity, clean_lines)
    changes = diff(before, opportunity_snapshot(opportunity))
    if not changes:
        return opportunity
    opportunity.version += 1
    opportunity.save()
    record_change(actor=actor, action=ChangeAction.UPDATE, instance=opportunity, changes=changes)
    emit_changed(opportunity.pk, opportunity.customer_id, actor)
    return opportunity


@transaction.atomic
def opportunity_move(
    *,
    actor: User,
    opportunity_id: int,
    stage_id: int,
    loss_reason: str = "",
    expected_version: int | None = None,
) -> Opportunity:
    """Move to another stage of the same pipeline, forwards or back; a lost stage needs a reason.

    Refused: a stage of another pipeline (``StageNotInPipeline``), a lost stage without a reason
    (``LossReasonRequired``), a stale version (412). Moving to the stage it is in changes nothing.
    """
    require(actor, "edit")
    opportunity = lock_opportunity(actor, opportunity_id)
    check_version(opportunity, expected_version, _("opportunity"))
    stage = stage_of(opportunity.pipeline, stage_id)
    reason = loss_reason_for(stage, loss_reason)
    if stage.pk == opportunity.stage_id and reason == opportunity.loss_reason:
        return opportunity
    apply_move(opportunity, stage, reason, actor, automatic=False)
    return opportunity


@transaction.atomic
def opportunity_delete(*, actor: User, opportunity_id: int, expected_version: int | None = None) -> None:
    """Delete an opportunity with its lines and stage history; its timeline entries go too (the
    deletion stays in the change log)."""
    require(actor, "delete")
    opportunity = lock_opportunity(actor, opportunity_id)
    check_version(opportunity, expected_version, _("opportunity"))
    record_change(
        actor=actor,
        action=ChangeAction.DELETE,
        instance=opportunity,
        changes=deleted(opportunity_snapshot(opportunity)),
    )
    for change_id in opportunity.stage_changes.values_list("pk", flat=True):
        timeline_remove_subject((StageChange._meta.label_lower, change_id))
    pk, customer_id = opportunity.pk, opportunity.customer_id
    opportunity.delete()
    emit_changed(pk, customer_id, actor)


@transaction.atomic
def opportunities_transfer(
    *, actor: User, from_user: User | int, to_user: User | int, customer_ids: list[int] | None = None
) -> int:
    """Hand over ``from_user``'s open opportunities (of ``customer_ids`` only, when given) that the actor
    may see to ``to_user`` (owner and team). Won and lost ones stay with whoever closed them; the
    stage history is kept. Returns how many moved."""
    require(actor, "edit")
    to_pk, from_pk = as_id(to_user), as_id(from_user)
    target = User.objects.filter(pk=to_pk, is_active=True).first() if to_pk else None
    if target is None:
        message = _("Choose an active user as the owner.")
        raise ValidationFailed(message, field_errors={"to_user": [message]})
    qs = Opportunity.objects.select_for_update(of=("self",)).filter(
        scope_q(actor), owner_id=from_pk, status=OpportunityStatus.OPEN
    )
    if customer_ids is not None:
        qs = qs.filter(customer_id__in=[i for i in (as_id(c) for c in customer_ids) if i])
    rows = list(qs.only("pk", "name", "owner_id", "team_id", "customer_id"))
    if not rows or from_pk == target.pk:
        return 0
    record_changes(
        actor=actor,
        action=ChangeAction.UPDATE,
        items=[
            (row, {"owner": [row.owner_id, target.pk], **({"team": [row.team_id, target.team_id]}
                                                           if row.team_id != target.team_id else {})})
            for row in rows
        ],
    )  # fmt: skip
    Opportunity.objects.filter(pk__in=[r.pk for r in rows]).update(
        owner_id=target.pk, team_id=target.team_id, version=F("version") + 1, updated_at=timezone.now()
    )
    emit_many(EVENT, [{"customer_id": r.customer_id, "opportunity_id": r.pk, "actor_id": actor.pk} for r in rows])
    return len(rows)
