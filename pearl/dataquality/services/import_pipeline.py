"""The CPU half of an import, in a second process: while this process matches and writes batch n,
a worker reads the next batches from the file, splits the addresses, validates the rows
(``clean_row``) and builds the search documents and the duplicate matcher's keys and features.

SQLite has one writer, so the writes stay here; the worker never touches the database. It is
started with "spawn" (no inherited database connection), sets Django up itself, receives the
import's ``Lookups`` once, pickled, and opens the job's stored file with the same reader, mapping
and batching as this process would (``imports.raw_batches``). The rows it validates are exactly what
``customer_bulk_upsert`` would have validated: same function, same tables; tags created by earlier
batches are applied to its results here (``bulk_rows.refresh_tags``). At most ``AHEAD`` batches wait
in the queue, so memory does not grow with the file.

This module is imported by the worker before Django is set up: model imports stay inside functions.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import queue
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from multiprocessing.queues import Queue

    from pearl.customers.services.bulk_rows import CustomerRowIn, Lookups, Prepared
    from pearl.dataquality.reader import SkippedRow
    from pearl.dataquality.services.imports import RawBatch

logger = logging.getLogger(__name__)

# Below this many rows the worker's start-up (a Python process setting Django up, ~1-2 s of CPU)
# costs more than it saves.
PIPELINE_MIN_ROWS = 5_000
AHEAD = 2  # batches prepared ahead of the writer
POLL_SECONDS = 1.0  # how often the writer checks that a silent worker is still alive


@dataclass(frozen=True)
class SheetPlan:
    """What the worker needs to read the job's rows as ``imports.raw_batches`` would in this process."""

    location: str  # imports.stored_location of the job's file
    filename: str
    sheet: str | None
    custom_fields: list[tuple[str, str]]
    header_row: int  # as this process found it: the worker checks it finds the same
    mapping: dict[int, str]
    headers: list[str]
    size: int
    after: int


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


def _work(out: Queue[tuple[Any, ...]], lookups: bytes, language: str | None, plan: SheetPlan, parse: bool) -> None:
    """The worker's life: read, prepare and send every batch, then ``("end", skipped rows)``."""
    try:
        _init(lookups, language)
        from pearl.dataquality.services.imports import open_stored, raw_batches

        with open_stored(plan.location, plan.filename, plan.sheet, plan.custom_fields) as sheet:
            if sheet.header_row != plan.header_row:
                raise RuntimeError(f"header row {sheet.header_row} read, {plan.header_row} expected")
            for batch in raw_batches(sheet, plan.mapping, plan.headers, plan.size, plan.after):
                prepared = _prepare_in_worker(batch[1], parse)
                out.put(("batch", batch, prepared))
            out.put(("end", sheet.skipped))
    except BaseException as exc:
        logger.exception("the import's second process failed")
        out.put(("error", _sendable(exc)))


def _sendable(exc: BaseException) -> BaseException:
    """The exception itself when it survives pickling (the reader's messages do), else its text."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


def _forget_names() -> None:
    """Empty the per-value caches that fill with the sheet's names, phones and addresses.

    They are sized for the demo loader (200–260k entries, where names repeat), but an import's
    company names and addresses are nearly all distinct, so the caches only held memory: the worker
    grew from 362 MB (20k rows) to 828 MB (100k rows). Emptied after each batch it stays flat; the
    look-up tables (regions, dictionary words) are not caches of values and stay.
    """
    from pearl.customers import search
    from pearl.dataquality.matching import normalize

    for cached in (search.cached_name_terms, search._text_syllables, search._word_syllables,
                   normalize.parse_company_name, normalize.phone, normalize.parse_address):  # fmt: skip
        cached.cache_clear()


def pipelined(
    lookups: Lookups, plan: SheetPlan, parse_address: bool, skipped: list[SkippedRow]
) -> Iterator[tuple[RawBatch, Prepared]]:
    """``(imports.raw_batches' batch, prepared rows)`` of every batch the plan describes, in order, read and
    prepared by one worker process up to ``AHEAD`` batches ahead; at the end ``skipped`` holds the
    rows the reader left out (totals). The worker stops with the iterator."""
    from django.utils import translation

    context = multiprocessing.get_context("spawn")
    inbox: Queue[tuple[Any, ...]] = context.Queue(maxsize=AHEAD)
    args = (inbox, pickle.dumps(lookups), translation.get_language(), plan, parse_address)
    worker = context.Process(target=_work, args=args, name="pearl-import-reader", daemon=True)
    worker.start()
    try:
        while True:
            message = _receive(inbox, worker)
            if message[0] == "batch":
                yield message[1], message[2]
            elif message[0] == "end":
                skipped.extend(message[1])
                return
            else:
                raise message[1]
    finally:
        if worker.is_alive():
            worker.terminate()  # the writer stopped early (an error, or the caller closed the iterator)
        worker.join()
        inbox.close()
        inbox.cancel_join_thread()


def _receive(inbox: Queue[tuple[Any, ...]], worker: BaseProcess) -> tuple[Any, ...]:
    while True:
        try:
            return inbox.get(timeout=POLL_SECONDS)
        except queue.Empty:
            if not worker.is_alive():
                try:  # its last message may have arrived just as it exited
                    return inbox.get(timeout=POLL_SECONDS)
                except queue.Empty:
                    raise RuntimeError(f"the import's second process stopped (exit code {worker.exitcode})") from None
