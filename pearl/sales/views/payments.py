"""Payment pages: list, record (with a live preview of how the money will be allocated), detail, edit,
delete; the receivables list with ageing; the customer's invoicing details."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods

from pearl.accounts.models import User
from pearl.core.errors import Conflict, NotFound, PreconditionFailed, ValidationFailed
from pearl.core.pages import actor_of, add_service_errors, htmx_target, is_htmx
from pearl.core.paging import form_version, page_number, paginate
from pearl.core.permissions import require
from pearl.customers.models import Customer
from pearl.sales import selectors, services
from pearl.sales.filters import BUCKETS
from pearl.sales.forms import (
    BillingForm,
    PaymentEditForm,
    PaymentFilterPageForm,
    PaymentForm,
    ReceivableFilterPageForm,
    local_input,
)
from pearl.sales.services.common import parse_money
from pearl.sales.views.common import count_text, labelled, page, render


@page
@require_GET
def payment_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    params = request.GET.dict()
    number, page_error = page_number(params.pop("page", None))
    form = PaymentFilterPageForm(request.GET or None)
    context: dict[str, Any] = {"form": form, "errors": [], "rows": [], "pager": None, "customer": None}
    try:
        if params.get("customer"):
            context["customer"] = selectors.sales_customer(actor=actor, customer_id=params["customer"])
        qs = selectors.payment_list(actor=actor, filters=params)
    except ValidationFailed as exc:
        context["errors"] = labelled(exc.field_errors, form.fields) or [str(exc.message)]
    else:
        count, capped = selectors.capped_count(qs)
        context["rows"], context["pager"] = paginate(qs, number, count, capped)
        context["count_text"] = count_text(count, capped, ngettext("%(n)s payment", "%(n)s payments", count))
    if page_error:
        context["errors"].append(page_error)
    template = "sales/_payment-results.html" if htmx_target(request) == "results" else "sales/payment_list.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@page
@require_GET
def payment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    payment = selectors.payment_get(actor=actor_of(request), payment_id=pk)
    return render(request, "sales/payment_detail.html", {"payment": payment})


@page
@require_http_methods(["GET", "POST"])
def payment_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """When, how and with what reference the money came. The amount and allocations stay as recorded
    (``services.payment_update`` refuses them): the page says to delete and record again instead."""
    actor = actor_of(request)
    payment = selectors.payment_get(actor=actor, payment_id=pk)  # out of scope: 404 before any 403
    require(actor, "edit")
    if request.method == "GET":
        return render(request, "sales/payment_edit.html", {"form": PaymentEditForm.for_payment(payment),
                                                           "payment": payment})  # fmt: skip
    form = PaymentEditForm(request.POST)
    status = 422
    if form.is_valid():
        try:
            services.payment_update(
                actor=actor, payment_id=payment.pk, data=form.data_for_service(),
                expected_version=form.cleaned_data.get("version"),
            )  # fmt: skip
        except (ValidationFailed, Conflict, PreconditionFailed) as exc:
            add_service_errors(form, exc)
            status = exc.status
        else:
            messages.success(request, _("Payment %(number)s saved.") % {"number": payment.number})
            return redirect("sales:payment_detail", pk=payment.pk)
    return render(request, "sales/payment_edit.html", {"form": form, "payment": payment}, status=status)


@page
@require_http_methods(["GET", "POST"])
def payment_delete(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    payment = selectors.payment_get(actor=actor, payment_id=pk)
    require(actor, "delete")
    error, status = None, 200
    if request.method == "POST":
        try:
            services.payment_delete(
                actor=actor, payment_id=pk, expected_version=form_version(request.POST.get("version"))
            )
        except (Conflict, PreconditionFailed, ValidationFailed) as exc:
            error, status = exc.message, exc.status
        else:
            messages.success(request, _("Payment %(number)s deleted.") % {"number": payment.number})
            return redirect("sales:payment_list")
    return render(request, "sales/payment_confirm_delete.html", {"payment": payment, "error": error}, status=status)


def _unpaid(actor: User, customer: Customer | None, typed: Any = None) -> list[Any]:
    """The customer's unpaid orders, each with what was typed for it (``typed``) on a re-rendered form."""
    orders = selectors.unpaid_orders_of(actor=actor, customer_id=customer.pk) if customer else []
    for order in orders:
        order.typed = (typed or {}).get(f"alloc-{order.pk}", "")  # type: ignore[attr-defined]
    return orders


def _preview(customer: Customer | None, form: PaymentForm, data: Any) -> dict[str, Any]:
    """How the typed amount would be allocated, or why it would be refused (nothing is written)."""
    if customer is None:
        return {}
    amount, error = parse_money(data.get("amount"), allow_zero=False)
    if error or amount is None:
        return {"error": error} if data.get("amount") else {}
    manual = data.get("allocate") == "manual"
    try:
        plan = services.plan_allocations(customer.pk, amount, form.manual_allocations(data) if manual else None)
    except ValidationFailed as exc:
        return {"error": exc.message, "errors": [str(m) for msgs in exc.field_errors.values() for m in msgs]}
    return {"plan": [{"order": o, "amount": part, "left": o.outstanding - part} for o, part in plan],
            "amount": amount}  # fmt: skip


@page
@require_http_methods(["GET", "POST"])
def payment_create(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    require(actor, "create")
    raw = request.POST.get("customer") if request.method == "POST" else request.GET.get("customer")
    customer = selectors.sales_customer(actor=actor, customer_id=raw) if raw else None
    if request.method == "GET":
        form = PaymentForm(initial={"customer": customer.pk if customer else None,
                                    "received_at": local_input(timezone.now()), "allocate": "auto"})  # fmt: skip
        blank: dict[str, Any] = {"form": form, "customer": customer, "unpaid": _unpaid(actor, customer), "preview": {}}
        return render(request, "sales/payment_form.html", blank)
    form = PaymentForm(request.POST)
    if request.POST.get("preview") and is_htmx(request):
        form.is_valid()
        return render(request, "sales/_allocation-preview.html", {"preview": _preview(customer, form, request.POST)})
    alert: Any = _("Please correct the marked fields.")
    status = 422
    if customer is None:
        form.is_valid()
        form.add_error(None, _("Choose the customer first."))
    elif form.is_valid():
        manual = form.cleaned_data.get("allocate") == "manual"
        try:
            payment = services.payment_create(
                actor=actor, customer_id=customer.pk, amount=form.cleaned_data["amount"],
                received_at=form.cleaned_data.get("received_at"), method=form.cleaned_data["method"],
                reference=form.cleaned_data.get("reference") or "", note=form.cleaned_data.get("note") or "",
                allocations=form.manual_allocations(request.POST) if manual else None,
            )  # fmt: skip
        except (ValidationFailed, Conflict) as exc:
            add_service_errors(form, exc)
            alert, status = exc.message, exc.status
        else:
            messages.success(
                request,
                _("Payment %(number)s of ¥%(amount)s recorded.") % {"number": payment.number, "amount": payment.amount},
            )
            return redirect("sales:payment_detail", pk=payment.pk)
    context: dict[str, Any] = {
        "form": form, "customer": customer, "unpaid": _unpaid(actor, customer, request.POST), "alert": alert,
        "preview": _preview(customer, form, request.POST),
    }  # fmt: skip
    return render(request, "sales/payment_form.html", context, status=status)


@page
@require_GET
def receivable_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    params = request.GET.dict()
    number, page_error = page_number(params.pop("page", None))
    form = ReceivableFilterPageForm(request.GET or None)
    context: dict[str, Any] = {"form": form, "errors": [], "rows": [], "pager": None, "summary": None,
                               "buckets": BUCKETS, "customer": None}  # fmt: skip
    try:
        if params.get("customer"):
            context["customer"] = selectors.sales_customer(actor=actor, customer_id=params["customer"])
        qs = selectors.receivable_list(actor=actor, filters=params)
        context["summary"] = selectors.receivable_summary(actor=actor, filters=params)
    except ValidationFailed as exc:
        context["errors"] = labelled(exc.field_errors, form.fields) or [str(exc.message)]
    else:
        count, capped = selectors.capped_count(qs)
        rows, context["pager"] = paginate(qs, number, count, capped)
        context["rows"] = [{"order": o, "days": selectors.days_overdue(o)} for o in rows]
        context["count_text"] = count_text(count, capped, ngettext("%(n)s unpaid order", "%(n)s unpaid orders", count))
    if page_error:
        context["errors"].append(page_error)
    template = "sales/_receivable-results.html" if htmx_target(request) == "results" else "sales/receivable_list.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@page
@require_http_methods(["GET", "POST"])
def billing_edit(request: HttpRequest, customer_id: int) -> HttpResponse:
    actor = actor_of(request)
    customer = selectors.sales_customer(actor=actor, customer_id=customer_id)
    require(actor, "edit")
    billing = selectors.billing_get(actor=actor, customer_id=customer.pk)
    if request.method == "GET":
        initial: dict[str, Any] = {"title": customer.name, "version": 0}
        if billing is not None:
            initial = {f: getattr(billing, f) for f in ("invoice_type", "title", "tax_id", "bank", "account",
                                                       "address", "phone", "email", "version")}  # fmt: skip
        context = {"form": BillingForm(initial=initial), "customer": customer}
        return render(request, "sales/billing_form.html", context)
    form = BillingForm(request.POST)
    status = 422
    if form.is_valid():
        version = form.cleaned_data.get("version")
        try:
            services.billing_update(
                actor=actor, customer_id=customer.pk, data=form.data_for_service(),
                expected_version=None if billing is None and not version else version,
            )  # fmt: skip
        except (ValidationFailed, PreconditionFailed, NotFound) as exc:
            add_service_errors(form, exc)
            status = exc.status
        else:
            messages.success(request, _("Invoicing details saved."))
            return redirect("customers:customer_detail", pk=customer.pk)
    return render(request, "sales/billing_form.html", {"form": form, "customer": customer}, status=status)
