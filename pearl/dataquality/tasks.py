"""Background work of the data-quality app: tasks take ids and call a service."""

from __future__ import annotations

from huey.contrib.djhuey import db_task

from pearl.accounts.models import User
from pearl.dataquality.services import duplicates
from pearl.dataquality.services.imports import job_run


@db_task()
def run_import(job_id: int) -> None:
    # job_run marks the job failed (with the message) before re-raising; Huey logs the traceback.
    job_run(job_id=job_id)


@db_task()
def scan_duplicates(user_id: int) -> None:
    """The batch duplicate scan as ``user_id`` (whose scope it covers and who any auto-merge is logged to)."""
    actor = User.objects.filter(pk=user_id, is_active=True).first()
    if actor is None:
        return  # the user was deactivated while the scan waited; nothing to scan as
    duplicates.duplicates_scan(actor=actor)
