"""Reads of the data-quality app: import jobs, rejected rows, mapping presets; matcher records, the review queue."""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict
from itertools import islice
from pathlib import Path
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.core.duplicates import Candidate, Check, Hit
from pearl.core.errors import NotFound
from pearl.customers.models import Contact, Customer
from pearl.customers.selectors import contact_list, customer_visible
from pearl.dataquality.choices import ImportStatus
from pearl.dataquality.matching import (
    MatchConfig,
    Prepared,
    Record,
    chinese_config,
    compare_many,
    evidence,
    prepare,
    with_thresholds,
)
from pearl.dataquality.matching.columns import Encoded, StoredReader, stored, unstored
from pearl.dataquality.models import (
    DedupeSettings,
    DuplicatePair,
    ImportIssue,
    ImportJob,
    ImportPreset,
    MatchKey,
    MatchRecord,
    PairStatus,
)


def job_list(*, actor: User) -> QuerySet[ImportJob]:
    """An actor sees the imports they ran; a role that sees all customers sees every import."""
    if actor is None or not actor.is_authenticated or not actor.is_active:
        return ImportJob.objects.none()
    qs = ImportJob.objects.select_related("created_by")
    return qs if actor.data_scope == "all" else qs.filter(created_by=actor)


def job_get(*, actor: User, job_id: int) -> ImportJob:
    job = job_list(actor=actor).filter(pk=job_id).first()
    if job is None:
        raise NotFound(_("Import not found."))
    return job


def job_resumable(*, actor: User, path: Path) -> ImportJob | None:
    """The actor's unfinished run of this very file (same content), which ``pearl import`` resumes."""
    sha = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1024 * 1024):
            sha.update(chunk)
    unfinished = [ImportStatus.QUEUED, ImportStatus.RUNNING, ImportStatus.FAILED]
    return job_list(actor=actor).filter(created_by=actor, sha256=sha.hexdigest(), status__in=unfinished).first()


def job_issues(*, actor: User, job_id: int) -> QuerySet[ImportIssue]:
    return ImportIssue.objects.filter(job=job_get(actor=actor, job_id=job_id)).order_by("row", "id")


def preset_list(*, actor: User) -> QuerySet[ImportPreset]:
    return ImportPreset.objects.all()


# --- duplicate detection -------------------------------------------------------------------------

RECORD_BATCH = 5_000


_RECORD_COLUMNS = (
    "pk", "kind", "name", "short_name", "customer_type__label", "province", "city", "district", "address",
)  # fmt: skip


def _records(customers: QuerySet[Customer], contacts: QuerySet[Contact], batch_size: int) -> Iterator[Record]:
    """Matcher records of ``customers`` with their ``contacts``, in id order.

    ``values()`` in keyset batches (id > last), never model instances: a million customers pass
    through as tuples and only the small ``Record`` of each is kept by the caller.
    """
    last = 0
    while True:
        rows = list(customers.filter(pk__gt=last).order_by("pk").values_list(*_RECORD_COLUMNS)[:batch_size])
        if not rows:
            return
        first, last = rows[0][0], rows[-1][0]
        people: dict[int, list[tuple[str, str, str, str]]] = defaultdict(list)
        for customer_id, name, mobile, email, wechat in (
            contacts.filter(customer_id__gte=first, customer_id__lte=last)
            .order_by("customer_id", "-is_primary", "pk")
            .values_list("customer_id", "name", "mobile", "email", "wechat")
        ):
            people[customer_id].append((name, mobile, email, wechat))
        for pk, kind, name, short_name, type_label, province, city, district, address in rows:
            found = people.get(pk, ())
            yield Record(
                id=str(pk), kind=kind, name=name, short_name=short_name, customer_type=type_label or "",
                contact_names=tuple(c[0] for c in found if c[0]), mobiles=tuple(c[1] for c in found if c[1]),
                emails=tuple(c[2] for c in found if c[2]), wechats=tuple(c[3] for c in found if c[3]),
                province=province, city=city, district=district, address=address,
            )  # fmt: skip


def customer_match_records(*, actor: User, batch_size: int = RECORD_BATCH) -> Iterator[Record]:
    """Every customer the actor may see, with its contacts, as matcher records, in id order."""
    return _records(customer_visible(actor=actor), contact_list(actor=actor), batch_size)


def match_records_all(batch_size: int = RECORD_BATCH) -> Iterator[Record]:
    """Every customer as a matcher record, whoever may see it: for keeping the match keys."""
    return _records(Customer.objects.all(), Contact.objects.all(), batch_size)


def match_records(customer_ids: Sequence[int]) -> list[Record]:
    """These customers (those that exist) as matcher records."""
    ids = list(customer_ids)
    customers, contacts = Customer.objects.filter(pk__in=ids), Contact.objects.filter(customer_id__in=ids)
    return list(_records(customers, contacts, len(ids) or 1))


FEATURE_CHUNK = 50_000


def _features_of(customer_ids: Sequence[int], config: MatchConfig) -> dict[int, dict[str, Any]]:
    """Matcher features of these customers: as kept (``MatchRecord``), computed for those without."""
    out: dict[int, dict[str, Any]] = {}
    for customer_id, values in MatchRecord.objects.filter(customer_id__in=customer_ids).values_list(
        "customer_id", "features"
    ):
        found = unstored(str(customer_id), values, config)
        if found is not None:
            out[customer_id] = found
    missing = [i for i in customer_ids if i not in out]
    for record in match_records(missing) if missing else []:
        out[int(record.id)] = config.featurize(record)
    return out


def match_batch(*, actor: User, config: MatchConfig) -> Encoded:
    """Every customer the actor may see, featurised, for the batch scan: the kept features read back
    column-wise as integer codes (``columns.StoredReader``), in id order; customers without kept
    features (or kept for another configuration) are featurised on the spot and come last."""
    visible = customer_visible(actor=actor)
    reader = StoredReader(config)
    stale: list[int] = []
    kept = (
        MatchRecord.objects.filter(customer__in=visible.values("pk"))
        .order_by("customer_id")
        .values_list("customer_id", "features")
        .iterator(chunk_size=FEATURE_CHUNK)
    )
    while chunk := list(islice(kept, FEATURE_CHUNK)):
        ids, texts = zip(*chunk, strict=True)
        del chunk
        stale += reader.add(ids, texts)
        del ids, texts
    unkept = visible.filter(~Exists(MatchRecord.objects.filter(customer_id=OuterRef("pk"))))
    missing = sorted([*stale, *unkept.values_list("pk", flat=True)])
    for start in range(0, len(missing), FEATURE_CHUNK):
        records = match_records(missing[start : start + FEATURE_CHUNK])
        reader.add([int(r.id) for r in records], [stored(config.featurize(r), config) for r in records])
    return reader.result()


def dedupe_settings() -> DedupeSettings:
    """The settings row, or the defaults (unsaved) before anyone changed them."""
    return DedupeSettings.objects.filter(pk=1).first() or DedupeSettings(pk=1)


def match_config() -> MatchConfig:
    """The Chinese matcher with the configured thresholds: what every caller of the matcher should use."""
    current = dedupe_settings()
    return with_thresholds(chinese_config(), duplicate=current.duplicate_threshold, possible=current.possible_threshold)


def pair_list(*, actor: User, status: str | None = PairStatus.PENDING, band: str = "") -> QuerySet[DuplicatePair]:
    """Pairs where the actor may see both customers, best score first."""
    visible = customer_visible(actor=actor).values("pk")
    qs = DuplicatePair.objects.filter(left_id__in=visible, right_id__in=visible)
    if status:
        qs = qs.filter(status=status)
    if band:
        qs = qs.filter(band=band)
    return qs.order_by("-score", "id")


def pair_get(*, actor: User, pair_id: int) -> DuplicatePair:
    pair = pair_list(actor=actor, status=None).filter(pk=pair_id).first()
    if pair is None:
        raise NotFound(_("Duplicate pair not found."))
    return pair


def pair_customers(*, actor: User, pairs: Iterable[DuplicatePair]) -> dict[int, Customer]:
    """The customers of these pairs (with contacts and owner) by id, for side-by-side cards."""
    ids = {i for p in pairs for i in (p.left_id, p.right_id)}
    qs = customer_visible(actor=actor).filter(pk__in=ids).select_related("owner", "customer_type")
    return {c.pk: c for c in qs.prefetch_related("contacts")}


def pending_pair_count(*, actor: User) -> int:
    return pair_list(actor=actor).count()


# --- the check while typing, and before every create ------------------------------------------

# A key carried by more customers than this (a chain's name, a switchboard number) says too little;
# the candidate is still found through its other keys, as in the batch scan.
MAX_KEY_CUSTOMERS = 500
MAX_CANDIDATES = 200
MAX_HITS = 10


IN_CHUNK = 500  # values per IN (...) list: well under every backend's parameter limit


def _key_holders(keys: Iterable[str]) -> dict[str, list[int]]:
    """The customers holding each key, read in chunks of keys (one query per chunk, not per key);
    keys held by more than MAX_KEY_CUSTOMERS are left out (they say too little)."""
    holders: dict[str, list[int]] = defaultdict(list)
    ordered = sorted(set(keys))
    for start in range(0, len(ordered), IN_CHUNK):
        rows = MatchKey.objects.filter(key__in=ordered[start : start + IN_CHUNK]).values_list("key", "customer_id")
        for key, customer_id in rows:
            holders[key].append(customer_id)
    return {key: ids for key, ids in holders.items() if len(ids) <= MAX_KEY_CUSTOMERS}


def _candidate_ids(keys: Iterable[str], holders: dict[str, list[int]]) -> list[int]:
    """Customers sharing a key with the query, those sharing most keys first, at most MAX_CANDIDATES."""
    shared: dict[int, int] = defaultdict(int)
    for key in set(keys):
        for customer_id in holders.get(key, ()):
            shared[customer_id] += 1
    return sorted(shared, key=lambda c: (-shared[c], -c))[:MAX_CANDIDATES]


def customers_sharing_keys(*, actor: User, keys: Iterable[str]) -> list[int]:
    """Customers the actor may see that hold any of ``keys`` (keys held by too many are skipped)."""
    ids = sorted({i for held in _key_holders(keys).values() for i in held})
    visible: list[int] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        visible += customer_visible(actor=actor).filter(pk__in=chunk).values_list("pk", flat=True)
    return sorted(visible)


def duplicate_check(*, actor: User, candidate: Candidate, exclude_id: int | None = None) -> Check:
    """Existing customers the candidate may duplicate (either band), best first, with the reasons.

    Read through the indexed match keys, so it costs the same at a million customers as at a
    thousand. Customers outside the actor's scope are reported without name or reasons.
    """
    return duplicate_check_many(actor=actor, candidates=[candidate], exclude_id=exclude_id)[0]


def duplicate_check_many(
    *, actor: User, candidates: Sequence[Candidate], exclude_id: int | None = None
) -> list[Check]:
    """``duplicate_check`` for many candidates at once, one Check each, in order: the same answers
    with the reads shared (one read of the settings, of the keys' holders, of their features and
    of the actor's scope for the whole lot) — what a channel batch of new people needs."""
    started = time.perf_counter()
    if not candidates:
        return []
    config = match_config()
    queries = [prepare(Record(id="", **asdict(candidate)), config) for candidate in candidates]
    holders = _key_holders(key for query in queries for key in query.keys)
    ids_by_query = [[i for i in _candidate_ids(query.keys, holders) if i != exclude_id] for query in queries]
    everyone = sorted({i for ids in ids_by_query for i in ids})
    features: dict[int, dict[str, Any]] = {}
    for start in range(0, len(everyone), IN_CHUNK):
        features.update(_features_of(everyone[start : start + IN_CHUNK], config))
    matches_by_query = []
    for query, ids in zip(queries, ids_by_query, strict=True):
        others = [Prepared(str(i), features[i], frozenset()) for i in ids if i in features]
        matches = compare_many(query, others, config) if others else []
        matches_by_query.append(
            sorted((m for m in matches if m.band is not None), key=lambda m: (-m.score, int(m.right)))[:MAX_HITS]
        )
    found = sorted({int(m.right) for matches in matches_by_query for m in matches})
    visible: dict[int, str] = {}
    for start in range(0, len(found), IN_CHUNK):
        chunk = found[start : start + IN_CHUNK]
        visible.update(customer_visible(actor=actor).filter(pk__in=chunk).values_list("pk", "name"))
    seconds = time.perf_counter() - started
    return [
        Check(
            hits=tuple(
                Hit(
                    customer_id=int(m.right), score=m.score, band=str(m.band), visible=int(m.right) in visible,
                    name=visible.get(int(m.right), ""),
                    reasons=tuple(r._asdict() for r in evidence(m.reasons)) if int(m.right) in visible else (),
                )
                for m in matches
            ),
            seconds=seconds,
        )
        for matches in matches_by_query
    ]  # fmt: skip
