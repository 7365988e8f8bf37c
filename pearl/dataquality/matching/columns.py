"""Features of many records at once, as columns: the first step of the batch scan.

A configuration may featurise a whole batch column by column (``MatchConfig.featurize_batch``):
each normalising function then runs once per distinct raw value instead of once per record, and
the per-record glue (joining, filtering, de-duplicating) is numpy/pandas work on whole columns.
Without one, records are featurised one by one with ``MatchConfig.featurize`` and gathered here.
Either way the result is a ``Batch``; ``prepare`` on one record must give the same features and
keys (the tests compare the two).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from .compare import MAX_MANY, IntArray

if TYPE_CHECKING:
    from .compare import MatchConfig

ObjectArray = npt.NDArray[np.object_]


@dataclass
class Batch:
    """Columns of features for ``len(ids)`` records and their blocking keys (one entry per row and key)."""

    columns: dict[str, ObjectArray]  # feature -> (n,) strings, or (n, MAX_MANY) for a "many" feature
    ids: ObjectArray
    key_rows: IntArray
    key_values: ObjectArray

    def row(self, i: int) -> dict[str, Any]:
        """Record ``i``'s features in ``prepare``'s form (a tuple for a "many" feature), for tests."""
        out: dict[str, Any] = {}
        for name, values in self.columns.items():
            out[name] = tuple(v for v in values[i] if v) if values.ndim == 2 else values[i]
        return out

    def keys_of(self, i: int) -> set[str]:
        return set(self.key_values[self.key_rows == i])

    @staticmethod
    def concat(parts: Sequence[Batch]) -> Batch:
        offsets = np.cumsum([0, *(len(p.ids) for p in parts)])
        return Batch(
            {name: np.concatenate([p.columns[name] for p in parts]) for name in parts[0].columns},
            np.concatenate([p.ids for p in parts]),
            np.concatenate([p.key_rows + offset for p, offset in zip(parts, offsets, strict=False)]),
            np.concatenate([p.key_values for p in parts]),
        )


def objects(values: Iterable[Any], size: int | None = None) -> ObjectArray:
    """An object array of ``values`` (never a 2-D array made of tuples)."""
    items = values if isinstance(values, list) else list(values)
    out = np.empty(len(items) if size is None else size, dtype=object)
    for i, value in enumerate(items):
        out[i] = value
    return out


def strings(values: list[str]) -> ObjectArray:
    return np.array(values, dtype=object) if values else np.zeros(0, dtype=object)


def map_unique(values: ObjectArray, function: Callable[[Any], Any]) -> ObjectArray:
    """``function`` of each value, computed once per distinct value (raw values repeat a lot)."""
    if not len(values):
        return np.zeros(0, dtype=object)
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    return objects([function(u) for u in uniques])[codes]


def intern(keys: Iterable[Hashable], size: int) -> tuple[IntArray, list[Any]]:
    """Integer codes for hashable keys (tuples too) and the distinct keys in order of appearance."""
    seen: dict[Hashable, int] = {}
    setdefault = seen.setdefault
    codes = np.fromiter((setdefault(k, len(seen)) for k in keys), dtype=np.int64, count=size)
    return codes, list(seen)


def distinct_in_rows(rows: IntArray, values: ObjectArray) -> tuple[IntArray, ObjectArray]:
    """Drop empty values and repeats within a row, keeping the first of each (``rows`` ascending)."""
    keep = values != ""
    rows, values = rows[keep], values[keep]
    if not len(rows):
        return rows, values
    codes, uniques = pd.factorize(values)
    repeat = pd.Series(rows * len(uniques) + codes).duplicated().to_numpy()
    return rows[~repeat], values[~repeat]


def matrix(rows: IntArray, values: ObjectArray, size: int) -> ObjectArray:
    """The first MAX_MANY values of each row, in a (size, MAX_MANY) matrix padded with ""."""
    out = np.full((size, MAX_MANY), "", dtype=object)
    if len(rows):
        index = np.arange(len(rows))
        starts = np.r_[True, rows[1:] != rows[:-1]]
        position = index - np.maximum.accumulate(np.where(starts, index, 0))
        first = position < MAX_MANY
        out[rows[first], position[first]] = values[first]
    return out


def keyed(
    prefix: str, rows: IntArray, values: ObjectArray, short_key: Callable[[str, str], str], max_key: int
) -> Batch:
    """Blocking keys ``short_key(prefix, value)`` for the given rows (no feature columns)."""
    keys = f"{prefix}:" + values if len(values) else values
    # Only a key longer than ``max_key`` differs from prefix:value (short_key hashes it).
    long = np.flatnonzero(np.fromiter(map(len, keys), dtype=np.int64, count=len(keys)) > max_key)
    if len(long):
        keys[long] = [short_key(prefix, v) for v in values[long]]
    return Batch({}, np.zeros(0, dtype=object), rows, keys)


def flat(many: list[Sequence[Any]]) -> tuple[IntArray, ObjectArray]:
    """Rows and values of a column of sequences (None counts as ""), one entry per value."""
    lengths = np.fromiter(map(len, many), dtype=np.int64, count=len(many))
    values = strings(list(chain.from_iterable(many)))
    if len(values):
        values[[v is None for v in values]] = ""
    return np.repeat(np.arange(len(many), dtype=np.int64), lengths), values


def factorize(values: ObjectArray) -> tuple[IntArray, ObjectArray]:
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    return codes.astype(np.int64), uniques


def one_by_one(records: Iterable[Any], config: MatchConfig) -> Batch:
    """The batch of a configuration without ``featurize_batch``: ``featurize`` record by record."""
    return from_features((config.featurize(record) for record in records), config)


FIELD_SEP, ITEM_SEP = "\x1f", "\x1e"  # ASCII unit / record separators: never part of normalised text


def _clean(value: Any) -> str:
    return str(value or "").replace(FIELD_SEP, " ").replace(ITEM_SEP, " ")


def stored(features: Mapping[str, Any], config: MatchConfig) -> str:
    """A record's features as kept in the database: one string, fields in the order of
    ``config.features`` (a "many" field's values joined) — read back with a split, several times
    faster than JSON for a million rows."""
    fields = []
    for name, kind in config.features.items():
        value = features.get(name)
        fields.append(ITEM_SEP.join(_clean(v) for v in value or () if v) if kind == "many" else _clean(value))
    return FIELD_SEP.join(fields)


def unstored(record_id: str, text: str, config: MatchConfig) -> dict[str, Any] | None:
    """The features ``stored`` kept (None when they were kept for another configuration)."""
    values = text.split(FIELD_SEP)
    if len(values) != len(config.features):
        return None
    out: dict[str, Any] = {"id": record_id}
    for (name, kind), value in zip(config.features.items(), values, strict=True):
        out[name] = (tuple(value.split(ITEM_SEP)) if value else ()) if kind == "many" else value
    return out


@dataclass
class Encoded:
    """Features of many records as integer codes, what the scan reads back from the kept features.

    ``codes[name]`` is (n,) or (n, MAX_MANY) for a "many" feature: an index into ``uniques[name]``,
    -1 for empty (``uniques[name][-1]`` is "", so ``uniques[name][codes]`` gives the strings). Equality
    is tested on the codes, and each distinct string exists once however many records hold it: a
    million customers' features fit in a few hundred MB instead of several GB of per-record strings.
    """

    ids: npt.NDArray[np.int64]
    codes: dict[str, npt.NDArray[np.int32]]
    uniques: dict[str, ObjectArray]


class StoredReader:
    """Builds an ``Encoded`` from kept feature strings (``stored``), a chunk at a time.

    A chunk is split into fields with one join and one split (no per-record dicts) and each field is
    factorised; only its codes and distinct values outlive the chunk. ``result`` factorises the
    chunks' distinct values together and renumbers the codes (hashing in pandas, no Python loop
    per value: most mobiles, e-mails and addresses are distinct).
    """

    def __init__(self, config: MatchConfig) -> None:
        self.kinds = list(config.features.items())
        self.codes: list[list[npt.NDArray[np.int32]]] = [[] for _kind in self.kinds]  # per chunk, local codes
        self.uniques: list[list[ObjectArray]] = [[] for _kind in self.kinds]  # per chunk, what they index
        self.ids: list[npt.NDArray[np.int64]] = []

    def add(self, ids: Sequence[int], texts: Sequence[str]) -> list[int]:
        """Read these records; returns the ids whose text was kept for another configuration."""
        width = len(self.kinds)
        counts = np.fromiter((t.count(FIELD_SEP) for t in texts), dtype=np.int64, count=len(texts))
        stale = counts != width - 1
        bad: list[int] = []
        if stale.any():
            bad = np.asarray(ids, dtype=np.int64)[stale].tolist()
            good = np.flatnonzero(~stale).tolist()
            texts, ids = [texts[i] for i in good], [ids[i] for i in good]
        if not texts:
            return bad
        fields = strings(FIELD_SEP.join(texts).split(FIELD_SEP)).reshape(len(texts), width)
        self.ids.append(np.asarray(ids, dtype=np.int64))
        for column, (_name, kind) in enumerate(self.kinds):
            values = fields[:, column]
            # Many features are empty for most records (a person's name for companies…): hash only the others.
            present = np.flatnonzero(values != "")
            codes = np.full(len(values), -1, dtype=np.int32)
            found, uniques = pd.factorize(values[present])
            codes[present] = found
            if kind == "many":  # codes of the joined values -> a row of codes of the values
                codes, uniques = self._split(codes, uniques)
            self.codes[column].append(codes)
            self.uniques[column].append(uniques)
        return bad

    @staticmethod
    def _split(codes: npt.NDArray[np.int32], joined: ObjectArray) -> tuple[npt.NDArray[np.int32], ObjectArray]:
        lengths = np.fromiter((j.count(ITEM_SEP) + 1 for j in joined), dtype=np.int64, count=len(joined))
        values = strings(ITEM_SEP.join(joined).split(ITEM_SEP)) if len(joined) else np.zeros(0, dtype=object)
        rows = np.repeat(np.arange(len(joined)), lengths)
        position = np.arange(len(values)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        value_codes, uniques = pd.factorize(values)
        out = np.full((len(joined) + 1, MAX_MANY), -1, dtype=np.int32)  # the last row: no value (code -1)
        first = position < MAX_MANY
        out[rows[first], position[first]] = value_codes[first]
        return out[codes], uniques

    def result(self) -> Encoded:
        codes, uniques = {}, {}
        for column, (name, kind) in enumerate(self.kinds):
            local, known = self.codes[column], self.uniques[column]
            self.codes[column], self.uniques[column] = [], []
            together, distinct = pd.factorize(np.concatenate(known) if known else np.zeros(0, dtype=object))
            # "" is no value: code -1, and the codes after it move down one.
            renumber = np.arange(len(distinct), dtype=np.int32)
            empty = np.flatnonzero(distinct == "")
            if len(empty):
                renumber[empty[0]] = -1
                renumber[empty[0] + 1 :] -= 1
                distinct = np.delete(distinct, empty[0])
            together = renumber[together]
            parts, offset = [], 0
            for chunk_codes, chunk_uniques in zip(local, known, strict=True):
                # Local code -> global code; local -1 (no value) takes the appended -1.
                mapping = np.append(together[offset : offset + len(chunk_uniques)], np.int32(-1))
                parts.append(mapping[chunk_codes])
                offset += len(chunk_uniques)
            shape = (0, MAX_MANY) if kind == "many" else (0,)
            codes[name] = np.concatenate(parts) if parts else np.zeros(shape, dtype=np.int32)
            uniques[name] = np.append(distinct.astype(object), "")  # uniques[-1] == "": uniques[codes] works
        ids = np.concatenate(self.ids) if self.ids else np.zeros(0, dtype=np.int64)
        return Encoded(ids, codes, uniques)


def from_features(many_features: Iterable[dict[str, Any]], config: MatchConfig) -> Batch:
    """The batch of records whose features are known (computed, or read back from the database)."""
    columns: dict[str, list[Any]] = {name: [] for name in config.features}
    appenders = [(name, columns[name].append) for name in config.features]
    ids: list[str] = []
    key_rows: list[int] = []
    key_values: list[str] = []
    for row, features in enumerate(many_features):
        ids.append(str(features.get("id", "")))
        for name, append in appenders:
            append(features.get(name))
        keys = config.keys(features)
        key_rows.extend([row] * len(keys))
        key_values.extend(keys)
    size = len(ids)
    arrays: dict[str, ObjectArray] = {}
    for name, kind in config.features.items():
        if kind == "one":
            arrays[name] = strings([v or "" for v in columns[name]])
        else:
            out = np.full((size, MAX_MANY), "", dtype=object)
            for row, many in enumerate(columns[name]):
                if many:
                    out[row, : len(many[:MAX_MANY])] = many[:MAX_MANY]
            arrays[name] = out
    return Batch(arrays, strings(ids), np.array(key_rows, dtype=np.int64), strings(key_values))
