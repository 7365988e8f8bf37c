"""Settings pages for customer data: tags, choice lists and custom-field definitions.

Mounted under /settings/ (namespace "settings") by pearl.accounts.settings_urls, which includes
``urlpatterns`` below by module path, so all settings live in one section.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from pearl.accounts.models import User
from pearl.core.errors import ApplicationError, Conflict, NotFound, PermissionDenied, ValidationFailed
from pearl.core.permissions import require
from pearl.customers import selectors, services
from pearl.customers.choices import ChoiceList, CustomFieldObject
from pearl.customers.forms_settings import (
    ChoiceOptionEditForm,
    ChoiceOptionForm,
    CustomFieldCreateForm,
    CustomFieldForm,
    TagForm,
)

# --- page helpers ------------------------------------------------------------------------------------
# The same few helpers as in pearl.accounts.views: the architecture rule forbids importing another
# app's views, and there is no shared page-helper module in core yet (see the report to the lead).

View = Callable[..., HttpResponse]
FORM_ERRORS = (ValidationFailed, Conflict)


def actor_of(request: HttpRequest) -> User:
    return cast(User, request.user)


def settings_required(view: View) -> View:
    """Log-in and the manage-settings right; service denials become the 403 page, NotFound a 404."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        try:
            require(actor_of(request), "manage_settings")
            return view(request, *args, **kwargs)
        except PermissionDenied as exc:
            return render(request, "settings/forbidden.html", {"message": exc.message}, status=403)
        except NotFound as exc:
            raise Http404(str(exc.message)) from exc

    return wrapper


def add_service_errors(form: forms.Form, exc: ApplicationError) -> None:
    """Field messages on their fields; the overall message on top unless it repeats one of them."""
    placed: set[str] = set()
    for field, msgs in exc.field_errors.items():
        for msg in msgs:
            form.add_error(field if field in form.fields else None, str(msg))
            placed.add(str(msg))
    if str(exc.message) not in placed:
        form.add_error(None, str(exc.message))


def page(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    return render(request, template, {"nav": "settings", **context}, status=status)


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
    return page(request, "settings/confirm_delete.html", {
        "title": _("Delete tag %(name)s?") % {"name": tag.name},
        "warning": _("The tag is removed from every customer that carries it."),
        "cancel_url": reverse("settings:tag_list"),
    })


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
            option = services.choice_option_create(
                actor=actor, data={"list_name": list_name, **form.service_data()}
            )
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
        "object_types": CustomFieldObject.choices, "object_type": current,
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
            field = services.custom_field_create(
                actor=actor, data={**form.service_data(), "object_type": object_type}
            )
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
    return page(request, "settings/confirm_delete.html", {
        "title": _("Delete custom field %(label)s?") % {"label": field.label},
        "warning": _("Deleting is only possible while no record holds a value for it."),
        "error": error, "cancel_url": reverse("settings:field_list", args=[object_type]),
    }, status=409 if error else 200)


# Included by pearl.accounts.settings_urls into the "settings" namespace.
urlpatterns = [
    path("tags/", tag_list, name="tag_list"),
    path("tags/<int:pk>/", tag_edit, name="tag_edit"),
    path("tags/<int:pk>/delete/", tag_delete, name="tag_delete"),
    path("choices/", choice_index, name="choice_index"),
    path("choices/<str:list_name>/", choice_list, name="choice_list"),
    path("choices/<str:list_name>/<int:pk>/", choice_edit, name="choice_edit"),
    path("choices/<str:list_name>/<int:pk>/toggle/", choice_toggle, name="choice_toggle"),
    path("fields/", field_index, name="field_index"),
    path("fields/<str:object_type>/", field_list, name="field_list"),
    path("fields/<str:object_type>/new/", field_create, name="field_create"),
    path("fields/<str:object_type>/<int:pk>/", field_edit, name="field_edit"),
    path("fields/<str:object_type>/<int:pk>/delete/", field_delete, name="field_delete"),
]
