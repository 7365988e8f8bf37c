"""The order list's CSV export: the orders the list shows for the same filters, any number of them.

Like the customer export: a streamed response through ``pearl.core.exports`` (UTF-8 with a
byte-order mark so Excel opens Chinese readable, formula-looking cells defused).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponseBase, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from pearl.core.errors import ValidationFailed
from pearl.core.exports import csv_stream
from pearl.core.pages import actor_of, error_page
from pearl.core.permissions import require
from pearl.sales import selectors
from pearl.sales.choices import OrderStatus
from pearl.sales.models import Order
from pearl.sales.views.common import ERROR_TEMPLATE, page


def _money(value: Decimal) -> str:
    # Plain digits with two places, no ¥ and no thousands separator, so Excel sums the column.
    return f"{value:.2f}"


def order_rows(orders: Iterable[Order], status_labels: dict[str, str]) -> Iterator[list[Any]]:
    for o in orders:
        owner = o.customer.owner
        yield [
            o.number,
            o.customer.name,
            timezone.localtime(o.ordered_at).strftime("%Y-%m-%d %H:%M"),
            status_labels.get(o.status, o.status),
            _money(o.amount),
            _money(o.paid_amount),
            _money(o.outstanding),
            str(owner) if owner else "",
        ]


@page
@require_GET
def order_export(request: HttpRequest) -> HttpResponseBase:
    actor = actor_of(request)
    require(actor, "export")
    params = request.GET.dict()
    params.pop("page", None)
    try:
        if params.get("customer"):  # a customer out of scope is a 404, as on the list
            selectors.sales_customer(actor=actor, customer_id=params["customer"])
        orders = selectors.order_export(actor=actor, filters=params)
    except ValidationFailed as exc:
        return error_page(request, ERROR_TEMPLATE, exc.message, 400)
    header = [
        _("Order number"),
        _("Customer name"),
        _("Ordered at"),
        _("Status"),
        _("Amount"),
        _("Paid"),
        _("Outstanding"),
        _("Owner"),
    ]
    # Read in the request's language now: the rows are written after the view returns, while streaming.
    labels = {value: str(label) for value, label in OrderStatus.choices}
    rows = order_rows(orders, labels)
    response = StreamingHttpResponse(csv_stream(header, rows), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="orders-{stamp}.csv"'
    return response
