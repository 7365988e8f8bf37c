"""我的一天 and the notification centre: rendering, htmx, scope, query counts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from pearl.activities.services import communication_create
from pearl.core.testing.personas import Org
from pearl.customers.models import Customer
from pearl.customers.tests.factories import make_customer, mobile
from pearl.reminders import services
from pearl.reminders.models import Notification, Task

HTMX = {"HTTP_HX_REQUEST": "true"}


def _tasks(org: Org, customer: Customer) -> None:
    now = timezone.now()
    services.task_create(actor=org.owner, owner=org.owner, title="昨天的事", due_at=now - dt.timedelta(days=1))
    services.task_create(actor=org.owner, owner=org.owner, title="马上要做", due_at=now + dt.timedelta(minutes=1),
                         customer_id=customer.pk)  # fmt: skip
    services.task_create(actor=org.teammate, owner=org.teammate, title="别人的事", due_at=now)


def test_my_day_shows_overdue_today_and_call_backs(en: Any, org: Org, customer: Customer) -> None:
    _tasks(org, customer)
    communication_create(
        actor=org.owner, customer_id=customer.pk,
        data={"kind": "call", "summary": "约回电", "next_follow_up_at": timezone.now() + dt.timedelta(hours=2)},
    )  # fmt: skip
    en.force_login(org.owner)
    page = en.get("/my/")
    html = page.content.decode()
    assert page.status_code == 200
    overdue = html.split('id="overdue"')[1].split("</section>")[0]
    assert "昨天的事" in overdue and 'class="overdue"' in overdue
    assert "马上要做" in html and "别人的事" not in html
    assert "Call-backs" in html and customer.name in html.split('id="call-backs"')[1]


def test_my_day_query_count_does_not_grow_with_tasks(en: Any, org: Org, customer: Customer) -> None:
    en.force_login(org.owner)
    _tasks(org, customer)
    with CaptureQueriesContext(connection) as few:
        assert en.get("/my/").status_code == 200
    for n in range(10):
        other = make_customer(org.owner, contacts=[{"name": f"客户{n}", "mobile": mobile(700 + n)}])
        services.task_create(
            actor=org.owner, owner=org.owner, title=f"t{n}", due_at=timezone.now(), customer_id=other.pk
        )
    with CaptureQueriesContext(connection) as many:
        assert en.get("/my/").status_code == 200
    assert len(many) == len(few) and len(few) <= 12, [q["sql"] for q in few.captured_queries]


def test_done_button_and_add_form_with_htmx(en: Any, org: Org, customer: Customer) -> None:
    _tasks(org, customer)
    en.force_login(org.owner)
    task = Task.objects.get(title="马上要做")
    done = en.post(f"/my/tasks/{task.pk}/done/", **HTMX)
    assert done.status_code == 200 and f'id="task-{task.pk}" class="done"' in done.content.decode()
    task.refresh_from_db()
    assert task.done_at is not None
    added = en.post("/my/tasks/", {"title": "打电话给李总", "due_at": "2099-01-02T10:00"}, **HTMX)
    assert added.status_code == 200 and "打电话给李总" not in added.content.decode()  # 2099 is beyond the week
    assert Task.objects.filter(title="打电话给李总", owner=org.owner).exists()
    bad = en.post("/my/tasks/", {"title": "", "due_at": "2099-01-02T10:00"}, **HTMX)
    assert bad.status_code == 422 and "This field is required." in bad.content.decode()


def test_someone_elses_task_cannot_be_done_from_the_page(en: Any, org: Org, customer: Customer) -> None:
    _tasks(org, customer)
    en.force_login(org.outsider)
    task = Task.objects.get(title="马上要做")
    assert en.post(f"/my/tasks/{task.pk}/done/").status_code == 404
    task.refresh_from_db()
    assert task.done_at is None


def test_notification_centre(en: Any, org: Org) -> None:
    services.notify(recipients=[org.owner], title="旧的", link="/my/")
    services.notify(recipients=[org.owner], title="新的")
    services.notify(recipients=[org.outsider], title="别人的")
    en.force_login(org.owner)
    html = en.get("/my/notifications/").content.decode()
    assert html.index("新的") < html.index("旧的") and "别人的" not in html and "2 unread" in html
    old = Notification.objects.get(title="旧的")
    follow = en.post(f"/my/notifications/{old.pk}/read/", {"go": "1"})
    assert follow.status_code == 302 and follow["Location"] == "/my/"
    html = en.get("/my/notifications/").content.decode()
    assert html.index("新的") < html.index("旧的") and "1 unread" in html
    new = Notification.objects.get(title="新的")
    row = en.post(f"/my/notifications/{new.pk}/read/", **HTMX)
    assert row.status_code == 200 and 'class="read"' in row.content.decode()
    other = Notification.objects.get(title="别人的")
    assert en.post(f"/my/notifications/{other.pk}/read/").status_code == 404
    assert en.post("/my/notifications/read-all/").status_code == 302
    assert not Notification.objects.filter(recipient=org.owner, read_at__isnull=True).exists()


def test_the_nav_badge_counts_my_unread_notifications(en: Any, org: Org) -> None:
    services.notify(recipients=[org.owner], title="a")
    services.notify(recipients=[org.owner], title="b")
    services.notify(recipients=[org.outsider], title="c")
    en.force_login(org.owner)
    page = en.get("/my/").content.decode()
    assert 'hx-get="/my/notifications/unread/"' in page
    assert en.get("/my/notifications/unread/").content.decode() == '<span class="badge">2</span>'
    en.post("/my/notifications/read-all/")
    assert en.get("/my/notifications/unread/").content == b""
