"""Joint pass rates (双合率 / 三合率 / 全科合格率 …) and 全科不及格率, ``analytics.md`` §2.5.

合格率_K(u) = #{i ∈ u : x_ij ≥ pass·W_j for every j ∈ K} / #{eligible i ∈ u}, where eligible is
decided by the 口径's ``joint_absent``:

- ``exclude`` (usual): students who sat every subject of K;
- ``fail``: a student missing a subject of K counts as not passing; the denominator is every
  student who sat at least one subject of K (with ``denominator: expected``, every candidate
  with a row in K).

``failed_all`` counts the eligible students who passed none of the subjects of K (a missing
subject counts as failed). A 作弊 paper is missing under ``cheated: exclude`` and a 0 under
``cheated: zero``. Computed from the per-candidate counts of ``frame.prepare``.
"""

from __future__ import annotations

import polars as pl

from xiaowu.exams.analytics.caliber import CaliberSpec
from xiaowu.exams.analytics.frame import Prepared, set_codes
from xiaowu.exams.analytics.indicators import LEVEL

JOINT_LEVELS = (
    ("exam", None),
    ("district", "district_id"),
    ("school", "school_id"),
    ("class", "class_id"),
)


def joint_rates(prep: Prepared, spec: CaliberSpec) -> pl.DataFrame:
    sets = set_codes(spec, prep.subjects, [])
    table = prep.candidates
    flags: list[pl.Expr] = []
    for index, (_name, codes) in enumerate(sets):
        size = len(codes)
        rows, sat, passed = (pl.col(f"{part}_{index}") for part in ("rows", "sat", "pass"))
        if spec.joint_absent == "exclude":
            eligible = sat == size
        elif spec.denominator == "sat":
            eligible = sat >= 1
        else:
            eligible = rows >= 1
        flags += [
            eligible.alias(f"eligible_{index}"),
            (eligible & (passed == size)).alias(f"passed_{index}"),
            (eligible & (passed == 0)).alias(f"failed_all_{index}"),
        ]
    if not sets:
        return _empty()
    table = table.select("class_id", "school_id", "district_id", *flags)
    sums = [
        pl.col(f"{part}_{index}").sum()
        for index in range(len(sets))
        for part in ("eligible", "passed", "failed_all")
    ]
    frames = []
    for level, column in JOINT_LEVELS:
        if column is None:
            grouped = table.select(pl.lit(0, dtype=pl.Int64).alias("unit_id"), *sums)
        else:
            grouped = (
                table.filter(pl.col(column).is_not_null())
                .group_by(pl.col(column).alias("unit_id"))
                .agg(sums)
            )
        for index, (name, codes) in enumerate(sets):
            frames.append(
                grouped.select(
                    pl.lit(level, dtype=LEVEL).alias("level"),
                    "unit_id",
                    pl.lit(name).alias("set_name"),
                    pl.lit("+".join(prep.subjects.names[code] for code in codes)).alias("subjects"),
                    pl.col(f"eligible_{index}").cast(pl.Int64).alias("eligible"),
                    pl.col(f"passed_{index}").cast(pl.Int64).alias("passed"),
                    pl.col(f"failed_all_{index}").cast(pl.Int64).alias("failed_all"),
                )
            )
    result = pl.concat(frames)
    eligible = pl.col("eligible")
    return result.with_columns(
        pl.when(eligible > 0).then(pl.col("passed") / eligible).alias("rate"),
        pl.when(eligible > 0).then(pl.col("failed_all") / eligible).alias("failed_all_rate"),
    ).sort("level", "unit_id", maintain_order=True)


def _empty() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "level": LEVEL,
            "unit_id": pl.Int64,
            "set_name": pl.String,
            "subjects": pl.String,
            "eligible": pl.Int64,
            "passed": pl.Int64,
            "failed_all": pl.Int64,
            "rate": pl.Float64,
            "failed_all_rate": pl.Float64,
        }
    )
