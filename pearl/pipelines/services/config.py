"""The pipelines' configuration (manage_settings): pipelines, stages, stage rules.

Every refusal is checked before anything is written, inside one transaction, so a bad input leaves
the configuration as it was. A pipeline's stage writes lock the pipeline's row first: the checks that
span stages (one stage per role, at least one won and one lost stage) then see a settled set.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, Q
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from pearl.accounts.models import User
from pearl.activities.choices import CommunicationKind, Outcome
from pearl.core.changes import created, deleted, diff, record_change, snapshot
from pearl.core.errors import Conflict, NotFound, ValidationFailed
from pearl.core.models import ChangeAction
from pearl.core.permissions import require
from pearl.pipelines.choices import DEFAULT_STAGES, QUOTE_STAGE_NAME, StageKind, StageRole
from pearl.pipelines.models import Opportunity, Pipeline, Stage, StageChange, StageRule
from pearl.sales.services.common import (
    as_id,
    clean_short_text,
    parse_decimal,
    raise_errors,
)

PIPELINE_FIELDS = ["name", "is_default", "active", "order"]
STAGE_FIELDS = ["name", "order", "probability", "kind", "role"]
STAGE_KEYS = {"name", "probability", "kind", "order", "role"}
ORDER_STEP = 10

# --- configuration (manage_settings) ----------------------------------------------------------------------


def _stage_values(data: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    if "name" in data or creating:
        text, error = clean_short_text(data.get("name"), 32)
        if not error and not text:
            error = _("Give the stage a name.")
        if error:
            errors["name"] = [error]
        out["name"] = text
    if data.get("probability") is not None or creating:
        number, error = parse_decimal(data.get("probability", 0), places=0, maximum=Decimal(100))
        if error:
            errors["probability"] = [_("Enter a whole number from 0 to 100.")]
        else:
            out["probability"] = int(number or 0)
    if data.get("kind") is not None or creating:
        kind = data.get("kind") or StageKind.OPEN
        if kind not in StageKind.values:
            errors["kind"] = [_("Choose open, won or lost.")]
        out["kind"] = kind
    if data.get("order") is not None:
        number, error = parse_decimal(data["order"], places=0, maximum=Decimal(2**31 - 1))
        if error:
            errors["order"] = [_("Enter a whole number.")]
        else:
            out["order"] = int(number or 0)
    if "role" in data:  # present and empty (None or "") takes the role off
        role = data["role"] or None
        if role is not None and role not in StageRole.values:
            errors["role"] = [_("Choose one of the stage roles, or none.")]
        out["role"] = role
    unknown = sorted(set(data) - STAGE_KEYS)
    for key in unknown:
        errors[key] = [_("Unknown field %(field)s.") % {"field": key}]
    raise_errors(errors)
    return out


def _refuse(message: str, field: str, error: type[ValidationFailed] | type[Conflict] = ValidationFailed) -> None:
    raise error(message, field_errors={field: [message]})


def _check_stage(stage: Stage, *, was: Stage | None = None) -> None:
    """Refuse a stage that would clash with its pipeline's others: the same name, a role another
    stage holds, a role on a closing stage, or taking away the pipeline's last won / lost stage."""
    others = Stage.objects.filter(pipeline_id=stage.pipeline_id).exclude(pk=stage.pk)
    if others.filter(name=stage.name).exists():
        _refuse(_("This pipeline has a stage named “%(name)s” already.") % {"name": stage.name}, "name", Conflict)
    if stage.role:
        label = StageRole(stage.role).label
        if stage.kind != StageKind.OPEN:
            _refuse(_("Only an open stage can have the role “%(role)s”.") % {"role": label}, "role")
        holder = others.filter(role=stage.role).first()
        if holder is not None:
            _refuse(
                _("The stage “%(stage)s” has the role “%(role)s” already; take it off there first.")
                % {"stage": holder.name, "role": label},
                "role",
                Conflict,
            )
    if was is not None and was.kind != stage.kind:
        _require_another_closing(was, others, "kind")


def _require_another_closing(stage: Stage, others: Any, field: str) -> None:
    """A won or lost stage may go (deleted, or turned into another kind) only if the pipeline keeps one."""
    if stage.kind == StageKind.OPEN or others.filter(kind=stage.kind).exists():
        return
    if stage.kind == StageKind.WON:
        message = _("“%(stage)s” is the last won stage of this pipeline; add another won stage first.")
    else:
        message = _("“%(stage)s” is the last lost stage of this pipeline; add another lost stage first.")
    _refuse(message % {"stage": stage.name}, field, Conflict)


def _lock_pipeline(pipeline_id: Any) -> Pipeline:
    pipeline = Pipeline.objects.select_for_update().filter(pk=as_id(pipeline_id) or 0).first()
    if pipeline is None:
        raise NotFound(_("Pipeline not found."))
    return pipeline


def _lock_stage(stage_id: Any) -> tuple[Pipeline, Stage]:
    """The stage and its pipeline, the pipeline's row locked (every stage write takes that lock first)."""
    pipeline_id = Stage.objects.filter(pk=as_id(stage_id) or 0).values_list("pipeline_id", flat=True).first()
    if pipeline_id is None:
        raise NotFound(_("Stage not found."))
    pipeline = _lock_pipeline(pipeline_id)
    stage = Stage.objects.filter(pk=as_id(stage_id) or 0, pipeline=pipeline).first()
    if stage is None:
        raise NotFound(_("Stage not found."))
    return pipeline, stage


def _clean_pipeline_name(raw: Any, *, exclude: int | None = None) -> str:
    text, error = clean_short_text(raw, 64)
    if error or not text:
        _refuse(error or _("Give the pipeline a name."), "name")
    if Pipeline.objects.filter(name=text).exclude(pk=exclude or 0).exists():
        _refuse(_("A pipeline named “%(name)s” exists already.") % {"name": text}, "name", Conflict)
    return text


def default_stage_data() -> list[dict[str, Any]]:
    """The shipped stages (新线索 … 赢单 / 输单), a new pipeline's starting point on the settings page."""
    return [
        {
            "name": name,
            "probability": probability,
            "kind": kind,
            "role": StageRole.QUOTE if name == QUOTE_STAGE_NAME else None,
        }
        for name, probability, kind in DEFAULT_STAGES
    ]


@transaction.atomic
def pipeline_create(
    *, actor: User, name: str, stages: list[dict[str, Any]] | None = None, is_default: bool = False
) -> Pipeline:
    """A new pipeline with its stages (in the order given)."""
    require(actor, "manage_settings")
    text = _clean_pipeline_name(name)
    if is_default:
        Pipeline.objects.filter(is_default=True).update(is_default=False)
    order = (Pipeline.objects.order_by("-order").values_list("order", flat=True).first() or 0) + ORDER_STEP
    pipeline = Pipeline.objects.create(name=text, is_default=is_default, order=order)
    for index, raw in enumerate(stages or []):
        values = _stage_values(raw if isinstance(raw, dict) else {}, creating=True)
        values.setdefault("order", (index + 1) * ORDER_STEP)
        stage = Stage(pipeline=pipeline, **values)
        _check_stage(stage)
        _save_stage(stage)
    record_change(actor=actor, action=ChangeAction.CREATE, instance=pipeline,
                  changes=created(snapshot(pipeline, PIPELINE_FIELDS)))  # fmt: skip
    return pipeline


@transaction.atomic
def pipeline_update(*, actor: User, pipeline_id: int, data: dict[str, Any]) -> Pipeline:
    """Rename, reorder, retire (``active``) or make default. The default pipeline stays in use (new
    opportunities land in it), so it cannot be switched off, and a switched-off one cannot become it."""
    require(actor, "manage_settings")
    pipeline = _lock_pipeline(pipeline_id)
    before = snapshot(pipeline, PIPELINE_FIELDS)
    if data.get("name") is not None:
        pipeline.name = _clean_pipeline_name(data["name"], exclude=pipeline.pk)
    if data.get("active") is not None:
        pipeline.active = bool(data["active"])
    if data.get("order") is not None:
        pipeline.order = int(data["order"])
    if data.get("is_default") and not pipeline.is_default:
        if not pipeline.active:
            _refuse(
                _("“%(name)s” is switched off; switch it on before making it the default.") % {"name": pipeline.name},
                "is_default",
                Conflict,
            )
        Pipeline.objects.filter(is_default=True).exclude(pk=pipeline.pk).update(is_default=False)
        pipeline.is_default = True
    if pipeline.is_default and not pipeline.active:
        _refuse(
            _("“%(name)s” is the default pipeline; make another pipeline the default before switching it off.")
            % {"name": pipeline.name},
            "active",
            Conflict,
        )
    pipeline.save()
    record_change(actor=actor, action=ChangeAction.UPDATE, instance=pipeline,
                  changes=diff(before, snapshot(pipeline, PIPELINE_FIELDS)))  # fmt: skip
    return pipeline


@transaction.atomic
def pipeline_delete(*, actor: User, pipeline_id: int) -> None:
    """Delete a pipeline nobody used: not the default, no opportunities (their history needs its stages).
    Its stages and stage rules go with it."""
    require(actor, "manage_settings")
    pipeline = _lock_pipeline(pipeline_id)
    if pipeline.is_default:
        message = _("“%(name)s” is the default pipeline; make another pipeline the default before deleting it.")
        _refuse(message % {"name": pipeline.name}, "pipeline", Conflict)
    count = Opportunity.objects.filter(pipeline=pipeline).count()
    if count:
        message = ngettext(
            "%(n)d opportunity is in the pipeline “%(name)s”, so it cannot be deleted; switch it off instead.",
            "%(n)d opportunities are in the pipeline “%(name)s”, so it cannot be deleted; switch it off instead.",
            count,
        )
        _refuse(message % {"n": count, "name": pipeline.name}, "pipeline", Conflict)
    record_change(actor=actor, action=ChangeAction.DELETE, instance=pipeline,
                  changes=deleted(snapshot(pipeline, PIPELINE_FIELDS)))  # fmt: skip
    try:
        with transaction.atomic():
            pipeline.delete()
    except ProtectedError as exc:  # a history row of another pipeline's opportunity: not expected
        raise Conflict(_("This pipeline's stages are still referred to; switch it off instead.")) from exc


def _save_stage(stage: Stage) -> None:
    try:
        with transaction.atomic():
            stage.save()
    except IntegrityError as exc:  # a concurrent write the checks did not see (they run under the pipeline's lock)
        message = _("This pipeline has a stage named “%(name)s” already.") % {"name": stage.name}
        raise Conflict(message, field_errors={"name": [message]}) from exc


@transaction.atomic
def stage_create(*, actor: User, pipeline_id: int, data: dict[str, Any]) -> Stage:
    require(actor, "manage_settings")
    pipeline = _lock_pipeline(pipeline_id)
    values = _stage_values(data, creating=True)
    if "order" not in values:
        last = pipeline.stages.order_by("-order").values_list("order", flat=True).first() or 0
        values["order"] = last + ORDER_STEP
    stage = Stage(pipeline=pipeline, **values)
    _check_stage(stage)
    _save_stage(stage)
    record_change(actor=actor, action=ChangeAction.CREATE, instance=stage, root=pipeline,
                  changes=created(snapshot(stage, STAGE_FIELDS)))  # fmt: skip
    return stage


@transaction.atomic
def stage_update(*, actor: User, stage_id: int, data: dict[str, Any]) -> Stage:
    """Rename, reorder, re-weigh a stage or set its role. Its kind stays while opportunities sit in it
    (their status follows the kind)."""
    require(actor, "manage_settings")
    pipeline, stage = _lock_stage(stage_id)
    values = _stage_values(data, creating=False)
    was = Stage(pk=stage.pk, pipeline=pipeline, name=stage.name, kind=stage.kind, role=stage.role)
    before = snapshot(stage, STAGE_FIELDS)
    if values.get("kind", stage.kind) != stage.kind and Opportunity.objects.filter(stage=stage).exists():
        message = _("Opportunities are in this stage; move them before changing its kind.")
        raise Conflict(message, field_errors={"kind": [message]})
    for key, value in values.items():
        setattr(stage, key, value)
    _check_stage(stage, was=was)
    _save_stage(stage)
    record_change(actor=actor, action=ChangeAction.UPDATE, instance=stage, root=pipeline,
                  changes=diff(before, snapshot(stage, STAGE_FIELDS)))  # fmt: skip
    return stage


@transaction.atomic
def stage_move(*, actor: User, stage_id: int, direction: str) -> Stage:
    """Move a stage one place up or down its pipeline. The stages are numbered again 10, 20, … (the
    order numbers may have gaps or ties), one change-log row for each stage whose number changed."""
    require(actor, "manage_settings")
    if direction not in ("up", "down"):
        _refuse(_("Move a stage up or down."), "direction")
    pipeline, stage = _lock_stage(stage_id)
    stages = list(pipeline.stages.order_by("order", "id"))
    index = next(i for i, s in enumerate(stages) if s.pk == stage.pk)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(stages):
        stages[index], stages[other] = stages[other], stages[index]
    for position, item in enumerate(stages, start=1):
        if item.order == position * ORDER_STEP:
            continue
        before = snapshot(item, STAGE_FIELDS)
        item.order = position * ORDER_STEP
        item.save(update_fields=["order"])
        record_change(actor=actor, action=ChangeAction.UPDATE, instance=item, root=pipeline,
                      changes=diff(before, snapshot(item, STAGE_FIELDS)))  # fmt: skip
    return next(s for s in stages if s.pk == stage.pk)


def stage_usage(stage: Stage) -> tuple[int, int]:
    """(opportunities in the stage now, other opportunities whose history passes through it)."""
    current = Opportunity.objects.filter(stage=stage).count()
    history = (
        StageChange.objects.filter(Q(from_stage=stage) | Q(to_stage=stage))
        .exclude(opportunity__stage=stage)
        .values("opportunity_id")
        .distinct()
        .count()
    )
    return current, history


@transaction.atomic
def stage_delete(*, actor: User, stage_id: int) -> None:
    """Delete a stage no opportunity is in or went through, leaving the pipeline a won and a lost stage.
    Automatic moves to it go with it."""
    require(actor, "manage_settings")
    pipeline, stage = _lock_stage(stage_id)
    current, history = stage_usage(stage)
    if current:
        message = ngettext(
            "%(n)d opportunity is in the stage “%(stage)s”; move it to another stage first.",
            "%(n)d opportunities are in the stage “%(stage)s”; move them to another stage first.",
            current,
        )
        _refuse(message % {"n": current, "stage": stage.name}, "stage", Conflict)
    if history:
        message = ngettext(
            "The stage history of %(n)d opportunity names “%(stage)s”, so it cannot be deleted; rename it instead.",
            "The stage history of %(n)d opportunities names “%(stage)s”, so it cannot be deleted; rename it instead.",
            history,
        )
        _refuse(message % {"n": history, "stage": stage.name}, "stage", Conflict)
    _require_another_closing(stage, pipeline.stages.exclude(pk=stage.pk), "stage")
    record_change(actor=actor, action=ChangeAction.DELETE, instance=stage, root=pipeline,
                  changes=deleted(snapshot(stage, STAGE_FIELDS)))  # fmt: skip
    stage.delete()


@transaction.atomic
def stage_rule_set(
    *, actor: User, stage_id: int, communication_kind: str, outcome: str = "", active: bool = True
) -> StageRule:
    """Configure: a communication of this kind (and outcome, when given) moves the open opportunities
    of the stage's pipeline up to ``stage``. One rule per pipeline, kind and outcome: setting it again
    replaces the target."""
    require(actor, "manage_settings")
    stage = Stage.objects.filter(pk=as_id(stage_id) or 0).first()
    if stage is None:
        raise ValidationFailed(_("Stage not found."), field_errors={"stage": [_("Stage not found.")]})
    if communication_kind not in CommunicationKind.values:
        raise ValidationFailed(_("Choose a communication kind."), field_errors={"communication_kind": [_("Invalid.")]})
    if outcome and outcome not in Outcome.values:
        raise ValidationFailed(_("Choose an outcome."), field_errors={"outcome": [_("Invalid.")]})
    if stage.kind == StageKind.LOST:
        message = _("A rule cannot move opportunities to a lost stage.")
        raise ValidationFailed(message, field_errors={"stage": [message]})
    rule, _created = StageRule.objects.update_or_create(
        pipeline_id=stage.pipeline_id,
        communication_kind=communication_kind,
        outcome=outcome,
        defaults={"target_stage": stage, "active": active},
    )
    return rule


@transaction.atomic
def stage_rule_delete(*, actor: User, rule_id: int) -> None:
    require(actor, "manage_settings")
    deleted_count, _by_model = StageRule.objects.filter(pk=as_id(rule_id) or 0).delete()
    if not deleted_count:
        raise NotFound(_("Rule not found."))
