"""The demo district generator: a synthetic 教育局 with its 学区, schools, staff and pupils.

Generation has two steps so that the expensive part is plain Python and testable without a
database:

1. ``demo_plan_build(scale=…, seed=…)`` returns a ``DemoPlan``: frozen dataclasses (see
   ``demo.plans``) for every unit, staff member, pupil, guardian, 异动, class membership,
   teaching assignment, account and role assignment. It is a pure function of its arguments
   and the day it is built on (``random.Random(seed)`` drives every choice).
2. ``demo.loader.demo_plan_load(plan=…)`` writes the plan in bulk (no per-row services, no
   per-row audit) and rebuilds the closure table once.

The plan follows the rules the services enforce, so that the loaded data looks as if it had
been entered through them: 异动 through ``demo.register.RegisterLedger`` (the rules of
``students.services.status_change_record``), and role assignments from teaching assignments
as ``staff.services.teaching_assignment_create`` grants them (one per account, class and role,
valid for the term).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import count

from django.utils import timezone

from xiaowu.accounts.roles import Role
from xiaowu.core.models import Gender
from xiaowu.core.pinyin import pinyin_keys
from xiaowu.demo import layouts, names, staffing
from xiaowu.demo.layouts import CURRENT_YEAR, SchoolLayout
from xiaowu.demo.plans import (
    AccountPlan,
    AgeCohortPlan,
    AlliancePlan,
    ClusterPlan,
    GuardianPlan,
    GuardianshipPlan,
    HonourPlan,
    MembershipPlan,
    RolePlan,
    StaffPeriodPlan,
    StaffPlan,
    StatusChangePlan,
    StudentPlan,
    TeachingAssignmentPlan,
    UnitPlan,
)
from xiaowu.demo.register import (
    ClassInfo,
    RegisterBuilder,
    SchoolInfo,
    event_window,
)
from xiaowu.org.models import Grade, SchoolType, UnitKind
from xiaowu.org.services import class_display_name
from xiaowu.staff.models import PostCategory, StaffStatus, TeachingRole
from xiaowu.students.models import GuardianRelation, StatusChangeKind, StudentStatus
from xiaowu.students.selectors import years_before

__all__ = [
    "DEFAULT_SEED",
    "DEMO_PASSWORD",
    "DEMO_USERNAMES",
    "DemoPlan",
    "DemoSummary",
    "demo_plan_build",
    "school_years",
]

DEMO_PASSWORD = "xiaowu-demo"  # noqa: S105 — the published password of the demo logins
DEFAULT_SEED = 20250901
# The demo logins, in the order they are shown.
DEMO_USERNAMES = ("admin", "district", "principal", "teacher", "teacher2", "parent")
# The standing (undated) appointments of the demo teachers, so that they can show their class
# between terms too; every other teaching role is valid for the term only.
STANDING_NOTE = "演示账号的常设任命（假期中也可演示）"
AGE_COHORT_SOURCE = "义务教育监测信息库（演示数据）"
# 适龄人口 bands of the 学区: 小学 6–11周岁, 初中 12–14周岁.
AGE_BANDS = ((6, 11), (12, 14))


def school_years(current_start: int) -> list[tuple[str, date, date, tuple[tuple[date, date], ...]]]:
    """Return the previous and the current 学年 with their two terms (typical northern dates)."""
    years: list[tuple[str, date, date, tuple[tuple[date, date], ...]]] = []
    for start in (current_start - 1, current_start):
        terms = (
            (date(start, 9, 1), date(start + 1, 1, 20)),
            (date(start + 1, 2, 20), date(start + 1, 7, 10)),
        )
        years.append((f"{start}-{start + 1}", date(start, 9, 1), date(start + 1, 8, 31), terms))
    return years


def current_term(today: date) -> tuple[date, date]:
    """Return (start, end) of the demo term containing ``today``, else of the latest begun one
    (as ``org.selectors.term_current`` picks it)."""
    terms = [term for *_, year_terms in school_years(CURRENT_YEAR) for term in year_terms]
    for start, end in terms:
        if start <= today <= end:
            return start, end
    return max(term for term in terms if term[0] <= today)


# Shares used to assign staff statuses and genders (exact counts, not coin flips).
RURAL_FEMALE_TEACHER_SHARE = 0.364  # "专任教师154人（女56人）"
CITY_FEMALE_TEACHER_SHARE = 0.72
SUBSTITUTE_SHARE = 0.02
SICK_LEAVE_SHARE = 0.007
SECONDED_IN_SHARE = 0.007
HEAD_TEACHER_SUBJECTS = ("语文", "数学", "英语", "学前教育")


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class DemoSummary:
    """The headline numbers of a plan, as printed by ``demo_data``."""

    bureau: str
    districts: int
    schools_by_type: tuple[tuple[str, int], ...]  # (school type, count), in SchoolType order
    classes: int
    staff: int
    staff_female: int
    full_time_teachers: int
    full_time_teachers_female: int
    students: int  # 在校生 (enrolled), as the dashboard's 基本情况 counts them
    students_female: int
    student_records: int  # every register row, including 转出 and 休学
    accounts: int
    students_by_status: tuple[tuple[str, int], ...] = ()  # (status, count) other than 在校
    guardians: int = 0
    guardianships: int = 0
    status_changes: tuple[tuple[str, int], ...] = ()  # (kind, count) beyond 入学, in kind order
    special_groups: tuple[tuple[str, int], ...] = ()  # (students.selectors group key, count)
    teaching_assignments: int = 0
    honours: int = 0
    staff_with_history: int = 0  # staff with more than one status period
    age_cohorts: tuple[tuple[int, int, int], ...] = ()  # (age from, age to, headcount)

    @property
    def schools(self) -> int:
        return sum(count for _, count in self.schools_by_type)


@dataclass(frozen=True)
class DemoPlan:
    scale: int
    seed: int
    today: date
    term: tuple[date, date]  # the current term, of the teaching assignments
    units: tuple[UnitPlan, ...]
    staff: tuple[StaffPlan, ...]
    staff_periods: tuple[StaffPeriodPlan, ...]
    honours: tuple[HonourPlan, ...]
    students: tuple[StudentPlan, ...]
    status_changes: tuple[StatusChangePlan, ...]
    memberships: tuple[MembershipPlan, ...]
    guardians: tuple[GuardianPlan, ...]
    guardianships: tuple[GuardianshipPlan, ...]
    teaching: tuple[TeachingAssignmentPlan, ...]
    accounts: tuple[AccountPlan, ...]
    roles: tuple[RolePlan, ...]
    alliances: tuple[AlliancePlan, ...]
    clusters: tuple[ClusterPlan, ...]
    age_cohorts: tuple[AgeCohortPlan, ...]

    def summary(self) -> DemoSummary:
        kinds = Counter(unit.kind for unit in self.units)
        types = Counter(unit.school_type for unit in self.units if unit.kind == UnitKind.SCHOOL)
        teachers = [s for s in self.staff if s.post_category == PostCategory.FULL_TIME_TEACHER]
        events = Counter(event.kind for event in self.status_changes)
        pupils = self.students
        enrolled = [p for p in pupils if p.status == StudentStatus.ENROLLED]
        statuses = Counter(p.status for p in pupils)
        groups = {  # among the 在校生, like ``students.selectors.special_group_counts``
            "left_behind": sum(1 for p in enrolled if p.left_behind != "0"),
            "migrant": sum(1 for p in enrolled if p.is_migrant_child),
            "disability": sum(1 for p in enrolled if p.has_disability),
            "orphan": sum(1 for p in enrolled if p.is_orphan),
            "needy": sum(1 for p in enrolled if p.is_needy_family),
            "boarding": sum(1 for p in enrolled if p.study_mode == "2"),
        }
        periods = Counter(period.staff_id_number for period in self.staff_periods)
        cohorts: Counter[tuple[int, int]] = Counter()
        for cohort in self.age_cohorts:
            cohorts[(cohort.age_from, cohort.age_to)] += cohort.headcount
        return DemoSummary(
            bureau=next(unit.name for unit in self.units if unit.kind == UnitKind.BUREAU),
            districts=kinds[UnitKind.SCHOOL_DISTRICT],
            schools_by_type=tuple((t.value, types[t.value]) for t in SchoolType if types[t.value]),
            classes=kinds[UnitKind.SCHOOL_CLASS],
            staff=len(self.staff),
            staff_female=sum(1 for s in self.staff if s.gender == Gender.FEMALE),
            full_time_teachers=len(teachers),
            full_time_teachers_female=sum(1 for s in teachers if s.gender == Gender.FEMALE),
            students=len(enrolled),
            students_female=sum(1 for s in enrolled if s.gender == Gender.FEMALE),
            student_records=len(pupils),
            students_by_status=tuple(
                (status.value, statuses[status.value])
                for status in StudentStatus
                if status != StudentStatus.ENROLLED and statuses[status.value]
            ),
            accounts=len(self.accounts),
            guardians=len(self.guardians),
            guardianships=len(self.guardianships),
            status_changes=tuple(
                (kind.value, events[kind.value])
                for kind in StatusChangeKind
                if kind != StatusChangeKind.ENROLLMENT and events[kind.value]
            ),
            special_groups=tuple(groups.items()),
            teaching_assignments=len(self.teaching),
            honours=len(self.honours),
            staff_with_history=sum(1 for n in periods.values() if n > 1),
            age_cohorts=tuple((low, high, n) for (low, high), n in sorted(cohorts.items())),
        )


# --------------------------------------------------------------------------- building


@dataclass(slots=True)
class _StaffDraft:
    """A staff member while the plan is built (genders and statuses are assigned globally)."""

    school_code: str
    school_type: str
    region: str
    post_category: str
    subject: str
    is_principal: bool = False
    gender: str = Gender.MALE
    status: str = StaffStatus.ON_POST
    name: str = ""
    birth_date: date = date(1980, 1, 1)
    id_number: str = ""
    mobile: str = ""
    username: str = ""
    education: str = ""
    professional_title: str = "none"
    started_work_on: date | None = None

    @property
    def is_teacher(self) -> bool:
        return self.post_category == PostCategory.FULL_TIME_TEACHER

    def age_on(self, day: date) -> int:
        born = self.birth_date
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))

    def freeze(self) -> StaffPlan:
        return StaffPlan(
            school_code=self.school_code,
            name=self.name,
            gender=self.gender,
            birth_date=self.birth_date,
            id_number=self.id_number,
            mobile=self.mobile,
            post_category=self.post_category,
            status=self.status,
            subject=self.subject,
            username=self.username,
            education=self.education,
            professional_title=self.professional_title,
            started_work_on=self.started_work_on,
        )


@dataclass(slots=True)
class _SchoolDraft:
    code: str
    layout: SchoolLayout
    region: str
    town: str
    rural: bool
    classes: list[UnitPlan] = field(default_factory=list)
    staff: list[_StaffDraft] = field(default_factory=list)

    def info(self) -> SchoolInfo:
        return SchoolInfo(
            code=self.code,
            name=self.layout.name,
            school_type=self.layout.school_type,
            region=self.region,
            address=self.layout.address,
            town=self.town,
            rural=self.rural,
            class_size=self.layout.class_size,
            classes=tuple(
                ClassInfo(unit.code, unit.grade or 0, unit.entry_year or CURRENT_YEAR)
                for unit in self.classes
            ),
        )


@dataclass(frozen=True, slots=True)
class _Teaching:
    staff: _StaffDraft
    class_code: str
    role: str
    subject: str
    weekly_periods: int | None


def _grade_code(grade: int) -> str:
    return f"K{grade + 4}" if grade < 0 else f"{grade:02d}"


def _class_name(*, grade: int, number: int, parallel: int) -> str:
    if grade < 0:  # 幼儿园: 小班, or 小(1)班 when there are parallel classes
        label = Grade(grade).label
        return label if parallel == 1 else f"{label[0]}({number})班"
    return class_display_name(grade, number)


def _share_of(count: int, share: float) -> int:
    return round(count * share)


class _PlanBuilder:
    def __init__(self, *, scale: int, seed: int, today: date) -> None:
        self.scale = scale
        self.seed = seed
        self.today = today
        self.term = current_term(today)
        # A seeded PRNG is the point here (reproducible synthetic data), not security.
        self.rng = random.Random(seed)  # noqa: S311
        self.units: list[UnitPlan] = []
        self.schools: list[_SchoolDraft] = []
        self.accounts: list[AccountPlan] = []
        self.roles: list[RolePlan] = []
        self.alliances: list[AlliancePlan] = []
        self.clusters: list[ClusterPlan] = []
        self.staff_periods: list[StaffPeriodPlan] = []
        self.honours: list[HonourPlan] = []
        self.teaching: list[_Teaching] = []
        self.id_numbers: set[str] = set()
        self.mobiles: set[str] = set()
        self.usernames: set[str] = set(DEMO_USERNAMES)
        self.register: RegisterBuilder | None = None

    # ------------------------------------------------------------------ tree
    def _add(self, unit: UnitPlan) -> UnitPlan:
        self.units.append(unit)
        return unit

    def build(self) -> DemoPlan:
        rural = self.scale == 1
        bureau = self._add(
            UnitPlan(
                code="B01",
                name=layouts.RURAL_BUREAU if rural else layouts.CITY_BUREAU,
                kind=UnitKind.BUREAU,
                parent_code=None,
                school_code=None,
                depth=0,
                sort_order=1,
                address="示范县人民路1号" if rural else "示范市人民路1号",
            )
        )
        districts: list[tuple[UnitPlan, list[_SchoolDraft]]] = []
        for index in range(1, self.scale + 1):
            town = self._district_name(index)
            district = self._add(
                UnitPlan(
                    code=f"D{index:02d}",
                    name=f"{town}学区",
                    kind=UnitKind.SCHOOL_DISTRICT,
                    parent_code=bureau.code,
                    school_code=None,
                    depth=1,
                    sort_order=index,
                    address=f"示范县{town}镇" if rural else f"示范市{town}街道",
                )
            )
            region = layouts.COUNTY_CODES[(index - 1) % len(layouts.COUNTY_CODES)]
            school_layouts = (
                layouts.rural_district_layout()
                if rural
                else layouts.city_district_layout(self.rng, district=town)
            )
            drafts = [
                self._school(
                    district=district, number=number, layout=layout, region=region, town=town
                )
                for number, layout in enumerate(school_layouts, start=1)
            ]
            self.schools += drafts
            districts.append((district, drafts))
            self._groupings(district=district, schools=drafts)
        self._staff_draft()
        self._staff_genders(rural=rural)
        self._staff_statuses()
        self._staff_identities()
        self._staff_files(rural=rural)
        register = self._register(districts)
        self._accounts_and_roles(bureau=bureau, district=districts[0][0], register=register)
        return DemoPlan(
            scale=self.scale,
            seed=self.seed,
            today=self.today,
            term=self.term,
            units=tuple(self.units),
            staff=tuple(member.freeze() for school in self.schools for member in school.staff),
            staff_periods=tuple(self.staff_periods),
            honours=tuple(self.honours),
            students=tuple(pupil.freeze() for pupil in register.pupils),
            status_changes=tuple(register.ledger.events),
            memberships=register.ledger.frozen_memberships(),
            guardians=register.frozen_guardians(),
            guardianships=tuple(register.guardianships),
            teaching=tuple(
                TeachingAssignmentPlan(
                    t.staff.id_number, t.class_code, t.role, t.subject, t.weekly_periods
                )
                for t in self.teaching
            ),
            accounts=tuple(self.accounts),
            roles=tuple(self.roles),
            alliances=tuple(self.alliances),
            clusters=tuple(self.clusters),
            age_cohorts=self._age_cohorts(districts, register),
        )

    def _district_name(self, index: int) -> str:
        if self.scale == 1:
            return layouts.RURAL_TOWN
        pool = layouts.CITY_DISTRICT_NAMES
        base = pool[(index - 1) % len(pool)]
        return base if index <= len(pool) else f"{base}{(index - 1) // len(pool) + 1}"

    def _school(
        self, *, district: UnitPlan, number: int, layout: SchoolLayout, region: str, town: str
    ) -> _SchoolDraft:
        code = f"S{district.code[1:]}{number:02d}"
        self._add(
            UnitPlan(
                code=code,
                name=layout.name,
                kind=UnitKind.SCHOOL,
                parent_code=district.code,
                school_code=code,
                depth=2,
                sort_order=number,
                school_type=layout.school_type,
                address=layout.address,
            )
        )
        draft = _SchoolDraft(
            code=code, layout=layout, region=region, town=town, rural=self.scale == 1
        )
        order = count(1)  # sort order among the units inside the school
        for office_number, (office_type, name) in enumerate(layouts.offices_for(layout), 1):
            self._add(
                UnitPlan(
                    code=f"{code}-O{office_number}",
                    name=name,
                    kind=UnitKind.ADMIN_OFFICE,
                    parent_code=code,
                    school_code=code,
                    depth=3,
                    sort_order=next(order),
                    office_type=office_type,
                )
            )
        divisions: dict[int, UnitPlan] = {}
        if layouts.has_grade_divisions(layout):
            for grade, _ in layout.classes:
                divisions[grade] = self._add(
                    UnitPlan(
                        code=f"{code}-G{_grade_code(grade)}",
                        name=f"{Grade(grade).label}组",
                        kind=UnitKind.GRADE_DIVISION,
                        parent_code=code,
                        school_code=code,
                        depth=3,
                        sort_order=next(order),
                        grade=grade,
                    )
                )
        prep_grades = (
            [grade for grade, _ in layout.classes]
            if layout.school_type == SchoolType.JUNIOR_MIDDLE and layout.max_per_grade >= 2
            else []
        )
        for group_number, subject in enumerate(layouts.research_groups_for(layout), 1):
            group = self._add(
                UnitPlan(
                    code=f"{code}-R{group_number:02d}",
                    name=f"{subject}教研组",
                    kind=UnitKind.TEACHING_RESEARCH_GROUP,
                    parent_code=code,
                    school_code=code,
                    depth=3,
                    sort_order=next(order),
                    subject=subject,
                )
            )
            if subject not in layouts.PREP_GROUP_SUBJECTS:
                continue
            for prep_order, grade in enumerate(prep_grades, 1):
                self._add(
                    UnitPlan(
                        code=f"{group.code}-P{_grade_code(grade)}",
                        name=f"{Grade(grade).label}{subject}备课组",
                        kind=UnitKind.LESSON_PREP_GROUP,
                        parent_code=group.code,
                        school_code=code,
                        depth=4,
                        sort_order=prep_order,
                        grade=grade,
                        subject=subject,
                    )
                )
        first_grade = layouts.stage_start(layout.school_type)
        for grade, parallel in layout.classes:
            division = divisions.get(grade)
            for class_number in range(1, parallel + 1):
                unit = UnitPlan(
                    code=f"{code}-C{_grade_code(grade)}{class_number:02d}",
                    name=_class_name(grade=grade, number=class_number, parallel=parallel),
                    kind=UnitKind.SCHOOL_CLASS,
                    parent_code=division.code if division else code,
                    school_code=code,
                    depth=4 if division else 3,
                    sort_order=class_number if division else next(order),
                    grade=grade,
                    class_number=class_number,
                    entry_year=CURRENT_YEAR - (grade - first_grade),
                )
                draft.classes.append(self._add(unit))
        return draft

    def _groupings(self, *, district: UnitPlan, schools: Sequence[_SchoolDraft]) -> None:
        """Add the district's 大学区 (led by its first middle school) and a 连片教研组."""
        middles = [s for s in schools if s.layout.school_type == SchoolType.JUNIOR_MIDDLE]
        lead = middles[0] if middles else schools[0]
        primaries = [
            s
            for s in schools
            if s.layout.school_type in (SchoolType.COMPLETE_PRIMARY, SchoolType.CENTRAL_PRIMARY)
        ]
        members = [lead.code, *(s.code for s in primaries[:3])]
        number = district.code[1:]
        self.alliances.append(
            AlliancePlan(
                code=f"DXQ{number}",
                name=f"{lead.layout.name}大学区",
                owner_code=district.code,
                lead_code=lead.code,
                member_codes=tuple(members),
                founded_on=date(2023, 9, 1),
            )
        )
        grade_three = [
            s
            for s in schools
            if s.layout.school_type != SchoolType.JUNIOR_MIDDLE
            and any(grade == 3 for grade, _ in s.layout.classes)
        ]
        if grade_three:
            self.clusters.append(
                ClusterPlan(
                    code=f"LP{number}",
                    name=f"{district.name}小学三年级语文连片教研组",
                    owner_code=district.code,
                    subject="语文",
                    grade=3,
                    lead_code=(primaries or grade_three)[0].code,
                    member_codes=tuple(s.code for s in grade_three),
                )
            )

    # ------------------------------------------------------------------ staff
    def _staff_draft(self) -> None:
        for school in self.schools:
            layout = school.layout
            subjects = layouts.subjects_allocate(
                school_type=layout.school_type, count=layout.teachers
            )
            self.rng.shuffle(subjects)
            for index, subject in enumerate(subjects):
                school.staff.append(
                    _StaffDraft(
                        school_code=school.code,
                        school_type=layout.school_type,
                        region=school.region,
                        post_category=PostCategory.FULL_TIME_TEACHER,
                        subject=subject,
                        # A 教学点 has a 负责人 from its central school, not a principal.
                        is_principal=index == 0 and layout.school_type != SchoolType.TEACHING_POINT,
                    )
                )
            for category in layout.other_staff:
                school.staff.append(
                    _StaffDraft(
                        school_code=school.code,
                        school_type=layout.school_type,
                        region=school.region,
                        post_category=category,
                        subject="",
                    )
                )

    def _all_staff(self) -> list[_StaffDraft]:
        return [member for school in self.schools for member in school.staff]

    def _staff_genders(self, *, rural: bool) -> None:
        """Make exactly the target share of 专任教师 female; kindergarten teachers first."""
        teachers = [m for m in self._all_staff() if m.is_teacher]
        share = RURAL_FEMALE_TEACHER_SHARE if rural else CITY_FEMALE_TEACHER_SHARE
        female_left = _share_of(len(teachers), share)
        kindergarten = [m for m in teachers if m.school_type == SchoolType.KINDERGARTEN]
        for member in kindergarten[:female_left]:
            member.gender = Gender.FEMALE
        female_left -= min(len(kindergarten), female_left)
        others = [m for m in teachers if m.school_type != SchoolType.KINDERGARTEN]
        for member in self.rng.sample(others, female_left):
            member.gender = Gender.FEMALE
        for member in self._all_staff():
            if not member.is_teacher:
                member.gender = self.rng.choice((Gender.MALE, Gender.FEMALE))

    def _staff_statuses(self) -> None:
        """Mark a few 代课 teachers (mostly in village schools), some on sick leave or seconded."""
        teachers = [m for m in self._all_staff() if m.is_teacher and not m.is_principal]
        small = [
            m
            for m in teachers
            if m.school_type == SchoolType.TEACHING_POINT
            or (m.school_type == SchoolType.COMPLETE_PRIMARY and self.scale == 1)
        ]
        count = sum(1 for m in self._all_staff() if m.is_teacher)  # principals included
        substitutes = max(1, _share_of(count, SUBSTITUTE_SHARE))
        pool = small if len(small) >= substitutes else teachers
        for member in self.rng.sample(pool, substitutes):
            member.status = StaffStatus.SUBSTITUTE
        on_post = [m for m in teachers if m.status == StaffStatus.ON_POST]
        sick = max(1, _share_of(count, SICK_LEAVE_SHARE))
        seconded = max(1, _share_of(count, SECONDED_IN_SHARE))
        chosen = self.rng.sample(on_post, sick + seconded)
        for member in chosen[:sick]:
            member.status = StaffStatus.LONG_SICK_LEAVE
        for member in chosen[sick:]:
            member.status = StaffStatus.SECONDED_IN

    def _staff_identities(self) -> None:
        rng = self.rng
        for member in self._all_staff():
            member.name = names.person_name(rng, gender=member.gender, generation="adult")
            if member.is_principal:
                age = rng.randint(46, 57)
            elif member.status == StaffStatus.SUBSTITUTE:
                age = rng.randint(22, 35)
            elif member.is_teacher:
                age = int(rng.triangular(23, 59, 38))
            else:
                age = rng.randint(28, 56)
            member.birth_date = names.birth_date_pick(
                rng,
                earliest=date(CURRENT_YEAR - age - 1, 9, 2),
                latest=date(CURRENT_YEAR - age, 9, 1),
            )
            # Most staff were born in the county; some came from elsewhere in the prefecture.
            region = member.region if rng.random() < 0.8 else rng.choice(layouts.COUNTY_CODES)
            member.id_number = names.id_number_pick(
                rng,
                region=region,
                birth=member.birth_date,
                gender=member.gender,
                taken=self.id_numbers,
            )
            member.mobile = names.mobile_pick(rng, taken=self.mobiles)

    def _staff_files(self, *, rural: bool) -> None:
        """学历, 职称, 参加工作时间, status periods and honours of every staff member."""
        rng = self.rng
        today = self.today
        members = self._all_staff()
        on_post_teachers = [
            m
            for m in members
            if m.is_teacher and not m.is_principal and m.status == StaffStatus.ON_POST
        ]
        with_history = {
            id(m)
            for m in rng.sample(
                on_post_teachers,
                max(2, _share_of(len(on_post_teachers), staffing.PAST_PERIOD_SHARE)),
            )
        }
        latest_start = date(CURRENT_YEAR, 8, 1)
        for member in members:
            age = member.age_on(today)
            member.education, member.professional_title = staffing.education_and_title(
                rng,
                age=age,
                is_teacher=member.is_teacher,
                is_principal=member.is_principal,
                status=member.status,
                kindergarten=member.school_type == SchoolType.KINDERGARTEN,
                rural=rural,
            )
            started = staffing.started_work(
                rng, birth_date=member.birth_date, age=age, latest=latest_start
            )
            member.started_work_on = started
            self.staff_periods += staffing.status_periods(
                rng,
                id_number=member.id_number,
                status=member.status,
                started=started,
                today=today,
                current_year=CURRENT_YEAR,
                with_history=id(member) in with_history,
            )
        issuers = {
            "county": layouts.RURAL_BUREAU if rural else "示范市示范区教育局",
            "city": "示范市教育局",
            "province": "省教育厅",
        }
        teachers = [m for m in members if m.is_teacher]
        eligible = [m for m in teachers if m.status != StaffStatus.SUBSTITUTE]
        for member in rng.sample(eligible, _share_of(len(teachers), staffing.HONOUR_SHARE)):
            award = staffing.honour(
                rng,
                id_number=member.id_number,
                age=member.age_on(today),
                subject=member.subject,
                started=member.started_work_on or today,
                today=today,
                issuers=issuers,
            )
            if award is not None:
                self.honours.append(award)

    # ------------------------------------------------------------------ pupils
    def _register(self, districts: list[tuple[UnitPlan, list[_SchoolDraft]]]) -> RegisterBuilder:
        class_grades = {
            unit.code: unit.grade or 0 for unit in self.units if unit.kind == UnitKind.SCHOOL_CLASS
        }
        register = RegisterBuilder(
            rng=self.rng,
            current_year=CURRENT_YEAR,
            today=self.today,
            id_numbers=self.id_numbers,
            mobiles=self.mobiles,
            class_grades=class_grades,
        )
        # The demo parent's child: the first pupil of the demo teacher's class.
        protected_class = self.schools[0].classes[0].code
        window = event_window(self.today, CURRENT_YEAR)
        for _district, schools in districts:
            register.start_district()
            infos = [school.info() for school in schools]
            first = len(register.pupils)
            for info in infos:
                register.school_pupils(info, protect_first_of=protected_class)
            pupils = register.pupils[first:]
            register.district_special_cases(pupils, rural=infos[0].rural)
            register.district_status_changes(infos, pupils, window)
        register.family_guardians()
        return register

    def _age_cohorts(
        self, districts: list[tuple[UnitPlan, list[_SchoolDraft]]], register: RegisterBuilder
    ) -> tuple[AgeCohortPlan, ...]:
        """适龄人口 of each 学区 on 1 September: the children of the band in its schools, and a
        few more (living in the 学区 but at school elsewhere, or not at school)."""
        day = date(CURRENT_YEAR, 9, 1)
        district_of = {
            school.code: district.code for district, schools in districts for school in schools
        }
        counts: Counter[tuple[str, int, int]] = Counter()
        for pupil in register.pupils:
            if pupil.status != StudentStatus.ENROLLED:
                continue
            for low, high in AGE_BANDS:
                if years_before(day, high + 1) < pupil.birth_date <= years_before(day, low):
                    counts[(district_of[pupil.school_code], low, high)] += 1
        cohorts = []
        for district, _schools in districts:
            for low, high in AGE_BANDS:
                enrolled = counts[(district.code, low, high)]
                others = max(1, round(enrolled * self.rng.uniform(0.002, 0.008)))
                cohorts.append(AgeCohortPlan(district.code, low, high, enrolled + others))
        return tuple(cohorts)

    # ------------------------------------------------------------------ accounts
    def _username_for(self, full_name: str) -> str:
        base = pinyin_keys(full_name)[0] or "user"
        candidate, suffix = base, 1
        while candidate in self.usernames:
            suffix += 1
            candidate = f"{base}{suffix}"
        self.usernames.add(candidate)
        return candidate

    def _account(self, member: _StaffDraft, username: str = "") -> str:
        """Give a staff member an account (once) and return its username."""
        if not member.username:
            member.username = username or self._username_for(member.name)
            self.accounts.append(
                AccountPlan(
                    username=member.username,
                    full_name=member.name,
                    mobile=member.mobile,
                    demo_login=member.username in DEMO_USERNAMES,
                )
            )
        return member.username

    def _outside_account(self, username: str, *, gender: str, surname: str = "") -> str:
        full_name = names.person_name(self.rng, gender=gender, generation="adult", surname=surname)
        self.accounts.append(
            AccountPlan(
                username=username,
                full_name=full_name,
                mobile=names.mobile_pick(self.rng, taken=self.mobiles),
                demo_login=True,
            )
        )
        return username

    def _head_teachers(self, school: _SchoolDraft) -> dict[str, _StaffDraft]:
        """Return one 班主任 per class: core-subject teachers on post first, then the rest."""
        teachers = [
            m
            for m in school.staff
            if m.is_teacher and not m.is_principal and m.status != StaffStatus.LONG_SICK_LEAVE
        ]
        self.rng.shuffle(teachers)

        def preference(member: _StaffDraft) -> tuple[int, int]:
            return (
                member.status == StaffStatus.SUBSTITUTE,
                member.subject not in HEAD_TEACHER_SUBJECTS,
            )

        teachers.sort(key=preference)
        principals = [m for m in school.staff if m.is_principal]
        candidates = [*teachers, *principals]
        return {
            unit.code: candidates[index % len(candidates)]
            for index, unit in enumerate(school.classes)
        }

    def _accounts_and_roles(
        self, *, bureau: UnitPlan, district: UnitPlan, register: RegisterBuilder
    ) -> None:
        rng = self.rng
        self._outside_account("admin", gender=rng.choice((Gender.MALE, Gender.FEMALE)))
        self.roles.append(RolePlan("admin", Role.SYSTEM_ADMIN, bureau.code))
        self._outside_account("district", gender=rng.choice((Gender.MALE, Gender.FEMALE)))
        self.roles.append(RolePlan("district", Role.DISTRICT_LEADER, district.code))

        first, second = self.schools[0], self.schools[1]
        heads = {school.code: self._head_teachers(school) for school in self.schools}
        # The demo teacher: 班主任 of the first class of the first school.
        first_class = first.classes[0]
        demo_teacher = heads[first.code][first_class.code]
        for school in self.schools:
            for member in school.staff:
                if member.is_principal:
                    username = "principal" if school is first else ""
                    self._account(member, username)
                    self.roles.append(RolePlan(member.username, Role.PRINCIPAL, school.code))
            # Every 班主任 has an account (their roles follow from the teaching assignments).
            for unit in school.classes:
                head = heads[school.code][unit.code]
                self._account(head, "teacher" if head is demo_teacher else "")
        # Every member of the first school's staff has an account.
        for member in first.staff:
            self._account(member)

        # teacher2: a subject teacher of a class of the second school, not its 班主任.
        other_class = second.classes[0]
        busy = {id(head) for head in heads[second.code].values()}
        second_teachers = [
            m
            for m in second.staff
            if m.is_teacher
            and not m.is_principal
            and id(m) not in busy
            and m.status == StaffStatus.ON_POST
        ]
        teacher2 = next(
            (m for m in second_teachers if m.subject == "数学"),
            second_teachers[0] if second_teachers else heads[second.code][other_class.code],
        )
        self._account(teacher2, "teacher2")

        pinned = {
            (first_class.code, demo_teacher.subject): demo_teacher,
            (other_class.code, teacher2.subject): teacher2,
        }
        for school in self.schools:
            self._teaching_assign(school, heads[school.code], pinned)
        self._teaching_roles()
        # The demo teachers keep their class between terms as well.
        self.roles += [
            RolePlan("teacher", Role.HEAD_TEACHER, first_class.code, STANDING_NOTE),
            RolePlan("teacher", Role.SUBJECT_TEACHER, first_class.code, STANDING_NOTE),
            RolePlan("teacher2", Role.SUBJECT_TEACHER, other_class.code, STANDING_NOTE),
        ]

        # parent: the father or mother of the first pupil of the demo teacher's class.
        child = next(pupil for pupil in register.pupils if pupil.protected)
        relation = rng.choice((GuardianRelation.FATHER, GuardianRelation.MOTHER))
        guardian = register.link_account(child, relation=relation, username="parent")
        self.accounts.append(AccountPlan("parent", guardian.name, guardian.mobile, demo_login=True))
        self.roles.append(RolePlan("parent", Role.GUARDIAN, first.code))

    def _teaching_assign(
        self,
        school: _SchoolDraft,
        heads: dict[str, _StaffDraft],
        pinned: dict[tuple[str, str], _StaffDraft],
    ) -> None:
        """任课安排 of every class of ``school`` for the term: its 班主任, and a teacher for each
        subject of the stage (the 班主任 for their own subject; otherwise the subject's least
        busy teacher; in a school without one, the least busy teacher of the school)."""
        able = [m for m in school.staff if m.is_teacher and m.status != StaffStatus.LONG_SICK_LEAVE]
        # The principal teaches only where nobody else can (or as 班主任 of last resort).
        teachers = [m for m in able if not m.is_principal] or able
        load = {id(member): 0 for member in school.staff}
        by_subject: dict[str, list[_StaffDraft]] = {}
        for member in teachers:
            by_subject.setdefault(member.subject, []).append(member)
        for unit in school.classes:
            grade = unit.grade if unit.grade is not None else 1
            head = heads[unit.code]
            self.teaching.append(_Teaching(head, unit.code, TeachingRole.HEAD_TEACHER, "", None))
            subjects = list(staffing.class_subjects(grade))
            subjects += [
                subject
                for (code, subject) in pinned
                if code == unit.code and subject not in subjects
            ]
            for subject in subjects:
                periods = staffing.weekly_periods(subject, grade)
                teacher = pinned.get((unit.code, subject))
                if teacher is None and head.subject == subject:
                    teacher = head
                if teacher is None:
                    pool = by_subject.get(subject) or teachers
                    teacher = min(pool, key=lambda member: load[id(member)])
                load[id(teacher)] += periods
                self.teaching.append(
                    _Teaching(teacher, unit.code, TeachingRole.SUBJECT_TEACHER, subject, periods)
                )

    def _teaching_roles(self) -> None:
        """Role assignments for the linked accounts, as ``staff.services._sync_role`` makes
        them: one per (account, role, class, term), noting the first assignment behind it."""
        start, end = self.term
        seen: set[tuple[str, str, str]] = set()
        for index, assignment in enumerate(self.teaching):
            username = assignment.staff.username
            if not username:
                continue
            role = (
                Role.HEAD_TEACHER
                if assignment.role == TeachingRole.HEAD_TEACHER
                else Role.SUBJECT_TEACHER
            )
            key = (username, role, assignment.class_code)
            if key in seen:
                continue
            seen.add(key)
            self.roles.append(
                RolePlan(
                    username,
                    role,
                    assignment.class_code,
                    valid_from=start,
                    valid_until=end,
                    assignment_index=index,
                )
            )


def demo_plan_build(
    *, scale: int = 1, seed: int = DEFAULT_SEED, today: date | None = None
) -> DemoPlan:
    """Return the plan of a demo district: a pure function of its arguments (``today`` defaults
    to the current day; it places the 异动 and picks the current term)."""
    if scale < 1:
        raise ValueError("scale must be at least 1")
    return _PlanBuilder(scale=scale, seed=seed, today=today or timezone.localdate()).build()
