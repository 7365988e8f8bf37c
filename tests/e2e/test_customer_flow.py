"""The flow a person clicks through: log in, create a customer with contacts, find it by pinyin
initials, open it, edit it, and read the change in its history."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from pearl.core.testing.personas import PASSWORD
from pearl.customers.models import Customer
from pearl.customers.tests.factories import make_customer, mobile

pytestmark = pytest.mark.browser


def test_create_find_by_initials_edit_and_see_history(page: Any, live_server: Any, org: Any, log_in: Any) -> None:
    other = make_customer(org.owner, name="深圳金湾冻品贸易有限公司", contacts=[{"name": "王强", "mobile": mobile(9)}])
    log_in(page, "owner", PASSWORD)

    # Create, with a second contact row fetched by htmx.
    page.get_by_role("link", name="New customer").click()
    page.fill("input[name=name]", "广州海鲜酒楼有限公司")
    page.fill("input[name=short_name]", "海鲜酒楼")
    page.select_option("select[name=customer_type]", label="餐饮")
    page.fill("input[name=city]", "广州市")
    page.fill("input[name=contact-0-name]", "张伟")
    page.fill("input[name=contact-0-mobile]", "13800138000")
    page.get_by_role("button", name="Add another contact").click()
    page.fill("input[name=contact-1-name]", "李娜")
    page.fill("input[name=contact-1-mobile]", "020-87654321")
    page.select_option("select[name=contact-1-position]", label="厨师长")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(re.compile(r"/customers/\d+/$"))
    customer = Customer.objects.get(name="广州海鲜酒楼有限公司")
    contacts = page.locator("#contacts")
    expect(contacts).to_contain_text("138 0013 8000")
    expect(contacts).to_contain_text("020 8765 4321")
    expect(contacts).to_contain_text("厨师长")

    # Find it from the list by pinyin initials; htmx swaps only the results and pushes the URL.
    page.get_by_role("link", name="Customers").first.click()
    expect(page.locator("#results")).to_contain_text(other.name)
    page.evaluate("window.__samePage = true")
    page.locator("input[name=q]").press_sequentially("hxjl", delay=40)
    expect(page.locator("#result-count")).to_have_text("1 customer")
    expect(page.locator("#results")).not_to_contain_text(other.name)
    expect(page).to_have_url(re.compile(r"[?&]q=hxjl"))
    assert page.evaluate("window.__samePage") is True  # no full page load happened
    page.locator("#results").get_by_role("link", name="海鲜酒楼").click()
    page.wait_for_url(live_server.url + reverse("customers:customer_detail", args=[customer.pk]))

    # Edit one field.
    page.get_by_role("link", name="Edit", exact=True).first.click()
    page.select_option("select[name=grade]", "A")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(live_server.url + reverse("customers:customer_detail", args=[customer.pk]))
    expect(page.locator(".messages")).to_contain_text("Saved.")

    # Edit a contact inline (htmx), then read both changes in the History tab.
    card = page.locator(".contact-card", has_text="李娜")
    card.get_by_role("link", name="Edit").click()
    editing = page.locator("form.contact-card")
    editing.locator("input[name$=-name]").fill("李娜娜")
    editing.get_by_role("button", name="Save contact").click()
    expect(page.locator("#contacts")).to_contain_text("Contact 李娜娜 saved.")

    page.get_by_role("link", name="History").click()
    expect(page).to_have_url(live_server.url + reverse("customers:customer_history", args=[customer.pk]))
    history = page.locator("#history")
    grade_change = history.locator("tr", has_text="Grade").first
    expect(grade_change.locator(".before")).to_have_text("—")
    expect(grade_change.locator(".after")).to_have_text("A")
    expect(history).to_contain_text("via Page")
    name_change = history.locator("tr", has_text="李娜娜").first
    expect(name_change.locator(".before")).to_have_text("李娜")
    customer.refresh_from_db()
    assert customer.grade == "A" and customer.contacts.filter(name="李娜娜").exists()

    # Back on the profile tab, delete a contact after the browser's confirmation (htmx POST with CSRF).
    page.get_by_role("link", name="Profile and contacts").click()
    page.locator(".contact-card", has_text="张伟").get_by_role("link", name="Delete").click()
    expect(page.locator("#contacts")).to_contain_text("Contact 张伟 deleted.")
    expect(page.locator(".contact-card")).to_have_count(1)
    assert list(customer.contacts.values_list("name", flat=True)) == ["李娜娜"]


def test_list_page_fits_a_phone(browser: Any, live_server: Any, org: Any, log_in: Any) -> None:
    for i in range(6):
        make_customer(org.owner, short_name=f"海鲜酒楼{i}号", province="广东省", city="广州市", district="天河区",
                      grade="A", contacts=[{"name": "张伟", "mobile": mobile(20 + i)}])
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                  is_mobile=True, has_touch=True)
    try:
        phone = context.new_page()
        log_in(phone, "owner", PASSWORD)
        expect(phone.locator("#results tbody tr")).to_have_count(6)
        # Nothing wider than the screen: no sideways scrolling on a phone.
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        assert phone.locator("input[name=q]").bounding_box()["width"] > 200  # a search box you can hit
        shots = os.environ.get("PEARL_E2E_SCREENSHOTS")
        if shots:  # for a person to look at; never committed
            Path(shots).mkdir(parents=True, exist_ok=True)
            phone.screenshot(path=str(Path(shots) / "customer-list-phone.png"), full_page=True)
    finally:
        context.close()
