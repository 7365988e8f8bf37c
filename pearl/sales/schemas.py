"""API shapes for products, orders, payments, receivables and invoicing details (XIn / XPatch / XOut).

Money goes out as a string with two places ("1280.00") so no client reads it as a float; it comes
in as a string or a JSON number and the services check it (one translated message per problem).
Unknown field names are a 422.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from pearl.core.api import INVALID, MAX_ID, PageParams
from pearl.sales.choices import InvoiceType, OrderStatus, PaymentMethod
from pearl.sales.filters import BUCKETS, PERIODS
from pearl.sales.models import (
    CustomerBilling,
    Order,
    OrderLine,
    Payment,
    PaymentAllocation,
    PriceList,
    PriceListItem,
    Product,
    ProductCategory,
)

Id = Annotated[int, Field(ge=1, le=MAX_ID)]


def _number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise PydanticCustomError(INVALID, str(_('Enter a number (as a JSON number or a string such as "12.50").')))
    return str(value) if isinstance(value, float) else value


Number = Annotated[
    int | str | float,
    BeforeValidator(_number),
    Field(description='A decimal number; send a string such as "12.50" to keep it exact.', examples=["12.50"]),
]
Money = Annotated[str, Field(description="Decimal with two places, as a string.", examples=["1280.00"])]


def _enum(values: list[str]) -> dict[str, Any]:
    return {"enum": list(values)}


class _Input(Schema):
    model_config = ConfigDict(extra="forbid", strict=True)


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


# --- categories and products -------------------------------------------------------------------------


class CategoryOut(Schema):
    id: int
    name: str
    parent: int | None
    order: int

    @staticmethod
    def resolve_parent(obj: ProductCategory) -> int | None:
        return obj.parent_id


class CategoryIn(_Input):
    name: str
    parent: Id | None = None
    order: int | None = Field(None, ge=0, le=2**31 - 1)


class CategoryPatch(_Input):
    name: str | None = None
    parent: Id | None = None
    order: int | None = Field(None, ge=0, le=2**31 - 1)


class CategoryPage(Schema):
    items: list[CategoryOut]
    count: int


class ProductOut(Schema):
    id: int
    sku: str
    name: str
    category: int
    category_name: str
    unit: str
    spec: str
    price: Money
    cost: Money | None
    currency: str
    is_active: bool
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_category(obj: Product) -> int:
        return obj.category_id

    @staticmethod
    def resolve_category_name(obj: Product) -> str:
        return obj.category.name

    @staticmethod
    def resolve_price(obj: Product) -> str:
        return f"{obj.price:.2f}"

    @staticmethod
    def resolve_cost(obj: Product) -> str | None:
        return _money(obj.cost)


class ProductIn(_Input):
    sku: str
    name: str
    category: Id
    unit: str = Field(examples=["斤"])
    spec: str | None = None
    price: Number
    cost: Number | None = None
    is_active: bool | None = None


class ProductPatch(_Input):
    sku: str | None = None
    name: str | None = None
    category: Id | None = None
    unit: str | None = None
    spec: str | None = None
    price: Number | None = None
    cost: Number | None = None
    is_active: bool | None = None


class ProductPage(Schema):
    items: list[ProductOut]
    count: int


class ProductFilters(PageParams):
    q: str | None = Field(None, max_length=64, description="Start of the SKU or part of the name.")
    category: Id | None = Field(None, description="Category id (its subcategories included).")
    active: bool | None = Field(None, description="On sale (true) or not (false).")


class PriceListItemOut(Schema):
    product: int
    price: Money

    @staticmethod
    def resolve_product(obj: PriceListItem) -> int:
        return obj.product_id

    @staticmethod
    def resolve_price(obj: PriceListItem) -> str:
        return f"{obj.price:.2f}"


class PriceListOut(Schema):
    id: int
    name: str
    customer_type: int | None
    customer_type_label: str | None
    is_active: bool
    items: list[PriceListItemOut]

    @staticmethod
    def resolve_customer_type(obj: PriceList) -> int | None:
        return obj.customer_type_id

    @staticmethod
    def resolve_customer_type_label(obj: PriceList) -> str | None:
        return obj.customer_type.label if obj.customer_type else None

    @staticmethod
    def resolve_items(obj: PriceList) -> list[PriceListItem]:
        return list(obj.items.all())


class PriceListItemIn(_Input):
    product: Id
    price: Number


class PriceListIn(_Input):
    name: str
    customer_type: Id | None = Field(None, description="Customer-type option id; its customers get these prices.")
    is_active: bool | None = None
    items: list[PriceListItemIn] | None = None


class PriceListPatch(_Input):
    name: str | None = None
    customer_type: Id | None = None
    is_active: bool | None = None
    items: list[PriceListItemIn] | None = Field(None, description="Replaces all items.")


class PriceListPage(Schema):
    items: list[PriceListOut]
    count: int


class PriceOut(Schema):
    product: int
    customer: int
    price: Money


# --- orders ------------------------------------------------------------------------------------------


class OrderLineOut(Schema):
    id: int
    product: int
    sku: str
    name: str
    unit: str
    quantity: str = Field(examples=["12.500"])
    unit_price: Money
    discount: Money
    amount: Money

    @staticmethod
    def resolve_product(obj: OrderLine) -> int:
        return obj.product_id

    @staticmethod
    def resolve_sku(obj: OrderLine) -> str:
        return obj.product.sku

    @staticmethod
    def resolve_name(obj: OrderLine) -> str:
        return obj.product.name

    @staticmethod
    def resolve_unit(obj: OrderLine) -> str:
        return obj.product.unit

    @staticmethod
    def resolve_quantity(obj: OrderLine) -> str:
        return f"{obj.quantity:.3f}"

    @staticmethod
    def resolve_unit_price(obj: OrderLine) -> str:
        return f"{obj.unit_price:.2f}"

    @staticmethod
    def resolve_discount(obj: OrderLine) -> str:
        return f"{obj.discount:.2f}"

    @staticmethod
    def resolve_amount(obj: OrderLine) -> str:
        return f"{obj.amount:.2f}"


class OrderOut(Schema):
    id: int
    number: str
    customer: int
    customer_name: str
    status: str = Field(json_schema_extra=_enum(OrderStatus.values))
    ordered_at: dt.datetime
    due_date: dt.date | None
    salesperson: int | None
    currency: str
    subtotal: Money
    discount: Money
    amount: Money
    cost: Money | None
    paid_amount: Money
    outstanding: Money
    paid_at: dt.datetime | None
    delivery_contact: str
    delivery_phone: str
    delivery_address: str
    delivered_at: dt.datetime | None
    note: str
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_customer(obj: Order) -> int:
        return obj.customer_id

    @staticmethod
    def resolve_customer_name(obj: Order) -> str:
        return obj.customer.name

    @staticmethod
    def resolve_salesperson(obj: Order) -> int | None:
        return obj.salesperson_id

    @staticmethod
    def resolve_subtotal(obj: Order) -> str:
        return f"{obj.subtotal:.2f}"

    @staticmethod
    def resolve_discount(obj: Order) -> str:
        return f"{obj.discount:.2f}"

    @staticmethod
    def resolve_amount(obj: Order) -> str:
        return f"{obj.amount:.2f}"

    @staticmethod
    def resolve_cost(obj: Order) -> str | None:
        return _money(obj.cost)

    @staticmethod
    def resolve_paid_amount(obj: Order) -> str:
        return f"{obj.paid_amount:.2f}"

    @staticmethod
    def resolve_outstanding(obj: Order) -> str:
        return f"{obj.outstanding:.2f}"


class OrderAllocationOut(Schema):
    payment: int
    payment_number: str
    amount: Money
    received_at: dt.datetime

    @staticmethod
    def resolve_payment(obj: PaymentAllocation) -> int:
        return obj.payment_id

    @staticmethod
    def resolve_payment_number(obj: PaymentAllocation) -> str:
        return obj.payment.number

    @staticmethod
    def resolve_amount(obj: PaymentAllocation) -> str:
        return f"{obj.amount:.2f}"

    @staticmethod
    def resolve_received_at(obj: PaymentAllocation) -> dt.datetime:
        return obj.payment.received_at


class OrderDetailOut(OrderOut):
    lines: list[OrderLineOut]
    payments: list[OrderAllocationOut]

    @staticmethod
    def resolve_lines(obj: Order) -> list[OrderLine]:
        return list(obj.lines.all())

    @staticmethod
    def resolve_payments(obj: Order) -> list[PaymentAllocation]:
        return list(obj.allocations.all())


class OrderLineIn(_Input):
    product: Id
    quantity: Number
    unit_price: Number | None = Field(None, description="Defaults to the customer's price list, else the list price.")
    discount: Number | None = None


class OrderIn(_Input):
    customer: Id
    lines: list[OrderLineIn]
    ordered_at: dt.datetime | None = Field(None, description="Defaults to now.")
    due_date: dt.date | None = Field(None, description="Defaults to the order date + 30 days.")
    delivery_contact: str | None = None
    delivery_phone: str | None = None
    delivery_address: str | None = None
    note: str | None = None

    model_config = ConfigDict(extra="forbid", strict=False)  # dates come as ISO strings


class OrderPatch(_Input):
    status: str | None = Field(None, json_schema_extra=_enum(OrderStatus.values))
    lines: list[OrderLineIn] | None = Field(None, description="Replaces all lines (placed orders only).")
    ordered_at: dt.datetime | None = None
    due_date: dt.date | None = None
    delivery_contact: str | None = None
    delivery_phone: str | None = None
    delivery_address: str | None = None
    note: str | None = None

    model_config = ConfigDict(extra="forbid", strict=False)


class OrderPage(Schema):
    items: list[OrderOut]
    count: int
    count_capped: bool = Field(False, description="True when the count stopped at 1,000.")


class OrderFilters(PageParams):
    q: str | None = Field(None, max_length=32, description="Order number or its start.")
    status: str | None = Field(None, json_schema_extra=_enum(OrderStatus.values))
    customer: Id | None = None
    period: str | None = Field(None, json_schema_extra=_enum(list(PERIODS)))
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    overdue: bool | None = None
    owner: str | None = Field(None, description="The customer's owner: a user id or “me”.")


# --- payments ----------------------------------------------------------------------------------------


class AllocationOut(Schema):
    order: int
    order_number: str
    amount: Money

    @staticmethod
    def resolve_order(obj: PaymentAllocation) -> int:
        return obj.order_id

    @staticmethod
    def resolve_order_number(obj: PaymentAllocation) -> str:
        return obj.order.number

    @staticmethod
    def resolve_amount(obj: PaymentAllocation) -> str:
        return f"{obj.amount:.2f}"


class PaymentOut(Schema):
    id: int
    number: str
    customer: int
    customer_name: str
    amount: Money
    currency: str
    received_at: dt.datetime
    method: str = Field(json_schema_extra=_enum(PaymentMethod.values))
    reference: str
    note: str
    recorded_by: int | None
    allocations: list[AllocationOut]
    version: int
    created_at: dt.datetime

    @staticmethod
    def resolve_customer(obj: Payment) -> int:
        return obj.customer_id

    @staticmethod
    def resolve_customer_name(obj: Payment) -> str:
        return obj.customer.name

    @staticmethod
    def resolve_amount(obj: Payment) -> str:
        return f"{obj.amount:.2f}"

    @staticmethod
    def resolve_recorded_by(obj: Payment) -> int | None:
        return obj.recorded_by_id

    @staticmethod
    def resolve_allocations(obj: Payment) -> list[PaymentAllocation]:
        return list(obj.allocations.all())


class AllocationIn(_Input):
    order: Id
    amount: Number


class PaymentIn(_Input):
    customer: Id
    amount: Number
    received_at: dt.datetime
    method: str | None = Field(None, json_schema_extra=_enum(PaymentMethod.values))
    reference: str | None = None
    note: str | None = None
    allocations: list[AllocationIn] | None = Field(
        None, description="Omit to pay the customer's unpaid orders oldest due first."
    )

    model_config = ConfigDict(extra="forbid", strict=False)


class PaymentPatch(_Input):
    received_at: dt.datetime | None = None
    method: str | None = Field(None, json_schema_extra=_enum(PaymentMethod.values))
    reference: str | None = None
    note: str | None = None

    model_config = ConfigDict(extra="forbid", strict=False)


class PaymentPage(Schema):
    items: list[PaymentOut]
    count: int
    count_capped: bool = False


class PaymentFilters(PageParams):
    customer: Id | None = None
    method: str | None = Field(None, json_schema_extra=_enum(PaymentMethod.values))
    period: str | None = Field(None, json_schema_extra=_enum(list(PERIODS)))
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    owner: str | None = None


# --- receivables -------------------------------------------------------------------------------------


class ReceivableOut(Schema):
    order: int
    number: str
    customer: int
    customer_name: str
    ordered_at: dt.datetime
    due_date: dt.date | None
    amount: Money
    paid_amount: Money
    outstanding: Money
    days_overdue: int
    bucket: str = Field(json_schema_extra=_enum([k for k, _label in BUCKETS]))


class BucketOut(Schema):
    key: str
    label: str
    amount: Money
    count: int


class ReceivablePage(Schema):
    items: list[ReceivableOut]
    count: int
    count_capped: bool = False
    total: Money
    overdue: Money
    buckets: list[BucketOut]


class ReceivableFilters(PageParams):
    customer: Id | None = None
    owner: str | None = None
    bucket: str | None = Field(None, json_schema_extra=_enum([k for k, _label in BUCKETS]))


# --- invoicing details -------------------------------------------------------------------------------


class BillingOut(Schema):
    customer: int
    invoice_type: str = Field(json_schema_extra=_enum(InvoiceType.values))
    title: str
    tax_id: str
    bank: str
    account: str
    address: str
    phone: str
    email: str
    version: int
    updated_at: dt.datetime | None

    @staticmethod
    def resolve_customer(obj: CustomerBilling) -> int:
        return obj.customer_id


class BillingIn(_Input):
    invoice_type: str | None = Field(None, json_schema_extra=_enum(InvoiceType.values))
    title: str
    tax_id: str | None = Field(None, description="15, 18 or 20 letters and digits.")
    bank: str | None = None
    account: str | None = None
    address: str | None = None
    phone: str | None = None
    email: str | None = None


class ImportProblemOut(Schema):
    row: int
    sku: str
    reason: str


class ImportReportOut(Schema):
    created: int
    updated: int
    unchanged: int
    new_categories: list[str]
    problems: list[ImportProblemOut]
    dry_run: bool


class SalesOverviewOut(Schema):
    customer: int
    recent_orders: list[OrderOut]
    unpaid_total: Money
    overdue_total: Money
    overdue_orders: list[OrderOut]
    ageing: list[BucketOut]
    billing: BillingOut | None
