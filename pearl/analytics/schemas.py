"""API shapes for figures, grading rules and smart tags (XIn / XPatch / XOut).

Values are checked by the services (one message per problem, ``conditions.2.op``); the schemas only
refuse unknown names and take JSON types as sent.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from ninja import Schema
from pydantic import ConfigDict, Field

from pearl.analytics.conditions import FIELDS


class _Input(Schema):
    model_config = ConfigDict(extra="forbid", strict=True)


class CategoryAmount(Schema):
    category_id: int
    category: str
    amount: Decimal


class FiguresOut(Schema):
    """Key figures of a customer. All empty (and ``computed_at`` null) until its first order,
    payment, call or complaint, or the first rebuild."""

    customer: int
    first_order_at: dt.datetime | None = None
    last_order_at: dt.datetime | None = None
    order_count: int = 0
    orders_12m: int = 0
    purchase_cycle_days: Decimal | None = Field(None, description="Median days between consecutive orders.")
    avg_order_value: Decimal | None = None
    revenue_12m: Decimal = Decimal("0.00")
    revenue_total: Decimal = Decimal("0.00")
    margin_12m: Decimal | None = Field(None, description="Only orders whose cost is known.")
    avg_discount_rate: Decimal | None = Field(None, description="Discount ÷ gross amount, 0.1 = 10 %.")
    avg_days_to_pay: Decimal | None = Field(None, description="Order date to fully paid, in days.")
    unpaid_amount: Decimal = Decimal("0.00")
    overdue_amount: Decimal = Decimal("0.00")
    complaints_30d: int = 0
    last_contact_at: dt.datetime | None = None
    next_follow_up_at: dt.datetime | None = None
    top_categories: list[CategoryAmount] = Field(default_factory=list)
    computed_at: dt.datetime | None = None


class GradingRuleOut(Schema):
    id: int
    grade: str
    order: int
    min_revenue_12m: Decimal | None
    min_orders_12m: int | None
    min_margin_12m: Decimal | None
    is_active: bool
    version: int


class GradingRuleIn(_Input):
    """The first active rule (by ``order``) a customer meets gives its grade; a rule without any
    threshold takes everyone left. Amounts as strings or numbers."""

    grade: str = Field(description="A, B or C", examples=["A"])
    order: int = 0
    min_revenue_12m: str | int | None = Field(None, examples=["200000"])
    min_orders_12m: int | None = None
    min_margin_12m: str | int | None = None
    is_active: bool = True


class GradingRulePatch(_Input):
    grade: str | None = None
    order: int | None = None
    min_revenue_12m: str | int | None = None
    min_orders_12m: int | None = None
    min_margin_12m: str | int | None = None
    is_active: bool | None = None


class GradingRulePage(Schema):
    items: list[GradingRuleOut]
    count: int


_CONDITIONS_HELP = (
    "Rows {field, op, value}, all of which must hold. Fields: "
    + ", ".join(f"{key} ({'/'.join(spec.ops)})" for key, spec in FIELDS.items())
    + ". avg_discount_rate is in percent (10 = 10 %). category_lapsed takes `category` (id or name; "
    "null = any), complaints_recent takes `days` (default 30)."
)


class SmartTagOut(Schema):
    id: int
    tag: int = Field(validation_alias="tag_id")
    name: str = Field(validation_alias="tag.name")
    color: str = Field(validation_alias="tag.color")
    conditions: list[dict[str, Any]]
    description: str
    is_active: bool
    member_count: int
    last_synced_at: dt.datetime | None
    version: int


class SmartTagIn(_Input):
    name: str = Field(examples=["高价值客户"])
    color: str | None = Field(None, examples=["#c92a2a"])
    conditions: list[Any] = Field(
        description=_CONDITIONS_HELP, examples=[[{"field": "revenue_12m", "op": "gte", "value": 100000}]]
    )
    description: str | None = None
    is_active: bool = False


class SmartTagPatch(_Input):
    name: str | None = None
    color: str | None = None
    conditions: list[Any] | None = Field(None, description=_CONDITIONS_HELP)
    description: str | None = None
    is_active: bool | None = None


class SmartTagPage(Schema):
    items: list[SmartTagOut]
    count: int
