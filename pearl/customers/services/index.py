"""Keeps the derived lookups of a customer in step: identities and the search index."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.core import duplicates
from pearl.core.errors import Conflict
from pearl.core.permissions import scope_q
from pearl.core.phones import format_phone
from pearl.customers.choices import IdentityKind
from pearl.customers.models import Contact, Customer, CustomerSearchToken, Identity
from pearl.customers.search import customer_document

_CONTACT_KINDS = (IdentityKind.MOBILE, IdentityKind.EMAIL, IdentityKind.WECHAT)
# What the duplicate matcher reads besides the names (which reindex covers): a change to one of
# these refreshes its keys and features.
MATCHED_FIELDS = frozenset({"kind", "customer_type", "province", "city", "district", "address"})
MATCHED_CONTACT_FIELDS = frozenset({"name", "mobile", "email", "wechat"})


def contact_identities(contact: Contact) -> list[tuple[str, str]]:
    found = []
    if contact.mobile:
        found.append((IdentityKind.MOBILE.value, contact.mobile))
    if contact.email:
        found.append((IdentityKind.EMAIL.value, contact.email.lower()))
    if contact.wechat:
        found.append((IdentityKind.WECHAT.value, contact.wechat))
    return found


def identity_holder(kind: str, value: str, *, exclude_customer_id: int | None = None) -> Customer | None:
    qs = Identity.objects.filter(kind=kind, value=value).select_related("customer__owner")
    if exclude_customer_id:
        qs = qs.exclude(customer_id=exclude_customer_id)
    row = qs.first()
    return row.customer if row else None


def identity_conflict_message(kind: str, value: str, holder: Customer, *, visible: bool = True) -> str:
    """Why a phone, email or id cannot be used: it is another customer's. The customer is named only
    when the actor may see it (``visible``); otherwise the message names its owner (who to talk to)."""
    shown = format_phone(value) if kind == IdentityKind.MOBILE else value
    labels = {
        IdentityKind.MOBILE: _("Phone number"),
        IdentityKind.EMAIL: _("Email"),
        IdentityKind.WECHAT: _("WeChat id"),
        IdentityKind.EXTERNAL: _("External id"),
    }
    label = labels.get(IdentityKind(kind), kind)
    if visible:
        return _("%(kind)s %(value)s already belongs to customer “%(customer)s” (#%(id)s).") % {
            "kind": label,
            "value": shown,
            "customer": holder.name,
            "id": holder.pk,
        }
    if holder.owner is None:
        return _("%(kind)s %(value)s already belongs to another customer, outside what you can see.") % {
            "kind": label,
            "value": shown,
        }
    return _("%(kind)s %(value)s already belongs to a customer of %(owner)s, outside what you can see.") % {
        "kind": label,
        "value": shown,
        "owner": str(holder.owner),
    }


def visible_ids(actor: User | None, customer_ids: Iterable[int]) -> set[int]:
    """Those of ``customer_ids`` the actor may see (all of them when there is no actor: a system write)."""
    ids = set(customer_ids)
    if actor is None or not ids:
        return ids
    return set(Customer.objects.filter(scope_q(actor), pk__in=ids).values_list("pk", flat=True))


def sync_identities(customer: Customer, actor: User | None = None) -> None:
    """Make the customer's contact identities equal to what its contacts carry now.

    Raises Conflict naming the other customer (to an ``actor`` who may see it) when one is already taken.
    """
    desired: dict[tuple[str, str], int] = {}
    for contact in customer.contacts.all():
        for key in contact_identities(contact):
            desired.setdefault(key, contact.pk)
    for kind, value in desired:
        holder = identity_holder(kind, value, exclude_customer_id=customer.pk)
        if holder is not None:
            raise Conflict(
                identity_conflict_message(kind, value, holder, visible=bool(visible_ids(actor, [holder.pk]))),
                extra={"customer": holder.pk, "kind": kind, "value": value},
            )
    existing = {(i.kind, i.value): i for i in Identity.objects.filter(customer=customer, kind__in=_CONTACT_KINDS)}
    stale = [i.pk for key, i in existing.items() if key not in desired]
    if stale:
        Identity.objects.filter(pk__in=stale).delete()
    Identity.objects.bulk_create(
        [
            Identity(kind=kind, value=value, customer=customer, contact_id=contact_id)
            for (kind, value), contact_id in desired.items()
            if (kind, value) not in existing
        ]
    )


def reindex(customer: Customer) -> None:
    """Refresh the search blob, sort key and tokens of one customer, and the other apps' per-customer
    indexes (the matcher's keys), in the same transaction as the write."""
    tokens, blob, pinyin = customer_document(customer)
    if blob != customer.search_blob or pinyin != customer.name_pinyin:
        Customer.objects.filter(pk=customer.pk).update(search_blob=blob, name_pinyin=pinyin)
        customer.search_blob, customer.name_pinyin = blob, pinyin
    current = set(CustomerSearchToken.objects.filter(customer=customer).values_list("token", flat=True))
    gone = current - tokens
    if gone:
        CustomerSearchToken.objects.filter(customer=customer, token__in=gone).delete()
    CustomerSearchToken.objects.bulk_create(
        [CustomerSearchToken(token=t, customer=customer) for t in sorted(tokens - current)]
    )
    duplicates.refresh([customer.pk])


def refresh_after_update(customer: Customer, changed: set[str], contact_changed: bool = False) -> None:
    """The derived lookups an update touched: the search index for names (and contacts), the
    matcher's keys and features for what else it reads."""
    if {"name", "short_name"} & changed or contact_changed:
        reindex(customer)
    elif MATCHED_FIELDS & changed:
        duplicates.refresh([customer.pk])
