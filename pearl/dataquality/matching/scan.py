"""The batch scan: every candidate pair of a customer base in either band, set-based.

Features are computed into columns (columns.py; chinese_batch.py runs each normaliser once per
distinct raw value), or read back from the database as integer codes (``columns.StoredReader``:
the scan of a customer base); pairs come from blocking keys (numpy group-by, with the config's
block filters, made as plans where they can be: only the pairs a filter keeps are ever made); each
field is compared on all pairs at once, with the same predicates as compare_many. For codes the
keys are integers made from the feature codes (``MatchConfig.table_keys``), never strings. Pairs are scored
in slices so memory stays bounded whatever the number of candidates. With ``workers`` > 1,
forked processes featurise slices of the records, encode features and score slices of the pairs
(the machine has two cores; Python needs processes to use both).
"""

from __future__ import annotations

import functools
import json
import multiprocessing
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from json.encoder import encode_basestring
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from . import compare
from .blocking import MAX_BLOCK, Candidates, Either, Filter, Plan, Within, candidate_pairs, coded_pairs
from .columns import Batch, Encoded, one_by_one, strings
from .compare import (
    MISSING,
    AnyOf,
    Equal,
    FeatureTable,
    IntArray,
    Lacks,
    Match,
    MatchConfig,
    Predicate,
    explain,
    score_pairs,
)

SLICE = 1_000_000



@dataclass
class ScanResult:
    config: MatchConfig
    table: FeatureTable
    ids: npt.NDArray[Any]
    left: IntArray  # row numbers of the pairs in either band
    right: IntArray
    scores: npt.NDArray[np.float64]
    outcomes: npt.NDArray[np.int8]  # pairs × fields, index into each field's outcomes
    stats: dict[str, float] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.scores)

    @property
    def bands(self) -> npt.NDArray[Any]:
        return np.where(self.scores >= self.config.duplicate, "duplicate", "possible")

    def __iter__(self) -> Iterator[Match]:
        for k in range(len(self)):
            yield self.match(k)

    def match(self, k: int) -> Match:
        i, j = int(self.left[k]), int(self.right[k])
        score = float(self.scores[k])
        return Match(
            str(self.ids[i]), str(self.ids[j]), score, self.config.band(score),
            explain(self.config, self.table, i, j, self.outcomes[k]),
        )  # fmt: skip

    def reasons_json(self, start: int = 0, stop: int | None = None) -> list[str]:
        """Pairs ``start:stop``'s reasons worth showing (``evidence``: weight or outcome other than
        missing) as JSON text, ``[[field, outcome, weight, "left | right"], …]`` — what
        ``json.dumps(..., ensure_ascii=False)`` gives for the rows of ``Match.reasons``, made field
        by field for all the pairs at once (``explain`` per pair would take minutes for millions).

        JSON-escaping a string is character by character, so each distinct value is escaped once
        and a detail is the left value's text without its closing quote, then " | " and the right
        value's text without its opening one.
        """
        stop = len(self) if stop is None else stop
        left, right, outcomes = self.left[start:stop], self.right[start:stop], self.outcomes[start:stop]
        columns = []
        for column, comparison in enumerate(self.config.fields):
            levels = list(zip(comparison.outcomes, comparison.weights.tolist(), strict=True))
            heads = np.array(
                [json.dumps([comparison.name, o, w], ensure_ascii=False)[:-1] + ", " for o, w in levels], dtype=object
            )
            shown = np.array([bool(w) or o != MISSING for o, w in levels])
            index = outcomes[:, column].astype(np.int64)
            rows = np.flatnonzero(shown[index])
            text = np.full(len(left), None, dtype=object)
            if len(rows):
                feature = self.config.detail_features.get(comparison.name, comparison.requires[0])
                (opening, closing), value_of = self._quoted(feature, np.concatenate([left[rows], right[rows]]))
                text[rows] = heads[index[rows]] + opening[value_of[: len(rows)]] + closing[value_of[len(rows) :]]
            columns.append(text.tolist())
        return ["[" + ", ".join([part for part in parts if part]) + "]" for parts in zip(*columns, strict=True)]

    def _quoted(
        self, feature: str, rows: IntArray
    ) -> tuple[tuple[npt.NDArray[np.object_], npt.NDArray[np.object_]], IntArray]:
        """For each distinct shown value of these rows, its JSON text without the closing quote and
        `` | `` + its JSON text without the opening quote + ``]``; and for each row, its value's index.
        Rows are told apart by their codes (integers), so only distinct values become strings."""
        codes = self.table.codes(feature)[rows]
        key = codes.astype(np.int64) if codes.ndim == 1 else codes[:, 0].astype(np.int64)
        span = len(self.table.distinct(feature)) + 1
        for k in range(1, codes.shape[1] if codes.ndim == 2 else 1):  # all of a "many" feature's codes
            key = pd.factorize(key * span + codes[:, k] + 1)[0].astype(np.int64)
        value_of, _distinct = pd.factorize(key)
        first = np.zeros(len(_distinct), dtype=np.int64)
        first[value_of] = np.arange(len(value_of))  # a row holding each distinct value (all show the same)
        shown = self.table.take(feature, rows[first])
        if codes.ndim == 2:  # a "many" feature is shown as its values joined by "/"
            distinct = self.table.distinct(feature)
            for k in range(1, codes.shape[1]):
                more = np.flatnonzero(codes[first, k] >= 0)
                shown[more] = shown[more] + "/" + distinct[codes[first[more], k]]
        # What json.dumps(value, ensure_ascii=False) puts between the quotes (its own C function).
        inner = strings([encode_basestring(str(value))[1:-1] for value in shown])
        return ('"' + inner, " | " + inner + '"]'), value_of.astype(np.int64)

    def frame(self) -> pd.DataFrame:
        """left_id, right_id, score, band: one row per pair (no reasons, for large results)."""
        return pd.DataFrame(
            {"left_id": self.ids[self.left], "right_id": self.ids[self.right], "score": self.scores, "band": self.bands}
        )


# What forked workers read (inherited, not pickled): the records to featurise; the table and pairs to score.
_shared: tuple[Sequence[Any], MatchConfig] | None = None
_compared: tuple[MatchConfig, FeatureTable, IntArray, IntArray] | None = None
Scored = tuple[IntArray, IntArray, npt.NDArray[np.float64], npt.NDArray[np.int8]]
MIN_PARALLEL = 20_000  # below this, starting processes costs more than it saves


def _featurize(records: Sequence[Any], config: MatchConfig) -> Batch:
    if config.featurize_batch is not None:
        return config.featurize_batch(records)
    return one_by_one(records, config)


def _featurize_range(bounds: tuple[int, int]) -> Batch:
    assert _shared is not None
    records, config = _shared
    return _featurize(records[bounds[0] : bounds[1]], config)


def featurize_all(records: Iterable[Any], config: MatchConfig, *, workers: int = 1) -> Batch:
    """Features and blocking keys of every record, as columns (no per-record objects kept).

    With ``workers`` > 1, forked processes each featurise a slice (featurising is mostly Python).
    """
    global _shared
    records = records if isinstance(records, Sequence) else list(records)
    if workers <= 1 or len(records) < MIN_PARALLEL:
        return _featurize(records, config)
    # Built once here, inherited by the workers: the region table, the traditional-character set.
    _featurize(records[:100], config)
    chunks = workers * 2
    step = -(-len(records) // chunks)
    _shared = (records, config)
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            parts = pool.map(_featurize_range, [(i, min(i + step, len(records))) for i in range(0, len(records), step)])
    finally:
        _shared = None
    return Batch.concat(parts)


def block(
    batch: Batch | Encoded, table: FeatureTable, config: MatchConfig, *, max_block: int = MAX_BLOCK
) -> Candidates:
    """The candidate pairs of a featurised batch (with the configuration's block filters)."""
    filters: dict[str, Filter] = {}
    for family, predicate in config.block_filters.items():
        plan = _plan(predicate, table)
        filters[family] = plan if plan is not None else functools.partial(predicate, table)
    if isinstance(batch, Batch):
        return candidate_pairs(batch.key_rows, batch.key_values, max(table.size, 1), max_block=max_block,
                               filters=filters)  # fmt: skip
    if config.table_keys is not None:
        return coded_pairs(config.table_keys(table), max(table.size, 1), max_block=max_block, filters=filters)
    rows, keys = _keys_row_by_row(table, config)
    return candidate_pairs(rows, keys, max(table.size, 1), max_block=max_block, filters=filters)


def _plan(predicate: Predicate, table: FeatureTable) -> Plan | None:
    """A block filter as the pairs blocking can make directly (None: test each pair instead)."""
    if isinstance(predicate, Lacks):
        return (Either(~table.present(predicate.feature)),)
    if isinstance(predicate, Equal) and table.codes(predicate.feature).ndim == 1:
        return (Within(table.codes(predicate.feature)),)
    if isinstance(predicate, AnyOf):
        parts = [_plan(part, table) for part in predicate.parts]
        return None if any(p is None for p in parts) else tuple(x for p in parts if p is not None for x in p)
    return None


def _keys_row_by_row(table: FeatureTable, config: MatchConfig) -> tuple[IntArray, npt.NDArray[Any]]:
    """``config.keys`` of each row's features (a configuration without a column-wise twin)."""
    rows: list[int] = []
    keys: list[str] = []
    for i in range(table.size):
        features = {
            name: tuple(v for v in table.value(name, i) if v) if kind == "many" else table.value(name, i)
            for name, kind in config.features.items()
        }
        found = config.keys(features)
        rows.extend([i] * len(found))
        keys.extend(found)
    return np.array(rows, dtype=np.int64), np.array(keys, dtype=object)


def _codes_of(name: str) -> tuple[npt.NDArray[np.int32], npt.NDArray[Any]]:
    assert _compared is not None
    table = _compared[1]
    return table.codes(name), table.distinct(name)


def _one_thread() -> None:
    compare.THREADS = 1  # in a worker process: the processes already use every core


def _score_range(bounds: tuple[int, int]) -> Scored:
    assert _compared is not None
    config, table, left, right = _compared
    return _score(config, table, left[bounds[0] : bounds[1]], right[bounds[0] : bounds[1]])


def _score(config: MatchConfig, table: FeatureTable, left: IntArray, right: IntArray) -> Scored:
    score, outcome = score_pairs(config, table, left, right)
    keep = score >= config.possible
    return left[keep], right[keep], score[keep], outcome[keep]


def _pool(workers: int, table: FeatureTable, config: MatchConfig, pairs: Candidates | None) -> Any:
    global _compared
    empty = np.zeros(0, dtype=np.int64)
    _compared = (config, table, pairs.left if pairs else empty, pairs.right if pairs else empty)
    return multiprocessing.get_context("fork").Pool(workers, initializer=_one_thread)


def encode(table: FeatureTable, config: MatchConfig, *, workers: int = 1) -> None:
    """Integer codes of every feature (what equality is tested on), computed up front, in parallel."""
    global _compared
    if workers > 1 and table.size >= MIN_PARALLEL and not table.encoded:
        try:
            with _pool(workers, table, config, None) as pool:
                names = list(config.features)
                for name, (codes, uniques) in zip(names, pool.map(_codes_of, names, chunksize=1), strict=True):
                    table.set_codes(name, codes, uniques)
        finally:
            _compared = None
    for name, kind in config.features.items():  # derived columns, so the scoring workers inherit them
        table.present(name)
        if kind == "many":
            table.first_codes(name)


def compare_pairs(config: MatchConfig, table: FeatureTable, pairs: Candidates, *, workers: int = 1) -> Scored:
    """The candidate pairs scoring at least ``config.possible``: scored in slices, by ``workers`` processes."""
    global _compared
    bounds = [(i, min(i + SLICE, len(pairs.left))) for i in range(0, len(pairs.left), SLICE)]
    if workers > 1 and len(bounds) > 1:
        try:
            with _pool(workers, table, config, pairs) as pool:
                parts = pool.map(_score_range, bounds, chunksize=1)
        finally:
            _compared = None
    else:
        parts = [_score(config, table, pairs.left[a:b], pairs.right[a:b]) for a, b in bounds]
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0), np.zeros((0, len(config.fields)), dtype=np.int8)
    return (
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
        np.concatenate([p[3] for p in parts]),
    )


def scan(records: Iterable[Any], config: MatchConfig, *, max_block: int = MAX_BLOCK, workers: int = 1) -> ScanResult:
    """All pairs of ``records`` scoring at least ``config.possible``, with their outcomes.

    ``workers`` processes (forked) featurise slices of the records, encode the features and score
    slices of the candidate pairs; blocking runs in this process.
    """
    started = time.perf_counter()
    return scan_batch(featurize_all(records, config, workers=workers), config, max_block=max_block, workers=workers,
                      started=started)  # fmt: skip


def scan_batch(
    batch: Batch | Encoded,
    config: MatchConfig,
    *,
    max_block: int = MAX_BLOCK,
    workers: int = 1,
    started: float | None = None,
) -> ScanResult:
    """``scan`` of records already featurised: a ``Batch``, or the kept features read back as codes
    (``Encoded``, from ``columns.StoredReader``; its keys are made from the codes)."""
    started = time.perf_counter() if started is None else started
    ids: npt.NDArray[Any] = batch.ids  # strings, or the customers' integer ids
    if isinstance(batch, Batch):
        table = FeatureTable.from_columns(batch.columns, config.features)
    else:
        table = FeatureTable.from_codes(batch.codes, batch.uniques, config.features)
    encode(table, config, workers=workers)
    prepared = time.perf_counter()
    candidates = block(batch, table, config, max_block=max_block)
    keys = len(batch.key_values) if isinstance(batch, Batch) else candidates.entries
    del batch
    blocked = time.perf_counter()
    left, right, scores, outcomes = compare_pairs(config, table, candidates, workers=workers)
    finished = time.perf_counter()
    return ScanResult(
        config,
        table,
        ids,
        left,
        right,
        scores,
        outcomes,
        {
            "records": len(ids),
            "keys": candidates.keys,
            "key_entries": keys,
            "skipped_blocks": candidates.skipped_blocks,
            "skipped_rows": candidates.skipped_rows,
            "candidates": len(candidates.left),
            "prepare_s": prepared - started,
            "block_s": blocked - prepared,
            "compare_s": finished - blocked,
        },
    )
