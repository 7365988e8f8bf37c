"""Reading a customer's timeline: its events and its change log, merged newest first.

Changes are not copied into ``TimelineEvent`` (an import of 100,000 customers would write 100,000
more rows for nothing); both are read by keyset from their own per-customer index, ``limit + 1``
rows each, and merged. The order is total: time, then events before changes at the same instant,
then id — so a cursor (the last item's key) continues exactly where a page stopped, however
many events share a timestamp.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.activities.choices import STORED_KINDS, TimelineKind
from pearl.activities.models import TimelineEvent
from pearl.core.errors import ValidationFailed
from pearl.core.models import ChangeLog
from pearl.customers import selectors as customer_selectors
from pearl.customers.models import Customer

CUSTOMER_ROOT = "customers.customer"
MAX_LIMIT = 200
_EVENT, _CHANGE = 1, 0  # rank at equal times: events first


@dataclass(frozen=True)
class TimelineItem:
    """One entry: a stored event or a change-log row (exactly one of the two is set)."""

    kind: str
    occurred_at: dt.datetime
    rank: int
    id: int
    event: TimelineEvent | None = None
    change: ChangeLog | None = None

    @property
    def cursor(self) -> str:
        return encode_cursor(self.occurred_at, self.rank, self.id)

    @property
    def key(self) -> str:
        return f"{'e' if self.rank == _EVENT else 'c'}{self.id}"


@dataclass(frozen=True)
class TimelinePage:
    items: list[TimelineItem]
    next_cursor: str | None


def encode_cursor(occurred_at: dt.datetime, rank: int, pk: int) -> str:
    micros = int(occurred_at.timestamp() * 1_000_000)
    return f"{micros}.{rank}.{pk}"


def decode_cursor(cursor: str) -> tuple[dt.datetime, int, int]:
    try:
        micros, rank, pk = (int(part) for part in cursor.split("."))
        if rank not in (_EVENT, _CHANGE) or pk < 0:
            raise ValueError(cursor)
        when = dt.datetime.fromtimestamp(micros / 1_000_000, tz=dt.UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise ValidationFailed(
            _("This page link is out of date or damaged; start from the newest entries."),
            field_errors={"cursor": [_("Not a cursor given by a previous page.")]},
        ) from exc
    return when, rank, pk


def _after(cursor: tuple[dt.datetime, int, int] | None, rank: int, time_field: str) -> Q:
    """Rows of one source that come after ``cursor`` in the timeline's order (i.e. are older)."""
    if cursor is None:
        return Q()
    when, last_rank, last_id = cursor
    older = Q(**{f"{time_field}__lt": when})
    if rank < last_rank:  # this source sorts after the cursor's at the same instant
        return older | Q(**{time_field: when})
    if rank == last_rank:
        return older | Q(**{time_field: when, "pk__lt": last_id})
    return older


def timeline_kinds(kinds: Collection[str] | None) -> set[str]:
    """The kinds asked for (all when none), refusing unknown ones by name."""
    if not kinds:
        return set(TimelineKind.values)
    unknown = sorted(set(kinds) - set(TimelineKind.values))
    if unknown:
        raise ValidationFailed(
            _("Unknown timeline kind: %(kinds)s. Use one of: %(allowed)s.")
            % {"kinds": "、".join(unknown), "allowed": ", ".join(TimelineKind.values)},
            field_errors={"kind": [_("Unknown kind.")]},
        )
    return set(kinds)


def _checked_customer(actor: User, customer_id: int | None, customer: Customer | None) -> Customer:
    """The customer a read is about. A ``customer`` object was read with ``customer_get`` by the caller
    (already scope-checked, so not read again); a bare ``customer_id`` is checked here: NotFound out of
    scope, ``CustomerMerged`` for a merged-away id."""
    if customer is not None and customer_id is None:
        return customer
    if customer is None and customer_id is not None:
        return customer_selectors.customer_get(actor=actor, customer_id=customer_id)
    raise TypeError("Give either customer (already scope-checked) or customer_id, not both.")


def timeline_events(
    *, actor: User, customer_id: int | None = None, customer: Customer | None = None
) -> QuerySet[TimelineEvent]:
    """The stored events of one customer the actor may see, newest first.

    Pass ``customer`` when it was read with ``customer_get`` (the 360° page), else ``customer_id``.
    """
    customer = _checked_customer(actor, customer_id, customer)
    return TimelineEvent.objects.filter(customer_id=customer.pk).order_by("-occurred_at", "-id")


def timeline_page(
    *,
    actor: User,
    customer_id: int | None = None,
    customer: Customer | None = None,
    kinds: Collection[str] | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    cursor: str | None = None,
    limit: int = 30,
) -> TimelinePage:
    """One page of the customer's timeline, newest first; ``next_cursor`` continues it.

    Pass ``customer`` when it was read with ``customer_get`` (the 360° page), else ``customer_id``.
    """
    wanted = timeline_kinds(kinds)
    limit = max(1, min(limit, MAX_LIMIT))
    position = decode_cursor(cursor) if cursor else None
    customer = _checked_customer(actor, customer_id, customer)
    events = timeline_events(actor=actor, customer=customer)
    streams: list[Iterator[TimelineItem]] = []
    stored = wanted & STORED_KINDS
    if stored:
        qs = events.filter(_after(position, _EVENT, "occurred_at"))
        if stored != STORED_KINDS:
            qs = qs.filter(kind__in=sorted(stored))
        qs = _period(qs, "occurred_at", since, until).select_related("actor")
        streams.append(TimelineItem(e.kind, e.occurred_at, _EVENT, e.pk, event=e) for e in qs[: limit + 1])
    if TimelineKind.CHANGE in wanted:
        logs = ChangeLog.objects.filter(root_type=CUSTOMER_ROOT, root_id=customer.pk)
        logs = _period(logs.filter(_after(position, _CHANGE, "occurred_at")), "occurred_at", since, until)
        logs = logs.select_related("actor").order_by("-occurred_at", "-id")
        streams.append(
            TimelineItem(TimelineKind.CHANGE, c.occurred_at, _CHANGE, c.pk, change=c) for c in logs[: limit + 1]
        )
    merged = list(heapq.merge(*streams, key=lambda item: (item.occurred_at, item.rank, item.id), reverse=True))
    items = merged[:limit]
    more = len(merged) > limit
    return TimelinePage(items, items[-1].cursor if more and items else None)


def _period(qs: QuerySet[Any], field: str, since: dt.datetime | None, until: dt.datetime | None) -> QuerySet[Any]:
    if since is not None:
        qs = qs.filter(**{f"{field}__gte": since})
    if until is not None:
        qs = qs.filter(**{f"{field}__lt": until})
    return qs


def day_start(day: dt.date) -> dt.datetime:
    """Midnight of ``day`` in the current time zone (period filters are given as dates)."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))
