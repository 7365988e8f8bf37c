"""The idempotency store behind ``Idempotency-Key``: the only writes of ``IdempotencyRecord``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone

from pearl.core.models import IdempotencyRecord

IN_PROGRESS = 0  # status_code of a claimed key whose first request has not answered yet
STALE_CLAIM = dt.timedelta(minutes=5)  # a claim this old belongs to a request that died
KEPT_HEADERS = ("Content-Type", "ETag", "Location")


def claim(user: Any, key: str, method: str, path: str, digest: str) -> tuple[IdempotencyRecord, bool]:
    """(record, claimed): claim the key with an in-progress row, or return whoever holds it.

    The claim is committed before the work runs, so a concurrent retry sees it and is told to wait
    instead of creating a second record.
    """
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                user=user,
                key=key,
                method=method,
                path=path[:255],
                request_hash=digest,
                status_code=IN_PROGRESS,
                response_body="",
                response_headers={},
            )
        return record, True
    except IntegrityError:
        record = IdempotencyRecord.objects.get(user=user, key=key)
    if (
        record.status_code == IN_PROGRESS
        and record.request_hash == digest
        and record.created_at < timezone.now() - STALE_CLAIM
    ):
        taken = IdempotencyRecord.objects.filter(
            pk=record.pk, status_code=IN_PROGRESS, created_at=record.created_at
        ).update(created_at=timezone.now())
        return record, bool(taken)
    return record, False


def complete(record: IdempotencyRecord, response: HttpResponse) -> None:
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        status_code=response.status_code,
        response_body=response.content.decode(response.charset or "utf-8"),
        response_headers={h: response[h] for h in KEPT_HEADERS if h in response},
    )


def release(record: IdempotencyRecord) -> None:
    IdempotencyRecord.objects.filter(pk=record.pk).delete()
