"""The engine against an independent brute-force oracle on random small exams.

The oracle below is deliberately naive: plain Python over dict rows, exact ``Fraction``
arithmetic, "1 + number of higher scores" ranks, a loop per unit. Random frames carry ties,
real zeros, full marks, absences, unentered rows, 作弊, 免考, 借读 and missing subject rows; random
口径 vary every rule. Counts, ranks (1224 and 1223, with and without tie-break), composite
values and ranks, bands, the 一分一段表, joint rates and 上线 must match exactly; floating
statistics to 1e-9.
"""

from __future__ import annotations

import functools
import math
import random
import statistics
from collections import defaultdict
from fractions import Fraction
from typing import Any

import numpy as np
import polars as pl
import pytest

from xiaowu.exams.analytics import TOTAL, CaliberSpec, analyze

SUBJECTS = (("语文", "15"), ("数学", "12"), ("英语", "7.5"))
LEVELS = ("exam", "district", "school", "class", "teacher")
THRESHOLD_KEYS = ("excellent", "good", "pass", "low")
TOL = 1e-9


# --------------------------------------------------------------------------- random inputs


def random_frame(rng: random.Random) -> list[dict[str, Any]]:
    districts = [11, 12, None]
    schools = {100 + i: rng.choice(districts) for i in range(rng.randint(2, 4))}
    classes: dict[int, int] = {}
    for school in schools:
        for _ in range(rng.randint(1, 3)):
            classes[1000 + len(classes)] = school
    teachers = {
        (klass, subject): rng.choice([501, 502, 503, 504, None])
        for klass in classes
        for subject, _full in SUBJECTS
    }
    rows = []
    for candidate in range(rng.randint(20, 45)):
        klass = rng.choice(list(classes))
        school = classes[klass]
        visiting = rng.random() < 0.1
        for subject, full in SUBJECTS:
            if rng.random() < 0.05:
                continue  # no row at all for this subject
            w = Fraction(full)
            # few distinct values: many ties, real zeros and full marks
            score: Fraction | None = rng.choice(
                [Fraction(0), w, w * Fraction(6, 10), w * Fraction(8, 10), w * Fraction(4, 10)]
                + [Fraction(rng.randint(0, int(w * 2)), 2) for _ in range(3)]
            )
            status = ""
            u = rng.random()
            if u < 0.08:
                status, score = "absent", None
            elif u < 0.12:
                status = "cheated"
                score = score if rng.random() < 0.5 else None
            elif u < 0.15:
                status = "exempt"
            elif u < 0.18:
                status = "not_counted"
            elif u < 0.2:
                score = None  # not entered
            rows.append(
                {
                    "student_id": 9000 + candidate,
                    "candidate_id": 500 + candidate,
                    "class_id": klass,
                    "school_id": school,
                    "district_id": schools[school],
                    "teacher_id": teachers[(klass, subject)],
                    "subject": subject,
                    "full_mark": float(w),
                    "score": None if score is None else float(score),
                    "status": status,
                    "is_visiting": visiting,
                    "gender": rng.choice(["male", "female"]),
                }
            )
    rng.shuffle(rows)  # the engine must not rely on the input order
    return rows


def random_config(rng: random.Random) -> dict[str, Any]:
    ratios = sorted(rng.sample([0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9], 4))
    config: dict[str, Any] = {
        "thresholds": dict(zip(("low", "pass", "good", "excellent"), ratios, strict=True)),
        "denominator": rng.choice(["sat", "expected"]),
        "excluded_statuses": rng.sample(["absent", "exempt", "not_counted"], rng.randint(1, 3)),
        "cheated": rng.choice(["exclude", "zero"]),
        "exclude_visiting": rng.random() < 0.5,
        "joint_absent": rng.choice(["exclude", "fail"]),
        "subject_sets": {"双合": ["语文", "数学"], "全科": "*", "缺科": ["语文", "物理"]},
        "total_subjects": rng.choice(["*", ["语文", "数学"]]),
        "total_absent": rng.choice(["exclude", "zero"]),
        "ranking": rng.choice(["competition", "dense"]),
        "tie_break": rng.choice([[], ["数学"], ["英语", "语文"]]),
        "lines": [
            {"name": "一线", "total": rng.choice([10, 12.5, 15])},
            {"name": "二线", "total": rng.choice([5, 7.3, 8])},
        ],
        "effective_score": rng.choice(["ratio", "proportion"]),
        "critical_width": rng.choice([0, 2.5, 4]),
        "top_n": rng.randint(1, 8),
        "band_width": rng.choice([2, 2.5, 3, 5]),
        "band_widths": rng.choice([{}, {"英语": 1.5}, {TOTAL: 4}]),
        "standard_score": rng.choice(["T", "500"]),
        "min_group_size": 5,
    }
    if rng.random() < 0.5:
        low = config["thresholds"]["low"]
        config["subject_thresholds"] = {"数学": {"excellent": 0.95}, TOTAL: {"pass": low}}
    family = rng.choice(
        ["weighted", "relative_best", "relative_mean", "rank_points", "standard_score", None]
    )
    if family is not None:
        weights = {
            name: rng.choice([0, 0.1, 0.3, 1, 60])
            for name in ("mean", "pass", "excellent", "good", "low")
        }
        weights["mean"] = weights["mean"] or 0.4
        config["composite"] = {"family": family, "weights": weights}
    return config


# --------------------------------------------------------------------------- the oracle


def rank_of(value: Any, values: list[Any], *, dense: bool) -> int:
    higher = [other for other in values if other > value]
    return 1 + (len(set(higher)) if dense else len(higher))


def quantile(values: list[Fraction], q: float) -> float:
    return float(np.quantile(np.array([float(v) for v in values]), q))


class Oracle:
    def __init__(self, rows: list[dict[str, Any]], spec: CaliberSpec) -> None:
        self.spec = spec
        self._groups: dict[tuple[str, int, str], list[dict[str, Any]]] | None = None
        if spec.exclude_visiting:
            rows = [row for row in rows if not row["is_visiting"]]
        self.rows = rows
        present = {row["subject"] for row in rows}
        self.subjects = [name for name, _ in SUBJECTS if name in present]
        self.full = {name: Fraction(full) for name, full in SUBJECTS}
        if spec.total_subjects is None:
            self.total_subjects = list(self.subjects)
        else:
            self.total_subjects = [s for s in spec.total_subjects if s in self.subjects]
        self.full[TOTAL] = sum((self.full[s] for s in self.total_subjects), Fraction(0))
        for row in rows:
            row["value"] = self.value(row)
        self.candidates: dict[int, dict[str, Any]] = {}
        for row in rows:
            info = self.candidates.setdefault(
                row["candidate_id"],
                {key: row[key] for key in ("student_id", "class_id", "school_id", "district_id")}
                | {"subjects": {}},
            )
            info["subjects"][row["subject"]] = row
        for info in self.candidates.values():
            taken = [info["subjects"][s] for s in self.total_subjects if s in info["subjects"]]
            sat = [row["value"] for row in taken if row["value"] is not None]
            info["has_total"] = bool(taken)
            need = len(self.total_subjects)
            counted = len(sat) == need if spec.total_absent == "exclude" else bool(sat)
            info["total"] = sum(sat, Fraction(0)) if counted else None

    def value(self, row: dict[str, Any]) -> Fraction | None:
        if row["status"] == "cheated":
            return Fraction(0) if self.spec.cheated == "zero" else None
        if row["status"] in self.spec.excluded_statuses or row["score"] is None:
            return None
        return Fraction(repr(row["score"]))

    # long rows: one per subject row plus one 总分 row per candidate with a total subject row
    def long_rows(self) -> list[dict[str, Any]]:
        result = [dict(row) for row in self.rows]
        for candidate, info in self.candidates.items():
            if info["has_total"]:
                result.append(
                    {
                        "candidate_id": candidate,
                        "class_id": info["class_id"],
                        "school_id": info["school_id"],
                        "district_id": info["district_id"],
                        "teacher_id": None,
                        "subject": TOTAL,
                        "value": info["total"],
                    }
                )
        return result

    @staticmethod
    def unit(level: str, row: dict[str, Any]) -> Any:
        if level == "exam":
            return 0
        return row[
            {
                "district": "district_id",
                "school": "school_id",
                "class": "class_id",
                "teacher": "teacher_id",
            }[level]
        ]

    def groups(self) -> dict[tuple[str, int, str], list[dict[str, Any]]]:
        if self._groups is not None:
            return self._groups
        groups: dict[tuple[str, int, str], list[dict[str, Any]]] = defaultdict(list)
        for row in self.long_rows():
            for level in LEVELS:
                unit = self.unit(level, row)
                if unit is not None:
                    groups[(level, unit, row["subject"])].append(row)
        self._groups = dict(groups)
        return self._groups

    @functools.cache  # noqa: B019 — one oracle per test, discarded with it
    def threshold(self, subject: str, key: str) -> Fraction:
        ratio = Fraction(repr(self.spec.thresholds_for(subject).ratio(key)))
        return ratio * self.full[subject]

    def units(self) -> dict[tuple[str, int, str], dict[str, Any]]:
        result = {}
        for key, rows in self.groups().items():
            _level, _unit, subject = key
            values = [row["value"] for row in rows if row["value"] is not None]
            n = len(values)
            base = n if self.spec.denominator == "sat" else len(rows)
            counts = {
                k: sum(1 for v in values if v >= self.threshold(subject, k))
                for k in ("excellent", "good", "pass")
            }
            counts["low"] = sum(1 for v in values if v < self.threshold(subject, "low"))
            mean = sum(values, Fraction(0)) / n if n else None
            result[key] = {
                "expected": len(rows),
                "sat": n,
                "mean": mean,
                "std": None if not n else math.sqrt(sum((v - mean) ** 2 for v in values) / n),
                "max": max(values) if n else None,
                "min": min(values) if n else None,
                "median": quantile(values, 0.5) if n else None,
                "q1": quantile(values, 0.25) if n else None,
                "q3": quantile(values, 0.75) if n else None,
                "rate_denominator": base,
                **{f"{k}_n": counts[k] for k in THRESHOLD_KEYS},
                **{
                    f"{k}_rate": Fraction(counts[k], base) if base else None for k in THRESHOLD_KEYS
                },
                "small_n": n < self.spec.min_group_size,
            }
        for (_level, _unit, subject), row in result.items():
            exam_mean = result[("exam", 0, subject)]["mean"]
            if row["mean"] is None or exam_mean is None:
                row["mean_diff"] = row["above_mean_rate"] = None
            else:
                row["mean_diff"] = row["mean"] - exam_mean
                row["above_mean_rate"] = (
                    (row["mean"] - exam_mean) / exam_mean if exam_mean else None
                )
        self.add_composite(result)
        return result

    def indicator(
        self, row: dict[str, Any], subject: str, name: str, *, percent: bool
    ) -> Fraction | None:
        value: Fraction | None
        if name == "mean":
            value = row["mean"]
            if value is not None and percent:
                value = value / self.full[subject] * 100
            return value
        value = row[f"{name}_rate"]
        return None if value is None else value * 100

    def add_composite(self, units: dict[tuple[str, int, str], dict[str, Any]]) -> None:
        composite = self.spec.composite
        for row in units.values():
            row["composite"] = None
        if composite is None:
            for row in units.values():
                row["composite_rank"] = row["composite_rank_school"] = None
            return
        siblings: dict[tuple[str, str], list[tuple[int, dict[str, Any]]]] = defaultdict(list)
        for (level, unit, subject), row in units.items():
            siblings[(level, subject)].append((unit, row))
        weights = [(name, Fraction(repr(w))) for name, w in composite.weights if w]
        for (level, subject), members in siblings.items():
            exam = units[("exam", 0, subject)]
            for _unit, row in members:
                needed = [name for name, _w in weights] or ["mean"]
                if composite.family == "standard_score":
                    needed = ["mean"]
                if any(self.indicator(row, subject, n, percent=False) is None for n in needed):
                    continue
                if composite.family == "standard_score":
                    std = exam["std"]
                    row["composite"] = round(
                        50.0 + 10.0 * float(row["mean"] - exam["mean"]) / std if std else 50.0, 8
                    )
                    continue
                total = Fraction(0)
                for name, weight in weights:
                    sign = -1 if name == "low" else 1
                    value = self.indicator(
                        row, subject, name, percent=composite.family == "weighted"
                    )
                    assert value is not None
                    if composite.family == "weighted":
                        total += sign * weight * value
                    elif composite.family in ("relative_best", "relative_mean"):
                        if composite.family == "relative_best":
                            peer_values = [
                                self.indicator(r, subject, name, percent=False) for _u, r in members
                            ]
                            reference: Fraction | None = max(
                                v for v in peer_values if v is not None
                            )
                        else:
                            reference = self.indicator(exam, subject, name, percent=False)
                        total += sign * weight * (value / reference) if reference else 0
                    else:  # rank_points
                        others: list[Fraction] = [
                            v
                            for v in (
                                self.indicator(r, subject, name, percent=False) for _u, r in members
                            )
                            if v is not None
                        ]
                        if name == "low":
                            rank = 1 + sum(1 for v in others if v < value)
                        else:
                            rank = 1 + sum(1 for v in others if v > value)
                        total += weight * (len(others) - rank + 1)
                row["composite"] = round(float(total), 8)
            dense = self.spec.ranking == "dense"
            scored = [(unit, row) for unit, row in members if row["composite"] is not None]
            values = [round(row["composite"], 8) for _u, row in scored]
            for _unit, row in members:
                if row["composite"] is None:
                    row["composite_rank"] = row["composite_rank_school"] = None
                    continue
                row["composite_rank"] = rank_of(round(row["composite"], 8), values, dense=dense)
                row["composite_rank_school"] = None
                if level in ("class", "teacher"):
                    school = row.get("school_id")
                    same = [
                        round(r["composite"], 8) for u, r in scored if r.get("school_id") == school
                    ]
                    row["composite_rank_school"] = rank_of(
                        round(row["composite"], 8), same, dense=dense
                    )

    def school_of_units(self, units: dict[tuple[str, int, str], dict[str, Any]]) -> None:
        """The owning school of class units and of teacher units (the school of the teacher's
        first class in that subject, classes ordered by school and id)."""
        class_school = {row["class_id"]: row["school_id"] for row in self.rows}
        teacher_classes: dict[tuple[int, str], set[int]] = defaultdict(set)
        for row in self.rows:
            if row["teacher_id"] is not None:
                teacher_classes[(row["teacher_id"], row["subject"])].add(row["class_id"])
        for (level, unit, subject), row in units.items():
            if level == "class":
                row["school_id"] = class_school[unit]
            elif level == "teacher":
                first = min(teacher_classes[(unit, subject)], key=lambda c: (class_school[c], c))
                row["school_id"] = class_school[first]

    @functools.cache  # noqa: B019 — one oracle per test, discarded with it
    def students(self) -> dict[tuple[int, str], dict[str, Any]]:
        long = self.long_rows()
        dense = self.spec.ranking == "dense"
        by_subject: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in long:
            by_subject[row["subject"]].append(row)
        tie_subjects = [s for s in self.spec.tie_break if s in self.subjects]

        def chain(row: dict[str, Any]) -> tuple[Any, ...]:
            if row["subject"] != TOTAL or not tie_subjects:
                return (row["value"],)
            info = self.candidates[row["candidate_id"]]["subjects"]
            extra = [
                info[s]["value"] if s in info and info[s]["value"] is not None else -1
                for s in tie_subjects
            ]
            return (row["value"], *extra)

        result = {}
        for subject, rows in by_subject.items():
            sat = [row for row in rows if row["value"] is not None]
            values = [row["value"] for row in sat]
            n = len(values)
            mean = sum(values, Fraction(0)) / n if n else None
            std = math.sqrt(sum((v - mean) ** 2 for v in values) / n) if n else 0.0
            keys = {id(r): chain(r) for r in sat}
            peers: dict[tuple[str, Any], list[tuple[Any, ...]]] = defaultdict(list)
            for r in sat:
                for column in ("class_id", "school_id"):
                    peers[(column, r[column])].append(keys[id(r)])
                peers[("exam", 0)].append(keys[id(r)])
            for row in rows:
                out: dict[str, Any] = {"score": row["value"]}
                if row["value"] is not None:
                    key = keys[id(row)]
                    for level, column in (
                        ("class", "class_id"),
                        ("school", "school_id"),
                        ("exam", "exam"),
                    ):
                        group = peers[(column, 0 if column == "exam" else row[column])]
                        out[f"rank_{level}"] = rank_of(key, group, dense=False)
                        out[f"dense_rank_{level}"] = rank_of(key, group, dense=True)
                    below = sum(1 for v in values if v < row["value"])
                    equal = sum(1 for v in values if v == row["value"])
                    out["percentile_rank"] = 100 * (below + Fraction(equal, 2)) / n
                    out["z"] = float(row["value"] - mean) / std if std > 0 else None
                    normal = statistics.NormalDist().inv_cdf(float(out["percentile_rank"]) / 100)
                    if self.spec.standard_score == "T":
                        out["normal_score"] = 50 + 10 * normal
                    else:
                        out["normal_score"] = min(max(500 + 100 * normal, 100), 900)
                if not dense:
                    for level in ("class", "school", "exam"):
                        out.pop(f"dense_rank_{level}", None)
                result[(row["candidate_id"], subject)] = out
        for (candidate, subject), out in result.items():
            total_out = result.get((candidate, TOTAL), {})
            total, z = total_out.get("z"), out.get("z")
            out["balance"] = None if subject == TOTAL or z is None or total is None else z - total
            # 名次差: 总分 rank (tie-break chain included) − subject rank, competition ranks
            total_rank, rank = total_out.get("rank_exam"), out.get("rank_exam")
            out["balance_rank"] = (
                None
                if subject == TOTAL or rank is None or total_rank is None
                else total_rank - rank
            )
        return result

    def band_edges(self, subject: str) -> list[Fraction]:
        width = Fraction(repr(self.spec.band_width_for(subject)))
        count = max(math.ceil(self.full[subject] / width), 1)
        return [k * width for k in range(count)]

    def bands(self) -> dict[tuple[str, int, str, Fraction], tuple[int, int]]:
        result = {}
        for (level, unit, subject), rows in self.groups().items():
            values = [row["value"] for row in rows if row["value"] is not None]
            edges = self.band_edges(subject)
            for index, low in enumerate(edges):
                last = index == len(edges) - 1
                high = self.full[subject] if last else edges[index + 1]
                n = sum(1 for v in values if low <= v and (v <= high if last else v < high))
                cumulative = sum(1 for v in values if v >= low)
                result[(level, unit, subject, low)] = (n, cumulative)
        return result

    def one_point(self) -> dict[tuple[str, Fraction], tuple[int, int, int]]:
        result = {}
        for (level, _unit, subject), rows in self.groups().items():
            if level != "exam":
                continue
            values = [row["value"] for row in rows if row["value"] is not None]
            for score in set(values):
                result[(subject, score)] = (
                    values.count(score),
                    sum(1 for v in values if v >= score),
                    1 + sum(1 for v in values if v > score),
                )
        return result

    def joint(self) -> dict[tuple[str, int, str], tuple[int, int, int]]:
        result: dict[tuple[str, int, str], list[int]] = {}
        for name, members in self.spec.subject_sets:
            subjects = self.subjects if members is None else list(members)
            if any(s not in self.subjects for s in subjects):
                continue
            for info in self.candidates.values():
                rows = [info["subjects"][s] for s in subjects if s in info["subjects"]]
                sat = [r for r in rows if r["value"] is not None]
                passed = [r for r in sat if r["value"] >= self.threshold(r["subject"], "pass")]
                if self.spec.joint_absent == "exclude":
                    eligible = len(sat) == len(subjects)
                elif self.spec.denominator == "sat":
                    eligible = bool(sat)
                else:
                    eligible = bool(rows)
                for level in ("exam", "district", "school", "class"):
                    unit = self.unit(level, info)
                    if unit is None:
                        continue
                    counts = result.setdefault((level, unit, name), [0, 0, 0])
                    counts[0] += eligible
                    counts[1] += eligible and len(passed) == len(subjects)
                    counts[2] += eligible and not passed
        return {key: (a, b, c) for key, (a, b, c) in result.items()}

    def lines(self) -> tuple[dict[Any, Any], dict[Any, Any], dict[Any, Any], set[Any], set[Any]]:
        line_units: dict[Any, Any] = {}
        effective: dict[Any, Any] = {}
        line_subjects: dict[Any, Any] = {}
        critical = set()
        totals = {c: info["total"] for c, info in self.candidates.items() if info["has_total"]}
        groups = self.groups()
        for line in self.spec.lines:
            mark = Fraction(repr(line.total))
            above = {c for c, t in totals.items() if t is not None and t >= mark}
            for (level, unit, subject), rows in groups.items():
                if subject != TOTAL or level == "teacher":
                    continue
                sat = [r for r in rows if r["value"] is not None]
                base = len(sat) if self.spec.denominator == "sat" else len(rows)
                line_units[(level, unit, line.name)] = (
                    sum(1 for r in sat if r["value"] >= mark),
                    base,
                )
            for subject in self.subjects:
                exam_rows = [r for r in groups[("exam", 0, subject)] if r["value"] is not None]
                value: Fraction | None = None
                if above and self.spec.effective_score == "ratio":
                    chosen = [r["value"] for r in exam_rows if r["candidate_id"] in above]
                    mean_total = sum((totals[c] for c in above), Fraction(0)) / len(above)
                    if chosen and mean_total:
                        exact = sum(chosen, Fraction(0)) / len(chosen) * mark / mean_total
                        value = Fraction(math.floor(exact + Fraction(1, 2)))
                elif above:
                    sat_total = sum(1 for t in totals.values() if t is not None)
                    k = math.ceil(Fraction(len(above) * len(exam_rows), sat_total))
                    if k >= 1:
                        value = sorted((r["value"] for r in exam_rows), reverse=True)[k - 1]
                effective[(line.name, subject)] = value
                for (level, unit, group_subject), rows in groups.items():
                    if group_subject != subject:
                        continue
                    sat = [r for r in rows if r["value"] is not None]
                    single = None if value is None else sum(1 for r in sat if r["value"] >= value)
                    double = (
                        None
                        if value is None
                        else sum(
                            1 for r in sat if r["value"] >= value and r["candidate_id"] in above
                        )
                    )
                    line_n = sum(1 for r in rows if r["candidate_id"] in above)
                    # 命中率 both ways: 双上线/单上线 and 双上线/该科参考人数 (实考), as the
                    # correctly rounded float of the exact quotient
                    hit = None if not single or double is None else float(Fraction(double, single))
                    hit_sat = (
                        None if not sat or double is None else float(Fraction(double, len(sat)))
                    )
                    line_subjects[(level, unit, line.name, subject)] = (
                        single,
                        double,
                        line_n,
                        len(sat),
                        hit,
                        hit_sat,
                    )
            low = mark - Fraction(repr(self.spec.critical_width))
            critical |= {
                (c, line.name) for c, t in totals.items() if t is not None and low <= t < mark
            }
        # top: by 总分 exam rank (with the tie-break chain)
        students = self.students()
        top = {
            c
            for (c, subject), out in students.items()
            if subject == TOTAL
            and out.get("rank_exam") is not None
            and out["rank_exam"] <= self.spec.top_n
        }
        return line_units, effective, line_subjects, critical, top


# --------------------------------------------------------------------------- comparison


def close(actual: Any, expected: Any) -> bool:
    if expected is None or actual is None:
        return actual is None and expected is None
    if isinstance(expected, bool):
        return actual is expected
    return math.isclose(float(actual), float(expected), rel_tol=TOL, abs_tol=TOL)


def check(rows: list[dict[str, Any]], config: dict[str, Any]) -> None:
    spec = CaliberSpec.from_config(config)
    frame = pl.DataFrame(rows, schema_overrides={"district_id": pl.Int64, "teacher_id": pl.Int64})
    result = analyze(frame, spec)
    oracle = Oracle(rows, spec)

    # units: every statistic of every (level, unit, subject)
    expected_units = oracle.units()
    oracle.school_of_units(expected_units)
    oracle.add_composite(expected_units)  # again, now that class/teacher rows know their school
    actual_units = {
        (row["level"], row["unit_id"], row["subject"]): row
        for row in result.units.iter_rows(named=True)
    }
    assert set(actual_units) == set(expected_units)
    for key, expected in expected_units.items():
        actual = actual_units[key]
        for column, value in expected.items():
            if column == "school_id":
                continue
            assert close(actual[column], value), (key, column, actual[column], value)

    # students: ranks (exact), standard scores
    expected_students = oracle.students()
    actual_students = {
        (row["candidate_id"], row["subject"]): row for row in result.students.iter_rows(named=True)
    }
    assert set(actual_students) == set(expected_students)
    for student_key, expected in expected_students.items():
        actual = actual_students[student_key]
        if expected["score"] is None:
            assert actual["score"] is None, student_key
            assert actual["rank_exam"] is None, student_key
            assert actual["balance_rank"] is None, student_key
            continue
        for column, value in expected.items():
            if column.startswith(("rank_", "dense_rank_")) or column == "balance_rank":
                assert actual[column] == value, (student_key, column, actual[column], value)
            else:
                assert close(actual[column], value), (student_key, column, actual[column], value)
        assert close(actual["t"], None if expected["z"] is None else 50 + 10 * expected["z"])
    if spec.ranking != "dense":
        assert "dense_rank_exam" not in result.students.columns

    # bands and the one-point table
    expected_bands = oracle.bands()
    actual_bands = {
        (row["level"], row["unit_id"], row["subject"], Fraction(repr(row["band_low"]))): (
            row["n"],
            row["cum_n"],
        )
        for row in result.bands.iter_rows(named=True)
    }
    assert actual_bands == expected_bands
    actual_points = {
        (row["subject"], Fraction(repr(row["score"]))): (row["n"], row["cum_n"], row["rank"])
        for row in result.one_point.iter_rows(named=True)
    }
    assert actual_points == oracle.one_point()

    # joint pass rates and 全科不及格
    actual_joint = {
        (row["level"], row["unit_id"], row["set_name"]): (
            row["eligible"],
            row["passed"],
            row["failed_all"],
        )
        for row in result.joint.iter_rows(named=True)
    }
    assert actual_joint == oracle.joint()
    assert any("缺科" in warning for warning in result.warnings)

    # 上线, 有效分, 单/双上线, 临界生, 尖子生
    line_units, effective, line_subjects, critical, top = oracle.lines()
    assert {
        (row["level"], row["unit_id"], row["line_name"]): (row["n"], row["denominator"])
        for row in result.lines.iter_rows(named=True)
    } == line_units
    assert {
        (row["line_name"], row["subject"]): (
            None if row["effective_score"] is None else Fraction(repr(row["effective_score"]))
        )
        for row in result.effective.iter_rows(named=True)
    } == effective
    assert {
        (row["level"], row["unit_id"], row["line_name"], row["subject"]): (
            row["single_n"],
            row["double_n"],
            row["line_n"],
            row["sat"],
            row["hit_rate"],
            row["hit_rate_sat"],
        )
        for row in result.line_subjects.iter_rows(named=True)
    } == line_subjects
    assert {
        (row["candidate_id"], row["line_name"]) for row in result.critical.iter_rows(named=True)
    } == critical
    assert set(result.top["candidate_id"].to_list()) == top


@pytest.mark.parametrize("seed", range(30))
def test_engine_matches_oracle(seed: int) -> None:
    rng = random.Random(seed)
    check(random_frame(rng), random_config(rng))


def test_oracle_catches_a_wrong_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison can fail: an engine that counts the pass line with > instead of ≥
    disagrees with the oracle."""
    from xiaowu.exams.analytics import indicators

    original = indicators.threshold_tenths

    def off_by_one(spec: CaliberSpec, subjects: Any) -> dict[str, Any]:
        table = original(spec, subjects)
        return table | {"pass": table["pass"] + 1}

    monkeypatch.setattr("xiaowu.exams.analytics.engine.threshold_tenths", off_by_one)
    failures = 0
    for seed in range(5):
        rng = random.Random(seed)
        try:
            check(random_frame(rng), random_config(rng))
        except AssertionError:
            failures += 1
    assert failures >= 3


def frames_equal(left: Any, right: Any) -> None:
    for name in ("units", "students", "bands", "one_point", "joint", "lines", "line_subjects"):
        assert getattr(left, name).equals(getattr(right, name)), name


def test_serial_parallel_and_unpacked_sort_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(11)
    rows, config = random_frame(rng), random_config(rng)
    frame = pl.DataFrame(rows, schema_overrides={"district_id": pl.Int64, "teacher_id": pl.Int64})
    spec = CaliberSpec.from_config(config)
    parallel = analyze(frame, spec)
    frames_equal(parallel, analyze(frame, spec, parallel=False))
    monkeypatch.setattr("xiaowu.exams.analytics.levels.WORD_BITS", 8)  # force the argsort path
    frames_equal(parallel, analyze(frame, spec))
