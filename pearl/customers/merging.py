"""How the customers app's own rows follow a merge (see ``pearl.core.merging``).

Contacts move and lose their primary flag (the survivor keeps its primary contact); identities
move by row; tags are a union; search tokens are not moved but rebuilt for the survivor; the
change log's history rows move so the survivor's history tab shows them; aliases pointing at a
merged-away customer are re-pointed, which keeps alias chains one hop long.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils.translation import gettext as _

from pearl.core import merging
from pearl.core.models import ChangeLog
from pearl.customers.models import Contact, Customer, CustomerAlias, CustomerSearchToken, Identity, Tag
from pearl.customers.services.index import reindex, sync_identities

CUSTOMER_ROOT = "customers.customer"
TagLink = Customer.tags.through


# --- contacts -------------------------------------------------------------------------------------


def _move_contacts(source_id: int, survivor_id: int) -> list[dict[str, Any]]:
    contacts: list[dict[str, Any]] = [
        dict(row) for row in Contact.objects.filter(customer_id=source_id).values("id", "name", "is_primary")
    ]
    Contact.objects.filter(customer_id=source_id).update(customer_id=survivor_id, is_primary=False)
    return contacts


def _check_contacts(source_id: int, survivor_id: int, record: list[dict[str, Any]]) -> list[str]:
    present = set(
        Contact.objects.filter(pk__in=[c["id"] for c in record], customer_id=survivor_id).values_list("pk", flat=True)
    )
    return [
        _("Contact “%(name)s” (#%(id)s), moved by this merge, has been deleted or moved since.")
        % {"name": c["name"], "id": c["id"]}
        for c in record
        if c["id"] not in present
    ]


def _restore_contacts(source_id: int, survivor_id: int, record: list[dict[str, Any]]) -> None:
    for primary in (True, False):
        ids = [c["id"] for c in record if bool(c["is_primary"]) is primary]
        if ids:
            Contact.objects.filter(pk__in=ids, customer_id=survivor_id).update(
                customer_id=source_id, is_primary=primary
            )


def _settle_primary(customer_ids: Sequence[int]) -> None:
    """A customer with contacts has a primary one: the oldest, when moves left it without."""
    for customer_id in customer_ids:
        contacts = Contact.objects.filter(customer_id=customer_id)
        if not contacts.filter(is_primary=True).exists():
            first = contacts.order_by("id").values_list("pk", flat=True).first()
            if first is not None:
                Contact.objects.filter(pk=first).update(is_primary=True)


# --- identities, tags, search, history ------------------------------------------------------------


def _move_identities(source_id: int, survivor_id: int) -> list[int]:
    ids = list(Identity.objects.filter(customer_id=source_id).values_list("pk", flat=True))
    Identity.objects.filter(pk__in=ids).update(customer_id=survivor_id)
    return ids


def _restore_identities(source_id: int, survivor_id: int, record: list[int]) -> None:
    # Identities deleted since are derived from contacts and come back in the rebuild below.
    Identity.objects.filter(pk__in=record, customer_id=survivor_id).update(customer_id=source_id)


def _sync_identities(customer_ids: Sequence[int]) -> None:
    # In the order given, survivor first: it lets go of the values its contacts no longer carry
    # before a restored customer claims them (a value both still want is a real Conflict).
    customers = Customer.objects.in_bulk(list(customer_ids))
    for pk in customer_ids:
        if pk in customers:
            sync_identities(customers[pk])  # raises Conflict naming the holder when a value is taken


def _move_tags(source_id: int, survivor_id: int) -> dict[str, list[int]]:
    had = sorted(TagLink.objects.filter(customer_id=source_id).values_list("tag_id", flat=True))
    present = set(TagLink.objects.filter(customer_id=survivor_id).values_list("tag_id", flat=True))
    added = [t for t in had if t not in present]
    TagLink.objects.bulk_create([TagLink(customer_id=survivor_id, tag_id=t) for t in added])
    TagLink.objects.filter(customer_id=source_id).delete()
    return {"had": had, "added": added}


def _restore_tags(source_id: int, survivor_id: int, record: dict[str, list[int]]) -> None:
    TagLink.objects.filter(customer_id=survivor_id, tag_id__in=record["added"]).delete()
    existing = set(Tag.objects.filter(pk__in=record["had"]).values_list("pk", flat=True))  # deleted tags stay gone
    TagLink.objects.bulk_create([TagLink(customer_id=source_id, tag_id=t) for t in record["had"] if t in existing])


def _drop_tokens(source_id: int, survivor_id: int) -> None:
    CustomerSearchToken.objects.filter(customer_id=source_id).delete()


def _restore_nothing(source_id: int, survivor_id: int, record: Any) -> None:
    """Search tokens are rebuilt from the restored records rather than moved back."""


def _reindex(customer_ids: Sequence[int]) -> None:
    for customer in Customer.objects.filter(pk__in=customer_ids).order_by("pk"):
        reindex(customer)


def _move_history(source_id: int, survivor_id: int) -> list[int]:
    rows = ChangeLog.objects.filter(root_type=CUSTOMER_ROOT, root_id=source_id)
    ids = list(rows.values_list("pk", flat=True))
    ChangeLog.objects.filter(pk__in=ids).update(root_id=survivor_id)
    return ids


def _restore_history(source_id: int, survivor_id: int, record: list[int]) -> None:
    ChangeLog.objects.filter(pk__in=record, root_type=CUSTOMER_ROOT, root_id=survivor_id).update(root_id=source_id)


merging.register(
    merging.MergeHook(
        name="customers.contact",
        relations=(("customers.contact", "customer"),),
        move=_move_contacts,
        restore=_restore_contacts,
        check=_check_contacts,
        rebuild=_settle_primary,
        order=10,
    )
)
merging.register(
    merging.MergeHook(
        name="customers.identity",
        relations=(("customers.identity", "customer"),),
        move=_move_identities,
        restore=_restore_identities,
        rebuild=_sync_identities,
        order=20,
    )
)
merging.register(
    merging.MergeHook(
        name="customers.customer_tags",
        relations=((TagLink._meta.label_lower, "customer"),),
        move=_move_tags,
        restore=_restore_tags,
        order=30,
    )
)
merging.register(
    merging.MergeHook(
        name="customers.customersearchtoken",
        relations=(("customers.customersearchtoken", "customer"),),
        move=_drop_tokens,
        restore=_restore_nothing,
        rebuild=_reindex,
        order=40,
    )
)
merging.register(
    merging.MergeHook(
        name="core.changelog",
        relations=(),  # root_type/root_id, not a foreign key: listed here so the history moves too
        move=_move_history,
        restore=_restore_history,
        order=50,
    )
)
merging.register_fk(CustomerAlias, "survivor", order=60)
