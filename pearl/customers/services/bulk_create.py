"""New customers of a bulk import, written with a few multi-row INSERTs.

Model instances and ``bulk_create`` cost more per row than everything else an import does (Django
prepares every field of every object), so rows go in as plain tuples, like the demo loader does.
Each row carries exactly what ``customer_create`` would have written: normalised name, pinyin,
search blob and tokens, primary contact, identities, tags and the field-level change log.
Ids are taken up front: under the batch's write transaction on SQLite (IMMEDIATE, so nobody else
inserts meanwhile), from the sequence on PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from operator import itemgetter
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models
from django.utils import timezone

from pearl.accounts.models import User
from pearl.core import context, duplicates
from pearl.core.changes import created
from pearl.core.events import emit_many
from pearl.core.models import ChangeAction, ChangeLog
from pearl.core.rows import allocate_ids, insert_rows
from pearl.core.text import normalize_company_name
from pearl.customers.choices import CustomerKind, CustomerStatus, IdentityKind
from pearl.customers.models import Contact, Customer, CustomerSearchToken, Identity
from pearl.customers.search import cached_name_terms, document
from pearl.customers.services.bulk_rows import CleanRow, Lookups, Prepared, tag_key
from pearl.customers.services.contacts import CONTACT_FIELDS
from pearl.customers.services.customers import FIELDS

CUSTOMER_COLUMNS = (
    "id", "created_at", "updated_at", "version", "kind", "name", "short_name", "name_normalized", "name_pinyin",
    "customer_type_id", "industry_id", "source_id", "province", "city", "district", "address", "grade", "status",
    "owner_id", "team_id", "custom_fields", "search_blob",
)  # fmt: skip
CONTACT_COLUMNS = (
    "id", "created_at", "updated_at", "version", "customer_id", "name", "mobile", "email", "wechat", "position_id",
    "is_primary", "custom_fields",
)  # fmt: skip
LOG_COLUMNS = (
    "occurred_at", "actor_id", "actor_label", "channel", "request_id", "action", "object_type", "object_id",
    "object_repr", "root_type", "root_id", "changes",
)  # fmt: skip
_TEXT = ("name", "short_name", "province", "city", "district", "address", "grade")
_RELATIONS = ("customer_type", "industry", "source", "owner", "team")


def _pk(value: Any) -> Any:
    return value.pk if isinstance(value, models.Model) else value


def _json(value: Any) -> str:
    return json.dumps(value, cls=DjangoJSONEncoder)


def search_document(row: CleanRow) -> tuple[set[str], str, str]:
    """(tokens, search blob, name pinyin) of the customer a row creates, as ``customer_create`` indexes it."""
    v, contact = row.customer, row.contact
    names = [v.get("name") or "", v.get("short_name") or ""] + ([contact["name"]] if contact.get("name") else [])
    return document(names, [contact.get("mobile") or ""], terms=cached_name_terms)


def prepare(rows: list[CleanRow]) -> Prepared:
    """The search documents of the rows that may create a customer, computed ahead of
    ``write_creates`` (pure CPU work, no database: the import does it in its second process)."""
    tokens: list[tuple[str, int]] = []
    for row in rows:
        if not row.errors and row.customer.get("name"):
            found, blob, pinyin = search_document(row)
            row.search = (blob, pinyin)
            tokens.extend((token, row.number) for token in found)
    tokens.sort()
    return Prepared(rows, tokens)


def matcher_values(row: CleanRow) -> dict[str, Any]:
    """The customer ``write_creates`` makes of a row as the duplicate matcher reads it back (the
    fields of its ``Record``: choice by label, blanks dropped, the one contact ``write_creates``
    adds), so the import's second process can featurise it before it exists. Keep in step with
    ``write_creates``; a test compares the stored result with a rebuild."""
    v, contact = row.customer, row.contact
    option = v.get("customer_type")
    person = contact if contact.get("name") else {}
    return {
        "kind": str(v.get("kind") or CustomerKind.COMPANY), "name": v.get("name") or "",
        "short_name": v.get("short_name") or "", "customer_type": option.label if option is not None else "",
        "province": v.get("province") or "", "city": v.get("city") or "", "district": v.get("district") or "",
        "address": v.get("address") or "",
        **{many: (person[key],) if person.get(key) else () for many, key in
           (("contact_names", "name"), ("mobiles", "mobile"), ("emails", "email"), ("wechats", "wechat"))},
    }  # fmt: skip


def write_creates(
    actor: User,
    lookups: Lookups,
    rows: list[CleanRow],
    presorted: list[tuple[str, int]] | None = None,
    computed: Mapping[str, duplicates.Ahead] | None = None,
) -> list[tuple[int, int]]:
    """Insert one customer (and its contact) per row; returns (id, version) per row, in order.

    ``presorted``: ``Prepared.tokens`` of the batch these rows come from (rows with a ``search``);
    ``computed``: its ``Prepared.ahead`` (index rows by row number, see ``pearl.core.duplicates``).
    """
    if not rows:
        return []
    now = timezone.now()
    stamp = connection.ops.adapt_datetimefield_value(now)
    ctx = context.current()

    def log(object_type: str, object_id: int, label: str, root_id: int, after: dict[str, Any]) -> tuple[Any, ...]:
        return (
            stamp, actor.pk, actor.username, ctx.channel, ctx.request_id, ChangeAction.CREATE.value, object_type,
            object_id, label[:255], "customers.customer", root_id, _json(created(after)),
        )  # fmt: skip

    customer_ids = allocate_ids(Customer, len(rows))
    with_contact = [r for r in rows if r.contact.get("name")]
    contact_ids = iter(allocate_ids(Contact, len(with_contact)))
    customers, contacts, identities, tokens, tag_links, logs = [], [], [], [], [], []  # type: ignore[var-annotated]
    by_number: dict[int, int] = {}  # row number → customer id, for the presorted tokens
    for row, customer_id in zip(rows, customer_ids, strict=True):
        v = row.customer
        values: dict[str, Any] = {key: v.get(key) or "" for key in _TEXT}
        values.update({key: _pk(v.get(key)) for key in _RELATIONS})
        values["kind"] = v.get("kind") or CustomerKind.COMPANY
        values["status"] = v.get("status") or CustomerStatus.PROSPECT
        if "owner" not in v:
            values["owner"], values["team"] = actor.pk, actor.team_id
        contact = row.contact
        if row.search is not None and presorted is not None:
            blob, pinyin = row.search
            by_number[row.number] = customer_id
        else:
            found, blob, pinyin = search_document(row)
            tokens.extend((t, customer_id) for t in found)
        customers.append((
            customer_id, stamp, stamp, 1, values["kind"], values["name"], values["short_name"],
            normalize_company_name(values["name"]), pinyin, values["customer_type"], values["industry"],
            values["source"], values["province"], values["city"], values["district"], values["address"],
            values["grade"], values["status"], values["owner"], values["team"], _json(row.custom_fields), blob,
        ))  # fmt: skip
        tags = sorted(row.tags)
        tag_links.extend((customer_id, lookups.tags[tag_key(t)].pk) for t in tags)
        after = {key: values.get(key) for key in FIELDS if key != "custom_fields"}
        after.update(custom_fields=row.custom_fields, tags=tags)
        logs.append(log("customers.customer", customer_id, values["short_name"] or values["name"], customer_id, after))
        contact_id = None
        if contact.get("name"):
            contact_id = next(contact_ids)
            person = {
                "name": contact["name"], "mobile": contact.get("mobile") or "", "email": contact.get("email") or "",
                "wechat": contact.get("wechat") or "", "position": _pk(contact.get("position")), "is_primary": True,
                "custom_fields": {},
            }  # fmt: skip
            contacts.append((
                contact_id, stamp, stamp, 1, customer_id, person["name"], person["mobile"], person["email"],
                person["wechat"], person["position"], True, "{}",
            ))  # fmt: skip
            logs.append(log("customers.contact", contact_id, person["name"], customer_id,
                            {k: person[k] for k in CONTACT_FIELDS}))  # fmt: skip
        for kind, value in row.identities():
            identities.append((kind, value, customer_id, None if kind == IdentityKind.EXTERNAL else contact_id, stamp))
    insert_rows(Customer._meta.db_table, CUSTOMER_COLUMNS, customers)
    insert_rows(Contact._meta.db_table, CONTACT_COLUMNS, contacts)
    insert_rows(Identity._meta.db_table, ("kind", "value", "customer_id", "contact_id", "created_at"), identities)
    # In key order: the token table's key is (token, customer), so sorted rows land on neighbouring
    # B-tree pages instead of one random page each (twice as fast; most of an import's write time).
    # Sorting on the token alone is stable: customers stay in id order within a token.
    tokens.sort(key=itemgetter(0))
    if by_number:
        # Already sorted by (token, row number); ids ascend with row numbers, so the order holds.
        ahead = [(t, by_number[n]) for t, n in presorted or () if n in by_number]
        tokens = ahead + tokens if not tokens else sorted(ahead + tokens, key=itemgetter(0))
    insert_rows(CustomerSearchToken._meta.db_table, ("token", "customer_id"), tokens)
    insert_rows(Customer.tags.through._meta.db_table, ("customer_id", "tag_id"), tag_links)
    insert_rows(ChangeLog._meta.db_table, LOG_COLUMNS, logs)
    # Rows computed ahead (by row number) go in as they are; the rest are read back and refreshed.
    placeholders = {row.number: customer_id for row, customer_id in zip(rows, customer_ids, strict=True)}
    duplicates.refresh(customer_ids, computed, placeholders if computed else None)
    emit_many("customer.created", [{"customer_id": customer_id, "actor_id": actor.pk} for customer_id in customer_ids])
    return [(customer_id, 1) for customer_id in customer_ids]
