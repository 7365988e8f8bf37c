"""On a 390 px phone, the customer page's sales panel (open opportunities, tasks, the public pool) fits the
screen even with long unbroken names, and the claim button of a customer lying in the pool claims it in
place."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from pearl.core.testing.personas import PASSWORD, build_org
from pearl.customers.models import Customer
from pearl.customers.tests.factories import make_customer
from pearl.pipelines.tests.factories import make_opportunity
from pearl.pools.models import Pool
from pearl.pools.services import customer_protection_set, pool_release
from pearl.reminders.services import task_create

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
LONG = "Cold-storage-expansion-for-the-Guangzhou-Huangsha-seafood-market-warehouse-phase-two"


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="zh-CN", viewport=PHONE, has_touch=True, is_mobile=True)
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()


def _fits(tab: Any, selector: str) -> None:
    assert tab.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    box = tab.locator(selector).bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box


def test_the_sales_panel_fits_a_phone(phone: Any, live_server: Any, log_in: Any) -> None:
    org = build_org()
    pool = Pool.objects.filter(is_default=True).first() or Pool.objects.create(name="公海", is_default=True)
    Pool.objects.filter(pk=pool.pk).update(active=True)
    customer = make_customer(org.owner, name=f"广州{LONG}有限公司")
    make_opportunity(org.owner, customer.pk, name=LONG, amount="1234567.89", expected_close_date=dt.date(2026, 12, 20))
    task_create(actor=org.owner, owner=org.owner, title=f"回电{LONG}", due_at=timezone.now() - dt.timedelta(days=1),
                customer_id=customer.pk)  # fmt: skip
    customer_protection_set(actor=org.manager, customer_id=customer.pk, reason=f"战略客户{LONG}")

    log_in(phone, "owner", PASSWORD)
    phone.goto(live_server.url + reverse("customers:customer_detail", args=[customer.pk]))
    panel = phone.locator("#profile-sales")
    expect(panel).to_contain_text(LONG)
    expect(panel.locator("#customer-tasks li.overdue")).to_contain_text(f"回电{LONG}")
    expect(panel.locator("#customer-pool .badge")).to_be_visible()
    for selector in ("#profile-sales", "#customer-opportunities", "#customer-tasks", "#customer-pool"):
        _fits(phone, selector)


def test_claim_from_the_customer_page_on_a_phone(phone: Any, live_server: Any, log_in: Any) -> None:
    org = build_org()
    pool = Pool.objects.filter(is_default=True).first() or Pool.objects.create(name="公海", is_default=True)
    Pool.objects.filter(pk=pool.pk).update(active=True)
    customer = make_customer(org.owner)
    pool_release(actor=org.owner, customer_id=customer.pk, pool_id=pool.pk, reason=f"不做了{LONG}")

    log_in(phone, "admin", PASSWORD)
    phone.goto(live_server.url + reverse("customers:customer_detail", args=[customer.pk]))
    _fits(phone, "#customer-pool")
    phone.evaluate("window.__samePage = true")
    phone.locator("#profile-claim").get_by_role("button").tap()
    expect(phone.locator("#profile-claim")).to_contain_text("领取成功")
    assert phone.evaluate("window.__samePage") is True  # answered in place
    assert Customer.objects.get(pk=customer.pk).owner_id == org.admin.pk
