"""Issue 5's "done when", end to end on the demo company: a new lead arrives by API and is assigned by
rule within a second; 24 h without follow-up reminds its owner and their manager; a customer untouched
for 30 days is back in the pool and another salesperson claims it; sales2 leaves and sales1 receives
everything with its history. (Dragging on the board and claiming in a browser: tests/e2e.)"""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from pearl.accounts.models import User
from pearl.accounts.services import token_create
from pearl.activities.models import TimelineEvent
from pearl.customers.models import Customer
from pearl.leads.models import Lead
from pearl.pipelines.models import Opportunity
from pearl.pools.models import Pool, PoolEntry
from pearl.reminders.models import Notification, Task


@pytest.fixture(autouse=True)
def fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _api(user: User) -> Client:
    _token, secret = token_create(actor=None, user=user)
    return Client(headers={"Authorization": f"Bearer {secret}", "Accept-Language": "en"})


def _post(client: Client, path: str, body: dict[str, Any]) -> Any:
    response = client.post("/api/v1" + path, json.dumps(body, ensure_ascii=False), content_type="application/json")
    return response.status_code, json.loads(response.content)


def test_leads_reminders_pool_and_handover_on_the_demo_company(db: None) -> None:
    call_command("demo", "--customers", "200", "--seed", "4", "--no-serve", verbosity=0)
    admin, manager, sales1, sales2 = (User.objects.get(username=u) for u in ("admin", "manager", "sales1", "sales2"))
    now = timezone.now()

    # 1. A lead from the web arrives by API and is assigned by the 华南 rule at once.
    started = time.perf_counter()
    status, lead = _post(_api(admin), "/leads", {"name": "周海", "company": "深圳湾海鲜酒家", "mobile": "13912345678",
                                                 "province": "广东省"})  # fmt: skip
    assert status == 201 and time.perf_counter() - started < 1.0
    assert lead["owner"]["id"] in {sales1.pk, sales2.pk} and lead["assigned_rule"]["name"] == "华南客户轮流分配"
    owner = User.objects.get(pk=lead["owner"]["id"])

    # 2. Nobody follows it up for 24 hours: its owner and their manager are reminded, once.
    # (One notification per owner and sweep lists all their waiting leads; the manager gets it too.)
    call_command("sweep", "--at", (now + dt.timedelta(hours=25)).isoformat(), verbosity=0)
    assert Lead.objects.get(pk=lead["id"]).reminded_at is not None
    about_owner = Notification.objects.filter(dedupe_key__startswith=f"leads.no_follow_up:{owner.pk}:")
    assert set(about_owner.values_list("recipient_id", flat=True)) == {owner.pk, manager.pk}
    reminded = about_owner.count()
    call_command("sweep", "--at", (now + dt.timedelta(hours=26)).isoformat(), verbosity=0)
    assert about_owner.count() == reminded  # a second sweep reminds nobody again

    # 3. Customers untouched for 30 days are back in the public pool; sales2 claims one of sales1's.
    pool = Pool.objects.get(is_default=True)
    assert pool.active
    untouched = Customer.objects.filter(owner=sales1).exclude(
        pk__in=Opportunity.objects.filter(status="open").values("customer_id")).order_by("pk").first()  # fmt: skip
    assert untouched is not None
    call_command("sweep", "--at", (now + dt.timedelta(days=40)).isoformat(), verbosity=0)
    untouched.refresh_from_db()
    assert untouched.owner_id is None and PoolEntry.objects.filter(customer=untouched, pool=pool).exists()
    status, claimed = _post(_api(sales2), f"/pools/{pool.pk}/claim", {"customer": untouched.pk})
    assert status == 200, claimed
    untouched.refresh_from_db()
    assert untouched.owner_id == sales2.pk
    assert TimelineEvent.objects.filter(customer=untouched, kind="ownership").count() >= 2  # reclaim, claim

    # 4. sales2 leaves: sales1 receives everything, with its history.
    held = {
        "customers": Customer.objects.filter(owner=sales2).count(),
        "leads": Lead.objects.filter(owner=sales2, status__in=["new", "contacted"]).count(),
        "opportunities": Opportunity.objects.filter(owner=sales2, status="open").count(),
        "tasks": Task.objects.filter(owner=sales2, done_at__isnull=True).count(),
    }
    assert held["customers"] and held["leads"]
    status, plan = _post(_api(admin), f"/users/{sales2.pk}/handover", {"to": [sales1.pk], "dry_run": True})
    assert status == 200 and plan["counts"] == held and plan["moved"] == {}
    status, done = _post(_api(admin), f"/users/{sales2.pk}/handover",
                         {"to": [sales1.pk], "deactivate": True, "dry_run": False})  # fmt: skip
    assert status == 200 and done["moved"] == held and done["deactivated"] is True
    assert not Customer.objects.filter(owner=sales2).exists()
    assert not Lead.objects.filter(owner=sales2, status__in=["new", "contacted"]).exists()
    assert not Opportunity.objects.filter(owner=sales2, status="open").exists()
    assert not Task.objects.filter(owner=sales2, done_at__isnull=True).exists()
    assert User.objects.get(pk=sales2.pk).is_active is False
    untouched.refresh_from_db()
    assert untouched.owner_id == sales1.pk
    # the whole story stays on the customer's timeline: reclaimed, claimed by sales2, handed to sales1
    assert TimelineEvent.objects.filter(customer=untouched, kind="ownership").count() >= 3
