"""The import wizard as a sales manager clicks through it: upload a messy .xlsx, check the automatic
column mapping, read the preview counts, import on the real task worker while the page polls the
progress, download the rejected-rows report and find an imported customer by pinyin initials."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connections
from django.urls import reverse
from django.utils import translation
from huey.contrib.djhuey import HUEY
from huey.signals import SIGNAL_COMPLETE, SIGNAL_ERROR
from openpyxl import Workbook, load_workbook
from playwright.sync_api import expect

from pearl.core.phones import INVALID_PHONE
from pearl.core.testing.personas import PASSWORD
from pearl.customers.models import Customer
from pearl.customers.tests.factories import make_customer
from pearl.dataquality.models import ImportJob

pytestmark = pytest.mark.browser

EXISTING_MOBILE = "13712345678"
HEADERS = ["客户名称", "联系人", "手机", "地址", "客户类型"]
ROWS: list[list[Any]] = [
    # A mobile Excel turned into a float, stored as text.
    ["佛山顺德鱼档贸易有限公司", "陈海", "1.38001380000E10", "广东省佛山市顺德区大良街道凤山路8号", "餐饮"],
    ["东莞虎门海味批发有限公司", "林峰", 13912345678, "广东省东莞市虎门镇连升路12号", "批发"],
    [None, None, None, None, None],  # a blank row in the middle
    ["坏号码贸易有限公司", "王五", "12345", "广东省广州市天河区体育西路1号", "零售"],  # invalid mobile
    # An existing customer (same mobile), without an address so far.
    ["深圳金湾冻品贸易有限公司", "王强", EXISTING_MOBILE, "广东省深圳市南山区南海大道2000号", "批发"],
]
BAD_ROW_NUMBER = 6  # title (1), header (2), three rows and a blank one above it


def messy_xlsx(path: Path) -> Path:
    """A title block above the header, a merged title cell, a blank row and a totals row below."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "客户"
    sheet.append(["2026年第一季度 新客户清单（销售二部）"])
    sheet.merge_cells("A1:E1")
    sheet.append(HEADERS)
    for row in ROWS:
        sheet.append(row)
    sheet.append(["合计", "", "", "", "4 家"])
    book.save(path)
    return path


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def start_worker() -> Iterator[Callable[[], None]]:
    """The Huey consumer `pearl serve` runs in-process, started on demand in this process.

    Not Huey's immediate mode: the run view only enqueues the task, a worker thread picks it up,
    and the page learns the job finished by polling the progress partial, as in production.
    """
    from pearl.core.management.commands.serve import start_inprocess_worker

    assert not HUEY.immediate, "the test must go through the queue, not run the task inside the request"
    HUEY.flush()  # a task left by an interrupted earlier run would name a job of another database

    def close_connections(signal: str, task: Any, *args: Any) -> None:
        # Runs in the worker thread after each task. Workers keep their connection (CONN_MAX_AGE),
        # and PostgreSQL would then refuse to drop the test database at the end of the session.
        connections.close_all()

    HUEY.signal(SIGNAL_COMPLETE, SIGNAL_ERROR)(close_connections)
    consumers: list[Any] = []
    yield lambda: consumers.append(start_inprocess_worker())
    for consumer in consumers:
        consumer.stop(graceful=True)
    HUEY.disconnect_signal(close_connections, SIGNAL_COMPLETE, SIGNAL_ERROR)
    HUEY.flush()


def test_import_wizard_preview_progress_report_and_search(
    page: Any, live_server: Any, org: Any, log_in: Any, tmp_path: Path, start_worker: Callable[[], None]
) -> None:
    existing = make_customer(
        org.manager, name="深圳金湾冻品贸易有限公司", contacts=[{"name": "王强", "mobile": EXISTING_MOBILE}]
    )
    assert existing.address == ""
    before = Customer.objects.count()
    upload = messy_xlsx(tmp_path / "新客户清单.xlsx")
    log_in(page, "manager", PASSWORD)

    # Upload: from the nav, through the list of imports.
    page.locator("header").get_by_role("link", name="Import", exact=True).click()
    page.wait_for_url(live_server.url + reverse("dataquality:import_list"))
    page.get_by_role("link", name="Import a spreadsheet").click()
    page.get_by_label("Spreadsheet").set_input_files(str(upload))
    expect(page.get_by_label("Find existing customers by")).to_have_value("mobile")
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url(re.compile(r"/imports/\d+/mapping/$"))
    job = ImportJob.objects.get()

    # Mapping: the header was found below the title and each Chinese header mapped to its field.
    expect(page.locator("main, body").first).to_contain_text("Header row 2")
    expected = {"客户名称": "name", "联系人": "contact_name", "手机": "mobile", "地址": "address",
                "客户类型": "customer_type"}  # fmt: skip
    for header, field in expected.items():
        expect(page.get_by_label(header, exact=True)).to_have_value(field)
    expect(page.locator("#mapping-form")).to_contain_text("佛山顺德鱼档贸易有限公司")  # first values shown
    page.get_by_role("button", name="Check the file (preview)").click()
    page.wait_for_url(live_server.url + reverse("dataquality:import_detail", args=[job.pk]))

    # Preview: two new, the existing customer found by its mobile (its address will be filled), one invalid.
    counts = page.locator("dl.props").first
    expect(counts.locator("dt:has-text('New customers') + dd")).to_have_text("2")
    expect(counts.locator("dt:has-text('Existing customers updated') + dd")).to_have_text("1")
    expect(counts.locator("dt:has-text('Invalid rows') + dd")).to_have_text("1")
    expect(counts.locator("dt:has-text('Duplicates within the file') + dd")).to_have_text("0")
    refused = page.locator("section", has_text="Rows that will not be imported")
    expect(refused.locator("tbody tr")).to_have_count(1)
    expect(refused.locator("tbody tr td").first).to_have_text(str(BAD_ROW_NUMBER))
    assert Customer.objects.count() == before  # a dry run writes nothing

    # Run: the task is queued; the page shows the progress card and polls it.
    page.get_by_role("button", name="Import 3 rows").click()
    page.wait_for_url(live_server.url + reverse("dataquality:import_detail", args=[job.pk]))
    progress = page.locator("#import-progress")
    expect(progress).to_be_visible()
    expect(progress).to_have_attribute("hx-trigger", "every 1s")
    expect(page.locator(".status").first).to_have_text("Waiting to run")
    page.evaluate("window.__beforeDone = true")
    start_worker()
    # The worker finishes, the next poll answers HX-Refresh, and the page reloads with the result.
    result = page.locator("section.card", has=page.get_by_role("heading", name="Result"))
    expect(result).to_be_visible(timeout=15_000)
    assert page.evaluate("window.__beforeDone") is None  # reloaded by htmx, not by this test
    expect(page.locator(".status").first).to_have_text("Done")
    expect(progress).to_have_count(0)
    expect(result.locator("dt:has-text('New customers') + dd")).to_have_text("2")
    expect(result.locator("dt:has-text('Invalid rows') + dd")).to_have_text("1")
    expect(page.locator("section", has_text="Rows not imported").locator("tbody tr")).to_have_count(1)

    # The rejected-rows report: an .xlsx with the original header, the bad row and its reason.
    with page.expect_download() as info:
        page.get_by_role("link", name="Download the rejected rows (.xlsx)").click()
    download = info.value
    assert download.suggested_filename.endswith(".xlsx")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    sheet = load_workbook(saved, read_only=True).active
    assert sheet is not None
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0][: len(HEADERS)] == HEADERS and len(rows[0]) == len(HEADERS) + 2
    assert len(rows) == 2, rows
    assert rows[1][:3] == ["坏号码贸易有限公司", "王五", "12345"]
    with translation.override("zh-hans"):  # the worker writes in the site's language, Chinese
        assert str(INVALID_PHONE) in rows[1][len(HEADERS)]
    assert rows[1][len(HEADERS) + 1] == BAD_ROW_NUMBER

    # What was written: the mangled mobile read right, the existing customer's empty address filled.
    foshan = Customer.objects.get(name="佛山顺德鱼档贸易有限公司")
    assert list(foshan.contacts.values_list("mobile", flat=True)) == ["13800138000"]
    existing.refresh_from_db()
    assert existing.address and "南海大道" in existing.address
    assert Customer.objects.count() == before + 2
    assert not Customer.objects.filter(name__in=["坏号码贸易有限公司", "合计"]).exists()

    # Find an imported customer in the list by the pinyin initials of 顺德鱼档.
    page.locator("header").get_by_role("link", name="Customers", exact=True).click()
    page.locator("input[name=q]").press_sequentially("sdyd", delay=40)
    expect(page.locator("#result-count")).to_have_text("1 customer")
    page.locator("#results").get_by_role("link", name="佛山顺德鱼档贸易有限公司").click()
    page.wait_for_url(live_server.url + reverse("customers:customer_detail", args=[foshan.pk]))
    expect(page.locator("#contacts")).to_contain_text("138 0013 8000")


def test_a_big_files_preview_runs_on_the_worker_with_progress(
    page: Any, live_server: Any, org: Any, log_in: Any, tmp_path: Path, start_worker: Callable[[], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A file as big as makes the import use its second process is checked on the task worker: the page
    shows a progress card instead of holding the request, then reloads into the usual preview."""
    from pearl.dataquality.services import import_pipeline

    monkeypatch.setattr(import_pipeline, "PIPELINE_MIN_ROWS", 3)  # the 5-row sheet counts as big here
    upload = messy_xlsx(tmp_path / "大表.xlsx")
    log_in(page, "manager", PASSWORD)
    page.goto(live_server.url + reverse("dataquality:import_new"))
    page.get_by_label("Spreadsheet").set_input_files(str(upload))
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url(re.compile(r"/imports/\d+/mapping/$"))
    job = ImportJob.objects.get()
    page.get_by_role("button", name="Check the file (preview)").click()
    page.wait_for_url(live_server.url + reverse("dataquality:import_detail", args=[job.pk]))

    progress = page.locator("#import-progress")
    expect(progress.get_by_role("heading")).to_have_text("Checking the file…")
    expect(progress).to_have_attribute("hx-trigger", "every 1s")
    expect(progress.get_by_role("link", name="Change the columns")).to_be_visible()
    job.refresh_from_db()
    assert job.status == "previewing" and job.preview == {}
    start_worker()
    counts = page.locator("dl.props").first
    expect(counts.locator("dt:has-text('New customers') + dd")).to_have_text("3", timeout=30_000)
    expect(counts.locator("dt:has-text('Invalid rows') + dd")).to_have_text("1")
    expect(progress).to_have_count(0)
    job.refresh_from_db()
    assert job.status == "previewed" and job.total_rows == 4
    assert not Customer.objects.exists()  # a dry run writes nothing
