"""Telling people about leads as they arrive: the owner a lead was given to, and the owner of a lead
its person asked about again. Notifications are written in the site's language (whoever's request
caused them) and set-wise, one insert for a batch; a dedupe key makes each one once-only."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.leads.models import Lead

SUBJECT = "leads.lead"


def notify_assigned(actor: Any, leads: Sequence[Lead]) -> int:
    """Tell each lead's owner it is theirs now (not the person who assigned it to themselves)."""
    from pearl.reminders.services import Notice, notify_many  # the reminders app is optional here

    actor_id = getattr(actor, "pk", None)
    with translation.override(settings.LANGUAGE_CODE):
        notices = [
            Notice(
                recipient=lead.owner,
                title=_("New lead: %(lead)s") % {"lead": lead},
                body=lead.assignment_reason,
                link=reverse("leads:lead_detail", args=[lead.pk]),
                subject=(SUBJECT, lead.pk),
                dedupe_key=f"lead-assigned:{lead.pk}:{lead.owner_id}",
            )
            for lead in leads
            if lead.owner is not None and lead.owner_id != actor_id
        ]
    return notify_many(notices) if notices else 0


def notify_asked_again(inquiries: Iterable[tuple[int, int, str]]) -> int:
    """Tell the owners of open leads that their person asked again: (lead id, follow-up id, what they said)."""
    from pearl.reminders.services import Notice, notify_many

    rows = list(inquiries)
    if not rows:
        return 0
    leads = {lead.pk: lead for lead in Lead.objects.filter(pk__in={r[0] for r in rows}, owner__isnull=False)}
    owners = {u.pk: u for u in User.objects.filter(pk__in={lead.owner_id for lead in leads.values()}, is_active=True)}
    with translation.override(settings.LANGUAGE_CODE):
        notices = [
            Notice(
                recipient=owners[lead.owner_id],
                title=_("Lead “%(lead)s” asked again") % {"lead": lead},
                body=text,
                link=reverse("leads:lead_detail", args=[lead.pk]),
                subject=(SUBJECT, lead.pk),
                dedupe_key=f"lead-inquiry:{follow_up_id}",
            )
            for lead_id, follow_up_id, text in rows
            if (lead := leads.get(lead_id)) is not None and lead.owner_id in owners
        ]
    return notify_many(notices) if notices else 0
