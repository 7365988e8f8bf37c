"""Merge customers into a survivor, and undo a merge exactly.

A merge, in one transaction: lock every customer involved, work out the survivor's fields
(``selectors.merge_plan``: the same plan the merge page shows), let every registered hook
(``pearl.core.merging``) move its rows from the merged-away customers to the survivor, delete the
merged-away rows, leave their ids as aliases, save the survivor, rebuild derived data (identities,
search index), write the change log and a ``CustomerMerge`` whose snapshot holds everything the
unmerge needs. The unmerge re-inserts the customers with their ids and exact rows, restores the
survivor's fields the merge changed (unless edited since), and lets each hook move back exactly
the rows it moved. Anything that makes that unsafe is refused before a single write.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from typing import Any

from django.core import serializers
from django.db import IntegrityError, transaction
from django.db.models import Model, ProtectedError, RestrictedError
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.core import merging
from pearl.core.changes import created, deleted, diff, record_change, snapshot
from pearl.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from pearl.core.events import emit
from pearl.core.models import ChangeAction
from pearl.core.permissions import require, scope_q
from pearl.core.text import normalize_company_name
from pearl.customers import selectors
from pearl.customers.choices import CustomerKind
from pearl.customers.models import Contact, Customer, CustomerAlias, CustomerMerge, Identity
from pearl.customers.services.customers import customer_snapshot

SNAPSHOT_FORMAT = 1
_SURVIVOR_FIELDS = [*selectors.MERGE_FIELDS, "custom_fields"]


def _plain(value: Any) -> Any:
    # Full precision: Django's JSON serializer cuts timestamps to milliseconds, which would make a
    # restored row differ from the original.
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _rows(objects: Any) -> list[dict[str, Any]]:
    """Rows exactly as stored (Django's "python" serialization made JSON-safe), for the snapshot."""
    loaded: list[dict[str, Any]] = json.loads(json.dumps(serializers.serialize("python", objects), default=_plain))
    return loaded


def _name_holder(customer: Customer) -> Customer | None:
    if customer.kind != CustomerKind.COMPANY:
        return None
    qs = Customer.objects.filter(name_normalized=customer.name_normalized, kind=CustomerKind.COMPANY)
    return qs.exclude(pk=customer.pk).first()


def _name_error(customer: Customer, holder: Customer) -> str:
    return _("A company with the legal name “%(name)s” already exists: #%(id)s.") % {
        "name": customer.name,
        "id": holder.pk,
    }


def _save_survivor(customer: Customer) -> None:
    customer.name_normalized = normalize_company_name(customer.name)
    holder = _name_holder(customer)
    if holder is not None:
        message = _name_error(customer, holder)
        raise ValidationFailed(message, field_errors={"name": [message]}, extra={"existing": holder.pk})
    try:
        with transaction.atomic():
            customer.save()
    except IntegrityError as exc:  # a concurrent write took the name between the check and the save
        raise Conflict(_("Another customer took this legal name meanwhile; try again.")) from exc


def _lock(actor: User, ids: list[int]) -> dict[int, Customer]:
    """Every customer of the merge locked (in id order, so two merges never deadlock); 404 if unseen."""
    locked = {
        c.pk: c for c in Customer.objects.select_for_update().filter(scope_q(actor)).filter(pk__in=ids).order_by("pk")
    }
    error = selectors.merge_missing_error(actor=actor, ids=ids, found=set(locked))
    if error is not None:
        raise error
    return locked


@transaction.atomic
def customer_merge(
    *,
    actor: User,
    survivor_id: int,
    other_ids: list[int],
    choices: dict[str, Any] | None = None,
    rule: str = "recent",
) -> CustomerMerge:
    """Merge ``other_ids`` into ``survivor_id``; each field from the rule's winner unless ``choices`` names one.

    Needs the edit and delete permissions and every customer in scope; all or nothing.
    """
    ids = selectors.merge_ids(survivor_id=survivor_id, other_ids=list(other_ids))
    locked = _lock(actor, ids)
    require(actor, "edit")
    require(actor, "delete")  # the merged-away records disappear
    survivor, others = locked[survivor_id], [locked[pk] for pk in ids[1:]]
    plan = selectors.merge_plan(survivor=survivor, others=others, rule=rule, choices=choices)

    before = customer_snapshot(survivor)
    fields_before = snapshot(survivor, _SURVIVOR_FIELDS)
    other_ids = ids[1:]
    record: dict[str, Any] = {
        "format": SNAPSHOT_FORMAT,
        "rule": rule,
        "winners": {f.key: f.winner for f in plan.fields},
        "survivor": _rows([survivor])[0],
        "customers": _rows(others),
        "contacts": {str(pk): _rows(Contact.objects.filter(customer_id=pk).order_by("pk")) for pk in other_ids},
        "identities": {str(pk): _rows(Identity.objects.filter(customer_id=pk).order_by("pk")) for pk in other_ids},
        "moved": {},
    }
    gone = {o.pk: (o, deleted(customer_snapshot(o))) for o in others}
    demoted = list(Contact.objects.filter(customer_id__in=other_ids, is_primary=True))

    for hook in merging.hooks():
        record["moved"][hook.name] = {str(pk): hook.move(pk, survivor.pk) for pk in other_ids}
    try:
        Customer.objects.filter(pk__in=other_ids).delete()
    except (ProtectedError, RestrictedError) as exc:  # a relation nobody registered a hook for
        raise Conflict(_("A record that cannot be moved still points at one of these customers.")) from exc

    merge = CustomerMerge.objects.create(
        survivor_id=survivor.pk,
        merged_ids=other_ids,
        rule=rule,
        actor=actor,
        actor_label=actor.username,
    )
    CustomerAlias.objects.bulk_create([CustomerAlias(old_id=pk, survivor=survivor, merge=merge) for pk in other_ids])

    for attname, value in plan.field_values().items():
        setattr(survivor, attname, value)
    survivor.custom_fields = plan.custom_fields()
    survivor.version += 1
    _save_survivor(survivor)
    for hook in merging.hooks():
        if hook.rebuild is not None:
            hook.rebuild([survivor.pk])

    record["survivor_fields"] = {"before": fields_before, "after": snapshot(survivor, _SURVIVOR_FIELDS)}
    merge.changes = diff(before, customer_snapshot(survivor))
    merge.snapshot = record
    merge.save(update_fields=["changes", "snapshot"])

    for contact in demoted:
        contact.customer = survivor
        record_change(
            actor=actor,
            action=ChangeAction.UPDATE,
            instance=contact,
            root=survivor,
            changes={"is_primary": [True, False]},
        )
    for other, changes in gone.values():
        record_change(actor=actor, action=ChangeAction.DELETE, instance=other, root=survivor, changes=changes)
    record_change(actor=actor, action=ChangeAction.UPDATE, instance=survivor, changes=merge.changes)
    emit("customer.merged", customer_id=survivor.pk, merged_ids=other_ids, merge_id=merge.pk, actor_id=actor.pk)
    return merge


# --- unmerge ----------------------------------------------------------------------------------------


def _merged_since(actor: User, merge: CustomerMerge, holder: Customer) -> Conflict:
    alias = CustomerAlias.objects.filter(old_id=merge.survivor_id).first()
    later = alias.merge_id if alias else None
    return Conflict(
        _(
            "This merge cannot be undone: its survivor #%(old)s was itself merged into “%(name)s” (#%(id)s) since, "
            "in merge #%(later)s. Undo that merge first."
        )
        % {"old": merge.survivor_id, "name": holder.name, "id": holder.pk, "later": later},
        extra={"merge": later},
    )


def _refusals(merge: CustomerMerge, survivor: Customer) -> list[str]:
    """Everything that makes undoing ``merge`` unsafe, in words a person can act on."""
    if merge.undone_at is not None:
        when = date_format(timezone.localtime(merge.undone_at), "Y-m-d H:i")
        return [_("This merge was already undone on %(when)s.") % {"when": when}]
    later = CustomerMerge.objects.filter(survivor_id=survivor.pk, undone_at__isnull=True, pk__gt=merge.pk).first()
    if later is not None:
        return [
            _("“%(name)s” received a later merge (#%(later)s); undo that one first.")
            % {"name": survivor.name, "later": later.pk}
        ]
    problems: list[str] = []
    taken = list(Customer.objects.filter(pk__in=merge.merged_ids).values_list("pk", flat=True))
    if taken:
        problems.append(_("Customer #%(id)s exists again; it cannot be restored twice.") % {"id": taken[0]})
    moved = merge.snapshot.get("moved", {})
    for hook in merging.hooks():
        if hook.check is None or hook.name not in moved:
            continue
        for source in merge.merged_ids:
            record = moved[hook.name].get(str(source))
            if record is not None:
                problems += hook.check(source, survivor.pk, record)
    return problems


def _restore_survivor(survivor: Customer, fields: dict[str, dict[str, Any]]) -> None:
    """Put back what the merge changed on the survivor, except values someone edited since."""
    before, after = fields["before"], fields["after"]
    now = snapshot(survivor, _SURVIVOR_FIELDS)
    for key in selectors.MERGE_FIELDS:
        if before.get(key) != after.get(key) and now.get(key) == after.get(key):
            setattr(survivor, selectors.merge_attname(key), before.get(key))
    custom = dict(survivor.custom_fields or {})
    old, new = before.get("custom_fields") or {}, after.get("custom_fields") or {}
    for key in set(old) | set(new):
        if old.get(key) != new.get(key) and custom.get(key) == new.get(key):
            if old.get(key) is None:
                custom.pop(key, None)
            else:
                custom[key] = old[key]
    survivor.custom_fields = custom


def _insert(rows: list[dict[str, Any]]) -> list[Customer]:
    """Re-insert customers exactly as they were (same ids, versions and timestamps)."""
    restored: list[Customer] = []
    cleaned = [{**row, "fields": {k: v for k, v in row["fields"].items() if k != "tags"}} for row in rows]
    for item in serializers.deserialize("python", cleaned, ignorenonexistent=True):
        customer = item.object
        assert isinstance(customer, Customer)  # the snapshot holds customers only
        for field in Customer._meta.concrete_fields:
            value = getattr(customer, field.attname)
            related = field.related_model
            if value is None or not isinstance(related, type) or not issubclass(related, Model):
                continue
            if not related._default_manager.filter(pk=value).exists():
                setattr(customer, field.attname, None)  # an option or team deleted since: left empty
        holder = _name_holder(customer)
        if holder is not None:
            raise Conflict(
                _("Customer #%(id)s cannot come back: %(reason)s Rename one of them first.")
                % {"id": customer.pk, "reason": _name_error(customer, holder)},
                extra={"existing": holder.pk},
            )
        item.save()  # a raw save: auto_now / auto_now_add keep the stored timestamps
        restored.append(customer)
    return restored


@transaction.atomic
def customer_unmerge(*, actor: User, merge_id: int) -> list[Customer]:
    """Undo a merge: the survivor first, then the restored customers with their old ids.

    Refused (Conflict, nothing written) when already undone, when the survivor was merged away or
    received a later merge since, or when a hook reports a moved row gone (e.g. a deleted contact).
    """
    merge = CustomerMerge.objects.select_for_update().filter(pk=merge_id).first()
    if merge is None:
        raise NotFound(_("Merge not found."))
    survivor = Customer.objects.select_for_update().filter(scope_q(actor)).filter(pk=merge.survivor_id).first()
    holder = (
        None if survivor is not None else selectors.customer_alias_target(actor=actor, customer_id=merge.survivor_id)
    )
    if survivor is None and holder is None:
        raise NotFound(_("Merge not found."))  # out of scope reads as missing
    require(actor, "edit")
    require(actor, "delete")
    if survivor is None:
        raise _merged_since(actor, merge, holder)  # type: ignore[arg-type]
    problems = _refusals(merge, survivor)
    if problems:
        raise Conflict(
            _("This merge cannot be undone: %(reason)s") % {"reason": problems[0]}, extra={"problems": problems}
        )
    snap = merge.snapshot
    source_ids = [int(pk) for pk in merge.merged_ids]
    before = customer_snapshot(survivor)

    _restore_survivor(survivor, snap["survivor_fields"])
    survivor.version += 1
    _save_survivor(survivor)
    CustomerAlias.objects.filter(merge=merge, old_id__in=source_ids).delete()
    restored = _insert(snap["customers"])
    moved = snap.get("moved", {})
    for hook in reversed(merging.hooks()):
        for source in source_ids:
            if str(source) in moved.get(hook.name, {}):
                hook.restore(source, survivor.pk, moved[hook.name][str(source)])
    for hook in merging.hooks():
        if hook.rebuild is not None:
            hook.rebuild([survivor.pk, *source_ids])
    if Customer.objects.filter(scope_q(actor)).filter(pk__in=source_ids).count() != len(source_ids):
        raise PermissionDenied(
            _("This merge took in customers outside your data scope; ask someone who may see all of them to undo it.")
        )

    merge.undone_at, merge.undone_by = timezone.now(), actor
    merge.save(update_fields=["undone_at", "undone_by"])
    record_change(
        actor=actor, action=ChangeAction.UPDATE, instance=survivor, changes=diff(before, customer_snapshot(survivor))
    )
    for customer in restored:
        record_change(
            actor=actor, action=ChangeAction.CREATE, instance=customer, changes=created(customer_snapshot(customer))
        )
    emit("customer.unmerged", customer_id=survivor.pk, restored_ids=source_ids, merge_id=merge.pk, actor_id=actor.pk)
    fresh = Customer.objects.in_bulk([survivor.pk, *source_ids])
    return [fresh[pk] for pk in [survivor.pk, *source_ids]]
