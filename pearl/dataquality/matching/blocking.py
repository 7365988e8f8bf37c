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

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from .compare import BoolArray, IntArray

PairFilter = Callable[[IntArray, IntArray], BoolArray]


@dataclass(frozen=True)
class Either:
    """A block's pairs with at least one row where ``rows`` holds (a filter ``Lacks(feature)``)."""

    rows: BoolArray  # per row of the table


@dataclass(frozen=True)
class Within:
    """A block's pairs whose rows also share a code >= 0 (a filter ``Equal(feature)``)."""

    codes: npt.NDArray[np.int32]  # per row of the table


# A filter as a plan: the pairs any of its parts keeps. Blocking then makes only those pairs,
# instead of making every pair of the block and dropping most (the keys without a city make
# tens of millions of pairs in a million customers, nearly all dropped).
Plan = tuple[Either | Within, ...]
Filter = PairFilter | Plan

MAX_BLOCK = 500


@dataclass(frozen=True)
class Candidates:
    left: IntArray  # row numbers, left < right, each pair once
    right: IntArray
    keys: int  # distinct keys
    skipped_blocks: int  # keys shared by more than max_block records
    skipped_rows: int  # records in those blocks
    entries: int = 0  # (row, key) entries blocked on


@dataclass(frozen=True)
class KeyCodes:
    """Blocking keys as integers: entry i says row ``rows[i]`` holds key ``codes[i]`` (one entry per row
    and key), and the key belongs to family ``families[family[i]]``. Built from a table's feature
    codes (``chinese_batch.table_keys``): no key string is made, and grouping sorts integers."""

    rows: IntArray
    codes: IntArray
    family: npt.NDArray[np.int8]
    families: tuple[str, ...]


def candidate_pairs(
    rows: IntArray,
    keys: Sequence[str] | npt.NDArray[np.object_],
    size: int,
    *,
    max_block: int = MAX_BLOCK,
    filters: Mapping[str, Filter] | None = None,
) -> Candidates:
    """Every pair of rows that share a key. ``rows[i]`` holds ``keys[i]`` (one entry per row and key).

    ``filters`` maps a key family (the key's text before ":" or "#") to a filter its pairs must pass
    (a function of the pairs, or a ``Plan``).
    """
    codes, uniques = pd.factorize(np.asarray(keys, dtype=object))
    family = _families(uniques, list(filters or {}))[codes] if len(codes) else np.zeros(0, dtype=np.int64)
    return _pairs(np.asarray(rows, dtype=np.int64), codes, family, list((filters or {}).values()), size, max_block)


def coded_pairs(
    keys: KeyCodes, size: int, *, max_block: int = MAX_BLOCK, filters: Mapping[str, Filter] | None = None
) -> Candidates:
    """``candidate_pairs`` of integer keys (the same pairs as the keys' strings would give)."""
    filters = filters or {}
    checks = list(filters.values())
    # Family index -> index into checks, or -1.
    to_check = np.array([list(filters).index(f) if f in filters else -1 for f in keys.families], dtype=np.int64)
    family = to_check[keys.family] if len(keys.family) else np.zeros(0, dtype=np.int64)
    return _pairs(keys.rows, keys.codes, family, checks, size, max_block)


def _pairs(
    rows: IntArray, codes: IntArray, family: IntArray, checks: list[Filter], size: int, max_block: int
) -> Candidates:
    """The pairs of ``rows`` sharing a code; ``family[i]`` indexes ``checks`` (-1: no filter)."""
    if not len(codes):
        empty = np.zeros(0, dtype=np.int64)
        return Candidates(empty, empty, 0, 0, 0)
    order = np.argsort(codes, kind="stable")
    codes = codes[order]
    members = rows[order]
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    del codes
    family = family[order[starts]]  # per block
    del order
    sizes = np.diff(np.r_[starts, len(members)])
    oversize = sizes > max_block
    usable = (sizes >= 2) & ~oversize
    pair_codes = []

    def add(left: IntArray, right: IntArray) -> None:
        keep = left != right  # a row holding a key twice
        left, right = left[keep], right[keep]
        pair_codes.append(np.minimum(left, right) * size + np.maximum(left, right))

    planned = [index for index, check in enumerate(checks) if isinstance(check, tuple)]
    for index in planned:
        chosen = usable & (family == index)
        plan = checks[index]
        assert isinstance(plan, tuple)
        for part in plan:
            for left, right, _block in _part_pairs(part, members, starts[chosen], sizes[chosen]):
                add(left, right)
    rest = usable & ~np.isin(family, planned)
    rest_family = family[rest]
    for left, right, block in _block_pairs(members, starts[rest], sizes[rest]):
        keep = np.ones(len(left), dtype=bool)
        pair_family = rest_family[block]
        for index, check in enumerate(checks):
            todo = np.flatnonzero(pair_family == index)
            if len(todo):
                assert not isinstance(check, tuple)
                keep[todo] = check(left[todo], right[todo])
        add(left[keep], right[keep])
    entries = len(members)
    del members
    if pair_codes:
        unique = np.concatenate(pair_codes)
        del pair_codes[:]
        unique = _sorted_unique(unique)
    else:
        unique = np.zeros(0, dtype=np.int64)
    left = unique // size
    unique -= left * size  # the right rows, in place (a million customers: tens of millions of pairs)
    return Candidates(left, unique, len(starts), int(oversize.sum()), int(sizes[oversize].sum()), entries)


def _block_pairs(
    members: IntArray, starts: IntArray, sizes: IntArray, lead: IntArray | None = None
) -> Iterator[tuple[IntArray, IntArray, IntArray]]:
    """(left, right, block) of every pair of members within each block (``members[start:start+size]``),
    block by block size; with ``lead``, only the pairs whose first member is among the block's first
    ``lead`` members."""
    if not len(starts):
        return
    lead = sizes if lead is None else lead
    combined = sizes * (int(sizes.max()) + 1) + lead
    for value in np.unique(combined[lead >= 1]):
        block_size, block_lead = divmod(int(value), int(sizes.max()) + 1)
        chosen = np.flatnonzero(combined == value)
        first, second = np.triu_indices(block_size, 1)
        if block_lead < block_size:
            first, second = first[first < block_lead], second[first < block_lead]
        left = members[starts[chosen][:, None] + first[None, :]].ravel()
        right = members[starts[chosen][:, None] + second[None, :]].ravel()
        yield left, right, np.repeat(chosen, len(first))


def _part_pairs(
    part: Either | Within, members: IntArray, starts: IntArray, sizes: IntArray
) -> Iterator[tuple[IntArray, IntArray, IntArray]]:
    """The pairs of these blocks that one part of a plan keeps, made directly (not made and dropped)."""
    if not len(starts):
        return
    block = np.repeat(np.arange(len(starts)), sizes)
    entry = _ranges(starts, sizes)
    rows = members[entry]
    if isinstance(part, Either):
        # Members in ``part.rows`` first in each block: the pairs are those starting among them.
        inside = part.rows[rows]
        order = np.lexsort((~inside, block))
        rows, inside = rows[order], inside[order]
        offsets = np.r_[0, np.cumsum(sizes)[:-1]]
        lead = np.add.reduceat(inside.astype(np.int64), offsets)
        yield from _block_pairs(rows, offsets, sizes, lead)
        return
    # Within: blocks split further by the part's codes (rows without a code are in no pair).
    sub = part.codes[rows].astype(np.int64)
    has = sub >= 0
    finer = block[has] * (int(sub.max()) + 1) + sub[has]
    order = np.argsort(finer, kind="stable")
    finer, rows = finer[order], rows[has][order]
    if not len(finer):
        return
    starts = np.flatnonzero(np.r_[True, finer[1:] != finer[:-1]])
    sizes = np.diff(np.r_[starts, len(finer)])
    pairs = sizes >= 2
    yield from _block_pairs(rows, starts[pairs], sizes[pairs])


def _ranges(starts: IntArray, sizes: IntArray) -> IntArray:
    """The indices start, start+1, …, start+size-1 of every block, concatenated."""
    total = int(sizes.sum())
    offsets = np.r_[0, np.cumsum(sizes)[:-1]]
    return np.arange(total) - np.repeat(offsets - starts, sizes)


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
