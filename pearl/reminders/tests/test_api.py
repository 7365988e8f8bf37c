"""/api/v1 tasks and notifications: status codes, ETags, outsiders, messages in both languages."""

from __future__ import annotations

import json
import re
from typing import Any

from django.test import Client

from pearl.core.testing.personas import Org
from pearl.customers.models import Customer
from pearl.reminders import services
from pearl.reminders.models import Task
from pearl.reminders.tests.conftest import later

API = "/api/v1"
CJK = re.compile(r"[\u4e00-\u9fff]")


def api(user: Any, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def post(client: Client, path: str, body: dict[str, Any] | None = None, **headers: Any) -> Any:
    return client.post(API + path, json.dumps(body or {}), content_type="application/json", **headers)


def patch(client: Client, path: str, body: dict[str, Any], **headers: Any) -> Any:
    return client.patch(API + path, json.dumps(body), content_type="application/json", **headers)


def test_task_crud_and_complete(org: Org, customer: Customer) -> None:
    owner = api(org.owner)
    created = post(owner, "/tasks", {"title": "寄合同", "due_at": "2099-01-02T10:00", "customer": customer.pk})
    assert created.status_code == 201, created.content
    body = created.json()
    tid = body["id"]
    assert created["ETag"] == '"1"' and created["Location"] == f"{API}/tasks/{tid}"
    assert body["owner"] == org.owner.pk and body["customer"] == customer.pk and body["overdue"] is False
    assert body["due_at"] == "2099-01-02T02:00:00Z"  # 10:00 in Shanghai
    assert owner.get(f"{API}/tasks/{tid}")["ETag"] == '"1"'
    stale = patch(owner, f"/tasks/{tid}", {"title": "寄合同和发票"}, HTTP_IF_MATCH='"9"')
    assert stale.status_code == 412 and stale["Content-Type"].startswith("application/problem+json")
    changed = patch(owner, f"/tasks/{tid}", {"title": "寄合同和发票"}, HTTP_IF_MATCH='"1"')
    assert changed.status_code == 200 and changed.json()["version"] == 2 and changed["ETag"] == '"2"'
    done = post(owner, f"/tasks/{tid}/complete")
    assert done.status_code == 200 and done.json()["done_at"] is not None
    assert owner.get(f"{API}/tasks?done=false").json()["count"] == 0
    assert owner.get(f"{API}/tasks?done=true&customer={customer.pk}").json()["count"] == 1
    assert owner.delete(f"{API}/tasks/{tid}", HTTP_IF_MATCH='"1"').status_code == 412
    assert owner.delete(f"{API}/tasks/{tid}").status_code == 204
    assert not Task.objects.exists()


def test_list_filters(org: Org) -> None:
    soon = services.task_create(actor=org.owner, owner=org.owner, title="soon", due_at=later(1))
    services.task_create(actor=org.owner, owner=org.owner, title="far", due_at=later(24 * 40))
    services.task_create(actor=org.teammate, owner=org.teammate, title="theirs", due_at=later(1))
    owner = api(org.owner)
    mine = owner.get(f"{API}/tasks").json()
    assert [t["title"] for t in mine["items"]] == ["soon", "far"] and mine["count"] == 2
    before = owner.get(f"{API}/tasks", {"due_before": later(2).isoformat()}).json()
    assert [t["id"] for t in before["items"]] == [soon.pk]
    assert owner.get(f"{API}/tasks?owner=all").json()["count"] == 2  # own scope: not the teammate's
    assert api(org.manager).get(f"{API}/tasks?owner=all").json()["count"] == 3
    bad = owner.get(f"{API}/tasks?due_before=someday")
    assert bad.status_code == 422 and "due_before" in json.dumps(bad.json())
    assert owner.get(f"{API}/tasks?colour=red").status_code == 422


def test_outsiders_get_404_for_someone_elses_task(org: Org) -> None:
    task = services.task_create(actor=org.owner, owner=org.owner, title="x", due_at=later())
    for user in (org.outsider, org.teammate):
        client = api(user)
        assert client.get(f"{API}/tasks/{task.pk}").status_code == 404
        assert patch(client, f"/tasks/{task.pk}", {"title": "hijack"}).status_code == 404
        assert post(client, f"/tasks/{task.pk}/complete").status_code == 404
        assert client.delete(f"{API}/tasks/{task.pk}").status_code == 404
        assert client.get(f"{API}/tasks?owner=all").json()["count"] == 0
        assert client.get(f"{API}/tasks?owner={org.owner.pk}").json()["count"] == 0
    assert api(org.owner).get(f"{API}/tasks/99999999999999999999").status_code in (404, 422)
    task.refresh_from_db()
    assert task.title == "x" and task.done_at is None


def test_bad_input_is_422_in_english_and_chinese(org: Org, customer: Customer) -> None:
    en = post(api(org.owner), "/tasks", {"title": " ", "due_at": "2099-01-02T10:00"})
    assert en.status_code == 422
    assert en.json()["detail"] == "A task needs a title." and "title" in en.json()["errors"]
    no_time = post(api(org.owner), "/tasks", {"title": "x", "due_at": "soon"})
    assert no_time.status_code == 422 and "due_at" in no_time.json()["errors"]
    zh = post(api(org.owner, "zh-hans"), "/tasks", {"due_at": "2099-01-02T10:00"})  # no title at all
    assert zh.status_code == 422 and CJK.search(json.dumps(zh.json(), ensure_ascii=False)), zh.json()
    unknown = post(api(org.owner), "/tasks", {"title": "x", "due_at": "2099-01-02T10:00", "colour": "red"})
    assert unknown.status_code == 422
    elsewhere = post(api(org.outsider), "/tasks", {"title": "x", "due_at": "2099-01-02T10:00", "customer": customer.pk})
    assert elsewhere.status_code == 404
    for_other = post(api(org.owner), "/tasks", {"title": "x", "due_at": "2099-01-02T10:00", "owner": org.teammate.pk})
    assert for_other.status_code == 422 and "owner" in for_other.json()["errors"]
    assert not Task.objects.exists()


def test_a_manager_gives_a_task(org: Org) -> None:
    made = post(api(org.manager), "/tasks", {"title": "拜访", "due_at": "2099-01-02T10:00", "owner": org.owner.pk})
    assert made.status_code == 201 and made.json()["owner"] == org.owner.pk
    assert api(org.owner).get(f"{API}/notifications").json()["unread"] == 1


def test_notifications(org: Org) -> None:
    services.notify(recipients=[org.owner], title="first")
    services.notify(recipients=[org.owner], title="second", link="/my/")
    services.notify(recipients=[org.outsider], title="not yours")
    owner = api(org.owner)
    listed = owner.get(f"{API}/notifications").json()
    assert [n["title"] for n in listed["items"]] == ["second", "first"]
    assert listed["count"] == 2 and listed["unread"] == 2
    first = listed["items"][1]["id"]
    read = post(owner, f"/notifications/{first}/read")
    assert read.status_code == 200 and read.json()["read_at"] is not None
    assert owner.get(f"{API}/notifications?unread=true").json()["count"] == 1
    theirs = api(org.outsider).get(f"{API}/notifications").json()["items"][0]["id"]
    assert post(owner, f"/notifications/{theirs}/read").status_code == 404
    assert post(owner, "/notifications/read-all").json() == {"marked": 1}
    assert owner.get(f"{API}/notifications").json()["unread"] == 0
    assert api(org.outsider).get(f"{API}/notifications").json()["unread"] == 1


def test_anonymous_is_401() -> None:
    assert Client().get(f"{API}/tasks").status_code == 401
    assert Client().get(f"{API}/notifications").status_code == 401
