"""The review queue pages: pairs side by side with reasons, merge / dismiss / bulk, scan now, settings."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from pearl.core.testing.personas import Org
from pearl.customers.models import Customer
from pearl.customers.tests.factories import make_dupe
from pearl.dataquality.models import DuplicatePair
from pearl.dataquality.services.duplicates import duplicates_scan

QUEUE = reverse("dataquality:duplicate_list")



@pytest.fixture
def pairs(org: Org) -> list[Customer]:
    customers = [
        make_dupe(org.owner, name="广州鑫海海鲜酒楼有限公司", address="广州市天河区天河路100号",
                  contacts=[{"name": "张伟", "mobile": "13800138000"}]),
        make_dupe(org.owner, name="鑫海酒楼", city="广州市", address="天河区天河路100号"),
        make_dupe(org.owner, name="金湾贸易有限公司", city="深圳市", address="南山区科技路8号"),
        make_dupe(org.owner, name="金湾贸易", city="深圳市", contacts=[{"name": "陈静"}]),
    ]  # fmt: skip
    duplicates_scan(actor=org.admin)
    return customers


def _login(client: Any, user: Any) -> Any:
    client.force_login(user)
    return client


def test_queue_shows_pairs_side_by_side_with_reasons(en: Any, org: Org, pairs: list[Customer]) -> None:
    html = _login(en, org.manager).get(QUEUE).content.decode()
    assert "2 pairs waiting for review" in html
    assert "广州鑫海海鲜酒楼有限公司" in html and "鑫海酒楼" in html and "138 0013 8000" in html
    assert "Address" in html and "+7.0" in html and "Last scan" in html
    assert f"ids={pairs[0].pk}&amp;ids={pairs[1].pk}" in html  # the side-by-side merge page
    only_possible = en.get(QUEUE, {"band": "possible"}).content.decode()
    assert "金湾贸易有限公司" in only_possible and "鑫海酒楼" not in only_possible


def test_outsider_sees_no_pairs_and_sales_cannot_merge(en: Any, org: Org, pairs: list[Customer]) -> None:
    client = en
    html = _login(client, org.outsider).get(QUEUE).content.decode()
    assert "鑫海" not in html and "金湾" not in html and "0 pairs waiting" in html
    pair = DuplicatePair.objects.get(left_id=pairs[0].pk)
    response = client.post(reverse("dataquality:duplicate_decide", args=[pair.pk]), {"action": "dismiss"})
    assert response.status_code == 404
    html = _login(client, org.owner).get(QUEUE).content.decode()
    # Sales may edit (dismiss) but not delete, so no merge buttons.
    assert "鑫海酒楼" in html and "Not duplicates" in html and "Quick merge" not in html
    response = client.post(reverse("dataquality:duplicate_decide", args=[pair.pk]), {"action": "merge"})
    assert response.status_code == 403 and Customer.objects.filter(pk=pairs[1].pk).exists()


def test_merge_and_dismiss_posts(en: Any, org: Org, pairs: list[Customer]) -> None:
    _login(en, org.manager)
    merge_pair = DuplicatePair.objects.get(left_id=pairs[0].pk)
    response = en.post(reverse("dataquality:duplicate_decide", args=[merge_pair.pk]), {"action": "merge"})
    assert response.status_code == 302 and response["Location"] == QUEUE
    assert not Customer.objects.filter(pk=pairs[1].pk).exists()
    assert DuplicatePair.objects.get(pk=merge_pair.pk).status == "merged"
    other = DuplicatePair.objects.get(left_id=pairs[2].pk)
    en.post(reverse("dataquality:duplicate_decide", args=[other.pk]), {"action": "dismiss", "next": "http://evil/"})
    assert DuplicatePair.objects.get(pk=other.pk).status == "dismissed"
    html = en.get(QUEUE).content.decode()
    assert "No duplicates waiting for review." in html


def test_bulk_merge_of_selected_pairs(en: Any, org: Org, pairs: list[Customer]) -> None:
    _login(en, org.admin)
    ids = list(DuplicatePair.objects.values_list("pk", flat=True))
    response = en.post(reverse("dataquality:duplicate_bulk_merge"), {"pairs": ids}, follow=True)
    assert "2 pairs merged, 0 skipped" in response.content.decode()
    assert Customer.objects.count() == 2
    response = en.post(reverse("dataquality:duplicate_bulk_merge"), {}, follow=True)
    assert "Tick the pairs to merge first." in response.content.decode()


def test_scan_now_runs_the_task(en: Any, org: Org, immediate_tasks: None) -> None:
    make_dupe(org.owner, name="广州鑫海海鲜酒楼有限公司", address="广州市天河区天河路100号")
    make_dupe(org.owner, name="鑫海酒楼", city="广州市", address="天河区天河路100号")
    _login(en, org.owner)
    response = en.post(reverse("dataquality:duplicate_scan"), follow=True)
    html = response.content.decode()
    assert "The scan has started" in html and "1 pair waiting for review" in html


def test_settings_need_the_settings_right(en: Any, org: Org) -> None:
    url = reverse("dataquality:dedupe_settings")
    assert _login(en, org.manager).get(url).status_code == 403
    _login(en, org.admin)
    bad = en.post(url, {"duplicate_threshold": "10", "possible_threshold": "12"})
    assert bad.status_code == 422 and "must not be above" in bad.content.decode()
    ok = en.post(url, {"duplicate_threshold": "14", "possible_threshold": "9", "auto_merge_duplicates": "on"})
    assert ok.status_code == 302
    html = en.get(QUEUE).content.decode()
    assert "Duplicate from score 14.0, possible from 9.0." in html and "merged automatically" in html
