"""Quotes (报价单) of an opportunity: create and edit a draft, send, accept, reject, delete a draft,
and the sweep that asks the owner to follow up a sent quote nobody answered.

A quote is visible to whoever sees its opportunity (out of scope is NotFound). Sending moves the
opportunity forward to its pipeline's quote stage (``Stage.role`` "quote", else the stage named
方案报价), never backwards; sending and the answer are entries on the customer's timeline (kind
``opportunity``, subject the quote)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.activities.services import NewEvent, subject_key, timeline_record, timeline_remove_subject
from pearl.core.changes import created, deleted, diff, record_change, snapshot
from pearl.core.errors import Conflict, NotFound, ValidationFailed
from pearl.core.models import ChangeAction
from pearl.core.permissions import require, scope_q
from pearl.pipelines.choices import (
    QUOTE_STAGE_NAME,
    QUOTE_TRANSITIONS,
    OpportunityStatus,
    QuoteStatus,
    StageKind,
    StageRole,
)
from pearl.pipelines.models import ZERO, Opportunity, Quote, QuoteLine, Stage
from pearl.pipelines.services.common import MAX_LINES, apply_move, collect, emit_changed, lock_opportunity
from pearl.pipelines.services.expiry import check_not_expired
from pearl.sales.models import Product
from pearl.sales.services.common import (
    MAX_QUANTITY,
    as_id,
    check_version,
    clean_short_text,
    fen,
    next_number,
    parse_date,
    parse_decimal,
    parse_money,
    raise_errors,
)

NUMBER_PREFIX = "BJ"  # 报价
NOTE_LIMIT = 2000
SNAPSHOT_FIELDS = [
    "number",
    "status",
    "valid_until",
    "note",
    "subtotal",
    "discount",
    "total",
    "sent_at",
    "responded_at",
]
EDITABLE = {"lines", "valid_until", "note"}


@dataclass
class QuoteLineInput:
    product: Product | None
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    discount: Decimal

    @property
    def gross(self) -> Decimal:
        return fen(self.quantity * self.unit_price)

    @property
    def amount(self) -> Decimal:
        return fen(self.quantity * self.unit_price - self.discount)


# --- validation -------------------------------------------------------------------------------------------


def parse_quote_lines(raw: Any) -> list[QuoteLineInput]:
    """Clean lines or one refusal naming every bad field: a quantity above zero, a price and a discount
    not below zero (the discount at most the line's value), a description or a product."""
    if not isinstance(raw, list | tuple) or not raw:
        message = _("Add at least one line to the quote.")
        raise ValidationFailed(message, field_errors={"lines": [message]})
    if len(raw) > MAX_LINES:
        message = _("At most %(n)d lines.") % {"n": MAX_LINES}
        raise ValidationFailed(message, field_errors={"lines": [message]})
    ids = [as_id(line.get("product")) if isinstance(line, dict) else None for line in raw]
    products = Product.objects.in_bulk([i for i in ids if i])
    errors: dict[str, list[str]] = {}
    out: list[QuoteLineInput] = []
    for index, (line, pk) in enumerate(zip(raw, ids, strict=True)):
        n, key = index + 1, f"lines.{index}."
        if not isinstance(line, dict):
            errors[f"lines.{index}"] = [_("Each line is an object with description, quantity and unit price.")]
            continue
        product = products.get(pk) if pk else None
        if line.get("product") not in (None, "") and product is None:
            errors[key + "product"] = [_("Line %(n)d: choose an existing product.") % {"n": n}]
        description, error = clean_short_text(line.get("description"), 200)
        if not error and not description:
            if product is not None:
                description = product.name[:200]
            else:
                error = _("Say what is quoted, or choose a product.")
        if error:
            errors[key + "description"] = [_("Line %(n)d: %(error)s") % {"n": n, "error": error}]
        quantity, error = parse_decimal(line.get("quantity"), places=3, maximum=MAX_QUANTITY, allow_zero=False)
        if error:
            errors[key + "quantity"] = [
                _("Line %(n)d: the quantity must be a number above zero (%(error)s)") % {"n": n, "error": error}
            ]
        unit, error = clean_short_text(line.get("unit"), 16)
        if error:
            errors[key + "unit"] = [_("Line %(n)d: %(error)s") % {"n": n, "error": error}]
        if not unit and product is not None:
            unit = product.unit
        if line.get("unit_price") in (None, "") and product is not None:
            unit_price: Decimal | None = product.price
        else:
            unit_price, error = parse_money(line.get("unit_price"))
            if error:
                errors[key + "unit_price"] = [
                    _("Line %(n)d: the unit price must be a number not below zero (%(error)s)")
                    % {"n": n, "error": error}
                ]
        discount: Decimal | None = ZERO
        if line.get("discount") not in (None, ""):
            discount, error = parse_money(line.get("discount"))
            if error:
                errors[key + "discount"] = [_("Line %(n)d: discount: %(error)s") % {"n": n, "error": error}]
        if quantity is None or unit_price is None or discount is None or errors:
            continue
        clean = QuoteLineInput(product, description, quantity, unit, unit_price, discount)
        if discount > clean.gross:
            errors[key + "discount"] = [
                _("Line %(n)d: the discount is more than the line's value ¥%(gross)s.") % {"n": n, "gross": clean.gross}
            ]
            continue
        out.append(clean)
    raise_errors(errors)
    return out


def parse_valid_until(raw: Any) -> dt.date | None:
    if raw in (None, ""):
        return None
    day, error = parse_date(raw)
    if error:
        raise ValidationFailed(error, field_errors={"valid_until": [error]})
    return day


def parse_note(raw: Any) -> str:
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise ValidationFailed(_("Enter text."), field_errors={"note": [_("Enter text.")]})
    text = raw.strip()
    if len(text) > NOTE_LIMIT:
        message = _("At most %(n)d characters.") % {"n": NOTE_LIMIT}
        raise ValidationFailed(message, field_errors={"note": [message]})
    return text


# --- helpers ----------------------------------------------------------------------------------------------


def _set_lines(quote: Quote, lines: list[QuoteLineInput]) -> None:
    quote.subtotal = sum((line.gross for line in lines), ZERO)
    quote.total = sum((line.amount for line in lines), ZERO)
    quote.discount = quote.subtotal - quote.total


def _write_lines(quote: Quote, lines: list[QuoteLineInput]) -> None:
    QuoteLine.objects.bulk_create(
        QuoteLine(
            quote=quote,
            product=line.product,
            description=line.description,
            quantity=line.quantity,
            unit=line.unit,
            unit_price=line.unit_price,
            discount=line.discount,
            amount=line.amount,
        )
        for line in lines
    )


def _quote_snapshot(quote: Quote) -> dict[str, Any]:
    data = snapshot(quote, SNAPSHOT_FIELDS)
    if quote.pk:
        data["lines"] = [
            f"{line.description} × {line.quantity.normalize():f} @ {line.unit_price} − {line.discount}"
            for line in quote.lines.all()
        ]
    return data


def _taken(number: str) -> bool:
    return Quote.objects.filter(number=number).exists()


def lock_quote(actor: User, quote_id: Any) -> Quote:
    pk = as_id(quote_id)
    qs = Quote.objects.select_for_update(of=("self",)).filter(
        scope_q(actor, owner="opportunity__owner", team="opportunity__team")
    )
    quote = qs.select_related("opportunity").filter(pk=pk).first() if pk else None
    if quote is None:
        raise NotFound(_("Quote not found."))
    return quote


def _require_status(quote: Quote, target: str) -> None:
    if target not in QUOTE_TRANSITIONS[quote.status]:
        raise Conflict(
            _("The quote %(number)s is %(status)s; it cannot become %(target)s.")
            % {
                "number": quote.number,
                "status": QuoteStatus(quote.status).label,
                "target": QuoteStatus(target).label,
            }
        )


def _require_draft(quote: Quote) -> None:
    if quote.status != QuoteStatus.DRAFT:
        raise Conflict(
            _("The quote %(number)s was sent already; only a draft can be changed or deleted.")
            % {"number": quote.number}
        )


def quote_title(quote: Quote, status: str) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        titles: dict[str, str] = {
            QuoteStatus.SENT: _("Quote %(number)s sent · ¥%(total)s"),
            QuoteStatus.ACCEPTED: _("Quote %(number)s accepted · ¥%(total)s"),
            QuoteStatus.REJECTED: _("Quote %(number)s rejected · ¥%(total)s"),
        }
        return titles[status] % {"number": quote.number, "total": f"{quote.total:,.2f}"}


def _record(quote: Quote, actor: User | None, moment: dt.datetime) -> None:
    opportunity = quote.opportunity
    timeline_record(
        NewEvent(
            customer_id=opportunity.customer_id,
            kind="opportunity",
            occurred_at=moment,
            title=quote_title(quote, quote.status)[:200],
            actor=actor,
            subject=subject_key(quote),
            payload={
                "opportunity": opportunity.pk,
                "quote": quote.pk,
                "number": quote.number,
                "status": str(quote.status),
                "total": str(quote.total),
            },
        )
    )


def quote_stage(opportunity: Opportunity) -> Stage | None:
    """The stage a sent quote moves the opportunity to: the one with the quote role, else 方案报价."""
    stages = Stage.objects.filter(pipeline_id=opportunity.pipeline_id, kind=StageKind.OPEN)
    return (
        stages.filter(role=StageRole.QUOTE).order_by("order", "id").first()
        or stages.filter(name=QUOTE_STAGE_NAME).first()
    )


# --- writes -----------------------------------------------------------------------------------------------


@transaction.atomic
def quote_create(
    *,
    actor: User,
    opportunity_id: int,
    lines: list[dict[str, Any]],
    valid_until: dt.date | str | None = None,
    note: str = "",
) -> Quote:
    """A draft quote for an opportunity the actor may see; numbered ``BJyyyymmdd-0001`` by the day."""
    require(actor, "edit")
    opportunity = lock_opportunity(actor, opportunity_id)
    errors: dict[str, list[Any]] = {}
    no_lines: list[QuoteLineInput] = []
    clean_lines = collect(errors, no_lines, parse_quote_lines, lines)
    day = collect(errors, None, parse_valid_until, valid_until)
    text = collect(errors, "", parse_note, note)
    raise_errors(errors)
    now = timezone.now()
    quote = Quote(opportunity=opportunity, valid_until=day, note=text, created_by=actor)
    _set_lines(quote, clean_lines)
    quote.number = next_number(NUMBER_PREFIX, now, _taken)
    quote.save()
    _write_lines(quote, clean_lines)
    record_change(actor=actor, action=ChangeAction.CREATE, instance=quote, changes=created(_quote_snapshot(quote)))
    return quote


@transaction.atomic
def quote_update(*, actor: User, quote_id: int, data: dict[str, Any], expected_version: int | None = None) -> Quote:
    """Change a draft's lines, valid-until date or note (a sent quote is fixed: 409)."""
    require(actor, "edit")
    quote = lock_quote(actor, quote_id)
    check_version(quote, expected_version, _("quote"))
    unknown = sorted(set(data) - EDITABLE)
    if unknown:
        message = _("Unknown field %(field)s.") % {"field": unknown[0]}
        raise ValidationFailed(message, field_errors={k: [message] for k in unknown})
    _require_draft(quote)
    before = _quote_snapshot(quote)
    clean_lines = parse_quote_lines(data["lines"]) if "lines" in data else None
    if "valid_until" in data:
        quote.valid_until = parse_valid_until(data["valid_until"])
    if "note" in data:
        quote.note = parse_note(data["note"])
    if clean_lines is not None:
        _set_lines(quote, clean_lines)
        quote.lines.all().delete()
        _write_lines(quote, clean_lines)
    changes = diff(before, _quote_snapshot(quote))
    if not changes:
        return quote
    quote.version += 1
    quote.save()
    record_change(actor=actor, action=ChangeAction.UPDATE, instance=quote, changes=changes)
    return quote


def _transition(actor: User, quote_id: int, target: str, expected_version: int | None) -> Quote:
    require(actor, "edit")
    quote = lock_quote(actor, quote_id)
    check_version(quote, expected_version, _("quote"))
    check_not_expired(quote, target)  # before the generic refusal: its message says what to do instead
    _require_status(quote, target)
    before = snapshot(quote, SNAPSHOT_FIELDS)
    now = timezone.now()
    quote.status = target
    if target == QuoteStatus.SENT:
        quote.sent_at = now
    else:
        quote.responded_at = now
    quote.version += 1
    quote.save()
    record_change(
        actor=actor, action=ChangeAction.UPDATE, instance=quote, changes=diff(before, snapshot(quote, SNAPSHOT_FIELDS))
    )
    _record(quote, actor, now)
    return quote


@transaction.atomic
def quote_send(*, actor: User, quote_id: int, expected_version: int | None = None) -> Quote:
    """Mark a draft sent and move its open opportunity forward to the quote stage (never backwards)."""
    quote = _transition(actor, quote_id, QuoteStatus.SENT, expected_version)
    opportunity = lock_opportunity(actor, quote.opportunity_id)
    stage = quote_stage(opportunity)
    if (
        stage is not None
        and opportunity.status == OpportunityStatus.OPEN
        and (opportunity.stage.order, opportunity.stage_id) < (stage.order, stage.pk)
    ):
        apply_move(opportunity, stage, "", actor, automatic=True)
    else:
        emit_changed(opportunity.pk, opportunity.customer_id, actor)
    quote.opportunity = opportunity
    return quote


@transaction.atomic
def quote_accept(*, actor: User, quote_id: int, expected_version: int | None = None) -> Quote:
    return _transition(actor, quote_id, QuoteStatus.ACCEPTED, expected_version)


@transaction.atomic
def quote_reject(*, actor: User, quote_id: int, expected_version: int | None = None) -> Quote:
    return _transition(actor, quote_id, QuoteStatus.REJECTED, expected_version)


@transaction.atomic
def quote_delete(*, actor: User, quote_id: int, expected_version: int | None = None) -> None:
    """Delete a draft (a sent quote stays: 409)."""
    require(actor, "delete")
    quote = lock_quote(actor, quote_id)
    check_version(quote, expected_version, _("quote"))
    _require_draft(quote)
    record_change(actor=actor, action=ChangeAction.DELETE, instance=quote, changes=deleted(_quote_snapshot(quote)))
    timeline_remove_subject(subject_key(quote))
    quote.delete()


# --- the follow-up sweep ----------------------------------------------------------------------------------


def quotes_follow_up_sweep(at: dt.datetime) -> dict[str, Any]:
    """For each quote sent at least the reminder rules' days (3 by default) before ``at``, still
    unanswered and not yet followed up, one task for its opportunity's owner; the quotes are then
    marked in one UPDATE, and the task's ``dedupe_key`` guards a rerun too: a second sweep creates
    nothing. One read of the waiting quotes through the partial index on sent, not-followed-up
    quotes' ``sent_at``. The rule switched off on the settings page 提醒规则 creates nothing."""
    from pearl.reminders.selectors import reminder_rules
    from pearl.reminders.services import task_create  # the reminders app's service, read at call time

    rules = reminder_rules()  # once per run: a change on the settings page counts from the next run
    if not rules.quote_follow_up_on:
        return {"quotes": 0, "tasks": 0}
    cutoff = at - dt.timedelta(days=rules.quote_follow_up_days)
    with transaction.atomic():
        waiting = list(
            Quote.objects.select_for_update(of=("self",))
            .filter(status=QuoteStatus.SENT, follow_up_at__isnull=True, sent_at__lte=cutoff)
            .exclude(opportunity__owner=None)
            .select_related("opportunity__owner")
            .order_by("id")
        )
        if not waiting:
            return {"quotes": 0, "tasks": 0}
        with translation.override(settings.LANGUAGE_CODE):
            for quote in waiting:
                opportunity = quote.opportunity
                assert opportunity.owner is not None
                task_create(
                    actor=None,
                    owner=opportunity.owner,
                    title=_("Follow up quote %(number)s (%(name)s): no answer yet")
                    % {"number": quote.number, "name": opportunity.name},
                    due_at=at,
                    customer_id=opportunity.customer_id,
                    source=("pipelines.quote", quote.pk),
                    dedupe_key=f"quote-no-response:{quote.pk}",
                )
        Quote.objects.filter(pk__in=[q.pk for q in waiting]).update(follow_up_at=at)
    return {"quotes": len(waiting), "tasks": len(waiting)}
