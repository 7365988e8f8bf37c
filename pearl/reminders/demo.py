"""The demo company's tasks: sales1 (陈志强) has a few due today and a couple overdue, on their customers."""

from __future__ import annotations

import datetime as dt
import random

from django.db import transaction
from django.utils import timezone

from pearl.accounts.models import User
from pearl.customers.models import Customer
from pearl.reminders.models import Task
from pearl.reminders.services import task_create

# (title, days from today, hour): negative days are overdue.
TASKS = [
    ("回访：确认本周活鲜订单", 0, 10),
    ("发送中秋礼盒报价", 0, 15),
    ("催收上月月结货款", 0, 17),
    ("约老板面谈年度供货", -1, 11),
    ("补寄冻品样品", -3, 14),
    ("跟进展会线索", 1, 10),
]


def build_tasks(*, seed: int, now: dt.datetime) -> int:
    """The tasks (none when there are tasks already); returns how many."""
    if Task.objects.exists():
        return 0
    owner = User.objects.filter(username="sales1").first()
    if owner is None:
        return 0
    rng = random.Random(f"{seed}/tasks")
    customers = list(Customer.objects.filter(owner=owner).order_by("-id").values_list("id", flat=True)[:200])
    today = timezone.localtime(now).replace(minute=0, second=0, microsecond=0)
    with transaction.atomic():
        for title, days, hour in TASKS:
            due = today.replace(hour=hour) + dt.timedelta(days=days)
            task_create(
                actor=owner,
                owner=owner,
                title=title,
                due_at=due,
                customer_id=rng.choice(customers) if customers else None,
            )
    return len(TASKS)
