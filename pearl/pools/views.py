"""/pools/ pages: the pools, a pool's customers with a claim button (htmx), pool settings and the
handover page (administrators)."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from pearl.core.errors import Conflict, PermissionDenied
from pearl.core.pages import FORM_ERRORS, actor_of, add_service_errors, is_htmx, page_view, render_page
from pearl.pools import selectors, services
from pearl.pools.forms import HandoverForm, PoolForm

signed_in = page_view(error_template="settings/forbidden.html")
settings_required = page_view(error_template="settings/forbidden.html", right="manage_settings")
page = partial(render_page, nav="pools")
PAGE_SIZE = 50


@signed_in
def pool_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    return page(
        request,
        "pools/pool_list.html",
        {"pools": selectors.pool_list(actor=actor), "may_manage": actor.may("manage_settings")},
    )


@signed_in
def pool_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    try:
        offset = max(int(request.GET.get("offset", 0)), 0)
    except ValueError:
        offset = 0
    pool, rows, count = selectors.pool_customers(actor=actor, pool_id=pk, limit=PAGE_SIZE, offset=offset)
    context = {
        "pool": pool,
        "rows": rows,
        "count": count,
        "quota": selectors.claim_quota(actor=actor, pool=pool),
        "next_offset": offset + PAGE_SIZE if offset + PAGE_SIZE < count else None,
        "prev_offset": max(offset - PAGE_SIZE, 0) if offset else None,
    }
    return page(request, "pools/pool_detail.html", context)


@signed_in
@require_POST
def pool_claim(request: HttpRequest, pk: int, customer_id: int) -> HttpResponse:
    """Claim; htmx swaps the customer's row for the outcome (claimed, or why not)."""
    actor = actor_of(request)
    error: Any = None
    customer = None
    try:
        customer = services.pool_claim(actor=actor, pool_id=pk, customer_id=customer_id)
    except (Conflict, PermissionDenied) as exc:
        error = exc.message
    if is_htmx(request):  # 200 either way: htmx swaps only successful answers, and the refusal shows inline
        return render(
            request, "pools/_claim-result.html", {"customer": customer, "error": error, "customer_id": customer_id}
        )
    if error is None:
        messages.success(request, _("The customer is yours now."))
    else:
        messages.error(request, error)
    return redirect("pools:pool_detail", pk=pk)


@settings_required
def pool_settings(request: HttpRequest) -> HttpResponse:
    return page(request, "pools/pool_settings.html", {"pools": selectors.pool_settings_list(actor=actor_of(request))})


@settings_required
@require_http_methods(["GET", "POST"])
def pool_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    actor = actor_of(request)
    pool = selectors.pool_settings_get(actor=actor, pool_id=pk) if pk else None
    form = PoolForm(request.POST or None, initial=PoolForm.initial_for(pool))
    if request.method == "POST" and form.is_valid():
        try:
            if pool is None:
                services.pool_create(actor=actor, data=form.service_data())
            else:
                services.pool_update(actor=actor, pool_id=pool.pk, data=form.service_data())
        except FORM_ERRORS as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Pool saved."))
            return redirect("pools:pool_settings")
    return page(
        request,
        "pools/pool_form.html",
        {"form": form, "pool": pool},
        status=422 if request.method == "POST" else 200,
    )


@settings_required
@require_http_methods(["GET", "POST"])
def handover(request: HttpRequest) -> HttpResponse:
    """Choose who leaves and who takes over, see what moves, then confirm."""
    actor = actor_of(request)
    form = HandoverForm(request.POST or None)
    plan = None
    status = 200
    previewed = ""
    if request.method == "POST" and form.is_valid():
        previewed = _selection_key(form.cleaned_data)
        # Confirm only what was previewed: a selection changed after the preview is previewed again.
        confirm = request.POST.get("previewed") == previewed
        try:
            plan = services.user_handover(
                actor=actor,
                from_user_id=form.cleaned_data["from_user"].pk,
                to_user_ids=[u.pk for u in form.cleaned_data["to_users"]],
                deactivate=form.cleaned_data["deactivate"],
                dry_run=not confirm,
            )
        except FORM_ERRORS as exc:
            add_service_errors(form, exc)
            status = 422
        else:
            if confirm:
                messages.success(
                    request,
                    _("Handed over %(n)d customers.") % {"n": plan.moved.get("customers", 0)},
                )
                return redirect("pools:handover")
    elif request.method == "POST":
        status = 422
    receivers = {u.pk: u for u in form.cleaned_data.get("to_users", [])} if plan else {}
    per_receiver = [(receivers.get(pk), n) for pk, n in plan.customers_per_receiver.items()] if plan else []
    context = {"form": form, "plan": plan, "per_receiver": per_receiver, "previewed": previewed}
    return page(request, "pools/handover.html", context, status=status)


def _selection_key(data: dict[str, Any]) -> str:
    to = ",".join(str(u.pk) for u in sorted(data["to_users"], key=lambda u: u.pk))
    return f"{data['from_user'].pk}:{to}:{int(bool(data['deactivate']))}"
