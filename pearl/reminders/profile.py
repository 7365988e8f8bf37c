"""The tasks section of the customer's 360° page (registered in ``RemindersConfig.ready`` through
``core.profile_panels``): the open tasks about the customer, soonest due first, overdue ones marked."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from pearl.customers.models import Customer
from pearl.reminders.models import Task
from pearl.reminders.selectors import task_scope_q

SHOWN = 10  # open tasks listed on the page


@dataclass(frozen=True)
class TaskRow:
    task: Task
    overdue: bool


@dataclass(frozen=True)
class CustomerTasks:
    rows: list[TaskRow]
    more: bool  # more open tasks than shown
    now: dt.datetime

    @property
    def overdue_count(self) -> int:
        return sum(1 for row in self.rows if row.overdue)


def customer_tasks(actor: Any, customer: Customer, at: dt.datetime | None = None) -> CustomerTasks:
    """The open tasks about ``customer`` (already read in the actor's scope) that the actor may see
    (tasks are scoped by their owner, as on the reminders pages).

    One query through the ``(customer, due_at)`` index; the customer is the one the page holds, so
    the rows carry it without a join.
    """
    now = at or timezone.now()
    tasks = list(
        Task.objects.filter(task_scope_q(actor))
        .filter(customer_id=customer.pk, done_at__isnull=True)
        .select_related("owner")
        .order_by("due_at", "id")[: SHOWN + 1]
    )
    for task in tasks:
        task.customer = customer
    return CustomerTasks(
        rows=[TaskRow(task=task, overdue=task.due_at < now) for task in tasks[:SHOWN]],
        more=len(tasks) > SHOWN,
        now=now,
    )
