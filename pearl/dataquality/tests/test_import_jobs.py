"""Import jobs: upload checks, mapping, preview, run in batches, report, revert."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.utils import translation
from openpyxl import Workbook, load_workbook

from pearl.core.errors import Conflict, PermissionDenied, ValidationFailed
from pearl.core.models import ChangeLog
from pearl.core.testing.personas import Org
from pearl.customers.models import Customer, Identity
from pearl.customers.services import customer_update
from pearl.customers.tests.factories import make_customer
from pearl.dataquality.choices import ImportStatus
from pearl.dataquality.models import ImportedRecord, ImportIssue, ImportJob, ImportPreset
from pearl.dataquality.services.imports import (
    job_apply_preset,
    job_create,
    job_preview,
    job_revert,
    job_run,
    job_set_mapping,
    job_start,
)
from pearl.dataquality.services.presets import preset_save

HEADERS = ["客户名称", "联系人", "手机", "地址", "等级", "客户编号"]


def xlsx(rows: list[list[Any]], headers: list[str] = HEADERS, title: str | None = "客户清单") -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    if title:
        sheet.append([title])
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def sample_rows(n: int = 6) -> list[list[Any]]:
    rows: list[list[Any]] = [
        [f"广州测试{i}号贸易有限公司", f"联系人{i}", 13800000000 + i, "广东省广州市天河区天河路385号", "A", f"E-{i}"]
        for i in range(n)
    ]
    rows.append(["广州测试0号贸易有限公司", "重复", 13900000000, "", "B", "E-x"])  # same name as the first row
    rows.append(["坏号码公司", "王", "12345", "", "", "E-y"])  # invalid mobile
    return rows



@pytest.fixture(autouse=True)
def _english() -> Any:
    with translation.override("en"):
        yield


def upload(actor: Any, data: bytes, name: str = "客户.xlsx", **kw: Any) -> ImportJob:
    return job_create(actor=actor, file=io.BytesIO(data), filename=name, **kw)


def test_upload_finds_header_below_title_and_maps_it(org: Org) -> None:
    job = upload(org.owner, xlsx(sample_rows()))
    assert job.status == ImportStatus.UPLOADED and job.header_row == 2
    assert job.mapping == {"0": "name", "1": "contact_name", "2": "mobile", "3": "address", "4": "grade",
                           "5": "external_id"}  # fmt: skip
    assert str(job.file.name).startswith("imports/") and job.sha256


@pytest.mark.parametrize(
    ("data", "name", "code"),
    [
        (b"%PDF-1.4 not a sheet", "a.xlsx", "not_a_spreadsheet"),
        (b"", "empty.csv", "empty_spreadsheet"),
        (",".join(f"列{i}" for i in range(100)).encode() + b"\n" + b"1," * 99 + b"1\n", "wide.csv", "too_many_columns"),
    ],
)
def test_bad_files_are_refused_and_nothing_is_stored(
    org: Org, data: bytes, name: str, code: str, tmp_path: Any
) -> None:
    with pytest.raises(ValidationFailed) as info:
        upload(org.owner, data, name)
    assert getattr(info.value, "code", "") == code and str(info.value.message)
    assert ImportJob.objects.count() == 0
    assert not any(tmp_path.rglob("*.*"))


def test_too_large_file_is_refused(org: Org, monkeypatch: Any) -> None:
    from pearl.dataquality import reader

    defaults = reader.open_sheet.__kwdefaults__ or {}
    monkeypatch.setattr(reader.open_sheet, "__kwdefaults__", {**defaults, "max_bytes": 1000})
    with pytest.raises(ValidationFailed) as info:
        upload(org.owner, xlsx(sample_rows(50)))
    assert "MB" in str(info.value.message) and ImportJob.objects.count() == 0


def test_unmappable_header_gets_a_clear_message(org: Org) -> None:
    job = upload(org.owner, xlsx([["x", "y"]], headers=["甲乙", "丙丁"], title=None))
    with pytest.raises(ValidationFailed) as info:
        job_preview(actor=org.owner, job_id=job.pk)
    assert "customer name" in str(info.value.message)


def test_preview_counts_then_run_imports_and_reports(org: Org) -> None:
    make_customer(org.owner, name="广州测试1号贸易有限公司")  # exists already: an update
    job = upload(org.owner, xlsx(sample_rows()))
    job = job_preview(actor=org.owner, job_id=job.pk, batch_size=3)
    counts = job.preview["counts"]
    assert counts == {"created": 5, "updated": 1, "unchanged": 0, "duplicate": 1, "invalid": 1}
    assert [i["row"] for i in job.preview["issues"]] == [9, 10]
    assert Customer.objects.count() == 1  # the preview wrote nothing
    job_start(actor=org.owner, job_id=job.pk)
    job = job_run(job_id=job.pk, batch_size=3)
    assert job.status == ImportStatus.DONE and job.counts == counts
    assert job.rows_processed == job.total_rows == 8 and job.last_row == 10
    assert Customer.objects.count() == 6
    c = Customer.objects.get(name="广州测试2号贸易有限公司")
    assert (c.province, c.city, c.district, c.address) == ("广东省", "广州市", "天河区", "天河路385号")
    assert Identity.objects.filter(kind="external", value="E-2", customer=c).exists()
    assert ChangeLog.objects.filter(root_id=c.pk, channel="import").exists()
    assert ImportedRecord.objects.filter(job=job, action="created").count() == 5
    report = load_workbook(job.report.path, read_only=True).active
    assert report is not None
    values = list(report.iter_rows(values_only=True))
    assert list(values[0][:6]) == HEADERS and values[0][6] == "Error reason"
    assert [v[0] for v in values[1:]] == ["广州测试0号贸易有限公司", "坏号码公司"]
    assert "row 3" in values[1][6] and "11 digits" in values[2][6]


def test_the_report_is_built_from_the_rows_kept_with_the_issues(org: Org) -> None:
    """Each refused row keeps its values as read, so the report does not read the file a second time
    (a big file's second pass cost seconds in the importing process): it is the same without the file."""
    from pearl.dataquality.services.report import build_report

    job = upload(org.owner, xlsx(sample_rows()))
    job_start(actor=org.owner, job_id=job.pk)
    job = job_run(job_id=job.pk, batch_size=3)
    kept: dict[int, Any] = dict(ImportIssue.objects.filter(job=job).values_list("row", "values"))
    assert kept[10][:3] == ["坏号码公司", "王", "12345"]

    def report_rows() -> list[Any]:
        sheet = load_workbook(job.report.path, read_only=True).active
        assert sheet is not None
        return list(sheet.iter_rows(values_only=True))

    first = report_rows()
    # Issues recorded before they kept their row (an import resumed across the upgrade): the file is read.
    ImportIssue.objects.filter(job=job).update(values=None)
    job.report.name = ""
    assert build_report(job, org.owner) and report_rows() == first
    for row, values in kept.items():
        ImportIssue.objects.filter(job=job, row=row).update(values=values)
    job.file.delete(save=False)
    job.report.name = ""
    assert build_report(job, org.owner)
    again = report_rows()
    assert again == first and len(again) == 3


def test_second_run_of_the_same_file_changes_nothing(org: Org) -> None:
    for _attempt in range(2):
        job = upload(org.owner, xlsx(sample_rows()))
        job_start(actor=org.owner, job_id=job.pk)
        job = job_run(job_id=job.pk)
    assert job.counts["unchanged"] == 6 and job.counts["created"] == job.counts["updated"] == 0
    assert not ImportedRecord.objects.filter(job=job).exists()


def test_mapping_preset_save_and_apply(org: Org) -> None:
    job = upload(org.owner, xlsx(sample_rows()))
    mapping = {int(i): k for i, k in job.mapping.items() if k != "grade"}
    job_set_mapping(actor=org.owner, job_id=job.pk, mapping=mapping, key="external_id", rule="overwrite")
    preset = preset_save(actor=org.owner, job_id=job.pk, name="财务回款表")
    assert preset.mapping["等级"] == "" and preset.key == "external_id"
    reordered = xlsx([[r[5], r[4], r[0], r[1], r[2], r[3]] for r in sample_rows()],
                     headers=["客户编号", "等级", "客户名称", "联系人", "手机", "地址"])  # fmt: skip
    second = upload(org.owner, reordered)
    second = job_apply_preset(actor=org.owner, job_id=second.pk, preset_id=preset.pk)
    assert second.mapping == {"0": "external_id", "2": "name", "3": "contact_name", "4": "mobile", "5": "address"}
    assert (second.key, second.rule) == ("external_id", "overwrite")
    assert upload(org.owner, reordered, preset_id=preset.pk).mapping == second.mapping
    assert ImportPreset.objects.count() == 1


def test_revert_deletes_created_and_restores_updated(org: Org) -> None:
    existing = make_customer(org.owner, name="广州测试1号贸易有限公司")
    job = upload(org.owner, xlsx(sample_rows()))
    job_start(actor=org.owner, job_id=job.pk)
    job_run(job_id=job.pk)
    existing.refresh_from_db()
    assert existing.grade == "A" and existing.contacts.count() == 1
    job = job_revert(actor=org.owner, job_id=job.pk)
    assert job.status == ImportStatus.REVERTED
    assert list(Customer.objects.all()) == [existing]
    existing.refresh_from_db()
    assert (existing.grade, existing.province, existing.contacts.count()) == ("", "", 0)
    assert not Identity.objects.exists()
    restored = ChangeLog.objects.filter(object_id=existing.pk, action="update").first()
    assert restored is not None and restored.changes["grade"] == ["A", ""]
    with pytest.raises(Conflict):
        job_revert(actor=org.owner, job_id=job.pk)


def test_revert_refuses_when_a_customer_changed_since_unless_told(org: Org) -> None:
    job = upload(org.owner, xlsx(sample_rows()))
    job_start(actor=org.owner, job_id=job.pk)
    job_run(job_id=job.pk)
    touched = Customer.objects.get(name="广州测试3号贸易有限公司")
    customer_update(actor=org.owner, customer_id=touched.pk, data={"grade": "C"})
    with pytest.raises(Conflict) as info:
        job_revert(actor=org.owner, job_id=job.pk)
    assert f"#{touched.pk}" in str(info.value.message)
    assert Customer.objects.count() == 6
    job_revert(actor=org.owner, job_id=job.pk, skip_changed=True)
    assert list(Customer.objects.all()) == [touched]


def test_formula_error_rows_are_rejected_per_row(org: Org) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["客户名称", "手机", "数量"])
    sheet.append(["好公司", "13800138000", 1])
    sheet.append(["坏公司", "13800138001", "=1/0"])
    out = io.BytesIO()
    book.save(out)
    # openpyxl writes the formula without a cached value; mark the cached error as Excel would.
    data = out.getvalue()
    job = upload(org.owner, _with_error_cell(data))
    job = job_preview(actor=org.owner, job_id=job.pk)
    assert job.preview["counts"] == {"created": 1, "updated": 0, "unchanged": 0, "duplicate": 0, "invalid": 1}
    assert "#DIV/0!" in job.preview["issues"][0]["messages"][0]


def _with_error_cell(data: bytes) -> bytes:
    import zipfile

    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            content = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = content.replace(
                    b'<c r="C3"><f>1/0</f><v /></c>', b'<c r="C3" t="e"><f>1/0</f><v>#DIV/0!</v></c>'
                )
            dst.writestr(item, content)
    return out.getvalue()


def test_permissions_and_scopes(org: Org) -> None:
    with pytest.raises(PermissionDenied):
        upload(org.finance, xlsx(sample_rows()))
    job = upload(org.owner, xlsx(sample_rows()))
    from pearl.core.errors import NotFound

    with pytest.raises(NotFound):
        job_preview(actor=org.outsider, job_id=job.pk)
    job_preview(actor=org.admin, job_id=job.pk)  # an administrator sees every import


def test_issues_are_kept_per_row(org: Org) -> None:
    job = upload(org.owner, xlsx(sample_rows()))
    job_start(actor=org.owner, job_id=job.pk)
    job_run(job_id=job.pk)
    assert list(ImportIssue.objects.filter(job=job).values_list("row", "kind")) == [(9, "duplicate"), (10, "invalid")]
