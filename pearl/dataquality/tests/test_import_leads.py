"""Importing leads with the import wizard: mapping, preview, assignment by rule, duplicates, resume, revert."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from pearl.accounts.models import User
from pearl.accounts.services import token_create
from pearl.core.errors import PermissionDenied, ValidationFailed
from pearl.core.models import ChangeLog
from pearl.core.testing.personas import Org
from pearl.customers.tests.factories import make_customer
from pearl.dataquality.choices import ImportStatus
from pearl.dataquality.models import ImportedRecord, ImportIssue, ImportJob
from pearl.dataquality.services.imports import job_create, job_preview, job_revert, job_run, job_start
from pearl.dataquality.tests.test_import_jobs import xlsx
from pearl.leads import services as lead_services
from pearl.leads.models import AssignmentRule, Lead
from pearl.sales.models import ProductCategory

HEADERS = ["姓名", "公司", "手机", "邮箱", "微信", "来源", "省份", "城市", "意向产品", "备注"]


def lead_rows() -> list[list[Any]]:
    """Rows 2-13 of the sheet: four leads, four invalid rows, four duplicates (see the test below)."""
    return [
        ["张三", "广州鑫海", "13800000001", "", "", "展会", "广东省", "广州市", "冻品", "要报价"],  # 2 rule
        ["李四", "", "13800000002", "", "wx_lisi", "线上询盘", "广东省", "深圳市", "", ""],  # 3 rule
        ["王五", "", "13800000003", "", "", "", "浙江省", "杭州市", "", ""],  # 4 no rule: the importer
        ["", "无名公司", "13800000004", "", "", "", "", "", "", ""],  # 5 no name
        ["赵六", "", "12345", "", "", "", "", "", "", ""],  # 6 bad mobile
        ["钱七", "", "13800000005", "", "", "抖音", "", "", "", ""],  # 7 unknown source
        ["孙八", "", "13800000006", "", "", "", "", "", "火箭", ""],  # 8 unknown product category
        ["周九", "", "13700000001", "", "", "", "", "", "", ""],  # 9 an open lead's mobile
        ["吴十", "", "", "BUYER@haixian.cn", "", "", "", "", "", ""],  # 10 a customer's email
        ["郑十一", "", "13900000011", "", "wx_lisi", "", "", "", "", ""],  # 11 row 3's WeChat id
        ["冯十二", "", "13700000002", "", "", "", "广东省", "", "", ""],  # 12 a closed lead's mobile: fine
        ["陈十三", "", "138-0000-0001", "", "", "", "", "", "", ""],  # 13 row 2's mobile, written otherwise
    ]


@pytest.fixture(autouse=True)
def _english() -> Any:
    with translation.override("en"):
        yield


@pytest.fixture
def world(org: Org) -> dict[str, Any]:
    """A rule for 广东省 (owner and teammate in turn), a product category, an open and a closed lead,
    a customer with an email."""
    rule = lead_services.assignment_rule_create(
        actor=org.admin,
        data={"name": "华南", "members": [org.owner.pk, org.teammate.pk], "conditions": {"provinces": ["广东省"]}},
    )
    ProductCategory.objects.create(name="冻品")
    open_lead = lead_services.lead_create(actor=org.admin, data={"name": "老线索", "mobile": "13700000001"})
    closed = lead_services.lead_create(actor=org.admin, data={"name": "无效线索", "mobile": "13700000002"})
    lead_services.lead_update(
        actor=org.admin, lead_id=closed.pk, data={"status": "disqualified", "disqualify_reason": "空号"}
    )
    customer = make_customer(org.admin, contacts=[{"name": "李采购", "email": "buyer@haixian.cn"}])
    return {"rule": rule, "open_lead": open_lead, "customer": customer}


def upload(actor: User, data: bytes, name: str = "线索.xlsx") -> ImportJob:
    return job_create(actor=actor, file=io.BytesIO(data), filename=name, target="leads")


def job_leads(job: ImportJob) -> list[Lead]:
    ids = ImportedRecord.objects.filter(job=job).values_list("lead_id", flat=True)
    return list(Lead.objects.filter(pk__in=ids).select_related("owner", "source", "product_interest").order_by("pk"))


def test_headers_map_to_lead_fields(org: Org) -> None:
    job = upload(org.manager, xlsx(lead_rows(), headers=HEADERS, title="展会线索"))
    assert job.target == "leads" and job.header_row == 2
    assert job.mapping == {str(i): k for i, k in enumerate(
        ["name", "company", "mobile", "email", "wechat", "source", "province", "city", "product_interest", "note"]
    )}  # fmt: skip
    sheet = xlsx([["王", "鑫海", "13800000001", "冻品"]], headers=["联系人", "单位", "电话", "产品兴趣"])
    other = upload(org.manager, sheet)
    assert other.mapping == {"0": "name", "1": "company", "2": "mobile", "3": "product_interest"}


def test_import_assigns_by_rule_and_reports_invalid_and_duplicate_rows(org: Org, world: dict[str, Any]) -> None:
    job = upload(org.manager, xlsx(lead_rows(), headers=HEADERS, title=None))
    job = job_preview(actor=org.manager, job_id=job.pk, batch_size=5)
    assert job.preview["counts"] == {"created": 4, "updated": 0, "unchanged": 0, "duplicate": 4, "invalid": 4}
    would = {g["rule"]: g["n"] for g in job.preview["assignment"]["rules"].values()}
    assert would == {"华南": 3, "": 1}
    assert Lead.objects.count() == 2  # the preview wrote nothing

    job_start(actor=org.manager, job_id=job.pk)
    job = job_run(job_id=job.pk, batch_size=5)
    assert job.status == ImportStatus.DONE and job.counts == job.preview["counts"]

    made = job_leads(job)
    assert [(x.name, x.owner) for x in made] == [
        ("张三", org.owner), ("李四", org.teammate), ("王五", org.manager), ("冯十二", org.owner),
    ]  # fmt: skip
    first = made[0]
    assert first.assigned_rule == world["rule"] and "华南" in first.assignment_reason
    assert (first.source and first.source.label, first.product_interest and first.product_interest.name) == (
        "展会", "冻品",
    )  # fmt: skip
    assert (first.company, first.province, first.city, first.note) == ("广州鑫海", "广东省", "广州市", "要报价")
    assert made[2].assigned_rule is None and "no rule" in made[2].assignment_reason.lower()
    assert ChangeLog.objects.filter(object_type="leads.lead", object_id=first.pk, channel="import").exists()

    issues = {i.row: (i.kind, i.message) for i in ImportIssue.objects.filter(job=job)}
    assert sorted(issues) == [5, 6, 7, 8, 9, 10, 11, 13]
    assert issues[5] == ("invalid", "Name of the person: Give the person's name.")
    assert issues[6][0] == "invalid" and issues[6][1].startswith("Mobile / phone: ")
    sources = "老客户介绍、电话开发、展会、线上询盘、地推、微信、其他"
    assert issues[7] == ("invalid", f"Source “抖音” is not in the list; allowed: {sources}.")
    assert issues[8][1].startswith("Product category “火箭” does not exist; allowed: 冻品")
    assert issues[9] == ("duplicate", f"Open lead #{world['open_lead'].pk} has the same Mobile / phone 13700000001")
    assert issues[10] == ("duplicate", f"Already customer #{world['customer'].pk} (same Email buyer@haixian.cn)")
    assert issues[11] == ("duplicate", "Same WeChat id wx_lisi as row 3 of this file")
    assert issues[13] == ("duplicate", "Same Mobile / phone 13800000001 as row 2 of this file")

    rules = {g["rule"]: g for g in job.summary["rules"].values()}
    assert rules["华南"]["n"] == 3 and rules[""]["n"] == 1
    assert {k: v["n"] for k, v in job.summary["owners"].items()} == {
        str(org.owner.pk): 2, str(org.teammate.pk): 1, str(org.manager.pk): 1,
    }  # fmt: skip
    report = load_workbook(job.report.path, read_only=True).active
    assert report is not None
    rows = list(report.iter_rows(values_only=True))
    assert rows[0][: len(HEADERS)] == tuple(HEADERS) and len(rows) == 9
    assert rows[8][0] == "陈十三" and "row 2" in rows[8][len(HEADERS)]


def snapshot(job: ImportJob) -> dict[str, Any]:
    job.refresh_from_db()
    leads = [
        (x.name, x.mobile, x.owner_id, x.assigned_rule_id, x.assignment_reason, x.source_id, x.status)
        for x in job_leads(job)
    ]
    issues = list(ImportIssue.objects.filter(job=job).order_by("row").values_list("row", "kind", "message"))
    return {"leads": leads, "issues": issues, "counts": job.counts, "summary": job.summary,
            "last_row": job.last_row, "rows": job.rows_processed, "status": job.status}  # fmt: skip


class Killed(Exception):
    pass


def test_a_run_killed_after_a_batch_resumes_to_the_same_result(org: Org, world: dict[str, Any]) -> None:
    data = xlsx(lead_rows(), headers=HEADERS, title=None)
    clean = upload(org.manager, data)
    job_start(actor=org.manager, job_id=clean.pk)
    expected = snapshot(job_run(job_id=clean.pk, batch_size=5))
    assert expected["counts"]["created"] == 4 and expected["status"] == "done"
    job_revert(actor=org.manager, job_id=clean.pk)  # nobody touched them: all gone again
    AssignmentRule.objects.update(pointer=0)  # and the rule's turn back where it was

    def die(job: ImportJob) -> None:
        raise Killed  # the process stops right after the first batch's commit

    job = upload(org.manager, data)
    job_start(actor=org.manager, job_id=job.pk)
    with pytest.raises(Killed):
        job_run(job_id=job.pk, batch_size=5, on_progress=die)
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED and job.last_row == 6  # rows 2-6: one whole batch
    assert len(job_leads(job)) == 3 and job.created_count == 3

    job_start(actor=org.manager, job_id=job.pk)
    resumed = snapshot(job_run(job_id=job.pk, batch_size=5))
    assert resumed == expected


def test_revert_deletes_untouched_leads_and_keeps_changed_ones(org: Org, world: dict[str, Any]) -> None:
    job = upload(org.manager, xlsx(lead_rows(), headers=HEADERS, title=None))
    job_start(actor=org.manager, job_id=job.pk)
    job = job_run(job_id=job.pk)
    made = job_leads(job)
    followed = made[0]  # its owner called: contacted, version raised
    lead_services.lead_follow_up_add(actor=org.owner, lead_id=followed.pk, summary="已电话沟通")
    edited = made[2]
    lead_services.lead_update(actor=org.admin, lead_id=edited.pk, data={"note": "重要客户"})

    job = job_revert(actor=org.manager, job_id=job.pk)
    assert job.status == ImportStatus.REVERTED
    assert set(Lead.objects.filter(pk__in=[x.pk for x in made]).values_list("pk", flat=True)) == {
        followed.pk, edited.pk,
    }  # fmt: skip
    assert job.summary["kept"] == sorted([followed.pk, edited.pk]) and job.summary["deleted"] == 2
    deleted = ChangeLog.objects.filter(object_type="leads.lead", action="delete", channel="import")
    assert sorted(deleted.values_list("object_id", flat=True)) == sorted(x.pk for x in made[1::2])
    assert Lead.objects.filter(pk=world["open_lead"].pk).exists()  # not the import's: untouched


def test_mapping_without_name_or_contact_is_refused(org: Org) -> None:
    job = upload(org.manager, xlsx([["鑫海", "广东省"]], headers=["公司", "省份"], title=None))
    with pytest.raises(ValidationFailed) as info:
        job_preview(actor=org.manager, job_id=job.pk)
    problems = info.value.field_errors["mapping"]
    assert "lead's name" in str(problems[0]) and "mobile, email or WeChat id" in str(problems[1])


def test_a_file_without_a_valid_row_cannot_run(org: Org, world: dict[str, Any]) -> None:
    rows = [["", "", "13800000009", *[""] * 7], ["老客户", "", "13700000001", *[""] * 7]]
    job = upload(org.manager, xlsx(rows, headers=HEADERS, title=None))
    job = job_preview(actor=org.manager, job_id=job.pk)
    assert job.preview["counts"]["created"] == 0
    assert "No row of this file can become a lead" in job.preview["warnings"][0]
    with pytest.raises(ValidationFailed) as info:
        job_start(actor=org.manager, job_id=job.pk)
    assert "No row of this file can become a lead" in str(info.value.message)
    job.refresh_from_db()
    assert job.status == ImportStatus.PREVIEWED


def test_importing_leads_needs_the_create_right(org: Org) -> None:
    with pytest.raises(PermissionDenied) as info:
        upload(org.service, xlsx(lead_rows(), headers=HEADERS, title=None))  # service may edit, not create
    assert "may not import leads" in str(info.value.message) and ImportJob.objects.count() == 0


def test_upload_page_with_target_leads(en: Any, org: Org, world: dict[str, Any], immediate_tasks: None,
                                      django_capture_on_commit_callbacks: Any) -> None:  # fmt: skip
    en.force_login(org.manager)
    form = en.get(reverse("dataquality:import_new")).content.decode()
    assert 'name="target" value="leads"' in form and "Import leads" in form
    bad = en.post(reverse("dataquality:import_new"), {"file": SimpleUploadedFile("a.xlsx", b"x"), "target": "deals"})
    assert bad.status_code == 422 and "Choose what to import: customers or leads." in bad.content.decode()

    data = xlsx(lead_rows(), headers=HEADERS, title=None)
    upload_form = {"file": SimpleUploadedFile("线索.xlsx", data), "target": "leads"}
    response = en.post(reverse("dataquality:import_new"), upload_form)
    job = ImportJob.objects.get()
    assert response.status_code == 302 and job.target == "leads"
    mapping = en.get(response["Location"]).content.decode()
    assert '<option value="product_interest" selected>' in mapping and 'name="key"' not in mapping
    form_data = {f"col_{i}": k for i, k in job.mapping.items()}
    unnamed = en.post(response["Location"], {k: v for k, v in form_data.items() if v != "name"} | {"preview": "1"})
    assert unnamed.status_code == 422 and "No column is mapped to the lead&#x27;s name" in unnamed.content.decode()

    previewed = en.post(response["Location"], form_data | {"preview": "1"})
    detail = en.get(previewed["Location"]).content.decode()
    assert "New leads" in detail and "Import 4 rows" in detail and "Assigned by rule “华南”: 3 leads" in detail
    with django_capture_on_commit_callbacks(execute=True):
        en.post(reverse("dataquality:import_run", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == "done" and job.created_count == 4
    result = en.get(reverse("dataquality:import_detail", args=[job.pk])).content.decode()
    assert "How the new leads were assigned" in result and "Assigned by rule “华南”: 3 leads" in result
    assert f"Open lead #{world['open_lead'].pk}" in result and org.teammate.username in result

    en.post(reverse("dataquality:import_revert", args=[job.pk]))
    assert "The revert deleted 4 leads." in en.get(reverse("dataquality:import_detail", args=[job.pk])).content.decode()


def test_api_upload_with_target_leads(org: Org, world: dict[str, Any], immediate_tasks: None) -> None:
    _token, secret = token_create(actor=org.manager, user=org.manager, name="t")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}", HTTP_ACCEPT_LANGUAGE="en")
    data = xlsx(lead_rows(), headers=HEADERS, title=None)
    created = api.post("/api/v1/imports", {"file": SimpleUploadedFile("线索.xlsx", data), "target": "leads"})
    assert created.status_code == 201, created.content
    job = created.json()
    assert job["target"] == "leads" and job["columns"][8]["field"] == "product_interest" and job["leads"] == {
        "assigned_by": [], "owners": [], "reverted_deleted": None, "reverted_kept": [],
    }  # fmt: skip
    previewed = api.post(f"/api/v1/imports/{job['id']}/preview").json()
    assert previewed["preview"]["counts"]["created"] == 4
    assert [(a["rule"], a["count"]) for a in previewed["preview"]["assignment"]] == [("华南", 3), ("", 1)]
    done = api.post(f"/api/v1/imports/{job['id']}/run").json()
    assert done["status"] == "done" and [(a["rule"], a["count"]) for a in done["leads"]["assigned_by"]] == [
        ("华南", 3), ("", 1),
    ]  # fmt: skip
    assert {o["owner"]: o["count"] for o in done["leads"]["owners"]} == {
        org.owner.pk: 2, org.teammate.pk: 1, org.manager.pk: 1,
    }  # fmt: skip
    bad = api.post("/api/v1/imports", {"file": SimpleUploadedFile("线索.xlsx", data), "target": "deals"})
    assert bad.status_code == 422
