"""Candidate pairs from blocking keys, set-based: records sharing a key are compared, nothing else.

A key shared by more than ``max_block`` records (a chain's name, a switchboard number) says too
little to be worth the pairs it would create; such blocks are skipped and the pairs they hold are
still found through the records' other, more selective keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .compare import IntArray

MAX_BLOCK = 500


@dataclass(frozen=True)
class Candidates:
    left: IntArray  # row numbers, left < right, each pair once
    right: IntArray
    keys: int  # distinct keys
    skipped_blocks: int  # keys shared by more than max_block records
    skipped_rows: int  # records in those blocks


def candidate_pairs(rows: IntArray, keys: Sequence[str], size: int, *, max_block: int = MAX_BLOCK) -> Candidates:
    """Every pair of rows that share a key. ``rows[i]`` holds ``keys[i]`` (one entry per row and key)."""
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
    pair_codes = []
    for block_size in np.unique(sizes[(sizes >= 2) & ~oversize]):
        block_starts = starts[sizes == block_size]
        first, second = np.triu_indices(int(block_size), 1)
        left = members[block_starts[:, None] + first[None, :]].ravel()
        right = members[block_starts[:, None] + second[None, :]].ravel()
        low, high = np.minimum(left, right), np.maximum(left, right)
        pair_codes.append(low * size + high)
    unique = np.unique(np.concatenate(pair_codes)) if pair_codes else np.zeros(0, dtype=np.int64)
    return Candidates(unique // size, unique % size, len(uniques), int(oversize.sum()), int(sizes[oversize].sum()))
