"""Typing a customer that already exists: the possible-duplicate panel names it while typing (htmx),
Save is refused with the reasons, and a confirmed different customer is created anyway."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from pearl.core.testing.personas import PASSWORD
from pearl.customers.models import Customer
from pearl.customers.tests.factories import make_customer

pytestmark = pytest.mark.browser


def test_panel_while_typing_refusal_and_confirmed_create(page: Any, live_server: Any, org: Any, log_in: Any) -> None:
    existing = make_customer(org.owner, name="广州鑫海海鲜酒楼有限公司", city="广州市", address="天河区天河路100号",
                             contacts=[{"name": "张伟", "mobile": "13800138000"}])  # fmt: skip
    log_in(page, "owner", PASSWORD)
    page.get_by_role("link", name="New customer").click()
    panel = page.locator("#duplicate-panel")
    page.locator("input[name=name]").press_sequentially("鑫海酒楼", delay=30)
    page.fill("input[name=city]", "广州市")
    page.fill("input[name=address]", "天河路100号")
    expect(panel).to_contain_text(existing.name)
    expect(panel).to_contain_text("Duplicate")
    expect(panel.get_by_role("link", name=existing.name)).to_have_attribute("href", f"/customers/{existing.pk}/")

    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#form-alert")).to_contain_text("probably exists already")
    assert Customer.objects.count() == 1
    page.get_by_label("I checked: this is a different customer. Create it anyway.").check()
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(re.compile(r"/customers/\d+/$"))
    assert Customer.objects.filter(name="鑫海酒楼").exists()
