"""Record ids as people and clients send them: an int, a digit string, or a model instance."""

from __future__ import annotations

from typing import Any

MAX_ID = 2**63 - 1  # the largest bigint: no row has a bigger id, and a bigger number would overflow the database


def record_id(value: Any) -> int | None:
    """The id in ``value`` (None for empty); raises ValueError for anything that cannot be a row's id,
    so a service can answer with the field's own message."""
    if value is None or value == "":
        return None
    if hasattr(value, "pk"):
        return int(value.pk)
    if isinstance(value, bool):
        raise ValueError(value)
    number = int(value)
    if not 0 < number <= MAX_ID:
        raise ValueError(value)
    return number
