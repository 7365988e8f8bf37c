"""The data-quality page: completeness and the lists to fix, counted in SQL; the customer filters it links to."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from pearl.core.testing.personas import Org
from pearl.customers import selectors
from pearl.customers.models import ChoiceOption, Customer
from pearl.customers.tests.factories import make_customer
from pearl.dataquality.models import DuplicatePair
from pearl.dataquality.services.quality import months_ago, quality_report

PAGE = reverse("dataquality:quality")


@pytest.fixture
def base(org: Org) -> dict[str, Customer]:
    kind = ChoiceOption.objects.filter(list_name="customer_type").first()
    assert kind is not None
    full = make_customer(
        org.owner, name="广州鑫海海鲜酒楼有限公司", short_name="鑫海", customer_type=kind.pk, province="广东省",
        city="广州市", address="天河路100号", grade="A", contacts=[{"name": "张伟", "mobile": "13800138000"}],
    )  # fmt: skip
    bare = make_customer(org.owner, name="金湾贸易有限公司")
    landline = make_customer(org.owner, name="蓝湾渔具店", contacts=[{"name": "李娜", "mobile": "020-87654321"}])
    orphan = make_customer(org.admin, name="无主商行", owner=None, contacts=[{"name": "王芳", "mobile": "13911112222"}])
    hidden = make_customer(org.outsider, name="二组的客户")
    Customer.objects.filter(pk=bare.pk).update(updated_at=timezone.now() - dt.timedelta(days=400))
    DuplicatePair.objects.create(left_id=full.pk, right_id=bare.pk, score=9, band="possible")
    return {"full": full, "bare": bare, "landline": landline, "orphan": orphan, "hidden": hidden}


def test_report_counts(org: Org, base: dict[str, Customer]) -> None:
    report = quality_report(actor=org.admin)
    assert report.total == 5
    assert (report.no_mobile, report.no_owner, report.stale, report.pending_duplicates) == (3, 1, 1, 1)
    # full: 8/8; bare: name, owner = 2; landline: name, owner = 2; orphan: name, mobile = 2; hidden: 2.
    assert report.histogram[8] == (8, 100, 1) and report.histogram[2] == (2, 25, 4)
    assert report.average == round((8 + 2 * 4) / (5 * 8) * 100, 1)
    assert {k: n for k, _label, n in report.field_counts}["grade"] == 4
    assert {c.pk for c in report.least_complete} == {base[k].pk for k in ("bare", "landline", "orphan", "hidden")}
    assert quality_report(actor=org.admin, stale_months=24).stale == 0


def test_report_is_scoped(org: Org, base: dict[str, Customer]) -> None:
    mine = quality_report(actor=org.owner)
    assert mine.total == 3 and mine.no_owner == 0 and mine.pending_duplicates == 1
    theirs = quality_report(actor=org.outsider)
    assert (theirs.total, theirs.no_mobile, theirs.pending_duplicates) == (1, 1, 0)


def test_page_links_to_the_filtered_lists(admin: Any, org: Org, base: dict[str, Customer]) -> None:
    html = admin.get(PAGE).content.decode()
    assert "Average completeness" in html and "Without a valid mobile" in html and "Not updated for 12 months" in html
    assert "?mobile=missing" in html and "?owner=none" in html and reverse("dataquality:duplicate_list") in html
    assert "Not updated for 3 months" in admin.get(PAGE, {"months": "3"}).content.decode()
    listing = admin.get(reverse("customers:customer_list"), {"mobile": "missing"}).content.decode()
    assert "蓝湾渔具店" in listing and "金湾贸易有限公司" in listing and "广州鑫海海鲜酒楼有限公司" not in listing


def test_customer_filters_added_for_the_page(org: Org, base: dict[str, Customer]) -> None:
    def ids(**filters: str) -> set[int]:
        return set(selectors.customer_list(actor=org.admin, filters=filters).values_list("pk", flat=True))

    assert ids(mobile="missing") == {base[k].pk for k in ("bare", "landline", "hidden")}
    assert ids(mobile="valid") == {base["full"].pk, base["orphan"].pk}
    assert ids(owner="none") == {base["orphan"].pk}
    before = months_ago(timezone.localdate(), 12).isoformat()
    assert ids(updated_before=before) == {base["bare"].pk}


def test_counts_are_set_based(
    admin: Any, org: Org, base: dict[str, Customer], django_assert_max_num_queries: Any
) -> None:
    for n in range(30):
        make_customer(org.owner, name=f"批量客户{n}号")
    with django_assert_max_num_queries(12):
        assert admin.get(PAGE).status_code == 200


def test_months_ago_clamps_to_the_end_of_the_month() -> None:
    assert months_ago(dt.date(2026, 3, 31), 1) == dt.date(2026, 2, 28)
    assert months_ago(dt.date(2026, 1, 15), 12) == dt.date(2025, 1, 15)
