"""Reads of the reminders app: only what the actor may see.

Tasks are scoped by their owner as customers are by theirs: own / the owner's team / the owner's
team subtree / all (``scope_q`` on ``owner`` and ``owner__team``). Notifications are only ever the
reader's own. An unknown id and someone else's record are the same ``NotFound``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from pearl.accounts.models import Team, User
from pearl.core.errors import NotFound, ValidationFailed
from pearl.core.permissions import scope_q
from pearl.reminders.filters import TaskFilterForm, filter_errors
from pearl.reminders.models import Notification, ReminderRules, Task


def task_scope_q(actor: Any) -> Q:
    """Tasks the actor may see: by the task owner's team, as customers by theirs."""
    return scope_q(actor, owner="owner", team="owner__team")


def user_scope_q(actor: Any) -> Q:
    """Users whose records the actor may see (themself, their team, subtree, everyone)."""
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return Q(pk__in=[])
    scope = actor.data_scope
    if scope == "all":
        return Q()
    mine = Q(pk=actor.pk)
    if scope == "own" or actor.team_id is None:
        return mine
    if scope == "team":
        return mine | Q(team_id=actor.team_id)
    return mine | Q(team_id__in=Team.objects.filter(path__startswith=actor.team.path).values("pk"))


def task_list(*, actor: User, filters: dict[str, Any] | None = None) -> QuerySet[Task]:
    """Tasks the actor may see (only their own unless ``owner`` says otherwise), soonest due first.

    Filters (the API's and the page's): ``owner`` (``me`` default, a user id, or ``all`` = whole
    scope), ``done`` (true / false), ``due_before`` (date or datetime), ``customer`` (id)."""
    form = TaskFilterForm(filters or {})
    if not form.is_valid():
        errors = filter_errors(form)
        raise ValidationFailed(next(iter(errors.values()))[0], field_errors=errors)
    qs = Task.objects.filter(task_scope_q(actor)).filter(form.filter_q(actor))
    return qs.select_related("owner", "customer").order_by("due_at", "id")


def task_get(*, actor: User, task_id: int) -> Task:
    task = Task.objects.filter(task_scope_q(actor), pk=task_id).select_related("owner", "customer").first()
    if task is None:
        raise NotFound(_("Task not found."))
    return task


@dataclass
class MyDay:
    """The "my day" page: open tasks overdue and due today, the next ones, and call-backs."""

    now: dt.datetime
    overdue: list[Task] = field(default_factory=list)
    today: list[Task] = field(default_factory=list)
    upcoming: list[Task] = field(default_factory=list)


def day_bounds(at: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The local day containing ``at``: its start and the next day's start."""
    day = timezone.localtime(at).date()
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    return start, timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min))


def my_day(*, actor: User, at: dt.datetime | None = None, upcoming_days: int = 7, limit: int = 200) -> MyDay:
    """The actor's own open tasks: overdue (due before now), due later today, and the next week's."""
    now = at or timezone.now()
    _start, end = day_bounds(now)
    horizon = end + dt.timedelta(days=upcoming_days)
    rows = (
        Task.objects.filter(owner_id=actor.pk, done_at__isnull=True, due_at__lt=horizon)
        .select_related("customer")
        .order_by("due_at", "id")[:limit]
    )
    out = MyDay(now=now)
    for task in rows:
        if task.due_at < now:
            out.overdue.append(task)
        elif task.due_at < end:
            out.today.append(task)
        else:
            out.upcoming.append(task)
    return out


def notification_list(*, actor: User, unread_first: bool = False) -> QuerySet[Notification]:
    """The actor's notifications, newest first (``unread_first``: the unread ones before the rest)."""
    qs = Notification.objects.filter(recipient_id=getattr(actor, "pk", None) or -1)
    if unread_first:
        unread = ExpressionWrapper(Q(read_at__isnull=True), output_field=BooleanField())
        return qs.alias(unread=unread).order_by("-unread", "-created_at", "-id")
    return qs.order_by("-created_at", "-id")


def unread_count(*, actor: Any) -> int:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return 0
    return Notification.objects.filter(recipient_id=actor.pk, read_at__isnull=True).count()


def reminder_rules() -> ReminderRules:
    """The reminder rules row, or the defaults (unsaved) before anyone changed them.

    One primary-key read. Each sweep calls it once per run and passes the row down, so a change on
    the settings page takes effect on the next sweep. Deliberately not kept in a process cache: the
    page saves in the web process and the sweeps run in the worker, which would keep old numbers.
    """
    return ReminderRules.objects.filter(pk=1).first() or ReminderRules(pk=1)
