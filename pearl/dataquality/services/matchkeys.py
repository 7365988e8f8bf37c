"""The matcher's view of each customer, kept in step with the customers: its blocking keys
(``MatchKey``, looked up by the check while typing) and its features (``MatchRecord``, read by the
batch scan and the check instead of parsing every name and address again).

``match_keys_refresh`` runs inside every customer write (through ``pearl.core.duplicates``), so a
customer's keys and features change in the same transaction as its name, address or contacts. A
whole base is done at once by ``match_keys_rebuild`` (after a bulk load, or ``pearl dedupe
--reindex``), with the matcher's column-wise featuriser and raw inserts.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from itertools import islice
from typing import Any

from django.db import connection, transaction

from pearl.dataquality import selectors
from pearl.dataquality.matching import MatchConfig, Prepared, Record, chinese_config, prepare
from pearl.dataquality.matching.columns import Batch, stored
from pearl.dataquality.matching.scan import featurize_all
from pearl.dataquality.models import MatchKey, MatchRecord

CHUNK = 500
REBUILD_CHUNK = 100_000


def _prepared(records: Iterable[Record]) -> list[Prepared]:
    config = chinese_config()  # keys and features do not depend on the configured thresholds
    return [prepare(record, config) for record in records]


def match_keys_refresh(customer_ids: Sequence[int]) -> None:
    """Make the stored keys and features of these customers what the matcher computes now."""
    config = chinese_config()
    ids = sorted({int(i) for i in customer_ids})
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        prepared = _prepared(selectors.match_records(chunk))
        desired = {(key, int(p.id)) for p in prepared for key in p.keys}
        current = set(MatchKey.objects.filter(customer_id__in=chunk).values_list("key", "customer_id"))
        gone: dict[int, list[str]] = defaultdict(list)
        for key, customer_id in current - desired:
            gone[customer_id].append(key)
        for customer_id, keys in gone.items():
            MatchKey.objects.filter(customer_id=customer_id, key__in=keys).delete()
        MatchKey.objects.bulk_create([MatchKey(key=k, customer_id=c) for k, c in sorted(desired - current)])
        MatchRecord.objects.filter(customer_id__in=chunk).delete()
        MatchRecord.objects.bulk_create(
            [MatchRecord(customer_id=int(p.id), features=stored(p.features, config)) for p in prepared]
        )


def _insert(table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    quoted = connection.ops.quote_name(table)
    names = ", ".join(columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            raw = cursor.cursor  # psycopg's own cursor: COPY is several times faster than INSERT
            with raw.copy(f"COPY {quoted} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {quoted} ({names}) VALUES ({marks})", rows)


def _stored_rows(batch: Batch, ids: list[int], config: MatchConfig) -> list[tuple[int, str]]:
    names = list(config.features)
    columns = [batch.columns[name] for name in names]
    many = [config.features[name] == "many" for name in names]
    rows = []
    for i, customer_id in enumerate(ids):
        values = [[v for v in col[i] if v] if is_many else col[i] for col, is_many in zip(columns, many, strict=True)]
        rows.append((customer_id, json.dumps(values, ensure_ascii=False, separators=(",", ":"))))
    return rows


def match_keys_rebuild(*, workers: int = 2, progress: Callable[[int], None] | None = None) -> int:
    """Recompute every customer's keys and features from scratch; returns the number of keys written.

    One transaction: readers see the old keys until the new ones are complete.
    """
    config = chinese_config()
    written = 0
    done = 0
    records = selectors.match_records_all()
    with transaction.atomic():
        MatchKey.objects.all().delete()
        MatchRecord.objects.all().delete()
        while chunk := list(islice(records, REBUILD_CHUNK)):
            batch = featurize_all(chunk, config, workers=workers)
            ids = [int(i) for i in batch.ids]
            rows = sorted({(str(k), ids[int(r)]) for r, k in zip(batch.key_rows, batch.key_values, strict=True)})
            _insert(MatchKey._meta.db_table, ("key", "customer_id"), rows)
            _insert(MatchRecord._meta.db_table, ("customer_id", "features"), _stored_rows(batch, ids, config))
            written += len(rows)
            done += len(chunk)
            if progress is not None:
                progress(done)
    if connection.vendor == "sqlite" and done > REBUILD_CHUNK:
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(MatchKey._meta.db_table)}")
    return written
