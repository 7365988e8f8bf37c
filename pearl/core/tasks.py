"""Housekeeping that runs on the task worker."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from pearl.core.models import IdempotencyRecord

IDEMPOTENCY_TTL = dt.timedelta(hours=24)


def idempotency_records_purge(*, now: dt.datetime | None = None) -> int:
    """Forget stored answers older than a day: clients retry within minutes, not days."""
    cutoff = (now or timezone.now()) - IDEMPOTENCY_TTL
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted


@db_periodic_task(crontab(minute="17"))
def purge_idempotency_records() -> int:
    return idempotency_records_purge()
