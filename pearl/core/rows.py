"""Appending many rows at once with the fastest plain path of the database: COPY on PostgreSQL,
``executemany`` on SQLite — for bulk writers (the demo loader, imports, the matcher's keys) that have
already checked their rows and want no model instances."""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from typing import Any

from django.db import connection, models


def insert_rows(table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert ``rows`` (tuples in the order of ``columns``) into ``table`` in the current transaction.

    Uses the driver's cursor directly (no per-statement wrapper work); database errors still come
    out as Django's (``IntegrityError`` …).
    """
    if not rows:
        return
    quote = connection.ops.quote_name
    names = ", ".join(quote(c) for c in columns)
    connection.ensure_connection()
    with connection.wrap_database_errors:
        raw = connection.connection
        assert raw is not None
        cursor = raw.cursor()
        try:
            if connection.vendor == "postgresql":
                with cursor.copy(f"COPY {quote(table)} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join("?" for _column in columns)
                cursor.executemany(f"INSERT INTO {quote(table)} ({names}) VALUES ({marks})", rows)
        finally:
            cursor.close()


def allocate_ids(model: type[models.Model], count: int) -> list[int]:
    """``count`` new primary keys of ``model`` for rows written by ``insert_rows`` in this transaction.

    PostgreSQL hands them out from the table's sequence; SQLite has one writer (transactions are
    IMMEDIATE), so the ids after the current maximum stay free until this transaction commits.
    """
    if count <= 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count]
            )
            return [row[0] for row in cursor.fetchall()]
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {connection.ops.quote_name(table)}")
        start = int(cursor.fetchone()[0]) + 1
    return list(range(start, start + count))


Packed = tuple[list[str], bytes]


def pack_pairs(pairs: Sequence[tuple[str, int]]) -> Packed:
    """(text, number) pairs as a list of texts and the numbers' bytes, for pickling across processes:
    the bulk writers receive tens of thousands of them per batch from a worker, and unpickling one
    tuple per pair cost the receiving process more than the worker's computing them saved."""
    return [text for text, _n in pairs], array("q", [n for _t, n in pairs]).tobytes()


def unpack_pairs(packed: Packed) -> list[tuple[str, int]]:
    texts, raw = packed
    numbers = array("q")
    numbers.frombytes(raw)
    return list(zip(texts, numbers, strict=True))
