"""The customer's timeline on the 360° page: events and changes, filtered by kind and period.

The first page is part of the detail page; "more" and the filters fetch just the list through htmx
(the same URL without JavaScript answers the whole detail page), and the section reloads itself
when a quick log elsewhere on the page announces ``timeline-changed``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from pearl.accounts.models import User
from pearl.activities import selectors as timeline
from pearl.activities.choices import ComplaintCategory, ComplaintStatus, Outcome, TimelineKind
from pearl.core.errors import ValidationFailed
from pearl.core.pages import actor_of, is_htmx
from pearl.customers import selectors
from pearl.customers.models import Customer
from pearl.customers.views.common import page
from pearl.customers.views.history import HistoryEntry, history_entries
from pearl.sales.choices import OrderStatus

TIMELINE_PAGE_SIZE = 30

# Where an event's record is shown; an app that has no such page yet simply gets no link.
_SUBJECT_PAGES = {
    "sales.order": "sales:order_detail",
    "sales.payment": "sales:payment_detail",
    "activities.communication": "activities:communication_detail",
    "activities.complaint": "activities:complaint_detail",
}
_DETAIL_LABELS = {
    "amount": gettext_lazy("Amount"),
    "outcome": gettext_lazy("Outcome"),
    "place": gettext_lazy("Place"),
    "category": gettext_lazy("Category"),
    "status": gettext_lazy("Status"),
    "next_follow_up_at": gettext_lazy("Next follow-up"),
}
_CODE_LABELS: dict[str, dict[str, Any]] = {
    "outcome": dict(Outcome.choices),
    "category": dict(ComplaintCategory.choices),
}


@dataclass
class TimelineEntry:
    key: str
    kind: str
    kind_label: str
    occurred_at: dt.datetime
    who: str
    title: str = ""
    summary: str = ""
    details: list[tuple[str, str]] = field(default_factory=list)
    url: str = ""
    change: HistoryEntry | None = None


@dataclass
class TimelineFilters:
    kinds: list[str]
    since: dt.date | None
    until: dt.date | None
    errors: list[str]

    def query(self, **extra: str) -> str:
        pairs: list[tuple[str, str]] = [("kind", k) for k in self.kinds]
        if self.since:
            pairs.append(("since", self.since.isoformat()))
        if self.until:
            pairs.append(("until", self.until.isoformat()))
        pairs += [(k, v) for k, v in extra.items() if v]
        return urlencode(pairs)


def _date(raw: str | None, label: str, errors: list[str]) -> dt.date | None:
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw.strip())
    except ValueError:
        errors.append(_("%(label)s: “%(value)s” is not a date (use 2026-11-23).") % {"label": label, "value": raw[:20]})
        return None


def timeline_filters(params: QueryDict) -> TimelineFilters:
    errors: list[str] = []
    kinds = [k for k in params.getlist("kind") if k]
    unknown = [k for k in kinds if k not in TimelineKind.values]
    if unknown:
        errors.append(_("Unknown kind: %(kinds)s.") % {"kinds": "、".join(k[:20] for k in unknown)})
        kinds = [k for k in kinds if k in TimelineKind.values]
    since = _date(params.get("since"), _("From"), errors)
    until = _date(params.get("until"), _("To"), errors)
    if since and until and since > until:
        errors.append(_("The period starts after it ends."))
        since = until = None
    return TimelineFilters(kinds, since, until, errors)


def _subject_url(subject_type: str, subject_id: int | None) -> str:
    name = _SUBJECT_PAGES.get(subject_type)
    if not name or subject_id is None:
        return ""
    try:
        return reverse(name, args=[subject_id])
    except NoReverseMatch:
        return ""


def _detail_value(kind: str, key: str, value: Any) -> str:
    if key in _CODE_LABELS:
        return str(_CODE_LABELS[key].get(value, value))
    # An order's status and a complaint's share the key: the entry's kind says whose it is.
    if key == "status" and kind == TimelineKind.ORDER and value in OrderStatus.values:
        return str(OrderStatus(value).label)
    if key == "status" and value in ComplaintStatus.values:
        return str(ComplaintStatus(value).label)
    if key == "amount":
        return f"¥{value}"
    if key == "next_follow_up_at" and isinstance(value, str):
        return value[:16].replace("T", " ")
    return str(value)


def timeline_entries(actor: User, items: list[timeline.TimelineItem]) -> list[TimelineEntry]:
    """What the page shows for each item; the changes' field names are read once for the page."""
    kind_labels = dict(TimelineKind.choices)
    changes = {e.log.pk: e for e in history_entries(actor, [i.change for i in items if i.change is not None])}
    out = []
    for item in items:
        entry = TimelineEntry(item.key, item.kind, str(kind_labels[item.kind]), item.occurred_at, "")
        if item.change is not None:
            entry.change = changes[item.change.pk]
            entry.who = entry.change.who
        elif item.event is not None:
            event = item.event
            payload = event.payload if isinstance(event.payload, dict) else {}
            entry.who = str(event.actor) if event.actor else event.actor_label or event.source
            entry.title = event.title
            summary = str(payload.get("summary") or "")
            # A call logged without a purpose takes its title from the summary: don't say it twice.
            shown = entry.title.rstrip("…").strip()
            entry.summary = "" if shown and summary.startswith(shown) else summary
            entry.details = [
                (str(label), _detail_value(item.kind, key, payload[key]))
                for key, label in _DETAIL_LABELS.items()
                if payload.get(key) not in (None, "", [])
            ]
            entry.url = _subject_url(event.subject_type, event.subject_id)
        out.append(entry)
    return out


def timeline_context(actor: User, customer: Customer, params: QueryDict) -> dict[str, Any]:
    """The timeline section's context: filters, one page of entries and the link to the next."""
    filters = timeline_filters(params)
    errors = list(filters.errors)
    try:
        result = timeline.timeline_page(
            actor=actor,
            customer=customer,  # read in scope by the caller's customer_get
            kinds=filters.kinds or None,
            since=timeline.day_start(filters.since) if filters.since else None,
            until=timeline.day_start(filters.until + dt.timedelta(days=1)) if filters.until else None,
            cursor=params.get("cursor") or None,
            limit=TIMELINE_PAGE_SIZE,
        )
    except ValidationFailed as exc:
        errors.append(str(exc.message))
        result = timeline.TimelinePage([], None)
    base = reverse("customers:customer_timeline", args=[customer.pk])
    return {
        "customer": customer,
        "timeline_entries": timeline_entries(actor, result.items),
        "timeline_next": f"{base}?{filters.query(cursor=result.next_cursor)}" if result.next_cursor else "",
        "timeline_filters": filters,
        "timeline_errors": errors,
        "timeline_url": f"{base}?{filters.query()}",
        "timeline_kinds": TimelineKind.choices,
    }


@page
@require_GET
def customer_timeline(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    customer = selectors.customer_get(actor=actor, customer_id=pk)
    if not is_htmx(request):
        query = request.GET.urlencode()
        return redirect(reverse("customers:customer_detail", args=[pk]) + (f"?{query}" if query else "") + "#timeline")
    context = timeline_context(actor, customer, request.GET)
    template = "customers/_timeline-items.html" if request.GET.get("cursor") else "customers/_timeline.html"
    return render(request, template, context)
