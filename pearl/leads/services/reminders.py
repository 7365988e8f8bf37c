"""The no-follow-up reminder: a lead its owner has not followed up within ``follow_up_hours()`` of
being assigned is reported once to the owner and (unless the reminder rules say not to) the manager
of the owner's team; the rule switched off on the settings page 提醒规则 reminds nobody.

Set-based: one indexed read of the overdue leads (partial index ``lead_unfollowed_idx``), one
notification per owner (naming the lead, or counting them), one UPDATE stamping ``reminded_at``, all
in one transaction; a second run as of the same moment finds nothing.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from pearl.accounts.models import User
from pearl.leads.choices import OPEN_STATUSES
from pearl.leads.models import Lead

if TYPE_CHECKING:
    from pearl.reminders.models import ReminderRules

STAMP_CHUNK = 10_000


def follow_up_hours(rules: ReminderRules | None = None) -> int:
    """Hours an owner has to follow up a new lead: the reminder rules' number (24 by default),
    set on the settings page 提醒规则."""
    from pearl.reminders.selectors import reminder_rules

    return (rules or reminder_rules()).lead_follow_up_hours


def leads_reminders_sweep(at: dt.datetime) -> dict[str, Any]:
    from pearl.reminders.selectors import reminder_rules
    from pearl.reminders.services import notify  # the reminders app is optional for this one call

    rules = reminder_rules()  # once per run: a change on the settings page counts from the next run
    if not rules.lead_follow_up_on:
        return {"leads": 0, "notifications": 0}
    hours = follow_up_hours(rules)
    cutoff = at - dt.timedelta(hours=hours)
    with transaction.atomic():
        due = list(
            Lead.objects.select_for_update()
            .filter(
                first_follow_up_at__isnull=True,
                reminded_at__isnull=True,
                owner__isnull=False,
                status__in=OPEN_STATUSES,
                assigned_at__lte=cutoff,
            )
            .order_by("owner_id", "id")
            .values_list("pk", "owner_id", "name", "company")
        )
        if not due:
            return {"leads": 0, "notifications": 0}
        by_owner: defaultdict[int, list[tuple[int, str, str]]] = defaultdict(list)
        for pk, owner_id, name, company in due:
            by_owner[owner_id].append((pk, name, company))
        owners = {u.pk: u for u in User.objects.filter(pk__in=by_owner).select_related("team__manager")}
        sent = 0
        for owner_id, leads in by_owner.items():
            owner = owners[owner_id]
            recipients = [owner]
            manager = owner.team.manager if owner.team_id and owner.team else None
            if rules.lead_follow_up_manager and manager and manager.pk != owner.pk and manager.is_active:
                recipients.append(manager)
            first_id, name, company = leads[0]
            if len(leads) == 1:
                title = _("Lead “%(lead)s” not followed up %(hours)d hours after assignment") % {
                    "lead": f"{name}（{company}）" if company else name,
                    "hours": hours,
                }
                link = reverse("leads:lead_detail", args=[first_id])
            else:
                title = ngettext(
                    "%(n)d lead of %(owner)s not followed up %(hours)d hours after assignment",
                    "%(n)d leads of %(owner)s not followed up %(hours)d hours after assignment",
                    len(leads),
                ) % {"n": len(leads), "owner": owner, "hours": hours}
                link = reverse("leads:lead_list") + f"?owner={owner_id}&status=new"
            body = _("Owner: %(owner)s. Follow them up, or hand them to a colleague.") % {"owner": owner}
            sent += notify(
                recipients=recipients,
                title=title,
                body=body,
                link=link,
                subject=("leads.lead", first_id),
                dedupe_key=f"leads.no_follow_up:{owner_id}:{first_id}:{leads[-1][0]}:{len(leads)}",
            )
        ids = [row[0] for row in due]
        # In chunks: a first run on a big backlog stamps hundreds of thousands of leads, more ids than
        # one statement may carry (SQLite's variable limit; 250k failed).
        for start in range(0, len(ids), STAMP_CHUNK):
            Lead.objects.filter(pk__in=ids[start : start + STAMP_CHUNK]).update(reminded_at=at)
    return {"leads": len(due), "notifications": sent}
