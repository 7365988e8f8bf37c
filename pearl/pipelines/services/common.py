"""What the pipelines services share: validation of an opportunity's fields, locking in scope, the
move itself (stage, history row, change log, timeline entry, event)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.activities.services import NewEvent, subject_key, timeline_record
from pearl.core.changes import diff, record_change, snapshot
from pearl.core.errors import NotFound, ValidationFailed
from pearl.core.events import emit
from pearl.core.models import ChangeAction
from pearl.core.permissions import scope_q
from pearl.customers.models import Customer
from pearl.pipelines.choices import OpportunityStatus, StageKind
from pearl.pipelines.models import ZERO, Opportunity, OpportunityLine, Pipeline, Stage, StageChange
from pearl.sales.models import Product
from pearl.sales.services.common import (
    MAX_QUANTITY,
    as_id,
    clean_short_text,
    fen,
    parse_date,
    parse_decimal,
    parse_money,
    raise_errors,
)

MAX_AMOUNT = Decimal("999999999999.99")
MAX_LINES = 100
SNAPSHOT_FIELDS = [
    "customer", "pipeline", "stage", "status", "name", "amount", "expected_close_date", "owner", "team",
    "loss_reason", "closed_at",
]  # fmt: skip
EDITABLE = {"name", "amount", "expected_close_date", "owner", "customer", "lines"}
EVENT = "opportunity.changed"


class StageNotInPipeline(ValidationFailed):
    """A move to a stage of another pipeline (422 ``stage_not_in_pipeline``)."""

    code = "stage_not_in_pipeline"


class LossReasonRequired(ValidationFailed):
    """A move to a lost stage without saying why (422 ``loss_reason_required``)."""

    code = "loss_reason_required"


# --- helpers ----------------------------------------------------------------------------------------------


def lock_opportunity(actor: User, opportunity_id: Any) -> Opportunity:
    pk = as_id(opportunity_id)
    qs = Opportunity.objects.select_for_update(of=("self",)).filter(scope_q(actor))
    opportunity = qs.select_related("stage", "pipeline").filter(pk=pk).first() if pk else None
    if opportunity is None:
        raise NotFound(_("Opportunity not found."))
    return opportunity


def customer_in_scope(actor: User, customer_id: Any) -> Customer:
    pk = as_id(customer_id)
    customer = Customer.objects.filter(scope_q(actor)).filter(pk=pk).first() if pk else None
    if customer is None:
        message = _("Customer not found.")
        raise ValidationFailed(message, field_errors={"customer": [message]})
    return customer


def owner_for(actor: User, owner_id: Any) -> User:
    """The owner to set: anyone active for an actor who sees more than their own records, else themselves."""
    pk = as_id(owner_id)
    owner = User.objects.select_related("team").filter(pk=pk, is_active=True).first() if pk else None
    if owner is None:
        message = _("Choose an active user as the owner.")
        raise ValidationFailed(message, field_errors={"owner": [message]})
    if owner.pk != actor.pk and actor.data_scope == "own":
        message = _("You may only own opportunities yourself; ask your manager to assign them to someone else.")
        raise ValidationFailed(message, field_errors={"owner": [message]})
    return owner


def stage_of(pipeline: Pipeline, stage_id: Any) -> Stage:
    pk = as_id(stage_id)
    stage = Stage.objects.select_related("pipeline").filter(pk=pk).first() if pk else None
    if stage is None:
        message = _("Stage not found.")
        raise ValidationFailed(message, field_errors={"stage": [message]})
    if stage.pipeline_id != pipeline.pk:
        message = _(
            "The stage “%(stage)s” belongs to the pipeline “%(other)s”, not to “%(pipeline)s” of this opportunity."
        ) % {"stage": stage.name, "other": stage.pipeline.name, "pipeline": pipeline.name}
        raise StageNotInPipeline(message, field_errors={"stage": [message]}, extra={"pipeline": pipeline.pk})
    return stage


def pipeline_for(pipeline_id: Any) -> Pipeline:
    if pipeline_id in (None, ""):
        pipeline = (
            Pipeline.objects.filter(is_default=True, active=True).first()
            or Pipeline.objects.filter(active=True).first()
        )
    else:
        pk = as_id(pipeline_id)
        pipeline = Pipeline.objects.filter(pk=pk, active=True).first() if pk else None
    if pipeline is None:
        message = _("Pipeline not found.")
        raise ValidationFailed(message, field_errors={"pipeline": [message]})
    return pipeline


def loss_reason_for(stage: Stage, raw: Any) -> str:
    text, error = clean_short_text(raw, 200)
    if error:
        raise ValidationFailed(error, field_errors={"loss_reason": [error]})
    if stage.kind == StageKind.LOST and not text:
        message = _("Say why the opportunity was lost before moving it to “%(stage)s”.") % {"stage": stage.name}
        raise LossReasonRequired(message, field_errors={"loss_reason": [message]}, extra={"stage": stage.pk})
    return text if stage.kind == StageKind.LOST else ""


@dataclass
class LineInput:
    product: Product
    quantity: Decimal
    unit_price: Decimal


def parse_lines(raw: Any) -> list[LineInput]:
    if raw in (None, ""):
        return []
    if not isinstance(raw, list | tuple):
        raise ValidationFailed(_("Lines are a list."), field_errors={"lines": [_("Lines are a list.")]})
    if len(raw) > MAX_LINES:
        message = _("At most %(n)d lines.") % {"n": MAX_LINES}
        raise ValidationFailed(message, field_errors={"lines": [message]})
    ids = [as_id(line.get("product")) if isinstance(line, dict) else None for line in raw]
    products = Product.objects.in_bulk([i for i in ids if i])
    errors: dict[str, list[str]] = {}
    out: list[LineInput] = []
    for index, (line, pk) in enumerate(zip(raw, ids, strict=True)):
        key = f"lines.{index}."
        if not isinstance(line, dict):
            errors[f"lines.{index}"] = [_("Each line is an object with product, quantity and unit price.")]
            continue
        product = products.get(pk) if pk else None
        if product is None:
            errors[key + "product"] = [_("Line %(n)d: choose an existing product.") % {"n": index + 1}]
        quantity, error = parse_decimal(line.get("quantity"), places=3, maximum=MAX_QUANTITY, allow_zero=False)
        if error:
            errors[key + "quantity"] = [_("Line %(n)d: quantity: %(error)s") % {"n": index + 1, "error": error}]
        if line.get("unit_price") in (None, "") and product is not None:
            unit_price: Decimal | None = product.price
        else:
            unit_price, error = parse_money(line.get("unit_price"))
            if error:
                errors[key + "unit_price"] = [_("Line %(n)d: unit price: %(error)s") % {"n": index + 1, "error": error}]
        if product is not None and quantity is not None and unit_price is not None and not errors:
            out.append(LineInput(product, quantity, unit_price))
    raise_errors(errors)
    return out


def lines_total(lines: list[LineInput]) -> Decimal:
    return sum((fen(line.quantity * line.unit_price) for line in lines), ZERO)


def write_lines(opportunity: Opportunity, lines: list[LineInput]) -> None:
    OpportunityLine.objects.bulk_create(
        OpportunityLine(
            opportunity=opportunity, product=line.product, quantity=line.quantity, unit_price=line.unit_price
        )
        for line in lines
    )


def parse_amount(raw: Any) -> Decimal:
    amount, error = parse_money(raw)
    if error is None and amount is not None and amount > MAX_AMOUNT:
        error = _("Too large: at most %(max)s.") % {"max": f"{MAX_AMOUNT:,}"}
    if error or amount is None:
        message = error or _("Enter a number.")
        raise ValidationFailed(message, field_errors={"amount": [message]})
    return amount


def parse_name(raw: Any) -> str:
    text, error = clean_short_text(raw, 100)
    if not error and not text:
        error = _("Give the opportunity a name.")
    if error:
        raise ValidationFailed(error, field_errors={"name": [error]})
    return text


def parse_close_date(raw: Any) -> dt.date | None:
    if raw in (None, ""):
        return None
    day, error = parse_date(raw)
    if error:
        raise ValidationFailed(error, field_errors={"expected_close_date": [error]})
    return day


T = TypeVar("T")


def collect(errors: dict[str, list[Any]], fallback: T, clean: Callable[..., T], *args: Any) -> T:
    """``clean(*args)``, its refusal added to ``errors`` (so one answer lists every bad field)."""
    try:
        return clean(*args)
    except ValidationFailed as exc:
        if isinstance(exc, LossReasonRequired) and not errors:
            raise  # its own code tells the board to ask for the reason
        for key, messages in (exc.field_errors or {"": [exc.message]}).items():
            errors.setdefault(key, []).extend(messages)
        return fallback


def opportunity_snapshot(opportunity: Opportunity) -> dict[str, Any]:
    data = snapshot(opportunity, SNAPSHOT_FIELDS)
    if opportunity.pk:
        data["lines"] = [
            f"{line.product.sku} × {line.quantity.normalize():f} @ {line.unit_price}"
            for line in opportunity.lines.select_related("product")
        ]
    return data


def emit_changed(opportunity_id: int, customer_id: int, actor: User | None) -> None:
    emit(EVENT, customer_id=customer_id, opportunity_id=opportunity_id, actor_id=getattr(actor, "pk", None))


def move_title(opportunity: Opportunity, change: StageChange) -> str:
    """The timeline title of a move (or of the creation), in the site's language."""
    with translation.override(settings.LANGUAGE_CODE):
        if change.from_stage_id is None:
            return _("New opportunity %(name)s · %(stage)s · ¥%(amount)s") % {
                "name": opportunity.name,
                "stage": change.to_stage.name,
                "amount": f"{opportunity.amount:,.2f}",
            }
        title = _("Opportunity %(name)s: %(from)s → %(to)s") % {
            "name": opportunity.name,
            "from": change.from_stage.name if change.from_stage else "",
            "to": change.to_stage.name,
        }
        if opportunity.status == OpportunityStatus.LOST and opportunity.loss_reason:
            title = _("%(title)s (%(reason)s)") % {"title": title, "reason": opportunity.loss_reason}
        return title


def record_move(opportunity: Opportunity, change: StageChange, actor: User | None) -> None:
    timeline_record(
        NewEvent(
            customer_id=opportunity.customer_id,
            kind="opportunity",
            occurred_at=change.at,
            title=move_title(opportunity, change)[:200],
            actor=actor,
            subject=subject_key(change),
            payload={
                "opportunity": opportunity.pk,
                "name": opportunity.name,
                "from_stage": change.from_stage.name if change.from_stage else None,
                "to_stage": change.to_stage.name,
                "status": str(opportunity.status),
                "amount": str(opportunity.amount),
                "loss_reason": opportunity.loss_reason,
                "automatic": change.automatic,
            },
        )
    )


def enter_stage(opportunity: Opportunity, stage: Stage, loss_reason: str, moment: dt.datetime) -> None:
    was = opportunity.status if opportunity.stage_id else None
    opportunity.stage = stage
    opportunity.status = stage.kind
    opportunity.loss_reason = loss_reason
    opportunity.stage_entered_at = moment
    if stage.kind == StageKind.OPEN:
        opportunity.closed_at = None
    elif opportunity.closed_at is None or was != stage.kind:
        opportunity.closed_at = moment


def apply_move(
    opportunity: Opportunity, stage: Stage, loss_reason: str, actor: User | None, *, automatic: bool
) -> None:
    before = snapshot(opportunity, SNAPSHOT_FIELDS)
    from_stage = opportunity.stage
    now = timezone.now()
    enter_stage(opportunity, stage, loss_reason, now)
    opportunity.version += 1
    opportunity.save()
    change = StageChange.objects.create(
        opportunity=opportunity, from_stage=from_stage, to_stage=stage, actor=actor, automatic=automatic, at=now
    )
    record_change(
        actor=actor,
        action=ChangeAction.UPDATE,
        instance=opportunity,
        changes=diff(before, snapshot(opportunity, SNAPSHOT_FIELDS)),
    )
    record_move(opportunity, change, actor)
    emit_changed(opportunity.pk, opportunity.customer_id, actor)
