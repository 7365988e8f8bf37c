"""Writes of the reminders app: notifications, tasks and the outbox.

The contract other apps call (leads, pipelines, pools, rules):

- ``notify(*, recipients, title, body="", link="", subject=None, dedupe_key="", email=False) -> int``
- ``reminder_rules_update(*, actor, data) -> ReminderRules`` (the settings page 提醒规则)
- ``task_create(*, actor, owner, title, due_at, customer_id=None, note="", source=None, dedupe_key="") -> Task``
- ``task_update`` / ``task_complete`` / ``task_delete`` / ``tasks_transfer``

``actor=None`` means the system (a rule or a sweep): no permission check, the owner must still
see the task's customer. Tasks are scoped by their owner, as customers are.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.activities.choices import TimelineKind
from pearl.activities.selectors import follow_ups_due
from pearl.activities.services import NewEvent, timeline_record, timeline_remove_subject
from pearl.core import context
from pearl.core.changes import created, deleted, diff, record_change, snapshot
from pearl.core.errors import NotFound, PermissionDenied, PreconditionFailed, ValidationFailed
from pearl.core.events import emit
from pearl.core.models import ChangeAction, ChangeLog
from pearl.core.permissions import require
from pearl.core.text import clean_spaces, strip_control
from pearl.customers.selectors import customer_visible
from pearl.reminders.choices import OutboxChannel
from pearl.reminders.models import Notification, OutboxMessage, ReminderRules, Task
from pearl.reminders.selectors import reminder_rules, task_scope_q, user_scope_q

TASK = "reminders.task"
TASK_FIELDS = ["title", "note", "customer", "owner", "due_at", "done_at", "source_type", "source_id"]
TITLE_LIMIT = 200
NOTE_LIMIT = 4000
BODY_LIMIT = 4000
LINK_LIMIT = 500
KEY_LIMIT = 200
SOURCE_TYPE_LIMIT = 64
CHUNK = 500


# --- notifications -----------------------------------------------------------------------------------


def _one_line(text: Any, limit: int) -> str:
    text = clean_spaces(str(text or ""))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _existing_keys(pairs: Sequence[tuple[int, str]]) -> set[tuple[int, str]]:
    """Which of these (recipient, dedupe key) pairs already have a notification (a read per 500 keys)."""
    found: set[tuple[int, str]] = set()
    keys = sorted({key for _, key in pairs if key})
    recipients = sorted({pk for pk, key in pairs if key})
    for start in range(0, len(keys), CHUNK):
        # Both columns, so the (recipient, dedupe key) unique index answers: on the key alone the read
        # scanned every notification (70 ms each at 20k rows, and growing with the table). The index is
        # partial (key not empty): naming its condition lets the planners use it (SQLite only takes a
        # partial index when the query states its WHERE; without it a new lead's notice read 40-130 ms
        # of its owner's notifications at 195k rows).
        found.update(
            Notification.objects.exclude(dedupe_key="")
            .filter(recipient_id__in=recipients, dedupe_key__in=keys[start : start + CHUNK])
            .values_list("recipient_id", "dedupe_key")
        )
    return found


def notifications_insert(
    rows: Iterable[Notification], *, channels: Collection[str] | None = None, also: Collection[str] = ()
) -> list[Notification]:
    """Insert notifications in bulk, skipping any whose (recipient, dedupe key) exists; the new ones.

    The set-based path of ``notify`` and of the sweeps: one read of the existing keys, one insert
    (a concurrent duplicate is dropped by the unique constraint, ``ignore_conflicts``). The new ones
    are also queued on the outside ``channels`` (None: those the reminder rules choose) and ``also``."""
    rows = list(rows)
    existing = _existing_keys([(n.recipient_id, n.dedupe_key) for n in rows if n.dedupe_key])
    new: list[Notification] = []
    seen: set[tuple[int, str]] = set()
    for n in rows:
        key = (n.recipient_id, n.dedupe_key)
        if n.dedupe_key and (key in existing or key in seen):
            continue
        seen.add(key)
        new.append(n)
    Notification.objects.bulk_create(new, batch_size=CHUNK, ignore_conflicts=True)
    if new:
        chosen = reminder_rules().outside_channels if channels is None else channels
        _queue_outside(new, [*chosen, *(c for c in also if c not in chosen)])
    return new


def _queue_outside(new: Sequence[Notification], channels: Sequence[str]) -> None:
    """Queue these new notifications on the outside channels: an email to each recipient with an
    address; one group-robot message per recipient on WeCom / DingTalk, addressed by name (a group
    robot posts to a group, so the name says whom it is for). One read of the recipients."""
    if not channels:
        return
    people = {
        pk: (email, display_name or username)
        for pk, email, display_name, username in User.objects.filter(pk__in={n.recipient_id for n in new}).values_list(
            "pk", "email", "display_name", "username"
        )
    }
    for channel in channels:
        messages = []
        for n in new:
            email, name = people.get(n.recipient_id, ("", ""))
            to = email if channel == OutboxChannel.EMAIL else name
            if to:
                messages.append((to, n.title, n.body, n.link))
        if messages:
            outbox_queue(channel=channel, messages=messages)


def notify(
    *,
    recipients: Sequence[User],
    title: str,
    body: str = "",
    link: str = "",
    subject: tuple[str, int] | None = None,
    dedupe_key: str = "",
    email: bool = False,
    channels: Collection[str] | None = None,
) -> int:
    """One notification per recipient; with a ``dedupe_key`` at most one per recipient ever (a rule run
    twice notifies nobody twice). ``email``: also queue an email to each newly notified recipient who
    has an address. ``channels``: the outside channels (None: read from the reminder rules; a sweep that
    read them once passes them). Returns how many notifications were created."""
    title = _one_line(title, TITLE_LIMIT)
    if not title:
        raise ValidationFailed(_("A notification needs a title."), field_errors={"title": [_("Enter a title.")]})
    body = strip_control(body or "")[:BODY_LIMIT]
    link = (link or "").strip()[:LINK_LIMIT]
    dedupe_key = (dedupe_key or "").strip()[:KEY_LIMIT]
    subject_type, subject_id = subject or ("", None)
    unique = {u.pk: u for u in recipients if u is not None and u.pk}
    with transaction.atomic():
        new = notifications_insert(
            (
                Notification(
                    recipient_id=pk,
                    title=title,
                    body=body,
                    link=link,
                    subject_type=subject_type,
                    subject_id=subject_id,
                    dedupe_key=dedupe_key,
                )
                for pk in unique
            ),
            channels=channels,
            also=[OutboxChannel.EMAIL] if email else [],
        )
        if new:
            emit("notifications.created", recipient_ids=[n.recipient_id for n in new])
    return len(new)


@dataclass(frozen=True)
class Notice:
    """One notification of a batch (``notify_many``): a rule telling many people many different things."""

    recipient: User
    title: str
    body: str = ""
    link: str = ""
    subject: tuple[str, int] | None = None
    dedupe_key: str = ""


def notify_many(notices: Sequence[Notice]) -> int:
    """``notify`` for many different notifications at once (a sweep warning thousands of owners): one
    read of the existing dedupe keys per 500, one bulk insert. Returns how many were created."""
    rows = []
    for notice in notices:
        title = _one_line(notice.title, TITLE_LIMIT)
        if not title or notice.recipient is None or not notice.recipient.pk:
            continue
        subject_type, subject_id = notice.subject or ("", None)
        rows.append(
            Notification(
                recipient_id=notice.recipient.pk, title=title, body=strip_control(notice.body or "")[:BODY_LIMIT],
                link=(notice.link or "").strip()[:LINK_LIMIT], subject_type=subject_type, subject_id=subject_id,
                dedupe_key=(notice.dedupe_key or "").strip()[:KEY_LIMIT],
            )
        )  # fmt: skip
    with transaction.atomic():
        new = notifications_insert(rows)
        if new:
            emit("notifications.created", recipient_ids=sorted({n.recipient_id for n in new}))
    return len(new)


def outbox_queue(*, channel: str, messages: Sequence[tuple[str, ...]]) -> list[int]:
    """Write (recipient address, subject, body[, link]) messages to the outbox; a configured sender
    delivers them after commit (see ``pearl.reminders.channels``). Returns their ids."""
    if channel not in OutboxChannel.values:
        raise ValidationFailed(_("Unknown channel %(channel)s.") % {"channel": channel})
    rows = OutboxMessage.objects.bulk_create(
        [
            OutboxMessage(
                channel=channel,
                recipient=m[0][:254],
                subject=_one_line(m[1], TITLE_LIMIT),
                body=m[2],
                link=(m[3] if len(m) > 3 else "")[:LINK_LIMIT],
            )
            for m in messages
        ]
    )
    ids = [m.pk for m in rows if m.pk]
    if ids:
        emit("reminders.outbox_queued", channel=channel, message_ids=ids)
    return ids


def _my_notification(actor: User, notification_id: int) -> Notification:
    n = Notification.objects.filter(pk=notification_id, recipient_id=actor.pk).first()
    if n is None:
        raise NotFound(_("Notification not found."))
    return n


def notification_read(*, actor: User, notification_id: int) -> Notification:
    """Mark one of the actor's notifications read (again: no change)."""
    n = _my_notification(actor, notification_id)
    if n.read_at is None:
        n.read_at = timezone.now()
        Notification.objects.filter(pk=n.pk, read_at__isnull=True).update(read_at=n.read_at)
    return n


def notifications_read_all(*, actor: User) -> int:
    """Mark all of the actor's unread notifications read; how many were."""
    return Notification.objects.filter(recipient_id=actor.pk, read_at__isnull=True).update(read_at=timezone.now())


# --- tasks -------------------------------------------------------------------------------------------


def _require_user(actor: Any) -> None:
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_active:
        raise PermissionDenied(_("Sign in first."))


def _as_datetime(value: Any, field: str) -> dt.datetime:
    if isinstance(value, str):
        parsed = parse_datetime(value.strip())
        if parsed is None:
            raise ValidationFailed(
                _("Give the due time as a date and time, such as 2026-12-01T15:30."),
                field_errors={field: [_("Not a valid date and time.")]},
            )
        value = parsed
    if not isinstance(value, dt.datetime):
        raise ValidationFailed(_("A task needs a due time."), field_errors={field: [_("Enter a due time.")]})
    return timezone.make_aware(value) if timezone.is_naive(value) else value


def _clean_title(value: Any) -> str:
    title = clean_spaces(str(value or ""))
    if not title:
        raise ValidationFailed(_("A task needs a title."), field_errors={"title": [_("Enter a title.")]})
    if len(title) > TITLE_LIMIT:
        message = _("At most %(n)s characters.") % {"n": TITLE_LIMIT}
        raise ValidationFailed(message, field_errors={"title": [message]})
    return title


def _clean_note(value: Any) -> str:
    note = strip_control(str(value or "")).strip()
    if len(note) > NOTE_LIMIT:
        message = _("At most %(n)s characters.") % {"n": NOTE_LIMIT}
        raise ValidationFailed(message, field_errors={"note": [message]})
    return note


def _check_customer(actor: User | None, owner: User, customer_id: int | None) -> int | None:
    """A task's customer must be one its writer sees (the owner's, for a rule)."""
    if customer_id is None:
        return None
    who = actor if actor is not None else owner
    if not customer_visible(actor=who).filter(pk=customer_id).exists():
        raise NotFound(_("Customer not found."), field_errors={"customer": [_("Customer not found.")]})
    return int(customer_id)


def _check_owner(actor: User | None, owner: User) -> None:
    if owner is None or not owner.pk or not owner.is_active:
        raise ValidationFailed(
            _("A task's owner must be an active user."), field_errors={"owner": [_("Choose an active user.")]}
        )
    in_scope = actor is None or owner.pk == actor.pk or User.objects.filter(user_scope_q(actor), pk=owner.pk).exists()
    if not in_scope:
        raise ValidationFailed(
            _("You may give tasks only to people in your data scope."),
            field_errors={"owner": [_("Choose someone in your data scope.")]},
        )


def task_create(
    *,
    actor: User | None,
    owner: User,
    title: str,
    due_at: dt.datetime,
    customer_id: int | None = None,
    note: str = "",
    source: tuple[str, int] | None = None,
    dedupe_key: str = "",
) -> Task:
    """A task for ``owner`` (``actor`` None: a rule). With a ``dedupe_key`` the first task made with that
    key is returned instead of a second one."""
    if actor is not None:
        _require_user(actor)
    dedupe_key = (dedupe_key or "").strip()[:KEY_LIMIT]
    if dedupe_key:
        found = Task.objects.filter(dedupe_key=dedupe_key).first()
        if found is not None:
            return found
    values = {
        "title": _clean_title(title),
        "note": _clean_note(note),
        "due_at": _as_datetime(due_at, "due_at"),
    }
    _check_owner(actor, owner)
    source_type, source_id = source or ("", None)
    try:
        with transaction.atomic():
            task = Task(
                owner=owner,
                customer_id=_check_customer(actor, owner, customer_id),
                created_by=actor,
                source_type=source_type[:SOURCE_TYPE_LIMIT],
                source_id=source_id,
                dedupe_key=dedupe_key,
                **values,
            )
            task.save()
            record_change(
                actor=actor, action=ChangeAction.CREATE, instance=task, changes=created(snapshot(task, TASK_FIELDS))
            )
            if actor is not None and owner.pk != actor.pk:
                notify(
                    recipients=[owner],
                    title=_("New task from %(name)s: %(title)s") % {"name": actor, "title": task.title},
                    link=f"/my/#task-{task.pk}",
                    subject=(TASK, task.pk),
                )
            emit("task.created", task_id=task.pk, owner_id=owner.pk, actor_id=getattr(actor, "pk", None))
            return task
    except IntegrityError:
        # Two rules raced on the same key: the other one's task stands.
        found = Task.objects.filter(dedupe_key=dedupe_key).first() if dedupe_key else None
        if found is None:
            raise
        return found


def _for_write(actor: User, task_id: int) -> Task:
    _require_user(actor)
    task = Task.objects.select_for_update(of=("self",)).filter(task_scope_q(actor), pk=task_id).first()
    if task is None:
        raise NotFound(_("Task not found."))
    return task


def _check_version(task: Task, expected_version: int | None) -> None:
    if expected_version is not None and int(expected_version) != task.version:
        raise PreconditionFailed(
            _("Someone else changed this task meanwhile. Reload and apply your change again."),
            extra={"version": task.version},
        )


def _may_change(actor: User, task: Task, action: str = "edit") -> None:
    """Your own tasks are yours to change; someone else's (in your scope) needs the role's right."""
    if task.owner_id != actor.pk and not actor.may(action):
        raise PermissionDenied(_("Only its owner, or someone who may edit records, can change this task."))


TASK_PATCH_FIELDS = {"title", "note", "due_at", "customer", "owner"}


def task_update(*, actor: User, task_id: int, data: dict[str, Any], expected_version: int | None = None) -> Task:
    """Change the given fields (``title``, ``note``, ``due_at``, ``customer`` id or None, ``owner`` user id)."""
    unknown = set(data) - TASK_PATCH_FIELDS
    if unknown:
        raise ValidationFailed(_("Unknown fields: %(names)s.") % {"names": ", ".join(sorted(unknown))})
    with transaction.atomic():
        task = _for_write(actor, task_id)
        _may_change(actor, task)
        _check_version(task, expected_version)
        before = snapshot(task, TASK_FIELDS)
        if "title" in data:
            task.title = _clean_title(data["title"])
        if "note" in data:
            task.note = _clean_note(data["note"])
        if "due_at" in data:
            task.due_at = _as_datetime(data["due_at"], "due_at")
        if "owner" in data and data["owner"] != task.owner_id:
            owner = User.objects.filter(pk=data["owner"]).first()
            if owner is None:
                raise ValidationFailed(
                    _("A task's owner must be an active user."), field_errors={"owner": [_("Choose an active user.")]}
                )
            _check_owner(actor, owner)
            task.owner = owner
        if "customer" in data:
            task.customer_id = _check_customer(actor, task.owner, data["customer"])
        changes = diff(before, snapshot(task, TASK_FIELDS))
        if not changes:
            return task
        task.version += 1
        task.save()
        record_change(actor=actor, action=ChangeAction.UPDATE, instance=task, changes=changes)
        emit("task.changed", task_id=task.pk, owner_id=task.owner_id, actor_id=actor.pk)
        return task


def task_complete(
    *, actor: User, task_id: int, expected_version: int | None = None, at: dt.datetime | None = None
) -> Task:
    """Mark a task done (done already: unchanged). A task about a customer lands on its timeline."""
    with transaction.atomic():
        task = _for_write(actor, task_id)
        _may_change(actor, task)
        _check_version(task, expected_version)
        if task.done_at is not None:
            return task
        task.done_at = at or timezone.now()
        task.version += 1
        task.save()
        done = {"done_at": [None, task.done_at.isoformat()]}
        record_change(actor=actor, action=ChangeAction.UPDATE, instance=task, changes=done)
        if task.customer_id is not None:
            timeline_record(
                NewEvent(
                    customer_id=task.customer_id,
                    kind=TimelineKind.TASK,
                    occurred_at=task.done_at,
                    title=_("Task done: %(title)s") % {"title": task.title},
                    actor=actor,
                    subject=(TASK, task.pk),
                    payload={"due_at": task.due_at.isoformat(), "note": task.note[:300]},
                )
            )
        emit("task.completed", task_id=task.pk, owner_id=task.owner_id, actor_id=actor.pk)
        return task


def task_delete(*, actor: User, task_id: int, expected_version: int | None = None) -> None:
    """Remove a task (its own owner, or someone with the delete right); its timeline entry goes too."""
    with transaction.atomic():
        task = _for_write(actor, task_id)
        _may_change(actor, task, "delete")
        _check_version(task, expected_version)
        record_change(
            actor=actor, action=ChangeAction.DELETE, instance=task, changes=deleted(snapshot(task, TASK_FIELDS))
        )
        timeline_remove_subject((TASK, task.pk))
        pk = task.pk
        task.delete()
        emit("task.deleted", task_id=pk, actor_id=actor.pk)


def tasks_transfer(
    *,
    actor: User | None,
    from_user: User,
    to_user: User,
    customer_ids: Sequence[int] | None = None,
) -> int:
    """Hand ``from_user``'s open tasks (only those about ``customer_ids``, if given) to ``to_user``.

    Done tasks stay with whoever did them; every moved task keeps its change-log row. ``actor`` None:
    the system (a handover or reclaim rule). Returns how many tasks moved."""
    if actor is not None:
        _require_user(actor)
        if not actor.may("edit"):
            raise PermissionDenied(_("Your role may not edit records."))
        both = User.objects.filter(user_scope_q(actor), pk__in=[from_user.pk, to_user.pk])
        visible = set(both.values_list("pk", flat=True))
        if from_user.pk not in visible:
            raise NotFound(_("User not found."))
        if to_user.pk not in visible:
            raise ValidationFailed(
                _("You may give tasks only to people in your data scope."),
                field_errors={"to_user": [_("Choose someone in your data scope.")]},
            )
    if not to_user.is_active:
        raise ValidationFailed(
            _("A task's owner must be an active user."), field_errors={"to_user": [_("Choose an active user.")]}
        )
    if from_user.pk == to_user.pk:
        return 0
    with transaction.atomic():
        qs = Task.objects.filter(owner_id=from_user.pk, done_at__isnull=True)
        if customer_ids is not None:
            qs = qs.filter(customer_id__in=list(customer_ids))
        ids = list(qs.select_for_update().values_list("pk", flat=True))
        return _move(actor, ids, from_user.pk, to_user.pk)


def _move(actor: User | None, ids: list[int], from_user_id: int, to_user_id: int) -> int:
    """Give these (locked, open) tasks of ``from_user_id`` to ``to_user_id``: one UPDATE per 500 and
    one change-log row each, written in bulk (as the customers' ownership service does)."""
    if not ids:
        return 0
    now = timezone.now()
    count = 0
    for start in range(0, len(ids), CHUNK):
        count += Task.objects.filter(pk__in=ids[start : start + CHUNK]).update(
            owner_id=to_user_id, version=F("version") + 1, updated_at=now
        )
    ctx = context.current()
    titles = dict(Task.objects.filter(pk__in=ids).values_list("pk", "title"))
    ChangeLog.objects.bulk_create(
        [
            ChangeLog(
                actor=actor if getattr(actor, "pk", None) else None,
                actor_label=str(getattr(actor, "username", "") or "system"),
                channel=ctx.channel,
                request_id=ctx.request_id,
                action=ChangeAction.UPDATE,
                object_type=Task._meta.label_lower,
                object_id=pk,
                object_repr=titles.get(pk, "")[:255],
                root_type=Task._meta.label_lower,
                root_id=pk,
                changes={"owner": [from_user_id, to_user_id]},
            )
            for pk in ids
        ],
        batch_size=1000,
    )
    emit(
        "tasks.transferred",
        task_ids=ids,
        from_user_id=from_user_id,
        to_user_id=to_user_id,
        actor_id=getattr(actor, "pk", None),
    )
    return count


def open_task_count(from_user_id: int) -> int:
    """The handover preview: how many open tasks the leaving user has."""
    return Task.objects.filter(owner_id=from_user_id, done_at__isnull=True).count()


def tasks_handover(*, actor: User | None, from_user_id: int, to_user_ids: Sequence[int]) -> int:
    """The handover hook (``pearl.core.handover``; the handover service has checked the actor and moved
    the customers first): a task about a customer follows that customer to its new owner when the new
    owner is one of the receivers; the other open tasks are spread over the receivers in turn."""
    receivers = list(User.objects.filter(pk__in=list(to_user_ids), is_active=True))
    if not receivers or from_user_id in {u.pk for u in receivers}:
        return 0
    order = {pk: i for i, pk in enumerate(to_user_ids)}
    receivers.sort(key=lambda u: order[u.pk])
    rows = list(
        Task.objects.select_for_update()
        .filter(owner_id=from_user_id, done_at__isnull=True)
        .order_by("pk")
        .values_list("pk", "customer_id")
    )
    about = {c for _, c in rows if c is not None}
    follows: dict[int, int] = {}  # customer id → its new owner among the receivers
    for receiver in receivers:
        mine = customer_visible(actor=receiver).filter(owner_id=receiver.pk, pk__in=about)
        follows.update(dict.fromkeys(mine.values_list("pk", flat=True), receiver.pk))
    groups: dict[int, list[int]] = {u.pk: [] for u in receivers}
    turn = 0
    for pk, customer_id in rows:
        if customer_id in follows:
            groups[follows[customer_id]].append(pk)
        else:
            groups[receivers[turn % len(receivers)].pk].append(pk)
            turn += 1
    return sum(_move(actor, ids, from_user_id, to) for to, ids in groups.items())


# --- the sweep ---------------------------------------------------------------------------------------

DUE_LOOKBACK = dt.timedelta(days=1)


def _task_link(task_id: int) -> str:
    return f"{reverse('reminders:my_day')}#task-{task_id}"


def task_due_notifications(*, at: dt.datetime, rules: ReminderRules | None = None) -> int:
    """Notify each owner once when an open task falls due (due in the day before ``at``, so a first run
    does not notify a backlog of old tasks); a task moved to a new time notifies again then."""
    rows = Task.objects.filter(done_at__isnull=True, due_at__lte=at, due_at__gt=at - DUE_LOOKBACK).values_list(
        "pk", "owner_id", "title", "due_at"
    )
    new = notifications_insert(
        (
            Notification(
                recipient_id=owner_id,
                title=_one_line(_("Task due: %(title)s") % {"title": title}, TITLE_LIMIT),
                link=_task_link(pk),
                subject_type=TASK,
                subject_id=pk,
                dedupe_key=f"task-due:{pk}:{due_at.astimezone(dt.UTC):%Y%m%dT%H%M%S}",
            )
            for pk, owner_id, title, due_at in rows.iterator(chunk_size=2000)
        ),
        channels=(rules or reminder_rules()).outside_channels,
    )
    return len(new)


COMMUNICATION = "activities.communication"


def _hhmm(when: dt.datetime) -> str:
    return f"{timezone.localtime(when):%H:%M}"


def call_back_notifications(*, at: dt.datetime, rules: ReminderRules | None = None) -> int:
    """Remind each customer's owner once of a scheduled call-back due within the rules' minutes
    (60 by default) after ``at`` (a call-back moved to another time reminds again then). Nothing
    when the rule is switched off."""
    rules = rules or reminder_rules()
    if not rules.call_back_on:
        return 0
    rows = follow_ups_due(start=at, end=at + dt.timedelta(minutes=rules.call_back_minutes))
    new = notifications_insert(
        (
            Notification(
                recipient_id=owner_id,
                title=_one_line(
                    _("Call back %(customer)s at %(time)s")
                    % {"customer": name, "time": f"{timezone.localtime(due):%H:%M}"},
                    TITLE_LIMIT,
                ),
                link=reverse("customers:customer_detail", args=[customer_id]),
                subject_type=COMMUNICATION,
                subject_id=pk,
                dedupe_key=f"call-back:{pk}:{due.astimezone(dt.UTC):%Y%m%dT%H%M%S}",
            )
            for pk, customer_id, owner_id, due, name in rows
            if owner_id is not None
        ),
        channels=rules.outside_channels,
    )
    return len(new)


def reminders_sweep(at: dt.datetime) -> dict[str, Any]:
    """The registered sweep (``pearl sweep --at``): due tasks and call-backs coming up, as of ``at``;
    the reminder rules are read once for the run."""
    rules = reminder_rules()
    with transaction.atomic():
        return {
            "task_due_notified": task_due_notifications(at=at, rules=rules),
            "call_back_notified": call_back_notifications(at=at, rules=rules),
        }


# --- the reminder rules ------------------------------------------------------------------------------

# (low, high) of each rule's number. A call-back reminder needs at least the 10 minutes between two
# runs of the frequent sweeps (``tasks.FREQUENT_SWEEPS``), or a call-back could fall between them.
LEAD_HOURS = (1, 720)
CALL_BACK_MINUTES = (10, 1440)
QUOTE_DAYS = (1, 90)
RULE_SWITCHES = (
    "lead_follow_up_on", "lead_follow_up_manager", "call_back_on", "quote_follow_up_on",
    "send_email", "send_wecom", "send_dingtalk",
)  # fmt: skip
RULE_FIELDS = [*RULE_SWITCHES, "lead_follow_up_hours", "call_back_minutes", "quote_follow_up_days"]


def _rule_number_errors(data: dict[str, Any]) -> dict[str, list[str]]:
    limits = {
        "lead_follow_up_hours": (
            LEAD_HOURS,
            _("Enter whole hours from %(low)d to %(high)d (30 days) for the lead reminder."),
        ),
        "call_back_minutes": (
            CALL_BACK_MINUTES,
            _(
                "Enter minutes from %(low)d to %(high)d (one day) for the call-back reminder: "
                "reminders are checked every 10 minutes."
            ),
        ),
        "quote_follow_up_days": (
            QUOTE_DAYS,
            _("Enter whole days from %(low)d to %(high)d for the quote follow-up."),
        ),
    }
    errors: dict[str, list[str]] = {}
    for name, ((low, high), message) in limits.items():
        if name not in data:
            continue
        value = data[name]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            errors[name] = [message % {"low": low, "high": high}]
    return errors


def reminder_rules_update(*, actor: User, data: dict[str, Any]) -> ReminderRules:
    """Change the reminder rules (the manage-settings right): any of ``RULE_FIELDS``. A number out
    of its range refuses the whole change with a message per field; the sweeps read the new rules
    on their next run. One change-log row with what changed."""
    require(actor, "manage_settings")
    unknown = set(data) - set(RULE_FIELDS)
    if unknown:
        raise ValidationFailed(_("Unknown fields: %(names)s.") % {"names": ", ".join(sorted(unknown))})
    errors = _rule_number_errors(data)
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], field_errors=errors)
    with transaction.atomic():
        rules = ReminderRules.objects.select_for_update().filter(pk=1).first() or ReminderRules(pk=1)
        before = snapshot(rules, RULE_FIELDS)
        for name in RULE_SWITCHES:
            if name in data:
                setattr(rules, name, bool(data[name]))
        for name in ("lead_follow_up_hours", "call_back_minutes", "quote_follow_up_days"):
            if name in data:
                setattr(rules, name, data[name])
        changes = diff(before, snapshot(rules, RULE_FIELDS))
        if not changes and rules.updated_at is not None:
            return rules
        rules.updated_by = actor
        rules.save()
        record_change(actor=actor, action=ChangeAction.UPDATE, instance=rules, changes=changes)
        return rules
