"""API shapes for pipelines, stages and opportunities (XIn / XPatch / XOut).

Money goes out as a string with two places; it comes in as a string or a JSON number.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from ninja import Schema
from pydantic import ConfigDict, Field

from pearl.activities.choices import CommunicationKind, Outcome
from pearl.core.api import MAX_ID, PageParams
from pearl.pipelines.choices import OpportunityStatus, QuoteStatus, StageKind, StageRole
from pearl.pipelines.models import Opportunity, Pipeline, Quote, Stage, StageRule
from pearl.sales.schemas import Number

Id = Annotated[int, Field(ge=1, le=MAX_ID)]


def _enum(values: list[str]) -> dict[str, Any]:
    return {"enum": list(values)}


class _Input(Schema):
    model_config = ConfigDict(extra="forbid", strict=False)


class StageOut(Schema):
    id: int
    name: str
    order: int
    probability: int = Field(description="Win probability, 0–100 (%).")
    kind: str = Field(json_schema_extra=_enum(StageKind.values))
    role: str | None = Field(
        description="What the stage stands for (`quote`: a sent quote moves the opportunity here); one stage per "
        "role in a pipeline, only on an open stage.",
        json_schema_extra=_enum(StageRole.values),
    )


class StageRef(Schema):
    id: int
    name: str
    probability: int
    kind: str


class PipelineRef(Schema):
    id: int
    name: str


class PipelineOut(Schema):
    id: int
    name: str
    is_default: bool
    active: bool
    order: int
    stages: list[StageOut]

    @staticmethod
    def resolve_stages(obj: Pipeline) -> list[Stage]:
        return list(obj.stages.all())


class PipelinePage(Schema):
    items: list[PipelineOut]
    count: int


class StageIn(_Input):
    name: str = Field(max_length=32)
    probability: int = Field(0, ge=0, le=100)
    kind: str = Field(StageKind.OPEN, json_schema_extra=_enum(StageKind.values))
    order: int | None = Field(None, ge=0, le=2**31 - 1)
    role: str | None = Field(None, json_schema_extra=_enum(StageRole.values))


class StagePatch(_Input):
    name: str | None = Field(None, max_length=32)
    probability: int | None = Field(None, ge=0, le=100)
    kind: str | None = Field(None, json_schema_extra=_enum(StageKind.values))
    order: int | None = Field(None, ge=0, le=2**31 - 1)
    role: str | None = Field(
        None, description="Set a role, or `null` to take it off.", json_schema_extra=_enum(StageRole.values)
    )


class PipelineIn(_Input):
    name: str = Field(max_length=64)
    is_default: bool = False
    stages: list[StageIn] = Field(default_factory=list)


class PipelinePatch(_Input):
    name: str | None = Field(None, max_length=64)
    is_default: bool | None = None
    active: bool | None = None
    order: int | None = Field(None, ge=0, le=2**31 - 1)


class LineIn(_Input):
    product: Id
    quantity: Number
    unit_price: Number | None = None


class LineOut(Schema):
    product: int
    product_name: str
    quantity: str
    unit_price: str


class UserRef(Schema):
    id: int
    name: str


class OpportunityOut(Schema):
    id: int
    name: str
    customer: int
    customer_name: str
    pipeline: PipelineRef
    stage: StageRef
    status: str = Field(json_schema_extra=_enum(OpportunityStatus.values))
    amount: str = Field(description="Decimal with two places, as a string.", examples=["12800.00"])
    currency: str
    expected_close_date: dt.date | None
    owner: UserRef | None
    team: int | None
    loss_reason: str
    closed_at: dt.datetime | None
    stage_entered_at: dt.datetime
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_customer(obj: Opportunity) -> int:
        return obj.customer_id

    @staticmethod
    def resolve_customer_name(obj: Opportunity) -> str:
        return obj.customer.name

    @staticmethod
    def resolve_amount(obj: Opportunity) -> str:
        return f"{obj.amount:.2f}"

    @staticmethod
    def resolve_owner(obj: Opportunity) -> dict[str, Any] | None:
        return {"id": obj.owner.pk, "name": str(obj.owner)} if obj.owner else None

    @staticmethod
    def resolve_team(obj: Opportunity) -> int | None:
        return obj.team_id


class OpportunityDetailOut(OpportunityOut):
    lines: list[LineOut]

    @staticmethod
    def resolve_lines(obj: Opportunity) -> list[dict[str, Any]]:
        return [
            {
                "product": line.product_id,
                "product_name": line.product.name,
                "quantity": f"{line.quantity.normalize():f}",
                "unit_price": f"{line.unit_price:.2f}",
            }
            for line in obj.lines.select_related("product")
        ]


class OpportunityPage(Schema):
    items: list[OpportunityOut]
    count: int


class OpportunityIn(_Input):
    customer: Id
    name: str = Field(max_length=100)
    amount: Number | None = None
    pipeline: Id | None = Field(None, description="The default pipeline when absent.")
    stage: Id | None = Field(None, description="The pipeline's first open stage when absent.")
    expected_close_date: dt.date | None = None
    owner: Id | None = Field(None, description="You when absent.")
    loss_reason: str | None = Field(None, max_length=200)
    lines: list[LineIn] | None = None


class OpportunityPatch(_Input):
    name: str | None = Field(None, max_length=100)
    customer: Id | None = None
    amount: Number | None = None
    expected_close_date: dt.date | None = None
    owner: Id | None = None
    lines: list[LineIn] | None = Field(None, description="Replaces all lines.")


class MoveIn(_Input):
    stage: Id
    loss_reason: str | None = Field(None, max_length=200, description="Required for a lost stage.")


class OpportunityFilters(PageParams):
    q: str | None = Field(None, max_length=100, description="Part of the name.")
    pipeline: Id | None = None
    stage: Id | None = None
    owner: str | None = Field(None, description="A user id or “me”.")
    customer: Id | None = None
    status: str | None = Field(None, json_schema_extra=_enum(OpportunityStatus.values))


class StageRuleOut(Schema):
    id: int
    communication_kind: str
    outcome: str
    stage: int
    active: bool

    @staticmethod
    def resolve_stage(obj: StageRule) -> int:
        return obj.target_stage_id


class StageRuleIn(_Input):
    stage: Id = Field(description="The stage (of this pipeline) a matching communication moves opportunities up to.")
    communication_kind: str = Field(json_schema_extra=_enum(CommunicationKind.values))
    outcome: str = Field("", description="Only communications with this outcome; empty for any.",
                         json_schema_extra=_enum(["", *Outcome.values]))  # fmt: skip
    active: bool = True


class StageRulePage(Schema):
    items: list[StageRuleOut]
    count: int


# --- quotes -----------------------------------------------------------------------------------------------


class QuoteLineIn(_Input):
    product: Id | None = Field(
        None, description="Optional; gives the description, unit and price when those are left out."
    )
    description: str | None = Field(None, max_length=200)
    quantity: Number = Field(description="Above zero, up to three places.")
    unit: str | None = Field(None, max_length=16)
    unit_price: Number | None = Field(None, description="Not below zero; the product's price when left out.")
    discount: Number | None = Field(None, description="Money off the line, at most its value.")


class QuoteLineOut(Schema):
    product: int | None
    description: str
    quantity: str
    unit: str
    unit_price: str
    discount: str
    amount: str = Field(description="quantity × unit price − discount, rounded half up to the fen.")


class QuoteOut(Schema):
    id: int
    number: str = Field(examples=["BJ20261206-0001"])
    opportunity: int
    status: str = Field(json_schema_extra=_enum(QuoteStatus.values))
    valid_until: dt.date | None
    note: str
    currency: str
    subtotal: str
    discount: str
    total: str
    sent_at: dt.datetime | None
    responded_at: dt.datetime | None
    created_at: dt.datetime
    version: int

    @staticmethod
    def resolve_opportunity(obj: Quote) -> int:
        return obj.opportunity_id

    @staticmethod
    def resolve_subtotal(obj: Quote) -> str:
        return f"{obj.subtotal:.2f}"

    @staticmethod
    def resolve_discount(obj: Quote) -> str:
        return f"{obj.discount:.2f}"

    @staticmethod
    def resolve_total(obj: Quote) -> str:
        return f"{obj.total:.2f}"


class QuoteDetailOut(QuoteOut):
    lines: list[QuoteLineOut]

    @staticmethod
    def resolve_lines(obj: Quote) -> list[dict[str, Any]]:
        return [
            {
                "product": line.product_id,
                "description": line.description,
                "quantity": f"{line.quantity.normalize():f}",
                "unit": line.unit,
                "unit_price": f"{line.unit_price:.2f}",
                "discount": f"{line.discount:.2f}",
                "amount": f"{line.amount:.2f}",
            }
            for line in obj.lines.all()
        ]


class QuotePage(Schema):
    items: list[QuoteOut]
    count: int


class QuoteIn(_Input):
    opportunity: Id
    lines: list[QuoteLineIn] = Field(min_length=1, max_length=100)
    valid_until: dt.date | None = None
    note: str | None = Field(None, max_length=2000)


class QuotePatch(_Input):
    lines: list[QuoteLineIn] | None = Field(None, description="Replaces all lines.")
    valid_until: dt.date | None = None
    note: str | None = Field(None, max_length=2000)


class QuoteFilters(PageParams):
    opportunity: Id
