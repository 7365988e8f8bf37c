"""The customer's contacts section, whose changes htmx swaps in place, and what every detail tab shares.

Without JavaScript the same URLs answer with a whole page or a redirect back to the detail page.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import reswap, retarget

from pearl.accounts.models import User
from pearl.core.errors import Conflict, NotFound, PreconditionFailed, ValidationFailed
from pearl.core.pages import actor_of, is_htmx
from pearl.core.permissions import require
from pearl.customers import selectors, services
from pearl.customers.choices import CustomFieldObject
from pearl.customers.forms import ContactForm, contact_form_options, custom_display
from pearl.customers.models import Contact, Customer
from pearl.customers.views.common import form_version, page


def contacts_context(
    actor: User,
    customer: Customer,
    *,
    add_form: ContactForm | None = None,
    notice: str | None = None,
    error: Any = None,
) -> dict[str, Any]:
    positions, definitions = contact_form_options(actor)
    cards = []
    for contact in customer.contacts.all():
        custom = [
            (d.label, custom_display(d, contact.custom_fields.get(d.key)))
            for d in definitions
            if custom_display(d, contact.custom_fields.get(d.key))
        ]
        cards.append({"contact": contact, "custom": custom})
    return {
        "customer": customer,
        "contact_cards": cards,
        "contacts_notice": notice,
        "contacts_error": error,
        "add_form": add_form or ContactForm(prefix="new", positions=positions, definitions=definitions),
    }


def detail_context(actor: User, customer: Customer, tab: str) -> dict[str, Any]:
    """What every tab of the detail page shows: the customer and its custom fields."""
    definitions = selectors.custom_field_list(actor=actor, object_type=CustomFieldObject.CUSTOMER)
    custom = [(d.label, custom_display(d, customer.custom_fields.get(d.key))) for d in definitions]
    return {"nav": "customers", "customer": customer, "tab": tab, "custom_rows": custom}


def _editable_contact(actor: User, pk: int, contact_id: int) -> tuple[Customer, Contact]:
    """The customer and one of its contacts, 404 outside the actor's scope, 403 without the edit right."""
    customer = selectors.customer_get(actor=actor, customer_id=pk)
    for contact in customer.contacts.all():
        if contact.pk == contact_id:
            require(actor, "edit")
            return customer, contact
    raise NotFound(_("Contact not found."))


def _contacts_section(request: HttpRequest, actor: User, pk: int, **kwargs: Any) -> HttpResponse:
    """The contacts section re-read after a change, swapped in place of the old one."""
    customer = selectors.customer_get(actor=actor, customer_id=pk)
    response = render(request, "customers/_contacts.html", contacts_context(actor, customer, **kwargs))
    return reswap(retarget(response, "#contacts"), "outerHTML")


def _detail_url(pk: int) -> str:
    return reverse("customers:customer_detail", args=[pk]) + "#contacts"


def _contacts_changed(request: HttpRequest, actor: User, pk: int, notice: str) -> HttpResponse:
    """After a contact was added, saved or deleted: the fresh section, or back to the detail page."""
    if is_htmx(request):
        return _contacts_section(request, actor, pk, notice=notice)
    messages.success(request, notice)
    return redirect(_detail_url(pk))


def _refusal_on_form(form: ContactForm, exc: ValidationFailed) -> Any:
    """Field messages go on the form; the overall message, returned, shows only when there are none."""
    form.apply_service_errors(exc.field_errors)
    return None if exc.field_errors else exc.message


@page
@require_GET
def contact_list(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    selectors.customer_get(actor=actor, customer_id=pk)
    if not is_htmx(request):
        return redirect(_detail_url(pk))
    return _contacts_section(request, actor, pk)


@page
@require_POST
def contact_create(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    customer = selectors.customer_get(actor=actor, customer_id=pk)
    positions, definitions = contact_form_options(actor)
    form = ContactForm(request.POST, prefix="new", positions=positions, definitions=definitions)
    error: Any = None
    if form.is_valid():
        try:
            contact = services.contact_create(actor=actor, customer_id=pk, data=form.create_data())
        except ValidationFailed as exc:
            error = _refusal_on_form(form, exc)
        except Conflict as exc:
            error = exc.message
        else:
            return _contacts_changed(request, actor, pk, _("Contact %(name)s added.") % {"name": contact.name})
    if is_htmx(request):
        return _contacts_section(request, actor, pk, add_form=form, error=error)
    context = {
        **detail_context(actor, customer, "profile"),
        **contacts_context(actor, customer, add_form=form, error=error),
    }
    return render(request, "customers/customer_detail.html", context, status=422)


@page
@require_http_methods(["GET", "POST"])
def contact_edit(request: HttpRequest, pk: int, contact_id: int) -> HttpResponse:
    actor = actor_of(request)
    customer, contact = _editable_contact(actor, pk, contact_id)
    positions, definitions = contact_form_options(actor)
    form = ContactForm(
        request.POST if request.method == "POST" else None,
        prefix=f"c{contact.pk}",
        positions=positions,
        definitions=definitions,
        contact=contact,
    )
    error: Any = None
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                services.contact_update(
                    actor=actor,
                    contact_id=contact.pk,
                    data=form.update_data(),
                    expected_version=form.cleaned_data.get("version"),
                )
            except ValidationFailed as exc:
                error = _refusal_on_form(form, exc)
            except (Conflict, PreconditionFailed) as exc:
                error, status = exc.message, exc.status
            else:
                notice = _("Contact %(name)s saved.") % {"name": form.cleaned_data.get("name") or contact.name}
                return _contacts_changed(request, actor, pk, notice)
    context = {"nav": "customers", "customer": customer, "contact": contact, "form": form, "error": error}
    if is_htmx(request):
        return render(request, "customers/_contact-edit.html", context)  # htmx swaps only 2xx answers
    return render(request, "customers/contact_form.html", context, status=status)


@page
@require_http_methods(["GET", "POST"])
def contact_delete(request: HttpRequest, pk: int, contact_id: int) -> HttpResponse:
    actor = actor_of(request)
    customer, contact = _editable_contact(actor, pk, contact_id)
    if request.method == "GET":
        context = {"nav": "customers", "customer": customer, "contact": contact}
        return render(request, "customers/contact_confirm_delete.html", context)
    try:
        services.contact_delete(
            actor=actor, contact_id=contact.pk, expected_version=form_version(request.POST.get("version"))
        )
    except (Conflict, PreconditionFailed, ValidationFailed) as exc:
        if is_htmx(request):
            return _contacts_section(request, actor, pk, error=exc.message)
        messages.error(request, str(exc.message))
        return redirect(_detail_url(pk))
    return _contacts_changed(request, actor, pk, _("Contact %(name)s deleted.") % {"name": contact.name})
