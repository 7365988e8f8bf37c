"""Quote expiry: a sent quote is valid through its ``valid_until`` day in the company's time zone
(``settings.TIME_ZONE``, Asia/Shanghai) and expired from the next day on.

The sweep ``pipelines.quotes_expire`` marks such quotes expired in one UPDATE, with a change-log row
and a timeline entry for each (both in bulk), like sending and answering a quote write them. Until
the sweep has run, the quote services still refuse what an expired quote may not do: accepting it,
or sending a draft whose date has passed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from pearl.activities.services import NewEvent, subject_key, timeline_record_many
from pearl.core.changes import record_changes
from pearl.core.errors import Conflict, ValidationFailed
from pearl.core.models import ChangeAction
from pearl.pipelines.choices import QuoteStatus
from pearl.pipelines.models import Quote

# How long a new quote is valid when the quote form first opens (the field stays editable; the API
# and the service leave a quote without a date, which never expires).
QUOTE_VALID_DAYS = 30


def business_date(at: dt.datetime | None = None) -> dt.date:
    """The calendar date of ``at`` (now by default) in the company's time zone."""
    return timezone.localdate(at or timezone.now(), timezone.get_default_timezone())


def default_valid_until(at: dt.datetime | None = None) -> dt.date:
    return business_date(at) + dt.timedelta(days=QUOTE_VALID_DAYS)


def has_run_out(quote: Quote, today: dt.date) -> bool:
    return quote.valid_until is not None and quote.valid_until < today


def check_not_expired(quote: Quote, target: str, at: dt.datetime | None = None) -> None:
    """Refuse accepting an expired quote (marked so, or past its date and not yet swept) and sending a
    draft whose date has passed; called by the quote services before the status changes."""
    today = business_date(at)
    ran_out = quote.status == QuoteStatus.EXPIRED or (quote.status == QuoteStatus.SENT and has_run_out(quote, today))
    if target == QuoteStatus.ACCEPTED and ran_out:
        if quote.valid_until is None:
            message = _("The quote %(number)s has expired, so it can no longer be accepted; make a new quote.")
        else:
            message = _(
                "The quote %(number)s was valid until %(date)s and has expired, so it can no longer be accepted; "
                "make a new quote."
            )
        day = quote.valid_until.isoformat() if quote.valid_until else None
        raise Conflict(message % {"number": quote.number, "date": day}, extra={"valid_until": day})
    if target == QuoteStatus.SENT and quote.status == QuoteStatus.DRAFT and has_run_out(quote, today):
        text = _(
            "The quote %(number)s is valid until %(date)s, which has passed; change the date before sending it."
        ) % {"number": quote.number, "date": quote.valid_until}
        raise ValidationFailed(text, field_errors={"valid_until": [text]})


def expired_title(quote: Quote) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return _("Quote %(number)s expired · ¥%(total)s") % {"number": quote.number, "total": f"{quote.total:,.2f}"}


def _expired_at(quote: Quote) -> dt.datetime:
    """The moment it ran out: the start of the day after its last valid day, in the company's time zone."""
    assert quote.valid_until is not None
    day = quote.valid_until + dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_default_timezone())


def quotes_expire_sweep(at: dt.datetime) -> dict[str, Any]:
    """Mark expired every sent quote whose valid-until date is before ``at``'s date (Asia/Shanghai).

    Set-based: one locked read of the due quotes, one UPDATE (which re-checks the status, so a quote
    answered meanwhile stays answered), one bulk insert of change-log rows and one of timeline entries.
    Idempotent: an expired quote is no longer ``sent``, so a second run as of the same moment finds none.
    """
    today = business_date(at)
    with transaction.atomic():
        due = list(
            Quote.objects.select_for_update(of=("self",))
            .filter(status=QuoteStatus.SENT, valid_until__lt=today)
            .select_related("opportunity")
            .order_by("id")
        )
        if not due:
            return {"quotes": 0}
        Quote.objects.filter(pk__in=[q.pk for q in due], status=QuoteStatus.SENT).update(
            status=QuoteStatus.EXPIRED, version=F("version") + 1
        )
        change = {"status": [str(QuoteStatus.SENT), str(QuoteStatus.EXPIRED)]}
        record_changes(actor=None, action=ChangeAction.UPDATE, items=[(q, change) for q in due])
        timeline_record_many(
            NewEvent(
                customer_id=q.opportunity.customer_id,
                kind="opportunity",
                occurred_at=_expired_at(q),
                title=expired_title(q)[:200],
                subject=subject_key(q),
                payload={
                    "opportunity": q.opportunity_id,
                    "quote": q.pk,
                    "number": q.number,
                    "status": str(QuoteStatus.EXPIRED),
                    "total": str(q.total),
                },
            )
            for q in due
        )
    return {"quotes": len(due)}
