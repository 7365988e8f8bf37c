"""Order pages: list with filters (its CSV export is in ``exports``), detail (lines, payments, status
buttons, history), the create / edit form with line rows (htmx adds rows and prefills the price;
without JavaScript the same form posts back with one more row), status moves and delete."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import FieldDoesNotExist
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from pearl.accounts.models import User
from pearl.core.errors import ApplicationError, Conflict, PreconditionFailed, ValidationFailed
from pearl.core.pages import actor_of, htmx_target
from pearl.core.paging import form_version, page_number, paginate, whole_number
from pearl.core.permissions import require
from pearl.customers import selectors as customer_selectors
from pearl.customers.models import Customer
from pearl.sales import selectors, services
from pearl.sales.choices import ORDER_TRANSITIONS, OrderStatus
from pearl.sales.forms import MAX_LINE_ROWS, LineForm, OrderFilterPageForm, OrderForm, local_input, product_choices
from pearl.sales.models import Order
from pearl.sales.views.common import count_text, labelled, page, render

HISTORY_LIMIT = 50


@page
@require_GET
def order_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    params = request.GET.dict()
    number, page_error = page_number(params.pop("page", None))
    form = OrderFilterPageForm(request.GET or None)
    context: dict[str, Any] = {"form": form, "errors": [], "rows": [], "pager": None, "customer": None}
    context["filters_active"] = any(v for k, v in params.items() if k not in ("q", "customer"))
    try:
        if params.get("customer"):
            context["customer"] = selectors.sales_customer(actor=actor, customer_id=params["customer"])
        qs = selectors.order_list(actor=actor, filters=params)
    except ValidationFailed as exc:
        context["errors"] = labelled(exc.field_errors, form.fields) or [str(exc.message)]
    else:
        count, capped = selectors.capped_count(qs)
        context["rows"], context["pager"] = paginate(qs, number, count, capped)
        context["count_text"] = count_text(count, capped, ngettext("%(n)s order", "%(n)s orders", count))
    if page_error:
        context["errors"].append(page_error)
    export = request.GET.copy()  # the export takes the list's filters, not its page
    export.pop("page", None)
    context["export_query"] = export.urlencode()
    template = "sales/_order-results.html" if htmx_target(request) == "results" else "sales/order_list.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@page
@require_GET
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    order = selectors.order_get(actor=actor, order_id=pk)
    return render(request, "sales/order_detail.html", _detail_context(actor, order))


def _history(actor: User, order: Order) -> list[dict[str, Any]]:
    """The order's change log with field labels and status names instead of column names and codes."""
    entries = []
    for log in selectors.order_history(actor=actor, order_id=order.pk)[:HISTORY_LIMIT]:
        changes = []
        if log.action == "update":
            for name, (before, after) in sorted(log.changes.items()):
                changes.append({"label": _field_label(name), "before": _value(name, before),
                                "after": _value(name, after)})  # fmt: skip
        entries.append({"log": log, "changes": changes})
    return entries


def _field_label(name: str) -> str:
    if name == "lines":
        return str(_("Lines"))
    try:
        field = Order._meta.get_field(name)
    except FieldDoesNotExist:
        return name
    return str(getattr(field, "verbose_name", name))


def _value(name: str, value: Any) -> Any:
    if name == "status" and value in OrderStatus.values:
        return OrderStatus(value).label
    if isinstance(value, list):
        return "；".join(str(v) for v in value)
    if isinstance(value, str) and name.endswith("_at") and "T" in value:
        return value[:16].replace("T", " ")
    return value


def _detail_context(actor: User, order: Order, error: Any = None) -> dict[str, Any]:
    history = _history(actor, order)
    moves = [
        {"status": s, "label": OrderStatus(s).label, "danger": s == OrderStatus.CANCELLED}
        for s in (OrderStatus.PICKING, OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.CANCELLED)
        if s in ORDER_TRANSITIONS[order.status]
    ]
    return {
        "order": order,
        "lines": list(order.lines.all()),
        "allocations": list(order.allocations.all()),
        "history": history,
        "moves": moves,
        "days_overdue": selectors.days_overdue(order) if order.outstanding and order.due_date else 0,
        "error": error,
        "editable": order.status == OrderStatus.PLACED,
        "deletable": order.status in (OrderStatus.PLACED, OrderStatus.CANCELLED),
    }


@page
@require_POST
def order_status(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    order = selectors.order_get(actor=actor, order_id=pk)
    status = request.POST.get("status", "")
    try:
        services.order_transition(
            actor=actor, order_id=pk, status=status, expected_version=form_version(request.POST.get("version"))
        )
    except (Conflict, ValidationFailed, PreconditionFailed) as exc:
        return render(request, "sales/order_detail.html", _detail_context(actor, order, exc.message), status=exc.status)
    messages.success(
        request,
        _("Order %(number)s is now %(status)s.") % {"number": order.number, "status": OrderStatus(status).label},
    )
    return redirect("sales:order_detail", pk=pk)


@page
@require_http_methods(["GET", "POST"])
def order_delete(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    order = selectors.order_get(actor=actor, order_id=pk)
    require(actor, "delete")
    error, status = None, 200
    if request.method == "POST":
        try:
            services.order_delete(actor=actor, order_id=pk, expected_version=form_version(request.POST.get("version")))
        except (Conflict, PreconditionFailed, ValidationFailed) as exc:
            error, status = exc.message, exc.status
        else:
            messages.success(request, _("Order %(number)s deleted.") % {"number": order.number})
            return redirect("sales:order_list")
    return render(request, "sales/order_confirm_delete.html", {"order": order, "error": error}, status=status)


# --- the form --------------------------------------------------------------------------------------


def _choices(actor: User, order: Order | None = None) -> list[tuple[str, Any]]:
    products = list(selectors.product_list(actor=actor, filters={"active": True}))
    if order is not None:  # products taken off sale since stay choosable on their order
        have = {p.pk for p in products}
        products += [line.product for line in order.lines.all() if line.product_id not in have]
    return product_choices(products)


def _row_indices(data: QueryDict) -> list[int]:
    numbers = (whole_number(v) for v in data.getlist("line_rows"))
    return sorted({n for n in numbers if n is not None and n < 1000})[:MAX_LINE_ROWS]


def _customer_from(actor: User, raw: Any) -> Customer | None:
    if raw in (None, ""):
        return None
    return selectors.sales_customer(actor=actor, customer_id=raw)


def _form_page(
    request: HttpRequest,
    *,
    form: OrderForm,
    rows: list[LineForm],
    customer: Customer | None,
    order: Order | None = None,
    alert: Any = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "form": form,
        "rows": rows,
        "customer": customer,
        "order": order,
        "alert": alert,
        "next_index": max((r.index for r in rows), default=-1) + 1,
        "max_rows": MAX_LINE_ROWS,
    }
    return render(request, "sales/order_form.html", context, status=status)


def _put_service_errors(exc: ApplicationError, form: OrderForm, rows: list[LineForm], sent: list[LineForm]) -> None:
    for key, msgs in exc.field_errors.items():
        parts = key.split(".")
        if parts[0] == "lines" and len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(sent):
            row = sent[int(parts[1])]
            row.add_error(parts[2] if parts[2] in row.fields else None, [str(m) for m in msgs])
        elif key == "customer" or key in form.fields:
            form.add_error(key if key in form.fields else None, [str(m) for m in msgs])
        else:
            form.add_error(None, [str(m) for m in msgs])


@page
@require_http_methods(["GET", "POST"])
def order_create(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    require(actor, "create")
    choices = _choices(actor)
    if request.method == "GET":
        customer = _customer_from(actor, request.GET.get("customer"))
        form = OrderForm(initial={"customer": customer.pk if customer else None})
        rows = [LineForm(index=i, choices=choices) for i in range(3)]
        return _form_page(request, form=form, rows=rows, customer=customer)
    form = OrderForm(request.POST)
    rows = [LineForm(request.POST, index=i, choices=choices) for i in _row_indices(request.POST) or [0]]
    customer = _customer_from(actor, request.POST.get("customer"))
    if "add_line" in request.POST or "remove_line" in request.POST:  # without JavaScript
        gone = whole_number(request.POST.get("remove_line"))
        rows = [r for r in rows if r.index != gone] or rows
        if "add_line" in request.POST and len(rows) < MAX_LINE_ROWS:
            rows.append(LineForm(index=max(r.index for r in rows) + 1, choices=choices))
        return _form_page(request, form=form, rows=rows, customer=customer)
    valid = [form.is_valid(), *(r.is_valid() for r in rows)]
    alert: Any = _("Please correct the marked fields.")
    status = 422
    if customer is None:
        form.add_error(None, _("Choose the customer first."))
    elif all(valid):
        sent = [r for r in rows if not r.is_blank()]
        try:
            order = services.order_create(
                actor=actor, customer_id=customer.pk, lines=[r.line() for r in sent], **form.header()
            )
        except (ValidationFailed, Conflict) as exc:
            _put_service_errors(exc, form, rows, sent)
            alert, status = exc.message, exc.status
        else:
            messages.success(
                request, _("Order %(number)s placed: ¥%(amount)s.") % {"number": order.number, "amount": order.amount}
            )
            return redirect("sales:order_detail", pk=order.pk)
    return _form_page(request, form=form, rows=rows, customer=customer, alert=alert, status=status)


@page
@require_http_methods(["GET", "POST"])
def order_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    order = selectors.order_get(actor=actor, order_id=pk)
    require(actor, "edit")
    if order.status != OrderStatus.PLACED:
        messages.error(request, _("Only a placed order can be edited."))
        return redirect("sales:order_detail", pk=pk)
    choices = _choices(actor, order)
    customer = order.customer
    if request.method == "GET":
        form = OrderForm(
            initial={
                "customer": customer.pk, "ordered_at": local_input(order.ordered_at), "due_date": order.due_date,
                "delivery_contact": order.delivery_contact, "delivery_phone": order.delivery_phone,
                "delivery_address": order.delivery_address, "note": order.note, "version": order.version,
            }
        )  # fmt: skip
        rows = [
            LineForm(
                index=i, choices=choices,
                initial={"product": str(line.product_id), "quantity": f"{line.quantity.normalize():f}",
                         "unit_price": f"{line.unit_price}", "discount": f"{line.discount}" if line.discount else ""},
            )
            for i, line in enumerate(order.lines.all())
        ]  # fmt: skip
        return _form_page(request, form=form, rows=rows, customer=customer, order=order)
    form = OrderForm(request.POST)
    rows = [LineForm(request.POST, index=i, choices=choices) for i in _row_indices(request.POST) or [0]]
    if "add_line" in request.POST or "remove_line" in request.POST:
        gone = whole_number(request.POST.get("remove_line"))
        rows = [r for r in rows if r.index != gone] or rows
        if "add_line" in request.POST and len(rows) < MAX_LINE_ROWS:
            rows.append(LineForm(index=max(r.index for r in rows) + 1, choices=choices))
        return _form_page(request, form=form, rows=rows, customer=customer, order=order)
    valid = [form.is_valid(), *(r.is_valid() for r in rows)]
    alert: Any = _("Please correct the marked fields.")
    status = 422
    if all(valid):
        sent = [r for r in rows if not r.is_blank()]
        try:
            services.order_update(
                actor=actor, order_id=pk, data=form.header(), lines=[r.line() for r in sent],
                expected_version=form.cleaned_data.get("version"),
            )  # fmt: skip
        except (ValidationFailed, Conflict, PreconditionFailed) as exc:
            _put_service_errors(exc, form, rows, sent)
            alert, status = exc.message, exc.status
        else:
            messages.success(request, _("Saved."))
            return redirect("sales:order_detail", pk=pk)
    return _form_page(request, form=form, rows=rows, customer=customer, order=order, alert=alert, status=status)


@page
@require_GET
def line_row(request: HttpRequest) -> HttpResponse:
    """One more empty line row (htmx appends it) and the next "add" button out of band."""
    actor = actor_of(request)
    index = whole_number(request.GET.get("index")) or 0
    index = index if index < 1000 else 0
    row = LineForm(index=index, choices=_choices(actor))
    context = {"row": row, "next_index": index + 1, "oob": True, "customer_id": request.GET.get("customer", "")}
    return render(request, "sales/_line-row.html", context)


@page
@require_GET
def line_price(request: HttpRequest) -> HttpResponse:
    """The unit-price input of a row, prefilled with the customer's price for the chosen product."""
    actor = actor_of(request)
    index = whole_number(request.GET.get("index")) or 0
    index = index if index < 1000 else 0
    product_id = request.GET.get(f"line-{index}-product", "")
    price = None
    if product_id and request.GET.get("customer"):
        price = selectors.customer_price(actor=actor, customer_id=request.GET["customer"], product_id=product_id)
    row = LineForm(index=index, choices=[], initial={"unit_price": f"{price}" if price is not None else ""})
    return render(request, "sales/_line-price.html", {"row": row})


@page
@require_GET
def customer_picker(request: HttpRequest) -> HttpResponse:
    """Customers matching what is typed (the customer search), as links to the form for one of them."""
    actor = actor_of(request)
    q = (request.GET.get("q") or "").strip()[:64]
    target = request.GET.get("next") if request.GET.get("next") in ("order", "payment") else "order"
    rows: list[Customer] = []
    error = None
    if q:
        try:
            rows = list(customer_selectors.customer_list(actor=actor, filters={"q": q})[:10])
        except ValidationFailed as exc:
            error = exc.message
    url = reverse("sales:order_create") if target == "order" else reverse("sales:payment_create")
    return render(request, "sales/_customer-picker.html", {"rows": rows, "q": q, "error": error, "url": url})
