"""The board, list, detail and form pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from pearl.core.testing.personas import Org
from pearl.customers.models import Customer
from pearl.pipelines import selectors, services
from pearl.pipelines.models import Opportunity, Pipeline, Stage
from pearl.pipelines.tests.factories import make_opportunity

JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def owner(en: Any, org: Org) -> Any:
    en.force_login(org.owner)
    return en


def _fill(org: Org, customer: Customer, stages: dict[str, Stage], n: int) -> None:
    names = ["新线索", "初步沟通", "需求确认", "方案报价"]
    for i in range(n):
        make_opportunity(org.owner, customer.pk, name=f"商机{i}", stage_id=stages[names[i % 4]].pk)


def _board_queries(client: Any, pipeline: Pipeline) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("pipelines:board", args=[pipeline.pk]))
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_board_query_count_does_not_grow_with_cards(
    owner: Any, org: Org, customer: Customer, pipeline: Pipeline, stages: dict[str, Stage]
) -> None:
    _fill(org, customer, stages, 10)
    few, html = _board_queries(owner, pipeline)
    assert html.count('class="opp-card"') == 10
    _fill(org, customer, stages, 90)
    many, html = _board_queries(owner, pipeline)
    assert html.count('class="opp-card"') == 100
    assert many == few, f"{few} queries for 10 cards, {many} for 100"
    assert few <= 12


def test_board_columns_totals_and_cap(
    org: Org, customer: Customer, pipeline: Pipeline, stages: dict[str, Stage]
) -> None:
    for amount in ("100", "300"):
        make_opportunity(org.owner, customer.pk, amount=amount, stage_id=stages["方案报价"].pk)
    make_opportunity(org.owner, customer.pk, amount="1000")
    make_opportunity(org.owner, customer.pk, amount="50", stage_id=stages["输单"].pk, loss_reason="价格")
    old = make_opportunity(org.owner, customer.pk, amount="7", stage_id=stages["赢单"].pk)
    Opportunity.objects.filter(pk=old.pk).update(closed_at=timezone.now() - dt.timedelta(days=90))
    board = selectors.board(actor=org.owner, pipeline_id=pipeline.pk, per_column=1)
    by_name = {c.stage.name: c for c in board.columns}
    quote = by_name["方案报价"]
    assert quote.count == 2 and str(quote.amount) == "400.00" and str(quote.weighted) == "240.00"
    assert len(quote.cards) == 1 and quote.more == 1
    assert by_name["新线索"].count == 1 and str(by_name["新线索"].weighted) == "100.00"
    assert by_name["输单"].count == 1 and by_name["赢单"].count == 0  # closed 90 days ago: off the board
    assert board.count == 4 and str(board.weighted) == "340.00"


def test_board_page_shows_cards_days_and_more(
    owner: Any, org: Org, customer: Customer, pipeline: Pipeline, stages: dict[str, Stage]
) -> None:
    opp = make_opportunity(org.owner, customer.pk, name="冷库扩建", amount="12800")
    Opportunity.objects.filter(pk=opp.pk).update(stage_entered_at=timezone.now() - dt.timedelta(days=3, hours=1))
    html = owner.get(reverse("pipelines:board", args=[pipeline.pk])).content.decode()
    assert "冷库扩建" in html and customer.name in html and "¥12,800.00" in html and "3 days in stage" in html
    assert f'data-version="{opp.version}"' in html and "Move to…" in html
    assert owner.get(reverse("pipelines:index")).url == reverse("pipelines:board", args=[pipeline.pk])


def test_outsider_board_and_pages(
    en: Any, org: Org, customer: Customer, pipeline: Pipeline, stages: dict[str, Stage]
) -> None:
    opp = make_opportunity(org.owner, customer.pk, name="冷库扩建")
    en.force_login(org.outsider)
    assert "冷库扩建" not in en.get(reverse("pipelines:board", args=[pipeline.pk])).content.decode()
    assert "冷库扩建" not in en.get(reverse("pipelines:opportunity_list")).content.decode()
    assert en.get(reverse("pipelines:opportunity_detail", args=[opp.pk])).status_code == 404
    r = en.post(reverse("pipelines:opportunity_move", args=[opp.pk]), {"stage": stages["需求确认"].pk}, **JSON)
    assert r.status_code == 404
    opp.refresh_from_db()
    assert opp.stage == stages["新线索"]


def test_drop_moves_and_answers_the_board(owner: Any, org: Org, customer: Customer, stages: dict[str, Stage]) -> None:
    opp = make_opportunity(org.owner, customer.pk, name="冷库扩建")
    url = reverse("pipelines:opportunity_move", args=[opp.pk])
    r = owner.post(url, {"stage": stages["需求确认"].pk, "version": 1}, **JSON)
    assert r.status_code == 200 and 'class="board-columns"' in r.content.decode()
    opp.refresh_from_db()
    assert opp.stage == stages["需求确认"] and opp.version == 2

    stale = owner.post(url, {"stage": stages["方案报价"].pk, "version": 1}, **JSON)
    assert stale.status_code == 412 and "Someone else changed" in stale.json()["detail"]
    lost = owner.post(url, {"stage": stages["输单"].pk, "version": 2}, **JSON)
    assert lost.status_code == 422 and lost.json()["code"] == "loss_reason_required"
    lost = owner.post(url, {"stage": stages["输单"].pk, "version": 2, "loss_reason": "价格"}, **JSON)
    assert lost.status_code == 200
    opp.refresh_from_db()
    assert opp.status == "lost" and opp.loss_reason == "价格"

    # without JavaScript: the card's form posts and comes back to the board with the message
    back = reverse("pipelines:board", args=[opp.pipeline_id])
    r = owner.post(url, {"stage": stages["新线索"].pk, "version": 3, "next": back})
    assert r.status_code == 302 and r.url == back
    opp.refresh_from_db()
    assert opp.stage == stages["新线索"]
    r = owner.post(url, {"stage": stages["输单"].pk, "version": 4, "next": "https://evil.example/"}, follow=True)
    assert "Say why the opportunity was lost" in r.content.decode()


def test_detail_shows_stage_history_and_time_in_stage(
    owner: Any, org: Org, customer: Customer, stages: dict[str, Stage]
) -> None:
    opp = make_opportunity(org.owner, customer.pk, name="冷库扩建")
    services.opportunity_move(actor=org.owner, opportunity_id=opp.pk, stage_id=stages["需求确认"].pk)
    html = owner.get(reverse("pipelines:opportunity_detail", args=[opp.pk])).content.decode()
    assert "Stage history" in html and "新线索 → <strong>需求确认</strong>" in html
    assert "in it for" in html and "stayed" in html and "0 days in stage" in html


def test_create_and_edit_forms(owner: Any, org: Org, customer: Customer, stages: dict[str, Stage]) -> None:
    url = reverse("pipelines:opportunity_create")
    page = owner.get(url + f"?customer={customer.pk}")
    assert page.status_code == 200 and customer.name in page.content.decode()
    bad = owner.post(url, {"customer": customer.pk, "name": "", "amount": "abc"})
    assert bad.status_code == 422 and "Give the opportunity a name." in bad.content.decode()
    r = owner.post(
        url, {"customer": customer.pk, "name": "冷库扩建", "amount": "8,000", "stage": stages["需求确认"].pk}
    )
    assert r.status_code == 302
    opp = Opportunity.objects.get()
    assert opp.stage == stages["需求确认"] and str(opp.amount) == "8000.00" and opp.owner == org.owner

    edit = reverse("pipelines:opportunity_edit", args=[opp.pk])
    r = owner.post(edit, {"customer": customer.pk, "name": "新冷库", "amount": "9000", "version": 1})
    assert r.status_code == 302
    stale = owner.post(edit, {"customer": customer.pk, "name": "旧", "amount": "1", "version": 1})
    assert stale.status_code == 412 and "Someone else changed" in stale.content.decode()
    opp.refresh_from_db()
    assert opp.name == "新冷库" and opp.version == 2


def test_list_filters(owner: Any, org: Org, customer: Customer, stages: dict[str, Stage]) -> None:
    make_opportunity(org.owner, customer.pk, name="甲单")
    make_opportunity(org.owner, customer.pk, name="乙单", stage_id=stages["赢单"].pk)
    html = owner.get(reverse("pipelines:opportunity_list"), {"status": "won"}).content.decode()
    assert "乙单" in html and "甲单" not in html
    html = owner.get(reverse("pipelines:opportunity_list"), {"status": "bogus"}).content.decode()
    assert 'role="alert"' in html


def test_delete_page(en: Any, org: Org, customer: Customer) -> None:
    opp = make_opportunity(org.owner, customer.pk)
    en.force_login(org.owner)
    assert en.post(reverse("pipelines:opportunity_delete", args=[opp.pk])).status_code == 403
    en.force_login(org.manager)
    r = en.post(reverse("pipelines:opportunity_delete", args=[opp.pk]), {"version": opp.version})
    assert r.status_code == 302 and not Opportunity.objects.exists()


def test_rules_page(en: Any, org: Org, pipeline: Pipeline, stages: dict[str, Stage]) -> None:
    url = reverse("pipelines:stage_rules", args=[pipeline.pk])
    en.force_login(org.manager)
    assert en.get(url).status_code == 403
    en.force_login(org.admin)
    page = en.get(url).content.decode()
    assert "No automatic moves yet" in page and "输单" not in page.split("Add or replace a rule")[1]
    r = en.post(url, {"communication_kind": "visit", "outcome": "interested", "stage": stages["需求确认"].pk})
    assert r.status_code == 302
    rule = selectors.stage_rule_list(actor=org.admin, pipeline_id=pipeline.pk).get()
    assert (rule.communication_kind, rule.outcome, rule.target_stage) == ("visit", "interested", stages["需求确认"])
    assert "需求确认" in en.get(url).content.decode()
    assert en.post(url, {"communication_kind": "visit", "stage": stages["输单"].pk}).status_code == 422
    assert en.post(url, {"delete": rule.pk}).status_code == 302
    assert not selectors.stage_rule_list(actor=org.admin, pipeline_id=pipeline.pk).exists()
