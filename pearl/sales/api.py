"""/api/v1 products, product categories, orders, payments, receivables and invoicing details.

Thin: parse, call a selector or service, shape the answer. Scope and permissions live in the
services and selectors: a record whose customer the actor may not see is a 404, never a 403.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router, Status
from ninja.files import UploadedFile

from pearl.core.api import (
    IDEMPOTENCY_OPENAPI,
    PAGE_PARAMS,
    PageParams,
    api_actor,
    check_id,
    if_match_version,
    page,
    problem_responses,
    reject_unknown_params,
    set_etag,
)
from pearl.core.errors import NotFound
from pearl.customers.schemas import ChangePage
from pearl.sales import selectors, services
from pearl.sales.filters import Bucket
from pearl.sales.models import CustomerBilling, Order, Payment, PriceList, Product, ProductCategory
from pearl.sales.schemas import (
    BillingIn,
    BillingOut,
    CategoryIn,
    CategoryOut,
    CategoryPage,
    CategoryPatch,
    ImportReportOut,
    OrderDetailOut,
    OrderFilters,
    OrderIn,
    OrderPage,
    OrderPatch,
    PaymentFilters,
    PaymentIn,
    PaymentOut,
    PaymentPage,
    PaymentPatch,
    PriceListIn,
    PriceListOut,
    PriceListPage,
    PriceListPatch,
    PriceOut,
    ProductFilters,
    ProductIn,
    ProductOut,
    ProductPage,
    ProductPatch,
    ReceivableFilters,
    ReceivablePage,
    SalesOverviewOut,
)

router = Router()

_READ_ERRORS = problem_responses(401, 404)
_LIST_ERRORS = problem_responses(401, 422)
_WRITE_ERRORS = problem_responses(400, 401, 403, 404, 409, 412, 422)
PRODUCTS, ORDERS, PAYMENTS = ["products"], ["orders"], ["payments"]


def _params(request: HttpRequest, schema: type[PageParams]) -> dict[str, Any]:
    reject_unknown_params(request, set(schema.model_fields))
    return {k: v for k, v in request.GET.items() if k not in PAGE_PARAMS}


def _dump(payload: Any) -> dict[str, Any]:
    data: dict[str, Any] = payload.model_dump(exclude_unset=True)
    return data


# --- product categories ------------------------------------------------------------------------------


def _category(request: HttpRequest, category_id: int) -> ProductCategory:
    check_id(category_id, _("Category not found."))
    return selectors.category_get(actor=api_actor(request), category_id=category_id)


@router.get("/product-categories", response={200: CategoryPage, **_LIST_ERRORS}, tags=PRODUCTS)
def list_product_categories(request: HttpRequest, filters: Query[PageParams]) -> dict[str, Any]:
    """All product categories (a tree through `parent`)."""
    reject_unknown_params(request, PAGE_PARAMS)
    qs = selectors.category_list(actor=api_actor(request))
    return {"items": page(qs, filters.limit, filters.offset), "count": qs.count()}


@router.post(
    "/product-categories",
    response={201: CategoryOut, **_WRITE_ERRORS},
    tags=PRODUCTS,
    openapi_extra=IDEMPOTENCY_OPENAPI,
)
def create_product_category(request: HttpRequest, payload: CategoryIn) -> Status[ProductCategory]:
    """Needs the manage-settings permission."""
    data = _dump(payload)
    if data.get("order") is None:
        data.pop("order", None)
    return Status(201, services.category_create(actor=api_actor(request), data=data))


@router.get("/product-categories/{int:id}", response={200: CategoryOut, **_READ_ERRORS}, tags=PRODUCTS)
def get_product_category(request: HttpRequest, id: int) -> ProductCategory:
    return _category(request, id)


@router.patch("/product-categories/{int:id}", response={200: CategoryOut, **_WRITE_ERRORS}, tags=PRODUCTS)
def update_product_category(request: HttpRequest, id: int, payload: CategoryPatch) -> ProductCategory:
    _category(request, id)
    return services.category_update(actor=api_actor(request), category_id=id, data=_dump(payload))


@router.delete("/product-categories/{int:id}", response={204: None, **_WRITE_ERRORS}, tags=PRODUCTS)
def delete_product_category(request: HttpRequest, id: int) -> Status[None]:
    """Refused (409) while products or subcategories are in it."""
    _category(request, id)
    services.category_delete(actor=api_actor(request), category_id=id)
    return Status(204, None)


# --- products ----------------------------------------------------------------------------------------


def _product(request: HttpRequest, response: HttpResponse, product_id: int) -> Product:
    check_id(product_id, _("Product not found."))
    product = selectors.product_get(actor=api_actor(request), product_id=product_id)
    set_etag(response, product.version)
    return product


@router.get("/products", response={200: ProductPage, **_LIST_ERRORS}, tags=PRODUCTS)
def list_products(request: HttpRequest, filters: Query[ProductFilters]) -> dict[str, Any]:
    """The catalogue, by category then SKU; `q` matches the start of the SKU or part of the name."""
    params = _params(request, ProductFilters)
    qs = selectors.product_list(actor=api_actor(request), filters=params)
    return {"items": page(qs, filters.limit, filters.offset), "count": qs.count()}


@router.post("/products", response={201: ProductOut, **_WRITE_ERRORS}, tags=PRODUCTS, openapi_extra=IDEMPOTENCY_OPENAPI)
def create_product(request: HttpRequest, response: HttpResponse, payload: ProductIn) -> Status[Product]:
    """Needs the manage-settings permission; the SKU is unique."""
    data = _dump(payload)
    if data.get("is_active") is None:
        data.pop("is_active", None)
    product = services.product_create(actor=api_actor(request), data=data)
    response["Location"] = reverse("api:get_product", args=[product.pk])
    return Status(201, _product(request, response, product.pk))


@router.post(
    "/products/import", response={200: ImportReportOut, **_WRITE_ERRORS}, tags=PRODUCTS,
    openapi_extra=IDEMPOTENCY_OPENAPI,
)  # fmt: skip
def import_product_file(
    request: HttpRequest, file: File[UploadedFile], dry_run: Form[bool] = False
) -> services.ImportReport:
    """Create or update products by SKU from a spreadsheet (multipart `file`, .xlsx/.xls/.csv).

    Columns SKU, 名称, 分类, 单位, 规格, 价格, 成本 (在售 optional). Every row is written whole or
    not at all; refused rows are listed in `problems` with their row number and reason. Unknown
    categories are created. A file that cannot be read at all is a 422.
    """
    return services.import_products(
        actor=api_actor(request), source=file, filename=file.name or "products", dry_run=dry_run
    )


@router.get("/products/{int:id}", response={200: ProductOut, **_READ_ERRORS}, tags=PRODUCTS)
def get_product(request: HttpRequest, response: HttpResponse, id: int) -> Product:
    return _product(request, response, id)


@router.get("/products/{int:id}/price", response={200: PriceOut, **problem_responses(401, 404, 422)}, tags=PRODUCTS)
def get_product_price(request: HttpRequest, id: int, customer: int) -> dict[str, Any]:
    """The unit price an order line of this product for this customer defaults to."""
    check_id(id, _("Product not found."))
    check_id(customer, _("Customer not found."))
    price = selectors.customer_price(actor=api_actor(request), customer_id=customer, product_id=id)
    if price is None:
        raise NotFound(_("Product not found."))
    return {"product": id, "customer": customer, "price": f"{price:.2f}"}


@router.patch("/products/{int:id}", response={200: ProductOut, **_WRITE_ERRORS}, tags=PRODUCTS)
def update_product(request: HttpRequest, response: HttpResponse, id: int, payload: ProductPatch) -> Product:
    """Change only the fields given. Send `If-Match: "<version>"` to refuse a stale write (412)."""
    check_id(id, _("Product not found."))
    selectors.product_get(actor=api_actor(request), product_id=id)
    services.product_update(
        actor=api_actor(request), product_id=id, data=_dump(payload), expected_version=if_match_version(request)
    )
    return _product(request, response, id)


@router.delete("/products/{int:id}", response={204: None, **_WRITE_ERRORS}, tags=PRODUCTS)
def delete_product(request: HttpRequest, id: int) -> Status[None]:
    """Only a product that never appeared on an order (409 otherwise: take it off sale instead)."""
    check_id(id, _("Product not found."))
    selectors.product_get(actor=api_actor(request), product_id=id)
    services.product_delete(actor=api_actor(request), product_id=id, expected_version=if_match_version(request))
    return Status(204, None)


# --- price lists -----------------------------------------------------------------------------------


def _price_list(request: HttpRequest, price_list_id: int) -> PriceList:
    check_id(price_list_id, _("Price list not found."))
    return selectors.price_list_get(actor=api_actor(request), price_list_id=price_list_id)


@router.get("/price-lists", response={200: PriceListPage, **_LIST_ERRORS}, tags=PRODUCTS)
def list_price_lists(request: HttpRequest, filters: Query[PageParams]) -> dict[str, Any]:
    """Price lists: an active list for a customer type sets the default unit price of its customers' orders."""
    reject_unknown_params(request, PAGE_PARAMS)
    qs = selectors.price_list_list(actor=api_actor(request))
    return {"items": page(qs, filters.limit, filters.offset), "count": qs.count()}


@router.post(
    "/price-lists", response={201: PriceListOut, **_WRITE_ERRORS}, tags=PRODUCTS, openapi_extra=IDEMPOTENCY_OPENAPI
)
def create_price_list(request: HttpRequest, payload: PriceListIn) -> Status[PriceList]:
    """Needs the manage-settings permission."""
    data = {k: v for k, v in _dump(payload).items() if not (k == "is_active" and v is None)}
    price_list = services.price_list_create(actor=api_actor(request), data=data)
    return Status(201, _price_list(request, price_list.pk))


@router.get("/price-lists/{int:id}", response={200: PriceListOut, **_READ_ERRORS}, tags=PRODUCTS)
def get_price_list(request: HttpRequest, id: int) -> PriceList:
    return _price_list(request, id)


@router.patch("/price-lists/{int:id}", response={200: PriceListOut, **_WRITE_ERRORS}, tags=PRODUCTS)
def update_price_list(request: HttpRequest, id: int, payload: PriceListPatch) -> PriceList:
    """Change the fields given; `items` replaces all items."""
    _price_list(request, id)
    services.price_list_update(actor=api_actor(request), price_list_id=id, data=_dump(payload))
    return _price_list(request, id)


@router.delete("/price-lists/{int:id}", response={204: None, **_WRITE_ERRORS}, tags=PRODUCTS)
def delete_price_list(request: HttpRequest, id: int) -> Status[None]:
    _price_list(request, id)
    services.price_list_delete(actor=api_actor(request), price_list_id=id)
    return Status(204, None)


# --- orders ------------------------------------------------------------------------------------------


def _order(request: HttpRequest, response: HttpResponse, order_id: int) -> Order:
    check_id(order_id, _("Order not found."))
    order = selectors.order_get(actor=api_actor(request), order_id=order_id)
    set_etag(response, order.version)
    return order


def _visible_order(request: HttpRequest, order_id: int) -> None:
    """404 before any permission check, so an order out of scope never answers 403."""
    check_id(order_id, _("Order not found."))
    if not selectors.order_visible(actor=api_actor(request)).filter(pk=order_id).exists():
        raise NotFound(_("Order not found."))


@router.get("/orders", response={200: OrderPage, **_LIST_ERRORS}, tags=ORDERS)
def list_orders(request: HttpRequest, filters: Query[OrderFilters]) -> dict[str, Any]:
    """Orders of the customers you may see, newest first. The count stops at 1,000 (`count_capped`)."""
    params = _params(request, OrderFilters)
    qs = selectors.order_list(actor=api_actor(request), filters=params)
    count, capped = selectors.capped_count(qs)
    return {"items": page(qs, filters.limit, filters.offset), "count": count, "count_capped": capped}


@router.post("/orders", response={201: OrderDetailOut, **_WRITE_ERRORS}, tags=ORDERS, openapi_extra=IDEMPOTENCY_OPENAPI)
def create_order(request: HttpRequest, response: HttpResponse, payload: OrderIn) -> Status[Order]:
    """Place an order; each line's unit price defaults to the customer's price list, else the list price.

    A bad line (quantity ≤ 0, discount above the line, a product not on sale…) is a 422 naming it
    (`errors["lines.0.quantity"]`); nothing is written.
    """
    data = _dump(payload)
    customer = data.pop("customer")
    lines = data.pop("lines")
    text = {k: v if v is not None else "" for k, v in data.items() if k not in ("ordered_at", "due_date")}
    order = services.order_create(
        actor=api_actor(request),
        customer_id=customer,
        lines=lines,
        ordered_at=data.get("ordered_at"),
        due_date=data.get("due_date"),
        **text,
    )
    response["Location"] = reverse("api:get_order", args=[order.pk])
    return Status(201, _order(request, response, order.pk))


@router.get("/orders/{int:id}", response={200: OrderDetailOut, **_READ_ERRORS}, tags=ORDERS)
def get_order(request: HttpRequest, response: HttpResponse, id: int) -> Order:
    """One order with its lines and the payments allocated to it; the ETag is its version."""
    return _order(request, response, id)


@router.patch("/orders/{int:id}", response={200: OrderDetailOut, **_WRITE_ERRORS}, tags=ORDERS)
def update_order(request: HttpRequest, response: HttpResponse, id: int, payload: OrderPatch) -> Order:
    """Edit the header or replace the lines (placed orders only), or move the status: `{"status": "picking"}`.

    Status moves follow 下单 placed → 配货 picking → 发货 shipped → 签收 delivered, or → cancelled before
    delivery; any other move is a 409 naming the allowed ones. Cancelling an order with payments is a
    409 too. Send `If-Match: "<version>"` to refuse a stale write (412).
    """
    _visible_order(request, id)
    data = _dump(payload)
    status = data.pop("status", None)
    lines = data.pop("lines", None)
    for key in ("delivery_contact", "delivery_phone", "delivery_address", "note"):
        if key in data and data[key] is None:
            data[key] = ""
    services.order_update(
        actor=api_actor(request),
        order_id=id,
        data=data,
        lines=lines,
        status=status,
        expected_version=if_match_version(request),
    )
    return _order(request, response, id)


@router.delete("/orders/{int:id}", response={204: None, **_WRITE_ERRORS}, tags=ORDERS)
def delete_order(request: HttpRequest, id: int) -> Status[None]:
    """Only placed or cancelled orders without payments (409 otherwise). Honours If-Match."""
    _visible_order(request, id)
    services.order_delete(actor=api_actor(request), order_id=id, expected_version=if_match_version(request))
    return Status(204, None)


@router.get("/orders/{int:id}/history", response={200: ChangePage, **_READ_ERRORS}, tags=ORDERS)
def list_order_history(request: HttpRequest, id: int, filters: Query[PageParams]) -> dict[str, Any]:
    """The order's change log, newest first (lines, status moves, payments applied)."""
    check_id(id, _("Order not found."))
    reject_unknown_params(request, PAGE_PARAMS)
    qs = selectors.order_history(actor=api_actor(request), order_id=id)
    return {"items": page(qs, filters.limit, filters.offset), "count": qs.count()}


# --- payments ----------------------------------------------------------------------------------------


def _payment(request: HttpRequest, response: HttpResponse, payment_id: int) -> Payment:
    check_id(payment_id, _("Payment not found."))
    payment = selectors.payment_get(actor=api_actor(request), payment_id=payment_id)
    set_etag(response, payment.version)
    return payment


@router.get("/payments", response={200: PaymentPage, **_LIST_ERRORS}, tags=PAYMENTS)
def list_payments(request: HttpRequest, filters: Query[PaymentFilters]) -> dict[str, Any]:
    """Payments (回款) of the customers you may see, newest first, with their allocations."""
    params = _params(request, PaymentFilters)
    qs = selectors.payment_list(actor=api_actor(request), filters=params)
    count, capped = selectors.capped_count(qs)
    return {"items": page(qs, filters.limit, filters.offset), "count": count, "count_capped": capped}


@router.post("/payments", response={201: PaymentOut, **_WRITE_ERRORS}, tags=PAYMENTS, openapi_extra=IDEMPOTENCY_OPENAPI)
def create_payment(request: HttpRequest, response: HttpResponse, payload: PaymentIn) -> Status[Payment]:
    """Record money received. Without `allocations` it pays the unpaid orders oldest due first.

    Refused with 422 and nothing written: more than the customer owes, an allocation above an
    order's outstanding amount, an order of another customer or a cancelled one, allocations that
    do not add up to the amount.
    """
    data = _dump(payload)
    payment = services.payment_create(
        actor=api_actor(request),
        customer_id=data["customer"],
        amount=data["amount"],
        received_at=data["received_at"],
        method=data.get("method") or "bank",
        reference=data.get("reference") or "",
        note=data.get("note") or "",
        allocations=data.get("allocations"),
    )
    response["Location"] = reverse("api:get_payment", args=[payment.pk])
    return Status(201, _payment(request, response, payment.pk))


@router.get("/payments/{int:id}", response={200: PaymentOut, **_READ_ERRORS}, tags=PAYMENTS)
def get_payment(request: HttpRequest, response: HttpResponse, id: int) -> Payment:
    return _payment(request, response, id)


@router.patch("/payments/{int:id}", response={200: PaymentOut, **_WRITE_ERRORS}, tags=PAYMENTS)
def update_payment(request: HttpRequest, response: HttpResponse, id: int, payload: PaymentPatch) -> Payment:
    """Change the time, method, reference or note. The amount and allocations are fixed: delete and record again."""
    check_id(id, _("Payment not found."))
    selectors.payment_get(actor=api_actor(request), payment_id=id)
    data = {k: ("" if v is None and k in ("reference", "note") else v) for k, v in _dump(payload).items()}
    services.payment_update(
        actor=api_actor(request), payment_id=id, data=data, expected_version=if_match_version(request)
    )
    return _payment(request, response, id)


@router.delete("/payments/{int:id}", response={204: None, **_WRITE_ERRORS}, tags=PAYMENTS)
def delete_payment(request: HttpRequest, id: int) -> Status[None]:
    """Delete a payment: what it paid is owed again on each order. Honours If-Match."""
    check_id(id, _("Payment not found."))
    selectors.payment_get(actor=api_actor(request), payment_id=id)
    services.payment_delete(actor=api_actor(request), payment_id=id, expected_version=if_match_version(request))
    return Status(204, None)


# --- receivables -------------------------------------------------------------------------------------


def _bucket_of(days: int) -> str:
    if days <= 0:
        return Bucket.NOT_DUE
    if days <= 30:
        return Bucket.D1_30
    if days <= 60:
        return Bucket.D31_60
    if days <= 90:
        return Bucket.D61_90
    return Bucket.D90_PLUS


@router.get("/receivables", response={200: ReceivablePage, **_LIST_ERRORS}, tags=PAYMENTS)
def list_receivables(request: HttpRequest, filters: Query[ReceivableFilters]) -> dict[str, Any]:
    """Unpaid orders, earliest due first, with days overdue and ageing totals (未到期, 1–30, 31–60, 61–90, 90+)."""
    params = _params(request, ReceivableFilters)
    actor = api_actor(request)
    qs = selectors.receivable_list(actor=actor, filters=params)
    summary = selectors.receivable_summary(actor=actor, filters=params)
    count, capped = selectors.capped_count(qs)
    items = []
    for order in page(qs, filters.limit, filters.offset):
        days = selectors.days_overdue(order)
        items.append(
            {
                "order": order.pk,
                "number": order.number,
                "customer": order.customer_id,
                "customer_name": order.customer.name,
                "ordered_at": order.ordered_at,
                "due_date": order.due_date,
                "amount": f"{order.amount:.2f}",
                "paid_amount": f"{order.paid_amount:.2f}",
                "outstanding": f"{order.outstanding:.2f}",
                "days_overdue": days,
                "bucket": _bucket_of(days),
            }
        )
    buckets = [{**b, "label": str(b["label"]), "amount": f"{b['amount']:.2f}"} for b in summary.buckets]
    return {
        "items": items,
        "count": count,
        "count_capped": capped,
        "total": f"{summary.total:.2f}",
        "overdue": f"{summary.overdue:.2f}",
        "buckets": buckets,
    }


# --- invoicing details -------------------------------------------------------------------------------


@router.get("/customers/{int:id}/billing", response={200: BillingOut, **_READ_ERRORS}, tags=["customers"])
def get_customer_billing(request: HttpRequest, response: HttpResponse, id: int) -> CustomerBilling:
    """The customer's invoicing details (开票信息); 404 until they are set with PUT."""
    check_id(id, _("Customer not found."))
    billing = selectors.billing_get(actor=api_actor(request), customer_id=id)
    if billing is None:
        raise NotFound(_("This customer has no invoicing details yet; set them with PUT."))
    set_etag(response, billing.version)
    return billing


@router.put("/customers/{int:id}/billing", response={200: BillingOut, **_WRITE_ERRORS}, tags=["customers"])
def put_customer_billing(request: HttpRequest, response: HttpResponse, id: int, payload: BillingIn) -> CustomerBilling:
    """Set the invoicing details as a whole (fields left out are cleared). The taxpayer id has 15, 18 or
    20 letters and digits; a special VAT invoice needs the tax id, bank, account, address and phone."""
    check_id(id, _("Customer not found."))
    selectors.sales_customer(actor=api_actor(request), customer_id=id)
    data = {k: v for k, v in _dump(payload).items() if v is not None}
    billing = services.billing_update(
        actor=api_actor(request), customer_id=id, data=data, expected_version=if_match_version(request)
    )
    set_etag(response, billing.version)
    return billing


@router.get("/customers/{int:id}/sales", response={200: SalesOverviewOut, **_READ_ERRORS}, tags=ORDERS)
def get_customer_sales(request: HttpRequest, id: int) -> dict[str, Any]:
    """The customer page's sales panel: 5 recent orders, unpaid and overdue totals, 5 oldest overdue
    orders, ageing buckets and the invoicing details."""
    check_id(id, _("Customer not found."))
    overview = selectors.customer_sales_overview(actor=api_actor(request), customer_id=id)
    return {
        "customer": overview.customer_id,
        "recent_orders": overview.recent_orders,
        "unpaid_total": f"{overview.unpaid_total:.2f}",
        "overdue_total": f"{overview.overdue_total:.2f}",
        "overdue_orders": overview.overdue_orders,
        "ageing": [{**b, "label": str(b["label"]), "amount": f"{b['amount']:.2f}"} for b in overview.ageing.buckets],
        "billing": overview.billing,
    }
