"""Many customers at once (spreadsheet import): match each row to an existing customer, create or update.

``customer_bulk_upsert`` takes up to a few thousand rows in one transaction. It validates every row
with the one-record validators (``bulk_rows``), decides per row — created / updated / unchanged /
duplicate in the file / invalid, with the reason — and writes all new customers, contacts,
identities, search tokens and change-log rows with a handful of bulk statements. Updates are fewer
and go one customer at a time through the same identity and index helpers as ``customer_update``.

Matching: the chosen key (mobile, email, WeChat id, external id, normalised name, or the duplicate
matcher); a company row the key does not find is matched on its normalised legal name,
because that name is unique among companies anyway — so importing a file twice finds every row the
second time and changes nothing. With the key "matcher", a row the legal name does not find goes to
the duplicate matcher (through ``pearl.core.duplicates``): when it is confident the row is an
existing customer, that customer is updated instead of a duplicate created. Customers the same
import created are left out, so the preview (which creates nothing) and the run agree.
Empty cells never erase a value. Rules: ``fill_empty`` sets only fields the customer has empty,
``overwrite`` replaces them with the file's values. Tags are always added, never removed; unknown
tags are created when the actor may manage settings, otherwise the row is refused.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.core import duplicates
from pearl.core.errors import PermissionDenied
from pearl.core.permissions import scope_q
from pearl.customers.choices import CustomerKind, IdentityKind
from pearl.customers.models import Customer, Identity, Tag
from pearl.customers.services.bulk_apply import apply_update
from pearl.customers.services.bulk_create import write_creates
from pearl.customers.services.bulk_rows import (
    CleanRow,
    CustomerRowIn,
    Lookups,
    Prepared,
    clean_row,
    refresh_tags,
    tag_key,
)
from pearl.customers.services.bulk_state import BulkState, Seen
from pearl.customers.services.index import identity_conflict_message, visible_ids

__all__ = [
    "BulkResult",
    "BulkState",
    "CustomerRowIn",
    "Key",
    "Lookups",
    "Outcome",
    "RowResult",
    "Rule",
    "customer_bulk_upsert",
]


class Key(enum.StrEnum):
    MOBILE = "mobile"
    EMAIL = "email"
    WECHAT = "wechat"
    EXTERNAL_ID = "external_id"
    NAME = "name"
    MATCHER = "matcher"


class Rule(enum.StrEnum):
    FILL_EMPTY = "fill_empty"
    OVERWRITE = "overwrite"


class Outcome(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    DUPLICATE = "duplicate"  # the same customer as an earlier row of the file: not written
    INVALID = "invalid"


_IDENTITY_KEYS = {
    Key.MOBILE: IdentityKind.MOBILE,
    Key.EMAIL: IdentityKind.EMAIL,
    Key.WECHAT: IdentityKind.WECHAT,
    Key.EXTERNAL_ID: IdentityKind.EXTERNAL,
}


@dataclass
class RowResult:
    row: int
    outcome: Outcome
    customer_id: int | None = None
    messages: list[str] = field(default_factory=list)
    duplicate_of: int | None = None


@dataclass
class UpdatedRecord:
    """What an update replaced, so the import can be reverted: version after, and the before snapshot."""

    customer_id: int
    version: int
    before: dict[str, Any]


@dataclass
class BulkResult:
    rows: list[RowResult] = field(default_factory=list)
    created: list[tuple[int, int]] = field(default_factory=list)  # (customer id, version)
    updated: list[UpdatedRecord] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        found = Counter(r.outcome.value for r in self.rows)
        return {o.value: found.get(o.value, 0) for o in Outcome}


@dataclass
class _Plan:
    clean: CleanRow
    result: RowResult
    target: int | None = None


def _key_value(row: CleanRow, key: Key) -> str:
    if key in (Key.MOBILE, Key.EMAIL, Key.WECHAT):
        return str(row.contact.get(key.value) or "")
    if key == Key.EXTERNAL_ID:
        return row.external_id
    if key == Key.NAME:
        return row.name_key if row.customer.get("name") else ""
    return ""


def _key_label(key: Key) -> str:
    labels = {
        Key.MOBILE: _("mobile"),
        Key.EMAIL: _("email"),
        Key.WECHAT: _("WeChat id"),
        Key.EXTERNAL_ID: _("external id"),
        Key.NAME: _("name"),
        Key.MATCHER: _("customer"),
    }
    return str(labels[key])


def _invalid(plan: _Plan, message: str) -> None:
    plan.result.outcome = Outcome.INVALID
    plan.result.messages.append(message)


def _duplicate(plan: _Plan, of: int, message: str) -> None:
    plan.result.outcome = Outcome.DUPLICATE
    plan.result.duplicate_of = of
    plan.result.messages.append(message)


def customer_bulk_upsert(
    *,
    actor: User,
    rows: Sequence[CustomerRowIn],
    key: str,
    rule: str,
    dry_run: bool = False,
    state: BulkState | None = None,
    lookups: Lookups | None = None,
    prepared: Prepared | None = None,
) -> BulkResult:
    """Create or update one customer per row; all of it in one transaction (or, dry, nothing written).

    ``state`` and ``lookups`` carry over between the batches of one import. ``prepared``: the rows
    already put through ``clean_row`` and indexed (by the import's second process, against a copy
    of ``lookups`` taken at the start), one per row, in order.
    """
    key, rule = Key(key), Rule(rule)
    if not (actor.may("create") or actor.may("edit")):
        raise PermissionDenied(_("Your role may not create records."))
    lookups = lookups or Lookups.load(actor)
    if state is None:
        with BulkState() as own:
            return customer_bulk_upsert(
                actor=actor, rows=rows, key=key, rule=rule, dry_run=dry_run, state=own, lookups=lookups,
                prepared=prepared,
            )  # fmt: skip
    if prepared is None:
        cleaned = [clean_row(lookups, r) for r in rows]
    else:
        cleaned = prepared.rows
        if len(cleaned) != len(rows):
            raise ValueError("one prepared row per row")
        for clean in cleaned:
            refresh_tags(lookups, clean)
    plans = [_Plan(clean, RowResult(clean.number, Outcome.CREATED)) for clean in cleaned]
    for plan in plans:
        if plan.clean.errors:
            plan.result.outcome = Outcome.INVALID
            plan.result.messages.extend(plan.clean.errors)
    with transaction.atomic():
        _match(actor, plans, key, state)
        _in_file(plans, key, state)
        _check_identities(actor, plans)
        result = BulkResult(rows=[p.result for p in plans])
        apply_update_plans = _plan_updates(actor, lookups, plans, rule, dry_run, result)
        _plan_creates(actor, lookups, plans)
        if not dry_run:
            _create_tags(lookups, plans)
            new = [p for p in plans if p.result.outcome == Outcome.CREATED]
            presorted, ahead = (prepared.tokens, prepared.ahead) if prepared else (None, None)
            for plan, (customer_id, version) in zip(
                new, write_creates(actor, lookups, [p.clean for p in new], presorted, ahead), strict=True
            ):
                plan.result.customer_id = customer_id
                result.created.append((customer_id, version))
            state.add_created(customer_id for customer_id, _version in result.created)
            apply_update_plans()
    for plan in plans:
        if plan.result.outcome is not Outcome.INVALID and plan.result.messages == [] and plan.clean.warnings:
            plan.result.messages.extend(plan.clean.warnings)
    return result


# --- matching ------------------------------------------------------------------------------------


def _match(actor: User, plans: list[_Plan], key: Key, state: BulkState) -> None:
    """Find the existing customer of every valid row: the key, then (companies) the legal name, then
    (key "matcher") the duplicate matcher's confident band."""
    live = [p for p in plans if p.result.outcome != Outcome.INVALID]
    if key == Key.MATCHER:
        pass  # the matcher below decides every row
    elif key == Key.NAME:
        names = {p.clean.name_key for p in live if p.clean.customer.get("name")}
        holders: dict[tuple[str, str], list[int]] = {}
        for norm, kind, pk in Customer.objects.filter(name_normalized__in=names).values_list(
            "name_normalized", "kind", "pk"
        ):
            holders.setdefault((norm, kind), []).append(pk)
        for plan in live:
            if plan.clean.customer.get("name"):
                same = holders.get((plan.clean.name_key, plan.clean.kind), [])
                if len(same) > 1:
                    _invalid(plan, _("More than one customer has this name; import by mobile or external id."))
                elif same:
                    plan.target = same[0]
    else:
        kind = _IDENTITY_KEYS[key]
        values = {_key_value(p.clean, key) for p in live} - {""}
        held = dict(Identity.objects.filter(kind=kind, value__in=values).values_list("value", "customer_id"))
        for plan in live:
            plan.target = held.get(_key_value(plan.clean, key))
    # A company the key did not find: its legal name is unique, so the name finds it (or nothing).
    unmatched = [
        p for p in live if p.target is None and p.result.outcome != Outcome.INVALID and p.clean.customer.get("name")
    ]
    names = {p.clean.name_key for p in unmatched if p.clean.kind == CustomerKind.COMPANY}
    if names:
        by_name = dict(
            Customer.objects.filter(name_normalized__in=names, kind=CustomerKind.COMPANY).values_list(
                "name_normalized", "pk"
            )
        )
        for plan in unmatched:
            if plan.clean.kind == CustomerKind.COMPANY:
                plan.target = by_name.get(plan.clean.name_key)
    if key == Key.MATCHER:
        _match_by_matcher(actor, live, state)
    targets = {p.target for p in live if p.target is not None}
    visible = set(Customer.objects.filter(scope_q(actor), pk__in=targets).values_list("pk", flat=True))
    for plan in live:
        if plan.target is not None and plan.target not in visible and plan.result.outcome != Outcome.INVALID:
            _invalid(plan, _("This row matches customer #%(id)s, which is not visible to you.") % {"id": plan.target})


def _match_by_matcher(actor: User, live: list[_Plan], state: BulkState) -> None:
    """Rows nothing found yet: the existing customer the matcher is confident about, if any."""
    for plan in live:
        if plan.target is None:
            row = duplicates.Candidate.of({**plan.clean.customer, "kind": plan.clean.kind}, [plan.clean.contact])
            hits = duplicates.find(actor, row).duplicates
            created = state.created_among(h.customer_id for h in hits)
            found = [h for h in hits if h.customer_id not in created]
            if found:
                plan.target = found[0].customer_id
                plan.clean.warnings.append(
                    _("Recognised as existing customer #%(id)s by the duplicate matcher (score %(score).1f).")
                    % {"id": found[0].customer_id, "score": found[0].score}
                )


def _in_file(plans: list[_Plan], key: Key, state: BulkState) -> None:
    """Later rows describing a customer an earlier row already did are duplicates (first one wins)."""
    label = _key_label(key)
    # Each live row's keys, worked out once: (plan, import key, company name, matched customer, identities).
    rows = [
        (plan, _key_value(plan.clean, key), _company_name(plan.clean), str(plan.target or ""),
         [_identity_key(i) for i in plan.clean.identities()])
        for plan in plans
        if plan.result.outcome != Outcome.INVALID
    ]  # fmt: skip
    wanted: dict[Seen, set[str]] = {kind: set() for kind in (Seen.KEY, Seen.NAME, Seen.CUSTOMER, Seen.IDENTITY)}
    for _plan, value, name, target, identities in rows:
        wanted[Seen.KEY].add(value)
        wanted[Seen.NAME].add(name)
        wanted[Seen.CUSTOMER].add(target)
        wanted[Seen.IDENTITY].update(identities)
    # What earlier batches saw, then this batch's first rows added as the loop meets them.
    seen = {kind: state.first_rows(kind, keys - {""}) for kind, keys in wanted.items()}
    new: dict[Seen, list[tuple[str, int]]] = {kind: [] for kind in seen}

    def keep(kind: Seen, value: str, number: int) -> None:
        seen[kind][value] = number
        new[kind].append((value, number))

    for plan, value, name, target, identities in rows:
        number = plan.clean.number
        if value and value in seen[Seen.KEY]:
            first = seen[Seen.KEY][value]
            _duplicate(plan, first, _("Same %(key)s as row %(row)s.") % {"key": label, "row": first})
        elif target and target in seen[Seen.CUSTOMER]:
            first = seen[Seen.CUSTOMER][target]
            _duplicate(plan, first, _("Same customer as row %(row)s.") % {"row": first})
        elif name and name in seen[Seen.NAME]:
            first = seen[Seen.NAME][name]
            _duplicate(plan, first, _("Same customer name as row %(row)s.") % {"row": first})
        else:
            clash = next((seen[Seen.IDENTITY][i] for i in identities if i in seen[Seen.IDENTITY]), None)
            if clash is not None:
                _invalid(plan, _("A phone, email or id of this row is also in row %(row)s.") % {"row": clash})
                continue
            if value:
                keep(Seen.KEY, value, number)
            if name:
                keep(Seen.NAME, name, number)
            if target:
                keep(Seen.CUSTOMER, target, number)
            for identity in identities:
                keep(Seen.IDENTITY, identity, number)
    for kind, pairs in new.items():
        state.remember(kind, pairs)


def _company_name(clean: CleanRow) -> str:
    return clean.name_key if clean.kind == CustomerKind.COMPANY and clean.customer.get("name") else ""


def _identity_key(identity: tuple[str, str]) -> str:
    return f"{identity[0]}:{identity[1]}"


def _check_identities(actor: User, plans: list[_Plan]) -> None:
    """A phone, email, WeChat id or external id held by another customer refuses the row (as the services do)."""
    live = [p for p in plans if p.result.outcome not in (Outcome.INVALID, Outcome.DUPLICATE)]
    wanted: dict[str, set[str]] = {}
    for plan in live:
        for kind, value in plan.clean.identities():
            wanted.setdefault(kind, set()).add(value)
    if not wanted:
        return
    q = Q(pk__in=[])
    for kind, values in wanted.items():
        q |= Q(kind=kind, value__in=values)
    held = {(k, v): c for k, v, c in Identity.objects.filter(q).values_list("kind", "value", "customer_id")}
    clashes = []  # (plan, identity, holder id): the first identity of a row held by another customer
    for plan in live:
        clash = next(((i, held[i]) for i in plan.clean.identities() if held.get(i, plan.target) != plan.target), None)
        if clash is not None:
            clashes.append((plan, *clash))
    if not clashes:
        return
    # The holders, and which the actor may see, in two queries for the whole batch.
    ids = {holder for _plan, _identity, holder in clashes}
    holders = Customer.objects.filter(pk__in=ids).select_related("owner").only("pk", "name", "owner")
    by_id = {c.pk: c for c in holders}
    visible = visible_ids(actor, ids)
    for plan, (kind, value), holder in clashes:
        if holder in by_id:  # else deleted since the look-up above, and its identities with it
            _invalid(plan, identity_conflict_message(kind, value, by_id[holder], visible=holder in visible))


# --- planning ------------------------------------------------------------------------------------


def _plan_updates(
    actor: User, lookups: Lookups, plans: list[_Plan], rule: Rule, dry_run: bool, result: BulkResult
) -> Callable[[], None]:
    """Decide updated / unchanged for matched rows; returns the writer to call when not dry."""
    matched = [p for p in plans if p.target is not None and p.result.outcome == Outcome.CREATED]
    if not matched:
        return lambda: None
    customers = {
        c.pk: c
        for c in Customer.objects.filter(pk__in=[p.target for p in matched]).prefetch_related(
            "contacts", "tags", "identities"
        )
    }
    may_edit = actor.may("edit")
    pending = []
    for plan in matched:
        customer = customers.get(plan.target or 0)
        if customer is None:  # deleted meanwhile
            _invalid(plan, _("Customer not found."))
            continue
        plan.result.customer_id = customer.pk
        update = apply_update(actor, lookups, customer, plan.clean, rule, dry_run=True)
        if update.errors:
            for message in update.errors:
                _invalid(plan, message)
        elif not update.changed:
            plan.result.outcome = Outcome.UNCHANGED
        elif not may_edit:
            _invalid(plan, _("Your role may not edit records."))
        else:
            plan.result.outcome = Outcome.UPDATED
            pending.append(plan)
    if dry_run:
        return lambda: None

    def write() -> None:
        for plan in pending:
            customer = customers[plan.result.customer_id or 0]
            update = apply_update(actor, lookups, customer, plan.clean, rule, dry_run=False)
            result.updated.append(UpdatedRecord(customer.pk, customer.version, update.before))

    return write


def _plan_creates(actor: User, lookups: Lookups, plans: list[_Plan]) -> None:
    may_create = actor.may("create")
    required = [d for d in lookups.custom_defs.values() if d.required]
    for plan in plans:
        if plan.result.outcome != Outcome.CREATED:
            continue
        clean = plan.clean
        if not clean.customer.get("name"):
            _invalid(plan, _("The full legal name is required."))
        elif not may_create:
            _invalid(plan, _("Your role may not create records."))
        else:
            missing = [d.label for d in required if d.key not in clean.custom_fields]
            if missing:
                _invalid(plan, _("%(label)s is required.") % {"label": "、".join(missing)})


# --- writing new customers (bulk_create.py) ---------------------------------------------------


def _create_tags(lookups: Lookups, plans: list[_Plan]) -> None:
    """Tags a row names that do not exist yet (only when the actor may manage tags, see bulk_rows)."""
    wanted = {
        name
        for p in plans
        if p.result.outcome in (Outcome.CREATED, Outcome.UPDATED)
        for name in p.clean.tags
        if tag_key(name) not in lookups.tags
    }
    if wanted:
        Tag.objects.bulk_create([Tag(name=n) for n in sorted(wanted)], ignore_conflicts=True)
        for tag in Tag.objects.filter(name__in=wanted):
            lookups.tags[tag_key(tag.name)] = tag
