"""On a phone, in Chinese, without logging in: a stranger opens a web form's public link (as from a QR
code), fills it in, taps submit and sees the form's thank-you text; the lead is in Pearl, assigned."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from pearl.core.testing.personas import build_org
from pearl.integrations.services.webforms import webform_create
from pearl.leads.choices import FollowUpKind
from pearl.leads.models import Lead

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone_zh(browser: Any) -> Iterator[Any]:
    """A 390 px wide touch screen reading Simplified Chinese, like WeChat's browser on a phone."""
    context = browser.new_context(locale="zh-CN", viewport=PHONE, has_touch=True, is_mobile=True)
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()


def test_a_stranger_fills_the_form_on_a_phone(phone_zh: Any, live_server: Any) -> None:
    org = build_org()
    form = webform_create(
        actor=org.admin,
        data={"name": "官网询价", "title": "获取冻品报价", "intro": "留下联系方式，销售顾问一个工作日内联系您。",
              "thank_you": "提交成功！销售顾问会尽快联系您。", "fallback_owner": org.owner.pk},
    )  # fmt: skip

    phone_zh.goto(f"{live_server.url}/f/{form.slug}/")
    expect(phone_zh.locator("h1")).to_have_text("获取冻品报价")
    width = phone_zh.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]  # nothing wider than the phone: no sideways scrolling
    phone_zh.fill("input[name=name]", "林先生")
    phone_zh.fill("input[name=mobile]", "139 1234 5678")
    phone_zh.fill("input[name=company]", "深圳海鲜楼")
    phone_zh.select_option("select[name=province]", "广东省")
    phone_zh.fill("input[name=city]", "深圳市")
    phone_zh.fill("textarea[name=message]", "想了解冻虾的批发价")
    phone_zh.locator("button[type=submit]").tap()

    expect(phone_zh.get_by_role("status")).to_contain_text("提交成功！销售顾问会尽快联系您。")
    assert phone_zh.url == f"{live_server.url}/f/{form.slug}/thanks/"
    lead = Lead.objects.get(mobile="13912345678")
    assert (lead.name, lead.company, lead.province, lead.owner_id) == ("林先生", "深圳海鲜楼", "广东省", org.owner.pk)
    assert lead.follow_ups.get().kind == FollowUpKind.INQUIRY
