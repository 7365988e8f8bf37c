"""API shapes of import jobs and of the duplicate check."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Schema
from pydantic import Field

from pearl.dataquality.choices import ImportKey, ImportRule, ImportStatus, ImportTarget


class ImportCounts(Schema):
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicate: int = Field(
        0,
        description="Rows describing the same customer as an earlier row (not written); in a leads import, "
        "rows whose mobile, email or WeChat id is an open lead's, a customer's or an earlier row's.",
    )
    invalid: int = 0


class ImportIssueOut(Schema):
    row: int
    kind: str
    messages: list[str]


class AssignmentCountOut(Schema):
    rule: str = Field(description="The assignment rule's name; empty when no rule assigned these leads.")
    reason: str = Field(description="Why (the reason recorded on the lead; for a rule, one of its leads' reason).")
    count: int


class OwnerCountOut(Schema):
    owner: int | None = Field(description="The owner's user id; null for leads left unassigned or in a team queue.")
    name: str
    count: int


class ImportPreviewOut(Schema):
    counts: ImportCounts
    issues: list[ImportIssueOut] = Field(description="The first rows that would not be imported, with reasons.")
    warnings: list[str] = []
    assignment: list[AssignmentCountOut] = Field(
        [], description="A leads import: who the new leads would go to, by rule (no rule's turn is moved)."
    )


class ImportLeadsOut(Schema):
    """What a leads import did beyond the counts."""

    assigned_by: list[AssignmentCountOut]
    owners: list[OwnerCountOut]
    reverted_deleted: int | None = Field(description="Leads the revert deleted; null before a revert.")
    reverted_kept: list[int] = Field(description="Leads the revert kept because someone changed them since.")


class ImportColumnOut(Schema):
    index: int
    header: str
    field: str | None = Field(description="The field key the column feeds; null when not imported.")


class ImportJobOut(Schema):
    id: int
    filename: str
    status: ImportStatus
    sheet: str
    sheet_names: list[str]
    header_row: int
    columns: list[ImportColumnOut]
    target: ImportTarget = Field(description="What the rows become: customers or leads (chosen at upload).")
    key: ImportKey
    rule: ImportRule
    total_rows: int | None
    rows_processed: int
    percent: int
    last_row: int = Field(description="Sheet row of the last committed batch; a resumed run continues after it.")
    stalled: bool = Field(
        description="Checked or running, but without progress for minutes: its process has most likely stopped. "
        "POST /imports/{id}/run resumes a stalled run; POST /imports/{id}/preview checks the file again."
    )
    counts: ImportCounts
    preview: ImportPreviewOut | None
    leads: ImportLeadsOut | None = Field(description="A leads import's assignment figures; null for customers.")
    error: str
    report_url: str | None
    created_at: dt.datetime
    finished_at: dt.datetime | None


class ImportMappingPatch(Schema):
    mapping: dict[int, str] | None = Field(
        None, description="{column index: field key}; an empty key or a missing column means not imported."
    )
    key: ImportKey | None = None
    rule: ImportRule | None = None


class ImportRevertIn(Schema):
    skip_changed: bool = Field(
        False,
        description="Keep customers changed after the import and revert the rest. A leads import always keeps "
        "the leads changed since and deletes the rest.",
    )


# --- the duplicate check -------------------------------------------------------------------------


class CheckContactIn(Schema):
    name: str = Field("", max_length=100)
    mobile: str = Field("", max_length=40)
    email: str = Field("", max_length=254)
    wechat: str = Field("", max_length=64)


class DuplicateCheckIn(Schema):
    """What is typed so far for a new customer (every field optional)."""

    kind: Literal["company", "individual"] = "company"
    name: str = Field("", max_length=200)
    short_name: str = Field("", max_length=100)
    customer_type: str = Field("", max_length=100)
    province: str = Field("", max_length=50)
    city: str = Field("", max_length=50)
    district: str = Field("", max_length=50)
    address: str = Field("", max_length=255)
    contacts: list[CheckContactIn] = Field(default_factory=list, max_length=20)
    exclude: int | None = Field(None, ge=1, description="A customer to leave out (the one being edited).")


class ReasonOut(Schema):
    field: str
    outcome: str
    weight: float
    detail: str


class DuplicateHitOut(Schema):
    customer: int | None = Field(description="The customer's id; null when it is outside what you may see.")
    name: str
    score: float
    band: Literal["duplicate", "possible"]
    reasons: list[ReasonOut]


class DuplicateCheckOut(Schema):
    items: list[DuplicateHitOut]
    hidden: int = Field(description="How many of the items are customers you may not see (shown without details).")
    ms: float = Field(description="Time the matcher took, in milliseconds.")
