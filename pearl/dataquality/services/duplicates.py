"""The duplicate review queue: fill it from a batch scan, decide pairs (merge or dismiss), bulk merge.

A scan matches every customer the actor may see (``selectors.customer_match_records`` → the one
matcher's ``scan``) and upserts ``DuplicatePair`` rows: new pairs wait for review, dismissed pairs
stay dismissed, pending pairs the scan no longer finds and pairs whose customers are gone are
dropped. Merging goes through ``pearl.customers.services.customer_merge`` (permissions, change log,
aliases, undo); afterwards the pending pairs of the merged-away customer point at the survivor.
With ``auto_merge_duplicates`` on, the scan merges duplicate-band pairs itself, as the acting user.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.core.errors import ApplicationError, Conflict, PermissionDenied, ValidationFailed
from pearl.core.permissions import require
from pearl.customers.models import Customer
from pearl.customers.services import customer_merge
from pearl.dataquality import selectors
from pearl.dataquality.matching import Match, Reason, evidence
from pearl.dataquality.matching.scan import scan_batch
from pearl.dataquality.models import DedupeSettings, DuplicatePair, PairStatus

log = logging.getLogger(__name__)
WRITE_BATCH = 2_000


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


def _ordered(match: Match) -> tuple[int, int]:
    a, b = int(match.left), int(match.right)
    return (a, b) if a < b else (b, a)


def _upsert(found: dict[tuple[int, int], Match]) -> int:
    """Insert new pairs, refresh the score of known ones; returns how many were new."""
    keys = list(found)
    known: dict[tuple[int, int], tuple[int, str]] = {}
    for start in range(0, len(keys), WRITE_BATCH):
        chunk = keys[start : start + WRITE_BATCH]
        lefts = {k[0] for k in chunk}
        for pk, left, right, status in DuplicatePair.objects.filter(left_id__in=lefts).values_list(
            "pk", "left_id", "right_id", "status"
        ):
            if (left, right) in found:
                known[(left, right)] = (pk, status)
    new = [
        DuplicatePair(left_id=k[0], right_id=k[1], score=m.score, band=m.band or "possible",
                      reasons=reason_rows(m.reasons))
        for k, m in found.items() if k not in known
    ]  # fmt: skip
    DuplicatePair.objects.bulk_create(new, batch_size=WRITE_BATCH, ignore_conflicts=True)
    changed = []
    for k, (pk, status) in known.items():
        m = found[k]
        pair = DuplicatePair(pk=pk, left_id=k[0], right_id=k[1], score=m.score, band=m.band or "possible",
                             reasons=reason_rows(m.reasons), status=status)  # fmt: skip
        if status == PairStatus.MERGED:
            # Found again, so both customers exist again: the merge was undone; review it afresh.
            pair.status, pair.decided_by, pair.decided_at, pair.merge_id = PairStatus.PENDING, None, None, None
        changed.append(pair)
    DuplicatePair.objects.bulk_update(
        changed, ["score", "band", "reasons", "status", "decided_by", "decided_at", "merge_id"], batch_size=WRITE_BATCH
    )
    return len(new)


def _prune(actor: User, found: dict[tuple[int, int], Match]) -> int:
    """Drop pairs whose customer is gone, and pending pairs within the actor's scope the scan no longer finds."""
    exists = Customer.objects.filter(pk=OuterRef("left_id"))
    exists_right = Customer.objects.filter(pk=OuterRef("right_id"))
    gone, _detail = (
        DuplicatePair.objects.exclude(status=PairStatus.MERGED).filter(~Exists(exists) | ~Exists(exists_right)).delete()
    )
    stale = [
        pk
        for pk, left, right in selectors.pair_list(actor=actor).values_list("pk", "left_id", "right_id").iterator()
        if (left, right) not in found
    ]
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
    found: dict[tuple[int, int], Match] = {}
    for match in result:
        found[_ordered(match)] = match
    summary = ScanSummary(customers=len(result.ids), pairs=len(found))
    with transaction.atomic():
        summary.removed = _prune(actor, found)
        summary.new = _upsert(found)
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
