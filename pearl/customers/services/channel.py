"""New customers that a channel event introduces (web form, shop order, call centre, WeChat).

The ingestion endpoint (``pearl.integrations``) resolves a whole batch of events first and then
asks for all the customers nobody matched at once. They are written by the import's bulk writer
(``bulk_create.write_creates``), so each carries exactly what ``customer_create`` would have written:
normalised name, pinyin, search blob and tokens, a primary contact with the identifiers, the
identities (the channel's external id among them), the matcher's keys (``duplicates.refresh``), the
field-level change log and ``customer.created``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F

from pearl.accounts.models import User
from pearl.core import context, duplicates
from pearl.core.changes import created, diff, record_change, snapshot
from pearl.core.events import emit
from pearl.core.models import ChangeAction, ChangeLog
from pearl.core.permissions import require
from pearl.customers.choices import CustomerKind, CustomerStatus, IdentityKind
from pearl.customers.models import ChoiceOption, Contact, Customer, Identity
from pearl.customers.services.bulk_create import write_creates
from pearl.customers.services.bulk_rows import CleanRow, Lookups
from pearl.customers.services.contacts import CONTACT_FIELDS
from pearl.customers.services.index import reindex, sync_identities


@dataclass(frozen=True)
class ChannelPerson:
    """A customer to create from what a channel knows; values already validated and normalised
    (mobile as ``normalize_phone`` stores it, email lower-case, external id namespaced)."""

    name: str
    contact_name: str
    kind: str = CustomerKind.INDIVIDUAL
    mobile: str = ""
    email: str = ""
    wechat: str = ""
    external_id: str = ""
    source: ChoiceOption | None = None


def _lookups(actor: User) -> Lookups:
    """The writer reads only the tag table from its lookups, and channel customers carry no tags."""
    return Lookups(
        actor=actor,
        choices={},
        choice_labels={},
        users={},
        tags={},
        custom_defs={},
        kinds={},
        statuses={},
        may_create_tags=False,
    )


@transaction.atomic
def channel_customers_create(*, actor: User, people: Sequence[ChannelPerson]) -> list[int]:
    """Create one prospect per person, owned by ``actor`` (and its team); returns their ids in order.

    The caller has made sure no identity is taken (a concurrent writer that took one meanwhile makes
    this raise ``IntegrityError``: the identity's unique constraint) and that company names are free.
    """
    require(actor, "create")
    rows = []
    for number, person in enumerate(people, start=1):
        customer: dict[str, object] = {
            "kind": person.kind,
            "name": person.name[:200],
            "status": CustomerStatus.PROSPECT,
        }
        if person.source is not None:
            customer["source"] = person.source
        contact = {
            "name": person.contact_name[:64],
            "mobile": person.mobile,
            "email": person.email,
            "wechat": person.wechat,
        }
        rows.append(CleanRow(number=number, customer=customer, contact=contact, external_id=person.external_id))
    return [customer_id for customer_id, _version in write_creates(actor, _lookups(actor), rows)]


@dataclass(frozen=True)
class Stitch:
    """Identifiers a channel event carried that nobody holds yet, for the customer it landed on.

    ``known``: the event's identifiers the customer already holds (kind, value), which say which of
    its contacts the event is about; ``new``: the ones to add (kind, value), identity kinds.
    """

    customer_id: int
    known: tuple[tuple[str, str], ...]
    new: tuple[tuple[str, str], ...]


_CONTACT_SLOTS = {IdentityKind.MOBILE.value: "mobile", IdentityKind.EMAIL.value: "email",
                  IdentityKind.WECHAT.value: "wechat"}  # fmt: skip


def _contact_for(contacts: Sequence[Contact], known: Sequence[tuple[str, str]]) -> Contact | None:
    """The contact the event is about: the one carrying one of its known identifiers, else the primary."""
    for kind, value in known:
        slot = _CONTACT_SLOTS.get(kind)
        found = next((c for c in contacts if slot and getattr(c, slot) == value), None)
        if found is not None:
            return found
    return next((c for c in contacts if c.is_primary), contacts[0] if contacts else None)


@transaction.atomic
def channel_identities_add(*, actor: User, stitches: Sequence[Stitch]) -> list[tuple[int, str, str]]:
    """Add to existing customers the identifiers channel events brought that nobody held, so the
    next event carrying only one of them lands directly (a shop's customer id, a new email).

    A channel's external id becomes an identity of the customer. A mobile, email or WeChat id fills
    that field of the contact the event is about when it is empty (a contact's existing value is never
    overwritten: that is a person's edit to make); otherwise it is left out. Change-logged like an
    edit; returns the (customer, kind, value) actually added. The caller has made sure the values are
    free (a concurrent writer that took one meanwhile makes this raise ``IntegrityError``).
    """
    if not stitches:
        return []
    require(actor, "create")
    added: list[tuple[int, str, str]] = []
    external = [(s.customer_id, value) for s in stitches for kind, value in s.new if kind == IdentityKind.EXTERNAL]
    if external:
        Identity.objects.bulk_create(
            [Identity(kind=IdentityKind.EXTERNAL, value=value, customer_id=cid) for cid, value in external]
        )
        logs = [
            ChangeLog(actor=actor, actor_label=actor.username, channel=context.current().channel,
                      request_id=context.current().request_id, action=ChangeAction.CREATE,
                      object_type=Identity._meta.label_lower, object_id=cid, object_repr=value[:255],
                      root_type=Customer._meta.label_lower, root_id=cid,
                      changes=created({"kind": IdentityKind.EXTERNAL.value, "value": value}))
            for cid, value in external
        ]  # fmt: skip
        ChangeLog.objects.bulk_create(logs)
        added.extend((cid, IdentityKind.EXTERNAL.value, value) for cid, value in external)
    personal = [s for s in stitches if any(kind in _CONTACT_SLOTS for kind, _value in s.new)]
    if not personal:
        return added
    customers = Customer.objects.select_for_update().in_bulk([s.customer_id for s in personal])
    contacts_of: dict[int, list[Contact]] = {}
    for row in Contact.objects.filter(customer_id__in=list(customers)).order_by("id"):
        contacts_of.setdefault(row.customer_id, []).append(row)
    for stitch in personal:
        customer = customers.get(stitch.customer_id)
        contact = _contact_for(contacts_of.get(stitch.customer_id, []), stitch.known)
        if customer is None or contact is None:
            continue
        before = snapshot(contact, CONTACT_FIELDS)
        for kind, value in stitch.new:
            slot = _CONTACT_SLOTS.get(kind)
            if slot and not getattr(contact, slot):
                setattr(contact, slot, value)
                added.append((customer.pk, kind, value))
        changes = diff(before, snapshot(contact, CONTACT_FIELDS))
        if not changes:
            continue
        contact.version += 1
        contact.save(update_fields=[*(key for key in changes), "version", "updated_at"])
        sync_identities(customer, actor)
        if "mobile" in changes:
            reindex(customer)  # phone tails are search tokens
        else:
            duplicates.refresh([customer.pk])  # the matcher reads emails and WeChat ids
        Customer.objects.filter(pk=customer.pk).update(version=F("version") + 1)
        record_change(actor=actor, action=ChangeAction.UPDATE, instance=contact, root=customer, changes=changes)
        emit("contact.updated", contact_id=contact.pk, customer_id=customer.pk, actor_id=actor.pk)
    return added
