"""On a phone, in Chinese: a salesperson opens 公海, sees the customers with masked mobiles, taps 领取 on one
and sees it succeed in place (the customer is theirs); a second claim beyond the pool's daily quota of 1 is
refused in place with the reason."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from pearl.core.testing.personas import PASSWORD, build_org
from pearl.customers.models import Customer
from pearl.pools.models import Pool
from pearl.pools.tests.conftest import pooled

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone_zh(browser: Any) -> Iterator[Any]:
    """A 390 px wide touch screen reading Simplified Chinese."""
    context = browser.new_context(locale="zh-CN", viewport=PHONE, has_touch=True, is_mobile=True)
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()


def test_claim_from_the_pool_on_a_phone_until_the_daily_quota(phone_zh: Any, live_server: Any, log_in: Any) -> None:
    org = build_org()
    pool = Pool.objects.filter(is_default=True).first() or Pool.objects.create(name="公海", is_default=True)
    Pool.objects.filter(pk=pool.pk).update(active=True, daily_claim_quota=1)
    first, second = pooled(org.owner, pool), pooled(org.owner, pool)  # given back by their owner
    mobile = first.contacts.get().mobile

    log_in(phone_zh, "teammate", PASSWORD)
    phone_zh.get_by_role("navigation").get_by_role("link", name="公海", exact=True).tap()
    expect(phone_zh.locator("h1")).to_have_text("公海")
    assert phone_zh.url == live_server.url + reverse("pools:pool_list")
    phone_zh.get_by_role("row").get_by_role("link", name=pool.name, exact=True).tap()
    expect(phone_zh.locator("#quota")).to_contain_text("今日剩余领取次数：1 / 1")
    row = phone_zh.locator(f"#pool-customer-{first.pk}")
    expect(row).to_contain_text(f"{mobile[:3]}****{mobile[-4:]}")
    expect(phone_zh.locator("body")).not_to_contain_text(mobile)
    phone_zh.evaluate("window.__samePage = true")

    row.get_by_role("button", name="领取").tap()
    cell = phone_zh.locator(f"#claim-{first.pk}")
    expect(cell).to_contain_text("领取成功：该客户已归您负责。")
    assert phone_zh.evaluate("window.__samePage") is True  # answered in place, no page load
    assert Customer.objects.get(pk=first.pk).owner_id == org.teammate.pk

    phone_zh.locator(f"#pool-customer-{second.pk}").get_by_role("button", name="领取").tap()
    refusal = phone_zh.locator(f"#claim-{second.pk} [role=alert]")
    expect(refusal).to_contain_text("您今天在此公海的 1 次领取额度已用完，请明天再试。")
    assert Customer.objects.get(pk=second.pk).owner_id is None
    box = refusal.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
