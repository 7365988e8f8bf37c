"""The import wizard pages: upload → mapping → preview → run (task run synchronously) → report → revert."""

from __future__ import annotations

import datetime
import io
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from pearl.core.testing.personas import Org
from pearl.customers.models import Customer
from pearl.dataquality.models import STALLED_AFTER, ImportJob, ImportPreset
from pearl.dataquality.tests.test_import_jobs import sample_rows, xlsx


def _upload(client: Any, data: bytes, name: str = "客户.xlsx") -> Any:
    return client.post(
        reverse("dataquality:import_new"),
        {"file": SimpleUploadedFile(name, data), "key": "mobile", "rule": "fill_empty", "preset": ""},
    )


def _uploaded(client: Any, org: Org) -> ImportJob:
    """The owner, logged in, with the sample sheet uploaded (and nothing more)."""
    client.force_login(org.owner)
    _upload(client, xlsx(sample_rows()))
    return ImportJob.objects.get()


def _silent_since() -> datetime.datetime:
    """A last-progress time old enough for a checked or running job to count as stalled."""
    return timezone.now() - STALLED_AFTER - datetime.timedelta(minutes=1)


def test_wizard_from_upload_to_revert(
    en: Any, org: Org, immediate_tasks: None, django_capture_on_commit_callbacks: Any
) -> None:
    en.force_login(org.owner)
    page = en.get(reverse("dataquality:import_list"))
    assert page.status_code == 200 and "No imports yet" in page.content.decode()
    assert reverse("dataquality:import_list") in en.get(reverse("customers:customer_list")).content.decode()

    response = _upload(en, xlsx(sample_rows()))
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("dataquality:import_mapping", args=[job.pk])

    mapping = en.get(response["Location"]).content.decode()
    assert 'name="col_0"' in mapping and '<option value="name" selected>' in mapping
    assert "广州测试0号贸易有限公司" in mapping  # first values shown beside the dropdowns

    form = {f"col_{i}": k for i, k in job.mapping.items()} | {"key": "mobile", "rule": "fill_empty"}
    saved = en.post(response["Location"], form | {"save_preset": "1", "name": "销售表"})
    assert saved.status_code == 302 and ImportPreset.objects.get().name == "销售表"
    previewed = en.post(response["Location"], form | {"preview": "1"})
    assert previewed["Location"] == reverse("dataquality:import_detail", args=[job.pk])
    detail = en.get(previewed["Location"]).content.decode()
    assert "Duplicates within the file" in detail and "Import 6 rows" in detail
    assert "Same customer name as row 3" in detail and Customer.objects.count() == 0

    with django_capture_on_commit_callbacks(execute=True):  # the task is enqueued after the commit
        ran = en.post(reverse("dataquality:import_run", args=[job.pk]))
    assert ran.status_code == 302
    job.refresh_from_db()
    assert job.status == "done" and Customer.objects.count() == 6
    progress = en.get(reverse("dataquality:import_progress", args=[job.pk]), HTTP_HX_REQUEST="true")
    assert progress["HX-Refresh"] == "true" and 'value="100"' in progress.content.decode()
    result = en.get(reverse("dataquality:import_detail", args=[job.pk])).content.decode()
    assert "Download the rejected rows" in result and "Revert this import" in result

    report = en.get(reverse("dataquality:import_report", args=[job.pk]))
    assert report.status_code == 200
    rows = list(load_workbook(io.BytesIO(b"".join(report.streaming_content))).active.iter_rows(values_only=True))
    assert len(rows) == 3 and rows[2][0] == "坏号码公司"

    reverted = en.post(reverse("dataquality:import_revert", args=[job.pk]))
    assert reverted.status_code == 302 and Customer.objects.count() == 0
    job.refresh_from_db()
    assert job.status == "reverted"


def test_progress_polls_while_running(en: Any, org: Org) -> None:
    job = _uploaded(en, org)
    ImportJob.objects.filter(pk=job.pk).update(status="running", total_rows=8, rows_processed=4)
    detail = en.get(reverse("dataquality:import_detail", args=[job.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in detail and 'value="50"' in detail
    partial = en.get(reverse("dataquality:import_progress", args=[job.pk]), HTTP_HX_REQUEST="true")
    assert "HX-Refresh" not in partial and 'hx-trigger="every 1s"' in partial.content.decode()


def test_a_run_whose_process_stopped_can_be_resumed_from_the_page(
    en: Any, org: Org, immediate_tasks: None, django_capture_on_commit_callbacks: Any
) -> None:
    """A worker killed mid-run leaves the job "running" with no task behind it: after a few silent
    minutes the page says so and offers to resume, which finishes the import as if nothing happened."""
    job = _uploaded(en, org)
    ImportJob.objects.filter(pk=job.pk).update(status="running")  # claimed, then the process died
    running = en.get(reverse("dataquality:import_detail", args=[job.pk])).content.decode()
    assert "Resume the import" not in running  # it may still be working: nothing to offer yet
    refused = en.post(reverse("dataquality:import_run", args=[job.pk]), follow=True).content.decode()
    assert "cannot be started again" in refused
    silent = _silent_since()
    ImportJob.objects.filter(pk=job.pk).update(updated_at=silent)
    stalled = en.get(reverse("dataquality:import_detail", args=[job.pk])).content.decode()
    assert "Resume the import" in stalled and 'hx-trigger="every 1s"' not in stalled
    with django_capture_on_commit_callbacks(execute=True):
        en.post(reverse("dataquality:import_run", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == "done" and Customer.objects.count() == 6
    assert job.counts == {"created": 6, "updated": 0, "unchanged": 0, "duplicate": 1, "invalid": 1}


def test_pressing_import_twice_queues_one_run(en: Any, org: Org, django_capture_on_commit_callbacks: Any) -> None:
    job = _uploaded(en, org)
    with django_capture_on_commit_callbacks() as queued:
        en.post(reverse("dataquality:import_run", args=[job.pk]))
        again = en.post(reverse("dataquality:import_run", args=[job.pk]), follow=True).content.decode()
    assert len(queued) == 1 and "already queued" in again
    job.refresh_from_db()
    assert job.status == "queued"


def test_a_check_whose_process_stopped_can_be_asked_again(en: Any, org: Org) -> None:
    job = _uploaded(en, org)
    silent = _silent_since()
    ImportJob.objects.filter(pk=job.pk).update(status="previewing", updated_at=silent)
    page = en.get(reverse("dataquality:import_detail", args=[job.pk])).content.decode()
    assert "Check the file again" in page and "Nothing has moved for" in page


def test_rejected_upload_shows_the_reason(en: Any, org: Org) -> None:
    en.force_login(org.owner)
    response = _upload(en, b"%PDF-1.7 something", "scan.xlsx")
    assert response.status_code == 422 and "PDF" in response.content.decode()
    assert ImportJob.objects.count() == 0


def test_unmappable_headers_are_explained_on_the_mapping_page(en: Any, org: Org) -> None:
    en.force_login(org.owner)
    _upload(en, xlsx([["1", "2"]], headers=["甲乙", "丙丁"], title=None))
    job = ImportJob.objects.get()
    page = en.get(reverse("dataquality:import_mapping", args=[job.pk])).content.decode()
    assert "No column is mapped to the customer name" in page


def test_permissions(en: Any, org: Org) -> None:
    en.force_login(org.finance)  # may neither create nor edit
    assert en.get(reverse("dataquality:import_new")).status_code == 403
    assert reverse("dataquality:import_list") not in en.get(reverse("customers:customer_list")).content.decode()
    job = _uploaded(en, org)
    en.force_login(org.outsider)
    assert en.get(reverse("dataquality:import_detail", args=[job.pk])).status_code == 404
    assert en.post(reverse("dataquality:import_run", args=[job.pk])).status_code == 404
