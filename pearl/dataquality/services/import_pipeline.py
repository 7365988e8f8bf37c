"""The CPU half of an import, in a second process: while this process matches and writes batch n,
a worker splits the addresses, validates the rows (``clean_row``) and builds the search documents and
the duplicate matcher's keys and features of the next batches.

SQLite has one writer, so the writes stay here; the worker never touches the database. It is
started with "spawn" (no inherited database connection), sets Django up itself and receives the
import's ``Lookups`` once, pickled. The rows it validates are exactly what ``customer_bulk_upsert``
would have validated: same function, same tables; tags created by earlier batches are applied to
its results here (``bulk_rows.refresh_tags``). At most ``AHEAD`` batches wait, so memory does not
grow with the file.

This module is imported by the worker before Django is set up: model imports stay inside functions.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pearl.customers.services.bulk_rows import CustomerRowIn, Lookups, Prepared

# Below this many rows the worker's start-up (a Python process setting Django up, ~1-2 s of CPU)
# costs more than it saves.
PIPELINE_MIN_ROWS = 5_000
AHEAD = 2  # batches prepared ahead of the writer

_lookups: Lookups | None = None


def available() -> bool:
    """A second process only helps with a second CPU."""
    return (os.cpu_count() or 1) >= 2


def prepare(lookups: Lookups, data: list[CustomerRowIn], parse_address: bool) -> Prepared:
    """Split addresses (when the sheet has one address column), validate, index: one batch's CPU work.

    The index work covers every row that may create a customer: its search tokens and the duplicate
    matcher's keys and features, featurised from the values the customer will have (which rows are
    created is only known in the writer; the others' rows are dropped there)."""
    from pearl.customers.services.bulk_create import matcher_values
    from pearl.customers.services.bulk_create import prepare as prepare_search
    from pearl.customers.services.bulk_rows import clean_row
    from pearl.dataquality.matching import Record
    from pearl.dataquality.services.addresses import split_addresses
    from pearl.dataquality.services.matchkeys import REFRESHER, match_rows_ahead

    if parse_address:
        split_addresses(data)  # type: ignore[arg-type]  # CustomerRowIn is a str-keyed dict
    prepared = prepare_search([clean_row(lookups, row) for row in data])
    records = [
        Record(id=str(row.number), **matcher_values(row))
        for row in prepared.rows
        if not row.errors and row.customer.get("name")
    ]
    prepared.ahead[REFRESHER] = match_rows_ahead(records)
    return prepared


def _init(lookups: bytes, language: str | None) -> None:
    import django
    from django.utils import translation

    django.setup()
    # The messages of refused rows are in the language of whoever runs the import, as in-process.
    if language:
        translation.activate(language)
    global _lookups
    _lookups = pickle.loads(lookups)  # pickled by the parent process a moment ago


def _prepare_in_worker(data: list[CustomerRowIn], parse_address: bool) -> Prepared:
    assert _lookups is not None
    try:
        return prepare(_lookups, data, parse_address)
    finally:
        _forget_names()


def _forget_names() -> None:
    """Empty the per-value caches that fill with the sheet's names, phones and addresses.

    They are sized for the demo loader (200–260k entries, where names repeat), but an import's
    company names and addresses are nearly all distinct, so the caches only held memory: the worker
    grew from 362 MB (20k rows) to 828 MB (100k rows). Emptied after each batch it stays flat; the
    look-up tables (regions, dictionary words) are not caches of values and stay.
    """
    from pearl.customers import search
    from pearl.dataquality.matching import normalize

    for cached in (search.cached_name_terms, search._text_syllables, normalize.parse_company_name,
                   normalize.phone, normalize.parse_address):  # fmt: skip
        cached.cache_clear()


def pipelined(
    lookups: Lookups, batches: Iterable[tuple[Any, list[CustomerRowIn]]], parse_address: bool
) -> Iterator[tuple[Any, list[CustomerRowIn], Prepared]]:
    """``(tag, rows, prepared rows)`` for every ``(tag, rows)`` of ``batches``, in order, prepared by
    one worker process up to ``AHEAD`` batches ahead. The rows here are left as read (the worker
    split the addresses of its copy). The worker stops with the iterator."""
    from django.utils import translation

    context = multiprocessing.get_context("spawn")
    start = (pickle.dumps(lookups), translation.get_language())
    with ProcessPoolExecutor(1, mp_context=context, initializer=_init, initargs=start) as pool:
        pending: deque[tuple[Any, list[CustomerRowIn], Future[Prepared]]] = deque()
        try:
            for tag, data in batches:
                pending.append((tag, data, pool.submit(_prepare_in_worker, data, parse_address)))
                if len(pending) > AHEAD:
                    done, rows, future = pending.popleft()
                    yield done, rows, future.result()
            while pending:
                done, rows, future = pending.popleft()
                yield done, rows, future.result()
        finally:
            for _tag, _rows, future in pending:
                future.cancel()
