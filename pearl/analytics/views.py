"""/insights/ pages: automatic grading rules and smart tags (settings-like: manage_settings)."""

from __future__ import annotations

from functools import partial

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from pearl.analytics import selectors, services
from pearl.analytics.conditions import FIELDS, OP_LABELS
from pearl.analytics.forms import GradingRuleForm, SmartTagForm
from pearl.core.pages import FORM_ERRORS, actor_of, add_service_errors, page_view, render_page

settings_required = page_view(error_template="settings/forbidden.html", right="manage_settings")
page = partial(render_page, nav="insights")


@settings_required
@require_http_methods(["GET", "POST"])
def rules(request: HttpRequest) -> HttpResponse:
    """Grading rules (with the form to add one) and the smart tags."""
    actor = actor_of(request)
    form = GradingRuleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.grading_rule_create(actor=actor, data=form.service_data())
        except FORM_ERRORS as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Grading rule added; it applies from the next sweep or order."))
            return redirect("analytics:rules")
    context = {
        "grading_rules": selectors.grading_rule_list(actor=actor),
        "smart_tags": selectors.smart_tag_list(actor=actor),
        "form": form,
    }
    return page(request, "analytics/rules.html", context, status=422 if request.method == "POST" else 200)


@settings_required
@require_http_methods(["GET", "POST"])
def grading_rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    rule = selectors.grading_rule_get(actor=actor, rule_id=pk)
    form = GradingRuleForm(request.POST or None, initial=GradingRuleForm.initial_for(rule))
    if request.method == "POST" and form.is_valid():
        try:
            services.grading_rule_update(actor=actor, rule_id=rule.pk, data=form.service_data())
        except FORM_ERRORS as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Grading rule saved."))
            return redirect("analytics:rules")
    return page(
        request,
        "analytics/grading_rule_form.html",
        {"form": form, "rule": rule},
        status=422 if request.method == "POST" else 200,
    )


@settings_required
@require_POST
def grading_rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    services.grading_rule_delete(actor=actor_of(request), rule_id=pk)
    messages.success(request, _("Grading rule deleted."))
    return redirect("analytics:rules")


def _tag_context(form: SmartTagForm) -> dict[str, object]:
    return {
        "form": form,
        "fields_help": [(key, spec.label, [OP_LABELS[o] for o in spec.ops], spec.unit) for key, spec in FIELDS.items()],
    }


@settings_required
@require_http_methods(["GET", "POST"])
def smart_tag_create(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    form = SmartTagForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            rule = services.smart_tag_create(actor=actor, data=form.service_data())
        except FORM_ERRORS as exc:
            form.apply_service_errors(exc)
        else:
            messages.success(request, _("Smart tag %(name)s created.") % {"name": rule.tag.name})
            return redirect("analytics:rules")
    return page(
        request,
        "analytics/smart_tag_form.html",
        {**_tag_context(form), "rule": None},
        status=422 if request.method == "POST" else 200,
    )


@settings_required
@require_http_methods(["GET", "POST"])
def smart_tag_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    rule = selectors.smart_tag_get(actor=actor, rule_id=pk)
    form = SmartTagForm(request.POST or None, initial=SmartTagForm.initial_for(rule))
    if request.method == "POST" and form.is_valid():
        try:
            rule = services.smart_tag_update(actor=actor, rule_id=rule.pk, data=form.service_data())
        except FORM_ERRORS as exc:
            form.apply_service_errors(exc)
        else:
            messages.success(
                request,
                _("Smart tag %(name)s saved (%(n)d customers).") % {"name": rule.tag.name, "n": rule.member_count},
            )
            return redirect("analytics:rules")
    return page(
        request,
        "analytics/smart_tag_form.html",
        {**_tag_context(form), "rule": rule},
        status=422 if request.method == "POST" else 200,
    )


@settings_required
@require_POST
def smart_tag_delete(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    rule = selectors.smart_tag_get(actor=actor, rule_id=pk)
    name = rule.tag.name
    services.smart_tag_delete(actor=actor, rule_id=rule.pk)
    messages.success(request, _("Smart tag %(name)s deleted.") % {"name": name})
    return redirect("analytics:rules")


@settings_required
@require_POST
def smart_tag_examples(request: HttpRequest) -> HttpResponse:
    created = services.smart_tag_examples_install(actor=actor_of(request))
    if created:
        messages.success(
            request,
            _("%(n)d example smart tags added, switched off: review each and switch it on.") % {"n": len(created)},
        )
    else:
        messages.info(request, _("The example smart tags are there already."))
    return redirect(reverse("analytics:rules") + "#smart-tags")
