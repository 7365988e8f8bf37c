"""Contacts of a customer: validated, change-logged, and mirrored into identities and search."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.core.changes import created, deleted, diff, record_change, snapshot
from pearl.core.errors import NotFound, PreconditionFailed, ValidationFailed
from pearl.core.events import emit
from pearl.core.models import ChangeAction
from pearl.core.permissions import require, scope_q
from pearl.core.phones import normalize_phone
from pearl.core.text import clean_spaces, nfkc
from pearl.customers.choices import ChoiceList, CustomFieldObject
from pearl.customers.customfields import clean_custom_fields
from pearl.customers.models import ChoiceOption, Contact, Customer
from pearl.customers.services.index import reindex, sync_identities

CONTACT_FIELDS = ["name", "mobile", "email", "wechat", "position", "is_primary", "custom_fields"]


# --- small validators shared with the bulk import (pearl.customers.services.bulk) -----------------


def clean_contact_name(value: Any) -> tuple[str, str | None]:
    name = clean_spaces(str(value or ""))
    if not name:
        return name, _("The contact's name is required.")
    if len(name) > 64:
        return name, _("At most %(n)d characters.") % {"n": 64}
    return name, None


def clean_email(value: Any) -> tuple[str, str | None]:
    email = nfkc(str(value or "")).strip().lower()
    if email:
        try:
            validate_email(email)
        except DjangoValidationError:
            return email, _("Enter a valid email address.")
    return email, None


def clean_wechat(value: Any) -> tuple[str, str | None]:
    wechat = nfkc(str(value or "")).strip()
    if len(wechat) > 64 or " " in wechat:
        return wechat, _("A WeChat id has no spaces and at most 64 characters.")
    return wechat, None


def _clean(data: dict[str, Any], instance: Contact | None, prefix: str = "") -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    for key in sorted(set(data) - set(CONTACT_FIELDS) - {"id", "customer"}):
        errors[prefix + key] = [_("Unknown field %(field)s.") % {"field": key}]
    if "name" in data or instance is None:
        name, error = clean_contact_name(data.get("name"))
        if error:
            errors[prefix + "name"] = [error]
        out["name"] = name
    if "mobile" in data:
        try:
            out["mobile"] = normalize_phone(str(data["mobile"] or ""))
        except ValidationFailed as exc:
            errors[prefix + "mobile"] = [str(exc.message)]
    if "email" in data:
        email, error = clean_email(data["email"])
        if error:
            errors[prefix + "email"] = [error]
        out["email"] = email
    if "wechat" in data:
        wechat, error = clean_wechat(data["wechat"])
        if error:
            errors[prefix + "wechat"] = [error]
        out["wechat"] = wechat
    if "position" in data:
        raw = data["position"]
        option = None
        if raw not in (None, ""):
            try:
                option = ChoiceOption.objects.filter(
                    pk=int(getattr(raw, "pk", raw)), list_name=ChoiceList.POSITION, is_active=True
                ).first()
            except (TypeError, ValueError):
                option = None
            if option is None:
                errors[prefix + "position"] = [_("Choose a position from the list.")]
        out["position"] = option
    if "is_primary" in data:
        out["is_primary"] = bool(data["is_primary"])
    if "custom_fields" in data or instance is None:
        values, cf_errors = clean_custom_fields(
            CustomFieldObject.CONTACT,
            data.get("custom_fields"),
            current=instance.custom_fields if instance else None,
        )
        errors.update({prefix + k: v for k, v in cf_errors.items()})
        out["custom_fields"] = values
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], field_errors=errors)
    return out


def _settle_primary(contact: Contact) -> None:
    """Exactly one primary contact per customer: the newest one marked, else the oldest."""
    siblings = Contact.objects.filter(customer_id=contact.customer_id)
    if contact.is_primary:
        siblings.exclude(pk=contact.pk).filter(is_primary=True).update(is_primary=False)
    elif not siblings.filter(is_primary=True).exists():
        first = siblings.order_by("id").first()
        if first is not None:
            siblings.filter(pk=first.pk).update(is_primary=True)
            if first.pk == contact.pk:
                contact.is_primary = True


def contact_create_in(*, actor: User, customer: Customer, data: dict[str, Any], index: int | None = None) -> Contact:
    """Create a contact inside the caller's transaction (used when a customer is created with contacts)."""
    prefix = f"contacts.{index}." if index is not None else ""
    values = _clean(data, None, prefix)
    contact = Contact(customer=customer, **values)
    contact.save()
    _settle_primary(contact)
    record_change(
        actor=actor,
        action=ChangeAction.CREATE,
        instance=contact,
        root=customer,
        changes=created(snapshot(contact, CONTACT_FIELDS)),
    )
    emit("contact.created", contact_id=contact.pk, customer_id=customer.pk, actor_id=actor.pk)
    return contact


def _customer_for_write(actor: User, customer_id: int) -> Customer:
    customer = Customer.objects.select_for_update().filter(scope_q(actor)).filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(_("Customer not found."))
    return customer


def _touch(customer: Customer) -> None:
    """A contact change is a change of the customer record: bump its version for concurrency."""
    Customer.objects.filter(pk=customer.pk).update(version=customer.version + 1)
    customer.version += 1


@transaction.atomic
def contact_create(*, actor: User, customer_id: int, data: dict[str, Any]) -> Contact:
    require(actor, "edit")
    customer = _customer_for_write(actor, customer_id)
    contact = contact_create_in(actor=actor, customer=customer, data=data)
    sync_identities(customer, actor)
    reindex(customer)
    _touch(customer)
    return contact


def _contact_for_write(actor: User, contact_id: int) -> Contact:
    contact = (
        Contact.objects.select_for_update()
        .filter(pk=contact_id)
        .filter(customer__in=Customer.objects.filter(scope_q(actor)).values("pk"))
        .select_related("customer")
        .first()
    )
    if contact is None:
        raise NotFound(_("Contact not found."))
    return contact


@transaction.atomic
def contact_update(
    *, actor: User, contact_id: int, data: dict[str, Any], expected_version: int | None = None
) -> Contact:
    require(actor, "edit")
    contact = _contact_for_write(actor, contact_id)
    if expected_version is not None and int(expected_version) != contact.version:
        raise PreconditionFailed(
            _("Someone else changed this contact meanwhile. Reload and apply your change again."),
            extra={"version": contact.version},
        )
    before = snapshot(contact, CONTACT_FIELDS)
    values = _clean(data, contact)
    for key, value in values.items():
        setattr(contact, key, value)
    changes = diff(before, snapshot(contact, CONTACT_FIELDS))
    if not changes:
        return contact
    contact.version += 1
    contact.save()
    _settle_primary(contact)
    customer = contact.customer
    sync_identities(customer, actor)
    reindex(customer)
    _touch(customer)
    record_change(actor=actor, action=ChangeAction.UPDATE, instance=contact, root=customer, changes=changes)
    emit("contact.updated", contact_id=contact.pk, customer_id=customer.pk, actor_id=actor.pk)
    return contact


@transaction.atomic
def contact_delete(*, actor: User, contact_id: int, expected_version: int | None = None) -> None:
    require(actor, "edit")
    contact = _contact_for_write(actor, contact_id)
    if expected_version is not None and int(expected_version) != contact.version:
        raise PreconditionFailed(
            _("Someone else changed this contact meanwhile. Reload and apply your change again."),
            extra={"version": contact.version},
        )
    customer = contact.customer
    record_change(
        actor=actor,
        action=ChangeAction.DELETE,
        instance=contact,
        root=customer,
        changes=deleted(snapshot(contact, CONTACT_FIELDS)),
    )
    pk = contact.pk
    contact.delete()
    remaining = Contact.objects.filter(customer=customer).order_by("id").first()
    if remaining is not None:
        _settle_primary(remaining)
    sync_identities(customer, actor)
    reindex(customer)
    _touch(customer)
    emit("contact.deleted", contact_id=pk, customer_id=customer.pk, actor_id=actor.pk)
