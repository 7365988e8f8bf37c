"""Writes of the sales app. Views, API and commands call only these."""

from pearl.sales.services.billing import billing_update
from pearl.sales.services.catalogue import (
    category_create,
    category_delete,
    category_update,
    price_list_create,
    price_list_delete,
    price_list_update,
    prices_for,
    product_create,
    product_delete,
    product_update,
)
from pearl.sales.services.events import order_event, payment_event
from pearl.sales.services.orders import line_amounts, order_create, order_delete, order_transition, order_update
from pearl.sales.services.payments import payment_create, payment_delete, payment_update, plan_allocations
from pearl.sales.services.product_import import ImportReport, import_products

__all__ = [
    "ImportReport",
    "billing_update",
    "category_create",
    "category_delete",
    "category_update",
    "import_products",
    "line_amounts",
    "order_create",
    "order_delete",
    "order_event",
    "order_transition",
    "order_update",
    "payment_create",
    "payment_delete",
    "payment_event",
    "payment_update",
    "plan_allocations",
    "price_list_create",
    "price_list_delete",
    "price_list_update",
    "prices_for",
    "product_create",
    "product_delete",
    "product_update",
]
