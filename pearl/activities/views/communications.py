"""My follow-ups, the communications list, the quick log on the customer page, and the full forms."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from pearl.accounts.models import User
from pearl.accounts.selectors import user_list
from pearl.activities import selectors, services
from pearl.activities.choices import CommunicationKind
from pearl.activities.filters import CommunicationFilterForm
from pearl.activities.forms import QUICK_KINDS, CommunicationForm, QuickLogForm
from pearl.activities.models import Communication
from pearl.activities.views.common import NAV, customer_for, page, paginate
from pearl.core.errors import Conflict, PreconditionFailed, ValidationFailed
from pearl.core.pages import actor_of, is_htmx
from pearl.core.paging import form_version
from pearl.core.permissions import require
from pearl.customers import selectors as customer_selectors
from pearl.customers.models import Customer

TIMELINE_EVENT = "timeline-changed"
PHOTOS = "photos"


def _customer_url(customer_id: int) -> str:
    return reverse("customers:customer_detail", args=[customer_id])


# --- my follow-ups ------------------------------------------------------------------------------------


@page
@require_GET
def follow_up_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    everyone = request.GET.get("who") == "all" and actor.data_scope != "own"
    context = {
        "nav": NAV,
        "tab": "follow-ups",
        "follow_ups": selectors.follow_ups(actor=actor, everyone=everyone),
        "everyone": everyone,
        "may_see_others": actor.data_scope != "own",
    }
    return render(request, "activities/follow_up_list.html", context)


# --- the communications list ----------------------------------------------------------------------------


def _author_choices(actor: User) -> list[tuple[str, str]]:
    users = user_list(actor=actor).filter(is_active=True)
    return [("", "—"), ("me", str(_("Me"))), *((str(u.pk), str(u)) for u in users)]


@page
@require_GET
def communication_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    form = CommunicationFilterForm(request.GET or None)
    rows: list[Communication] = []
    pager = None
    status = 200
    if form.is_bound and not form.is_valid():
        status = 422
    else:
        params = {k: v for k, v in request.GET.items() if k in form.fields}
        qs = selectors.communication_list(actor=actor, filters=params)
        rows, pager = paginate(qs, request.GET.get("page"))
    photos = selectors.attachments_by_subject(
        actor=actor, subject_type="activities.communication", ids=[c.pk for c in rows]
    )
    for c in rows:
        c.photos = [a for a in photos.get(c.pk, []) if a.is_image]  # type: ignore[attr-defined]
    context = {
        "nav": NAV,
        "tab": "communications",
        "form": form,
        "rows": rows,
        "pager": pager,
        "authors": _author_choices(actor),
    }
    return render(request, "activities/communication_list.html", context, status=status)


# --- the quick log (htmx partial on the customer page) ----------------------------------------------------


def _quick_context(
    customer: Customer, *, form: QuickLogForm | None = None, notice: str = "", error: Any = None
) -> dict[str, Any]:
    return {
        "customer": customer,
        "quick_form": form,
        "quick_kinds": [(k.value, k.label) for k in QUICK_KINDS],
        "quick_notice": notice,
        "quick_error": error,
        "is_visit": form is not None and form.quick_kind == CommunicationKind.VISIT,
    }


@page
@require_http_methods(["GET", "POST"])
def quick_log(request: HttpRequest, customer_id: int) -> HttpResponse:
    """GET ?kind=…: the inline form; GET without kind: the row of buttons; POST: save, answer collapsed."""
    actor = actor_of(request)
    customer = customer_selectors.customer_get(actor=actor, customer_id=customer_id)
    kind = request.POST.get("quick-kind") or request.GET.get("kind") or ""
    if kind and kind not in CommunicationKind.values:
        kind = CommunicationKind.NOTE
    if request.method == "GET":
        if not kind:
            if not is_htmx(request):
                return redirect(_customer_url(customer.pk))
            return render(request, "activities/_quick-log.html", _quick_context(customer))
        require(actor, "edit")
        form = QuickLogForm(customer=customer, kind=kind)
        if not is_htmx(request):
            return redirect(reverse("activities:communication_create") + f"?customer={customer.pk}&kind={kind}")
        return render(request, "activities/_quick-log.html", _quick_context(customer, form=form))
    require(actor, "edit")
    form = QuickLogForm(request.POST, customer=customer, kind=kind or CommunicationKind.NOTE)
    error: Any = None
    if form.is_valid():
        try:
            c = services.communication_create(
                actor=actor,
                customer_id=customer.pk,
                data=form.service_data(),
                photos=request.FILES.getlist(PHOTOS) if form.quick_kind == CommunicationKind.VISIT else None,
            )
        except (ValidationFailed, Conflict) as exc:
            form.apply_service_errors(exc)
            error = exc.message if not exc.field_errors else None
        else:
            notice = _("%(kind)s saved.") % {"kind": c.get_kind_display()}
            if not is_htmx(request):
                messages.success(request, notice)
                return redirect(_customer_url(customer.pk))
            response = render(request, "activities/_quick-log.html", _quick_context(customer, notice=notice))
            response["HX-Trigger"] = TIMELINE_EVENT  # the customer page's timeline reloads itself
            return response
    if not is_htmx(request):
        context = _form_context(customer, form, None)
        return render(request, "activities/communication_form.html", context, status=422)
    # htmx swaps only 2xx answers: the form with its messages comes back as 200.
    return render(request, "activities/_quick-log.html", _quick_context(customer, form=form, error=error))


# --- the full form pages -------------------------------------------------------------------------------------


def _form_context(
    customer: Customer, form: CommunicationForm, communication: Communication | None, **extra: Any
) -> dict[str, Any]:
    return {"nav": NAV, "customer": customer, "form": form, "communication": communication, **extra}


@page
@require_http_methods(["GET", "POST"])
def communication_create(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    customer = customer_for(actor, request.GET.get("customer") or request.POST.get("customer"))
    require(actor, "edit")
    kind = request.GET.get("kind") or ""
    initial = {"kind": kind} if kind in CommunicationKind.values else {}
    if request.method == "GET":
        form = CommunicationForm(customer=customer, initial=initial)
        return render(request, "activities/communication_form.html", _form_context(customer, form, None))
    form = CommunicationForm(request.POST, customer=customer)
    if form.is_valid():
        try:
            c = services.communication_create(
                actor=actor, customer_id=customer.pk, data=form.service_data(), photos=request.FILES.getlist(PHOTOS)
            )
        except (ValidationFailed, Conflict) as exc:
            form.apply_service_errors(exc)
        else:
            messages.success(request, _("%(kind)s saved.") % {"kind": c.get_kind_display()})
            return redirect(_customer_url(customer.pk))
    return render(request, "activities/communication_form.html", _form_context(customer, form, None), status=422)


@page
@require_GET
def communication_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    c = selectors.communication_get(actor=actor, communication_id=pk)
    files = list(selectors.attachment_list(actor=actor, subject=("activities.communication", c.pk)))
    context = {
        "nav": NAV,
        "communication": c,
        "customer": c.customer,
        "photos": [a for a in files if a.is_image],
        "files": [a for a in files if not a.is_image],
        "may_delete": (c.author_id == actor.pk and actor.may("edit")) or actor.may("delete"),
        "upload_url": reverse("activities:communication_attach", args=[c.pk]),
    }
    return render(request, "activities/communication_detail.html", context)


@page
@require_http_methods(["GET", "POST"])
def communication_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    c = selectors.communication_get(actor=actor, communication_id=pk)
    require(actor, "edit")
    customer = c.customer
    if request.method == "GET":
        form = CommunicationForm(customer=customer, communication=c)
        return render(request, "activities/communication_form.html", _form_context(customer, form, c))
    form = CommunicationForm(request.POST, customer=customer, communication=c)
    status = 422
    alert: Any = None
    if form.is_valid():
        try:
            services.communication_update(
                actor=actor,
                communication_id=c.pk,
                data=form.service_data(),
                expected_version=form.cleaned_data.get("version"),
                photos=request.FILES.getlist(PHOTOS),
            )
        except (ValidationFailed, Conflict) as exc:
            form.apply_service_errors(exc)
        except PreconditionFailed as exc:
            alert, status = exc.message, exc.status
            data = request.POST.copy()
            data["version"] = str(exc.extra.get("version", ""))
            form.data = data
        else:
            messages.success(request, _("Saved."))
            return redirect("activities:communication_detail", pk=c.pk)
    context = _form_context(customer, form, c, alert=alert)
    return render(request, "activities/communication_form.html", context, status=status)


@page
@require_http_methods(["GET", "POST"])
def communication_delete(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    c = selectors.communication_get(actor=actor, communication_id=pk)
    error, status = None, 200
    if request.method == "POST":
        try:
            services.communication_delete(
                actor=actor, communication_id=c.pk, expected_version=form_version(request.POST.get("version"))
            )
        except (Conflict, PreconditionFailed, ValidationFailed) as exc:
            error, status = exc.message, exc.status
        else:
            messages.success(request, _("%(kind)s deleted.") % {"kind": c.get_kind_display()})
            return redirect(_customer_url(c.customer_id))
    context = {"nav": NAV, "communication": c, "customer": c.customer, "error": error}
    return render(request, "activities/communication_confirm_delete.html", context, status=status)
