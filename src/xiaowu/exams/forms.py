"""Input shapes of the exam setup, import and 口径 pages. Forms check shape (and, for the 口径
form, build the configuration JSON and check it with the engine's own reader); the services
enforce the rules and permissions."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms

from xiaowu.core.forms import bootstrap_form
from xiaowu.core.tabular import fold
from xiaowu.exams.analytics.caliber import (
    COMPOSITE_FAMILIES,
    CaliberError,
    CaliberSpec,
)
from xiaowu.exams.models import Caliber, ExamKind
from xiaowu.exams.score_import import MODE_ITEMS, MODES
from xiaowu.exams.services import SubjectSpec
from xiaowu.org.models import Grade, OrgUnit, Term

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
STEP_CHOICES = [("1", "1 分（只能填整数）"), ("0.5", "0.5 分（可填 .5）")]
GRADE_CHOICES = [(value, label) for value, label in Grade.choices if value >= 1]
DEFAULT_SUBJECTS = "语文 100 0.5\n数学 100 1\n英语 100 0.5"
_SUBJECT_LINE = re.compile(r"^(\S+?)[\s,，:：]+(\d+(?:\.\d)?)(?:[\s,，:：]+(\d(?:\.\d)?))?$")


def _unit_label(unit: OrgUnit) -> str:
    return f"{unit.name}（{unit.get_kind_display()}）"


def parse_subject_lines(text: str) -> list[SubjectSpec]:
    """Read "学科 满分 [最小分值]" lines (e.g. ``语文 120 0.5``); raise ValidationError naming
    the line."""
    specs: list[SubjectSpec] = []
    for number, line in enumerate(fold(text).splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        match = _SUBJECT_LINE.match(line)
        if not match:
            raise forms.ValidationError(
                f"第 {number} 行“{line}”格式不对：请写成“学科 满分 最小分值”，如“语文 120 0.5”。"
            )
        name, full, step = match.groups()
        specs.append(SubjectSpec(name, Decimal(full), Decimal(step or "1")))
    return specs


# --------------------------------------------------------------------------- exams
class ExamForm(forms.Form):
    name = forms.CharField(label="考试名称", max_length=100)
    kind = forms.ChoiceField(label="类型", choices=ExamKind.choices)
    owner = forms.TypedChoiceField(label="组织单位", coerce=int)
    schools = forms.TypedMultipleChoiceField(
        label="参考学校",
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="学校自行组织的考试只能由本校参加；学区、教育局组织的统考可选择其下的学校。",
    )
    term = forms.TypedChoiceField(label="学期", coerce=int, required=False, empty_value=None)
    grade = forms.TypedChoiceField(label="年级", coerce=int, choices=GRADE_CHOICES)
    held_on = forms.DateField(label="考试日期", widget=DATE_INPUT)
    default_caliber = forms.TypedChoiceField(
        label="默认分析口径", coerce=int, required=False, empty_value=None
    )
    subjects = forms.CharField(
        label="考试科目",
        widget=forms.Textarea(attrs={"rows": 5}),
        initial=DEFAULT_SUBJECTS,
        required=False,
        help_text="每行一科：学科 满分 最小分值（1 或 0.5），如“语文 120 0.5”。"
        "之后也可以增删科目。",
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(
        self,
        *args: Any,
        owners: Sequence[OrgUnit],
        schools: Sequence[OrgUnit],
        terms: Sequence[Term],
        calibers: Sequence[Caliber],
        editing: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        owner_field = self.fields["owner"]
        assert isinstance(owner_field, forms.ChoiceField)  # noqa: S101 — declared above
        owner_field.choices = [(unit.pk, _unit_label(unit)) for unit in owners]
        school_field = self.fields["schools"]
        assert isinstance(school_field, forms.ChoiceField)  # noqa: S101
        school_field.choices = [
            (school.pk, f"{school.name}" + (f"（{school.parent.name}）" if school.parent else ""))
            for school in schools
        ]
        term_field = self.fields["term"]
        assert isinstance(term_field, forms.ChoiceField)  # noqa: S101
        term_field.choices = [("", "（不指定）"), *[(term.pk, str(term)) for term in terms]]
        caliber_field = self.fields["default_caliber"]
        assert isinstance(caliber_field, forms.ChoiceField)  # noqa: S101
        caliber_field.choices = [
            ("", "（不指定，分析时选择）"),
            *[
                (c.pk, f"{c.name}" + (f" · {c.owner.name}" if c.owner else " · 系统预置"))
                for c in calibers
            ],
        ]
        if editing:
            del self.fields["owner"]
            del self.fields["subjects"]
        else:
            del self.fields["version"]
        bootstrap_form(self)
        self.fields["schools"].widget.attrs["class"] = "form-check-input"

    def clean_subjects(self) -> list[SubjectSpec]:
        return parse_subject_lines(self.cleaned_data.get("subjects") or "")


class SubjectForm(forms.Form):
    subject = forms.CharField(label="学科", max_length=20)
    full_mark = forms.DecimalField(label="满分", max_digits=5, decimal_places=1, min_value=1)
    step = forms.TypedChoiceField(
        label="最小分值", choices=STEP_CHOICES, coerce=Decimal, initial="1"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap_form(self)


class CandidatesForm(forms.Form):
    classes = forms.TypedMultipleChoiceField(
        label="班级", coerce=int, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, classes: Sequence[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["classes"]
        assert isinstance(field, forms.ChoiceField)  # noqa: S101
        field.choices = list(classes)
        field.widget.attrs["class"] = "form-check-input"


class NumbersForm(forms.Form):
    number_prefix = forms.CharField(
        label="考号前缀",
        max_length=12,
        required=False,
        help_text="如年份和考试序号“2611”；考号 = 前缀 + 学校序号(2位) + 班号(2位) + 座号(2位)。",
    )
    only_missing = forms.BooleanField(label="只给还没有考号的考生编号", required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap_form(self)


class ScoreImportForm(forms.Form):
    mode = forms.ChoiceField(
        label="导入内容", choices=list(MODES.items()), widget=forms.RadioSelect
    )
    subject = forms.TypedChoiceField(
        label="小题所属科目", coerce=int, required=False, empty_value=None
    )
    update_totals = forms.BooleanField(
        label="同时以小题得分之和作为该科成绩", required=False, initial=True
    )
    file = forms.FileField(
        label="文件",
        help_text="支持 .xlsx、.xls、.csv，不超过 10 MB；第一行为列名。",
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.xls,.csv"}),
    )

    def __init__(self, *args: Any, subjects: Sequence[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["subject"]
        assert isinstance(field, forms.ChoiceField)  # noqa: S101
        field.choices = [("", "（选择科目）"), *subjects]
        bootstrap_form(self)
        self.fields["mode"].widget.attrs["class"] = "form-check-input"

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("mode") == MODE_ITEMS and not cleaned.get("subject"):
            self.add_error("subject", "导入小题得分时请选择科目。")
        return cleaned


# --------------------------------------------------------------------------- 口径
STATUS_CHOICES = [("absent", "缺考"), ("exempt", "免考"), ("not_counted", "借读不计")]
FAMILY_LABELS = {
    "weighted": "加权求和（平均分得分率、各率按权重相加）",
    "relative_best": "最高值折算（各项除以最高单位再乘分值）",
    "relative_mean": "均值折算（各项除以总体均值再乘分值）",
    "rank_points": "名次积分（各项名次积分相加）",
    "standard_score": "标准分（单位平均标准分）",
}
WEIGHT_FIELDS = {
    "w_mean": "mean",
    "w_pass": "pass",
    "w_excellent": "excellent",
    "w_good": "good",
    "w_low": "low",
}
# Config keys the structured fields cover; everything else goes to the JSON box.
STRUCTURED_KEYS = frozenset(
    {
        "thresholds",
        "denominator",
        "excluded_statuses",
        "cheated",
        "exclude_visiting",
        "joint_absent",
        "total_absent",
        "subject_sets",
        "total_subjects",
        "ranking",
        "tie_break",
        "composite",
        "lines",
        "effective_score",
        "critical_width",
        "top_n",
        "band_width",
        "standard_score",
        "min_group_size",
    }
)
# Which form field shows an engine error about a config key (by its first path part).
ERROR_FIELDS = {
    "thresholds": "excellent",
    "denominator": "denominator",
    "excluded_statuses": "excluded_statuses",
    "cheated": "cheated",
    "joint_absent": "joint_absent",
    "total_absent": "total_absent",
    "subject_sets": "subject_sets",
    "total_subjects": "total_subjects",
    "ranking": "ranking",
    "tie_break": "tie_break",
    "composite": "composite_family",
    "lines": "lines",
    "critical_width": "critical_width",
    "top_n": "top_n",
    "band_width": "band_width",
    "min_group_size": "min_group_size",
}
_LIST_SPLIT = re.compile(r"[\s,，、;；]+")
_PAIR = re.compile(r"^([^=＝:：]+)[=＝:：](.+)$")


def _subjects_text(value: Any) -> str:
    if value == "*" or value is None:
        return "*"
    return "、".join(str(subject) for subject in value)


def _split_subjects(text: str) -> list[str]:
    return [part for part in _LIST_SPLIT.split(fold(text)) if part]


def _percent(ratio: Any) -> str:
    """``0.85`` → ``"85"`` (plain digits, never an exponent)."""
    return f"{(Decimal(str(ratio)) * 100).normalize():f}"


def _plain(number: float | int) -> str:
    return f"{Decimal(str(number)).normalize():f}"


class CaliberForm(forms.Form):
    """The common fields of a 口径 as form fields; the rest (per-subject thresholds and band
    widths) as JSON."""

    owner = forms.TypedChoiceField(label="所属单位", coerce=int)
    name = forms.CharField(label="名称", max_length=100)
    description = forms.CharField(
        label="说明", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    excellent = forms.DecimalField(label="优秀线（满分的 %）", min_value=0, max_value=100)
    good = forms.DecimalField(label="良好线（%）", min_value=0, max_value=100)
    pass_line = forms.DecimalField(label="及格线（%）", min_value=0, max_value=100)
    low = forms.DecimalField(label="低分线（低于满分的 %）", min_value=0, max_value=100)
    denominator = forms.ChoiceField(
        label="分母",
        choices=[("sat", "实考人数"), ("expected", "应考人数")],
    )
    excluded_statuses = forms.MultipleChoiceField(
        label="不计入实考人数的考生",
        choices=STATUS_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    cheated = forms.ChoiceField(
        label="作弊考生", choices=[("exclude", "不计入统计"), ("zero", "按 0 分计入")]
    )
    exclude_visiting = forms.BooleanField(label="借读生不参加统计", required=False)
    joint_absent = forms.ChoiceField(
        label="合格率（双合/三合…）中缺科的学生",
        choices=[("exclude", "不计入分母"), ("fail", "按不合格计入")],
    )
    total_absent = forms.ChoiceField(
        label="总分中缺科的学生",
        choices=[("exclude", "不计入总分统计"), ("zero", "缺科按 0 分计总分")],
    )
    subject_sets = forms.CharField(
        label="合格率科目组合",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="每行一组：名称=科目、科目，如“三合=语文、数学、英语”；“全科=*”表示全部科目。",
    )
    total_subjects = forms.CharField(
        label="计入总分的科目", initial="*", help_text="“*”表示全部科目；或列出科目，用顿号分隔。"
    )
    ranking = forms.ChoiceField(
        label="名次",
        choices=[("competition", "竞争排名（1、2、2、4）"), ("dense", "密集排名（1、2、2、3）")],
    )
    tie_break = forms.CharField(
        label="总分同分时依次比较", required=False, help_text="如“语文、数学”；留空则并列。"
    )
    composite_family = forms.ChoiceField(
        label="综合评比",
        required=False,
        choices=[("", "不计算综合分"), *[(f, FAMILY_LABELS[f]) for f in COMPOSITE_FAMILIES]],
    )
    w_mean = forms.FloatField(label="平均分权重/分值", required=False, min_value=0)
    w_pass = forms.FloatField(label="及格率权重/分值", required=False, min_value=0)
    w_excellent = forms.FloatField(label="优秀率权重/分值", required=False, min_value=0)
    w_good = forms.FloatField(label="良好率权重/分值", required=False, min_value=0)
    w_low = forms.FloatField(label="低分率权重/分值", required=False, min_value=0)
    lines = forms.CharField(
        label="上线分数线（总分）",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="每行一条：名称=总分，如“普高线=520”。",
    )
    effective_score = forms.ChoiceField(
        label="有效分算法",
        choices=[
            ("ratio", "比例法（上线学生单科均分按总分比例折算）"),
            ("proportion", "人数比例法"),
        ],
    )
    critical_width = forms.FloatField(label="临界生范围（线下分数）", min_value=0)
    top_n = forms.IntegerField(label="尖子生人数（总分前 N 名）", min_value=0)
    band_width = forms.FloatField(label="分数段宽度（分）", min_value=0.5)
    standard_score = forms.ChoiceField(
        label="标准分", choices=[("T", "T 分数（平均 50，标准差 10）"), ("500", "500 分制")]
    )
    min_group_size = forms.IntegerField(
        label="小样本提示人数", min_value=0, help_text="参考人数少于此数的班级、教师标注“样本小”。"
    )
    advanced = forms.CharField(
        label="高级设置（JSON）",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "class": "form-control font-monospace"}),
        help_text="分科阈值、分科分数段、等级赋分等，如 "
        '{"subject_thresholds": {"语文": {"excellent": 0.85}}, "band_widths": {"语文": 15}}；'
        '等级赋分如 {"assigned_scores": {"scheme": "3+1+2", "subjects": ["化学", "生物", '
        '"政治", "地理"], "boundary": "near", "equal_band": "top"}}（scheme 可为 3+1+2、'
        "shandong、zhejiang、beijing、tianjin、shanghai）。",
    )

    def __init__(self, *args: Any, owners: Sequence[OrgUnit] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if owners is None:
            del self.fields["owner"]
        else:
            field = self.fields["owner"]
            assert isinstance(field, forms.ChoiceField)  # noqa: S101
            field.choices = [(unit.pk, _unit_label(unit)) for unit in owners]
        bootstrap_form(self)
        self.fields["excluded_statuses"].widget.attrs["class"] = "form-check-input"
        self.config: dict[str, Any] = {}

    @staticmethod
    def initial_from(caliber: Caliber | None) -> dict[str, Any]:
        """Field values of a stored 口径 (or of the default one)."""
        config = CaliberSpec.from_config(caliber.config if caliber else None).to_config()
        thresholds = config["thresholds"]
        composite = config.get("composite") or {}
        weights = composite.get("weights") or {}
        advanced = {
            key: value
            for key, value in config.items()
            if key not in STRUCTURED_KEYS and value not in ({}, [], None)
        }
        initial: dict[str, Any] = {
            "name": caliber.name if caliber else "",
            "description": caliber.description if caliber else "",
            "excellent": _percent(thresholds["excellent"]),
            "good": _percent(thresholds["good"]),
            "pass_line": _percent(thresholds["pass"]),
            "low": _percent(thresholds["low"]),
            "denominator": config["denominator"],
            "excluded_statuses": list(config["excluded_statuses"]),
            "cheated": config["cheated"],
            "exclude_visiting": config["exclude_visiting"],
            "joint_absent": config["joint_absent"],
            "total_absent": config.get("total_absent", "exclude"),
            "subject_sets": "\n".join(
                f"{name}={_subjects_text(subjects)}"
                for name, subjects in config["subject_sets"].items()
            ),
            "total_subjects": _subjects_text(config["total_subjects"]),
            "ranking": config["ranking"],
            "tie_break": "、".join(config["tie_break"]),
            "composite_family": composite.get("family", ""),
            "lines": "\n".join(f"{line['name']}={line['total']:g}" for line in config["lines"]),
            "effective_score": config["effective_score"],
            "critical_width": _plain(config["critical_width"]),
            "top_n": config["top_n"],
            "band_width": _plain(config["band_width"]),
            "standard_score": config["standard_score"],
            "min_group_size": config["min_group_size"],
            "advanced": json.dumps(advanced, ensure_ascii=False) if advanced else "",
        }
        for field_name, key in WEIGHT_FIELDS.items():
            if key in weights:
                initial[field_name] = _plain(weights[key])
        return initial

    def _pairs(self, field_name: str) -> list[tuple[str, str]]:
        pairs = []
        for number, line in enumerate(
            fold(self.cleaned_data.get(field_name) or "").splitlines(), 1
        ):
            line = line.strip()
            if not line:
                continue
            match = _PAIR.match(line)
            if not match:
                self.add_error(field_name, f"第 {number} 行“{line}”应写成“名称=内容”。")
                continue
            pairs.append((match.group(1).strip(), match.group(2).strip()))
        return pairs

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        config: dict[str, Any] = {
            "thresholds": {
                "excellent": float(cleaned["excellent"]) / 100,
                "good": float(cleaned["good"]) / 100,
                "pass": float(cleaned["pass_line"]) / 100,
                "low": float(cleaned["low"]) / 100,
            },
            "denominator": cleaned["denominator"],
            "excluded_statuses": list(cleaned.get("excluded_statuses") or []),
            "cheated": cleaned["cheated"],
            "exclude_visiting": bool(cleaned.get("exclude_visiting")),
            "joint_absent": cleaned["joint_absent"],
            "total_absent": cleaned["total_absent"],
            "ranking": cleaned["ranking"],
            "tie_break": _split_subjects(cleaned.get("tie_break") or ""),
            "effective_score": cleaned["effective_score"],
            "critical_width": cleaned["critical_width"],
            "top_n": cleaned["top_n"],
            "band_width": cleaned["band_width"],
            "standard_score": cleaned["standard_score"],
            "min_group_size": cleaned["min_group_size"],
        }
        sets: dict[str, Any] = {}
        for name, subjects in self._pairs("subject_sets"):
            sets[name] = "*" if subjects == "*" else _split_subjects(subjects)
        config["subject_sets"] = sets
        total = fold(cleaned.get("total_subjects") or "*").strip()
        config["total_subjects"] = "*" if total in ("", "*") else _split_subjects(total)
        lines = []
        for name, total_text in self._pairs("lines"):
            try:
                lines.append({"name": name, "total": float(Decimal(total_text))})
            except (InvalidOperation, ValueError):
                self.add_error("lines", f"“{name}”的分数“{total_text}”不是数字。")
        config["lines"] = lines
        family = cleaned.get("composite_family") or ""
        if family:
            weights = {
                key: cleaned[field_name]
                for field_name, key in WEIGHT_FIELDS.items()
                if cleaned.get(field_name) is not None
            }
            config["composite"] = {"family": family, "weights": weights or None}
        else:
            config["composite"] = None
        advanced_text = (cleaned.get("advanced") or "").strip()
        if advanced_text:
            try:
                advanced = json.loads(advanced_text)
            except json.JSONDecodeError as exc:
                self.add_error(
                    "advanced", f"JSON 格式有误（第 {exc.lineno} 行第 {exc.colno} 列）。"
                )
                return cleaned
            if not isinstance(advanced, Mapping):
                self.add_error(
                    "advanced", '高级设置应为 JSON 对象，如 {"band_widths": {"语文": 15}}。'
                )
                return cleaned
            overlap = sorted(set(advanced) & STRUCTURED_KEYS)
            if overlap:
                self.add_error(
                    "advanced", f"{'、'.join(overlap)} 请在上面的表单中设置，不要写在 JSON 里。"
                )
                return cleaned
            config.update(advanced)
        if self.errors:
            return cleaned
        try:
            self.config = CaliberSpec.from_config(config).to_config()
        except CaliberError as exc:
            key = exc.field.split(".", 1)[0].split("[", 1)[0]
            target = ERROR_FIELDS.get(key, "advanced")
            self.add_error(target, str(exc))
        return cleaned


WEIGHT_LABELS = {
    "mean": "平均分",
    "pass": "及格率",
    "excellent": "优秀率",
    "good": "良好率",
    "low": "低分率",
}
FAMILY_SHORT = {
    "weighted": "加权求和",
    "relative_best": "最高值折算",
    "relative_mean": "均值折算",
    "rank_points": "名次积分",
    "standard_score": "标准分",
}


def caliber_brief(caliber: Caliber) -> dict[str, str]:
    """One-line facts of a 口径 for lists: thresholds, denominator, composite."""
    config = CaliberSpec.from_config(caliber.config).to_config()
    thresholds = config["thresholds"]
    composite = config.get("composite")
    return {
        "thresholds": "/".join(
            _percent(thresholds[key]) for key in ("excellent", "good", "pass", "low")
        )
        + "%",
        "denominator": "实考" if config["denominator"] == "sat" else "应考",
        "composite": FAMILY_SHORT[composite["family"]] if composite else "—",
        "composite_detail": (
            FAMILY_SHORT[composite["family"]]
            + "："
            + "、".join(
                f"{WEIGHT_LABELS[key]} {weight:g}"
                for key, weight in composite["weights"].items()
                if weight
            )
            if composite
            else "不计算"
        ),
        "lines": "、".join(f"{line['name']} {line['total']:g}" for line in config["lines"]),
        "sets": "\n".join(
            f"{name}：{'全部科目' if subjects == '*' else '、'.join(subjects)}"
            for name, subjects in config["subject_sets"].items()
        ),
        "assigned": _assigned_text(config.get("assigned_scores")),
    }


ASSIGNED_SCHEME_LABELS = {
    "3+1+2": "3+1+2 再选科目（A/B/C/D/E，15/35/35/13/2%）",
    "shandong": "山东（8 等级）",
    "zhejiang": "浙江（21 级）",
    "beijing": "北京（21 级）",
    "tianjin": "天津（21 级）",
    "shanghai": "上海（11 级）",
}
ASSIGNED_BOUNDARY_LABELS = {
    "near": "比例最接近",
    "upper": "累计比例不低于",
    "lower": "累计比例不超过",
}


def _assigned_text(assigned: Mapping[str, Any] | None) -> str:
    """One line for a 口径's 等级赋分 setting, "" when there is none."""
    if not assigned:
        return ""
    equal = "取区间上限" if assigned["equal_band"] == "top" else "取区间中点"
    return (
        f"{ASSIGNED_SCHEME_LABELS[assigned['scheme']]}：{'、'.join(assigned['subjects'])}；"
        f"等级分界按{ASSIGNED_BOUNDARY_LABELS[assigned['boundary']]}目标比例，"
        f"等级内原始分相同时{equal}"
    )
