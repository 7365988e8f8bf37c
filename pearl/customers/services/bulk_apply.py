"""One matched row applied to its existing customer under the import rule (fill empty / overwrite).

Called twice per row by the bulk upsert: dry, to decide updated / unchanged / invalid for the whole
batch, then for real. The real call writes like ``customer_update`` and ``contact_update`` do:
version bump, identities and search index kept in step, field-level change log, event after commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.core.changes import created, diff, record_change, snapshot
from pearl.core.events import emit
from pearl.core.models import ChangeAction
from pearl.core.text import normalize_company_name
from pearl.customers.choices import CustomerKind, IdentityKind
from pearl.customers.models import Contact, Customer, Identity
from pearl.customers.services.bulk_rows import CleanRow, Lookups, tag_key
from pearl.customers.services.contacts import CONTACT_FIELDS
from pearl.customers.services.customers import FIELDS, status_error
from pearl.customers.services.index import MATCHED_CONTACT_FIELDS, refresh_after_update, sync_identities

_ALWAYS_SET = {"kind", "status"}  # never empty, so "fill empty" never changes them
_CONTACT_KEYS = ("name", "mobile", "email", "wechat", "position")


@dataclass
class UpdatePlan:
    changed: bool = False
    errors: list[str] = field(default_factory=list)
    before: dict[str, Any] = field(default_factory=dict)


def _plain(value: Any) -> Any:
    return value.pk if isinstance(value, models.Model) else value


def _empty(value: Any) -> bool:
    return value is None or value == ""


def _wanted(current: Any, new: Any, overwrite: bool) -> bool:
    return (overwrite or _empty(current)) and current != new


def customer_state(customer: Customer) -> dict[str, Any]:
    """The snapshot the change log and a revert use: FIELDS plus tag names."""
    data = snapshot(customer, FIELDS)
    data["tags"] = sorted(t.name for t in customer.tags.all())
    return data


def _find_contact(contacts: list[Contact], given: dict[str, Any]) -> Contact | None:
    for key in ("mobile", "email", "wechat"):
        value = given.get(key)
        if value:
            found = next((c for c in contacts if getattr(c, key) == value), None)
            if found is not None:
                return found
    name = given.get("name")
    return next((c for c in contacts if name and c.name == name), None)


def apply_update(
    actor: User, lookups: Lookups, customer: Customer, row: CleanRow, rule: str, *, dry_run: bool
) -> UpdatePlan:
    overwrite = rule == "overwrite"
    plan = UpdatePlan()
    values: dict[str, Any] = {}
    for key, value in row.customer.items():
        if key == "team" or value is None or (key in _ALWAYS_SET and not overwrite):
            continue
        attname = f"{key}_id" if isinstance(value, models.Model) else key
        if _wanted(getattr(customer, attname), _plain(value), overwrite):
            values[key] = value
    if "status" in values and (error := status_error(customer.status, values["status"])):
        plan.errors.append(error)
    if "name" in values:
        norm = normalize_company_name(values["name"])
        kind = values.get("kind", customer.kind)
        companies = Customer.objects.filter(name_normalized=norm, kind=CustomerKind.COMPANY)
        if (
            (norm != customer.name_normalized or "kind" in values)
            and kind == CustomerKind.COMPANY
            and companies.exclude(pk=customer.pk).exists()
        ):
            plan.errors.append(_("Another customer already has the legal name “%(name)s”.") % {"name": values["name"]})
    if values.get("owner") is not None:
        values["team"] = values["owner"].team
    custom = dict(customer.custom_fields or {})
    for key, value in row.custom_fields.items():
        if overwrite or _empty(custom.get(key)):
            custom[key] = value
    if custom != (customer.custom_fields or {}):
        values["custom_fields"] = custom
    current_tags = {t.name for t in customer.tags.all()}
    new_tags = [name for name in row.tags if name not in current_tags]
    contacts = list(customer.contacts.all())
    contact = _find_contact(contacts, row.contact) if row.contact else None
    contact_values: dict[str, Any] = {}
    if contact is not None:
        for key in _CONTACT_KEYS:
            if key in row.contact and row.contact[key] not in (None, ""):
                attname = "position_id" if key == "position" else key
                if _wanted(getattr(contact, attname), _plain(row.contact[key]), overwrite):
                    contact_values[key] = row.contact[key]
    new_contact = bool(row.contact.get("name")) and contact is None
    held = {(i.kind, i.value) for i in customer.identities.all()}
    new_external = row.external_id if row.external_id and ("external", row.external_id) not in held else ""
    plan.changed = bool(values or new_tags or contact_values or new_contact or new_external)
    if dry_run or not plan.changed or plan.errors:
        return plan

    before = customer_state(customer)
    plan.before = {"customer": before, "contacts": {}, "new_contacts": [], "external": []}
    for key, value in values.items():
        setattr(customer, key, value)
    if "name" in values:
        customer.name_normalized = normalize_company_name(customer.name)
    customer.version += 1
    customer.save()
    if new_tags:
        customer.tags.add(*(lookups.tags[tag_key(n)] for n in new_tags))
        getattr(customer, "_prefetched_objects_cache", {}).pop("tags", None)
    if contact is not None and contact_values:
        plan.before["contacts"][str(contact.pk)] = contact_before = snapshot(contact, CONTACT_FIELDS)
        for key, value in contact_values.items():
            setattr(contact, key, value)
        contact.version += 1
        contact.save()
        record_change(
            actor=actor,
            action=ChangeAction.UPDATE,
            instance=contact,
            root=customer,
            changes=diff(contact_before, snapshot(contact, CONTACT_FIELDS)),
        )
    if new_contact:
        added = Contact.objects.create(
            customer=customer, is_primary=not contacts, **{"email": "", "mobile": "", "wechat": "", **row.contact}
        )
        plan.before["new_contacts"].append(added.pk)
        record_change(
            actor=actor,
            action=ChangeAction.CREATE,
            instance=added,
            root=customer,
            changes=created(snapshot(added, CONTACT_FIELDS)),
        )
    getattr(customer, "_prefetched_objects_cache", {}).pop("contacts", None)
    if contact_values or new_contact:
        sync_identities(customer, actor)
    if new_external:
        Identity.objects.create(kind=IdentityKind.EXTERNAL, value=new_external, customer=customer)
        plan.before["external"].append(new_external)
    refresh_after_update(
        customer, set(values), bool(contact_values.keys() & MATCHED_CONTACT_FIELDS) or bool(new_contact)
    )
    changes = diff(before, customer_state(customer))
    record_change(actor=actor, action=ChangeAction.UPDATE, instance=customer, changes=changes)
    emit("customer.updated", customer_id=customer.pk, actor_id=actor.pk, fields=sorted(changes))
    return plan
