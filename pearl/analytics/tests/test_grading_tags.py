"""Grading and smart tags: rules, timeline events, idempotent sweeps, the event path, manual tags."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import translation

from pearl.activities.models import TimelineEvent
from pearl.analytics import services
from pearl.analytics.models import CustomerFigures, GradingRule, SmartTagRule
from pearl.analytics.services import (
    figures_rebuild,
    grades_apply,
    smart_tag_create,
    smart_tag_examples_install,
    smart_tag_update,
    smart_tags_apply,
)
from pearl.analytics.tests.conftest import NOW, Shop, days_ago
from pearl.core.errors import ValidationFailed
from pearl.core.testing.personas import Org
from pearl.customers.models import Customer, Tag
from pearl.customers.selectors import customer_list
from pearl.customers.services import customer_create, customer_update, tag_create
from pearl.customers.services.bulk import Outcome, customer_bulk_upsert
from pearl.customers.tests.factories import make_customer


def rules(org: Org) -> None:
    services.grading_rule_create(actor=org.admin, data={"grade": "A", "order": 1, "min_revenue_12m": "1000"})
    services.grading_rule_create(actor=org.admin, data={"grade": "B", "order": 2, "min_revenue_12m": "100"})
    services.grading_rule_create(actor=org.admin, data={"grade": "C", "order": 3})


def sweep(at: dt.datetime) -> str:
    out = StringIO()
    call_command("sweep", "--at", at.isoformat(), stdout=out)
    return out.getvalue()


def tagged(tag: Tag) -> set[int]:
    return set(Customer.tags.through.objects.filter(tag=tag).values_list("customer_id", flat=True))


def test_grading_by_rules_lands_on_the_timeline_and_a_second_sweep_changes_nothing(
    org: Org, shop: Shop, customer: Customer
) -> None:
    big, small = customer, make_customer(org.owner, grade="A")  # a manual A, no orders
    shop.order(big, days_ago(20), [(shop.crab, "20")])  # 1,770.00
    figures_rebuild(at=NOW)
    assert grades_apply(at=NOW) == 0  # no rules: grades stay as people set them
    assert Customer.objects.get(pk=small.pk).grade == "A"

    rules(org)
    out = sweep(NOW)
    assert "analytics.figures" in out and '"grades_changed": 2' in out
    big.refresh_from_db()
    small.refresh_from_db()
    assert (big.grade, small.grade) == ("A", "C")
    event = TimelineEvent.objects.get(customer=small, kind="grade")
    assert event.payload["old"] == "A" and event.payload["new"] == "C" and event.occurred_at == NOW
    assert TimelineEvent.objects.filter(customer=big, kind="grade").count() == 1
    version = big.version

    out = sweep(NOW)
    assert '"grades_changed": 0' in out
    assert TimelineEvent.objects.filter(kind="grade").count() == 2
    big.refresh_from_db()
    assert big.version == version

    # A year later the revenue has left the window: A → C.
    sweep(NOW + dt.timedelta(days=400))
    big.refresh_from_db()
    assert big.grade == "C"
    assert list(
        TimelineEvent.objects.filter(customer=big, kind="grade").values_list("payload", flat=True).order_by("id")
    )[-1] == {"old": "A", "new": "C", "rule": GradingRule.objects.get(grade="C").pk}


def test_min_orders_and_margin_thresholds(org: Org, shop: Shop, customer: Customer) -> None:
    services.grading_rule_create(
        actor=org.admin, data={"grade": "A", "order": 1, "min_orders_12m": 2, "min_margin_12m": "50"}
    )
    shop.order(customer, days_ago(20), [(shop.crab, "1")])  # margin 38.50
    figures_rebuild(at=NOW)
    grades_apply(at=NOW)
    assert Customer.objects.get(pk=customer.pk).grade == ""  # no rule met: untouched
    shop.order(customer, days_ago(10), [(shop.crab, "1")])
    figures_rebuild(at=NOW)
    grades_apply(at=NOW)
    assert Customer.objects.get(pk=customer.pk).grade == "A"


def test_an_order_and_its_payment_regrade_through_events(
    org: Org, shop: Shop, customer: Customer, django_capture_on_commit_callbacks: Any
) -> None:
    rules(org)
    high = tag_create(actor=org.admin, data={"name": "大单"})
    SmartTagRule.objects.create(
        tag=high, is_active=True, conditions=[{"field": "revenue_12m", "op": "gte", "value": 1000}]
    )
    with django_capture_on_commit_callbacks(execute=True):
        order = shop.order(customer, dt.datetime.now(dt.UTC) - dt.timedelta(days=1), [(shop.crab, "20")])
    figures = CustomerFigures.objects.get(pk=customer.pk)
    assert figures.order_count == 1 and figures.revenue_12m == Decimal("1770.00")
    customer.refresh_from_db()
    assert customer.grade == "A" and customer.pk in tagged(high)
    assert figures.unpaid_amount == Decimal("1770.00")
    with django_capture_on_commit_callbacks(execute=True):
        shop.pay(order, dt.datetime.now(dt.UTC))
    assert CustomerFigures.objects.get(pk=customer.pk).unpaid_amount == 0
    with django_capture_on_commit_callbacks(execute=True):
        shop.cancel(shop.order(customer, dt.datetime.now(dt.UTC), [(shop.prawn, "1")]))
    assert CustomerFigures.objects.get(pk=customer.pk).order_count == 1
    with django_capture_on_commit_callbacks(execute=True):
        shop.complaint(customer, dt.datetime.now(dt.UTC))
    assert CustomerFigures.objects.get(pk=customer.pk).complaints_30d == 1


# --- smart tags -------------------------------------------------------------------------------------


def example(name: str) -> SmartTagRule:
    return SmartTagRule.objects.select_related("tag").get(tag__name=name)


def activate(org: Org, name: str) -> SmartTagRule:
    rule = example(name)
    return smart_tag_update(actor=org.admin, rule_id=rule.pk, data={"is_active": True})


def test_examples_are_installed_inactive_once(org: Org) -> None:
    created = smart_tag_examples_install(actor=org.admin)
    assert {r.tag.name for r in created} == {"高价值客户", "价格敏感型", "流失风险", "潜在换机客户", "近期多次投诉"}
    assert not any(r.is_active for r in created)
    assert smart_tag_examples_install(actor=org.admin) == []


def test_default_rules_on_crafted_customers(org: Org, shop: Shop, customer: Customer) -> None:
    smart_tag_examples_install(actor=org.admin)
    for name in ("高价值客户", "价格敏感型", "流失风险", "潜在换机客户", "近期多次投诉"):
        activate(org, name)
    big = make_customer(org.owner)
    shop.order(big, days_ago(10), [(shop.crab, "1200")])  # 106,200.00
    haggler = make_customer(org.owner)
    shop.order(haggler, days_ago(10), [(shop.prawn, "10")], discount="15.00")  # 15%
    lapsing = make_customer(org.owner)
    for days in (100, 90, 80, 70):  # every 10 days, last 70 days ago: > 2 × 10
        shop.order(lapsing, days_ago(days), [(shop.prawn, "1")])
    regular = make_customer(org.owner)
    for days in (25, 15, 5):  # every 10 days, last 5 days ago
        shop.order(regular, days_ago(days), [(shop.prawn, "1")])
    old_buyer = make_customer(org.owner)
    shop.order(old_buyer, days_ago(600), [(shop.crab, "1")])  # crab 600 days ago (> 18 months)
    angry = make_customer(org.owner)
    shop.complaint(angry, days_ago(3))
    shop.complaint(angry, days_ago(12))
    once = make_customer(org.owner)
    shop.complaint(once, days_ago(3))
    figures_rebuild(at=NOW)
    sweep(NOW)

    assert tagged(example("高价值客户").tag) == {big.pk}
    assert tagged(example("价格敏感型").tag) == {haggler.pk}
    assert tagged(example("流失风险").tag) == {lapsing.pk}
    assert tagged(example("潜在换机客户").tag) == {old_buyer.pk}
    assert tagged(example("近期多次投诉").tag) == {angry.pk}
    assert example("近期多次投诉").member_count == 1

    # Time travel: 25 days on, the regular buyer has missed 2 cycles and the complaints are old.
    out = sweep(NOW + dt.timedelta(days=25))
    assert "流失风险" in out
    assert regular.pk in tagged(example("流失风险").tag)
    assert tagged(example("近期多次投诉").tag) == set()
    before = set(Customer.tags.through.objects.values_list("customer_id", "tag_id"))
    sweep(NOW + dt.timedelta(days=25))
    assert set(Customer.tags.through.objects.values_list("customer_id", "tag_id")) == before

    # The per-customer path (events) evaluates the same rules to the same memberships.
    Customer.tags.through.objects.all().delete()
    for pk in Customer.objects.values_list("pk", flat=True):
        smart_tags_apply(at=NOW + dt.timedelta(days=25), customer_ids=[pk])
    assert set(Customer.tags.through.objects.values_list("customer_id", "tag_id")) == before
    Customer.tags.through.objects.all().delete()
    smart_tags_apply(at=NOW, customer_ids=list(Customer.objects.values_list("pk", flat=True)))
    assert tagged(example("近期多次投诉").tag) == {angry.pk} and tagged(example("流失风险").tag) == {lapsing.pk}


def test_manual_tags_are_untouched_and_the_list_filters_by_a_smart_tag(
    org: Org, shop: Shop, customer: Customer
) -> None:
    manual = tag_create(actor=org.admin, data={"name": "老朋友"})
    vip = make_customer(org.owner, tags=[manual.pk])
    shop.order(vip, days_ago(3), [(shop.crab, "2000")])
    rule = smart_tag_create(
        actor=org.admin,
        data={"name": "大客户2", "conditions": [{"field": "revenue_12m", "op": "gte", "value": 100000}],
              "is_active": True},
    )  # fmt: skip
    figures_rebuild()
    smart_tags_apply()
    assert tagged(rule.tag) == {vip.pk}
    assert tagged(manual) == {vip.pk}
    listed = customer_list(actor=org.owner, filters={"tag": str(rule.tag_id)})
    assert [c.pk for c in listed] == [vip.pk]
    assert list(customer_list(actor=org.outsider, filters={"tag": str(rule.tag_id)})) == []

    smart_tag_update(actor=org.admin, rule_id=rule.pk, data={"is_active": False})
    assert tagged(rule.tag) == set() and tagged(manual) == {vip.pk}


def test_a_smart_tag_cannot_be_set_or_removed_by_hand(org: Org, shop: Shop) -> None:
    manual = tag_create(actor=org.admin, data={"name": "老朋友"})
    rule = smart_tag_create(
        actor=org.admin,
        data={"name": "有订单", "conditions": [{"field": "order_count", "op": "gte", "value": 1}], "is_active": True},
    )
    with pytest.raises(ValidationFailed) as refused:
        customer_create(actor=org.owner, data={"name": "新客户有限公司", "tags": [rule.tag_id]})
    assert "smart tag" in str(refused.value.message) and "tags" in refused.value.field_errors
    buyer = make_customer(org.owner)
    shop.order(buyer, days_ago(3), [(shop.prawn, "1")])
    figures_rebuild()
    smart_tags_apply()
    assert tagged(rule.tag) == {buyer.pk}
    with pytest.raises(ValidationFailed, match="smart tag"):
        customer_update(actor=org.owner, customer_id=buyer.pk, data={"tags": [manual.pk]})  # drops the smart tag
    # Keeping it as it is while changing the manual tags is fine.
    customer_update(actor=org.owner, customer_id=buyer.pk, data={"tags": [manual.pk, rule.tag_id]})
    assert tagged(manual) == {buyer.pk} and tagged(rule.tag) == {buyer.pk}


def test_an_import_row_naming_a_smart_tag_is_refused_and_writes_nothing(org: Org, shop: Shop) -> None:
    rule = smart_tag_create(
        actor=org.admin,
        data={"name": "有订单", "conditions": [{"field": "order_count", "op": "gte", "value": 1}], "is_active": True},
    )
    before = Customer.objects.count()
    with translation.override("en"):
        rows = [{"row": 2, "name": "甲公司", "tags": "有订单，新客户"}]
        result = customer_bulk_upsert(actor=org.admin, rows=rows, key="mobile", rule="fill_empty")  # type: ignore[arg-type]
    assert result.rows[0].outcome == Outcome.INVALID
    assert "“有订单” is a smart tag" in result.rows[0].messages[0]
    assert Customer.objects.count() == before and not Tag.objects.filter(name="新客户").exists()
    assert tagged(rule.tag) == set()


def test_the_customer_form_hides_smart_tags_and_keeps_them(org: Org, shop: Shop) -> None:
    from pearl.customers.forms import CustomerForm

    manual = tag_create(actor=org.admin, data={"name": "老朋友"})
    rule = smart_tag_create(
        actor=org.admin,
        data={"name": "有订单", "conditions": [{"field": "order_count", "op": "gte", "value": 1}], "is_active": True},
    )
    buyer = make_customer(org.owner)
    shop.order(buyer, days_ago(3), [(shop.prawn, "1")])
    figures_rebuild()
    smart_tags_apply()
    form = CustomerForm(actor=org.owner, customer=buyer)
    assert [o["name"] for o in form.tag_options()] == ["老朋友"]
    data = {"kind": "company", "name": buyer.name, "status": buyer.status, "owner": str(org.owner.pk),
            "tags": [str(manual.pk)], "version": buyer.version}  # fmt: skip
    form = CustomerForm(data, actor=org.owner, customer=buyer)
    assert form.is_valid(), form.errors
    assert sorted(form.update_data()["tags"]) == sorted([manual.pk, rule.tag_id])
    customer_update(actor=org.owner, customer_id=buyer.pk, data=form.update_data())
    assert tagged(rule.tag) == {buyer.pk} and tagged(manual) == {buyer.pk}


@pytest.mark.parametrize(
    ("conditions", "key", "fragment"),
    [
        ([{"field": "shoe_size", "op": "gt", "value": 1}], "conditions.0.field", "Unknown field"),
        ([{"field": "revenue_12m", "op": "in", "value": 1}], "conditions.0.op", "operators"),
        ([{"field": "revenue_12m", "op": "gt", "value": "lots"}], "conditions.0.value", "number"),
        ([{"field": "grade", "op": "eq", "value": "Z"}], "conditions.0.value", "one of"),
        (
            [{"field": "category_lapsed", "op": "gt", "value": 18, "category": "火星"}],
            "conditions.0.category",
            "category",
        ),
        ([{"field": "complaints_recent", "op": "gte", "value": 2, "days": 0}], "conditions.0.days", "days"),
        ([], "conditions", "at least one"),
        ("revenue", "conditions", "list"),
    ],
)
def test_bad_conditions_are_refused_with_a_message(org: Org, conditions: Any, key: str, fragment: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        smart_tag_create(actor=org.admin, data={"name": "坏规则", "conditions": conditions})
    assert key in refused.value.field_errors
    assert fragment.lower() in " ".join(refused.value.field_errors[key]).lower()
    assert not Tag.objects.filter(name="坏规则").exists()


def test_the_event_path_is_a_fixed_number_of_queries(org: Org, shop: Shop, customer: Customer) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    rules(org)
    smart_tag_examples_install(actor=org.admin)
    for rule in SmartTagRule.objects.all():
        smart_tag_update(actor=org.admin, rule_id=rule.pk, data={"is_active": True})
    shop.order(customer, days_ago(30), [(shop.crab, "1")])
    with CaptureQueriesContext(connection) as few:
        services.customer_derived_refresh(customer_id=customer.pk, at=NOW)
    for days in range(1, 20):
        shop.order(customer, days_ago(days), [(shop.crab, "1"), (shop.prawn, "1")])
    with CaptureQueriesContext(connection) as many:
        services.customer_derived_refresh(customer_id=customer.pk, at=NOW)
    assert len(many) <= len(few) + 3  # the grade change and its timeline event, not one query per order
    assert len(few) <= 45
