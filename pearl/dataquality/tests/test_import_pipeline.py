"""The import's second process (import_pipeline) changes nothing but speed: preview, run, issues,
messages and what gets written are the same with it on and off."""

from __future__ import annotations

import io
import multiprocessing
import os
import pickle
from typing import Any

import pytest
from django.utils import translation
from openpyxl import Workbook

from pearl.core import duplicates
from pearl.core.testing.personas import Org
from pearl.customers.models import Customer, CustomerSearchToken
from pearl.customers.services.bulk_rows import CleanRow, Prepared
from pearl.customers.tests.factories import make_customer
from pearl.dataquality.models import ImportIssue, MatchKey, MatchRecord
from pearl.dataquality.services import import_pipeline
from pearl.dataquality.services.imports import job_create, job_preview, job_revert, job_run, job_start
from pearl.dataquality.services.matchkeys import REFRESHER, MatchRowsAhead, match_keys_rebuild

HEADERS = ["客户名称", "联系人", "手机", "地址", "等级", "标签", "客户编号"]


def _sheet() -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["客户清单"])
    sheet.append(HEADERS)
    for i in range(14):
        tag = "VIP" if i < 3 else "vip"  # created by the first batch, named in another spelling later
        sheet.append([f"广州流水{i}号贸易有限公司", f"陈{i % 3}", 13700000000 + i, f"广东省广州市天河区体育西路{i}号",
                      "ABC"[i % 3], tag, f"P-{i}"])  # fmt: skip
    sheet.append(["广州流水1号贸易有限公司", "重复", 13900000001, "", "B", "", "P-x"])  # same name as a row above
    sheet.append(["坏号码公司", "王", "12345", "", "Z", "", "P-y"])  # invalid mobile and grade
    sheet.append(["已有客户有限公司", "老客户", 13600000009, "", "", "", "P-z"])  # an existing customer
    sheet.append(["合计", "17户"])  # a totals row: left out by the reader, in whichever process reads
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture
def pipeline(monkeypatch: pytest.MonkeyPatch) -> Any:
    used: list[bool] = []
    real = import_pipeline.pipelined

    def counted(*args: Any) -> Any:
        used.append(True)
        return real(*args)

    def switch(on: bool) -> list[bool]:
        monkeypatch.setattr(import_pipeline, "PIPELINE_MIN_ROWS", 0 if on else 10**9)
        monkeypatch.setattr(import_pipeline, "available", lambda: on)
        monkeypatch.setattr(import_pipeline, "pipelined", counted)
        used.clear()
        return used

    return switch


def _written(job_id: int) -> dict[str, Any]:
    created = Customer.objects.filter(name__startswith="广州流水").order_by("name")
    ids = list(created.values_list("pk", flat=True))
    fields = ("name", "grade", "province", "city", "address", "search_blob", "name_pinyin", "name_normalized")
    tokens = CustomerSearchToken.objects.filter(customer_id__in=ids).values_list("customer__name", "token")
    issues = ImportIssue.objects.filter(job_id=job_id).order_by("row").values_list("row", "kind", "message")
    return {
        "customers": list(created.values_list(*fields)),
        "tags": sorted((c.name, t.name) for c in created for t in c.tags.all()),
        "tokens": sorted(tokens),
        "keys": sorted(MatchKey.objects.filter(customer_id__in=ids).values_list("customer__name", "key")),
        "issues": list(issues),
    }


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_preview_and_run_are_the_same_with_and_without_the_second_process(
    org: Org, pipeline: Any, language: str
) -> None:
    make_customer(org.admin, name="已有客户有限公司", contacts=[{"name": "老客户", "mobile": "13600000009"}])
    data = _sheet()
    outcomes = []
    with translation.override(language):
        for on in (True, False):
            used = pipeline(on)
            job = job_create(actor=org.admin, file=io.BytesIO(data), filename="客户.xlsx", require_mapping=True)
            preview = job_preview(actor=org.admin, job_id=job.pk, batch_size=4).preview
            job_start(actor=org.admin, job_id=job.pk)
            job = job_run(job_id=job.pk, batch_size=4)
            assert used == ([True, True] if on else [])  # the preview and the run went through the worker
            outcomes.append((preview, job.counts, job.total_rows, _written(job.pk)))
            job_revert(actor=org.admin, job_id=job.pk)  # the next run starts from the same customers
    with_worker, in_process = outcomes
    assert with_worker == in_process
    preview, counts, _total, written = in_process
    assert counts == {"created": 14, "updated": 1, "unchanged": 0, "duplicate": 1, "invalid": 1}
    assert preview["counts"] == counts
    assert preview["skipped_rows"] == [20]  # the worker's reader sent its totals row back
    assert len(written["tags"]) == 14 and len({tag for _name, tag in written["tags"]}) == 1  # one tag, one spelling
    assert written["tokens"] and written["keys"]


def test_a_worker_that_stops_without_a_word_is_an_error() -> None:
    """A worker killed (out of memory, say) must not leave the import waiting for ever."""
    context = multiprocessing.get_context("spawn")
    inbox = context.Queue()
    worker = context.Process(target=os._exit, args=(3,))
    worker.start()
    worker.join()
    with pytest.raises(RuntimeError, match="exit code 3"):
        import_pipeline._receive(inbox, worker)


def test_prepared_batches_cross_processes_compactly() -> None:
    prepared = Prepared([CleanRow(3), CleanRow(5)], [("gz", 3), ("广州", 3), ("广州", 5), ("m137", 5)])
    again = pickle.loads(pickle.dumps(prepared))
    assert again.tokens == prepared.tokens and [r.number for r in again.rows] == [3, 5]
    assert pickle.loads(pickle.dumps(Prepared([]))).tokens == []


def _rich_sheet() -> bytes:
    """Every field the matcher reads: kind, short name, customer type, region columns and a whole
    address, contacts with mobile, email and WeChat (or none), a sheet of people."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    headers = ["客户名称", "简称", "客户性质", "客户类型", "省", "市", "区", "地址", "联系人", "手机", "邮箱", "微信"]
    sheet.append(headers)
    for i in range(12):
        person = i % 4 == 3
        sheet.append([
            f"张{i}号" if person else f"深圳市湾区{i}号科技有限公司", "" if person else f"湾区{i}",
            "个人" if person else "公司", ["批发", "零售", "", "电商"][i % 4], "广东省" if i % 2 else "",
            "深圳市" if i % 2 else "", "南山区" if i % 3 else "", f"科技园南路{i}号" if i % 5 else "",
            "" if i % 6 == 5 else f"李{i}", 13800000100 + i if i % 3 else "", f"p{i}@example.cn" if i % 2 else "",
            f"wx_bay{i}" if i % 4 else "",
        ])  # fmt: skip
    sheet.append(["深圳市湾区1号科技有限公司", "", "公司", "", "", "", "", "", "", "", "", ""])  # duplicate in the file
    sheet.append(["已有客户有限公司", "", "", "零售", "", "", "", "", "", 13600000009, "", ""])  # updated
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _match_rows() -> tuple[list[tuple[str, int]], list[tuple[int, str]]]:
    return (
        sorted(MatchKey.objects.values_list("key", "customer_id")),
        sorted(MatchRecord.objects.values_list("customer_id", "features")),
    )


def test_match_keys_from_the_second_process_equal_a_rebuild(
    org: Org, pipeline: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """New customers get the matcher's keys and features computed by the second process (not read
    back and featurised in the writer); they are exactly what a rebuild computes from the database."""
    existing = make_customer(org.admin, name="已有客户有限公司", contacts=[{"name": "老客户", "mobile": "13600000009"}])
    refreshed: list[int] = []
    real = duplicates._registry.refreshers[REFRESHER]

    def counted(ids: Any) -> None:
        refreshed.extend(ids)
        real(ids)

    monkeypatch.setitem(duplicates._registry.refreshers, REFRESHER, counted)
    used = pipeline(True)
    job = job_create(actor=org.admin, file=io.BytesIO(_rich_sheet()), filename="客户.xlsx", require_mapping=True)
    job_start(actor=org.admin, job_id=job.pk)
    job = job_run(job_id=job.pk, batch_size=5)
    assert used == [True]
    assert job.counts == {"created": 12, "updated": 1, "unchanged": 0, "duplicate": 1, "invalid": 0}
    created = {pk for pk in job.records.filter(action="created").values_list("customer_id", flat=True) if pk}
    assert refreshed == [existing.pk]  # only the updated customer went through the refresh
    assert Customer.objects.filter(pk__in=created, customer_type__isnull=False).exists()
    assert Customer.objects.filter(pk__in=created, kind="individual").exists()
    assert set(MatchRecord.objects.values_list("customer_id", flat=True)) >= created

    imported = _match_rows()
    match_keys_rebuild(workers=1)
    assert _match_rows() == imported


def test_match_rows_ahead_cross_processes_compactly() -> None:
    ahead = MatchRowsAhead([("m:138", 3), ("nc:x", 3), ("nc:y", 5)], [(3, "a\x1fb"), (5, "")])
    again = pickle.loads(pickle.dumps(ahead))
    assert again == ahead
    assert pickle.loads(pickle.dumps(MatchRowsAhead([], []))) == MatchRowsAhead([], [])


def test_the_worker_forgets_the_sheets_values_after_each_batch() -> None:
    """The per-value caches would otherwise grow with the file (the worker went 362 → 828 MB from
    20k to 100k rows); the results stay the same (the tests above run the worker)."""
    from pearl.customers import search
    from pearl.dataquality.matching import normalize

    search.cached_name_terms("广州鑫海海鲜酒楼有限公司")
    normalize.parse_company_name("广州鑫海海鲜酒楼有限公司")
    normalize.parse_address("广东省广州市天河区体育西路1号")
    normalize.phone("138 0013 8000")
    import_pipeline._forget_names()
    caches = (search.cached_name_terms, search._text_syllables, search._word_syllables,
              normalize.parse_company_name, normalize.phone, normalize.parse_address)  # fmt: skip
    assert [c.cache_info().currsize for c in caches] == [0] * len(caches)
