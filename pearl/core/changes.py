"""Field diffs and the change log: the one place that writes ``ChangeLog`` rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db import models

from pearl.core import context
from pearl.core.models import ChangeAction, ChangeLog


def _plain(value: Any) -> Any:
    """A JSON-safe form of a field value for the before/after snapshot."""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def snapshot(instance: models.Model, fields: list[str]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name in fields:
        field = instance._meta.get_field(name)
        attname = getattr(field, "attname", name)
        data[name] = _plain(getattr(instance, attname))
    return data


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """``{field: [before, after]}`` for every key whose value changed."""
    out: dict[str, list[Any]] = {}
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old != new:
            out[key] = [old, new]
    return out


def _filled(value: Any) -> bool:
    return value not in (None, "", [], {})


def created(after: dict[str, Any]) -> dict[str, list[Any]]:
    """The change of a new record: every field that was given a value."""
    return {k: [None, v] for k, v in sorted(after.items()) if _filled(v)}


def deleted(before: dict[str, Any]) -> dict[str, list[Any]]:
    """The change of a removed record: every value it held."""
    return {k: [v, None] for k, v in sorted(before.items()) if _filled(v)}


def model_update(instance: models.Model, data: dict[str, Any]) -> dict[str, list[Any]]:
    """Set the given fields on ``instance`` and return what changed (does not save)."""
    before = snapshot(instance, list(data))
    for name, value in data.items():
        setattr(instance, name, value)
    return diff(before, snapshot(instance, list(data)))


def record_change(
    *,
    actor: Any,
    action: str,
    instance: models.Model,
    changes: dict[str, list[Any]],
    root: models.Model | None = None,
) -> ChangeLog | None:
    """Write one change-log row; an update that changed nothing writes nothing."""
    if action == ChangeAction.UPDATE and not changes:
        return None
    ctx = context.current()
    root = root or instance
    return ChangeLog.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=str(getattr(actor, "username", "") or "system"),
        channel=ctx.channel,
        request_id=ctx.request_id,
        action=action,
        object_type=instance._meta.label_lower,
        object_id=instance.pk,
        object_repr=str(instance)[:255],
        root_type=root._meta.label_lower,
        root_id=root.pk,
        changes=changes,
    )


def record_changes(*, actor: Any, action: str, items: Iterable[tuple[models.Model, dict[str, list[Any]]]]) -> int:
    """``record_change`` for many records at once (each its own root), one bulk insert: a handover or
    a transfer moves hundreds of rows in one statement and should not log them one INSERT each."""
    ctx = context.current()
    rows = [
        ChangeLog(
            actor=actor if getattr(actor, "pk", None) else None,
            actor_label=str(getattr(actor, "username", "") or "system"),
            channel=ctx.channel,
            request_id=ctx.request_id,
            action=action,
            object_type=instance._meta.label_lower,
            object_id=instance.pk,
            object_repr=str(instance)[:255],
            root_type=instance._meta.label_lower,
            root_id=instance.pk,
            changes=changes,
        )
        for instance, changes in items
        if changes or action != ChangeAction.UPDATE
    ]
    ChangeLog.objects.bulk_create(rows, batch_size=1000)
    return len(rows)
