"""What the earlier batches of one import saw, kept on disk so an import's memory does not grow with its file.

A row is a duplicate of an earlier row of the same file when they share the import key, the
customer they matched, a company's legal name or an identity; the first row wins, whichever batch
it was in. Remembering every row's keys in Python dicts cost ~0.6 KB per row (60 MB for a 100,000-row
sheet, a few hundred MB for the biggest file the upload accepts). The keys live instead in a private
temporary SQLite database: SQLite keeps a few MB of pages in memory and the rest in a temporary file
that disappears with the connection. A batch asks for all its keys in one query per kind and adds
its new ones in one ``executemany``, about 10 ms per 2,000-row batch.

The same kinds answer which customers this import created (the duplicate matcher leaves those
alone, so a preview that creates nothing and the run decide the same).
"""

from __future__ import annotations

import enum
import json
import sqlite3
from collections.abc import Iterable
from types import TracebackType

# Pages of the temporary database kept in memory (negative: KiB), beyond which SQLite writes to its file.
CACHE_KIB = 4096


class Seen(enum.IntEnum):
    KEY = 1  # the value of the import key (a mobile, an external id, …)
    NAME = 2  # a company's normalised legal name
    CUSTOMER = 3  # the existing customer a row matched
    IDENTITY = 4  # a phone, email, WeChat id or external id, as "kind:value"
    CREATED = 5  # a customer this import created


class BulkState:
    """First row per key across the batches of one import (``customer_bulk_upsert(state=…)``)."""

    def __init__(self) -> None:
        self._db: sqlite3.Connection | None = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            # "" = a private temporary database on disk, deleted when the connection closes.
            db = sqlite3.connect("", isolation_level=None)
            db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
            db.execute("PRAGMA journal_mode = OFF")
            db.execute("PRAGMA synchronous = OFF")
            db.execute(
                "CREATE TABLE seen (kind INTEGER NOT NULL, key TEXT NOT NULL, row INTEGER NOT NULL, "
                "PRIMARY KEY (kind, key)) WITHOUT ROWID"
            )
            self._db = db
        return self._db

    def first_rows(self, kind: Seen, keys: Iterable[str]) -> dict[str, int]:
        """``{key: first row}`` for those of ``keys`` an earlier call remembered."""
        wanted = list(set(keys))
        if not wanted or self._db is None:
            return {}
        rows = self._db.execute(
            "SELECT key, row FROM seen WHERE kind = ? AND key IN (SELECT value FROM json_each(?))",
            (int(kind), json.dumps(wanted, ensure_ascii=False)),
        )
        return dict(rows)

    def remember(self, kind: Seen, first_rows: Iterable[tuple[str, int]]) -> None:
        """Keep ``(key, row)`` pairs; a key already kept keeps its first row."""
        self._conn().executemany(
            "INSERT OR IGNORE INTO seen (kind, key, row) VALUES (?, ?, ?)",
            ((int(kind), key, row) for key, row in first_rows),
        )

    def add_created(self, customer_ids: Iterable[int]) -> None:
        self.remember(Seen.CREATED, ((str(pk), 0) for pk in customer_ids))

    def created_among(self, customer_ids: Iterable[int]) -> set[int]:
        """Those of ``customer_ids`` this import created."""
        return {int(pk) for pk in self.first_rows(Seen.CREATED, (str(pk) for pk in customer_ids))}

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self) -> BulkState:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
