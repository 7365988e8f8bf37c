"""The pipeline board: a salesperson drags a card from 新线索 to 需求确认 with the mouse; it stays there
after a reload and the opportunity moved in the database. Dropping it on 输单 without giving a reason
puts it back and says why."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pytest
from django.apps import apps
from django.urls import reverse
from playwright.sync_api import expect

from pearl.core.testing.personas import PASSWORD
from pearl.customers.tests.factories import make_customer
from pearl.pipelines.models import Opportunity, Pipeline, StageChange
from pearl.pipelines.services import opportunity_create

pytestmark = pytest.mark.browser

WIDE = {"width": 1900, "height": 1000}  # all seven columns on screen


@pytest.fixture
def wide(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="en-US", viewport=WIDE)
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()


def _drag(tab: Any, card: Any, column: Any) -> None:
    start, end = card.bounding_box(), column.bounding_box()
    assert start is not None and end is not None
    tab.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 3)
    tab.mouse.down()
    tab.mouse.move(end["x"] + end["width"] / 2, end["y"] + 60, steps=15)
    tab.mouse.up()


def test_drag_a_card_to_another_column(wide: Any, live_server: Any, org: Any, log_in: Any) -> None:
    # A live-server test starts from flushed tables: put the shipped default pipeline back.
    importlib.import_module("pearl.pipelines.migrations.0002_default_pipeline").create_default_pipeline(apps, None)
    pipeline = Pipeline.objects.get(is_default=True)
    stages = {s.name: s for s in pipeline.stages.all()}
    customer = make_customer(org.owner)
    opp = opportunity_create(actor=org.owner, customer_id=customer.pk, name="冷库扩建", amount="12800")

    log_in(wide, "owner", PASSWORD)
    board_url = live_server.url + reverse("pipelines:board", args=[pipeline.pk])
    wide.goto(board_url)
    lead = wide.locator(f'.board-column[data-stage="{stages["新线索"].pk}"]')
    needs = wide.locator(f'.board-column[data-stage="{stages["需求确认"].pk}"]')
    card = wide.locator(f'.opp-card[data-id="{opp.pk}"]')
    expect(lead.locator(".opp-card")).to_have_count(1)
    expect(needs.locator(".opp-card")).to_have_count(0)

    _drag(wide, card, needs)

    expect(needs.locator(f'.opp-card[data-id="{opp.pk}"][data-version="2"]')).to_have_count(1)  # the server's board
    expect(lead.locator(".opp-card")).to_have_count(0)
    expect(needs.locator(".column-count")).to_have_text("1")
    opp.refresh_from_db()
    assert opp.stage_id == stages["需求确认"].pk and opp.version == 2
    assert list(StageChange.objects.filter(opportunity=opp).values_list("to_stage__name", flat=True)) == [
        "新线索",
        "需求确认",
    ]
    wide.reload()
    expect(needs.locator(f'.opp-card[data-id="{opp.pk}"]')).to_have_count(1)
    expect(lead.locator(".opp-card")).to_have_count(0)

    # 输单 needs a reason: the prompt is answered with nothing, so the card goes back and the reason shows
    wide.on("dialog", lambda dialog: dialog.accept(""))
    lost = wide.locator(f'.board-column[data-stage="{stages["输单"].pk}"]')
    _drag(wide, wide.locator(f'.opp-card[data-id="{opp.pk}"]'), lost)
    expect(wide.locator("#board-alert")).to_contain_text("Say why the opportunity was lost")
    expect(needs.locator(f'.opp-card[data-id="{opp.pk}"]')).to_have_count(1)
    expect(lost.locator(".opp-card")).to_have_count(0)
    assert Opportunity.objects.get(pk=opp.pk).status == "open"


def test_drag_by_the_handle_on_a_touch_screen(browser: Any, live_server: Any, org: Any, log_in: Any) -> None:
    """A finger drags a card by its ⠿ handle (touch events from Chromium's DevTools input, as a phone sends)."""
    importlib.import_module("pearl.pipelines.migrations.0002_default_pipeline").create_default_pipeline(apps, None)
    pipeline = Pipeline.objects.get(is_default=True)
    stages = {s.name: s for s in pipeline.stages.all()}
    customer = make_customer(org.owner)
    opp = opportunity_create(actor=org.owner, customer_id=customer.pk, name="冷库扩建", amount="12800")
    context = browser.new_context(locale="en-US", viewport={"width": 820, "height": 900}, has_touch=True)
    context.set_default_timeout(10_000)
    tab = context.new_page()
    try:
        log_in(tab, "owner", PASSWORD)
        tab.goto(live_server.url + reverse("pipelines:board", args=[pipeline.pk]))
        handle = tab.locator(f'.opp-card[data-id="{opp.pk}"] .drag-handle').bounding_box()
        target = tab.locator(f'.board-column[data-stage="{stages["初步沟通"].pk}"]').bounding_box()
        assert handle is not None and target is not None
        cdp = context.new_cdp_session(tab)
        x, y = handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2
        tx, ty = target["x"] + target["width"] / 2, target["y"] + 60
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
        for step in range(1, 11):
            point = {"x": x + (tx - x) * step / 10, "y": y + (ty - y) * step / 10}
            cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        column = tab.locator(f'.board-column[data-stage="{stages["初步沟通"].pk}"]')
        expect(column.locator(f'.opp-card[data-id="{opp.pk}"][data-version="2"]')).to_have_count(1)
        opp.refresh_from_db()
        assert opp.stage_id == stages["初步沟通"].pk
    finally:
        context.close()
