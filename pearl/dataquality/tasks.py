"""Background work of the data-quality app: tasks take ids and call a service."""

from __future__ import annotations

from django.utils import translation
from huey.contrib.djhuey import db_task

from pearl.accounts.models import User
from pearl.dataquality.services import duplicates
from pearl.dataquality.services.imports import job_preview_run, job_run


@db_task()
def run_import(job_id: int) -> None:
    # job_run marks the job failed (with the message) before re-raising; Huey logs the traceback.
    job_run(job_id=job_id)


@db_task()
def preview_import(job_id: int, user_id: int, language: str) -> None:
    """The dry run of a big file as ``user_id``, who asked for it, in their language (the messages of
    refused rows and any error are stored on the job). job_preview_run records failures on the job."""
    actor = User.objects.filter(pk=user_id).first()  # deactivated meanwhile: the check says it may not
    if actor is None:
        return  # deleted: the job stays "previewing"; its columns may be changed and checked again
    with translation.override(language or None):  # None: the site's default language
        job_preview_run(actor=actor, job_id=job_id)


@db_task()
def scan_duplicates(user_id: int) -> None:
    """The batch duplicate scan as ``user_id`` (whose scope it covers and who any auto-merge is logged to)."""
    actor = User.objects.filter(pk=user_id, is_active=True).first()
    if actor is None:
        return  # the user was deactivated while the scan waited; nothing to scan as
    duplicates.duplicates_scan(actor=actor)
