"""The matcher's view of each customer, kept in step with the customers: its blocking keys
(``MatchKey``, looked up by the check while typing) and its features (``MatchRecord``, read by the
batch scan and the check instead of parsing every name and address again).

``match_keys_refresh`` runs inside every customer write (through ``pearl.core.duplicates``), so a
customer's keys and features change in the same transaction as its name, address or contacts. A
whole base is done at once by ``match_keys_rebuild`` (after a bulk load, or ``pearl dedupe
--reindex``), with the matcher's column-wise featuriser and raw inserts.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain, islice
from multiprocessing.pool import AsyncResult

from django.db import connection, transaction

from pearl.core.rows import Packed, insert_rows, pack_pairs, unpack_pairs
from pearl.dataquality import selectors
from pearl.dataquality.matching import MatchConfig, Record, chinese_config
from pearl.dataquality.matching.columns import Batch, stored
from pearl.dataquality.matching.scan import featurize_all
from pearl.dataquality.models import MatchKey, MatchRecord

CHUNK = 500
REBUILD_CHUNK = 100_000  # progress is reported every this many customers
PIPE_CHUNK = 20_000  # customers per worker task: small enough to keep both workers and the writer busy
REFRESHER = "dataquality.matchkeys"  # the name match_keys_refresh is registered under (apps.py)


def match_keys_refresh(customer_ids: Sequence[int]) -> None:
    """Make the stored keys and features of these customers what the matcher computes now.

    Their rows are replaced, not diffed: a batch of new customers (an import) is then two raw
    inserts, and one edited customer four small statements.
    """
    config = chinese_config()  # keys and features do not depend on the configured thresholds
    ids = sorted({int(i) for i in customer_ids})
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        records = selectors.match_records(chunk)
        MatchKey.objects.filter(customer_id__in=chunk).delete()
        MatchRecord.objects.filter(customer_id__in=chunk).delete()
        if records:
            _write(featurize_all(records, config), config)


def _write(batch: Batch, config: MatchConfig) -> int:
    """Insert the keys and features of a featurised batch; returns the number of keys."""
    return _insert(_rows(batch, config))


Rows = tuple[list[tuple[str, int]], list[tuple[int, str]]]


def _rows(batch: Batch, config: MatchConfig) -> Rows:
    """The MatchKey rows (sorted, so the key B-tree is filled in order) and MatchRecord rows of a batch."""
    ids = [int(i) for i in batch.ids]
    keys = sorted({(str(k), ids[int(r)]) for r, k in zip(batch.key_rows, batch.key_values, strict=True)})
    return keys, [(customer_id, stored(batch.row(i), config)) for i, customer_id in enumerate(ids)]


def _insert(rows: Rows) -> int:
    keys, records = rows
    insert_rows(MatchKey._meta.db_table, ("key", "customer_id"), keys)
    insert_rows(MatchRecord._meta.db_table, ("customer_id", "features"), records)
    return len(keys)


def _featurized_rows(records: list[Record]) -> Rows:
    """In a worker process: the rows of these records (featurising is mostly Python, so the
    rebuild uses processes; the worker never touches the database)."""
    config = chinese_config()
    return _rows(featurize_all(records, config), config)


@contextmanager
def _without_key_index() -> Iterator[None]:
    """SQLite: drop the (customer, key) index while the keys are written and build it once at the end:
    one sorted build instead of millions of random inserts into a third B-tree. Plain SQL (Django's
    schema editor refuses to run inside a transaction on SQLite). PostgreSQL keeps it: COPY is fast
    there, and an index cannot be built in a transaction with the foreign keys' checks pending."""
    if connection.vendor != "sqlite":
        yield
        return
    quote = connection.ops.quote_name
    index = next(i for i in MatchKey._meta.indexes if i.name == "matchkey_customer_idx")
    with connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX IF EXISTS {quote(str(index.name))}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE INDEX {quote(str(index.name))} ON {quote(MatchKey._meta.db_table)} "
                           f"({quote('customer_id')}, {quote('key')})")


def match_keys_rebuild(*, workers: int = 2, progress: Callable[[int], None] | None = None) -> int:
    """Recompute every customer's keys and features from scratch; returns the number of keys written.

    One transaction: readers see the old keys until the new ones are complete. With ``workers`` > 1,
    forked processes featurise the next chunks while this process reads customers and writes rows
    (a pipeline: before, the writer waited for each chunk's features and the workers for each write).
    """
    written = 0
    done = 0
    records = selectors.match_records_all()
    with transaction.atomic(), _without_key_index():
        with connection.cursor() as cursor:
            # Everything goes: a plain DELETE lets SQLite drop whole tables' pages at once.
            for model in (MatchKey, MatchRecord):
                cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")
        for count, rows in _featurized_chunks(records, workers):
            written += _insert(rows)
            done += count
            if progress is not None and (done // REBUILD_CHUNK != (done - count) // REBUILD_CHUNK):
                progress(done)
    if progress is not None and done % REBUILD_CHUNK:
        progress(done)
    if done > REBUILD_CHUNK:  # both databases: a table just filled has no statistics (PostgreSQL
        # planned the channel batch's DELETE of new customers' keys as a scan of 6M rows: 543 ms)
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(MatchKey._meta.db_table)}")
    return written


def _featurized_chunks(records: Iterator[Record], workers: int) -> Iterator[tuple[int, Rows]]:
    """(record count, rows) per chunk, in order; the chunks are featurised by ``workers`` forked
    processes, at most ``workers`` chunks ahead of the caller."""
    chunks = iter(lambda: list(islice(records, PIPE_CHUNK)), [])
    if workers <= 1:
        for chunk in chunks:
            yield len(chunk), _featurized_rows(chunk)
        return
    first = next(chunks, [])
    # Featurising a few records here builds the look-up tables (regions, characters…) once; the
    # forked workers inherit them.
    featurize_all(first[:100], chinese_config())
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        pending: deque[tuple[int, AsyncResult[Rows]]] = deque()
        for chunk in chain([first] if first else [], chunks):
            pending.append((len(chunk), pool.apply_async(_featurized_rows, (chunk,))))
            if len(pending) > workers:
                count, result = pending.popleft()
                yield count, result.get()
        while pending:
            count, result = pending.popleft()
            yield count, result.get()


# --- computed ahead, for customers an import is about to create ------------------------------------


@dataclass
class MatchRowsAhead:
    """The MatchKey and MatchRecord rows of customers not created yet, by placeholder (the sheet row
    number): the import's second process featurises its cleaned rows, and the writer inserts these
    for the rows that become new customers instead of reading them back (``match_keys_refresh``).
    A ``pearl.core.duplicates.Ahead``."""

    keys: list[tuple[str, int]]  # (key, placeholder), sorted
    records: list[tuple[int, str]]  # (placeholder, stored features)

    def write(self, ids: Mapping[int, int]) -> list[int]:
        """Insert the rows of the placeholders in ``ids``; returns the customer ids written.

        No delete first, unlike the refresh: the customers are created in this transaction, and a
        key of a customer id that does not exist cannot be stored (foreign key)."""
        # Ids ascend with row numbers (write_creates allocates them in order), so the keys stay sorted.
        keys = [(key, ids[n]) for key, n in self.keys if n in ids]
        records = [(ids[n], text) for n, text in self.records if n in ids]
        _insert((keys, records))
        return [customer_id for customer_id, _text in records]

    # Pickled compactly (it crosses from the second process once per batch): ~7 keys per row.
    def __getstate__(self) -> tuple[Packed, Packed]:
        return pack_pairs(self.keys), pack_pairs([(text, n) for n, text in self.records])

    def __setstate__(self, state: tuple[Packed, Packed]) -> None:
        keys, records = state
        self.keys = unpack_pairs(keys)
        self.records = [(n, text) for text, n in unpack_pairs(records)]


def match_rows_ahead(records: Sequence[Record]) -> MatchRowsAhead:
    """The rows ``match_keys_refresh`` would store for these records (ids: placeholders, as digits),
    computed without the database: the same featuriser and ``_rows``."""
    if not records:
        return MatchRowsAhead([], [])
    config = chinese_config()
    keys, rows = _rows(featurize_all(records, config), config)
    return MatchRowsAhead(keys, rows)
