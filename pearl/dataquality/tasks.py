"""Background work of the data-quality app: tasks take ids and call a service."""

from __future__ import annotations

from huey.contrib.djhuey import db_task

from pearl.dataquality.services.imports import job_run


@db_task()
def run_import(job_id: int) -> None:
    # job_run marks the job failed (with the message) before re-raising; Huey logs the traceback.
    job_run(job_id=job_id)
