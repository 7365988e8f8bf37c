"""Inquiries: what a person sent through a channel (a channel event, a web form), kept on the lead it
concerns as a follow-up of kind ``inquiry``.

An inquiry is not a follow-up by the owner: it has no actor, does not stamp ``first_follow_up_at``
and leaves the status alone, so the no-follow-up reminder still fires for a lead nobody has called.
``(source, external_id)`` is unique when the channel gave an id, so a replayed message is recognised.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction

from pearl.core.events import emit_many
from pearl.core.text import strip_control
from pearl.leads.choices import FollowUpKind
from pearl.leads.models import LeadFollowUp

SUMMARY_LIMIT = 500


@dataclass(frozen=True)
class Inquiry:
    at: dt.datetime
    summary: str
    source: str  # the channel: "web", "form:3"
    external_id: str = ""  # the channel's id for the message, when it has one


@transaction.atomic
def lead_inquiries_add(*, inquiries: Sequence[tuple[int, Inquiry]]) -> list[LeadFollowUp]:
    """Record inquiries on leads (by id) with one insert. A channel id recorded before raises
    IntegrityError (callers that may replay check ``inquiries_recorded`` first and retry on a race)."""
    rows = [
        LeadFollowUp(
            lead_id=lead_id,
            actor=None,
            at=inquiry.at,
            kind=FollowUpKind.INQUIRY,
            summary=strip_control(inquiry.summary or "").strip()[:SUMMARY_LIMIT],
            source=inquiry.source[:32],
            external_id=inquiry.external_id[:128],
        )
        for lead_id, inquiry in inquiries
    ]
    if not rows:
        return []
    created = LeadFollowUp.objects.bulk_create(rows)
    emit_many("lead.inquiry", [{"lead_id": row.lead_id, "follow_up_id": row.pk} for row in created])
    return created
