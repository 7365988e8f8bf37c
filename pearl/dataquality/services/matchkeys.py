"""The matcher's view of each customer, kept in step with the customers: its blocking keys
(``MatchKey``, looked up by the check while typing) and its features (``MatchRecord``, read by the
batch scan and the check instead of parsing every name and address again).

``match_keys_refresh`` runs inside every customer write (through ``pearl.core.duplicates``), so a
customer's keys and features change in the same transaction as its name, address or contacts. A
whole base is done at once by ``match_keys_rebuild`` (after a bulk load, or ``pearl dedupe
--reindex``), with the matcher's column-wise featuriser and raw inserts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from itertools import islice

from django.db import connection, transaction

from pearl.core.rows import insert_rows
from pearl.dataquality import selectors
from pearl.dataquality.matching import MatchConfig, chinese_config
from pearl.dataquality.matching.columns import Batch, stored
from pearl.dataquality.matching.scan import featurize_all
from pearl.dataquality.models import MatchKey, MatchRecord

CHUNK = 500
REBUILD_CHUNK = 100_000


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
    ids = [int(i) for i in batch.ids]
    rows = sorted({(str(k), ids[int(r)]) for r, k in zip(batch.key_rows, batch.key_values, strict=True)})
    insert_rows(MatchKey._meta.db_table, ("key", "customer_id"), rows)
    insert_rows(MatchRecord._meta.db_table, ("customer_id", "features"), _stored_rows(batch, ids, config))
    return len(rows)


def _stored_rows(batch: Batch, ids: list[int], config: MatchConfig) -> list[tuple[int, str]]:
    return [(customer_id, stored(batch.row(i), config)) for i, customer_id in enumerate(ids)]


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

    One transaction: readers see the old keys until the new ones are complete.
    """
    config = chinese_config()
    written = 0
    done = 0
    records = selectors.match_records_all()
    with transaction.atomic(), _without_key_index():
        with connection.cursor() as cursor:
            # Everything goes: a plain DELETE lets SQLite drop whole tables' pages at once.
            for model in (MatchKey, MatchRecord):
                cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")
        while chunk := list(islice(records, REBUILD_CHUNK)):
            written += _write(featurize_all(chunk, config, workers=workers), config)
            done += len(chunk)
            if progress is not None:
                progress(done)
    if connection.vendor == "sqlite" and done > REBUILD_CHUNK:
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(MatchKey._meta.db_table)}")
    return written
