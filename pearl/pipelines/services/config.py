"""The pipelines' configuration (manage_settings): pipelines, stages, stage rules."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.activities.choices import CommunicationKind, Outcome
from pearl.core.changes import created, diff, record_change, snapshot
from pearl.core.errors import Conflict, NotFound, ValidationFailed
from pearl.core.models import ChangeAction
from pearl.core.permissions import require
from pearl.pipelines.choices import StageKind
from pearl.pipelines.models import Opportunity, Pipeline, Stage, StageRule
from pearl.sales.services.common import (
    as_id,
    clean_short_text,
    parse_decimal,
    raise_errors,
)

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
    unknown = sorted(set(data) - {"name", "probability", "kind", "order"})
    for key in unknown:
        errors[key] = [_("Unknown field %(field)s.") % {"field": key}]
    raise_errors(errors)
    return out


@transaction.atomic
def pipeline_create(
    *, actor: User, name: str, stages: list[dict[str, Any]] | None = None, is_default: bool = False
) -> Pipeline:
    """A new pipeline with its stages (in the order given)."""
    require(actor, "manage_settings")
    text, error = clean_short_text(name, 64)
    if error or not text:
        message = error or _("Give the pipeline a name.")
        raise ValidationFailed(message, field_errors={"name": [message]})
    if Pipeline.objects.filter(name=text).exists():
        message = _("A pipeline named “%(name)s” exists already.") % {"name": text}
        raise Conflict(message, field_errors={"name": [message]})
    if is_default:
        Pipeline.objects.filter(is_default=True).update(is_default=False)
    order = (Pipeline.objects.order_by("-order").values_list("order", flat=True).first() or 0) + 10
    pipeline = Pipeline.objects.create(name=text, is_default=is_default, order=order)
    for index, raw in enumerate(stages or []):
        values = _stage_values(raw if isinstance(raw, dict) else {}, creating=True)
        values.setdefault("order", (index + 1) * 10)
        _save_stage(Stage(pipeline=pipeline, **values))
    record_change(actor=actor, action=ChangeAction.CREATE, instance=pipeline,
                  changes=created(snapshot(pipeline, ["name", "is_default", "active", "order"])))  # fmt: skip
    return pipeline


@transaction.atomic
def pipeline_update(*, actor: User, pipeline_id: int, data: dict[str, Any]) -> Pipeline:
    """Rename, reorder, retire (``active``) or make default."""
    require(actor, "manage_settings")
    pipeline = Pipeline.objects.select_for_update().filter(pk=as_id(pipeline_id) or 0).first()
    if pipeline is None:
        raise NotFound(_("Pipeline not found."))
    before = snapshot(pipeline, ["name", "is_default", "active", "order"])
    if data.get("name") is not None:
        text, error = clean_short_text(data["name"], 64)
        if error or not text:
            message = error or _("Give the pipeline a name.")
            raise ValidationFailed(message, field_errors={"name": [message]})
        if Pipeline.objects.filter(name=text).exclude(pk=pipeline.pk).exists():
            message = _("A pipeline named “%(name)s” exists already.") % {"name": text}
            raise Conflict(message, field_errors={"name": [message]})
        pipeline.name = text
    if data.get("active") is not None:
        pipeline.active = bool(data["active"])
    if data.get("order") is not None:
        pipeline.order = int(data["order"])
    if data.get("is_default"):
        Pipeline.objects.filter(is_default=True).exclude(pk=pipeline.pk).update(is_default=False)
        pipeline.is_default = True
    pipeline.save()
    record_change(actor=actor, action=ChangeAction.UPDATE, instance=pipeline,
                  changes=diff(before, snapshot(pipeline, ["name", "is_default", "active", "order"])))  # fmt: skip
    return pipeline


def _save_stage(stage: Stage) -> None:
    try:
        with transaction.atomic():
            stage.save()
    except IntegrityError as exc:
        message = _("This pipeline has a stage named “%(name)s” already.") % {"name": stage.name}
        raise Conflict(message, field_errors={"name": [message]}) from exc


@transaction.atomic
def stage_create(*, actor: User, pipeline_id: int, data: dict[str, Any]) -> Stage:
    require(actor, "manage_settings")
    pipeline = Pipeline.objects.filter(pk=as_id(pipeline_id) or 0).first()
    if pipeline is None:
        raise NotFound(_("Pipeline not found."))
    values = _stage_values(data, creating=True)
    if "order" not in values:
        values["order"] = (pipeline.stages.order_by("-order").values_list("order", flat=True).first() or 0) + 10
    stage = Stage(pipeline=pipeline, **values)
    _save_stage(stage)
    record_change(actor=actor, action=ChangeAction.CREATE, instance=stage, root=pipeline,
                  changes=created(snapshot(stage, ["name", "order", "probability", "kind"])))  # fmt: skip
    return stage


@transaction.atomic
def stage_update(*, actor: User, stage_id: int, data: dict[str, Any]) -> Stage:
    """Rename, reorder or re-weigh a stage. Its kind stays while opportunities sit in it (their
    status follows the kind)."""
    require(actor, "manage_settings")
    stage = Stage.objects.select_for_update().select_related("pipeline").filter(pk=as_id(stage_id) or 0).first()
    if stage is None:
        raise NotFound(_("Stage not found."))
    values = _stage_values(data, creating=False)
    before = snapshot(stage, ["name", "order", "probability", "kind"])
    if values.get("kind", stage.kind) != stage.kind and Opportunity.objects.filter(stage=stage).exists():
        message = _("Opportunities are in this stage; move them before changing its kind.")
        raise Conflict(message, field_errors={"kind": [message]})
    for key, value in values.items():
        setattr(stage, key, value)
    _save_stage(stage)
    record_change(actor=actor, action=ChangeAction.UPDATE, instance=stage, root=stage.pipeline,
                  changes=diff(before, snapshot(stage, ["name", "order", "probability", "kind"])))  # fmt: skip
    return stage


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
