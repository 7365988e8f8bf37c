"""Reads for customers and contacts: only what the actor may see, out of scope is 404."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.core.errors import NotFound, ValidationFailed
from pearl.core.models import ChangeLog
from pearl.core.permissions import scope_q
from pearl.customers.choices import ChoiceList, CustomFieldObject
from pearl.customers.filters import CustomerFilterForm, filter_errors
from pearl.customers.models import ChoiceOption, Contact, Customer, CustomFieldDefinition, Tag


def customer_visible(*, actor: User) -> QuerySet[Customer]:
    return Customer.objects.filter(scope_q(actor))


def customer_list(*, actor: User, filters: dict[str, Any] | None = None) -> QuerySet[Customer]:
    """Customers in the actor's scope matching the shared filter set; bad filters raise ValidationFailed."""
    form = CustomerFilterForm(filters or {})
    if not form.is_valid():
        errors = filter_errors(form)
        raise ValidationFailed(next(iter(errors.values()))[0], field_errors=errors)
    qs = form.apply(customer_visible(actor=actor), actor)
    return qs.select_related("customer_type", "industry", "source", "owner", "team").prefetch_related("tags")


def customer_get(*, actor: User, customer_id: int) -> Customer:
    customer = (
        customer_visible(actor=actor)
        .select_related("customer_type", "industry", "source", "owner", "team")
        .prefetch_related("tags", Prefetch("contacts", queryset=Contact.objects.select_related("position")))
        .filter(pk=customer_id)
        .first()
    )
    if customer is None:
        raise NotFound(_("Customer not found."))
    return customer


def contact_list(*, actor: User, customer_id: int | None = None, q: str = "") -> QuerySet[Contact]:
    qs = Contact.objects.filter(customer__in=customer_visible(actor=actor).values("pk")).select_related(
        "position", "customer"
    )
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    if q:
        qs = qs.filter(name__contains=q.strip())
    return qs.order_by("-id")


def contact_get(*, actor: User, contact_id: int) -> Contact:
    contact = contact_list(actor=actor).filter(pk=contact_id).first()
    if contact is None:
        raise NotFound(_("Contact not found."))
    return contact


def customer_history(*, actor: User, customer_id: int) -> QuerySet[ChangeLog]:
    customer_get(actor=actor, customer_id=customer_id)  # 404 when out of scope
    return ChangeLog.objects.filter(root_type="customers.customer", root_id=customer_id).select_related("actor")


def tag_list(*, actor: User) -> QuerySet[Tag]:
    return Tag.objects.order_by("name")


def choice_options(*, list_name: str, include_inactive: bool = False) -> QuerySet[ChoiceOption]:
    qs = ChoiceOption.objects.filter(list_name=ChoiceList(list_name))
    return qs if include_inactive else qs.filter(is_active=True)


def custom_field_list(*, actor: User, object_type: str | None = None) -> QuerySet[CustomFieldDefinition]:
    qs = CustomFieldDefinition.objects.all()
    if object_type:
        qs = qs.filter(object_type=CustomFieldObject(object_type))
    return qs.order_by("object_type", "order", "id")
