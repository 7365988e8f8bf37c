"""API shapes for customers, contacts, tags and custom fields (XIn / XPatch / XOut).

Inputs are deliberately loose about values (``kind`` is a string, a choice may be an id or a label)
and strict about names (an unknown field is a 422): the services own value validation and give one
translated message per problem, whichever interface the data came through.
"""

import datetime as dt
from typing import Annotated, Any

from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from pearl.activities.choices import TimelineKind
from pearl.core.api import INVALID, MAX_ID, PageParams
from pearl.core.models import ChangeLog
from pearl.customers.choices import CustomerKind, CustomerStatus, CustomFieldObject, CustomFieldType, Grade
from pearl.customers.filters import ORDERINGS
from pearl.customers.models import ChoiceOption, Contact, Customer, CustomerMerge, CustomFieldDefinition

Id = Annotated[int, Field(ge=1, le=MAX_ID)]


def _choice_ref(value: Any) -> Any:
    if value is None or (isinstance(value, int | str) and not isinstance(value, bool)):
        return value
    raise PydanticCustomError(INVALID, str(_("Give the option's id or its exact label.")))


# A choice-list value: the option's id, or its exact label (e.g. "批发"); null clears it.
ChoiceRef = Annotated[
    int | str | None,
    BeforeValidator(_choice_ref),
    Field(description="Option id or its exact label; null clears it.", examples=["批发"]),
]


def _enum_schema(values: list[str]) -> dict[str, Any]:
    """Documents the allowed values in OpenAPI; the services do the checking (one message each)."""
    return {"enum": list(values)}


def _enum(values: list[str], description: str = "") -> Any:
    return Field(None, description=description or None, json_schema_extra=_enum_schema(values))


class _Input(Schema):
    # Unknown names are refused, and JSON types are taken as sent: true is not the id 1, "5" is not 5.
    model_config = ConfigDict(extra="forbid", strict=True)


# --- tags -------------------------------------------------------------------------------------------


class TagOut(Schema):
    id: int
    name: str
    color: str


class TagIn(_Input):
    name: str
    color: str | None = Field(None, description="#rrggbb", examples=["#2f6fde"])


class TagPatch(_Input):
    name: str | None = None
    color: str | None = None


class TagPage(Schema):
    items: list[TagOut]
    count: int


class TagFilters(PageParams):
    q: str | None = Field(None, description="Part of the tag name.")


# --- contacts ---------------------------------------------------------------------------------------


class ContactOut(Schema):
    id: int
    customer: int
    name: str
    mobile: str = Field(description="Normalised digits, e.g. 13800138000 or 02087654321.")
    mobile_display: str = Field(description="Formatted for display, e.g. 138 0013 8000.")
    email: str
    wechat: str
    position: str | None = Field(description="Label of the position option.")
    is_primary: bool
    custom_fields: dict[str, Any]
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_customer(obj: Contact) -> int:
        return obj.customer_id

    @staticmethod
    def resolve_position(obj: Contact) -> str | None:
        position: ChoiceOption | None = obj.position
        return position.label if position else None


class ContactFields(_Input):
    """A contact as given when creating its customer (no ``customer`` field)."""

    name: str
    mobile: str | None = Field(None, description="Mainland mobile or landline with area code.")
    email: str | None = None
    wechat: str | None = None
    position: ChoiceRef = None
    is_primary: bool | None = None
    custom_fields: dict[str, Any] | None = None


class ContactIn(ContactFields):
    customer: Id


class ContactPatch(_Input):
    name: str | None = None
    mobile: str | None = None
    email: str | None = None
    wechat: str | None = None
    position: ChoiceRef = None
    is_primary: bool | None = None
    custom_fields: dict[str, Any] | None = Field(None, description="Only the keys given change.")


class ContactPage(Schema):
    items: list[ContactOut]
    count: int


class ContactFilters(PageParams):
    customer: Id | None = Field(None, description="Only this customer's contacts.")
    q: str | None = Field(None, max_length=64, description="Part of the contact's name.")


# --- customers --------------------------------------------------------------------------------------


class CustomerOut(Schema):
    id: int
    name: str = Field(description="Full legal name.")
    short_name: str
    kind: str = Field(json_schema_extra=_enum_schema(CustomerKind.values))
    customer_type: str | None = Field(description="Label of the customer-type option.")
    industry: str | None
    source: str | None
    province: str
    city: str
    district: str
    address: str
    grade: str = Field(json_schema_extra=_enum_schema(["", *Grade.values]))
    status: str = Field(json_schema_extra=_enum_schema(CustomerStatus.values))
    owner: int | None = Field(description="User id.")
    team: int | None = Field(description="Team id.")
    tags: list[TagOut]
    custom_fields: dict[str, Any]
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_customer_type(obj: Customer) -> str | None:
        return obj.customer_type.label if obj.customer_type_id and obj.customer_type else None

    @staticmethod
    def resolve_industry(obj: Customer) -> str | None:
        return obj.industry.label if obj.industry_id and obj.industry else None

    @staticmethod
    def resolve_source(obj: Customer) -> str | None:
        return obj.source.label if obj.source_id and obj.source else None

    @staticmethod
    def resolve_owner(obj: Customer) -> int | None:
        return obj.owner_id

    @staticmethod
    def resolve_team(obj: Customer) -> int | None:
        return obj.team_id

    @staticmethod
    def resolve_tags(obj: Customer) -> list[Any]:
        return list(obj.tags.all())


class CustomerDetailOut(CustomerOut):
    contacts: list[ContactOut]

    @staticmethod
    def resolve_contacts(obj: Customer) -> list[Any]:
        return list(obj.contacts.all())


class _CustomerFields(_Input):
    short_name: str | None = None
    kind: str | None = _enum(CustomerKind.values, "company (default) or individual.")
    customer_type: ChoiceRef = None
    industry: ChoiceRef = None
    source: ChoiceRef = None
    province: str | None = Field(None, examples=["广东省"])
    city: str | None = Field(None, examples=["广州市"])
    district: str | None = Field(None, examples=["天河区"])
    address: str | None = None
    grade: str | None = _enum(["", *Grade.values])
    status: str | None = _enum(CustomerStatus.values, "New customers start as prospect.")
    owner: Id | None = Field(None, description="User id; defaults to you on create.")
    team: Id | None = Field(None, description="Team id; defaults to the owner's team.")
    tags: list[Id] | None = Field(None, description="Tag ids (replaces the customer's tags).")
    custom_fields: dict[str, Any] | None = Field(None, description="{key: value}; only the keys given change.")


class CustomerIn(_CustomerFields):
    name: str = Field(description="Full legal name (公司全称).")
    contacts: list[ContactFields] | None = Field(None, description="Contacts created with the customer.")


class CustomerPatch(_CustomerFields):
    name: str | None = None


class CustomerPage(Schema):
    items: list[CustomerOut]
    count: int
    count_capped: bool = Field(
        description="True when a search matched more rows than were counted (count is a lower bound)."
    )


class CustomerFilters(PageParams):
    """The list filters; ``cf_<key>=value`` filters by a custom field too."""

    q: str | None = Field(
        None,
        max_length=64,
        description="Search: part of a name, pinyin or initials (hxjl), a phone number or its last 4 digits.",
    )
    kind: str | None = _enum(CustomerKind.values)
    customer_type: str | None = Field(None, description="Option id or exact label.")
    industry: str | None = Field(None, description="Option id or exact label.")
    source: str | None = Field(None, description="Option id or exact label.")
    province: str | None = None
    city: str | None = None
    district: str | None = None
    grade: str | None = _enum(Grade.values)
    status: str | None = _enum(CustomerStatus.values)
    tag: str | None = Field(None, description="Tag id or exact tag name.")
    owner: str | None = Field(None, description='User id, or "me".')
    team: str | None = Field(None, description="Team id.")
    ordering: str | None = _enum(list(ORDERINGS))


# --- change log -------------------------------------------------------------------------------------


class ChangeOut(Schema):
    id: int
    occurred_at: dt.datetime
    actor: int | None = Field(description="User id (null for the system).")
    actor_label: str
    channel: str = Field(json_schema_extra=_enum_schema(["page", "api", "command", "system"]))
    action: str = Field(json_schema_extra=_enum_schema(["create", "update", "delete"]))
    object_type: str = Field(examples=["customers.customer", "customers.contact"])
    object_id: int
    object_repr: str
    changes: dict[str, list[Any]] = Field(description="{field: [before, after]}")
    request_id: str

    @staticmethod
    def resolve_actor(obj: ChangeLog) -> int | None:
        return obj.actor_id


class ChangePage(Schema):
    items: list[ChangeOut]
    count: int


class TimelineSubjectOut(Schema):
    type: str = Field(examples=["sales.order", "activities.communication"])
    id: int


class TimelineItemOut(Schema):
    id: str = Field(description="`e<id>` for an event, `c<id>` for a change-log entry.", examples=["e1042"])
    kind: str = Field(json_schema_extra=_enum_schema(TimelineKind.values))
    occurred_at: dt.datetime
    title: str = Field(description="One line for an event; the object changed for a change.")
    actor: int | None = Field(description="User id (null for the system or an integration).")
    actor_label: str
    channel: str = Field(description="How it was entered: page, api, command, system, import.")
    source: str = Field(description="The channel that sent an ingested event (e.g. wechat, taobao); else empty.")
    subject: TimelineSubjectOut | None = Field(description="The record the event is about (null for changes).")
    payload: dict[str, Any] = Field(
        description="An event's small JSON payload; a change's {changes: {field: [before, after]}}."
    )


class TimelinePage(Schema):
    items: list[TimelineItemOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page; null at the end.")


# --- custom-field definitions -----------------------------------------------------------------------


class CustomFieldOut(Schema):
    id: int
    object_type: str = Field(json_schema_extra=_enum_schema(CustomFieldObject.values))
    key: str
    label: str
    field_type: str = Field(json_schema_extra=_enum_schema(CustomFieldType.values))
    required: bool
    help_text: str
    order: int
    choices: list[str]

    @staticmethod
    def resolve_choices(obj: CustomFieldDefinition) -> list[str]:
        return list(obj.choices or [])


class CustomFieldIn(_Input):
    object_type: str = Field(json_schema_extra=_enum_schema(CustomFieldObject.values))
    key: str = Field(description="a-z, 0-9 and _, starting with a letter; fixed once created.")
    label: str
    field_type: str = Field(json_schema_extra=_enum_schema(CustomFieldType.values))
    required: bool | None = None
    help_text: str | None = None
    order: int | None = Field(None, ge=0)
    choices: list[str] | None = Field(None, description="For choice and multi_choice fields.")


class CustomFieldPatch(_Input):
    object_type: str | None = Field(None, description="Fixed once created; may only repeat the current value.")
    key: str | None = Field(None, description="Fixed once created; may only repeat the current value.")
    field_type: str | None = Field(None, description="Fixed once created; may only repeat the current value.")
    label: str | None = None
    required: bool | None = None
    help_text: str | None = None
    order: int | None = Field(None, ge=0)
    choices: list[str] | None = None


class CustomFieldPage(Schema):
    items: list[CustomFieldOut]
    count: int


class CustomFieldFilters(PageParams):
    object_type: str | None = _enum(CustomFieldObject.values)


# --- merges -----------------------------------------------------------------------------------------


class MergeIn(_Input):
    survivor: Id = Field(description="The customer that stays; it keeps its id and primary contact.")
    others: list[Id] = Field(description="Customers merged into the survivor and then removed (at most 50).")
    choices: dict[str, Id] | None = Field(
        None,
        description="{field: customer id} whose value the survivor keeps; custom fields as cf_<key>. "
        "Fields not named follow the rule.",
        examples=[{"name": 12, "cf_level": 15}],
    )
    rule: str | None = _enum(
        ["recent", "complete"],
        "recent (default): the most recently updated non-empty value; complete: the longest value.",
    )


class MergeOut(Schema):
    id: int
    survivor: int = Field(description="Customer id the others were merged into.")
    merged: list[int] = Field(description="Ids of the merged-away customers (now aliases of the survivor).")
    rule: str
    changes: dict[str, list[Any]] = Field(description="The survivor's changed fields: {field: [before, after]}.")
    actor: int | None = Field(description="User id of who merged.")
    created_at: dt.datetime
    undone_at: dt.datetime | None
    undone_by: int | None

    @staticmethod
    def resolve_survivor(obj: CustomerMerge) -> int:
        return obj.survivor_id

    @staticmethod
    def resolve_merged(obj: CustomerMerge) -> list[int]:
        return [int(pk) for pk in obj.merged_ids]

    @staticmethod
    def resolve_actor(obj: CustomerMerge) -> int | None:
        return obj.actor_id

    @staticmethod
    def resolve_undone_by(obj: CustomerMerge) -> int | None:
        return obj.undone_by_id


class MergeResultOut(Schema):
    merge_id: int
    merge: MergeOut
    customer: CustomerDetailOut = Field(description="The survivor as it is now.")


class UnmergeOut(Schema):
    merge: MergeOut
    customers: list[CustomerDetailOut] = Field(description="The survivor first, then the restored customers.")
