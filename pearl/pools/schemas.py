"""API shapes of the public pool (XIn / XOut)."""

from __future__ import annotations

import datetime as dt

from ninja import Schema
from pydantic import ConfigDict, Field


class _Input(Schema):
    model_config = ConfigDict(extra="forbid")


class PoolOut(Schema):
    id: int
    name: str
    customer_count: int = Field(description="Customers lying in the pool now.")
    is_default: bool
    mask_contacts: bool
    max_customers_per_person: int | None
    daily_claim_quota: int | None
    cooldown_days: int
    reclaim_after_days_without_follow_up: int
    reclaim_after_days_without_deal: int | None
    warn_days_before: int
    rules_since: dt.datetime | None = Field(
        description="When the pool was last switched on: no reclaim clock starts earlier (null: always on)."
    )


class PoolPage(Schema):
    items: list[PoolOut]
    count: int


class PoolCustomerOut(Schema):
    customer: int
    name: str
    province: str
    city: str
    grade: str
    entered_at: dt.datetime
    reason: str = Field(description="reclaimed / released / handover")
    contact_name: str
    mobile: str = Field(description="Masked (138****5678) while unclaimed when the pool masks contacts.")
    email: str
    wechat: str
    masked: bool


class QuotaOut(Schema):
    held: int
    max_held: int | None
    claimed_today: int
    daily_quota: int | None


class PoolCustomerPage(Schema):
    items: list[PoolCustomerOut]
    count: int
    quota: QuotaOut


class ClaimIn(_Input):
    customer: int


class ReleaseIn(_Input):
    customer: int
    reason: str


class OwnershipOut(Schema):
    customer: int
    owner: int | None
    team: int | None
    version: int


class PoolEntryOut(Schema):
    customer: int
    pool: int
    entered_at: dt.datetime
    reason: str
    previous_owner: int | None


class ProtectionIn(_Input):
    reason: str = ""


class ProtectionOut(Schema):
    customer: int
    protected_by: int | None
    reason: str
    at: dt.datetime


class HandoverIn(_Input):
    to: list[int] = Field(description="Users who take over, round-robin.")
    deactivate: bool = False
    dry_run: bool = True


class HandoverOut(Schema):
    from_user: int
    to: list[int]
    counts: dict[str, int] = Field(description="What the user holds, per kind (customers, leads, tasks…).")
    moved: dict[str, int] = Field(description="What moved (empty for a dry run).")
    customers_per_receiver: dict[int, int]
    dry_run: bool
    deactivated: bool
