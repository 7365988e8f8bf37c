"""The figures endpoint and card, the rules API (422 on bad conditions) and the insights pages."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.template.loader import render_to_string
from django.utils import translation

from pearl.analytics.models import GradingRule, SmartTagRule
from pearl.analytics.selectors import customer_figures_get
from pearl.analytics.services import figures_refresh
from pearl.analytics.tests.conftest import NOW, Shop, days_ago
from pearl.core.errors import NotFound
from pearl.core.testing.personas import Org
from pearl.customers.models import Customer, Tag
from pearl.customers.tests.test_api import Api, assert_problem


def test_figures_selector_scopes_like_the_customer(org: Org, shop: Shop, customer: Customer) -> None:
    assert customer_figures_get(actor=org.owner, customer_id=customer.pk) is None  # none yet: no error
    shop.order(customer, days_ago(5), [(shop.crab, "2")])
    figures_refresh(customer_id=customer.pk, at=NOW)
    assert customer_figures_get(actor=org.manager, customer_id=customer.pk) is not None
    with pytest.raises(NotFound):
        customer_figures_get(actor=org.outsider, customer_id=customer.pk)
    with pytest.raises(NotFound):
        customer_figures_get(actor=org.owner, customer_id=customer.pk + 1000)


def test_figures_endpoint(org: Org, shop: Shop, customer: Customer) -> None:
    empty = Api(org.owner).get(f"/customers/{customer.pk}/figures")
    assert empty.status_code == 200 and json.loads(empty.content)["order_count"] == 0
    assert json.loads(empty.content)["computed_at"] is None
    shop.order(customer, days_ago(5), [(shop.crab, "2")])
    figures_refresh(customer_id=customer.pk, at=NOW)
    body = json.loads(Api(org.owner).get(f"/customers/{customer.pk}/figures").content)
    assert body["order_count"] == 1 and body["revenue_12m"] == "177.00"
    assert body["top_categories"] == [{"category_id": shop.crab.category_id, "category": "蟹", "amount": "177.00"}]
    assert_problem(Api(org.outsider).get(f"/customers/{customer.pk}/figures"), 404, "not_found")
    assert_problem(Api().get(f"/customers/{customer.pk}/figures"), 401)


def test_the_figures_card_renders_compactly_in_chinese(org: Org, shop: Shop, customer: Customer) -> None:
    assert "No purchases yet" in render_to_string("analytics/_customer-figures.html", {"figures": None})
    shop.order(customer, days_ago(50), [(shop.crab, "2")])
    shop.order(customer, days_ago(20), [(shop.prawn, "3")])
    figures = figures_refresh(customer_id=customer.pk, at=NOW)
    html = render_to_string("analytics/_customer-figures.html", {"figures": figures})
    assert "every 30 days" in html and "蟹" in html and "207.00" in html
    with translation.override("zh-hans"):
        assert "蟹" in render_to_string("analytics/_customer-figures.html", {"figures": figures})


def test_grading_rules_api(org: Org) -> None:
    admin = Api(org.admin)
    created = admin.post("/grading-rules", {"grade": "A", "order": 1, "min_revenue_12m": "200000"})
    assert created.status_code == 201, created.content
    rule = json.loads(created.content)
    assert rule["min_revenue_12m"] == "200000.00" and created["ETag"] == '"1"'
    bad = assert_problem(admin.post("/grading-rules", {"grade": "D", "min_revenue_12m": "lots"}), 422)
    assert set(bad["errors"]) == {"grade", "min_revenue_12m"}
    stale = admin.patch(f"/grading-rules/{rule['id']}", {"order": 2}, headers={"If-Match": '"7"'})
    assert_problem(stale, 412)
    patched = admin.patch(f"/grading-rules/{rule['id']}", {"order": 2}, headers={"If-Match": '"1"'})
    assert json.loads(patched.content)["order"] == 2
    assert_problem(Api(org.owner).get("/grading-rules"), 403, "permission_denied")
    assert_problem(Api(org.owner).post("/grading-rules", {"grade": "A"}), 403)
    assert admin.delete(f"/grading-rules/{rule['id']}").status_code == 204
    assert not GradingRule.objects.exists()
    assert_problem(admin.get(f"/grading-rules/{rule['id']}"), 404)


def test_smart_tags_api_with_clear_422_problems(org: Org, shop: Shop, customer: Customer) -> None:
    admin = Api(org.admin)
    bad: list[tuple[Any, str]] = [
        ([{"field": "shoe_size", "op": "gt", "value": 1}], "conditions.0.field"),
        ([{"field": "revenue_12m", "op": "contains", "value": 1}], "conditions.0.op"),
        ([{"field": "revenue_12m", "op": "gt", "value": "a lot"}], "conditions.0.value"),
        ([{"field": "revenue_12m", "op": "gt", "value": 1, "extra": 2}], "conditions.0.extra"),
    ]
    for conditions, key in bad:
        body = assert_problem(admin.post("/smart-tags", {"name": "坏", "conditions": conditions}), 422)
        assert key in body["errors"] and body["detail"].startswith("Condition 1:"), body
    assert not Tag.objects.filter(name="坏").exists()

    shop.order(customer, days_ago(5), [(shop.crab, "2")])
    figures_refresh(customer_id=customer.pk)
    created = admin.post(
        "/smart-tags",
        {"name": "买过蟹", "conditions": [{"field": "order_count", "op": "gte", "value": 1}], "is_active": True},
    )
    assert created.status_code == 201, created.content
    body = json.loads(created.content)
    assert body["name"] == "买过蟹" and body["member_count"] == 1 and body["is_active"] is True
    listed = json.loads(admin.get("/smart-tags").content)
    assert [i["name"] for i in listed["items"]] == ["买过蟹"]
    assert_problem(Api(org.owner).get("/smart-tags"), 403)
    off = admin.patch(f"/smart-tags/{body['id']}", {"is_active": False})
    assert json.loads(off.content)["member_count"] == 0
    # The customer API refuses the smart tag by hand.
    refused = Api(org.owner).patch(f"/customers/{customer.pk}", {"tags": [body["tag"]]})
    assert "smart tag" in assert_problem(refused, 422)["detail"]
    assert admin.delete(f"/smart-tags/{body['id']}").status_code == 204
    assert not SmartTagRule.objects.exists() and not Tag.objects.filter(name="买过蟹").exists()


def test_insights_pages(org: Org, admin: Any, en: Any) -> None:
    page = admin.get("/insights/")
    assert page.status_code == 200 and "Automatic grading" in page.text and "Smart tags" in page.text
    refused = admin.post("/insights/", {"grade": "A", "order": "x", "min_revenue_12m": "-5"})
    assert refused.status_code == 422 and "Enter an amount of 0 or more" in refused.text
    ok = admin.post("/insights/", {"grade": "A", "order": "1", "min_revenue_12m": "200000", "is_active": "on"})
    assert ok.status_code == 302 and GradingRule.objects.get().min_revenue_12m == 200000

    assert admin.post("/insights/smart-tags/examples/").status_code == 302
    assert SmartTagRule.objects.count() == 5
    new = admin.post(
        "/insights/smart-tags/new/",
        {"name": "华南批发", "cond_0_field": "province", "cond_0_op": "in", "cond_0_value": "广东省，广西"},
    )
    assert new.status_code == 302
    assert SmartTagRule.objects.get(tag__name="华南批发").conditions == [
        {"field": "province", "op": "in", "value": ["广东省", "广西"]}
    ]
    wrong = admin.post(
        "/insights/smart-tags/new/",
        {"name": "坏规则", "cond_0_field": "revenue_12m", "cond_0_op": "gte", "cond_0_value": "很多"},
    )
    assert wrong.status_code == 422 and "needs a number" in wrong.text
    rule = SmartTagRule.objects.get(tag__name="华南批发")
    assert admin.get(f"/insights/smart-tags/{rule.pk}/").status_code == 200

    en.force_login(org.owner)
    assert en.get("/insights/").status_code == 403
