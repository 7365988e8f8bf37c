"""API shapes for leads and assignment rules (XIn / XPatch / XOut)."""

import datetime as dt
from typing import Annotated, Any

from ninja import Schema
from pydantic import ConfigDict, Field

from pearl.core.api import MAX_ID, PageParams
from pearl.leads.choices import AssignMethod, FollowUpKind, LeadStatus
from pearl.leads.models import AssignmentRule, Lead, LeadFollowUp
from pearl.sales.schemas import Number

Id = Annotated[int, Field(ge=1, le=MAX_ID)]


def _enum(values: list[str]) -> dict[str, Any]:
    return {"enum": list(values)}


class _Input(Schema):
    model_config = ConfigDict(extra="forbid", strict=True)


class Ref(Schema):
    id: int
    name: str


class LeadIn(_Input):
    name: str = Field(description="The person.")
    company: str | None = None
    mobile: str | None = Field(None, description="Mainland mobile or landline; stored as digits.")
    email: str | None = None
    wechat: str | None = None
    source: Id | None = Field(None, description="Id of a source-channel choice option.")
    province: str | None = None
    city: str | None = None
    product_interest: Id | None = Field(None, description="Id of a product category.")
    note: str | None = None


class LeadPatch(_Input):
    name: str | None = None
    company: str | None = None
    mobile: str | None = None
    email: str | None = None
    wechat: str | None = None
    source: Id | None = None
    province: str | None = None
    city: str | None = None
    product_interest: Id | None = None
    note: str | None = None
    status: str | None = Field(None, json_schema_extra=_enum(LeadStatus.values))
    disqualify_reason: str | None = Field(None, description="Required when status becomes disqualified.")
    owner: Id | None = Field(None, description="Reassign by hand (null: back to the team queue).")


def _ref(obj: Any) -> dict[str, Any] | None:
    if obj is None:
        return None
    return {"id": obj.pk, "name": str(obj)}


class LeadOut(Schema):
    id: int
    name: str
    company: str
    mobile: str
    email: str
    wechat: str
    source: Ref | None
    province: str
    city: str
    product_interest: Ref | None
    note: str
    status: str = Field(json_schema_extra=_enum(LeadStatus.values))
    disqualify_reason: str
    owner: Ref | None = Field(description="Who works the lead; null while it waits in its team's queue.")
    team: Ref | None
    assigned_rule: Ref | None = Field(description="The rule that assigned it, if one did.")
    assignment_reason: str = Field(description="Why this owner, in words.")
    assigned_at: dt.datetime | None
    first_follow_up_at: dt.datetime | None
    converted_customer: int | None
    converted_at: dt.datetime | None
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_source(obj: Lead) -> dict[str, Any] | None:
        return {"id": obj.source.pk, "name": obj.source.label} if obj.source_id and obj.source else None

    @staticmethod
    def resolve_product_interest(obj: Lead) -> dict[str, Any] | None:
        return _ref(obj.product_interest if obj.product_interest_id else None)

    @staticmethod
    def resolve_owner(obj: Lead) -> dict[str, Any] | None:
        return _ref(obj.owner if obj.owner_id else None)

    @staticmethod
    def resolve_team(obj: Lead) -> dict[str, Any] | None:
        return _ref(obj.team if obj.team_id else None)

    @staticmethod
    def resolve_assigned_rule(obj: Lead) -> dict[str, Any] | None:
        return _ref(obj.assigned_rule if obj.assigned_rule_id else None)

    @staticmethod
    def resolve_converted_customer(obj: Lead) -> int | None:
        return obj.converted_customer_id


class LeadPage(Schema):
    items: list[LeadOut]
    count: int


class LeadFilters(PageParams):
    status: str | None = Field(None, json_schema_extra=_enum(["open", *LeadStatus.values]))
    owner: int | None = None
    source: int | None = None
    province: str | None = None
    q: str | None = Field(None, description="Name, company, mobile digits, WeChat id or email.")
    since: dt.date | None = Field(None, description="Created on or after this date.")


class FollowUpIn(_Input):
    kind: str = Field(FollowUpKind.CALL, json_schema_extra=_enum(FollowUpKind.values))
    summary: str = ""


class FollowUpOut(Schema):
    id: int
    lead: int
    actor: Ref | None
    at: dt.datetime
    kind: str
    summary: str

    @staticmethod
    def resolve_lead(obj: LeadFollowUp) -> int:
        return obj.lead_id

    @staticmethod
    def resolve_actor(obj: LeadFollowUp) -> dict[str, Any] | None:
        return _ref(obj.actor if obj.actor_id else None)


class OpportunityDraft(_Input):
    name: str | None = Field(None, max_length=100, description="Default: the company (or person) and the interest.")
    amount: Number | None = Field(None, description="Not below zero, up to two places.")
    expected_close_date: dt.date | None = None
    pipeline: Id | None = Field(None, description="Default: the default pipeline (first open stage).")


class ConvertIn(_Input):
    opportunity: OpportunityDraft | None = Field(
        None, description="Also open an opportunity for the customer, owned by the lead's owner."
    )


class ConvertOut(Schema):
    lead: LeadOut
    customer: int = Field(description="The customer the lead became (existing or new).")
    reused: bool = Field(description="True when the lead was a customer already (nothing created).")
    matched_by: str = Field(description="mobile, wechat, email, name or matcher; empty when created.")
    opportunity: int | None = Field(None, description="The opportunity opened with the conversion, if asked for.")


class RuleIn(_Input):
    name: str
    is_active: bool = True
    order: int | None = Field(None, ge=0, le=1_000_000, description="Lower first; default: after the others.")
    conditions: dict[str, Any] = Field(default_factory=dict, description="See Conditions.")
    members: list[Id] = []
    method: str = Field(AssignMethod.ROUND_ROBIN, json_schema_extra=_enum(AssignMethod.values))
    capacity: int | None = Field(None, description="Most open leads per person; null: no limit.")


class RulePatch(_Input):
    name: str | None = None
    is_active: bool | None = None
    order: int | None = Field(None, ge=0, le=1_000_000)
    conditions: dict[str, Any] | None = None
    members: list[Id] | None = None
    method: str | None = Field(None, json_schema_extra=_enum(AssignMethod.values))
    capacity: int | None = None


class RuleOut(Schema):
    id: int
    name: str
    is_active: bool
    order: int
    conditions: dict[str, Any]
    members: list[Ref]
    method: str
    capacity: int | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_members(obj: AssignmentRule) -> list[dict[str, Any]]:
        return [{"id": u.pk, "name": str(u)} for u in sorted(obj.members.all(), key=lambda u: u.pk)]


class RulePage(Schema):
    items: list[RuleOut]
    count: int


class ReorderIn(_Input):
    rule_ids: list[Id]
