"""API shapes for communications, complaints and attachments (XIn / XPatch / XOut).

Inputs are strict about names (an unknown field is a 422) and loose about values: times are ISO-8601
strings (a bare date for a follow-up means 09:00 that day), and the services give one translated
message per problem, whichever interface the data came through.
"""

import datetime as dt
from typing import Annotated, Any

from django.urls import reverse
from ninja import Schema
from pydantic import ConfigDict, Field

from pearl.activities.choices import (
    CommunicationKind,
    ComplaintCategory,
    ComplaintKind,
    ComplaintStatus,
    Outcome,
)
from pearl.activities.filters import OPEN
from pearl.activities.models import Attachment, Communication, Complaint
from pearl.core.api import MAX_ID, PageParams

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
When = Annotated[str | None, Field(description="ISO-8601, e.g. 2026-11-23T15:30+08:00 (local time when no offset).")]


def _enum_schema(values: list[str]) -> dict[str, Any]:
    """Documents the allowed values in OpenAPI; the services do the checking (one message each)."""
    return {"enum": list(values)}


def _enum(values: list[str], description: str = "") -> Any:
    return Field(None, description=description or None, json_schema_extra=_enum_schema(list(values)))


class _Input(Schema):
    model_config = ConfigDict(extra="forbid", strict=True)


# --- files on a record ----------------------------------------------------------------------------------


def _content_url(obj: Attachment) -> str:
    return reverse("api:get_attachment_content", args=[obj.pk])


def _thumbnail_url(obj: Attachment) -> str | None:
    return f"{_content_url(obj)}?thumbnail=true" if obj.thumbnail else None


class RecordAttachmentOut(Schema):
    """A file on a communication or complaint, as its record lists it (the full row: GET /attachments/{id})."""

    id: int
    name: str = Field(description="The file name as uploaded.")
    content_type: str
    size: int = Field(description="Bytes.")
    is_image: bool
    content_url: str = Field(description="GET it (same authentication) for the file itself; checks your scope.")
    thumbnail_url: str | None = Field(description="A small JPEG of an image (same authentication); null otherwise.")

    @staticmethod
    def resolve_content_url(obj: Attachment) -> str:
        return _content_url(obj)

    @staticmethod
    def resolve_thumbnail_url(obj: Attachment) -> str | None:
        return _thumbnail_url(obj)


def _record_attachments(obj: Communication | Complaint) -> list[Attachment]:
    """The files the API put on the record (``selectors.with_attachments``), never a query per record."""
    found: list[Attachment] | None = getattr(obj, "prefetched_attachments", None)
    if found is None:
        raise RuntimeError("load the record's attachments with selectors.with_attachments before answering")
    return found


# --- communications ------------------------------------------------------------------------------------


class CommunicationOut(Schema):
    id: int
    customer: int
    kind: str = Field(json_schema_extra=_enum_schema(CommunicationKind.values))
    occurred_at: dt.datetime
    author: int | None = Field(description="User id of who was in touch.")
    author_name: str
    contact: int | None = Field(description="Contact id (of this customer).")
    contact_name: str
    purpose: str
    place: str
    outcome: str = Field(json_schema_extra=_enum_schema(["", *Outcome.values]))
    summary: str
    duration_minutes: int | None
    next_follow_up_at: dt.datetime | None
    attachments: list[RecordAttachmentOut] = Field(description="Its files and photos, oldest first.")
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_customer(obj: Communication) -> int:
        return obj.customer_id

    @staticmethod
    def resolve_attachments(obj: Communication) -> list[Attachment]:
        return _record_attachments(obj)

    @staticmethod
    def resolve_author(obj: Communication) -> int | None:
        return obj.author_id

    @staticmethod
    def resolve_author_name(obj: Communication) -> str:
        return str(obj.author) if obj.author_id and obj.author else ""

    @staticmethod
    def resolve_contact(obj: Communication) -> int | None:
        return obj.contact_id

    @staticmethod
    def resolve_contact_name(obj: Communication) -> str:
        return obj.contact.name if obj.contact_id and obj.contact else ""


class _CommunicationFields(_Input):
    kind: str | None = _enum(CommunicationKind.values)
    occurred_at: When = None
    contact: Id | None = Field(None, description="Contact id (of this customer).")
    author: Id | None = Field(None, description="User id; defaults to you.")
    purpose: str | None = Field(None, max_length=100)
    place: str | None = Field(None, max_length=200)
    outcome: str | None = _enum(["", *Outcome.values])
    summary: str | None = Field(None, max_length=4000)
    duration_minutes: int | None = None
    next_follow_up_at: When = Field(None, description="ISO-8601 date or date-time; a bare date means 09:00.")


class CommunicationIn(_CommunicationFields):
    customer: Id
    kind: str = Field(json_schema_extra=_enum_schema(CommunicationKind.values))


class CommunicationPatch(_CommunicationFields):
    pass


class CommunicationPage(Schema):
    items: list[CommunicationOut]
    count: int


class CommunicationFilters(PageParams):
    customer: Id | None = None
    kind: str | None = _enum(CommunicationKind.values)
    author: str | None = Field(None, description='User id, or "me".')
    since: dt.date | None = Field(None, description="From this day (inclusive).")
    until: dt.date | None = Field(None, description="Up to this day (inclusive).")


# --- complaints ----------------------------------------------------------------------------------------


class ComplaintOut(Schema):
    id: int
    customer: int
    kind: str = Field(json_schema_extra=_enum_schema(ComplaintKind.values))
    category: str = Field(json_schema_extra=_enum_schema(ComplaintCategory.values))
    title: str
    description: str
    status: str = Field(json_schema_extra=_enum_schema(ComplaintStatus.values))
    received_at: dt.datetime
    resolved_at: dt.datetime | None
    resolution: str
    contact: int | None
    order: int | None
    handler: int | None
    attachments: list[RecordAttachmentOut] = Field(description="Its files, oldest first.")
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_customer(obj: Complaint) -> int:
        return obj.customer_id

    @staticmethod
    def resolve_attachments(obj: Complaint) -> list[Attachment]:
        return _record_attachments(obj)

    @staticmethod
    def resolve_contact(obj: Complaint) -> int | None:
        return obj.contact_id

    @staticmethod
    def resolve_order(obj: Complaint) -> int | None:
        return obj.order_id

    @staticmethod
    def resolve_handler(obj: Complaint) -> int | None:
        return obj.handler_id


class _ComplaintFields(_Input):
    kind: str | None = _enum(ComplaintKind.values)
    category: str | None = _enum(ComplaintCategory.values)
    title: str | None = Field(None, max_length=100)
    description: str | None = Field(None, max_length=4000)
    received_at: When = None
    contact: Id | None = Field(None, description="Contact id (of this customer).")
    order: Id | None = Field(None, description="Order id; must be this customer's.")
    handler: Id | None = Field(None, description="User id.")
    resolution: str | None = Field(None, max_length=4000)


class ComplaintIn(_ComplaintFields):
    customer: Id
    category: str = Field(json_schema_extra=_enum_schema(ComplaintCategory.values))
    title: str = Field(max_length=100)


class ComplaintPatch(_ComplaintFields):
    status: str | None = Field(
        None,
        description="Moves allowed: open → in progress / resolved / closed; in progress → resolved / closed; "
        "resolved → closed / open; closed → open. Resolving needs a resolution.",
        json_schema_extra=_enum_schema(ComplaintStatus.values),
    )


class ComplaintPage(Schema):
    items: list[ComplaintOut]
    count: int


class ComplaintFilters(PageParams):
    customer: Id | None = None
    status: str | None = _enum([OPEN, *ComplaintStatus.values], f'"{OPEN}" = open or in progress.')
    kind: str | None = _enum(ComplaintKind.values)
    category: str | None = _enum(ComplaintCategory.values)
    handler: str | None = Field(None, description='User id, or "me".')
    since: dt.date | None = Field(None, description="Received from this day (inclusive).")
    until: dt.date | None = Field(None, description="Received up to this day (inclusive).")


# --- attachments ---------------------------------------------------------------------------------------


class AttachmentOut(Schema):
    id: int
    customer: int
    subject_type: str = Field(examples=["activities.communication"])
    subject_id: int
    name: str
    content_type: str
    size: int
    is_image: bool
    uploaded_by: int | None
    uploaded_at: dt.datetime
    content_url: str = Field(description="GET it (same authentication) for the file itself.")
    thumbnail_url: str | None = Field(description="A small JPEG of an image (same authentication); null otherwise.")

    @staticmethod
    def resolve_customer(obj: Attachment) -> int:
        return obj.customer_id

    @staticmethod
    def resolve_uploaded_by(obj: Attachment) -> int | None:
        return obj.uploaded_by_id

    @staticmethod
    def resolve_content_url(obj: Attachment) -> str:
        return _content_url(obj)

    @staticmethod
    def resolve_thumbnail_url(obj: Attachment) -> str | None:
        return _thumbnail_url(obj)


class AttachmentUpload(Schema):
    """The form fields of a multipart upload (beside the ``file`` part)."""

    customer: Id
    subject_type: str = Field(max_length=64, examples=["activities.communication"])
    subject_id: Id
    image_only: bool = Field(False, description="Refuse anything Pillow cannot decode as an image (visit photos).")


class AttachmentPage(Schema):
    items: list[AttachmentOut]
    count: int


class AttachmentFilters(PageParams):
    customer: Id | None = None
    subject_type: str | None = Field(None, max_length=64)
    subject_id: Id | None = None
