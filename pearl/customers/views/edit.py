"""Creating a customer (with its first contacts), editing and deleting one."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from pearl.core.duplicates import DuplicateSuspected
from pearl.core.errors import Conflict, PreconditionFailed, ValidationFailed
from pearl.core.pages import actor_of
from pearl.core.permissions import require
from pearl.customers import selectors, services
from pearl.customers.forms import ContactForm, CustomerForm, contact_form_options
from pearl.customers.views.common import MAX_CONTACT_ROWS, form_version, page, whole_number
from pearl.dataquality.labels import labelled


def _row_indices(data: Any) -> list[int]:
    numbers = (whole_number(v) for v in data.getlist("contact_rows"))
    return sorted({n for n in numbers if n is not None and n < 1000})[:MAX_CONTACT_ROWS]


def _contact_row(data: Any, index: int, options: tuple[Any, Any]) -> ContactForm:
    positions, definitions = options
    form = ContactForm(data, prefix=f"contact-{index}", positions=positions, definitions=definitions)
    form.row_index = index
    return form


def _validation_alert(exc: ValidationFailed, forms_with_errors: bool) -> dict[str, Any]:
    alert: dict[str, Any] = {"message": _("Please correct the marked fields.") if forms_with_errors else exc.message}
    if exc.extra.get("existing_url"):
        alert["message"] = exc.message
        alert["link"] = exc.extra["existing_url"]
        alert["link_text"] = _("Open the existing customer")
    return alert


@page
@require_http_methods(["GET", "POST"])
def customer_create(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    require(actor, "create")
    options = contact_form_options(actor)
    if request.method == "GET":
        return _form_page(request, CustomerForm(actor=actor), [_contact_row(None, 0, options)])
    form = CustomerForm(request.POST, actor=actor)
    rows = [_contact_row(request.POST, i, options) for i in _row_indices(request.POST) or [0]]
    if "add_contact" in request.POST:  # without JavaScript: the same form with one more empty row
        if len(rows) < MAX_CONTACT_ROWS:
            rows.append(_contact_row(None, max(r.row_index or 0 for r in rows) + 1, options))
        return _form_page(request, form, rows)
    valid = [form.is_valid(), *(row.is_valid() for row in rows)]
    alert: dict[str, Any] | None = None
    status = 422
    if all(valid):
        sent = [row for row in rows if not row.is_blank()]
        try:
            customer = services.customer_create(
                actor=actor, data=form.create_data(), contacts=[row.create_data() for row in sent],
                allow_duplicate=request.POST.get("allow_duplicate") == "1",
            )
        except ValidationFailed as exc:
            for key, msgs in exc.field_errors.items():
                parts = key.split(".", 2)
                if parts[0] == "contacts" and len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(sent):
                    sent[int(parts[1])].apply_service_errors({parts[2]: msgs})
                else:
                    form.apply_service_errors({key: msgs})
            alert = _validation_alert(exc, bool(exc.field_errors))
        except DuplicateSuspected as exc:  # the matcher is confident it exists: show it, ask to confirm
            alert, status = {"message": exc.message, "duplicates": _duplicate_hits(exc)}, exc.status
        except Conflict as exc:  # e.g. a mobile that already belongs to another customer
            alert, status = {"message": exc.message}, exc.status
        else:
            messages.success(request, _("Customer “%(name)s” created.") % {"name": customer})
            return redirect("customers:customer_detail", pk=customer.pk)
    else:
        alert = {"message": _("Please correct the marked fields.")}
    return _form_page(request, form, rows, alert=alert, status=status)


def _duplicate_hits(exc: DuplicateSuspected) -> list[dict[str, Any]]:
    """The refused create's duplicates in the shape of the possible-duplicate panel."""
    return [
        {"hit": {"customer_id": d["customer"], "visible": d["customer"] is not None, "name": d["name"],
                 "score": d["score"], "band": d["band"]},
         "reasons": labelled(d["reasons"])}
        for d in exc.extra.get("duplicates", [])
    ]  # fmt: skip


def _form_page(
    request: HttpRequest,
    form: CustomerForm,
    rows: list[ContactForm] | None,
    alert: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    next_index = max((r.row_index or 0 for r in rows), default=-1) + 1 if rows is not None else 0
    context = {
        "nav": "customers",
        "form": form,
        "customer": form.customer,
        "rows": rows,
        "alert": alert,
        "next_index": next_index,
    }
    return render(request, "customers/customer_form.html", context, status=status)


@page
@require_GET
def contact_row(request: HttpRequest) -> HttpResponse:
    """One more empty contact row for the create page (htmx appends it)."""
    actor = actor_of(request)
    require(actor, "create")
    index = whole_number(request.GET.get("index")) or 0
    index = index if index < 1000 else 0
    row = _contact_row(None, index, contact_form_options(actor))
    return render(request, "customers/_contact-fields.html", {"row": row, "next_index": index + 1, "oob": True})


@page
@require_http_methods(["GET", "POST"])
def customer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    customer = selectors.customer_get(actor=actor, customer_id=pk)
    require(actor, "edit")
    if request.method == "GET":
        return _form_page(request, CustomerForm(actor=actor, customer=customer), None)
    form = CustomerForm(request.POST, actor=actor, customer=customer)
    alert: dict[str, Any] | None = {"message": _("Please correct the marked fields.")}
    status = 422
    if form.is_valid():
        data = form.update_data()
        try:
            services.customer_update(
                actor=actor, customer_id=pk, data=data, expected_version=form.cleaned_data.get("version")
            )
        except ValidationFailed as exc:
            form.apply_service_errors(exc.field_errors)
            alert = _validation_alert(exc, bool(exc.field_errors))
        except PreconditionFailed as exc:
            # Keep what the user typed; from now on a save replaces the newer values deliberately.
            alert = {
                "message": exc.message,
                "hint": _("Your input is kept below. Saving again will overwrite the other change."),
                "link": reverse("customers:customer_detail", args=[pk]),
                "link_text": _("See the current version (new tab)"),
                "new_tab": True,
            }
            data = request.POST.copy()
            data["version"] = str(exc.extra.get("version", ""))
            form.data = data
            status = exc.status
        except Conflict as exc:
            alert, status = {"message": exc.message}, exc.status
        else:
            messages.success(
                request,
                _("Saved.") if data else _("Nothing was changed."),
            )
            return redirect("customers:customer_detail", pk=pk)
    return _form_page(request, form, None, alert=alert, status=status)


@page
@require_http_methods(["GET", "POST"])
def customer_delete(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    customer = selectors.customer_get(actor=actor, customer_id=pk)
    require(actor, "delete")
    error, status = None, 200
    if request.method == "POST":
        try:
            services.customer_delete(
                actor=actor, customer_id=pk, expected_version=form_version(request.POST.get("version"))
            )
        except (Conflict, PreconditionFailed, ValidationFailed) as exc:
            error, status = exc.message, exc.status
        else:
            messages.success(request, _("Customer “%(name)s” deleted.") % {"name": customer})
            return redirect("customers:customer_list")
    context = {"nav": "customers", "customer": customer, "error": error}
    return render(request, "customers/customer_confirm_delete.html", context, status=status)
