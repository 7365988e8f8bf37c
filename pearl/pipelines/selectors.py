"""Reads of the pipelines app. An opportunity is visible by its own owner and team, like a customer
(``core.permissions.scope_q``); out of scope is NotFound."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, F, QuerySet, Sum, Window
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.translation import gettext as _

from pearl.accounts.models import Team, User
from pearl.core.errors import NotFound, ValidationFailed
from pearl.core.models import ChangeLog
from pearl.core.permissions import scope_q
from pearl.pipelines.choices import OpportunityStatus
from pearl.pipelines.filters import OpportunityFilterForm, filter_errors
from pearl.pipelines.models import ZERO, Opportunity, Pipeline, Quote, Stage, StageChange, StageRule
from pearl.sales import selectors as sales_selectors
from pearl.sales.services.common import as_id

BOARD_COLUMN_CAP = 100
CENT = Decimal("0.01")


# --- for other apps ----------------------------------------------------------------------------------------


def customers_with_open_opportunities() -> QuerySet[Opportunity, int]:
    """Ids of customers with at least one open opportunity (any owner), as a lazy sub-select.

    For set-based sweeps of other apps, e.g. the public pool's reclaim:
    ``Customer.objects.exclude(pk__in=customers_with_open_opportunities())`` — one SQL statement,
    read through the partial index on open opportunities' ``customer``. Not scoped: a sweep is the
    company's, not a person's.
    """
    return Opportunity.objects.filter(status=OpportunityStatus.OPEN).values_list("customer_id", flat=True)


# --- pipelines ---------------------------------------------------------------------------------------------


def pipeline_list(*, actor: User, include_inactive: bool = False) -> QuerySet[Pipeline]:
    """Pipelines with their stages prefetched (two queries); everyone signed in may read them."""
    qs = Pipeline.objects.prefetch_related("stages")
    return qs if include_inactive else qs.filter(active=True)


def pipeline_get(*, actor: User, pipeline_id: Any) -> Pipeline:
    pk = as_id(pipeline_id)
    pipeline = Pipeline.objects.prefetch_related("stages").filter(pk=pk).first() if pk else None
    if pipeline is None:
        raise NotFound(_("Pipeline not found."))
    return pipeline


def stage_rule_list(*, actor: User, pipeline_id: Any) -> QuerySet[StageRule]:
    pipeline = pipeline_get(actor=actor, pipeline_id=pipeline_id)
    return StageRule.objects.filter(pipeline=pipeline).select_related("target_stage")


def opportunity_counts(*, actor: User, by: str) -> dict[int, int]:
    """How many opportunities (anyone's: the settings pages weigh a change for the whole company) are in
    each pipeline (``by="pipeline"``) or stage (``by="stage"``), in one grouped query."""
    if by not in ("pipeline", "stage"):
        raise ValueError(by)
    rows = Opportunity.objects.order_by().values_list(by).annotate(n=Count("id"))
    return dict(rows)


def default_pipeline(*, actor: User) -> Pipeline | None:
    return Pipeline.objects.filter(active=True).order_by("-is_default", "order", "id").first()


# --- opportunities ------------------------------------------------------------------------------------------


def opportunity_visible(*, actor: User) -> QuerySet[Opportunity]:
    return Opportunity.objects.filter(scope_q(actor))


def opportunity_list(*, actor: User, filters: dict[str, Any] | None = None) -> QuerySet[Opportunity]:
    """Visible opportunities, newest first, with filters pipeline, stage, owner, customer, status
    (open / won / lost) and q (part of the name)."""
    form = OpportunityFilterForm(filters or {})
    if not form.is_valid():
        errors = filter_errors(form)
        raise ValidationFailed(next(iter(errors.values()))[0], field_errors=errors)
    qs = form.apply(opportunity_visible(actor=actor), actor)
    return qs.select_related("customer", "stage", "pipeline", "owner").order_by("-id")


def opportunity_get(*, actor: User, opportunity_id: Any) -> Opportunity:
    pk = as_id(opportunity_id)
    qs = opportunity_visible(actor=actor).select_related("customer", "stage", "pipeline", "owner", "team")
    opportunity = qs.filter(pk=pk).first() if pk else None
    if opportunity is None:
        raise NotFound(_("Opportunity not found."))
    return opportunity


def days_in_stage(opportunity: Opportunity, now: dt.datetime | None = None) -> int:
    return max(0, ((now or timezone.now()) - opportunity.stage_entered_at).days)


@dataclass
class StageSpell:
    """A stay in one stage: entered by ``change``, left at ``until`` (None: still there)."""

    change: StageChange
    until: dt.datetime | None
    duration: dt.timedelta

    @property
    def days(self) -> int:
        return self.duration.days

    @property
    def hours(self) -> int:
        return int(self.duration.total_seconds() // 3600)


def stage_history(*, actor: User, opportunity_id: Any, now: dt.datetime | None = None) -> list[StageSpell]:
    """The opportunity's moves, oldest first, each with how long it stayed (up to now for the current one)."""
    opportunity = opportunity_get(actor=actor, opportunity_id=opportunity_id)
    changes = list(
        StageChange.objects.filter(opportunity=opportunity).select_related("from_stage", "to_stage", "actor")
    )
    moment = now or timezone.now()
    spells = []
    for index, change in enumerate(changes):
        until = changes[index + 1].at if index + 1 < len(changes) else None
        spells.append(StageSpell(change, until, max(dt.timedelta(0), (until or moment) - change.at)))
    return spells


def time_in_stages(spells: list[StageSpell]) -> dict[int, dt.timedelta]:
    """Total time spent per stage id (a stage visited twice adds up)."""
    out: dict[int, dt.timedelta] = {}
    for spell in spells:
        out[spell.change.to_stage_id] = out.get(spell.change.to_stage_id, dt.timedelta(0)) + spell.duration
    return out


def opportunity_history(*, actor: User, opportunity_id: Any) -> QuerySet[ChangeLog]:
    opportunity = opportunity_get(actor=actor, opportunity_id=opportunity_id)
    return ChangeLog.objects.filter(root_type=Opportunity._meta.label_lower, root_id=opportunity.pk).order_by("-id")


# --- the board ----------------------------------------------------------------------------------------------


@dataclass
class Column:
    stage: Stage
    cards: list[Opportunity] = field(default_factory=list)
    count: int = 0
    amount: Decimal = ZERO

    @property
    def weighted(self) -> Decimal:
        return (self.amount * self.stage.probability / 100).quantize(CENT)

    @property
    def more(self) -> int:
        return max(0, self.count - len(self.cards))


@dataclass
class Board:
    pipeline: Pipeline
    columns: list[Column]

    @property
    def count(self) -> int:
        return sum(c.count for c in self.columns)

    @property
    def amount(self) -> Decimal:
        return sum((c.amount for c in self.columns), ZERO)

    @property
    def weighted(self) -> Decimal:
        return sum((c.weighted for c in self.columns), ZERO)


def board(
    *,
    actor: User,
    pipeline_id: Any,
    filters: dict[str, Any] | None = None,
    per_column: int = BOARD_COLUMN_CAP,
    closed_days: int = 30,
) -> Board:
    """The kanban board of a pipeline: a column per stage with its visible cards (longest in stage
    last… newest arrivals first), capped at ``per_column`` each, and per column the count, amount and
    weighted amount of all its cards. Won / lost columns show what closed in the last ``closed_days``.

    A fixed number of queries whatever the number of cards: the pipeline, its stages, one grouped
    sum, and one read of the cards (numbered per stage by a window function, so each column stops
    at its cap inside the database).
    """
    pipeline = pipeline_get(actor=actor, pipeline_id=pipeline_id)
    stages = list(pipeline.stages.all())
    form = OpportunityFilterForm({k: v for k, v in (filters or {}).items() if k in ("owner", "customer", "q")})
    if not form.is_valid():
        errors = filter_errors(form)
        raise ValidationFailed(next(iter(errors.values()))[0], field_errors=errors)
    since = timezone.now() - dt.timedelta(days=closed_days)
    base = form.apply(opportunity_visible(actor=actor).filter(pipeline=pipeline), actor)
    base = base.exclude(status__in=[OpportunityStatus.WON, OpportunityStatus.LOST], closed_at__lt=since)
    columns = {stage.pk: Column(stage) for stage in stages}
    for row in base.order_by().values("stage_id").annotate(n=Count("pk"), total=Sum("amount")):
        column = columns.get(row["stage_id"])
        if column is not None:
            column.count, column.amount = row["n"], Decimal(row["total"] or ZERO).quantize(CENT)
    numbered = base.annotate(
        place=Window(RowNumber(), partition_by=[F("stage_id")], order_by=[F("stage_entered_at").desc(), F("id").desc()])
    ).filter(place__lte=per_column)
    cards = numbered.select_related("customer", "owner").only(
        "id", "name", "amount", "currency", "version", "stage_id", "status", "stage_entered_at", "expected_close_date",
        "customer__id", "customer__name", "owner__id", "owner__username", "owner__display_name",
    )  # fmt: skip
    for card in cards.order_by("stage_id", "place"):
        column = columns.get(card.stage_id)
        if column is not None:
            column.cards.append(card)
    return Board(pipeline, [columns[s.pk] for s in stages])


# --- quotes -----------------------------------------------------------------------------------------------


def quote_visible(*, actor: User) -> QuerySet[Quote]:
    """Quotes of the opportunities the actor may see."""
    return Quote.objects.filter(scope_q(actor, owner="opportunity__owner", team="opportunity__team"))


def quote_list(*, actor: User, opportunity_id: Any) -> QuerySet[Quote]:
    """An opportunity's quotes, newest first (NotFound when the opportunity is out of scope)."""
    opportunity = opportunity_get(actor=actor, opportunity_id=opportunity_id)
    return quote_visible(actor=actor).filter(opportunity=opportunity).order_by("-id")


def quote_get(*, actor: User, quote_id: Any) -> Quote:
    pk = as_id(quote_id)
    qs = quote_visible(actor=actor).select_related(
        "opportunity", "opportunity__customer", "opportunity__owner", "opportunity__stage"
    )
    quote = qs.prefetch_related("lines__product").filter(pk=pk).first() if pk else None
    if quote is None:
        raise NotFound(_("Quote not found."))
    return quote


@dataclass
class QuoteDocument:
    """What a printed quote shows: the seller, the buyer (with 开票信息 when kept), the quote and its lines."""

    quote: Quote
    seller: str
    buyer: str
    billing: Any
    lines: list[Any]


def quote_document(*, actor: User, quote_id: Any) -> QuoteDocument:
    quote = quote_get(actor=actor, quote_id=quote_id)
    seller = getattr(settings, "PEARL_COMPANY_NAME", "") or ""
    if not seller:
        top = Team.objects.filter(parent=None).order_by("id").first()
        seller = top.name if top else ""
    customer = quote.opportunity.customer
    try:
        billing = sales_selectors.billing_get(actor=actor, customer_id=customer.pk)
    except NotFound:  # the customer is someone else's: the quote prints without 开票信息
        billing = None
    return QuoteDocument(
        quote=quote, seller=seller, buyer=customer.name, billing=billing, lines=list(quote.lines.all())
    )
