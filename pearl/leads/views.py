"""Leads pages (phone-first): list with filters, new lead, detail with a two-tap follow-up log and
convert; the assignment rules page (administrators) with create, edit, delete and move up/down."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from pearl.accounts.selectors import user_list
from pearl.core.errors import Conflict, PreconditionFailed, ValidationFailed
from pearl.core.pages import actor_of, page_view
from pearl.core.paging import form_version, page_number
from pearl.core.paging import paginate as core_paginate
from pearl.core.permissions import require
from pearl.leads import selectors, services
from pearl.leads.choices import FollowUpKind, LeadStatus
from pearl.leads.filters import LeadFilterForm
from pearl.leads.forms import DisqualifyForm, LeadEditForm, LeadForm, RuleForm
from pearl.leads.models import Lead

NAV = "leads"
page = page_view(error_template="leads/error.html")
settings_page = page_view(error_template="leads/error.html", right="manage_settings")
QUICK_KINDS = [FollowUpKind.CALL, FollowUpKind.VISIT, FollowUpKind.WECHAT, FollowUpKind.NOTE]


def _render(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    return render(request, template, {"nav": NAV, **context}, status=status)


@page
@require_GET
def lead_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    form = LeadFilterForm(request.GET or None)
    rows: list[Lead] = []
    pager = None
    status = 200
    if form.is_bound and not form.is_valid():
        status = 422
    else:
        params = {k: v for k, v in request.GET.items() if k in form.fields}
        qs = selectors.lead_list(actor=actor, filters=params)
        number, _refused = page_number(request.GET.get("page"))
        rows, pager = core_paginate(qs, number, qs.count(), False)
    owners = [(u.pk, str(u)) for u in user_list(actor=actor).filter(is_active=True)]
    context = {"form": form, "rows": rows, "pager": pager, "owners": owners}
    return _render(request, "leads/lead_list.html", context, status=status)


@page
@require_http_methods(["GET", "POST"])
def lead_create(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    if request.method == "GET":
        return _render(request, "leads/lead_form.html", {"form": LeadForm()})
    form = LeadForm(request.POST)
    if form.is_valid():
        try:
            lead = services.lead_create(actor=actor, data=form.service_data())
        except (ValidationFailed, Conflict) as exc:
            form.apply_service_errors(exc)
        else:
            messages.success(request, _("Lead saved. %(reason)s.") % {"reason": lead.assignment_reason})
            return redirect("leads:lead_detail", pk=lead.pk)
    return _render(request, "leads/lead_form.html", {"form": form}, status=422)


@page
@require_http_methods(["GET", "POST"])
def lead_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit a lead; people who see more than their own leads may also hand it to someone else."""
    actor = actor_of(request)
    require(actor, "edit")
    lead = selectors.lead_get(actor=actor, lead_id=pk)
    users = _users(request)

    def form_page(form: LeadEditForm, status: int = 200) -> HttpResponse:
        return _render(request, "leads/lead_edit.html", {"form": form, "lead": lead}, status=status)

    def shape(form: LeadEditForm) -> LeadEditForm:
        if actor.data_scope == "own":
            form.fields["owner"].disabled = True
        return form

    if request.method == "GET":
        return form_page(shape(LeadEditForm(initial=LeadEditForm.initial_of(lead), users=users)))
    form = shape(LeadEditForm(request.POST, users=users))
    if form.is_valid():
        try:
            services.lead_update(
                actor=actor,
                lead_id=pk,
                data=form.service_data(),
                expected_version=form_version(request.POST.get("version")),
            )
        except PreconditionFailed:
            form.add_error(None, _("Someone else changed this lead while you were editing. Reload to see their "
                                   "changes, then edit again."))  # fmt: skip
        except (ValidationFailed, Conflict) as exc:
            form.apply_service_errors(exc)
        else:
            messages.success(request, _("Lead saved."))
            return redirect("leads:lead_detail", pk=pk)
    return form_page(form, status=422)


def _detail(request: HttpRequest, pk: int, status: int = 200, **extra: Any) -> HttpResponse:
    actor = actor_of(request)
    lead = selectors.lead_get(actor=actor, lead_id=pk)
    context = {
        "lead": lead,
        "follow_ups": list(selectors.lead_follow_ups(actor=actor, lead=lead)[:50]),
        "quick_kinds": [(k.value, k.label) for k in QUICK_KINDS],
        "disqualify_form": extra.pop("disqualify_form", DisqualifyForm()),
        "opportunity_name": services.default_opportunity_name(lead),
        **extra,
    }
    return _render(request, "leads/lead_detail.html", context, status=status)


@page
@require_GET
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, pk)


@page
@require_POST
def lead_follow_up(request: HttpRequest, pk: int) -> HttpResponse:
    """One tap on a kind (call, visit, WeChat, note) logs it; a summary is optional."""
    actor = actor_of(request)
    try:
        services.lead_follow_up_add(
            actor=actor, lead_id=pk, kind=request.POST.get("kind", ""), summary=request.POST.get("summary", "")
        )
    except ValidationFailed as exc:
        return _detail(request, pk, status=422, error=exc.message)
    messages.success(request, _("Follow-up logged."))
    return redirect("leads:lead_detail", pk=pk)


@page
@require_POST
def lead_convert(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    # Ticked, or any of its fields filled in (someone who typed an amount meant it): blank fields take
    # the service's defaults (a name from the lead, the default pipeline).
    filled = {k: v for k in ("name", "amount", "expected_close_date") if (v := request.POST.get(k, "").strip())}
    opportunity = filled if request.POST.get("with_opportunity") or filled else None
    try:
        result = services.lead_convert(actor=actor, lead_id=pk, opportunity=opportunity)
    except (ValidationFailed, Conflict) as exc:
        return _detail(request, pk, status=409 if isinstance(exc, Conflict) else 422, error=_convert_error(exc))
    if result.reused:
        messages.success(request, _("The lead was this customer already; it is linked to it, nothing was created."))
    else:
        messages.success(request, _("Customer created from the lead."))
    if result.opportunity_id is not None:
        messages.success(request, _("Opportunity opened for the customer."))
    return redirect("customers:customer_detail", pk=result.customer_id)


def _convert_error(exc: ValidationFailed | Conflict) -> str:
    """The message, with each field's own message when the opportunity's values were refused."""
    details = [str(m) for key, messages_ in exc.field_errors.items() if key.startswith("opportunity.")
               for m in messages_]  # fmt: skip
    return " ".join(dict.fromkeys([str(exc.message), *details]))


@page
@require_POST
def lead_disqualify(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    form = DisqualifyForm(request.POST)
    form.is_valid()
    try:
        services.lead_update(
            actor=actor,
            lead_id=pk,
            data={"status": LeadStatus.DISQUALIFIED, "disqualify_reason": form.cleaned_data.get("disqualify_reason")},
        )
    except ValidationFailed as exc:
        form.apply_service_errors(exc)
        return _detail(request, pk, status=422, disqualify_form=form)
    messages.success(request, _("Lead marked as disqualified."))
    return redirect("leads:lead_detail", pk=pk)


# --- assignment rules -----------------------------------------------------------------------------------


def _users(request: HttpRequest) -> list[tuple[str, str]]:
    return [(str(u.pk), str(u)) for u in user_list(actor=actor_of(request)).filter(is_active=True)]


@settings_page
@require_GET
def rule_list(request: HttpRequest) -> HttpResponse:
    rules = list(selectors.assignment_rule_list(actor=actor_of(request)))
    return _render(request, "leads/rule_list.html", {"rules": rules})


@settings_page
@require_http_methods(["GET", "POST"])
def rule_create(request: HttpRequest) -> HttpResponse:
    users = _users(request)
    if request.method == "GET":
        return _render(request, "leads/rule_form.html", {"form": RuleForm(users=users), "rule": None})
    form = RuleForm(request.POST, users=users)
    if form.is_valid():
        try:
            rule = services.assignment_rule_create(actor=actor_of(request), data=form.service_data())
        except ValidationFailed as exc:
            form.apply_service_errors(exc)
        else:
            messages.success(request, _("Rule “%(name)s” saved.") % {"name": rule.name})
            return redirect("leads:rule_list")
    return _render(request, "leads/rule_form.html", {"form": form, "rule": None}, status=422)


@settings_page
@require_http_methods(["GET", "POST"])
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    rule = selectors.assignment_rule_get(actor=actor, rule_id=pk)
    users = _users(request)
    if request.method == "GET":
        form = RuleForm(initial=RuleForm.initial_of(rule), users=users)
        return _render(request, "leads/rule_form.html", {"form": form, "rule": rule})
    form = RuleForm(request.POST, users=users)
    if form.is_valid():
        try:
            services.assignment_rule_update(actor=actor, rule_id=pk, data=form.service_data())
        except ValidationFailed as exc:
            form.apply_service_errors(exc)
        else:
            messages.success(request, _("Rule “%(name)s” saved.") % {"name": form.cleaned_data["name"]})
            return redirect("leads:rule_list")
    return _render(request, "leads/rule_form.html", {"form": form, "rule": rule}, status=422)


@settings_page
@require_http_methods(["GET", "POST"])
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    rule = selectors.assignment_rule_get(actor=actor, rule_id=pk)
    if request.method == "GET":
        return _render(request, "leads/rule_confirm_delete.html", {"rule": rule})
    services.assignment_rule_delete(actor=actor, rule_id=pk)
    messages.success(request, _("Rule “%(name)s” deleted.") % {"name": rule.name})
    return redirect("leads:rule_list")


@settings_page
@require_POST
def rule_move(request: HttpRequest, pk: int) -> HttpResponse:
    """Move a rule one place up or down (``direction`` = up | down)."""
    actor = actor_of(request)
    ids = [r.pk for r in selectors.assignment_rule_list(actor=actor)]
    if pk in ids:
        i = ids.index(pk)
        j = i - 1 if request.POST.get("direction") == "up" else i + 1
        if 0 <= j < len(ids):
            ids[i], ids[j] = ids[j], ids[i]
            services.assignment_rules_reorder(actor=actor, rule_ids=ids)
    return redirect("leads:rule_list")
