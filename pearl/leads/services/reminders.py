"""The no-follow-up reminder: a lead its owner has not followed up within ``follow_up_hours()`` of
being assigned is reported once to the owner and (unless the reminder rules say not to) the manager
of the owner's team; the rule switched off on the settings page 提醒规则 reminds nobody.

Set-based: one grouped read of the overdue leads per owner (partial index ``lead_unfollowed_idx``), one
notification per owner (naming the lead, or counting them), one UPDATE stamping ``reminded_at`` with
the same condition, all in one transaction; a second run as of the same moment finds nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Count, Max, Min
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from pearl.accounts.models import User
from pearl.leads.choices import OPEN_STATUSES
from pearl.leads.models import Lead

if TYPE_CHECKING:
    from pearl.reminders.models import ReminderRules


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
    due = Lead.objects.filter(
        first_follow_up_at__isnull=True,
        reminded_at__isnull=True,
        owner__isnull=False,
        status__in=OPEN_STATUSES,
        assigned_at__lte=cutoff,
    )
    with transaction.atomic():
        # Per owner, not per lead: a count and the first and last ids (a first run on a big backlog
        # has hundreds of thousands of overdue leads; none of them needs to travel to Python).
        groups = list(
            due.values("owner_id").annotate(n=Count("*"), first=Min("id"), last=Max("id")).order_by("owner_id")
        )
        if not groups:
            return {"leads": 0, "notifications": 0}
        first_rows = Lead.objects.filter(pk__in=[g["first"] for g in groups]).values_list("pk", "name", "company")
        firsts = {pk: (name, company) for pk, name, company in first_rows}
        owners = {
            u.pk: u for u in User.objects.filter(pk__in=[g["owner_id"] for g in groups]).select_related("team__manager")
        }
        sent = 0
        for group in groups:
            owner_id, count, first_id = group["owner_id"], group["n"], group["first"]
            owner = owners[owner_id]
            recipients = [owner]
            manager = owner.team.manager if owner.team_id and owner.team else None
            if rules.lead_follow_up_manager and manager and manager.pk != owner.pk and manager.is_active:
                recipients.append(manager)
            name, company = firsts[first_id]
            if count == 1:
                title = _("Lead “%(lead)s” not followed up %(hours)d hours after assignment") % {
                    "lead": f"{name}（{company}）" if company else name,
                    "hours": hours,
                }
                link = reverse("leads:lead_detail", args=[first_id])
            else:
                title = ngettext(
                    "%(n)d lead of %(owner)s not followed up %(hours)d hours after assignment",
                    "%(n)d leads of %(owner)s not followed up %(hours)d hours after assignment",
                    count,
                ) % {"n": count, "owner": owner, "hours": hours}
                link = reverse("leads:lead_list") + f"?owner={owner_id}&status=new"
            body = _("Owner: %(owner)s. Follow them up, or hand them to a colleague.") % {"owner": owner}
            sent += notify(
                recipients=recipients,
                title=title,
                body=body,
                link=link,
                subject=("leads.lead", first_id),
                dedupe_key=f"leads.no_follow_up:{owner_id}:{first_id}:{group['last']}:{count}",
                channels=rules.outside_channels,  # read once for the run, not once per owner
            )
        # The same condition, set-based: a lead followed up meanwhile no longer matches (it needs no
        # reminder), and no new lead can match (a lead is assigned now, after the cutoff).
        stamped = due.update(reminded_at=at)
    return {"leads": stamped, "notifications": sent}
