"""Preset 口径 shipped with xiaowu (analytics.md §0 key point 1: presets are data rows).

``PRESETS_V1`` is written to the database by migration ``0002_caliber_presets`` and is never
edited afterwards: a changed or added preset is a new constant and a new data migration, so
that every stored result keeps pointing at the exact configuration it was computed with.
Presets have no owner; a unit adapts one by copying it into a 口径 of its own.
"""

from __future__ import annotations

from typing import Any, TypedDict


class PresetRow(TypedDict):
    code: str
    name: str
    description: str
    config: dict[str, Any]


_EXCLUDED = ["absent", "exempt", "not_counted"]
_SETS_PRIMARY = {"双合": ["语文", "数学"], "三合": ["语文", "数学", "英语"], "全科": "*"}

PRESETS_V1: tuple[PresetRow, ...] = (
    {
        "code": "general",
        "name": "通用口径（及格60% 良好70% 优秀80% 低分40%）",
        "description": (
            "最常见的默认口径：及格、良好、优秀按满分的 60%、70%、80%（含本数）计，"
            "低分按低于满分的 40% 计；以实考人数为分母，缺考、免考、借读不计者不计入分母，"
            "作弊者不计；竞争排名（1224）。双合为语文+数学，三合为语文+数学+英语，全科为全部科目。"
        ),
        "config": {
            "thresholds": {"excellent": 0.8, "good": 0.7, "pass": 0.6, "low": 0.4},
            "denominator": "sat",
            "excluded_statuses": _EXCLUDED,
            "cheated": "exclude",
            "exclude_visiting": False,
            "joint_absent": "exclude",
            "subject_sets": _SETS_PRIMARY,
            "total_subjects": "*",
            "ranking": "competition",
            "composite": None,
            "band_width": 10,
            "top_n": 50,
            "min_group_size": 10,
        },
    },
    {
        "code": "primary-85",
        "name": "小学口径（优秀85%）",
        "description": (
            "小学常用：优秀按满分的 85% 计（百分制即 85 分及以上），及格 60%、良好 70%、"
            "低分低于 40%；双合、三合按语数、语数英计。"
        ),
        "config": {
            "thresholds": {"excellent": 0.85, "good": 0.7, "pass": 0.6, "low": 0.4},
            "denominator": "sat",
            "excluded_statuses": _EXCLUDED,
            "cheated": "exclude",
            "joint_absent": "exclude",
            "subject_sets": _SETS_PRIMARY,
            "total_subjects": "*",
            "ranking": "competition",
            "composite": None,
            "band_width": 10,
            "min_group_size": 10,
        },
    },
    {
        "code": "junior-150",
        "name": "初中150分制口径",
        "description": (
            "初中语数英满分 150 分、其他科目 100 分时使用：比例阈值不变（150 分制及格 90 分、"
            "优秀 120 分），分数段按 15 分一段（其他科目 10 分）；七合（全科合格）按全部科目计。"
        ),
        "config": {
            "thresholds": {"excellent": 0.8, "good": 0.7, "pass": 0.6, "low": 0.4},
            "denominator": "sat",
            "excluded_statuses": _EXCLUDED,
            "cheated": "exclude",
            "joint_absent": "exclude",
            "subject_sets": {"三合": ["语文", "数学", "英语"], "全科": "*"},
            "total_subjects": "*",
            "ranking": "competition",
            "composite": None,
            "band_width": 10,
            "band_widths": {"语文": 15, "数学": 15, "英语": 15},
            "min_group_size": 10,
        },
    },
    {
        "code": "county-weighted",
        "name": "县域三率一分综合评比（0.4/0.3/0.3）",
        "description": (
            "综合分 = 平均分得分率×0.4 + 及格率×0.3 + 优秀率×0.3（加权线性和），用于班级、"
            "学校的综合排名；分母为实考人数。"
        ),
        "config": {
            "thresholds": {"excellent": 0.8, "good": 0.7, "pass": 0.6, "low": 0.4},
            "denominator": "sat",
            "excluded_statuses": _EXCLUDED,
            "cheated": "exclude",
            "joint_absent": "exclude",
            "subject_sets": _SETS_PRIMARY,
            "total_subjects": "*",
            "ranking": "competition",
            "composite": {
                "family": "weighted",
                "weights": {"mean": 0.4, "pass": 0.3, "excellent": 0.3, "low": 0, "good": 0},
            },
            "band_width": 10,
            "min_group_size": 10,
        },
    },
    {
        "code": "relative-best",
        "name": "最高值折算（平均分60 优秀率70 及格率70）",
        "description": (
            "比率折算：各项指标除以参评单位中的最高值再乘以分值，平均分 60 分、优秀率 70 分、"
            "及格率 70 分，满分 200 分；竞争排名。"
        ),
        "config": {
            "thresholds": {"excellent": 0.8, "good": 0.7, "pass": 0.6, "low": 0.4},
            "denominator": "sat",
            "excluded_statuses": _EXCLUDED,
            "cheated": "exclude",
            "joint_absent": "exclude",
            "subject_sets": _SETS_PRIMARY,
            "total_subjects": "*",
            "ranking": "competition",
            "composite": {
                "family": "relative_best",
                "weights": {"mean": 60, "excellent": 70, "pass": 70},
            },
            "band_width": 10,
            "min_group_size": 10,
        },
    },
    {
        "code": "relative-best-g9",
        "name": "最高值折算·九年级（平均分50 优秀率80 及格率50）",
        "description": (
            "九年级用的比率折算：平均分 50 分、优秀率 80 分、及格率 50 分，满分 180 分。"
        ),
        "config": {
            "thresholds": {"excellent": 0.8, "good": 0.7, "pass": 0.6, "low": 0.4},
            "denominator": "sat",
            "excluded_statuses": _EXCLUDED,
            "cheated": "exclude",
            "joint_absent": "exclude",
            "subject_sets": {"三合": ["语文", "数学", "英语"], "全科": "*"},
            "total_subjects": "*",
            "ranking": "competition",
            "composite": {
                "family": "relative_best",
                "weights": {"mean": 50, "excellent": 80, "pass": 50},
            },
            "band_width": 10,
            "min_group_size": 10,
        },
    },
    {
        "code": "joint-strict",
        "name": "合格率口径（双合/三合/全科，缺科按不合格）",
        "description": (
            "计算双合率、三合率、全科合格率时，缺考任一科目的学生按不合格计入分母"
            "（通用口径则把他们排除在外）。"
        ),
        "config": {
            "thresholds": {"excellent": 0.8, "good": 0.7, "pass": 0.6, "low": 0.4},
            "denominator": "sat",
            "excluded_statuses": _EXCLUDED,
            "cheated": "zero",
            "joint_absent": "fail",
            "subject_sets": _SETS_PRIMARY,
            "total_subjects": "*",
            "ranking": "competition",
            "composite": None,
            "band_width": 10,
            "min_group_size": 10,
        },
    },
    {
        "code": "senior-line",
        "name": "中考模拟·普高线示例（总分520）",
        "description": (
            "九年级中考模拟用：普高线为总分 520 分，线下 10 分以内为临界生，总分前 50 名为尖子生；"
            "有效分按比例法计算；以应考人数为分母。"
        ),
        "config": {
            "thresholds": {"excellent": 0.8, "good": 0.7, "pass": 0.6, "low": 0.4},
            "denominator": "expected",
            "excluded_statuses": ["exempt", "not_counted"],
            "cheated": "zero",
            "joint_absent": "fail",
            "subject_sets": {"三合": ["语文", "数学", "英语"], "全科": "*"},
            "total_subjects": "*",
            "ranking": "competition",
            "tie_break": ["语文", "数学"],
            "composite": None,
            "lines": [{"name": "普高线", "total": 520.0}],
            "effective_score": "ratio",
            "critical_width": 10.0,
            "top_n": 50,
            "band_width": 10,
            "min_group_size": 10,
        },
    },
)

# Added later (migration 0004): a 新高考 口径 with 等级赋分 of the 再选科目.
PRESETS_V2: tuple[PresetRow, ...] = (
    {
        "code": "gaokao-312-assigned",
        "name": "新高考 3+1+2 模拟赋分（化学、生物、政治、地理）",
        "description": (
            "高中联考、月考用：及格、良好、优秀、低分同通用口径，以实考人数为分母；"
            "再选科目化学、生物、政治、地理按 3+1+2 方案等级赋分"
            "（A/B/C/D/E 各占 15%、35%、35%、13%、2%，赋分区间 100–86、85–71、70–56、55–41、40–30，"
            "等级内等比例转换、四舍五入取整），"
            "以本次考试全体实考考生为转换基数；等级边界取累计比例最接近目标的分数。"
            "总分仍为原始分之和，赋分结果见“等级赋分”页和赋分对照表。"
        ),
        "config": {
            **PRESETS_V1[0]["config"],  # the 通用口径 (a frozen constant), plus 赋分
            "assigned_scores": {
                "scheme": "3+1+2",
                "subjects": ["化学", "生物", "政治", "地理"],
                "boundary": "near",
                "equal_band": "top",
            },
        },
    },
)
