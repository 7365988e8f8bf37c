"""Reads of the data-quality app: import jobs, their rejected rows, and mapping presets."""

from __future__ import annotations

import hashlib
from pathlib import Path

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.core.errors import NotFound
from pearl.dataquality.choices import ImportStatus
from pearl.dataquality.models import (
    ImportIssue,
    ImportJob,
    ImportPreset,
)


def job_list(*, actor: User) -> QuerySet[ImportJob]:
    """An actor sees the imports they ran; a role that sees all customers sees every import."""
    if actor is None or not actor.is_authenticated or not actor.is_active:
        return ImportJob.objects.none()
    qs = ImportJob.objects.select_related("created_by")
    return qs if actor.data_scope == "all" else qs.filter(created_by=actor)


def job_get(*, actor: User, job_id: int) -> ImportJob:
    job = job_list(actor=actor).filter(pk=job_id).first()
    if job is None:
        raise NotFound(_("Import not found."))
    return job


def job_resumable(*, actor: User, path: Path) -> ImportJob | None:
    """The actor's unfinished run of this very file (same content), which ``pearl import`` resumes."""
    sha = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1024 * 1024):
            sha.update(chunk)
    unfinished = [ImportStatus.QUEUED, ImportStatus.RUNNING, ImportStatus.FAILED]
    return job_list(actor=actor).filter(created_by=actor, sha256=sha.hexdigest(), status__in=unfinished).first()


def job_issues(*, actor: User, job_id: int) -> QuerySet[ImportIssue]:
    return ImportIssue.objects.filter(job=job_get(actor=actor, job_id=job_id)).order_by("row", "id")


def preset_list(*, actor: User) -> QuerySet[ImportPreset]:
    return ImportPreset.objects.all()
