"""The batch scan: every candidate pair of a customer base in either band, set-based.

Features are computed into columns (columns.py; chinese_batch.py runs each normaliser once per
distinct raw value); pairs come from blocking keys (numpy group-by, with the config's block
filters); each field is compared on all pairs at once, with the same predicates as compare_many.
Pairs are scored in slices so memory stays bounded whatever the number of candidates. With
``workers`` > 1, forked processes featurise slices of the records, encode features and score slices
of the pairs (the machine has two cores; Python needs processes to use both).
"""

from __future__ import annotations

import functools
import multiprocessing
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from .blocking import MAX_BLOCK, Candidates, candidate_pairs
from .columns import Batch, one_by_one
from .compare import FeatureTable, IntArray, Match, MatchConfig, explain, score_pairs

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


def block(batch: Batch, table: FeatureTable, config: MatchConfig, *, max_block: int = MAX_BLOCK) -> Candidates:
    """The candidate pairs of a featurised batch (with the configuration's block filters)."""
    filters = {family: functools.partial(predicate, table) for family, predicate in config.block_filters.items()}
    return candidate_pairs(batch.key_rows, batch.key_values, max(table.size, 1), max_block=max_block, filters=filters)


def _codes_of(name: str) -> npt.NDArray[np.int32]:
    assert _compared is not None
    return _compared[1].codes(name)


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
    return multiprocessing.get_context("fork").Pool(workers)


def encode(table: FeatureTable, config: MatchConfig, *, workers: int = 1) -> None:
    """Integer codes of every feature (what equality is tested on), computed up front, in parallel."""
    global _compared
    if workers > 1 and table.size >= MIN_PARALLEL:
        try:
            with _pool(workers, table, config, None) as pool:
                names = list(config.features)
                for name, codes in zip(names, pool.map(_codes_of, names, chunksize=1), strict=True):
                    table.set_codes(name, codes)
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
    batch: Batch, config: MatchConfig, *, max_block: int = MAX_BLOCK, workers: int = 1, started: float | None = None
) -> ScanResult:
    """``scan`` of records already featurised (e.g. features kept in the database: ``columns.from_features``)."""
    started = time.perf_counter() if started is None else started
    table, ids = FeatureTable.from_columns(batch.columns, config.features), batch.ids
    encode(table, config, workers=workers)
    prepared = time.perf_counter()
    candidates = block(batch, table, config, max_block=max_block)
    keys = len(batch.key_values)
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
