"""口径 (CaliberSpec): defaults, round trip, validation messages that name the field."""

from __future__ import annotations

from typing import Any

import pytest

from xiaowu.exams.analytics import TOTAL, CaliberError, CaliberSpec

FULL_CONFIG: dict[str, Any] = {
    "thresholds": {"excellent": 0.85, "good": 0.75, "pass": 0.6, "low": 0.3},
    "subject_thresholds": {"语文": {"excellent": 0.9}, TOTAL: {"pass": 0.5}},
    "denominator": "expected",
    "excluded_statuses": ["absent", "exempt"],
    "cheated": "zero",
    "exclude_visiting": True,
    "joint_absent": "fail",
    "subject_sets": {"双合": ["语文", "数学"], "三合": ["语文", "数学", "英语"], "全科": "*"},
    "total_subjects": ["语文", "数学", "英语"],
    "total_absent": "zero",
    "ranking": "dense",
    "tie_break": ["语文", "数学"],
    "composite": {"family": "relative_best", "weights": {"mean": 60, "excellent": 70, "pass": 70}},
    "lines": [{"name": "普高线", "total": 520.0}, {"name": "重点线", "total": 600}],
    "effective_score": "proportion",
    "critical_width": 15,
    "top_n": 100,
    "band_width": 5,
    "band_widths": {"语文": 15},
    "standard_score": "500",
    "min_group_size": 20,
    "assigned_scores": {
        "scheme": "3+1+2",
        "subjects": ["化学", "生物", "政治", "地理"],
        "boundary": "lower",
        "equal_band": "mid",
    },
}


def test_default_matches_the_contract() -> None:
    config = CaliberSpec.default().to_config()
    assert config["thresholds"] == {"excellent": 0.8, "good": 0.7, "pass": 0.6, "low": 0.4}
    assert config["denominator"] == "sat"
    assert config["excluded_statuses"] == ["absent", "exempt", "not_counted"]
    assert config["cheated"] == "exclude"
    assert config["exclude_visiting"] is False
    assert config["joint_absent"] == "exclude"
    assert config["total_subjects"] == "*"
    assert config["ranking"] == "competition"
    assert config["tie_break"] == []
    assert config["composite"] is None
    assert config["lines"] == []
    assert config["band_width"] == 10.0
    assert config["min_group_size"] == 10
    assert config["assigned_scores"] is None
    assert CaliberSpec.from_config({}) == CaliberSpec.default()
    assert CaliberSpec.from_config(None) == CaliberSpec.default()


def test_round_trip_and_hashable() -> None:
    spec = CaliberSpec.from_config(FULL_CONFIG)
    again = CaliberSpec.from_config(spec.to_config())
    assert again == spec
    assert again.to_config() == spec.to_config()
    assert hash(again) == hash(spec)
    assert spec.thresholds_for("语文").excellent == 0.9
    assert spec.thresholds_for("语文").passing == 0.6
    assert spec.thresholds_for(TOTAL).passing == 0.5
    assert spec.thresholds_for("数学").excellent == 0.85
    assert spec.band_width_for("语文") == 15
    assert spec.band_width_for("数学") == 5
    config = spec.to_config()
    assert config["lines"] == [
        {"name": "普高线", "total": 520.0},
        {"name": "重点线", "total": 600.0},
    ]
    assert config["composite"] == {
        "family": "relative_best",
        "weights": {"mean": 60.0, "pass": 70.0, "excellent": 70.0},
    }


def test_composite_family_defaults_its_weights() -> None:
    spec = CaliberSpec.from_config({"composite": {"family": "weighted"}})
    assert spec.composite is not None
    assert dict(spec.composite.weights) == {"mean": 0.4, "pass": 0.3, "excellent": 0.3}
    spec = CaliberSpec.from_config({"composite": {"family": "relative_best"}})
    assert spec.composite is not None
    assert dict(spec.composite.weights) == {"mean": 60, "pass": 70, "excellent": 70}


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"thresholds": {"pass": 1.5}}, "口径字段 thresholds.pass 应为 0 到 1 之间的小数"),
        ({"thresholds": {"pass": "0.6"}}, "口径字段 thresholds.pass 应为 0 到 1 之间的小数"),
        ({"thresholds": {"pass": True}}, "口径字段 thresholds.pass 应为 0 到 1 之间的小数"),
        ({"thresholds": {"great": 0.9}}, "口径字段 thresholds.great 不是可识别的阈值"),
        (
            {"thresholds": {"pass": 0.9}},
            "口径字段 thresholds 应满足 低分线 ≤ 及格线 ≤ 良好线 ≤ 优秀线",
        ),
        (
            {"subject_thresholds": {"语文": {"low": 0.7}}},
            "口径字段 subject_thresholds.语文 应满足",
        ),
        ({"denominator": "all"}, "口径字段 denominator 应为 “sat” 或 “expected”"),
        ({"excluded_statuses": ["cheated"]}, "口径字段 excluded_statuses 不能包含 cheated"),
        (
            {"excluded_statuses": ["late"]},
            "口径字段 excluded_statuses 中的「late」不是可排除的状态",
        ),
        ({"cheated": "ignore"}, "口径字段 cheated 应为"),
        ({"exclude_visiting": "yes"}, "口径字段 exclude_visiting 应为 true 或 false"),
        ({"joint_absent": "zero"}, "口径字段 joint_absent 应为"),
        ({"subject_sets": ["语文"]}, "口径字段 subject_sets 应为对象"),
        ({"subject_sets": {"双合": []}}, "口径字段 subject_sets.双合 应为科目名称列表（至少一门）"),
        ({"subject_sets": {"双合": ["语文", "语文"]}}, "口径字段 subject_sets.双合 中有重复的科目"),
        ({"total_subjects": [TOTAL]}, "口径字段 total_subjects 不能包含「总分」"),
        ({"ranking": "olympic"}, "口径字段 ranking 应为"),
        ({"tie_break": [TOTAL]}, "口径字段 tie_break 不能包含「总分」"),
        ({"composite": {"family": "magic"}}, "口径字段 composite.family 应为"),
        (
            {"composite": {"family": "weighted", "weights": {"median": 1}}},
            "口径字段 composite.weights.median 不是可识别的指标",
        ),
        (
            {"composite": {"family": "weighted", "weights": {"mean": -1}}},
            "口径字段 composite.weights.mean 应为不小于 0 的数",
        ),
        (
            {"composite": {"family": "weighted", "weights": {"mean": 0}}},
            "口径字段 composite.weights 至少要有一个大于 0 的权重",
        ),
        (
            {"composite": {"family": "weighted", "scale": 1}},
            "口径字段 composite.scale 不是可识别的字段",
        ),
        ({"lines": [{"name": "", "total": 500}]}, "口径字段 lines[1].name 应为非空的名称"),
        ({"lines": [{"name": "一本", "total": -5}]}, "口径字段 lines[1].total 应为不小于 0 的分数"),
        (
            {"lines": [{"name": "一本", "total": 5}, {"name": "一本", "total": 6}]},
            "口径字段 lines 中有重名的分数线",
        ),
        ({"effective_score": "mean"}, "口径字段 effective_score 应为"),
        ({"critical_width": -1}, "口径字段 critical_width 应为不小于 0 的数"),
        ({"top_n": 2.5}, "口径字段 top_n 应为不小于 0 的整数"),
        ({"band_width": 0}, "口径字段 band_width 应为大于 0 的数"),
        ({"band_widths": {"语文": 0}}, "口径字段 band_widths.语文 应为大于 0 的数"),
        ({"standard_score": "Z"}, "口径字段 standard_score 应为"),
        ({"min_group_size": -3}, "口径字段 min_group_size 应为不小于 0 的整数"),
        ({"threshold": {}}, "口径字段 threshold 不是可识别的口径字段"),
        ({"assigned_scores": "3+1+2"}, "口径字段 assigned_scores 应为 null 或对象"),
        (
            {"assigned_scores": {"scheme": "hainan", "subjects": ["化学"]}},
            "口径字段 assigned_scores.scheme 应为 3+1+2/shandong/zhejiang/beijing/tianjin/shanghai",
        ),
        ({"assigned_scores": {"subjects": ["化学"]}}, "口径字段 assigned_scores.scheme 应为"),
        (
            {"assigned_scores": {"scheme": "3+1+2"}},
            "口径字段 assigned_scores.subjects 应为科目名称列表（至少一门）",
        ),
        (
            {"assigned_scores": {"scheme": "3+1+2", "subjects": []}},
            "口径字段 assigned_scores.subjects 应为科目名称列表（至少一门）",
        ),
        (
            {"assigned_scores": {"scheme": "3+1+2", "subjects": ["化学", "化学"]}},
            "口径字段 assigned_scores.subjects 中有重复的科目",
        ),
        (
            {"assigned_scores": {"scheme": "3+1+2", "subjects": [TOTAL]}},
            "口径字段 assigned_scores.subjects 不能包含「总分」",
        ),
        (
            {"assigned_scores": {"scheme": "3+1+2", "subjects": ["化学"], "boundary": "middle"}},
            "口径字段 assigned_scores.boundary 应为 “near” 或 “upper” 或 “lower”",
        ),
        (
            {"assigned_scores": {"scheme": "3+1+2", "subjects": ["化学"], "equal_band": "low"}},
            "口径字段 assigned_scores.equal_band 应为 “top” 或 “mid”",
        ),
        (
            {"assigned_scores": {"scheme": "3+1+2", "subjects": ["化学"], "round": "up"}},
            "口径字段 assigned_scores.round 不是可识别的字段",
        ),
    ],
)
def test_errors_name_the_field(config: dict[str, Any], message: str) -> None:
    with pytest.raises(CaliberError) as caught:
        CaliberSpec.from_config(config)
    assert str(caught.value).startswith(message), str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_assigned_scores_defaults_and_round_trip() -> None:
    spec = CaliberSpec.from_config(
        {"assigned_scores": {"scheme": "shandong", "subjects": [" 化学 ", "生物"]}}
    )
    assigned = spec.assigned_scores
    assert assigned is not None
    assert (assigned.scheme, assigned.subjects, assigned.boundary, assigned.equal_band) == (
        "shandong",
        ("化学", "生物"),
        "near",
        "top",
    )
    assert spec.to_config()["assigned_scores"] == {
        "scheme": "shandong",
        "subjects": ["化学", "生物"],
        "boundary": "near",
        "equal_band": "top",
    }
    assert CaliberSpec.from_config(spec.to_config()) == spec
    assert hash(CaliberSpec.from_config(spec.to_config())) == hash(spec)
    assert CaliberSpec.from_config({"assigned_scores": None}).assigned_scores is None
    full = CaliberSpec.from_config(FULL_CONFIG).assigned_scores
    assert full is not None
    assert (full.boundary, full.equal_band) == ("lower", "mid")


def test_whole_config_must_be_an_object() -> None:
    with pytest.raises(CaliberError, match="应为 JSON 对象"):
        CaliberSpec.from_config(["thresholds"])
