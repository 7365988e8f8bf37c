"""API shapes for tasks and notifications (XIn / XPatch / XOut)."""

import datetime as dt
from typing import Annotated

from ninja import Schema
from pydantic import ConfigDict, Field

from pearl.core.api import MAX_ID, PageParams
from pearl.reminders.models import Notification, Task

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
When = Annotated[str, Field(description="ISO-8601, e.g. 2026-12-01T15:30+08:00 (local time when no offset).")]


class _Input(Schema):
    model_config = ConfigDict(extra="forbid", strict=True)


class TaskOut(Schema):
    id: int
    title: str
    note: str
    customer: int | None = Field(description="Customer id, if the task is about one.")
    customer_name: str
    owner: int = Field(description="User id of whose task it is.")
    owner_name: str
    due_at: dt.datetime
    done_at: dt.datetime | None
    overdue: bool = Field(description="Open and due before now.")
    source_type: str = Field(description='Where it came from, e.g. "leads.lead"; empty when entered by hand.')
    source_id: int | None
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_customer(obj: Task) -> int | None:
        return obj.customer_id

    @staticmethod
    def resolve_customer_name(obj: Task) -> str:
        return obj.customer.name if obj.customer_id and obj.customer else ""

    @staticmethod
    def resolve_owner(obj: Task) -> int:
        return obj.owner_id

    @staticmethod
    def resolve_owner_name(obj: Task) -> str:
        return str(obj.owner)

    @staticmethod
    def resolve_overdue(obj: Task) -> bool:
        return obj.done_at is None and obj.due_at < dt.datetime.now(dt.UTC)


class TaskIn(_Input):
    title: str = Field(max_length=200)
    due_at: When
    note: str = Field("", max_length=4000)
    customer: Id | None = Field(None, description="Customer id (one you may see).")
    owner: Id | None = Field(None, description="User id; defaults to you. Someone else must be in your data scope.")


class TaskPatch(_Input):
    title: str | None = Field(None, max_length=200)
    due_at: When | None = None
    note: str | None = Field(None, max_length=4000)
    customer: Id | None = None
    owner: Id | None = None


class TaskPage(Schema):
    items: list[TaskOut]
    count: int


class TaskFilters(PageParams):
    owner: str | None = Field(None, description='"me" (default), a user id, or "all" (everyone in your scope).')
    done: bool | None = Field(None, description="true: done ones; false: open ones.")
    due_before: str | None = Field(None, description="A date (the whole day included) or an ISO-8601 date-time.")
    customer: Id | None = None


class NotificationOut(Schema):
    id: int
    title: str
    body: str
    link: str
    subject_type: str
    subject_id: int | None
    created_at: dt.datetime
    read_at: dt.datetime | None

    @staticmethod
    def resolve_link(obj: Notification) -> str:
        return obj.link


class NotificationPage(Schema):
    items: list[NotificationOut]
    count: int
    unread: int = Field(description="How many of your notifications are unread.")


class NotificationFilters(PageParams):
    unread: bool | None = Field(None, description="true: only the unread ones.")


class ReadAllOut(Schema):
    marked: int = Field(description="How many notifications were marked read.")
