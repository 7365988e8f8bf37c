"""On a phone: a salesperson opens one of their customers, taps Visit, types a line, taps Save, and sees
the visit at the top of the timeline without the page reloading."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from pearl.activities.models import Communication
from pearl.core.testing.personas import PASSWORD
from pearl.customers.tests.factories import make_customer, mobile

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    """A 390 px wide touch screen reading English."""
    context = browser.new_context(locale="en-US", viewport=PHONE, has_touch=True, is_mobile=True)
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()


def test_log_a_visit_in_two_taps(phone: Any, live_server: Any, org: Any, log_in: Any) -> None:
    customer = make_customer(org.owner, contacts=[{"name": "张伟", "mobile": mobile(77)}])
    log_in(phone, "owner", PASSWORD)
    phone.goto(live_server.url + reverse("customers:customer_detail", args=[customer.pk]))
    phone.evaluate("window.__samePage = true")

    quick = phone.locator("#quick-log")
    quick.get_by_role("link", name="Visit", exact=True).tap()  # tap 1: the compact form opens inline
    summary = quick.locator("textarea[name=quick-summary]")
    expect(summary).to_be_visible()
    expect(quick.locator("select[name=quick-contact]")).to_have_value(str(customer.contacts.get().pk))
    expect(quick.locator("input[type=file][capture=environment]")).to_have_count(1)
    box = quick.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    summary.fill("看了新冷库，约下周报价")
    quick.get_by_role("button", name="Save", exact=True).tap()  # tap 2: saved

    expect(quick).to_contain_text("Visit saved.")
    expect(quick.locator("textarea")).to_have_count(0)  # collapsed to the buttons again
    newest = phone.locator("#timeline .timeline-entry").first
    expect(newest).to_contain_text("看了新冷库，约下周报价")
    assert phone.evaluate("window.__samePage") is True  # the timeline reloaded itself, not the page
    visit = Communication.objects.get(customer=customer)
    assert visit.kind == "visit" and visit.author == org.owner
