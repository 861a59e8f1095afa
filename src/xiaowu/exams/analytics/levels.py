"""How the engine sees one level's (unit, subject) groups with as few passes over the rows as
possible.

Scores are integers in tenths with a small range per subject (0 … 10·满分). The class level is
the base:

- ``ClassLevel`` sorts packed integer keys ``class | subject | (vmax − score) | row`` once with
  ``np.sort``. Each (class, subject) group is then one slice with its scores descending (rows
  outside 实考 last): counts above a threshold are binary searches, quantiles and extremes are
  gathers, sums are ``reduceat``, and ranks are one linear scan.
- Every other level is a union of class groups (a class is in one school, one district; a
  teacher is recorded per class × subject), so everything additive — 应考, 实考, sums, sums of
  squares, band counts, any row-mask count — is *rolled up* from the class groups
  (``bincount`` over ~10⁵ groups, not over the rows).
- ``HistogramLevel`` (exam, district, school: few units with many students) adds one
  ``bincount`` of (unit, subject, score) over the rows. Its cumulative sum gives counts above
  any threshold, quantiles (a binary search on the cumulative sum) and, per score, the
  competition and dense rank, so a student's rank is a lookup in a table that stays in cache.
- ``TeacherLevel`` adds one sort of ``teacher group | (vmax − score)`` for its quantiles.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from xiaowu.exams.analytics.frame import BoolArray, IntArray
from xiaowu.exams.analytics.ranks import histogram_ranks, scan_ranks

FloatArray = npt.NDArray[np.float64]
WORD_BITS = 63  # a packed sort key must fit a non-negative int64


@dataclass(frozen=True)
class BinLayout:
    """Histogram bins of one unit: per subject code a block of ``full + 2`` bins holding the
    scores full, full − 0.1, …, 0 (descending) and, last, the rows outside 实考 (v = −1)."""

    full: IntArray  # full mark in tenths per subject code (总分 last)
    width: IntArray = field(init=False)
    offset: IntArray = field(init=False)
    size: int = field(init=False)

    def __post_init__(self) -> None:
        width = self.full + 2
        object.__setattr__(self, "width", width)
        object.__setattr__(self, "offset", np.concatenate([[0], np.cumsum(width)[:-1]]))
        object.__setattr__(self, "size", int(width.sum()))

    def local(self, subj: IntArray, v: IntArray) -> IntArray:
        """Bin of each (subject, score) within a unit; v = −1 lands on the last bin."""
        return (self.offset + self.full)[subj] - v

    def band_lookup(self, lows: list[IntArray]) -> IntArray:
        """Per bin of a unit: the band index of its score (``lows[subject]`` = ascending lower
        edges in tenths, starting at 0); −1 on the bins outside 实考."""
        tables = []
        for full, edges in zip(self.full.tolist(), lows, strict=True):
            scores = np.arange(full, -1, -1, dtype=np.int64)
            tables.append(np.searchsorted(edges, scores, side="right") - 1)
            tables.append(np.array([-1], dtype=np.int64))
        return np.concatenate(tables).astype(np.int64)


def band_layout(lows: list[IntArray], subjects: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """For every (group, band of the group's subject): group index and band index; and the
    first flat index of each group."""
    per_group = np.array([edges.size for edges in lows], dtype=np.int64)[subjects]
    first = np.cumsum(per_group) - per_group
    group = np.repeat(np.arange(subjects.size, dtype=np.int64), per_group)
    band = np.arange(group.size, dtype=np.int64) - first[group]
    return group, band, first


class Level:
    """Per-(unit, subject) groups of one level; see the module docstring."""

    name: str
    units: IntArray  # dense unit code per group
    subjects: IntArray  # subject code per group
    expected: IntArray  # rows (应考)
    sat: IntArray  # rows in 实考
    sums: IntArray  # Σ score (tenths) over 实考
    squares: IntArray  # Σ score² (tenths²)

    def count_at_least(self, threshold: IntArray, groups: IntArray | None = None) -> IntArray:
        """Rows in 实考 with a score ≥ ``threshold`` (tenths), per group (or per ``groups``)."""
        raise NotImplementedError

    def kth_largest(self, k: IntArray) -> IntArray:
        """Per group, the k-th largest score in tenths (k from 0; requires k < sat)."""
        raise NotImplementedError

    def sum_rows(self, mask: BoolArray) -> IntArray:
        """Per group, the class-order positions where ``mask`` holds."""
        raise NotImplementedError

    def band_counts(self) -> tuple[IntArray, IntArray, IntArray]:
        """For every group and every band of its subject (the edges given to the class level):
        group index, band index and the count of scores in the band."""
        raise NotImplementedError

    def quantile(self, q: float) -> FloatArray:
        """Linear-interpolation quantile (numpy's default) per group, tenths; NaN if empty."""
        n = self.sat
        has = n > 0
        position = q * np.maximum(n - 1, 0)
        lower = np.floor(position).astype(np.int64)
        upper = np.ceil(position).astype(np.int64)
        # the k-th smallest is the (n − 1 − k)-th largest
        low_value = self.kth_largest(np.where(has, n - 1 - lower, 0)).astype(np.float64)
        high_value = self.kth_largest(np.where(has, n - 1 - upper, 0)).astype(np.float64)
        return np.where(has, low_value + (high_value - low_value) * (position - lower), np.nan)


class ClassLevel(Level):
    order: IntArray  # position → long row
    keys: IntArray  # sorted keys: class | subject | (vmax − score)
    starts: IntArray
    ends: IntArray
    heads: IntArray  # key of each group with the score bits zero
    values: IntArray  # score in tenths per position, −1 outside 实考
    local: IntArray  # histogram bin within a unit, per position
    position_groups: IntArray  # group index per position

    def __init__(
        self,
        class_code: IntArray,
        subj: IntArray,
        v: IntArray,
        vmax: int,
        layout: BinLayout,
        local: IntArray,
        lows: list[IntArray],
    ) -> None:
        """``class_code``, ``subj``, ``v`` and ``local`` (``layout.local``) per long row."""
        self.name = "class"
        self.vmax = vmax
        self.layout = layout
        size = v.size
        value_bits = (vmax + 1).bit_length()
        subject_bits = max((layout.full.size - 1).bit_length(), 1)
        row_bits = max((size - 1).bit_length(), 1)
        class_bits = max(int(class_code.max()).bit_length(), 1) if size else 1
        self.value_bits = value_bits
        shift = subject_bits + value_bits
        if class_bits + shift + row_bits <= WORD_BITS:
            # one buffer, shifted and or-ed in place: class | subject | vmax − v | row
            packed = class_code << (shift + row_bits)
            part = subj << (value_bits + row_bits)
            packed |= part
            np.subtract(vmax, v, out=part)  # v = −1 (outside 实考) → vmax + 1: after every score
            part <<= row_bits
            packed |= part
            packed |= np.arange(size, dtype=np.int64)
            packed.sort()
            self.order = packed & ((1 << row_bits) - 1)
            packed >>= row_bits
            self.keys = packed
        else:  # too many classes for one word: a stable argsort gives the same order
            key = (class_code << shift) | (subj << value_bits) | (vmax - v)
            self.order = np.argsort(key, kind="stable")
            self.keys = key[self.order]
        keys = self.keys
        boundary = np.empty(size, dtype=np.bool_)
        boundary[:1] = True
        changed = keys[1:] ^ keys[:-1]
        changed >>= value_bits
        np.not_equal(changed, 0, out=boundary[1:])
        del changed
        self.boundary = boundary
        self.starts = np.flatnonzero(boundary)
        head = keys[self.starts] >> value_bits
        self.units = head >> subject_bits
        self.subjects = head & ((1 << subject_bits) - 1)
        self.ends = np.append(self.starts[1:], size)
        self.expected = self.ends - self.starts
        self.heads = head << value_bits
        # the first row outside 实考 of each group ends its scores
        self.sat = np.searchsorted(keys, self.heads | vmax, side="right") - self.starts
        values = keys & ((1 << value_bits) - 1)
        np.subtract(vmax, values, out=values)  # −1 outside 实考
        self.values = values
        outside = self.expected - self.sat
        self.sums = np.add.reduceat(values, self.starts) + outside
        squares = values * values
        self.squares = np.add.reduceat(squares, self.starts) - outside
        del squares
        self.position_groups = np.cumsum(boundary) - 1
        self.local = local[self.order]
        self.lows = lows
        self.band_layout = band_layout(lows, self.subjects)
        self._bands: tuple[IntArray, IntArray, IntArray] | None = None

    def count_at_least(self, threshold: IntArray, groups: IntArray | None = None) -> IntArray:
        index = np.arange(self.starts.size) if groups is None else groups
        offset = np.clip(self.vmax - threshold, -1, self.vmax)
        found = np.searchsorted(self.keys, self.heads[index] + offset, side="right")
        result: IntArray = np.minimum(found - self.starts[index], self.sat[index])
        return result

    def kth_largest(self, k: IntArray) -> IntArray:
        result: IntArray = self.values[self.starts + k]
        return result

    def sum_rows(self, mask: BoolArray) -> IntArray:
        """Per group, the positions (class order, not row order) where ``mask`` holds."""
        return np.add.reduceat(mask, self.starts, dtype=np.int64)

    def band_counts(self) -> tuple[IntArray, IntArray, IntArray]:
        """One ``bincount`` over the rows (the other levels roll these counts up)."""
        if self._bands is None:
            group, band, first = self.band_layout
            band_of_row = self.layout.band_lookup(self.lows)[self.local]
            inside = band_of_row >= 0
            flat = (first[self.position_groups] + band_of_row)[inside]
            self._bands = (group, band, np.bincount(flat, minlength=group.size))
        return self._bands

    def ranks(self, *, dense: bool) -> tuple[IntArray, IntArray | None]:
        """Competition (1224) and, if asked, dense (1223) rank within the class at every
        position of the order (meaningless outside 实考, which the caller masks)."""
        return scan_ranks(self.keys, self.starts, self.position_groups, dense=dense)


class RollupLevel(Level):
    """A level whose groups are unions of class groups: ``parent`` is, per class group, the
    index of its group here (−1: in none)."""

    def _rollup_from(self, base: ClassLevel, parent: IntArray, groups: int) -> None:
        self.base = base
        self.parent = parent
        self.member = parent >= 0
        self.group_count = groups
        self.expected = self.rollup(base.expected)
        self.sat = self.rollup(base.sat)
        self.sums = self.rollup(base.sums)
        self.squares = self.rollup(base.squares)

    def rollup(self, values: IntArray) -> IntArray:
        """Sum per-class-group ``values`` into this level's groups (exact for integers below
        2⁵³, which counts and sums of tenths are)."""
        summed = np.bincount(
            self.parent[self.member], weights=values[self.member], minlength=self.group_count
        )
        return np.rint(summed).astype(np.int64)

    def sum_rows(self, mask: BoolArray) -> IntArray:
        return self.rollup(self.base.sum_rows(mask))

    def band_counts(self) -> tuple[IntArray, IntArray, IntArray]:
        base_group, base_band, base_counts = self.base.band_counts()
        group, band, first = band_layout(self.base.lows, self.subjects)
        if not group.size:
            return group, band, group
        parent = self.parent[base_group]
        member = parent >= 0
        counts = np.bincount(
            (first[np.maximum(parent, 0)] + base_band)[member],
            weights=base_counts[member],
            minlength=group.size,
        )
        return group, band, np.rint(counts).astype(np.int64)


class HistogramLevel(RollupLevel):
    keep: IntArray  # block (unit · subjects + subject) of each group
    full: IntArray  # full mark (tenths) per group
    block: IntArray  # first bin of each group
    bins: IntArray  # bin per class-order position
    hist: IntArray
    cumulative: IntArray
    before: IntArray  # students in bins before each group

    def __init__(
        self,
        name: str,
        base: ClassLevel,
        class_units: IntArray,
        hist: IntArray,
        bins: IntArray | None = None,
    ) -> None:
        """``class_units``: unit code of each class code (≥ the number of units = in none);
        ``hist``: the (unit, subject, score) histogram, ``layout.size`` bins per unit;
        ``bins``: the bin of each class-order position, when ranks are looked up."""
        self.name = name
        layout = base.layout
        size = layout.size
        units = hist.size // size
        subject_count = layout.full.size
        self.layout = layout
        self.class_units = class_units
        # groups: every (unit, subject) block that holds class groups
        unit_of_group = class_units[base.units]
        block_of_class_group = unit_of_group * subject_count + base.subjects
        in_unit = unit_of_group < units
        keep = np.unique(block_of_class_group[in_unit])
        parent = np.where(in_unit, np.searchsorted(keep, block_of_class_group), -1)
        self.keep = keep
        self.units = keep // subject_count
        self.subjects = keep % subject_count
        self._rollup_from(base, parent, keep.size)
        self.full = layout.full[self.subjects]
        self.block = self.units * size + layout.offset[self.subjects]
        if bins is not None:
            self.bins = bins
        self.hist = hist
        self.cumulative = np.cumsum(hist)
        self.before = self.cumulative[self.block] - hist[self.block]

    @classmethod
    def from_rows(
        cls, name: str, base: ClassLevel, class_units: IntArray, units: int
    ) -> HistogramLevel:
        """One ``bincount`` over the rows (in class order: order does not change counts)."""
        size = base.layout.size
        bins = class_units[base.units][base.position_groups]
        bins *= size
        bins += base.local
        hist = np.bincount(bins, minlength=(units + 1) * size)[: units * size]
        return cls(name, base, class_units, hist, bins)

    def coarsen(self, name: str, unit_map: IntArray, units: int) -> HistogramLevel:
        """The histogram of coarser units (``unit_map``: coarser unit of each unit here, ≥
        ``units`` = none) as sums of whole blocks — no pass over the rows."""
        size = self.layout.size
        rows = self.hist.reshape(-1, size)
        order = np.argsort(unit_map, kind="stable")
        ordered = unit_map[order]
        inside = ordered < units
        order, ordered = order[inside], ordered[inside]
        hist = np.zeros((units, size), dtype=np.int64)
        if order.size:
            starts = np.flatnonzero(np.append(True, ordered[1:] != ordered[:-1]))
            hist[ordered[starts]] = np.add.reduceat(rows[order], starts, axis=0)
        class_units = np.append(unit_map, units)[self.class_units]
        return HistogramLevel(name, self.base, class_units, hist.ravel())

    def count_at_least(self, threshold: IntArray, groups: IntArray | None = None) -> IntArray:
        index = np.arange(self.block.size) if groups is None else groups
        full = self.full[index]
        clipped = np.clip(threshold, 0, full)
        found = self.cumulative[self.block[index] + full - clipped] - self.before[index]
        return np.where(threshold > full, 0, found).astype(np.int64)

    def kth_largest(self, k: IntArray) -> IntArray:
        found = np.searchsorted(self.cumulative, self.before + k + 1, side="left") - self.block
        return (self.full - found).astype(np.int64)

    def rank_tables(self, dense: bool) -> tuple[IntArray, IntArray | None]:
        """Per bin: the competition rank (and dense rank) of that score within its (unit,
        subject); index with a row's bin (``unit · layout.size + local``)."""
        units = self.hist.size // self.layout.size
        starts = (
            np.arange(units, dtype=np.int64)[:, None] * self.layout.size
            + self.layout.offset[None, :]
        ).ravel()
        widths = np.tile(self.layout.width, units)
        return histogram_ranks(self.hist, self.cumulative, starts, widths, dense=dense)

    def scores(self) -> tuple[IntArray, IntArray, IntArray]:
        """Every (group, score) with students, scores descending within a group: group index,
        score (tenths), count."""
        local = [np.arange(full + 1, dtype=np.int64) for full in self.full.tolist()]
        per_group = np.array([part.size for part in local], dtype=np.int64)
        group = np.repeat(np.arange(self.block.size, dtype=np.int64), per_group)
        offset = np.concatenate(local) if local else np.zeros(0, dtype=np.int64)
        counts = self.hist[self.block[group] + offset]
        present = counts > 0
        return group[present], (self.full[group] - offset)[present], counts[present]


class TeacherLevel(RollupLevel):
    keys: IntArray  # sorted: teacher group | (vmax − score)
    starts: IntArray
    heads: IntArray

    def __init__(self, base: ClassLevel, teacher_of_group: IntArray, teachers: int) -> None:
        """``teacher_of_group``: teacher code of each class group (``teachers`` = none)."""
        self.name = "teacher"
        self.vmax = base.vmax
        subject_count = base.layout.full.size
        has = teacher_of_group < teachers
        key = teacher_of_group * subject_count + base.subjects
        keep, first = np.unique(key[has], return_index=True)
        parent = np.where(has, np.searchsorted(keep, key), -1)
        self.keep = keep
        self.units = keep // subject_count
        self.subjects = keep % subject_count
        self.first_class_group = np.flatnonzero(has)[first]
        self._rollup_from(base, parent, keep.size)
        # one sort of (teacher group, vmax − score) for the order statistics
        value_bits = base.value_bits
        self.value_bits = value_bits
        parent_of_position = np.where(has, parent, keep.size)[base.position_groups]
        parent_of_position <<= value_bits
        keys = base.keys & ((1 << value_bits) - 1)
        keys |= parent_of_position
        del parent_of_position
        keys.sort()
        self.keys = keys
        self.starts = np.cumsum(self.expected) - self.expected
        self.heads = np.arange(keep.size, dtype=np.int64) << value_bits

    def count_at_least(self, threshold: IntArray, groups: IntArray | None = None) -> IntArray:
        index = np.arange(self.starts.size) if groups is None else groups
        offset = np.clip(self.vmax - threshold, -1, self.vmax)
        found = np.searchsorted(self.keys, self.heads[index] + offset, side="right")
        result: IntArray = np.minimum(found - self.starts[index], self.sat[index])
        return result

    def kth_largest(self, k: IntArray) -> IntArray:
        result: IntArray = self.vmax - (self.keys[self.starts + k] & ((1 << self.value_bits) - 1))
        return result
