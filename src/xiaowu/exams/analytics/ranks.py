"""名次 (``analytics.md`` §2.8): competition ranking "1224" (rank = 1 + #higher, the usual 名次)
and dense ranking "1223", computed three ways:

- ``scan_ranks``: over rows already sorted by (group, score descending) — one linear scan;
- ``histogram_ranks``: per score of a histogram — the rank of every student with that score;
- ``lexicographic_ranks``: descending on several keys, for 总分 with a tie-break chain.
"""

from __future__ import annotations

import numpy as np

from xiaowu.exams.analytics.frame import BoolArray, IntArray


def scan_ranks(
    keys: IntArray, starts: IntArray, groups: IntArray, *, dense: bool
) -> tuple[IntArray, IntArray | None]:
    """Ranks at every position of rows sorted by group, then score descending. ``keys`` are
    equal exactly for rows of the same group with the same score; ``starts`` is the first
    position of each group and ``groups`` the group of each position."""
    size = keys.size
    new_run = np.empty(size, dtype=np.bool_)
    new_run[:1] = True
    np.not_equal(keys[1:], keys[:-1], out=new_run[1:])
    competition: IntArray = np.where(new_run, np.arange(size, dtype=np.int64), 0)
    np.maximum.accumulate(competition, out=competition)  # first position of the tie
    group_start = starts[groups]
    competition -= group_start
    competition += 1
    if not dense:
        return competition, None
    runs: IntArray = np.cumsum(new_run, dtype=np.int64)
    dense_rank: IntArray = runs - runs[group_start] + 1
    return competition, dense_rank


def histogram_ranks(
    hist: IntArray, cumulative: IntArray, block_starts: IntArray, widths: IntArray, *, dense: bool
) -> tuple[IntArray, IntArray | None]:
    """Per bin of a histogram whose blocks (one per group, ``widths`` bins each, starting at
    ``block_starts``) hold the scores in descending order: the competition rank (1 + students
    in earlier bins of the block) and, if asked, the dense rank (1 + occupied earlier bins)."""
    competition: IntArray = cumulative - hist
    competition -= np.repeat(competition[block_starts], widths)
    competition += 1
    if not dense:
        return competition, None
    occupied = (hist > 0).astype(np.int64)
    before = np.cumsum(occupied) - occupied
    return competition, before - np.repeat(before[block_starts], widths) + 1


def chain_codes(keys: list[IntArray], valid: BoolArray) -> IntArray:
    """Dense code of each row's key tuple, 0 for the best (keys descending, the first key
    first; -1 = missing, lowest); invalid rows get the largest codes. One ``lexsort``."""
    order = np.lexsort([-key for key in reversed(keys)] + [~valid])
    new = np.zeros(order.size, dtype=np.bool_)
    for key in [valid, *keys]:
        column = key[order]
        new[1:] |= column[1:] != column[:-1]
    codes = np.empty(order.size, dtype=np.int64)
    codes[order] = np.cumsum(new)
    return codes


def lexicographic_ranks(
    units: IntArray, codes: IntArray, valid: BoolArray, *, dense: bool
) -> tuple[IntArray, IntArray | None]:
    """Competition (and dense) rank within ``units`` by ``chain_codes`` (0 = best); rows
    that are not ``valid`` get 0 and do not count. One packed-key sort."""
    size = codes.size
    code_bits = max(int(codes.max()).bit_length(), 1) if size else 1
    row_bits = max((size - 1).bit_length(), 1)
    _values, unit_codes = np.unique(units, return_inverse=True)
    packed = (unit_codes.astype(np.int64) << (code_bits + row_bits)) | (codes << row_bits)
    packed |= np.arange(size, dtype=np.int64)
    packed.sort()
    order = packed & ((1 << row_bits) - 1)
    packed >>= row_bits  # unit | code
    group_start = np.ones(size, dtype=np.bool_)
    group_start[1:] = (packed[1:] >> code_bits) != (packed[:-1] >> code_bits)
    starts = np.flatnonzero(group_start)
    groups = np.cumsum(group_start) - 1
    competition_sorted, dense_sorted = scan_ranks(packed, starts, groups, dense=dense)
    competition = np.zeros(size, dtype=np.int64)
    competition[order] = competition_sorted
    competition[~valid] = 0
    if dense_sorted is None:
        return competition, None
    dense_rank = np.zeros(size, dtype=np.int64)
    dense_rank[order] = dense_sorted
    dense_rank[~valid] = 0
    return competition, dense_rank
