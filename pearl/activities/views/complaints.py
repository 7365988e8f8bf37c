"""Complaints and feedback: list with a status filter, detail with status buttons, create, edit, delete."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from pearl.accounts.models import User
from pearl.accounts.selectors import user_list
from pearl.activities import selectors, services
from pearl.activities.choices import COMPLAINT_TRANSITIONS, ComplaintStatus
from pearl.activities.filters import ComplaintFilterForm
from pearl.activities.forms import ComplaintForm
from pearl.activities.models import Complaint
from pearl.activities.views.common import NAV, customer_for, page, paginate
from pearl.core.errors import Conflict, PreconditionFailed, ValidationFailed
from pearl.core.pages import actor_of
from pearl.core.paging import form_version
from pearl.core.permissions import require
from pearl.customers.models import Customer


def _users(actor: User) -> list[tuple[str, str]]:
    return [(str(u.pk), str(u)) for u in user_list(actor=actor).filter(is_active=True)]


@page
@require_GET
def complaint_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    form = ComplaintFilterForm(request.GET or None)
    rows: list[Complaint] = []
    pager = None
    status = 200
    if form.is_bound and not form.is_valid():
        status = 422
    else:
        params = {k: v for k, v in request.GET.items() if k in form.fields}
        rows, pager = paginate(selectors.complaint_list(actor=actor, filters=params), request.GET.get("page"))
    context = {"nav": NAV, "tab": "complaints", "form": form, "rows": rows, "pager": pager}
    return render(request, "activities/complaint_list.html", context, status=status)


def _form_page(
    request: HttpRequest, customer: Customer, form: ComplaintForm, complaint: Complaint | None, status: int = 200,
    alert: Any = None,
) -> HttpResponse:  # fmt: skip
    context = {"nav": NAV, "customer": customer, "form": form, "complaint": complaint, "alert": alert}
    return render(request, "activities/complaint_form.html", context, status=status)


@page
@require_http_methods(["GET", "POST"])
def complaint_create(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    customer = customer_for(actor, request.GET.get("customer") or request.POST.get("customer"))
    require(actor, "edit")
    users = _users(actor)
    if request.method == "GET":
        return _form_page(request, customer, ComplaintForm(customer=customer, users=users), None)
    form = ComplaintForm(request.POST, customer=customer, users=users)
    if form.is_valid():
        try:
            c = services.complaint_create(actor=actor, customer_id=customer.pk, data=form.service_data())
        except (ValidationFailed, Conflict) as exc:
            form.apply_service_errors(exc)
        else:
            messages.success(request, _("Complaint “%(title)s” recorded.") % {"title": c.title})
            return redirect("activities:complaint_detail", pk=c.pk)
    return _form_page(request, customer, form, None, status=422)


def _status_buttons(c: Complaint) -> list[tuple[str, str]]:
    order = ComplaintStatus.values
    return [(s, str(ComplaintStatus(s).label)) for s in sorted(COMPLAINT_TRANSITIONS[c.status], key=order.index)]


def _detail(request: HttpRequest, actor: User, c: Complaint, error: Any = None, status: int = 200) -> HttpResponse:
    files = list(selectors.attachment_list(actor=actor, subject=("activities.complaint", c.pk)))
    context = {
        "nav": NAV,
        "complaint": c,
        "customer": c.customer,
        "status_buttons": _status_buttons(c),
        "photos": [a for a in files if a.is_image],
        "files": [a for a in files if not a.is_image],
        "error": error,
        "resolution": request.POST.get("resolution", c.resolution) if request.method == "POST" else c.resolution,
        "upload_url": reverse("activities:complaint_attach", args=[c.pk]),
    }
    return render(request, "activities/complaint_detail.html", context, status=status)


@page
@require_GET
def complaint_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    return _detail(request, actor, selectors.complaint_get(actor=actor, complaint_id=pk))


@page
@require_POST
def complaint_status(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    c = selectors.complaint_get(actor=actor, complaint_id=pk)
    try:
        services.complaint_set_status(
            actor=actor,
            complaint_id=c.pk,
            status=request.POST.get("status", ""),
            resolution=request.POST.get("resolution"),
            expected_version=form_version(request.POST.get("version")),
        )
    except (ValidationFailed, Conflict, PreconditionFailed) as exc:
        message = next(iter(exc.field_errors.values()))[0] if exc.field_errors else exc.message
        return _detail(request, actor, selectors.complaint_get(actor=actor, complaint_id=pk), message, exc.status)
    messages.success(request, _("Status saved."))
    return redirect("activities:complaint_detail", pk=c.pk)


@page
@require_http_methods(["GET", "POST"])
def complaint_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    c = selectors.complaint_get(actor=actor, complaint_id=pk)
    require(actor, "edit")
    users = _users(actor)
    if request.method == "GET":
        return _form_page(request, c.customer, ComplaintForm(customer=c.customer, users=users, complaint=c), c)
    form = ComplaintForm(request.POST, customer=c.customer, users=users, complaint=c)
    status, alert = 422, None
    if form.is_valid():
        try:
            services.complaint_update(
                actor=actor, complaint_id=c.pk, data=form.service_data(),
                expected_version=form.cleaned_data.get("version"),
            )  # fmt: skip
        except (ValidationFailed, Conflict) as exc:
            form.apply_service_errors(exc)
        except PreconditionFailed as exc:
            alert, status = exc.message, exc.status
            data = request.POST.copy()
            data["version"] = str(exc.extra.get("version", ""))
            form.data = data
        else:
            messages.success(request, _("Saved."))
            return redirect("activities:complaint_detail", pk=c.pk)
    return _form_page(request, c.customer, form, c, status=status, alert=alert)


@page
@require_http_methods(["GET", "POST"])
def complaint_delete(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    c = selectors.complaint_get(actor=actor, complaint_id=pk)
    require(actor, "delete")
    error, status = None, 200
    if request.method == "POST":
        try:
            services.complaint_delete(
                actor=actor, complaint_id=c.pk, expected_version=form_version(request.POST.get("version"))
            )
        except (Conflict, PreconditionFailed, ValidationFailed) as exc:
            error, status = exc.message, exc.status
        else:
            messages.success(request, _("Complaint “%(title)s” deleted.") % {"title": c.title})
            return redirect("activities:complaint_list")
    context = {"nav": NAV, "complaint": c, "customer": c.customer, "error": error}
    return render(request, "activities/complaint_confirm_delete.html", context, status=status)
