"""The order list's CSV export: the list's filters and scope, Excel-ready (BOM, Chinese headers),
streamed in keyset chunks."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from pearl.customers.tests.factories import make_customer
from pearl.sales import selectors
from pearl.sales.services import order_transition
from pearl.sales.tests.factories import order, payment

HEADER_ZH = ["订单号", "客户名称", "下单时间", "状态", "金额", "已付", "未付", "负责人"]


def _rows(response: Any) -> list[list[str]]:
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv") and "attachment" in response["Content-Disposition"]
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")  # Excel reads the file as UTF-8
    return list(csv.reader(io.StringIO(body[1:])))


def _client(user: Any, language: str = "zh-hans") -> Client:
    client = Client(headers={"Accept-Language": language})
    client.force_login(user)
    return client


def test_export_has_the_filtered_orders_in_scope_only(org, catalogue) -> None:
    mine = make_customer(org.owner, name="广州鑫海海鲜酒楼有限公司")
    theirs = make_customer(org.outsider, name="=HYPERLINK(1)")  # another team of the manager's region
    above = make_customer(org.admin)  # the company team: above the manager's region, out of scope
    picking = order(org.owner, mine.pk, [(catalogue.prawn, "10")], ordered_at=timezone.now() - dt.timedelta(days=2))
    order_transition(actor=org.owner, order_id=picking.pk, status="picking")
    payment(org.owner, mine.pk, "30")
    placed = order(org.owner, mine.pk, [(catalogue.crab, "1")])
    other_team = order(org.outsider, theirs.pk, [(catalogue.prawn, "1")])
    order_transition(actor=org.outsider, order_id=other_team.pk, status="picking")
    hidden = order(org.admin, above.pk, [(catalogue.prawn, "1")])
    order_transition(actor=org.admin, order_id=hidden.pk, status="picking")

    manager = _client(org.manager)
    rows = _rows(manager.get(reverse("sales:order_export"), {"status": "picking", "page": "3"}))
    assert rows[0] == HEADER_ZH
    by_number = {r[0]: r for r in rows[1:]}
    assert set(by_number) == {picking.number, other_team.number}  # not the placed one, not the hidden one
    assert placed.number not in by_number and hidden.number not in by_number
    when = timezone.localtime(picking.ordered_at).strftime("%Y-%m-%d %H:%M")
    assert by_number[picking.number] == [
        picking.number, "广州鑫海海鲜酒楼有限公司", when, "配货", "100.00", "30.00", "70.00", str(org.owner),
    ]  # fmt: skip
    assert by_number[other_team.number][1] == "'=HYPERLINK(1)"  # a formula is defused
    assert [r[0] for r in rows[1:]] == [other_team.number, picking.number]  # the list's order: newest first

    everything = _rows(manager.get(reverse("sales:order_export")))
    assert {r[0] for r in everything[1:]} == {picking.number, placed.number, other_team.number}
    only_mine = _rows(manager.get(reverse("sales:order_export"), {"customer": mine.pk}))
    assert {r[0] for r in only_mine[1:]} == {picking.number, placed.number}
    assert manager.get(reverse("sales:order_export"), {"customer": above.pk}).status_code == 404

    english = _rows(_client(org.manager, "en").get(reverse("sales:order_export"), {"status": "picking"}))
    assert english[0][:4] == ["Order number", "Customer name", "Ordered at", "Status"]
    assert english[1][3] == "Picking"


def test_export_needs_the_export_right_and_the_list_links_it(org, catalogue, customer) -> None:
    order(org.owner, customer.pk, [(catalogue.prawn, "1")])
    owner = _client(org.owner, "en")  # sales: no export right
    r = owner.get(reverse("sales:order_export"))
    assert r.status_code == 403 and "Your role may not export data." in r.text
    assert reverse("sales:order_export") not in owner.get(reverse("sales:order_list")).text
    manager = _client(org.manager, "en")
    listing = manager.get(reverse("sales:order_list"), {"status": "placed", "page": "1"}).text
    assert f'{reverse("sales:order_export")}?status=placed"' in listing and "Export CSV" in listing
    # The htmx results swap carries the link too, so it follows the filters as they change.
    partial = manager.get(reverse("sales:order_list"), {"q": "SO"}, headers={"HX-Request": "true",
                                                                            "HX-Target": "results"})  # fmt: skip
    assert f'{reverse("sales:order_export")}?q=SO"' in partial.text


def test_export_with_a_bad_filter_says_why(org) -> None:
    r = _client(org.manager, "en").get(reverse("sales:order_export"), {"owner": "abc"})
    assert r.status_code == 400 and "Owner is a user id" in r.text


@pytest.mark.parametrize("filters", [{}, {"overdue": "true"}], ids=["newest-first", "overdue-by-due-date"])
def test_keyset_chunks_read_every_order_once_in_the_list_order(org, catalogue, customer, filters) -> None:
    same_moment = timezone.now() - dt.timedelta(days=40)  # ties on the sort column cross chunk edges
    for days in (0, 40, 40, 40, 40, 50, 60):
        moment = same_moment if days == 40 else timezone.now() - dt.timedelta(days=days)
        order(org.owner, customer.pk, [(catalogue.prawn, "1")], ordered_at=moment)
    expected = [o.pk for o in selectors.order_list(actor=org.owner, filters=filters)]
    assert len(expected) == (7 if not filters else 6)  # 40+ days old: past the 30 days to pay
    for size in (1, 2, 3, 7, 100):
        got = [o.pk for o in selectors.order_export(actor=org.owner, filters=filters, chunk=size)]
        assert got == expected, size
    assert list(selectors.order_export(actor=org.outsider, filters=filters, chunk=2)) == []


def test_export_reads_in_chunks_not_all_at_once(org, catalogue, customer, django_assert_num_queries) -> None:
    for _ in range(5):
        order(org.owner, customer.pk, [(catalogue.prawn, "1")])
    rows = selectors.order_export(actor=org.owner, chunk=2)
    with django_assert_num_queries(1):  # one chunk of two, customer and owner joined in
        first = [next(rows), next(rows)]
        assert first[0].customer.owner == org.owner
    with django_assert_num_queries(2):  # the next chunk, then the last (short) one
        assert len([next(rows), next(rows), next(rows)]) == 3
    assert next(rows, None) is None
