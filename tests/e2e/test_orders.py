"""On a phone (390 px): place an order with line rows added by htmx and prices filled from the price
list, move it along, record a payment with its allocation preview, see the receivable go."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from pearl.core.testing.personas import PASSWORD
from pearl.customers.tests.factories import make_customer
from pearl.sales.models import Order, Payment
from pearl.sales.tests.factories import product

pytestmark = pytest.mark.browser


def test_phone_order_and_payment(browser: Any, live_server: Any, org: Any, log_in: Any) -> None:
    customer = make_customer(org.owner, name="广州鑫海海鲜酒楼有限公司", short_name="鑫海酒楼")
    prawn = product(org.admin, "P-001", price="10.00", name="基围虾")
    crab = product(org.admin, "C-001", price="88.50", cat="蟹", name="大闸蟹")
    context = browser.new_context(locale="en-US", viewport={"width": 390, "height": 844}, is_mobile=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    log_in(page, "owner", PASSWORD)

    page.goto(f"{live_server.url}/sales/orders/new/?customer={customer.pk}")
    expect(page.locator("#order-form")).to_contain_text(customer.name)
    page.select_option("select[name=line-0-product]", str(crab.pk))
    expect(page.locator("input[name=line-0-unit_price]")).to_have_value("88.50")  # from the price list via htmx
    page.fill("input[name=line-0-quantity]", "2")
    page.select_option("select[name=line-1-product]", str(prawn.pk))
    expect(page.locator("input[name=line-1-unit_price]")).to_have_value("10.00")
    page.fill("input[name=line-1-quantity]", "-1")
    page.locator("#line-2").get_by_role("button", name="Remove").click()
    expect(page.locator("#line-2")).to_have_count(0)
    page.get_by_role("button", name="Add a line").click()
    expect(page.locator("select[name=line-3-product]")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing sticks out sideways

    page.get_by_role("button", name="Place order").click()  # the negative quantity is refused in place
    expect(page.locator("#lines")).to_contain_text("Line 2: the quantity must be more than zero (got -1)")
    assert not Order.objects.exists()
    page.fill("input[name=line-1-quantity]", "1.5")
    page.get_by_role("button", name="Place order").click()
    page.wait_for_url(re.compile(r"/sales/orders/\d+/$"))
    order = Order.objects.get()
    expect(page.locator("main")).to_contain_text("¥192.00")
    page.get_by_role("button", name="→ Picking").click()
    expect(page.locator(".toolbar h1 .status")).to_have_text("Picking")

    page.get_by_role("link", name="Record a payment").click()
    page.fill("input[name=amount]", "100")
    expect(page.locator("#allocation-preview")).to_contain_text("¥92.00 still owed")
    page.fill("input[name=amount]", "500")
    expect(page.locator("#allocation-preview")).to_contain_text("more than the ¥192.00 the customer owes")
    page.fill("input[name=amount]", "192")
    page.get_by_role("button", name="Record payment").click()
    page.wait_for_url(re.compile(r"/sales/payments/\d+/$"))
    assert Payment.objects.get().allocations.get().order_id == order.pk
    page.goto(f"{live_server.url}/sales/receivables/")
    expect(page.locator("#results")).to_contain_text("Nothing is owed here.")
    context.close()
