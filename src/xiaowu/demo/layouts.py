"""The shape of the demo district: which schools, how many classes, teachers and offices.

Scale 1 is a rural 学区 like the ones in the work summaries ("初级中学2所、完全小学5所、教学点2所、
幼儿园1所，43个教学班"). Larger scales build city-sized 学区 of ten schools each.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from django.utils import timezone

from xiaowu.org.models import OfficeType, SchoolType
from xiaowu.staff.models import PostCategory


def school_year_start(day: date) -> int:
    """Return the calendar year in which the school year containing ``day`` began (1 September)."""
    return day.year if day.month >= 9 else day.year - 1


# The school year the demo district is in: the one running today, so that the demo always has a
# current 学年 and 学期 (grades, entry years and birth dates follow from it).
CURRENT_YEAR = school_year_start(timezone.localdate())

# County codes of a prefecture code (6213) that does not exist, so that no synthetic ID number
# can be a real resident's.
COUNTY_CODES = ("621321", "621322", "621323", "621324", "621325", "621302")

RURAL_BUREAU = "示范县教育局"
CITY_BUREAU = "示范市教育局"
RURAL_TOWN = "青石"
CITY_DISTRICT_NAMES = (
    "青石",
    "白杨",
    "柳河",
    "石门",
    "松坪",
    "杏林",
    "云岭",
    "桃源",
    "金川",
    "玉泉",
    "东湖",
    "西岭",
    "南屏",
    "北岭",
    "长乐",
    "清溪",
    "凤鸣",
    "梅溪",
    "竹园",
    "枫林",
    "银杏",
    "望江",
    "临川",
    "鹤鸣",
    "兰溪",
    "碧水",
    "丹霞",
    "翠屏",
    "青松",
    "红柳",
)
CITY_ROADS = ("建设路", "人民路", "文化路", "解放路", "育才路", "和平路", "新华路", "光明路")


@dataclass(frozen=True, slots=True)
class SchoolLayout:
    """One school of the plan: type, classes per grade, class sizes and staff numbers."""

    name: str
    school_type: str
    classes: tuple[tuple[int, int], ...]  # (grade, number of classes)
    class_size: tuple[int, int]  # smallest and largest class
    teachers: int  # 专任教师, the principal included
    other_staff: tuple[str, ...] = ()  # post categories of the other staff
    address: str = ""

    @property
    def class_count(self) -> int:
        return sum(count for _, count in self.classes)

    @property
    def max_per_grade(self) -> int:
        return max(count for _, count in self.classes)


def grades(numbers: Iterable[int], per_grade: int = 1) -> tuple[tuple[int, int], ...]:
    return tuple((grade, per_grade) for grade in numbers)


def rural_district_layout() -> list[SchoolLayout]:
    """Return the ten schools of the scale-1 rural 学区: 43 classes, 154 专任教师 + 1 教辅."""
    town = f"示范县{RURAL_TOWN}镇"
    primary = SchoolType.COMPLETE_PRIMARY
    # Three small village primaries have no class in one grade this year: that cohort was
    # too small and attends the central primary (撤点并校 leaves such gaps).
    return [
        SchoolLayout(
            "青石镇初级中学",
            SchoolType.JUNIOR_MIDDLE,
            grades((7, 8, 9), 2),
            (40, 48),
            35,
            (PostCategory.TEACHING_SUPPORT,),
            f"{town}青石街18号",
        ),
        SchoolLayout(
            "白杨初级中学",
            SchoolType.JUNIOR_MIDDLE,
            grades((7, 8, 9)),
            (34, 42),
            22,
            (),
            f"{town}白杨村",
        ),
        SchoolLayout(
            "青石镇中心小学", primary, grades(range(1, 7)), (20, 28), 22, (), f"{town}青石街6号"
        ),
        SchoolLayout("柳河小学", primary, grades(range(1, 7)), (6, 13), 17, (), f"{town}柳河村"),
        SchoolLayout(
            "石门小学", primary, grades((2, 3, 4, 5, 6)), (6, 13), 15, (), f"{town}石门村"
        ),
        SchoolLayout(
            "松坪小学", primary, grades((1, 2, 3, 4, 6)), (6, 13), 15, (), f"{town}松坪村"
        ),
        SchoolLayout(
            "杏林小学", primary, grades((1, 3, 4, 5, 6)), (6, 13), 15, (), f"{town}杏林村"
        ),
        SchoolLayout(
            "云岭教学点", SchoolType.TEACHING_POINT, grades((1, 2)), (5, 12), 3, (), f"{town}云岭村"
        ),
        SchoolLayout(
            "桃源教学点", SchoolType.TEACHING_POINT, grades((1, 2)), (5, 12), 3, (), f"{town}桃源村"
        ),
        SchoolLayout(
            "青石镇中心幼儿园",
            SchoolType.KINDERGARTEN,
            grades((-3, -2, -1)),
            (15, 25),
            7,
            (),
            f"{town}青石街22号",
        ),
    ]


def city_district_layout(rng: random.Random, *, district: str) -> list[SchoolLayout]:
    """Return ten city-sized schools (about 5,000 pupils) for the 学区 named ``district``."""

    def per_grade(numbers: Iterable[int], low: int, high: int) -> tuple[tuple[int, int], ...]:
        return tuple((grade, rng.randint(low, high)) for grade in numbers)

    def staffed(
        name: str,
        school_type: str,
        classes: tuple[tuple[int, int], ...],
        size: tuple[int, int],
        per_class: float,
        other: tuple[str, ...],
    ) -> SchoolLayout:
        count = sum(n for _, n in classes)
        road = rng.choice(CITY_ROADS)
        return SchoolLayout(
            name,
            school_type,
            classes,
            size,
            round(count * per_class) + rng.randint(0, 2),
            other,
            f"示范市{district}街道{road}{rng.randint(1, 199)}号",
        )

    middle_staff = (
        PostCategory.ADMINISTRATIVE,
        PostCategory.ADMINISTRATIVE,
        PostCategory.TEACHING_SUPPORT,
        PostCategory.TEACHING_SUPPORT,
        PostCategory.WORKER,
        PostCategory.WORKER,
    )
    primary_staff = (
        PostCategory.ADMINISTRATIVE,
        PostCategory.TEACHING_SUPPORT,
        PostCategory.WORKER,
    )
    kindergarten_staff = (
        PostCategory.TEACHING_SUPPORT,
        PostCategory.TEACHING_SUPPORT,
        PostCategory.WORKER,
    )
    primary = SchoolType.COMPLETE_PRIMARY
    return [
        staffed(
            f"{district}第一初级中学",
            SchoolType.JUNIOR_MIDDLE,
            per_grade((7, 8, 9), 4, 5),
            (42, 50),
            3.3,
            middle_staff,
        ),
        staffed(
            f"{district}第二初级中学",
            SchoolType.JUNIOR_MIDDLE,
            per_grade((7, 8, 9), 3, 4),
            (40, 48),
            3.3,
            middle_staff,
        ),
        staffed(
            f"{district}九年一贯制学校",
            SchoolType.NINE_YEAR_SCHOOL,
            per_grade(range(1, 10), 1, 2),
            (40, 48),
            3.0,
            middle_staff,
        ),
        staffed(
            f"{district}中心小学",
            SchoolType.CENTRAL_PRIMARY,
            per_grade(range(1, 7), 3, 3),
            (40, 46),
            2.3,
            primary_staff,
        ),
        *(
            staffed(
                f"{district}第{ordinal}小学",
                primary,
                per_grade(range(1, 7), 2, 3),
                (36, 44),
                2.2,
                primary_staff,
            )
            for ordinal in "一二三四"
        ),
        staffed(
            f"{district}中心幼儿园",
            SchoolType.KINDERGARTEN,
            per_grade((-3, -2, -1), 3, 3),
            (26, 32),
            2.0,
            kindergarten_staff,
        ),
        staffed(
            f"{district}第二幼儿园",
            SchoolType.KINDERGARTEN,
            per_grade((-3, -2, -1), 2, 2),
            (24, 30),
            2.0,
            kindergarten_staff,
        ),
    ]


def offices_for(layout: SchoolLayout) -> Sequence[tuple[str, str]]:
    """Return the (office type, name) of the 处室 of a school of this size and type."""
    big = layout.teachers >= 30
    if layout.school_type == SchoolType.TEACHING_POINT:
        return []
    if layout.school_type == SchoolType.KINDERGARTEN:
        offices: list[tuple[str, str]] = [(OfficeType.OTHER, "保教处")]
        return [*offices, (OfficeType.GENERAL_AFFAIRS, "总务处")] if big else offices
    if layout.school_type in (SchoolType.JUNIOR_MIDDLE, SchoolType.NINE_YEAR_SCHOOL):
        core: list[tuple[str, str]] = [
            (OfficeType.ACADEMIC_AFFAIRS, "教导处"),
            (OfficeType.STUDENT_AFFAIRS, "政教处"),
            (OfficeType.GENERAL_AFFAIRS, "总务处"),
        ]
        if big:
            return [
                (OfficeType.PRINCIPAL_OFFICE, "办公室"),
                *core,
                (OfficeType.YOUTH_LEAGUE, "团委"),
            ]
        return core
    # Primary schools: a small one has only a 教导处; a big one has the full set.
    if layout.teachers >= 40:
        return [
            (OfficeType.PRINCIPAL_OFFICE, "办公室"),
            (OfficeType.ACADEMIC_AFFAIRS, "教导处"),
            (OfficeType.STUDENT_AFFAIRS, "德育处"),
            (OfficeType.GENERAL_AFFAIRS, "总务处"),
        ]
    if layout.teachers >= 20:
        return [(OfficeType.ACADEMIC_AFFAIRS, "教导处"), (OfficeType.GENERAL_AFFAIRS, "总务处")]
    return [(OfficeType.ACADEMIC_AFFAIRS, "教导处")]


def has_grade_divisions(layout: SchoolLayout) -> bool:
    """级部 exist in middle schools and in schools with parallel classes in a grade."""
    if layout.school_type in (SchoolType.KINDERGARTEN, SchoolType.TEACHING_POINT):
        return False
    return layout.school_type == SchoolType.JUNIOR_MIDDLE or layout.max_per_grade >= 2


def research_groups_for(layout: SchoolLayout) -> list[str]:
    """Return the subjects of the 教研组 of a school big enough to have them."""
    if layout.teachers < 20 or layout.school_type == SchoolType.KINDERGARTEN:
        return []
    if layout.school_type == SchoolType.JUNIOR_MIDDLE:
        if layout.teachers >= 30:
            return ["语文", "数学", "英语", "理化生", "政史地", "音体美"]
        return ["语文", "数学", "英语", "综合"]
    if layout.school_type == SchoolType.NINE_YEAR_SCHOOL:
        return ["语文", "数学", "英语", "理化生", "政史地", "音体美"]
    if layout.teachers >= 40:
        return ["语文", "数学", "英语", "科学", "综合"]
    return ["语文", "数学", "综合"]


# Lesson-preparation groups (备课组) per grade under these 教研组 of middle schools with
# parallel classes.
PREP_GROUP_SUBJECTS = ("语文", "数学", "英语")

# Weights of the subjects taught, per school type (largest-remainder allocation).
_MIDDLE_SUBJECTS = (
    ("语文", 10),
    ("数学", 10),
    ("英语", 8),
    ("物理", 4),
    ("化学", 3),
    ("生物", 3),
    ("道德与法治", 3),
    ("历史", 3),
    ("地理", 3),
    ("体育", 3),
    ("音乐", 2),
    ("美术", 2),
    ("信息技术", 2),
)
_PRIMARY_SUBJECTS = (
    ("语文", 16),
    ("数学", 14),
    ("英语", 4),
    ("科学", 3),
    ("道德与法治", 2),
    ("体育", 3),
    ("音乐", 2),
    ("美术", 2),
    ("信息技术", 1),
)
_NINE_YEAR_SUBJECTS = (
    ("语文", 14),
    ("数学", 12),
    ("英语", 7),
    ("科学", 2),
    ("物理", 2),
    ("化学", 1),
    ("生物", 1),
    ("道德与法治", 3),
    ("历史", 1),
    ("地理", 1),
    ("体育", 3),
    ("音乐", 2),
    ("美术", 2),
    ("信息技术", 1),
)
SUBJECT_WEIGHTS: dict[str, tuple[tuple[str, int], ...]] = {
    SchoolType.JUNIOR_MIDDLE: _MIDDLE_SUBJECTS,
    SchoolType.NINE_YEAR_SCHOOL: _NINE_YEAR_SUBJECTS,
    SchoolType.COMPLETE_PRIMARY: _PRIMARY_SUBJECTS,
    SchoolType.CENTRAL_PRIMARY: _PRIMARY_SUBJECTS,
    SchoolType.TEACHING_POINT: _PRIMARY_SUBJECTS,
    SchoolType.KINDERGARTEN: (("学前教育", 1),),
}

# Subjects a class of each grade is taught, for the subject-teacher role assignments.
CLASS_SUBJECTS: dict[int, tuple[str, ...]] = {
    7: ("语文", "数学", "英语", "生物", "道德与法治", "历史", "地理", "体育", "音乐", "美术"),
    8: ("语文", "数学", "英语", "物理", "生物", "道德与法治", "历史", "地理", "体育"),
    9: ("语文", "数学", "英语", "物理", "化学", "道德与法治", "历史", "体育"),
}
PRIMARY_CLASS_SUBJECTS = ("语文", "数学", "英语", "科学", "道德与法治", "体育", "音乐", "美术")


def subjects_allocate(*, school_type: str, count: int) -> list[str]:
    """Split ``count`` teachers over the subjects of the school type (largest remainder)."""
    weights = SUBJECT_WEIGHTS[school_type]
    total = sum(weight for _, weight in weights)
    quotas = [(subject, weight * count / total) for subject, weight in weights]
    result = {subject: int(quota) for subject, quota in quotas}
    left = count - sum(result.values())
    by_remainder = sorted(quotas, key=lambda item: item[1] - int(item[1]), reverse=True)
    for subject, _ in by_remainder[:left]:
        result[subject] += 1
    return [subject for subject, _ in weights for _ in range(result[subject])]


def stage_start(school_type: str) -> int:
    """Return the first grade of the school's stage, from which ``entry_year`` counts."""
    if school_type == SchoolType.KINDERGARTEN:
        return -3
    if school_type in (SchoolType.JUNIOR_MIDDLE, SchoolType.COMPLETE_MIDDLE):
        return 7
    if school_type == SchoolType.SENIOR_MIDDLE:
        return 10
    return 1
