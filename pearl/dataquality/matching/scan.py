"""The batch scan: every candidate pair of a customer base in either band, set-based.

Features are computed once per record into columns; pairs come from blocking keys (numpy group-by);
each field is compared on all pairs at once. Pairs are scored in slices so memory stays bounded
whatever the number of candidates.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from .blocking import MAX_BLOCK, candidate_pairs
from .compare import MAX_MANY, FeatureTable, IntArray, Match, MatchConfig, explain, score_pairs

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


Columns = tuple[dict[str, list[Any]], list[str], list[int], list[str]]
_shared: tuple[Sequence[Any], MatchConfig] | None = None  # what forked workers read (not pickled)


def _featurize_range(bounds: tuple[int, int]) -> Columns:
    assert _shared is not None
    records, config = _shared
    return _featurize(records[bounds[0] : bounds[1]], config, bounds[0])


def _featurize(records: Iterable[Any], config: MatchConfig, first_row: int = 0) -> Columns:
    columns: dict[str, list[Any]] = {name: [] for name in config.features}
    appenders = [(name, columns[name].append) for name in config.features]
    ids: list[str] = []
    key_rows: list[int] = []
    key_values: list[str] = []
    featurize, make_keys = config.featurize, config.keys
    for row, record in enumerate(records, first_row):
        features = featurize(record)
        ids.append(str(features.get("id", "")))
        for name, append in appenders:
            append(features.get(name))
        keys = make_keys(features)
        key_rows.extend([row] * len(keys))
        key_values.extend(keys)
    return columns, ids, key_rows, key_values


def build_table(
    records: Iterable[Any], config: MatchConfig, *, workers: int = 1
) -> tuple[FeatureTable, npt.NDArray[Any], IntArray, list[str]]:
    """Featurise every record straight into columns (no per-record objects kept).

    With ``workers`` > 1 and a sequence of records, forked processes each featurise a slice
    (featurising is pure Python and the slowest step of a scan).
    """
    global _shared
    if workers > 1 and isinstance(records, Sequence) and len(records) >= 10_000:
        step = -(-len(records) // workers)
        _shared = (records, config)
        try:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                parts = pool.map(
                    _featurize_range, [(i, min(i + step, len(records))) for i in range(0, len(records), step)]
                )
        finally:
            _shared = None
        columns, ids, key_rows, key_values = parts[0]
        for more in parts[1:]:
            for name in columns:
                columns[name].extend(more[0][name])
            ids.extend(more[1])
            key_rows.extend(more[2])
            key_values.extend(more[3])
    else:
        columns, ids, key_rows, key_values = _featurize(records, config)
    return _table(columns, ids, key_rows, key_values, config)


def _table(
    columns: dict[str, list[Any]], ids: list[str], key_rows: list[int], key_values: list[str], config: MatchConfig
) -> tuple[FeatureTable, npt.NDArray[Any], IntArray, list[str]]:
    kinds = config.features
    size = len(ids)
    arrays: dict[str, npt.NDArray[Any]] = {}
    for name, kind in kinds.items():
        if kind == "one":
            arrays[name] = np.array([v or "" for v in columns[name]], dtype=object)
        else:
            matrix = np.full((size, MAX_MANY), "", dtype=object)
            for row, values in enumerate(columns[name]):
                if values:
                    matrix[row, : len(values[:MAX_MANY])] = values[:MAX_MANY]
            arrays[name] = matrix
    return FeatureTable.from_columns(arrays, kinds), np.array(ids, dtype=object), np.array(key_rows), key_values


def scan(records: Iterable[Any], config: MatchConfig, *, max_block: int = MAX_BLOCK, workers: int = 1) -> ScanResult:
    """All pairs of ``records`` scoring at least ``config.possible``, with their outcomes."""
    started = time.perf_counter()
    table, ids, key_rows, key_values = build_table(records, config, workers=workers)
    prepared = time.perf_counter()
    candidates = candidate_pairs(key_rows, key_values, max(len(ids), 1), max_block=max_block)
    del key_rows, key_values
    blocked = time.perf_counter()
    lefts, rights, scores, outcomes = [], [], [], []
    for start in range(0, len(candidates.left), SLICE):
        left = candidates.left[start : start + SLICE]
        right = candidates.right[start : start + SLICE]
        score, outcome = score_pairs(config, table, left, right)
        keep = score >= config.possible
        lefts.append(left[keep])
        rights.append(right[keep])
        scores.append(score[keep])
        outcomes.append(outcome[keep])
    finished = time.perf_counter()
    empty = np.zeros(0, dtype=np.int64)
    return ScanResult(
        config,
        table,
        ids,
        np.concatenate(lefts) if lefts else empty,
        np.concatenate(rights) if rights else empty,
        np.concatenate(scores) if scores else np.zeros(0),
        np.concatenate(outcomes) if outcomes else np.zeros((0, len(config.fields)), dtype=np.int8),
        {
            "records": len(ids),
            "keys": candidates.keys,
            "skipped_blocks": candidates.skipped_blocks,
            "skipped_rows": candidates.skipped_rows,
            "candidates": len(candidates.left),
            "prepare_s": prepared - started,
            "block_s": blocked - prepared,
            "compare_s": finished - blocked,
        },
    )
