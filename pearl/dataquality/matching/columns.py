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
