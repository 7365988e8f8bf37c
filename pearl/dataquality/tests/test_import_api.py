"""/api/v1/imports: upload, mapping, preview, run, progress, report, revert."""

from __future__ import annotations

import datetime
import io
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from pearl.accounts.services import token_create
from pearl.core.testing.personas import Org
from pearl.customers.models import Customer
from pearl.dataquality.models import STALLED_AFTER, ImportJob
from pearl.dataquality.tests.test_import_jobs import sample_rows, xlsx


def _client(user: Any) -> Client:
    _token, secret = token_create(actor=user, user=user, name="t")
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}", HTTP_ACCEPT_LANGUAGE="en")


def _upload(client: Client, data: bytes, name: str = "客户.xlsx") -> Any:
    return client.post("/api/v1/imports", {"file": SimpleUploadedFile(name, data)})


def test_import_through_the_api(org: Org, immediate_tasks: None) -> None:
    api = _client(org.owner)
    created = _upload(api, xlsx(sample_rows()))
    assert created.status_code == 201, created.content
    job = created.json()
    assert job["status"] == "uploaded" and created["Location"].endswith(f"/imports/{job['id']}")
    assert job["columns"][0] == {"index": 0, "header": "客户名称", "field": "name"}

    patched = api.patch(
        f"/api/v1/imports/{job['id']}", {"mapping": {"0": "name", "2": "mobile"}, "rule": "overwrite"},
        content_type="application/json",
    )  # fmt: skip
    assert patched.status_code == 200 and patched.json()["rule"] == "overwrite"
    assert [c["field"] for c in patched.json()["columns"]][:3] == ["name", None, "mobile"]

    preview = api.post(f"/api/v1/imports/{job['id']}/preview")
    assert preview.status_code == 200
    assert preview.json()["preview"]["counts"] == {"created": 6, "updated": 0, "unchanged": 0, "duplicate": 1,
                                                   "invalid": 1}  # fmt: skip
    assert Customer.objects.count() == 0

    ran = api.post(f"/api/v1/imports/{job['id']}/run")
    assert ran.status_code == 202
    progress = api.get(f"/api/v1/imports/{job['id']}").json()
    assert progress["status"] == "done" and progress["percent"] == 100 and progress["counts"]["created"] == 6
    assert progress["stalled"] is False
    assert progress["report_url"].endswith(f"/imports/{job['id']}/report")

    report = api.get(f"/api/v1/imports/{job['id']}/report")
    assert report.status_code == 200
    content = b"".join(report.streaming_content)  # type: ignore[attr-defined]  # a FileResponse
    sheet = load_workbook(io.BytesIO(content)).active
    assert sheet is not None and sheet.max_row == 3

    reverted = api.post(f"/api/v1/imports/{job['id']}/revert", {}, content_type="application/json")
    assert reverted.status_code == 200 and reverted.json()["status"] == "reverted"
    assert Customer.objects.count() == 0
    again = api.post(f"/api/v1/imports/{job['id']}/run")
    assert again.status_code == 409 and again["Content-Type"].startswith("application/problem+json")


def test_a_stalled_run_is_reported_and_resumed_through_the_api(org: Org, immediate_tasks: None) -> None:
    api = _client(org.owner)
    job_id = _upload(api, xlsx(sample_rows())).json()["id"]
    ImportJob.objects.filter(pk=job_id).update(status="running")  # claimed, then its process died
    assert api.get(f"/api/v1/imports/{job_id}").json()["stalled"] is False
    assert api.post(f"/api/v1/imports/{job_id}/run").status_code == 409  # it may still be working
    silent = timezone.now() - STALLED_AFTER - datetime.timedelta(minutes=1)
    ImportJob.objects.filter(pk=job_id).update(updated_at=silent)
    assert api.get(f"/api/v1/imports/{job_id}").json()["stalled"] is True
    resumed = api.post(f"/api/v1/imports/{job_id}/run")
    assert resumed.status_code == 202 and resumed.json()["status"] == "done" and Customer.objects.count() == 6


def test_bad_upload_is_a_problem_and_stores_nothing(org: Org) -> None:
    response = _upload(_client(org.owner), b"\x89PNG\r\n\x1a\n....", "photo.xlsx")
    assert response.status_code == 422 and response.json()["code"] == "not_a_spreadsheet"
    assert "PNG" in response.json()["detail"]


def test_other_users_and_roles(org: Org) -> None:
    job = _upload(_client(org.owner), xlsx(sample_rows())).json()
    outsider = _client(org.outsider)
    assert outsider.get(f"/api/v1/imports/{job['id']}").status_code == 404
    assert outsider.post(f"/api/v1/imports/{job['id']}/preview").status_code == 404
    assert _upload(_client(org.finance), xlsx(sample_rows())).status_code == 403
    assert Client().get(f"/api/v1/imports/{job['id']}").status_code == 401
