"""The engine: Fellegi–Sunter comparison levels evaluated on arrays of record pairs.

A field comparison is an ordered list of levels (exact, pinyin, similar, …); the first level whose
predicate holds is the pair's outcome for that field, and each level carries a weight
log2(m/u) — how much more often that outcome happens between duplicates (m) than between
different customers (u). A pair's score is the sum of its fields' weights, so every score
explains itself: the reasons are the outcomes and weights that add up to it.

Everything works on arrays of pairs (numpy, rapidfuzz.process.cpdist) so the batch scan compares
millions of pairs without a Python loop per pair; comparing one pair is the same code on arrays
of length one, so the check while typing and the batch scan cannot disagree.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd
from rapidfuzz import process
from rapidfuzz.distance import JaroWinkler, Levenshtein

if TYPE_CHECKING:
    from .blocking import KeyCodes
    from .columns import Batch

Features = dict[str, Any]  # feature name -> str, or tuple[str, ...] for a "many" feature
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
Band = Literal["duplicate", "possible"]
MISSING = "missing"
MAX_MANY = 4  # values kept per multi-valued feature (a customer's first four mobiles, …)


# --- columns of features ----------------------------------------------------------------------


class FeatureTable:
    """Records' features as columns: strings for similarity, integer codes for equality (-1 = empty)."""

    def __init__(self, rows: Sequence[Mapping[str, Any]], kinds: Mapping[str, str]) -> None:
        self.size = len(rows)
        self.kinds = dict(kinds)
        self._values: dict[str, npt.NDArray[Any]] = {}
        self._codes: dict[str, npt.NDArray[np.int32]] = {}
        self._uniques: dict[str, npt.NDArray[Any]] = {}  # code -> value, "" last (code -1)
        self._first: dict[str, tuple[npt.NDArray[np.int32], npt.NDArray[np.uint64]]] = {}
        self._present: dict[str, BoolArray] = {}
        for name, kind in self.kinds.items():
            if kind == "many":
                matrix = np.full((self.size, MAX_MANY), "", dtype=object)
                for i, row in enumerate(rows):
                    values = row.get(name) or ()
                    for j, value in enumerate(values[:MAX_MANY]):
                        matrix[i, j] = value
                self._values[name] = matrix
            else:
                self._values[name] = np.array([row.get(name) or "" for row in rows], dtype=object)

    @classmethod
    def from_columns(cls, columns: Mapping[str, npt.NDArray[Any]], kinds: Mapping[str, str]) -> FeatureTable:
        table = cls([], kinds)
        table._values = dict(columns)
        table.size = len(next(iter(columns.values()))) if columns else 0
        return table

    @classmethod
    def from_codes(
        cls,
        codes: Mapping[str, npt.NDArray[np.int32]],
        uniques: Mapping[str, npt.NDArray[Any]],
        kinds: Mapping[str, str],
    ) -> FeatureTable:
        """A table of integer codes into each feature's distinct values (``uniques[name][-1]`` is ""):
        strings are looked up only for the rows that need them (similarity, reasons)."""
        table = cls([], kinds)
        table._values = {}
        table._codes = dict(codes)
        table._uniques = dict(uniques)
        table.size = len(next(iter(codes.values()))) if codes else 0
        return table

    @property
    def encoded(self) -> bool:
        """Every feature has its codes already."""
        return all(name in self._codes for name in self.kinds)

    def values(self, name: str) -> npt.NDArray[Any]:
        if name not in self._values:  # a table of codes: every row's strings (memory: only when asked)
            self._values[name] = self._uniques[name][self._codes[name]]
        return self._values[name]

    def take(self, name: str, rows: IntArray) -> npt.NDArray[Any]:
        """The values of these rows (the first value of a "many" feature)."""
        if name in self._values:
            values = self._values[name]
            return values[rows, 0] if values.ndim == 2 else values[rows]
        codes = self._codes[name]
        return self._uniques[name][codes[rows, 0] if codes.ndim == 2 else codes[rows]]

    def value(self, name: str, row: int) -> Any:
        """One row's value (all values of a "many" feature, as an array)."""
        if name in self._values:
            return self._values[name][row]
        return self._uniques[name][self._codes[name][row]]

    def distinct(self, name: str) -> npt.NDArray[Any]:
        """The feature's distinct values, indexed by code (the last one is "", for code -1)."""
        if name not in self._uniques:
            self.codes(name)
        return self._uniques[name]

    def codes(self, name: str) -> npt.NDArray[np.int32]:
        if name not in self._codes:
            values = self._values[name]
            flat = values.ravel()
            codes, uniques = pd.factorize(flat)
            codes = codes.astype(np.int32)
            empty = np.flatnonzero(uniques == "")
            if len(empty):
                codes[codes == empty[0]] = -1
            self._codes[name] = codes.reshape(values.shape)
            self._uniques[name] = np.append(uniques.astype(object), "")
        return self._codes[name]

    def first_codes(self, name: str) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.uint64]]:
        """A "many" feature's first code per record, and a 64-bit mask of all its codes (one bit per
        value, chosen by the code): two records whose masks do not meet share no value."""
        if name not in self._first:
            codes = self.codes(name)
            bits = (codes.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(58)
            mask = np.bitwise_or.reduce(np.where(codes >= 0, np.uint64(1) << bits, np.uint64(0)), axis=1)
            self._first[name] = (np.ascontiguousarray(codes[:, 0]), mask)
        return self._first[name]

    def set_codes(self, name: str, codes: npt.NDArray[np.int32], uniques: npt.NDArray[Any]) -> None:
        """Codes computed elsewhere (by a worker process) from this table's values."""
        self._codes[name] = codes
        self._uniques[name] = uniques
        self._first.pop(name, None)
        self._present.pop(name, None)

    def present(self, name: str) -> BoolArray:
        if name not in self._present:
            codes = self.codes(name)
            self._present[name] = codes[:, 0] >= 0 if codes.ndim == 2 else codes >= 0
        return self._present[name]


# --- predicates ---------------------------------------------------------------------------------


class Predicate:
    """Holds or not for each pair (left[i], right[i]); both values are present when it is asked."""

    def __call__(self, table: FeatureTable, left: IntArray, right: IntArray) -> BoolArray:
        raise NotImplementedError


@dataclass(frozen=True)
class Equal(Predicate):
    """Same value; for a multi-valued feature, at least one value in common."""

    feature: str

    def __call__(self, table: FeatureTable, left: IntArray, right: IntArray) -> BoolArray:
        codes = table.codes(self.feature)
        if codes.ndim == 1:
            a, b = codes[left], codes[right]
            return (a == b) & (a >= 0)
        # Most records hold one value of a kind: compare the first values (a contiguous column,
        # cheap to gather), and all of them only where the masks of the values meet beyond that.
        first, mask = table.first_codes(self.feature)
        a0 = first[left]
        same = (a0 == first[right]) & (a0 >= 0)
        more = np.flatnonzero(~same & ((mask[left] & mask[right]) != 0))
        if len(more):
            a, b = codes[left[more]], codes[right[more]]
            same[more] = ((a[:, :, None] == b[:, None, :]) & (a[:, :, None] >= 0)).any(axis=(1, 2))
        return same


@dataclass(frozen=True)
class Differ(Predicate):
    """Both present and not equal (for evidence against, e.g. two different cities)."""

    feature: str

    def __call__(self, table: FeatureTable, left: IntArray, right: IntArray) -> BoolArray:
        present = table.present(self.feature)
        return present[left] & present[right] & ~Equal(self.feature)(table, left, right)


@dataclass(frozen=True)
class Lacks(Predicate):
    """Either side lacks the feature (asked of any pair, unlike the level predicates)."""

    feature: str

    def __call__(self, table: FeatureTable, left: IntArray, right: IntArray) -> BoolArray:
        present = table.present(self.feature)
        return ~(present[left] & present[right])


# Threads per similarity call; the batch scan's worker processes set 1 (they already fill the cores).
THREADS = -1

_SCORERS: dict[str, Callable[..., float]] = {
    "jaro_winkler": JaroWinkler.normalized_similarity,
    "levenshtein": Levenshtein.normalized_similarity,
}


@dataclass(frozen=True)
class Similar(Predicate):
    """String similarity (0..1) at least ``threshold``; the first value of a multi-valued feature."""

    feature: str
    threshold: float
    metric: str = "jaro_winkler"

    def __call__(self, table: FeatureTable, left: IntArray, right: IntArray) -> BoolArray:
        if not len(left):
            return np.zeros(0, dtype=bool)
        # With a cutoff the scorer gives up early on pairs below it (they score 0); set a hair under
        # the threshold, every pair near it still gets its exact score: the same verdicts, faster.
        threshold = self.threshold - 1e-6
        scores = process.cpdist(
            list(table.take(self.feature, left)), list(table.take(self.feature, right)),
            scorer=_SCORERS[self.metric], workers=THREADS, dtype=np.float32, score_cutoff=threshold - 1e-6,
        )  # fmt: skip
        return np.asarray(scores >= threshold)


@dataclass(frozen=True)
class Edits(Predicate):
    """At most ``max_edits`` insertions, deletions or substitutions apart (a typo in a date or id)."""

    feature: str
    max_edits: int

    def __call__(self, table: FeatureTable, left: IntArray, right: IntArray) -> BoolArray:
        if not len(left):
            return np.zeros(0, dtype=bool)
        distances = process.cpdist(
            list(table.take(self.feature, left)), list(table.take(self.feature, right)),
            scorer=Levenshtein.distance, workers=THREADS, dtype=np.int32, score_cutoff=self.max_edits,
        )  # fmt: skip
        return np.asarray(distances <= self.max_edits)


@dataclass(frozen=True)
class All(Predicate):
    parts: tuple[Predicate, ...]

    def __call__(self, table: FeatureTable, left: IntArray, right: IntArray) -> BoolArray:
        holds = np.ones(len(left), dtype=bool)
        for part in self.parts:
            todo = np.flatnonzero(holds)
            holds[todo] = part(table, left[todo], right[todo])
        return holds


@dataclass(frozen=True)
class AnyOf(Predicate):
    parts: tuple[Predicate, ...]

    def __call__(self, table: FeatureTable, left: IntArray, right: IntArray) -> BoolArray:
        holds = np.zeros(len(left), dtype=bool)
        for part in self.parts:
            todo = np.flatnonzero(~holds)
            holds[todo] = part(table, left[todo], right[todo])
        return holds


# --- levels and fields --------------------------------------------------------------------------


def log2_ratio(m: float, u: float) -> float:
    return round(math.log2(m / u), 2)


@dataclass(frozen=True)
class Level:
    """One agreement level: its outcome name, when it applies, and m / u probabilities."""

    outcome: str
    when: Predicate | None  # None: the catch-all level after the others
    m: float
    u: float

    @property
    def weight(self) -> float:
        return log2_ratio(self.m, self.u)


@dataclass(frozen=True)
class FieldComparison:
    """A field's levels, tried in order; ``requires`` features empty on either side → "missing" (weight 0)."""

    name: str
    requires: tuple[str, ...]
    levels: tuple[Level, ...]
    otherwise: Level

    @property
    def outcomes(self) -> tuple[str, ...]:
        return (*(level.outcome for level in self.levels), self.otherwise.outcome, MISSING)

    @property
    def weights(self) -> npt.NDArray[np.float64]:
        return np.array([*(level.weight for level in self.levels), self.otherwise.weight, 0.0])

    def evaluate(self, table: FeatureTable, left: IntArray, right: IntArray) -> npt.NDArray[np.int8]:
        """The index (into ``outcomes``) of each pair's outcome."""
        missing_index = len(self.levels) + 1
        out = np.full(len(left), len(self.levels), dtype=np.int8)
        present = np.ones(len(left), dtype=bool)
        for feature in self.requires:
            has = table.present(feature)
            present &= has[left] & has[right]
        out[~present] = missing_index
        todo = np.flatnonzero(present)
        for index, level in enumerate(self.levels):
            if not len(todo):
                break
            assert level.when is not None
            holds = level.when(table, left[todo], right[todo])
            out[todo[holds]] = index
            todo = todo[~holds]
        return out


@dataclass(frozen=True)
class MatchConfig:
    """Everything that makes the one engine a Chinese-customer or a FEBRL matcher."""

    name: str
    features: Mapping[str, str]  # feature -> "one" | "many"
    featurize: Callable[[Any], Features]
    keys: Callable[[Features], set[str]]
    fields: tuple[FieldComparison, ...]
    duplicate: float  # score at or above: confident duplicate
    possible: float  # score at or above (and below duplicate): for review
    detail_features: Mapping[str, str] = field(default_factory=dict)  # field -> feature shown in reasons
    # The whole batch at once (same result as featurize + keys on each record), for the scan.
    featurize_batch: Callable[[Sequence[Any]], Batch] | None = None
    # The column-wise twin of ``keys``: every row's keys as integers made from the table's feature
    # codes (what the scan of kept features blocks on). Without it, keys are made record by record.
    table_keys: Callable[[FeatureTable], KeyCodes] | None = None
    # Key family -> what a pair sharing only such a key must satisfy to be compared in the scan.
    block_filters: Mapping[str, Predicate] = field(default_factory=dict)

    def band(self, score: float) -> Band | None:
        if score >= self.duplicate:
            return "duplicate"
        if score >= self.possible:
            return "possible"
        return None


class Reason(NamedTuple):
    field: str
    outcome: str
    weight: float
    detail: str


@dataclass(frozen=True)
class Prepared:
    id: str
    features: Features
    keys: frozenset[str]


@dataclass(frozen=True)
class Match:
    left: str
    right: str
    score: float
    band: Band | None
    reasons: tuple[Reason, ...]


def score_pairs(
    config: MatchConfig, table: FeatureTable, left: IntArray, right: IntArray
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int8]]:
    """Scores and the outcome matrix (pairs × fields) of the given pairs."""
    outcomes = np.empty((len(left), len(config.fields)), dtype=np.int8)
    scores = np.zeros(len(left), dtype=np.float64)
    for column, comparison in enumerate(config.fields):
        outcome = comparison.evaluate(table, left, right)
        outcomes[:, column] = outcome
        scores += comparison.weights[outcome]
    return np.round(scores, 2), outcomes


def _show(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return "/".join(str(v) for v in value if v)
    return str(value)


def explain(
    config: MatchConfig, table: FeatureTable, i: int, j: int, outcomes: npt.NDArray[np.int8]
) -> tuple[Reason, ...]:
    reasons = []
    for column, comparison in enumerate(config.fields):
        index = int(outcomes[column])
        feature = config.detail_features.get(comparison.name, comparison.requires[0])
        detail = f"{_show(table.value(feature, i))} | {_show(table.value(feature, j))}"
        reasons.append(Reason(comparison.name, comparison.outcomes[index], float(comparison.weights[index]), detail))
    return tuple(reasons)


def evidence(reasons: Sequence[Reason]) -> list[Reason]:
    """The reasons worth showing: fields with evidence either way (a "missing" field weighs 0)."""
    return [r for r in reasons if r.weight or r.outcome != "missing"]


def prepare(record: Any, config: MatchConfig) -> Prepared:
    features = config.featurize(record)
    return Prepared(str(features.get("id", getattr(record, "id", ""))), features, frozenset(config.keys(features)))


def blocking_keys(prepared: Prepared) -> set[str]:
    return set(prepared.keys)


def compare_many(query: Prepared, candidates: Sequence[Prepared], config: MatchConfig) -> list[Match]:
    """The query against each candidate (the check while typing); same arithmetic as the scan."""
    if not candidates:
        return []
    table = FeatureTable([query.features, *(c.features for c in candidates)], config.features)
    right = np.arange(1, len(candidates) + 1, dtype=np.int64)
    left = np.zeros(len(candidates), dtype=np.int64)
    scores, outcomes = score_pairs(config, table, left, right)
    return [
        Match(query.id, c.id, float(scores[k]), config.band(float(scores[k])),
              explain(config, table, 0, k + 1, outcomes[k]))
        for k, c in enumerate(candidates)
    ]  # fmt: skip


def compare(a: Prepared, b: Prepared, config: MatchConfig) -> Match:
    return compare_many(a, [b], config)[0]
