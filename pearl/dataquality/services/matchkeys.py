"""The matcher's blocking keys per customer (``MatchKey``), kept in step with the customers.

``match_keys_refresh`` runs inside every customer write (through ``pearl.core.duplicates``), so a
customer's keys change in the same transaction as its name, address or contacts. A whole base is
keyed at once by ``match_keys_rebuild`` (after a bulk load, or with ``pearl dedupe --reindex``),
with the matcher's column-wise featuriser and raw inserts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from itertools import islice

from django.db import connection, transaction

from pearl.dataquality import selectors
from pearl.dataquality.matching import Record, chinese_config, prepare
from pearl.dataquality.matching.scan import featurize_all
from pearl.dataquality.models import MatchKey

CHUNK = 500
REBUILD_CHUNK = 100_000


def _keys(records: Iterable[Record]) -> set[tuple[str, int]]:
    config = chinese_config()  # the keys do not depend on the configured thresholds
    return {(key, int(record.id)) for record in records for key in prepare(record, config).keys}


def match_keys_refresh(customer_ids: Sequence[int]) -> None:
    """Make the stored keys of these customers what the matcher computes now (deleted customers: none)."""
    ids = sorted({int(i) for i in customer_ids})
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        desired = _keys(selectors.match_records(chunk))
        current = set(MatchKey.objects.filter(customer_id__in=chunk).values_list("key", "customer_id"))
        gone: dict[int, list[str]] = defaultdict(list)
        for key, customer_id in current - desired:
            gone[customer_id].append(key)
        for customer_id, keys in gone.items():
            MatchKey.objects.filter(customer_id=customer_id, key__in=keys).delete()
        MatchKey.objects.bulk_create([MatchKey(key=k, customer_id=c) for k, c in sorted(desired - current)])


def _insert(rows: list[tuple[str, int]]) -> None:
    table = connection.ops.quote_name(MatchKey._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            raw = cursor.cursor  # psycopg's own cursor: COPY is several times faster than INSERT
            with raw.copy(f"COPY {table} (key, customer_id) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.executemany(f"INSERT INTO {table} (key, customer_id) VALUES (%s, %s)", rows)


def match_keys_rebuild(*, workers: int = 2, progress: Callable[[int], None] | None = None) -> int:
    """Recompute every customer's keys from scratch; returns the number of keys written.

    One transaction: readers see the old keys until the new ones are complete.
    """
    config = chinese_config()
    written = 0
    done = 0
    records = selectors.match_records_all()
    with transaction.atomic():
        MatchKey.objects.all().delete()
        while chunk := list(islice(records, REBUILD_CHUNK)):
            batch = featurize_all(chunk, config, workers=workers)
            ids = [int(i) for i in batch.ids]
            rows = sorted({(str(k), ids[int(r)]) for r, k in zip(batch.key_rows, batch.key_values, strict=True)})
            _insert(rows)
            written += len(rows)
            done += len(chunk)
            if progress is not None:
                progress(done)
    if connection.vendor == "sqlite" and done > REBUILD_CHUNK:
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(MatchKey._meta.db_table)}")
    return written
