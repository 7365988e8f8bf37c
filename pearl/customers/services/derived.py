"""Set-based writes of derived customer data: automatic grades and smart-tag memberships.

Customer rows are written only by the customers app's services; the analytics app computes grades
and which customers a smart tag's rule matches, and hands them here. No permission check and no
change log: these are system writes derived from rules an admin configured (grade changes land on
the customer's timeline, written by the caller).

Rule-managed ("smart") tags are known to the customers app through ``managed_tag_ids``: the app
owning the rules registers a provider in its ``AppConfig.ready`` (the customers app cannot import
it), and the customer services refuse to set or remove such a tag by hand.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from django.db import connection
from django.db.models import F, QuerySet

from pearl.customers.models import Customer

TagLink = Customer.tags.through
ManagedTags = Callable[[], Iterable[int]]
_providers: list[ManagedTags] = []
CHUNK = 5000


def register_managed_tags(provider: ManagedTags) -> None:
    """Declare the tags a rule manages: ``provider()`` returns their ids (read when needed)."""
    if provider not in _providers:
        _providers.append(provider)


def unregister_managed_tags(provider: ManagedTags) -> None:
    if provider in _providers:
        _providers.remove(provider)


def managed_tag_ids() -> set[int]:
    """Ids of the tags no person may set or remove (smart tags)."""
    found: set[int] = set()
    for provider in _providers:
        found.update(int(pk) for pk in provider())
    return found


def grades_set(changes: Iterable[tuple[int, str]]) -> int:
    """Set ``Customer.grade`` for ``(customer_id, grade)`` pairs, grouped by grade, in chunks.

    The version goes up (the record changed: a stale edit of it is refused) but ``updated_at`` is
    left alone — it means "last edited by someone" for the lists and the data-quality page. Nothing
    else of the customers app derives from the grade (search and the matcher do not read it).
    """
    by_grade: defaultdict[str, list[int]] = defaultdict(list)
    for customer_id, grade in changes:
        by_grade[grade or ""].append(int(customer_id))
    updated = 0
    for grade, ids in by_grade.items():
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            updated += Customer.objects.filter(pk__in=chunk).update(grade=grade, version=F("version") + 1)
    return updated


def tag_members_sync(
    tag_id: int, members: QuerySet[Any], *, customer_ids: Iterable[int] | None = None
) -> tuple[int, int]:
    """Make the customers carrying ``tag_id`` exactly ``members`` (a queryset of customer ids, e.g.
    ``Customer.objects.filter(q).values("pk")``), restricted to ``customer_ids`` when given.

    Two statements: a DELETE of the links no longer matching and one INSERT … SELECT of the new
    ones. Returns (added, removed).
    """
    links = TagLink.objects.filter(tag_id=tag_id)
    scope = None if customer_ids is None else [int(i) for i in customer_ids]
    if scope is not None:
        links = links.filter(customer_id__in=scope)
        members = members.filter(pk__in=scope)
    members = members.order_by().values("id")  # one column, named ``id``
    sql, params = members.query.sql_with_params()
    table = connection.ops.quote_name(TagLink._meta.db_table)
    if connection.vendor == "postgresql":
        # PostgreSQL runs ``NOT IN (subquery)`` as a subplan per link once the members outgrow
        # work_mem (75 s for one tag of 74k links at a million customers); NOT EXISTS becomes a
        # hash anti-join (well under a second). SQLite builds an index of the subquery for NOT IN.
        within = "" if scope is None else "AND t.customer_id = ANY(%s)"
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {table} t WHERE t.tag_id = %s {within} "
                f"AND NOT EXISTS (SELECT 1 FROM ({sql}) m WHERE m.id = t.customer_id)",
                [tag_id, *([scope] if scope is not None else []), *params],
            )
            removed = max(int(cursor.rowcount), 0)
    else:
        removed, _ = links.exclude(customer_id__in=members).delete()
    conflict = "ON CONFLICT DO NOTHING" if connection.vendor == "postgresql" else ""
    insert = "INSERT INTO" if connection.vendor == "postgresql" else "INSERT OR IGNORE INTO"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            {insert} {table} (customer_id, tag_id)
            SELECT m.id, %s FROM ({sql}) m
            WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE t.tag_id = %s AND t.customer_id = m.id)
            {conflict}
            """,
            [tag_id, *params, tag_id],
        )
        added = max(int(cursor.rowcount), 0)
    return added, removed


def tag_links_apply(*, add: Iterable[tuple[int, int]] = (), remove: Iterable[tuple[int, int]] = ()) -> None:
    """Add and remove single ``(customer_id, tag_id)`` links: the per-customer path, where the rules
    were evaluated for a few customers in one query."""
    by_tag: defaultdict[int, list[int]] = defaultdict(list)
    for customer_id, tag_id in remove:
        by_tag[int(tag_id)].append(int(customer_id))
    for tag_id, ids in by_tag.items():
        TagLink.objects.filter(tag_id=tag_id, customer_id__in=ids).delete()
    TagLink.objects.bulk_create([TagLink(customer_id=c, tag_id=t) for c, t in sorted(set(add))], ignore_conflicts=True)


def tag_members_clear(tag_id: int) -> int:
    """Take a tag off everyone (its rule was switched off)."""
    removed, _ = TagLink.objects.filter(tag_id=tag_id).delete()
    return removed


def tag_member_count(tag_id: int) -> int:
    return TagLink.objects.filter(tag_id=tag_id).count()
