"""口径 (caliber): the validated, immutable configuration every exam indicator depends on.

``CaliberSpec.from_config(dict)`` validates the JSON stored in ``exams.Caliber.config`` and
raises ``CaliberError`` with a Chinese message naming the offending field;
``CaliberSpec.to_config()`` returns the normalised JSON (every key, defaults filled in), and
``from_config(spec.to_config()) == spec``. See ``analytics.md`` §1 and the exams contract for the
meaning of each key. Keys added here beyond the contract:

- ``total_absent``: ``"exclude"`` (default) leaves a student who did not sit every subject of
  the total out of the 总分 实考; ``"zero"`` counts the missing subjects as 0 (a student who sat
  none of them stays out).
- ``assigned_scores``: ``null`` (default, no 赋分) or ``{"scheme": "3+1+2", "subjects": ["化学",
  "生物"], "boundary": "near", "equal_band": "top"}`` — 新高考 等级赋分 (模拟赋分) of the listed
  subjects on the whole reference population, ``analytics.md`` §2.11 and
  ``exams.analytics.assigned``. ``scheme`` is one of ``ASSIGNED_SCHEMES``; ``boundary``
  (``near``/``upper``/``lower``) chooses the cut score of each band; ``equal_band`` (``top``/
  ``mid``) the score of a band whose raw scores are all equal.

Every object is a frozen dataclass built only of tuples, so a spec is hashable and can key a
cache.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, TypeGuard, cast

TOTAL: Final = "总分"  # the subject label of the total score, everywhere in the engine

STATUSES: Final = ("absent", "cheated", "exempt", "not_counted")
EXCLUDABLE_STATUSES: Final = ("absent", "exempt", "not_counted")
THRESHOLD_KEYS: Final = ("excellent", "good", "pass", "low")
THRESHOLD_LABELS: Final = {"excellent": "优秀", "good": "良好", "pass": "及格", "low": "低分"}
INDICATORS: Final = ("mean", "pass", "excellent", "good", "low")
COMPOSITE_FAMILIES: Final = (
    "weighted",
    "relative_best",
    "relative_mean",
    "rank_points",
    "standard_score",
)
DEFAULT_WEIGHTS: Final[Mapping[str, Mapping[str, float]]] = {
    "weighted": {"mean": 0.4, "pass": 0.3, "excellent": 0.3},
    "relative_best": {"mean": 60.0, "excellent": 70.0, "pass": 70.0},
    "relative_mean": {"mean": 60.0, "excellent": 70.0, "pass": 70.0},
    "rank_points": {"mean": 1.0, "pass": 1.0, "excellent": 1.0},
    "standard_score": {},
}

Denominator = Literal["sat", "expected"]
CheatedRule = Literal["exclude", "zero"]
AbsentRule = Literal["exclude", "fail"]
TotalAbsentRule = Literal["exclude", "zero"]
Ranking = Literal["competition", "dense"]
Family = Literal["weighted", "relative_best", "relative_mean", "rank_points", "standard_score"]
EffectiveMethod = Literal["ratio", "proportion"]
StandardScale = Literal["T", "500"]
Boundary = Literal["near", "upper", "lower"]
EqualBand = Literal["top", "mid"]

# 赋分 schemes (``exams.analytics.assigned.SCHEMES`` holds their bands); "3+1+2" is the
# Guangdong/Jiangsu/Hebei/... rule, the others are named after their province.
ASSIGNED_SCHEMES: Final = ("3+1+2", "shandong", "zhejiang", "beijing", "tianjin", "shanghai")
BOUNDARIES: Final = ("near", "upper", "lower")
EQUAL_BANDS: Final = ("top", "mid")


class CaliberError(ValueError):
    """An invalid 口径 configuration; the message is Chinese and names the field."""

    def __init__(self, field_name: str, problem: str) -> None:
        self.field = field_name
        super().__init__(f"口径字段 {field_name} {problem}")


# --------------------------------------------------------------------------- value objects


@dataclass(frozen=True)
class Thresholds:
    """Rate thresholds as ratios of 满分: ≥ for excellent/good/pass, strict < for low."""

    excellent: float = 0.8
    good: float = 0.7
    passing: float = 0.6  # JSON key "pass"
    low: float = 0.4

    def ratio(self, key: str) -> float:
        return cast(float, getattr(self, "passing" if key == "pass" else key))

    def with_overrides(self, overrides: tuple[tuple[str, float], ...]) -> Thresholds:
        values = {key: self.ratio(key) for key in THRESHOLD_KEYS} | dict(overrides)
        return Thresholds(values["excellent"], values["good"], values["pass"], values["low"])

    def to_config(self) -> dict[str, float]:
        return {key: self.ratio(key) for key in THRESHOLD_KEYS}


@dataclass(frozen=True)
class Composite:
    """综合评比 family and weights (points for the relative families), ``analytics.md`` §2.4."""

    family: Family
    weights: tuple[tuple[str, float], ...]  # (indicator, weight), indicator in INDICATORS

    def weight(self, indicator: str) -> float:
        return dict(self.weights).get(indicator, 0.0)

    def to_config(self) -> dict[str, Any]:
        return {"family": self.family, "weights": dict(self.weights)}


@dataclass(frozen=True)
class Line:
    """An 上线 control line on 总分 (普高线, 一本线 …)."""

    name: str
    total: float


@dataclass(frozen=True)
class AssignedScores:
    """新高考 等级赋分 settings: which scheme, which subjects, how band edges and one-score bands
    are handled (``analytics.md`` §2.11)."""

    scheme: str  # one of ASSIGNED_SCHEMES
    subjects: tuple[str, ...]
    boundary: Boundary = "near"
    equal_band: EqualBand = "top"

    def to_config(self) -> dict[str, Any]:
        return {
            "scheme": self.scheme,
            "subjects": list(self.subjects),
            "boundary": self.boundary,
            "equal_band": self.equal_band,
        }


@dataclass(frozen=True)
class CaliberSpec:
    thresholds: Thresholds = field(default_factory=Thresholds)
    subject_thresholds: tuple[tuple[str, tuple[tuple[str, float], ...]], ...] = ()
    denominator: Denominator = "sat"
    excluded_statuses: tuple[str, ...] = EXCLUDABLE_STATUSES
    cheated: CheatedRule = "exclude"
    exclude_visiting: bool = False
    joint_absent: AbsentRule = "exclude"
    subject_sets: tuple[tuple[str, tuple[str, ...] | None], ...] = (("全科", None),)  # None = "*"
    total_subjects: tuple[str, ...] | None = None  # None = "*"
    total_absent: TotalAbsentRule = "exclude"
    ranking: Ranking = "competition"
    tie_break: tuple[str, ...] = ()
    composite: Composite | None = None
    lines: tuple[Line, ...] = ()
    effective_score: EffectiveMethod = "ratio"
    critical_width: float = 10.0
    top_n: int = 50
    band_width: float = 10.0
    band_widths: tuple[tuple[str, float], ...] = ()
    standard_score: StandardScale = "T"
    min_group_size: int = 10
    assigned_scores: AssignedScores | None = None

    # ----------------------------------------------------------------------- accessors

    def thresholds_for(self, subject: str) -> Thresholds:
        """Thresholds of one subject (``TOTAL`` for 总分) with its overrides applied."""
        overrides = dict(self.subject_thresholds).get(subject)
        return self.thresholds if overrides is None else self.thresholds.with_overrides(overrides)

    def band_width_for(self, subject: str) -> float:
        return dict(self.band_widths).get(subject, self.band_width)

    # ----------------------------------------------------------------------- (de)serialise

    @classmethod
    def default(cls) -> CaliberSpec:
        return cls()

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> CaliberSpec:
        """Validate a 口径 JSON object; missing keys take their defaults."""
        if config is None:
            return cls()
        if not isinstance(config, Mapping):
            raise CaliberError("(整体)", "应为 JSON 对象")
        unknown = sorted(set(config) - set(_KEYS), key=str)
        if unknown:
            raise CaliberError(str(unknown[0]), "不是可识别的口径字段")
        default = cls()
        thresholds = _thresholds(config.get("thresholds"), default.thresholds)
        subject_thresholds = _subject_thresholds(config.get("subject_thresholds"))
        for subject, overrides in subject_thresholds:
            _check_order(thresholds.with_overrides(overrides), f"subject_thresholds.{subject}")
        spec = cls(
            thresholds=thresholds,
            subject_thresholds=subject_thresholds,
            denominator=cast(
                Denominator, _choice(config, "denominator", ("sat", "expected"), "sat")
            ),
            excluded_statuses=_statuses(config.get("excluded_statuses", EXCLUDABLE_STATUSES)),
            cheated=cast(CheatedRule, _choice(config, "cheated", ("exclude", "zero"), "exclude")),
            exclude_visiting=_bool(config, "exclude_visiting", False),
            joint_absent=cast(
                AbsentRule, _choice(config, "joint_absent", ("exclude", "fail"), "exclude")
            ),
            subject_sets=_subject_sets(config.get("subject_sets", {"全科": "*"})),
            total_subjects=_subjects_or_star(config.get("total_subjects", "*"), "total_subjects"),
            total_absent=cast(
                TotalAbsentRule, _choice(config, "total_absent", ("exclude", "zero"), "exclude")
            ),
            ranking=cast(
                Ranking, _choice(config, "ranking", ("competition", "dense"), "competition")
            ),
            tie_break=_subject_list(config.get("tie_break", []), "tie_break", allow_empty=True),
            composite=_composite(config.get("composite")),
            lines=_lines(config.get("lines", [])),
            effective_score=cast(
                EffectiveMethod,
                _choice(config, "effective_score", ("ratio", "proportion"), "ratio"),
            ),
            critical_width=_number(config, "critical_width", 10.0, minimum=0.0),
            top_n=_integer(config, "top_n", 50),
            band_width=_number(config, "band_width", 10.0, minimum=0.0, strict=True),
            band_widths=_band_widths(config.get("band_widths", {})),
            standard_score=cast(
                StandardScale, _choice(config, "standard_score", ("T", "500"), "T")
            ),
            min_group_size=_integer(config, "min_group_size", 10),
            assigned_scores=_assigned_scores(config.get("assigned_scores")),
        )
        if TOTAL in spec.tie_break:
            raise CaliberError("tie_break", f"不能包含「{TOTAL}」（总分本身是第一排序依据）")
        return spec

    def to_config(self) -> dict[str, Any]:
        return {
            "thresholds": self.thresholds.to_config(),
            "subject_thresholds": {
                subject: dict(overrides) for subject, overrides in self.subject_thresholds
            },
            "denominator": self.denominator,
            "excluded_statuses": list(self.excluded_statuses),
            "cheated": self.cheated,
            "exclude_visiting": self.exclude_visiting,
            "joint_absent": self.joint_absent,
            "subject_sets": {
                name: "*" if subjects is None else list(subjects)
                for name, subjects in self.subject_sets
            },
            "total_subjects": "*" if self.total_subjects is None else list(self.total_subjects),
            "total_absent": self.total_absent,
            "ranking": self.ranking,
            "tie_break": list(self.tie_break),
            "composite": None if self.composite is None else self.composite.to_config(),
            "lines": [{"name": line.name, "total": line.total} for line in self.lines],
            "effective_score": self.effective_score,
            "critical_width": self.critical_width,
            "top_n": self.top_n,
            "band_width": self.band_width,
            "band_widths": dict(self.band_widths),
            "standard_score": self.standard_score,
            "min_group_size": self.min_group_size,
            "assigned_scores": (
                None if self.assigned_scores is None else self.assigned_scores.to_config()
            ),
        }


_KEYS: Final = tuple(CaliberSpec().to_config())


# --------------------------------------------------------------------------- field parsers


def _is_number(value: object) -> TypeGuard[int | float]:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def _ratio(value: object, name: str) -> float:
    if not _is_number(value) or not 0 <= value <= 1:
        raise CaliberError(name, "应为 0 到 1 之间的小数")
    return float(value)


def _check_order(thresholds: Thresholds, name: str) -> None:
    if not thresholds.low <= thresholds.passing <= thresholds.good <= thresholds.excellent:
        raise CaliberError(name, "应满足 低分线 ≤ 及格线 ≤ 良好线 ≤ 优秀线")


def _thresholds(value: object, default: Thresholds) -> Thresholds:
    if value is None:
        return default
    if not isinstance(value, Mapping):
        raise CaliberError("thresholds", '应为对象，例如 {"pass": 0.6}')
    overrides = _threshold_overrides(value, "thresholds")
    thresholds = default.with_overrides(overrides)
    _check_order(thresholds, "thresholds")
    return thresholds


def _threshold_overrides(value: Mapping[Any, Any], name: str) -> tuple[tuple[str, float], ...]:
    result = []
    for key, ratio in value.items():
        if key not in THRESHOLD_KEYS:
            raise CaliberError(f"{name}.{key}", "不是可识别的阈值（可用 excellent/good/pass/low）")
        result.append((str(key), _ratio(ratio, f"{name}.{key}")))
    return tuple(sorted(result, key=lambda item: THRESHOLD_KEYS.index(item[0])))


def _subject_name(value: object, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise CaliberError(name, "应为非空的科目名称")
    return value.strip()


def _subject_thresholds(value: object) -> tuple[tuple[str, tuple[tuple[str, float], ...]], ...]:
    if value is None:
        return ()
    if not isinstance(value, Mapping):
        raise CaliberError("subject_thresholds", '应为对象，例如 {"语文": {"excellent": 0.85}}')
    result = []
    for subject, overrides in value.items():
        name = f"subject_thresholds.{subject}"
        subject = _subject_name(subject, name)
        if not isinstance(overrides, Mapping):
            raise CaliberError(name, '应为对象，例如 {"excellent": 0.85}')
        result.append((subject, _threshold_overrides(overrides, name)))
    return tuple(result)


def _choice(config: Mapping[str, Any], key: str, allowed: tuple[str, ...], default: str) -> str:
    value = config.get(key, default)
    if value not in allowed:
        raise CaliberError(key, "应为 " + " 或 ".join(f"“{option}”" for option in allowed))
    return cast(str, value)


def _bool(config: Mapping[str, Any], key: str, default: bool) -> bool:
    value = config.get(key, default)
    if not isinstance(value, bool):
        raise CaliberError(key, "应为 true 或 false")
    return value


def _number(
    config: Mapping[str, Any], key: str, default: float, *, minimum: float, strict: bool = False
) -> float:
    value = config.get(key, default)
    if not _is_number(value) or float(value) < minimum or (strict and float(value) == minimum):
        relation = "大于" if strict else "不小于"
        raise CaliberError(key, f"应为{relation} {minimum:g} 的数")
    return float(value)


def _integer(config: Mapping[str, Any], key: str, default: int) -> int:
    value = config.get(key, default)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise CaliberError(key, "应为不小于 0 的整数")
    return value


def _statuses(value: object) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        raise CaliberError("excluded_statuses", '应为状态列表，例如 ["absent", "exempt"]')
    for status in value:
        if status == "cheated":
            raise CaliberError("excluded_statuses", "不能包含 cheated（作弊请用字段 cheated 设置）")
        if status not in EXCLUDABLE_STATUSES:
            raise CaliberError(
                "excluded_statuses",
                f"中的「{status}」不是可排除的状态（可用 absent/exempt/not_counted）",
            )
    return tuple(status for status in EXCLUDABLE_STATUSES if status in value)


def _subject_list(value: object, name: str, *, allow_empty: bool) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or (not value and not allow_empty):
        raise CaliberError(name, "应为科目名称列表" + ("" if allow_empty else "（至少一门）"))
    subjects = tuple(_subject_name(subject, name) for subject in value)
    if len(set(subjects)) != len(subjects):
        raise CaliberError(name, "中有重复的科目")
    return subjects


def _subjects_or_star(value: object, name: str) -> tuple[str, ...] | None:
    if value == "*":
        return None
    subjects = _subject_list(value, name, allow_empty=False)
    if TOTAL in subjects:
        raise CaliberError(name, f"不能包含「{TOTAL}」")
    return subjects


def _subject_sets(value: object) -> tuple[tuple[str, tuple[str, ...] | None], ...]:
    if not isinstance(value, Mapping):
        raise CaliberError("subject_sets", '应为对象，例如 {"双合": ["语文", "数学"], "全科": "*"}')
    result = []
    for set_name, subjects in value.items():
        name = _subject_name(set_name, "subject_sets")
        result.append((name, _subjects_or_star(subjects, f"subject_sets.{name}")))
    return tuple(result)


def _composite(value: object) -> Composite | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise CaliberError("composite", '应为 null 或对象，例如 {"family": "weighted"}')
    unknown = sorted(set(value) - {"family", "weights"}, key=str)
    if unknown:
        raise CaliberError(f"composite.{unknown[0]}", "不是可识别的字段")
    family = value.get("family")
    if family not in COMPOSITE_FAMILIES:
        raise CaliberError("composite.family", "应为 " + "/".join(COMPOSITE_FAMILIES) + " 之一")
    weights = value.get("weights")
    if weights is None:
        weights = DEFAULT_WEIGHTS[family]
    if not isinstance(weights, Mapping):
        raise CaliberError("composite.weights", '应为对象，例如 {"mean": 0.4, "pass": 0.3}')
    parsed = []
    for indicator, weight in weights.items():
        name = f"composite.weights.{indicator}"
        if indicator not in INDICATORS:
            raise CaliberError(name, "不是可识别的指标（可用 mean/pass/excellent/good/low）")
        if not _is_number(weight) or float(weight) < 0:
            raise CaliberError(name, "应为不小于 0 的数")
        parsed.append((str(indicator), float(weight)))
    if family != "standard_score" and not any(weight > 0 for _, weight in parsed):
        raise CaliberError("composite.weights", "至少要有一个大于 0 的权重")
    parsed.sort(key=lambda item: INDICATORS.index(item[0]))
    return Composite(family=cast(Family, family), weights=tuple(parsed))


def _lines(value: object) -> tuple[Line, ...]:
    if not isinstance(value, list | tuple):
        raise CaliberError("lines", '应为列表，例如 [{"name": "普高线", "total": 520}]')
    lines = []
    for index, item in enumerate(value, start=1):
        name = f"lines[{index}]"
        if not isinstance(item, Mapping) or set(item) - {"name", "total"}:
            raise CaliberError(name, '应为对象 {"name": 名称, "total": 总分线}')
        line_name = item.get("name")
        if not isinstance(line_name, str) or not line_name.strip():
            raise CaliberError(f"{name}.name", "应为非空的名称")
        total = item.get("total")
        if not _is_number(total) or float(total) < 0:
            raise CaliberError(f"{name}.total", "应为不小于 0 的分数")
        lines.append(Line(name=line_name.strip(), total=float(total)))
    names = [line.name for line in lines]
    if len(set(names)) != len(names):
        raise CaliberError("lines", "中有重名的分数线")
    return tuple(lines)


def _band_widths(value: object) -> tuple[tuple[str, float], ...]:
    if not isinstance(value, Mapping):
        raise CaliberError("band_widths", '应为对象，例如 {"语文": 15}')
    result = []
    for subject, width in value.items():
        name = f"band_widths.{subject}"
        subject = _subject_name(subject, name)
        if not _is_number(width) or float(width) <= 0:
            raise CaliberError(name, "应为大于 0 的数")
        result.append((subject, float(width)))
    return tuple(result)


def _assigned_scores(value: object) -> AssignedScores | None:
    name = "assigned_scores"
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise CaliberError(
            name, '应为 null 或对象，例如 {"scheme": "3+1+2", "subjects": ["化学", "生物"]}'
        )
    unknown = sorted(set(value) - {"scheme", "subjects", "boundary", "equal_band"}, key=str)
    if unknown:
        raise CaliberError(f"{name}.{unknown[0]}", "不是可识别的字段")
    scheme = value.get("scheme")
    if scheme not in ASSIGNED_SCHEMES:
        raise CaliberError(f"{name}.scheme", "应为 " + "/".join(ASSIGNED_SCHEMES) + " 之一")
    subjects = _subject_list(value.get("subjects"), f"{name}.subjects", allow_empty=False)
    if TOTAL in subjects:
        raise CaliberError(f"{name}.subjects", f"不能包含「{TOTAL}」（只对单科赋分）")
    options = []
    for key, allowed, default in (
        ("boundary", BOUNDARIES, "near"),
        ("equal_band", EQUAL_BANDS, "top"),
    ):
        option = value.get(key, default)
        if option not in allowed:
            raise CaliberError(
                f"{name}.{key}", "应为 " + " 或 ".join(f"“{item}”" for item in allowed)
            )
        options.append(option)
    return AssignedScores(
        scheme=cast(str, scheme),
        subjects=subjects,
        boundary=cast(Boundary, options[0]),
        equal_band=cast(EqualBand, options[1]),
    )
