"""The preview of a big file runs on the task worker, with progress; a small file is still checked
right away. Failures end on the job with a message, never as an error page."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from pearl.core.errors import Conflict, ValidationFailed
from pearl.core.testing.personas import Org
from pearl.customers.models import Customer
from pearl.dataquality.choices import ImportStatus
from pearl.dataquality.models import ImportJob
from pearl.dataquality.services import import_pipeline, imports
from pearl.dataquality.services.imports import (
    job_create,
    job_preview,
    job_preview_request,
    job_preview_run,
    job_set_mapping,
    job_start,
)
from pearl.dataquality.tests.test_import_jobs import sample_rows, xlsx


@pytest.fixture
def big(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file counts as big (the threshold is the pipeline's); the check stays in this process."""
    monkeypatch.setattr(import_pipeline, "PIPELINE_MIN_ROWS", 3)
    monkeypatch.setattr(import_pipeline, "available", lambda: False)


def _upload(org: Org) -> ImportJob:
    return job_create(actor=org.owner, file=io.BytesIO(xlsx(sample_rows())), filename="客户.xlsx")


@pytest.fixture(autouse=True)
def _english() -> Any:
    with translation.override("en"):
        yield


def test_a_small_file_is_checked_right_away(org: Org) -> None:
    job = job_preview_request(actor=org.owner, job_id=_upload(org).pk)
    assert job.status == ImportStatus.PREVIEWED and job.preview["counts"]["created"] == 6


def test_a_big_file_is_checked_in_the_background_with_progress(
    org: Org, big: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = _upload(org)
    expected = job_preview(actor=org.owner, job_id=job.pk).preview  # what the request used to compute
    job_set_mapping(actor=org.owner, job_id=job.pk, mapping={int(i): k for i, k in job.mapping.items()})

    job = job_preview_request(actor=org.owner, job_id=job.pk)
    assert job.status == ImportStatus.PREVIEWING and job.preview == {}
    with pytest.raises(Conflict):  # no run while the file is checked
        job_start(actor=org.owner, job_id=job.pk)

    seen: list[tuple[int, int | None]] = []
    real = imports._dry_run

    def watched(job: ImportJob, actor: Any, batch_size: int, on_rows: Any = None) -> Any:
        def progress(rows: int, expected: int | None) -> None:
            on_rows(rows, expected)
            stored = ImportJob.objects.get(pk=job.pk)
            seen.append((stored.rows_processed, stored.total_rows))

        return real(job, actor, batch_size, progress)

    monkeypatch.setattr(imports, "_dry_run", watched)
    job = job_preview_run(actor=org.owner, job_id=job.pk, batch_size=3)
    assert seen == [(0, 8), (3, 8), (6, 8), (8, 8)]  # rows so far, of the sheet's estimate (its last row − header)
    assert job.status == ImportStatus.PREVIEWED and job.preview == expected
    assert job.total_rows == 8 and job.rows_processed == 0 and job.error == ""
    assert Customer.objects.count() == 0


@pytest.mark.parametrize(
    ("language", "failure", "message"),
    [
        ("en", RuntimeError("disk on fire"), "The file could not be checked: An unexpected error stopped the check."),
        ("zh-hans", RuntimeError("disk on fire"), "无法检查文件：检查因意外错误中断。"),
        ("en", ValidationFailed("The file changed."), "The file could not be checked: The file changed."),
    ],
)
def test_a_failed_background_check_lands_on_the_job(
    org: Org, big: None, monkeypatch: pytest.MonkeyPatch, language: str, failure: Exception, message: str
) -> None:
    job = job_preview_request(actor=org.owner, job_id=_upload(org).pk)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise failure

    monkeypatch.setattr(imports, "_dry_run", broken)
    with translation.override(language):
        job = job_preview_run(actor=org.owner, job_id=job.pk)  # does not raise
    assert job.status == ImportStatus.UPLOADED and job.error.startswith(message)
    assert "disk on fire" not in job.error  # internals stay in the log
    job = job_preview_request(actor=org.owner, job_id=job.pk)  # and it may be checked again
    assert job.status == ImportStatus.PREVIEWING and job.error == ""


def test_a_check_made_stale_by_a_new_mapping_is_dropped(org: Org, big: None) -> None:
    job = job_preview_request(actor=org.owner, job_id=_upload(org).pk)
    mapping = {int(i): k for i, k in job.mapping.items() if k != "grade"}
    job_set_mapping(actor=org.owner, job_id=job.pk, mapping=mapping)
    job = job_preview_run(actor=org.owner, job_id=job.pk)
    assert job.status == ImportStatus.UPLOADED and job.preview == {}


# --- pages ----------------------------------------------------------------------------------------


def _upload_page(client: Any) -> ImportJob:
    data = {"file": SimpleUploadedFile("客户.xlsx", xlsx(sample_rows())), "key": "mobile", "rule": "fill_empty",
            "preset": ""}  # fmt: skip
    client.post(reverse("dataquality:import_new"), data)
    return ImportJob.objects.get()


def test_the_page_shows_the_progress_of_a_big_check_then_its_result(
    en: Any, org: Org, big: None, immediate_tasks: None, django_capture_on_commit_callbacks: Any
) -> None:
    en.force_login(org.owner)
    job = _upload_page(en)
    form = {f"col_{i}": k for i, k in job.mapping.items()} | {"key": "mobile", "rule": "fill_empty", "preview": "1"}
    with django_capture_on_commit_callbacks(execute=False) as queued:  # the worker has not started it yet
        response = en.post(reverse("dataquality:import_mapping", args=[job.pk]), form)
    assert response.status_code == 302 and response["Location"] == reverse("dataquality:import_detail", args=[job.pk])
    assert len(queued) == 1
    detail = en.get(response["Location"]).content.decode()
    assert "Checking the file…" in detail and 'hx-trigger="every 1s"' in detail and "<progress" in detail
    partial = en.get(reverse("dataquality:import_progress", args=[job.pk]), HTTP_HX_REQUEST="true")
    assert "HX-Refresh" not in partial and "Nothing is written yet" in partial.content.decode()

    queued[0]()  # the task worker checks the file (immediate mode: inside this call)
    partial = en.get(reverse("dataquality:import_progress", args=[job.pk]), HTTP_HX_REQUEST="true")
    assert partial["HX-Refresh"] == "true"  # the page reloads and shows the preview
    detail = en.get(response["Location"]).content.decode()
    assert "Import 6 rows" in detail and "Same customer name as row 3" in detail


def test_a_failed_big_check_is_shown_on_the_page(
    client: Any, org: Org, big: None, immediate_tasks: None, monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    client.force_login(org.owner)  # the default language: Simplified Chinese
    job = _upload_page(client)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(imports, "_dry_run", broken)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("dataquality:import_preview", args=[job.pk]))
    assert response.status_code == 302
    page = client.get(reverse("dataquality:import_detail", args=[job.pk]))
    assert page.status_code == 200
    assert "无法检查文件：检查因意外错误中断。" in page.content.decode()
    assert ImportJob.objects.get().status == ImportStatus.UPLOADED
