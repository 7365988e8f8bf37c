"""The duplicate review queue: fill it from a batch scan, decide pairs (merge or dismiss), bulk merge.

A scan matches every customer the actor may see (``selectors.match_batch``, the kept features →
the one matcher's ``scan_batch``) and upserts ``DuplicatePair`` rows, column-wise with raw inserts
and updates (a million customers give millions of pairs): new pairs wait for review, dismissed
pairs stay dismissed, pending pairs the scan no longer finds and pairs whose customers are gone
are dropped. Merging goes through ``pearl.customers.services.customer_merge`` (permissions, change log,
aliases, undo); afterwards the pending pairs of the merged-away customer point at the survivor.
With ``auto_merge_duplicates`` on, the scan merges duplicate-band pairs itself, as the acting user.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.pool import AsyncResult
from typing import Any

import numpy as np
import numpy.typing as npt
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.core.errors import ApplicationError, Conflict, PermissionDenied, ValidationFailed
from pearl.core.permissions import require
from pearl.core.rows import insert_rows
from pearl.customers.models import Customer
from pearl.customers.services import customer_merge
from pearl.dataquality import selectors
from pearl.dataquality.matching import Reason, evidence
from pearl.dataquality.matching.scan import ScanResult, scan_batch
from pearl.dataquality.models import DedupeSettings, DuplicatePair, PairStatus

log = logging.getLogger(__name__)
WRITE_BATCH = 2_000
SLICE = 200_000  # pairs whose reasons are made and written at a time (bounds the memory of their JSON)


def reason_rows(reasons: Iterable[Reason]) -> list[list[Any]]:
    """The reasons worth showing, as JSON rows."""
    return [[r.field, r.outcome, r.weight, r.detail] for r in evidence(list(reasons))]


def reasons_text(reasons: Iterable[Reason]) -> str:
    """``name:core=+8.0; mobile:exact=+11.0; region:other city=-10.0`` for a CSV cell or a log line."""
    return "; ".join(f"{r.field}:{r.outcome}={r.weight:+.1f}" for r in reasons if r.weight)


# --- scan --------------------------------------------------------------------------------------


@dataclass
class ScanSummary:
    customers: int = 0
    pairs: int = 0
    new: int = 0
    removed: int = 0
    merged: int = 0
    merge_failures: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class _Found:
    """The scan's pairs by customer id (``left < right``), as arrays; ``row`` indexes the ScanResult."""

    left: npt.NDArray[np.int64]
    right: npt.NDArray[np.int64]
    row: npt.NDArray[np.int64]

    @property
    def codes(self) -> npt.NDArray[np.int64]:
        return _pair_codes(self.left, self.right)


def _pair_codes(left: npt.NDArray[np.int64], right: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """One sortable integer per pair of customer ids (ids are below 2**31)."""
    return (left.astype(np.int64) << 32) | right.astype(np.int64)


def _found(result: ScanResult) -> _Found:
    ids = np.asarray(result.ids, dtype=np.int64)
    a, b = ids[result.left], ids[result.right]
    return _Found(np.minimum(a, b), np.maximum(a, b), np.arange(len(a), dtype=np.int64))


def _known(found: _Found) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.object_]]:
    """Of the found pairs already in the queue: their index in ``found``, their pk and status."""
    rows = list(DuplicatePair.objects.values_list("pk", "left_id", "right_id", "status").iterator(chunk_size=50_000))
    if not rows or not len(found.left):
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0, dtype=object)
    pks, lefts, rights, statuses = (np.array(column) for column in zip(*rows, strict=True))
    del rows
    codes = found.codes
    order = np.argsort(codes)
    at = np.searchsorted(codes, _pair_codes(lefts, rights), sorter=order).clip(max=len(codes) - 1)
    hit = codes[order[at]] == _pair_codes(lefts, rights)
    return order[at[hit]], pks[hit].astype(np.int64), statuses[hit].astype(object)


def _upsert(result: ScanResult, found: _Found, workers: int) -> int:
    """Insert new pairs, refresh the score and reasons of known ones; returns how many were new.

    Raw inserts and updates, a slice of pairs at a time, with the reasons made column-wise
    (``ScanResult.reasons_json``): a million customers' scan finds millions of pairs, and model
    instances and ``explain`` per pair would take longer than the scan itself. With ``workers`` > 1,
    forked processes make the next slices' reasons while this process writes.
    """
    index, pks, statuses = _known(found)
    is_new = np.ones(len(found.left), dtype=bool)
    is_new[index] = False
    known_pk = np.zeros(len(found.left), dtype=np.int64)
    known_pk[index] = pks
    merged = np.zeros(len(found.left), dtype=bool)
    merged[index] = statuses == PairStatus.MERGED
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    table = DuplicatePair._meta.db_table
    bands = result.bands
    bounds = [(start, min(start + SLICE, len(found.left))) for start in range(0, len(found.left), SLICE)]
    for (start, stop), reasons in zip(bounds, _reasons(result, bounds, workers), strict=True):
        part = slice(start, stop)
        rows = found.row[part]
        scores, kinds = result.scores[rows].tolist(), bands[rows].tolist()
        new = is_new[part].tolist()
        lefts, rights = found.left[part].tolist(), found.right[part].tolist()
        insert_rows(
            table,
            ("left_id", "right_id", "score", "band", "reasons", "status", "found_at"),
            [
                (left, right, score, band, text, PairStatus.PENDING.value, now)
                for left, right, score, band, text, fresh in zip(
                    lefts, rights, scores, kinds, reasons, new, strict=True
                )
                if fresh
            ],
        )
        # Found again, so both customers exist again: a merged pair's merge was undone; review it afresh.
        _update_rows(
            [
                (score, band, text, reopen, pk)
                for score, band, text, fresh, reopen, pk in zip(
                    scores, kinds, reasons, new, merged[part].tolist(), known_pk[part].tolist(), strict=True
                )
                if not fresh
            ]
        )
    return int(is_new.sum())


# What the forked workers making reasons read (inherited, not pickled).
_scanned: ScanResult | None = None


def _reasons_range(bounds: tuple[int, int]) -> list[str]:
    assert _scanned is not None
    return _scanned.reasons_json(*bounds)


def _reasons(result: ScanResult, bounds: list[tuple[int, int]], workers: int) -> Iterator[list[str]]:
    """The reasons of each slice of pairs, in order; with ``workers`` > 1 made by forked processes,
    at most ``workers`` slices ahead of the caller (each slice's JSON is a few hundred MB)."""
    global _scanned
    if workers <= 1 or len(bounds) <= 1:
        yield from (result.reasons_json(*b) for b in bounds)
        return
    _scanned = result
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            pending: deque[AsyncResult[list[str]]] = deque()
            for b in bounds:
                pending.append(pool.apply_async(_reasons_range, (b,)))
                if len(pending) > workers:
                    yield pending.popleft().get()
            while pending:
                yield pending.popleft().get()
    finally:
        _scanned = None


def _update_rows(rows: list[tuple[float, str, str, bool, int]]) -> None:
    """(score, band, reasons JSON, reopen, pk): refresh known pairs; ``reopen`` makes a merged pair pending."""
    table = connection.ops.quote_name(DuplicatePair._meta.db_table)
    refresh = "score = %s, band = %s, reasons = %s"
    reopened = [
        (score, band, reasons, PairStatus.PENDING.value, pk) for score, band, reasons, reopen, pk in rows if reopen
    ]
    kept = [(score, band, reasons, pk) for score, band, reasons, reopen, pk in rows if not reopen]
    with connection.cursor() as cursor:
        if kept:
            cursor.executemany(f"UPDATE {table} SET {refresh} WHERE id = %s", kept)
        if reopened:
            cursor.executemany(
                f"UPDATE {table} SET {refresh}, status = %s, decided_by_id = NULL, decided_at = NULL, "
                "merge_id = NULL WHERE id = %s",
                reopened,
            )


def _prune(actor: User, found: _Found) -> int:
    """Drop pairs whose customer is gone, and pending pairs within the actor's scope the scan no longer finds."""
    exists = Customer.objects.filter(pk=OuterRef("left_id"))
    exists_right = Customer.objects.filter(pk=OuterRef("right_id"))
    gone, _detail = (
        DuplicatePair.objects.exclude(status=PairStatus.MERGED).filter(~Exists(exists) | ~Exists(exists_right)).delete()
    )
    pending = list(
        selectors.pair_list(actor=actor).order_by().values_list("pk", "left_id", "right_id").iterator(chunk_size=50_000)
    )
    if not pending:
        return gone
    pks, lefts, rights = (np.array(column, dtype=np.int64) for column in zip(*pending, strict=True))
    del pending
    stale = pks[~np.isin(_pair_codes(lefts, rights), found.codes)].tolist()
    for start in range(0, len(stale), WRITE_BATCH):
        DuplicatePair.objects.filter(pk__in=stale[start : start + WRITE_BATCH]).delete()
    return gone + len(stale)


def duplicates_scan(*, actor: User, workers: int = 1) -> ScanSummary:
    """Scan the actor's customers for duplicates and refresh the review queue (auto-merge if enabled).

    The customers' kept features are read back (no parsing of names and addresses); ``workers``
    processes score the candidate pairs (the command uses two; the in-server task one).
    """
    if actor is None or not actor.is_authenticated or not actor.is_active:
        raise PermissionDenied(_("Log in to scan for duplicates."))
    started = time.perf_counter()
    config = selectors.match_config()
    result = scan_batch(selectors.match_batch(actor=actor, config=config), config, workers=workers)
    found = _found(result)
    summary = ScanSummary(customers=len(result.ids), pairs=len(found.left))
    with transaction.atomic():
        summary.removed = _prune(actor, found)
        summary.new = _upsert(result, found, workers)
    if selectors.dedupe_settings().auto_merge_duplicates:
        summary.merged, summary.merge_failures = _auto_merge(actor)
    summary.seconds = round(time.perf_counter() - started, 2)
    settings_row = selectors.dedupe_settings()
    settings_row.last_scan_at, settings_row.last_scan_by = timezone.now(), actor
    settings_row.last_scan_stats = summary.as_dict()
    settings_row.save()
    log.info("duplicate scan by %s: %s", actor.username, summary.as_dict())
    return summary


def _auto_merge(actor: User) -> tuple[int, int]:
    """Merge every pending duplicate-band pair the actor may see, older customer surviving."""
    if not (actor.may("edit") and actor.may("delete")):
        log.warning("auto-merge skipped: %s may not merge customers", actor.username)
        return 0, 0
    merged = failed = 0
    pending = list(selectors.pair_list(actor=actor, band="duplicate").values_list("pk", flat=True))
    for outcome in duplicates_merge_bulk(actor=actor, pair_ids=pending):
        merged += outcome.status == "merged"
        failed += outcome.status == "failed"
    return merged, failed


# --- decisions ---------------------------------------------------------------------------------


def _repoint(gone_id: int, survivor_id: int) -> None:
    """Pending pairs of a merged-away customer now compare the survivor (self-pairs and repeats dropped)."""
    for pair in DuplicatePair.objects.filter(Q(left_id=gone_id) | Q(right_id=gone_id), status=PairStatus.PENDING):
        other = pair.right_id if pair.left_id == gone_id else pair.left_id
        if other == survivor_id:
            pair.delete()
            continue
        left, right = min(other, survivor_id), max(other, survivor_id)
        if DuplicatePair.objects.filter(left_id=left, right_id=right).exists():
            pair.delete()  # the survivor already has its own pair with that customer
            continue
        pair.left_id, pair.right_id = left, right
        pair.save(update_fields=["left_id", "right_id"])


def _decided(pair: DuplicatePair, actor: User, status: str, merge_id: int | None = None) -> None:
    pair.status, pair.decided_by, pair.decided_at, pair.merge_id = status, actor, timezone.now(), merge_id
    pair.save(update_fields=["status", "decided_by", "decided_at", "merge_id"])


@transaction.atomic
def duplicate_decide(*, actor: User, pair_id: int, action: str, survivor_id: int | None = None) -> DuplicatePair:
    """Merge the pair's customers (``survivor_id``, default the older one) or dismiss the pair."""
    pair = selectors.pair_get(actor=actor, pair_id=pair_id)
    pair = DuplicatePair.objects.select_for_update().get(pk=pair.pk)
    if pair.status != PairStatus.PENDING:
        raise Conflict(_("This pair was already decided: %(status)s.") % {"status": pair.get_status_display()})
    if action == "dismiss":
        require(actor, "edit")
        _decided(pair, actor, PairStatus.DISMISSED)
        return pair
    if action != "merge":
        raise ValidationFailed(_("Choose merge or dismiss."))
    survivor = pair.left_id if survivor_id is None else survivor_id
    if survivor not in (pair.left_id, pair.right_id):
        raise ValidationFailed(_("The surviving customer must be one of the pair."))
    gone = pair.right_id if survivor == pair.left_id else pair.left_id
    merge = customer_merge(actor=actor, survivor_id=survivor, other_ids=[gone], rule="recent")
    _decided(pair, actor, PairStatus.MERGED, merge.pk)
    _repoint(gone, survivor)
    return pair


@dataclass
class BulkOutcome:
    pair_id: int
    status: str  # "merged" | "skipped" | "failed"
    message: str = ""
    survivor_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def duplicates_merge_bulk(*, actor: User, pair_ids: list[int]) -> list[BulkOutcome]:
    """Merge each pair (the older customer survives), one transaction per pair; report every pair.

    A pair already decided, or gone because an earlier merge in the same run made it a self-pair,
    is skipped; a refused merge (a conflict, a permission) fails that pair and the others go on.
    """
    require(actor, "edit")
    require(actor, "delete")
    outcomes: list[BulkOutcome] = []
    for pair_id in dict.fromkeys(pair_ids):
        pair = selectors.pair_list(actor=actor, status=None).filter(pk=pair_id).first()
        if pair is None:
            outcomes.append(BulkOutcome(pair_id, "skipped", _("Already handled or not found.")))
            continue
        if pair.status != PairStatus.PENDING:
            outcomes.append(
                BulkOutcome(pair_id, "skipped", _("Already decided: %(s)s.") % {"s": pair.get_status_display()})
            )
            continue
        try:
            decided = duplicate_decide(actor=actor, pair_id=pair.pk, action="merge")
        except ApplicationError as exc:
            outcomes.append(BulkOutcome(pair_id, "failed", str(exc.message)))
            continue
        outcomes.append(BulkOutcome(pair_id, "merged", survivor_id=decided.left_id))
    return outcomes


# --- settings ----------------------------------------------------------------------------------


def dedupe_settings_update(
    *, actor: User, duplicate_threshold: float, possible_threshold: float, auto_merge_duplicates: bool
) -> DedupeSettings:
    require(actor, "manage_settings")
    if possible_threshold > duplicate_threshold:
        message = _("The possible-duplicate score must not be above the duplicate score.")
        raise ValidationFailed(message, field_errors={"possible_threshold": [message]})
    current = selectors.dedupe_settings()
    current.duplicate_threshold = duplicate_threshold
    current.possible_threshold = possible_threshold
    current.auto_merge_duplicates = auto_merge_duplicates
    current.updated_by = actor
    current.save()
    return current
