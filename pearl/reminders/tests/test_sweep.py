"""The due-task sweep (time travel with ``pearl.core.sweeps``) and the outbox delivery."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from pearl.accounts.models import User
from pearl.activities.services import communication_create
from pearl.core import sweeps
from pearl.core.testing.personas import Org
from pearl.customers.models import Customer
from pearl.reminders import channels, services
from pearl.reminders.models import Notification, OutboxMessage
from pearl.reminders.tests.conftest import at

NAME = "reminders.due"


def run(when: dt.datetime) -> dict[str, Any]:
    [result] = sweeps.run_all(when, names=[NAME])
    assert not result.error, result.error
    return result.summary


def test_the_sweep_is_registered() -> None:
    assert NAME in [s.name for s in sweeps.registered()]


def test_a_due_task_notifies_its_owner_once_at_its_time(org: Org) -> None:
    task = services.task_create(actor=org.owner, owner=org.owner, title="给王总回电话", due_at=at(7, 15))
    assert run(at(7, 14, 59)) == {"task_due_notified": 0, "call_back_notified": 0}  # not due yet
    assert run(at(7, 15)) == {"task_due_notified": 1, "call_back_notified": 0}
    assert run(at(7, 15)) == {"task_due_notified": 0, "call_back_notified": 0}  # the same moment again: nothing new
    assert run(at(7, 16)) == {"task_due_notified": 0, "call_back_notified": 0}  # later runs: still once
    note = Notification.objects.get()
    assert (note.recipient_id, note.subject_id) == (org.owner.pk, task.pk) and "给王总回电话" in note.title
    assert note.link.endswith(f"#task-{task.pk}")
    # moved to tomorrow: due again then, once
    services.task_update(actor=org.owner, task_id=task.pk, data={"due_at": at(8, 10)})
    assert run(at(7, 17)) == {"task_due_notified": 0, "call_back_notified": 0}
    assert run(at(8, 10, 5)) == {"task_due_notified": 1, "call_back_notified": 0}
    assert Notification.objects.count() == 2


def test_done_and_long_overdue_tasks_are_not_notified(org: Org) -> None:
    done = services.task_create(actor=org.owner, owner=org.owner, title="a", due_at=at(7, 9))
    services.task_complete(actor=org.owner, task_id=done.pk)
    services.task_create(actor=org.owner, owner=org.owner, title="b", due_at=at(1, 9))  # six days before
    assert run(at(7, 10)) == {"task_due_notified": 0, "call_back_notified": 0}
    assert not Notification.objects.exists()


def test_the_sweep_command_runs_it(org: Org, capsys: pytest.CaptureFixture[str]) -> None:
    services.task_create(actor=org.owner, owner=org.owner, title="a", due_at=at(7, 9))
    call_command("sweep", "--at", at(7, 9, 30).isoformat())
    capsys.readouterr()
    assert Notification.objects.filter(recipient=org.owner).count() == 1


def test_a_call_back_reminds_the_customers_owner_an_hour_before(org: Org, customer: Customer) -> None:
    now = timezone.now().replace(second=0, microsecond=0)
    hour = dt.timedelta(hours=1)
    due = now + hour * 24
    c = communication_create(
        actor=org.manager, customer_id=customer.pk,
        data={"kind": "call", "outcome": "reached", "occurred_at": now - hour * 24, "next_follow_up_at": due},
    )  # fmt: skip
    tasks = {"task_due_notified": 0}
    assert run(due - hour - dt.timedelta(minutes=1)) == {**tasks, "call_back_notified": 0}  # more than an hour ahead
    assert run(due - hour) == {**tasks, "call_back_notified": 1}
    assert run(due - hour) == {**tasks, "call_back_notified": 0}  # the same moment again
    assert run(due - dt.timedelta(minutes=30)) == {**tasks, "call_back_notified": 0}  # still once
    assert run(due) == {**tasks, "call_back_notified": 0}  # due now: past the reminder
    note = Notification.objects.get()
    # the customer's owner is reminded, not the manager who logged the call
    assert (note.recipient_id, note.subject_type, note.subject_id) == (org.owner.pk, "activities.communication", c.pk)
    assert customer.name in note.title and f"{timezone.localtime(due):%H:%M}" in note.title
    # a later communication settles it and sets a new call-back: only that one reminds
    communication_create(
        actor=org.owner, customer_id=customer.pk,
        data={"kind": "call", "outcome": "reached", "occurred_at": now - hour, "next_follow_up_at": due + hour * 48},
    )  # fmt: skip
    assert run(due - hour + dt.timedelta(seconds=1)) == {**tasks, "call_back_notified": 0}
    assert run(due + hour * 47) == {**tasks, "call_back_notified": 1}


# --- the outbox ----------------------------------------------------------------------------------------


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEARL_EMAIL_HOST", "smtp.example.cn")
    monkeypatch.setenv("PEARL_EMAIL_FROM", "pearl@example.cn")


@pytest.fixture
def immediate_tasks() -> Iterator[None]:
    from huey.contrib.djhuey import HUEY

    HUEY.immediate = True
    try:
        yield
    finally:
        HUEY.immediate = False


def _with_email(user: User, address: str) -> User:
    User.objects.filter(pk=user.pk).update(email=address)
    user.refresh_from_db()
    return user


def test_without_smtp_email_stays_in_the_outbox(org: Org, django_capture_on_commit_callbacks: Any) -> None:
    owner = _with_email(org.owner, "owner@example.cn")
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(recipients=[owner], title="回访", email=True)
    message = OutboxMessage.objects.get()
    assert message.sent_at is None and not mail.outbox
    assert channels.sender_for("email") is None and channels.sender_for("wecom") is None


def test_with_smtp_email_is_sent_after_commit_by_the_worker(
    org: Org, smtp: None, immediate_tasks: None, django_capture_on_commit_callbacks: Any
) -> None:
    owner = _with_email(org.owner, "owner@example.cn")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.notify(recipients=[owner], title="回访提醒", body="15:00 张伟", email=True)
    assert not mail.outbox  # nothing leaves before the commit
    for callback in callbacks:
        callback()
    assert [(m.subject, m.to, m.from_email) for m in mail.outbox] == [
        ("回访提醒", ["owner@example.cn"], "pearl@example.cn")
    ]
    assert OutboxMessage.objects.get().sent_at is not None
    assert channels.outbox_deliver([OutboxMessage.objects.get().pk]) == 0  # sent once only


def test_a_failed_send_keeps_the_message_with_its_error(org: Org, smtp: None) -> None:
    def broken(message: OutboxMessage) -> None:
        raise ConnectionError("smtp down")

    channels.register("email", broken)
    try:
        [pk] = services.outbox_queue(channel="email", messages=[("a@example.cn", "s", "b")])
        assert channels.outbox_deliver([pk]) == 0
    finally:
        channels.unregister("email")
    message = OutboxMessage.objects.get(pk=pk)
    assert message.sent_at is None and "smtp down" in message.error
    assert channels.outbox_deliver([pk]) == 1  # the default email sender now
    assert len(mail.outbox) == 1


def test_the_worker_runs_the_reminders_every_ten_minutes(org: Org) -> None:
    from pearl.reminders.tasks import FREQUENT_SWEEPS, frequent_sweeps

    task = services.task_create(actor=org.owner, owner=org.owner, title="回电话", due_at=timezone.now())
    result = frequent_sweeps.call_local()
    assert sorted(result) == sorted(FREQUENT_SWEEPS) == ["leads.reminders", "reminders.due"]
    assert result["reminders.due"]["task_due_notified"] == 1
    assert Notification.objects.get().subject_id == task.pk
