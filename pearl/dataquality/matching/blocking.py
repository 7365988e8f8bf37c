"""Candidate pairs from blocking keys, set-based: records sharing a key are compared, nothing else.

A key shared by more than ``max_block`` records (a chain's name, a switchboard number) says too
little to be worth the pairs it would create; such blocks are skipped and the pairs they hold are
still found through the records' other, more selective keys.

A key family may come with a filter: its blocks then yield only the pairs the filter keeps. The
Chinese config uses this for the keys without a city (the name core alone, the street number
alone): records that both know their city meet through the keys with the city, so those keys
are only needed for pairs where one side lacks it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from .compare import BoolArray, IntArray

PairFilter = Callable[[IntArray, IntArray], BoolArray]

MAX_BLOCK = 500


@dataclass(frozen=True)
class Candidates:
    left: IntArray  # row numbers, left < right, each pair once
    right: IntArray
    keys: int  # distinct keys
    skipped_blocks: int  # keys shared by more than max_block records
    skipped_rows: int  # records in those blocks


def candidate_pairs(
    rows: IntArray,
    keys: Sequence[str] | npt.NDArray[np.object_],
    size: int,
    *,
    max_block: int = MAX_BLOCK,
    filters: Mapping[str, PairFilter] | None = None,
) -> Candidates:
    """Every pair of rows that share a key. ``rows[i]`` holds ``keys[i]`` (one entry per row and key).

    ``filters`` maps a key family (the key's text before ":" or "#") to a filter its pairs must pass.
    """
    codes, uniques = pd.factorize(np.asarray(keys, dtype=object))
    order = np.argsort(codes, kind="stable")
    codes = codes[order]
    members = np.asarray(rows, dtype=np.int64)[order]
    if not len(codes):
        empty = np.zeros(0, dtype=np.int64)
        return Candidates(empty, empty, 0, 0, 0)
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    sizes = np.diff(np.r_[starts, len(codes)])
    oversize = sizes > max_block
    checks = list((filters or {}).values())
    family = _families(uniques, list(filters or {}))[codes[starts]]  # per block: index into checks, or -1
    pair_codes = []
    for block_size in np.unique(sizes[(sizes >= 2) & ~oversize]):
        chosen = sizes == block_size
        block_starts = starts[chosen]
        first, second = np.triu_indices(int(block_size), 1)
        left = members[block_starts[:, None] + first[None, :]].ravel()
        right = members[block_starts[:, None] + second[None, :]].ravel()
        keep = left != right
        pair_family = np.repeat(family[chosen], len(first))
        for index, check in enumerate(checks):
            todo = np.flatnonzero(pair_family == index)
            if len(todo):
                keep[todo] &= check(left[todo], right[todo])
        left, right = left[keep], right[keep]
        low, high = np.minimum(left, right), np.maximum(left, right)
        pair_codes.append(low * size + high)
    unique = _sorted_unique(np.concatenate(pair_codes)) if pair_codes else np.zeros(0, dtype=np.int64)
    return Candidates(unique // size, unique % size, len(uniques), int(oversize.sum()), int(sizes[oversize].sum()))


def _families(keys: Sequence[str] | npt.NDArray[np.object_], prefixes: list[str]) -> IntArray:
    """For each key, the index of its family in ``prefixes`` (-1: none)."""
    out = np.full(len(keys), -1, dtype=np.int64)
    if prefixes:
        series = pd.Series(keys, dtype=object)
        for index, prefix in enumerate(prefixes):
            out[series.str.startswith((f"{prefix}:", f"{prefix}#")).to_numpy(dtype=bool)] = index
    return out


def _sorted_unique(codes: IntArray) -> IntArray:
    # np.unique hashes first (numpy 2); a plain sort is several times faster on int64 codes.
    codes.sort()
    return codes[np.r_[True, codes[1:] != codes[:-1]]] if len(codes) else codes
