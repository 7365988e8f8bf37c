"""Undo a bulk import: delete the customers it created, restore the ones it updated.

Reverting needs the rights the import needed (create for what it created, edit for what it
updated), not the delete right: it takes back the actor's own import. Every step is change-logged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.core import context
from pearl.core.changes import deleted, diff, record_change, snapshot
from pearl.core.errors import Conflict
from pearl.core.events import emit
from pearl.core.models import ChangeAction, ChangeLog
from pearl.core.permissions import require, scope_q
from pearl.customers.choices import IdentityKind
from pearl.customers.models import Contact, Customer, Identity, Tag
from pearl.customers.services.bulk_apply import customer_state
from pearl.customers.services.contacts import CONTACT_FIELDS
from pearl.customers.services.customers import FIELDS
from pearl.customers.services.index import reindex, sync_identities

CHUNK = 500


@dataclass
class RevertResult:
    deleted: int = 0
    restored: int = 0
    skipped: list[int] = field(default_factory=list)  # changed since the import, left as they are


def _changed_since(actor: User, wanted: dict[int, int]) -> list[int]:
    """Ids whose version is no longer the one the import left (or that are gone or out of scope)."""
    now: dict[int, int] = {}
    ids = list(wanted)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        now.update(Customer.objects.filter(scope_q(actor), pk__in=chunk).values_list("pk", "version"))
    return [pk for pk, version in wanted.items() if now.get(pk) != version]


@transaction.atomic
def customer_bulk_revert(
    *,
    actor: User,
    created: list[tuple[int, int]],
    updated: list[tuple[int, int, dict[str, Any]]],
    skip_changed: bool = False,
) -> RevertResult:
    """``created``: (id, version after import); ``updated``: (id, version after import, before snapshot)."""
    if created:
        require(actor, "create")
    if updated:
        require(actor, "edit")
    wanted = dict(created) | {pk: v for pk, v, _b in updated}
    changed = _changed_since(actor, wanted)
    if changed and not skip_changed:
        shown = "、".join(f"#{pk}" for pk in changed[:10]) + ("…" if len(changed) > 10 else "")
        raise Conflict(
            _(
                "%(count)d customer(s) were changed, merged or deleted after the import (%(ids)s). Revert the "
                "others and keep these as they are, or cancel."
            )
            % {"count": len(changed), "ids": shown},
            extra={"changed": changed},
        )
    result = RevertResult(skipped=changed)
    skip = set(changed)
    _delete_created(actor, [pk for pk, _v in created if pk not in skip], result)
    for pk, _v, before in updated:
        if pk not in skip:
            _restore(actor, pk, before)
            result.restored += 1
    return result


def _delete_created(actor: User, ids: list[int], result: RevertResult) -> None:
    ctx, now = context.current(), timezone.now()
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        customers = list(Customer.objects.filter(pk__in=chunk).prefetch_related("tags"))
        logs = []
        for customer in customers:
            before = customer_state(customer)
            logs.append(
                ChangeLog(
                    occurred_at=now,
                    actor=actor,
                    actor_label=actor.username,
                    channel=ctx.channel,
                    request_id=ctx.request_id,
                    action=ChangeAction.DELETE,
                    object_type="customers.customer",
                    object_id=customer.pk,
                    object_repr=str(customer)[:255],
                    root_type="customers.customer",
                    root_id=customer.pk,
                    changes=deleted(before),
                )
            )
        ChangeLog.objects.bulk_create(logs)
        try:
            with transaction.atomic():
                Customer.objects.filter(pk__in=chunk).delete()
        except IntegrityError as exc:  # a later record (order, ticket…) points at one of them
            raise Conflict(_("Some imported customers are referenced by later records and cannot be removed.")) from exc
        result.deleted += len(customers)
        for customer in customers:
            emit("customer.deleted", customer_id=customer.pk, actor_id=actor.pk)


def _restore(actor: User, pk: int, before: dict[str, Any]) -> None:
    customer = Customer.objects.select_for_update().get(pk=pk)
    current = customer_state(customer)
    old = before.get("customer", {})
    for name in FIELDS:
        if name in old:
            attname = customer._meta.get_field(name).attname  # type: ignore[union-attr]
            setattr(customer, attname, old[name])
    customer.version += 1
    customer.save()
    if "tags" in old:
        customer.tags.set(list(Tag.objects.filter(name__in=old["tags"])))
    for added in Contact.objects.filter(customer=customer, pk__in=before.get("new_contacts", [])):
        record_change(
            actor=actor, action=ChangeAction.DELETE, instance=added, root=customer,
            changes=deleted(snapshot(added, CONTACT_FIELDS)),
        )  # fmt: skip
        added.delete()
    for contact_id, values in before.get("contacts", {}).items():
        contact = Contact.objects.filter(customer=customer, pk=int(contact_id)).first()
        if contact is None:
            continue
        was = snapshot(contact, CONTACT_FIELDS)
        for name, value in values.items():
            setattr(contact, contact._meta.get_field(name).attname, value)  # type: ignore[union-attr]
        contact.version += 1
        contact.save()
        record_change(
            actor=actor, action=ChangeAction.UPDATE, instance=contact, root=customer,
            changes=diff(was, snapshot(contact, CONTACT_FIELDS)),
        )  # fmt: skip
    Identity.objects.filter(
        customer=customer, kind=IdentityKind.EXTERNAL, value__in=before.get("external", [])
    ).delete()
    sync_identities(customer, actor)
    reindex(customer)
    changes = diff(current, customer_state(customer))
    record_change(actor=actor, action=ChangeAction.UPDATE, instance=customer, changes=changes)
    emit("customer.updated", customer_id=customer.pk, actor_id=actor.pk, fields=sorted(changes))
