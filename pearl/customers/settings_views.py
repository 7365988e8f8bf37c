"""Settings pages for customer data: tags, choice lists and custom-field definitions.

Mounted under /settings/ (namespace "settings") by pearl.accounts.settings_urls, which includes
pearl.customers.settings_urls by module path, so all settings live in one section.
"""

from __future__ import annotations

from functools import partial

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from pearl.core.pages import FORM_ERRORS, actor_of, add_service_errors, page_view, render_page
from pearl.customers import selectors, services
from pearl.customers.choices import ChoiceList, CustomFieldObject
from pearl.customers.forms_settings import (
    ChoiceOptionEditForm,
    ChoiceOptionForm,
    CustomFieldCreateForm,
    CustomFieldForm,
    TagForm,
)

# Log-in and the manage-settings right, as on the people settings (pearl.accounts.views): service
# denials become the 403 page, NotFound Django's 404 page.
settings_required = page_view(error_template="settings/forbidden.html", right="manage_settings", not_found_page=False)
page = partial(render_page, nav="settings")


# --- tags -------------------------------------------------------------------------------------------


@settings_required
@require_http_methods(["GET", "POST"])
def tag_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    form = TagForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            tag = services.tag_create(actor=actor, data=form.cleaned_data)
        except FORM_ERRORS as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Tag %(name)s created.") % {"name": tag.name})
            return redirect("settings:tag_list")
    return page(request, "settings/tag_list.html", {"tags": selectors.tag_list(actor=actor), "form": form})


@settings_required
@require_http_methods(["GET", "POST"])
def tag_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    tag = get_object_or_404(selectors.tag_list(actor=actor), pk=pk)
    if request.method == "POST":
        form = TagForm(request.POST)
        if form.is_valid():
            try:
                services.tag_update(actor=actor, tag=tag, data=form.cleaned_data)
            except FORM_ERRORS as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Tag %(name)s saved.") % {"name": tag.name})
                return redirect("settings:tag_list")
    else:
        form = TagForm(initial=TagForm.initial_for(tag))
    return page(request, "settings/tag_form.html", {"form": form, "tag": tag})


@settings_required
@require_http_methods(["GET", "POST"])
def tag_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation (the tag comes off every customer); POST deletes."""
    actor = actor_of(request)
    tag = get_object_or_404(selectors.tag_list(actor=actor), pk=pk)
    if request.method == "POST":
        services.tag_delete(actor=actor, tag=tag)
        messages.success(request, _("Tag %(name)s deleted.") % {"name": tag.name})
        return redirect("settings:tag_list")
    return page(
        request,
        "settings/confirm_delete.html",
        {
            "title": _("Delete tag %(name)s?") % {"name": tag.name},
            "warning": _("The tag is removed from every customer that carries it."),
            "cancel_url": reverse("settings:tag_list"),
        },
    )


# --- choice lists -----------------------------------------------------------------------------------


def _list_name(list_name: str) -> str:
    if list_name not in ChoiceList.values:
        raise Http404(_("Unknown choice list."))
    return list_name


def _lists_context(current: str) -> dict[str, object]:
    return {"lists": ChoiceList.choices, "list_name": current, "list_label": ChoiceList(current).label}


@settings_required
def choice_index(request: HttpRequest) -> HttpResponse:
    return redirect("settings:choice_list", list_name=ChoiceList.CUSTOMER_TYPE)


@settings_required
@require_http_methods(["GET", "POST"])
def choice_list(request: HttpRequest, list_name: str) -> HttpResponse:
    """The options of one list (retired ones too, marked), with the form to add one."""
    actor = actor_of(request)
    list_name = _list_name(list_name)
    form = ChoiceOptionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            option = services.choice_option_create(actor=actor, data={"list_name": list_name, **form.service_data()})
        except FORM_ERRORS as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("%(label)s added.") % {"label": option.label})
            return redirect("settings:choice_list", list_name=list_name)
    options = selectors.choice_options(list_name=list_name, include_inactive=True)
    context = {"options": options, "form": form, **_lists_context(list_name)}
    return page(request, "settings/choice_list.html", context)


@settings_required
@require_http_methods(["GET", "POST"])
def choice_edit(request: HttpRequest, list_name: str, pk: int) -> HttpResponse:
    """Rename (renames it on every record), reorder, retire or bring back one option."""
    actor = actor_of(request)
    list_name = _list_name(list_name)
    option = get_object_or_404(selectors.choice_options(list_name=list_name, include_inactive=True), pk=pk)
    if request.method == "POST":
        form = ChoiceOptionEditForm(request.POST)
        if form.is_valid():
            try:
                services.choice_option_update(actor=actor, option=option, data=form.service_data())
            except FORM_ERRORS as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("%(label)s saved.") % {"label": option.label})
                return redirect("settings:choice_list", list_name=list_name)
        option.refresh_from_db()
    else:
        form = ChoiceOptionEditForm(initial=ChoiceOptionEditForm.initial_for(option))
    context = {"form": form, "option": option, **_lists_context(list_name)}
    return page(request, "settings/choice_form.html", context)


@settings_required
@require_POST
def choice_toggle(request: HttpRequest, list_name: str, pk: int) -> HttpResponse:
    """Retire an option in one click from the list, or put a retired one back in use."""
    actor = actor_of(request)
    list_name = _list_name(list_name)
    option = get_object_or_404(selectors.choice_options(list_name=list_name, include_inactive=True), pk=pk)
    services.choice_option_update(actor=actor, option=option, data={"is_active": not option.is_active})
    if option.is_active:
        messages.success(request, _("%(label)s is in use again.") % {"label": option.label})
    else:
        messages.success(request, _("%(label)s is retired.") % {"label": option.label})
    return redirect("settings:choice_list", list_name=list_name)


# --- custom fields ----------------------------------------------------------------------------------


def _object_type(object_type: str) -> str:
    if object_type not in CustomFieldObject.values:
        raise Http404(_("Unknown object type."))
    return object_type


def _objects_context(current: str) -> dict[str, object]:
    return {
        "object_types": CustomFieldObject.choices,
        "object_type": current,
        "object_label": CustomFieldObject(current).label,
    }


@settings_required
def field_index(request: HttpRequest) -> HttpResponse:
    return redirect("settings:field_list", object_type=CustomFieldObject.CUSTOMER)


@settings_required
def field_list(request: HttpRequest, object_type: str) -> HttpResponse:
    object_type = _object_type(object_type)
    fields = selectors.custom_field_list(actor=actor_of(request), object_type=object_type)
    return page(request, "settings/field_list.html", {"fields": fields, **_objects_context(object_type)})


@settings_required
@require_http_methods(["GET", "POST"])
def field_create(request: HttpRequest, object_type: str) -> HttpResponse:
    actor = actor_of(request)
    object_type = _object_type(object_type)
    form = CustomFieldCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            field = services.custom_field_create(actor=actor, data={**form.service_data(), "object_type": object_type})
        except FORM_ERRORS as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Custom field %(label)s created.") % {"label": field.label})
            return redirect("settings:field_list", object_type=object_type)
    context = {"form": form, "field": None, **_objects_context(object_type)}
    return page(request, "settings/field_form.html", context)


@settings_required
@require_http_methods(["GET", "POST"])
def field_edit(request: HttpRequest, object_type: str, pk: int) -> HttpResponse:
    actor = actor_of(request)
    object_type = _object_type(object_type)
    field = get_object_or_404(selectors.custom_field_list(actor=actor, object_type=object_type), pk=pk)
    if request.method == "POST":
        form = CustomFieldForm(request.POST)
        if form.is_valid():
            try:
                services.custom_field_update(actor=actor, field=field, data=form.service_data())
            except FORM_ERRORS as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Custom field %(label)s saved.") % {"label": field.label})
                return redirect("settings:field_list", object_type=object_type)
        field.refresh_from_db()
    else:
        form = CustomFieldForm(initial=CustomFieldForm.initial_for(field))
    context = {"form": form, "field": field, **_objects_context(object_type)}
    return page(request, "settings/field_form.html", context)


@settings_required
@require_http_methods(["GET", "POST"])
def field_delete(request: HttpRequest, object_type: str, pk: int) -> HttpResponse:
    """Refused by the service while records hold a value; the page then says why."""
    actor = actor_of(request)
    object_type = _object_type(object_type)
    field = get_object_or_404(selectors.custom_field_list(actor=actor, object_type=object_type), pk=pk)
    error = ""
    if request.method == "POST":
        try:
            services.custom_field_delete(actor=actor, field=field)
        except FORM_ERRORS as exc:
            error = str(exc.message)
        else:
            messages.success(request, _("Custom field %(label)s deleted.") % {"label": field.label})
            return redirect("settings:field_list", object_type=object_type)
    return page(
        request,
        "settings/confirm_delete.html",
        {
            "title": _("Delete custom field %(label)s?") % {"label": field.label},
            "warning": _("Deleting is only possible while no record holds a value for it."),
            "error": error,
            "cancel_url": reverse("settings:field_list", args=[object_type]),
        },
        status=409 if error else 200,
    )
