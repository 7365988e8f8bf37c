"""Price lists: the price a customer type pays per product (an order line's default unit price)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from pearl.core.errors import Conflict, ValidationFailed
from pearl.core.pages import actor_of, add_service_errors
from pearl.core.permissions import require
from pearl.customers import selectors as customer_selectors
from pearl.sales import selectors, services
from pearl.sales.forms import PriceListForm
from pearl.sales.views.common import page, render


@page
@require_GET
def price_list_list(request: HttpRequest) -> HttpResponse:
    rows = list(selectors.price_list_list(actor=actor_of(request)))
    return render(request, "sales/price_list_list.html", {"rows": rows})


def _types() -> list[tuple[str, str]]:
    return [(str(o.pk), o.label) for o in customer_selectors.choice_options(list_name="customer_type")]


@page
@require_http_methods(["GET", "POST"])
def price_list_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    actor = actor_of(request)
    require(actor, "manage_settings")
    price_list = selectors.price_list_get(actor=actor, price_list_id=pk) if pk else None
    if request.method == "GET":
        initial: dict[str, Any] = {"is_active": True}
        if price_list is not None:
            initial = {
                "name": price_list.name, "customer_type": str(price_list.customer_type_id or ""),
                "is_active": price_list.is_active,
                "items": "\n".join(f"{i.product.sku} {i.price}" for i in price_list.items.all()),
            }  # fmt: skip
        form = PriceListForm(types=_types(), initial=initial)
        return render(request, "sales/price_list_form.html", {"form": form, "price_list": price_list})
    form = PriceListForm(request.POST, types=_types())
    status = 422
    if form.is_valid():
        lines = form.item_lines()
        products = selectors.products_by_sku(actor=actor, skus=[sku for _n, sku, _p in lines])
        problems = [
            _("Line %(n)d: there is no product with SKU %(sku)s.") % {"n": n, "sku": sku}
            for n, sku, _p in lines
            if sku not in products
        ]
        data = {
            "name": form.cleaned_data["name"], "customer_type": form.cleaned_data["customer_type"] or None,
            "is_active": form.cleaned_data["is_active"],
            "items": [{"product": products[sku].pk, "price": price} for _n, sku, price in lines if sku in products],
        }  # fmt: skip
        if problems:
            form.add_error("items", problems)
        else:
            try:
                if price_list is None:
                    services.price_list_create(actor=actor, data=data)
                else:
                    services.price_list_update(actor=actor, price_list_id=price_list.pk, data=data)
            except (ValidationFailed, Conflict) as exc:
                # items.<i>.<field> → the line of the box it came from
                for key, msgs in list(exc.field_errors.items()):
                    parts = key.split(".")
                    if parts[0] == "items" and len(parts) == 3 and parts[1].isdigit():
                        n = lines[int(parts[1])][0]
                        exc.field_errors.pop(key)
                        form.add_error("items", [_("Line %(n)d: %(error)s") % {"n": n, "error": m} for m in msgs])
                if exc.field_errors or not form.errors:
                    add_service_errors(form, exc)
            else:
                messages.success(request, _("Price list “%(name)s” saved.") % {"name": data["name"]})
                return redirect("sales:price_list_list")
    return render(request, "sales/price_list_form.html", {"form": form, "price_list": price_list}, status=status)
