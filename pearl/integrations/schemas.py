"""Shapes of the channel-event API (``/api/v1/events``)."""

from __future__ import annotations

from typing import Any

from ninja import Schema
from pydantic import Field

from pearl.integrations.services import MAX_BATCH, PAYLOAD_LIMIT

_IDENTIFIERS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "description": (
        "At least one. Normalised like the customers' own: mobile to its 11 digits, email lower-case, "
        "WeChat id trimmed; external_id is the channel's id for the person, kept as <channel>:<id>."
    ),
    "properties": {
        "mobile": {"type": "string", "examples": ["13800138000"]},
        "email": {"type": "string", "format": "email"},
        "wechat": {"type": "string", "maxLength": 64},
        "external_id": {"type": "string", "maxLength": 200},
    },
}

EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "channel", "type", "identifiers"],
    "properties": {
        "id": {
            "type": "string",
            "maxLength": 128,
            "description": "The channel's own id for this event; a replay with the same channel and id "
            "records nothing.",
        },
        "channel": {"type": "string", "maxLength": 32, "examples": ["web", "shop", "callcenter", "wechat"]},
        "type": {
            "type": "string",
            "maxLength": 32,
            "description": "call, visit, wechat, email, meeting, note, order or complaint (optionally with a "
            "suffix such as call.missed) become timeline entries of that kind; anything else is a "
            "'channel' entry. lead (or lead.form, lead.400…) is someone asking to buy: on a known customer it "
            "is a channel entry; from anyone else it lands on their open lead or creates a lead, assigned by "
            "the assignment rules, instead of a customer.",
        },
        "occurred_at": {
            "type": "string",
            "format": "date-time",
            "description": "ISO-8601; without an offset it is read as Asia/Shanghai time; default: now.",
        },
        "identifiers": _IDENTIFIERS_SCHEMA,
        "payload": {
            "type": "object",
            "description": f"Kept on the timeline entry (at most {PAYLOAD_LIMIT} bytes as JSON). "
            "`name` (the person) and `company` (the customer is a company of that legal name) name a "
            "new customer; `title`/`summary`/`subject`… go into the entry's title. A lead event may also "
            "give `province`, `city` and `product_interest` (a product category's name).",
        },
    },
}

BATCH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["events"],
    "properties": {"events": {"type": "array", "minItems": 1, "maxItems": MAX_BATCH, "items": EVENT_SCHEMA}},
}


def request_body(schema: dict[str, Any]) -> dict[str, Any]:
    """``openapi_extra`` documenting a JSON body the operation validates itself."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


class ConflictOut(Schema):
    identifier: str = Field(description="external_id, mobile, wechat or email")
    customer: int = Field(description="The other customer that identifier belongs to (by id only).")


class EventOut(Schema):
    id: str = Field(description="The channel's event id, as recorded.")
    channel: str
    customer: int | None = Field(
        description="The customer the event landed on; null when a lead event landed on a lead instead."
    )
    new: bool = Field(description="This event created the customer.")
    replay: bool = Field(description="Recorded before: nothing was written this time.")
    matched_by: str = Field(
        description="external_id, mobile, wechat, email, company_name, matcher, new or replay: how the customer "
        "was found; lead (an open lead of the same person) or new_lead for a lead event from someone who is not a "
        "customer."
    )
    conflicts: list[ConflictOut] = Field(
        description="Identifiers of this event that belong to other customers (precedence: "
        "external_id > mobile > wechat > email)."
    )
    identities_added: list[str] = Field(
        description="Identifiers of this event nobody held that were added to the existing customer it landed on "
        "(external_id always; mobile, email or wechat only into an empty field of the contact)."
    )
    timeline_event: int | None = Field(description="The timeline entry of this event.")
    visible: bool = Field(description="Whether you may open the customer; if not, only its id is given.")
    customer_name: str | None = Field(None, description="The customer's name, only when visible.")
    lead: int | None = Field(None, description="The lead a lead event landed on (its message is kept there).")
    lead_new: bool = Field(False, description="This event created the lead.")
    lead_owner: int | None = Field(None, description="Who the assignment rules gave the new lead to (user id).")
    assignment_reason: str = Field("", description="Why that owner, in words (the rule's name).")


class EventErrorOut(Schema):
    status: int
    code: str
    detail: str
    errors: dict[str, list[str]]


class BatchItemOut(Schema):
    index: int
    id: str | None = None
    channel: str | None = None
    customer: int | None = None
    new: bool = False
    replay: bool = False
    matched_by: str = ""
    conflicts: list[ConflictOut] = []
    identities_added: list[str] = []
    timeline_event: int | None = None
    visible: bool = False
    customer_name: str | None = None
    lead: int | None = None
    lead_new: bool = False
    lead_owner: int | None = None
    assignment_reason: str = ""
    error: EventErrorOut | None = Field(None, description="Set when the event was refused; nothing written for it.")


class BatchOut(Schema):
    items: list[BatchItemOut]
    recorded: int = Field(description="Events written to the timeline.")
    replayed: int = Field(description="Events recorded before (or twice in this batch): nothing written.")
    failed: int = Field(description="Events refused (see their error).")
    customers_created: int
    leads_created: int
