"""Sales pages: catalogue, orders (and their CSV export), payments, receivables, invoicing details.

Views are thin: one selector or service call per request, the service's refusals put back on the
form. Every record whose customer the actor may not see answers 404.
"""

from pearl.sales.views.exports import order_export
from pearl.sales.views.orders import (
    customer_picker,
    line_price,
    line_row,
    order_create,
    order_delete,
    order_detail,
    order_edit,
    order_list,
    order_status,
)
from pearl.sales.views.payments import (
    billing_edit,
    payment_create,
    payment_delete,
    payment_detail,
    payment_edit,
    payment_list,
    receivable_list,
)
from pearl.sales.views.price_lists import price_list_edit, price_list_list
from pearl.sales.views.products import (
    category_create,
    category_delete,
    product_create,
    product_delete,
    product_edit,
    product_import,
    product_list,
)

__all__ = [
    "billing_edit",
    "category_create",
    "category_delete",
    "customer_picker",
    "line_price",
    "line_row",
    "order_create",
    "order_delete",
    "order_detail",
    "order_edit",
    "order_export",
    "order_list",
    "order_status",
    "payment_create",
    "payment_delete",
    "payment_detail",
    "payment_edit",
    "payment_list",
    "price_list_edit",
    "price_list_list",
    "product_create",
    "product_delete",
    "product_edit",
    "product_import",
    "product_list",
    "receivable_list",
]
