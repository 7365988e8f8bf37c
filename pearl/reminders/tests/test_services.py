"""The service contract other apps call: notify, tasks (create … transfer), scopes, the timeline."""

from __future__ import annotations

import pytest

from pearl.accounts.models import User
from pearl.activities.models import TimelineEvent
from pearl.core.errors import NotFound, PermissionDenied, PreconditionFailed, ValidationFailed
from pearl.core.models import ChangeLog
from pearl.core.testing.personas import Org
from pearl.customers.models import Customer
from pearl.customers.tests.factories import make_customer, mobile
from pearl.reminders import selectors, services
from pearl.reminders.models import Notification, OutboxMessage, Task
from pearl.reminders.tests.conftest import later

# --- notify ------------------------------------------------------------------------------------------


def test_notify_one_per_recipient_and_idempotent_on_the_key(org: Org) -> None:
    people = [org.owner, org.teammate, org.owner]  # a repeated recipient gets one
    made = services.notify(recipients=people, title="线索分配给你", dedupe_key="lead:7", subject=("leads.lead", 7))
    assert made == 2
    assert services.notify(recipients=people, title="线索分配给你", dedupe_key="lead:7") == 0
    assert services.notify(recipients=[org.manager, org.owner], title="线索分配给你", dedupe_key="lead:7") == 1
    rows = Notification.objects.filter(dedupe_key="lead:7")
    assert sorted(rows.values_list("recipient__username", flat=True)) == ["manager", "owner", "teammate"]
    assert rows.get(recipient=org.owner).subject_type == "leads.lead"


def test_notify_without_a_key_always_adds(org: Org) -> None:
    assert services.notify(recipients=[org.owner], title="a") == 1
    assert services.notify(recipients=[org.owner], title="a") == 1
    assert Notification.objects.filter(recipient=org.owner).count() == 2


def test_notify_refuses_an_empty_title(org: Org) -> None:
    with pytest.raises(ValidationFailed):
        services.notify(recipients=[org.owner], title="  ")
    assert not Notification.objects.exists()


def test_notify_email_queues_to_those_with_an_address(org: Org) -> None:
    User.objects.filter(pk=org.owner.pk).update(email="owner@example.cn")
    org.owner.refresh_from_db()
    services.notify(
        recipients=[org.owner, org.teammate], title="回访提醒", body="张伟 15:00", email=True, dedupe_key="k"
    )
    messages = list(OutboxMessage.objects.all())
    assert [(m.channel, m.recipient, m.subject) for m in messages] == [("email", "owner@example.cn", "回访提醒")]
    assert messages[0].sent_at is None  # no SMTP configured: it stays in the outbox
    services.notify(recipients=[org.owner], title="回访提醒", email=True, dedupe_key="k")
    assert OutboxMessage.objects.count() == 1  # nobody newly notified, nothing new queued


# --- tasks -------------------------------------------------------------------------------------------


def test_task_create_by_a_rule_is_idempotent_on_its_key(org: Org, customer: Customer) -> None:
    first = services.task_create(
        actor=None, owner=org.owner, title="跟进新线索", due_at=later(), customer_id=customer.pk,
        source=("leads.lead", 3), dedupe_key="lead-followup:3",
    )  # fmt: skip
    again = services.task_create(actor=None, owner=org.owner, title="x", due_at=later(), dedupe_key="lead-followup:3")
    assert again.pk == first.pk and Task.objects.count() == 1
    assert (first.source_type, first.source_id, first.created_by_id) == ("leads.lead", 3, None)
    assert ChangeLog.objects.filter(object_type="reminders.task", object_id=first.pk, action="create").exists()


def test_a_rule_may_not_attach_a_customer_its_owner_cannot_see(org: Org, customer: Customer) -> None:
    with pytest.raises(NotFound):
        services.task_create(actor=None, owner=org.outsider, title="x", due_at=later(), customer_id=customer.pk)
    assert not Task.objects.exists()


def test_task_for_someone_else_needs_them_in_scope_and_notifies_them(org: Org) -> None:
    with pytest.raises(ValidationFailed):
        services.task_create(actor=org.owner, owner=org.teammate, title="x", due_at=later())
    task = services.task_create(actor=org.manager, owner=org.owner, title="拜访王总", due_at=later())
    assert task.created_by_id == org.manager.pk
    note = Notification.objects.get(recipient=org.owner)
    assert "拜访王总" in note.title and note.subject_id == task.pk


def test_task_input_is_checked(org: Org) -> None:
    with pytest.raises(ValidationFailed) as bad_time:
        services.task_create(actor=org.owner, owner=org.owner, title="x", due_at="next week")  # type: ignore[arg-type]
    assert "due_at" in bad_time.value.field_errors
    with pytest.raises(ValidationFailed) as no_title:
        services.task_create(actor=org.owner, owner=org.owner, title=" ", due_at=later())
    assert "title" in no_title.value.field_errors


def test_task_scope_owner_teammate_outsider_manager(org: Org) -> None:
    task = services.task_create(actor=org.owner, owner=org.owner, title="x", due_at=later())
    seen = {
        u.username: selectors.task_list(actor=u, filters={"owner": "all"}).filter(pk=task.pk).exists()
        for u in (org.owner, org.teammate, org.outsider, org.manager, org.service, org.admin)
    }
    # sales see their own; service sees team 一组; the manager the region's subtree; admin everything.
    assert seen == {
        "owner": True,
        "teammate": False,
        "outsider": False,
        "manager": True,
        "service": True,
        "admin": True,
    }
    for user in (org.teammate, org.outsider):
        with pytest.raises(NotFound):
            selectors.task_get(actor=user, task_id=task.pk)
        with pytest.raises(NotFound):
            services.task_complete(actor=user, task_id=task.pk)
        with pytest.raises(NotFound):
            services.task_delete(actor=user, task_id=task.pk)
    # "mine" by default: the manager's own list does not show the owner's task
    assert not selectors.task_list(actor=org.manager).exists()
    assert list(selectors.task_list(actor=org.manager, filters={"owner": str(org.owner.pk)})) == [task]


def test_someone_elses_task_needs_the_right(org: Org) -> None:
    task = services.task_create(actor=org.owner, owner=org.owner, title="x", due_at=later())
    with pytest.raises(PermissionDenied):
        services.task_delete(actor=org.service, task_id=task.pk)  # sees it (team), may not delete
    services.task_delete(actor=org.manager, task_id=task.pk)
    assert not Task.objects.exists()


def test_update_checks_the_version_and_logs_the_change(org: Org) -> None:
    task = services.task_create(actor=org.owner, owner=org.owner, title="x", due_at=later())
    with pytest.raises(PreconditionFailed):
        services.task_update(actor=org.owner, task_id=task.pk, data={"title": "y"}, expected_version=5)
    task = services.task_update(actor=org.owner, task_id=task.pk, data={"title": "y"}, expected_version=1)
    assert (task.title, task.version) == ("y", 2)
    log = ChangeLog.objects.get(object_type="reminders.task", object_id=task.pk, action="update")
    assert log.changes == {"title": ["x", "y"]}


def test_completing_a_customer_task_lands_on_its_timeline(org: Org, customer: Customer) -> None:
    task = services.task_create(
        actor=org.owner, owner=org.owner, title="送样品", due_at=later(), customer_id=customer.pk
    )
    done = services.task_complete(actor=org.owner, task_id=task.pk)
    assert done.done_at is not None and done.version == 2
    event = TimelineEvent.objects.get(customer=customer, kind="task")
    assert (event.subject_type, event.subject_id, event.actor_id) == ("reminders.task", task.pk, org.owner.pk)
    assert "送样品" in event.title
    services.task_complete(actor=org.owner, task_id=task.pk)  # done already: nothing new
    assert TimelineEvent.objects.filter(kind="task").count() == 1
    services.task_delete(actor=org.owner, task_id=task.pk)
    assert not TimelineEvent.objects.filter(kind="task").exists()


def test_transfer_moves_open_tasks_and_keeps_history(org: Org, customer: Customer) -> None:
    other = make_customer(org.owner, contacts=[{"name": "李娜", "mobile": mobile(602)}])
    a = services.task_create(actor=org.owner, owner=org.owner, title="a", due_at=later(), customer_id=customer.pk)
    b = services.task_create(actor=org.owner, owner=org.owner, title="b", due_at=later(), customer_id=other.pk)
    c = services.task_create(actor=org.owner, owner=org.owner, title="c", due_at=later(), customer_id=customer.pk)
    services.task_complete(actor=org.owner, task_id=c.pk)
    with pytest.raises(NotFound):  # own scope: the teammate is not theirs to hand over
        services.tasks_transfer(actor=org.teammate, from_user=org.owner, to_user=org.teammate)
    moved = services.tasks_transfer(
        actor=org.manager, from_user=org.owner, to_user=org.teammate, customer_ids=[customer.pk]
    )
    assert moved == 1
    owners = dict(Task.objects.values_list("title", "owner__username"))
    assert owners == {"a": "teammate", "b": "owner", "c": "owner"}  # done c stays with who did it
    assert Task.objects.get(pk=a.pk).version == 2
    log = ChangeLog.objects.get(object_type="reminders.task", object_id=a.pk, action="update")
    assert log.changes == {"owner": [org.owner.pk, org.teammate.pk]} and log.actor_id == org.manager.pk
    assert services.tasks_transfer(actor=None, from_user=org.owner, to_user=org.teammate) == 1  # b
    assert not Task.objects.filter(owner=org.owner, done_at__isnull=True).exists()
    assert b.pk in Task.objects.filter(owner=org.teammate).values_list("pk", flat=True)


def test_notifications_read(org: Org) -> None:
    services.notify(recipients=[org.owner, org.teammate], title="a")
    services.notify(recipients=[org.owner], title="b")
    mine = list(selectors.notification_list(actor=org.owner))
    assert [n.title for n in mine] == ["b", "a"]
    with pytest.raises(NotFound):
        services.notification_read(actor=org.outsider, notification_id=mine[0].pk)
    services.notification_read(actor=org.owner, notification_id=mine[0].pk)
    assert selectors.unread_count(actor=org.owner) == 1
    assert [n.title for n in selectors.notification_list(actor=org.owner, unread_first=True)] == ["a", "b"]
    assert services.notifications_read_all(actor=org.owner) == 1
    assert selectors.unread_count(actor=org.owner) == 0 and selectors.unread_count(actor=org.teammate) == 1


def test_handover_hook_tasks_follow_their_customers(org: Org, customer: Customer) -> None:
    from pearl.core import handover
    from pearl.customers.services import customer_owners_set

    other = make_customer(org.owner, contacts=[{"name": "李娜", "mobile": mobile(603)}])
    a = services.task_create(actor=org.owner, owner=org.owner, title="a", due_at=later(), customer_id=customer.pk)
    b = services.task_create(actor=org.owner, owner=org.owner, title="b", due_at=later(), customer_id=other.pk)
    c = services.task_create(actor=org.owner, owner=org.owner, title="c", due_at=later())
    done = services.task_create(actor=org.owner, owner=org.owner, title="d", due_at=later())
    services.task_complete(actor=org.owner, task_id=done.pk)
    hook = next(h for h in handover.registered() if h.name == "tasks")
    assert hook.count_fn(org.owner.pk) == 3
    customer_owners_set(actor=org.admin, assignments={customer.pk: org.teammate.pk})  # the handover moved it
    moved = hook.transfer_fn(actor=org.admin, from_user_id=org.owner.pk, to_user_ids=[org.service.pk, org.teammate.pk])
    assert moved == 3 and hook.count_fn(org.owner.pk) == 0
    owners = dict(Task.objects.values_list("pk", "owner_id"))
    assert owners[a.pk] == org.teammate.pk  # followed its customer
    assert (owners[b.pk], owners[c.pk]) == (org.service.pk, org.teammate.pk)  # the rest in turn
    assert owners[done.pk] == org.owner.pk
    assert ChangeLog.objects.filter(object_type="reminders.task", object_id=a.pk, actor=org.admin).exists()


def test_a_customer_merge_moves_its_tasks() -> None:
    from pearl.core import merging

    assert ("reminders.task", "customer") in merging.handled_relations()
