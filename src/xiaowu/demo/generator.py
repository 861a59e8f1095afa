"""The demo district generator: a synthetic 教育局 with its 学区, schools, staff and pupils.

Generation has two steps so that the expensive part is plain Python and testable without a
database:

1. ``demo_plan_build(scale=…, seed=…)`` returns a ``DemoPlan``: frozen dataclasses for every
   unit, staff member, pupil, account and role assignment. It is a pure function of its
   arguments (``random.Random(seed)`` drives every choice).
2. ``demo_plan_load(plan=…)`` writes the plan with ``bulk_create`` (no per-row services, no
   per-row audit) and rebuilds the closure table once.

``demo_district_create`` runs both, after refusing a non-empty database (or wiping the demo
tables with ``force=True``), and writes one audit row.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import count, cycle
from typing import TypeVar

from django.db import transaction
from django.db.models import F, Q

from xiaowu.accounts.models import ApiToken, RoleAssignment, User
from xiaowu.accounts.roles import Role
from xiaowu.audit.models import AuditAction
from xiaowu.audit.services import audit_record
from xiaowu.core.models import Gender
from xiaowu.core.pinyin import pinyin_keys
from xiaowu.demo import layouts, names
from xiaowu.demo.layouts import CURRENT_YEAR, SchoolLayout
from xiaowu.org.models import (
    AllianceKind,
    AllianceMembership,
    Grade,
    OrgUnit,
    OrgUnitClosure,
    ResearchCluster,
    SchoolAlliance,
    SchoolType,
    SchoolYear,
    Term,
    UnitKind,
)
from xiaowu.org.services import class_display_name, closure_rebuild
from xiaowu.staff.models import PostCategory, StaffMember, StaffStatus
from xiaowu.students.models import (
    ClassMembership,
    Guardian,
    GuardianRelation,
    Guardianship,
    StatusChange,
    StatusChangeKind,
    Student,
)

_T = TypeVar("_T")

DEMO_PASSWORD = "xiaowu-demo"  # noqa: S105 — the published password of the demo logins
DEFAULT_SEED = 20250901
# The demo logins, in the order they are shown.
DEMO_USERNAMES = ("admin", "district", "principal", "teacher", "teacher2", "parent")


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


# Shares used to assign staff statuses and genders (exact counts, not coin flips).
RURAL_FEMALE_TEACHER_SHARE = 0.364  # "专任教师154人（女56人）"
CITY_FEMALE_TEACHER_SHARE = 0.72
SUBSTITUTE_SHARE = 0.02
SICK_LEAVE_SHARE = 0.007
SECONDED_IN_SHARE = 0.007
MALE_PUPIL_SHARE = 0.52
OLDER_PUPIL_SHARE = 0.05  # started school a year late or repeated a year
HEAD_TEACHER_SUBJECTS = ("语文", "数学", "英语", "学前教育")
# The compound surnames of ``names.SURNAMES``, to find a child's family name again.
_COMPOUND_SURNAMES = frozenset(name for name, _ in names.SURNAMES if len(name) == 2)


class DemoDataExistsError(Exception):
    """The database already holds an organisation tree and ``force`` was not given."""


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True, slots=True)
class UnitPlan:
    code: str
    name: str
    kind: str
    parent_code: str | None
    school_code: str | None  # the school the unit is in (a school: itself)
    depth: int
    sort_order: int
    school_type: str = ""
    office_type: str = ""
    grade: int | None = None
    class_number: int | None = None
    entry_year: int | None = None
    subject: str = ""
    address: str = ""


@dataclass(frozen=True, slots=True)
class StaffPlan:
    school_code: str
    name: str
    gender: str
    birth_date: date
    id_number: str
    mobile: str
    post_category: str
    status: str
    subject: str
    username: str  # "" when the staff member has no account


@dataclass(frozen=True, slots=True)
class StudentPlan:
    school_code: str
    class_code: str
    name: str
    gender: str
    birth_date: date
    id_number: str


@dataclass(frozen=True, slots=True)
class AccountPlan:
    username: str
    full_name: str
    mobile: str | None
    demo_login: bool  # password DEMO_PASSWORD; other accounts get an unusable password


@dataclass(frozen=True, slots=True)
class RolePlan:
    username: str
    role: str
    unit_code: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class GuardianshipPlan:
    username: str
    student_id_number: str
    relation: str


@dataclass(frozen=True, slots=True)
class AlliancePlan:
    code: str
    name: str
    owner_code: str
    lead_code: str
    member_codes: tuple[str, ...]  # the lead school included
    founded_on: date


@dataclass(frozen=True, slots=True)
class ClusterPlan:
    code: str
    name: str
    owner_code: str
    subject: str
    grade: int
    lead_code: str
    member_codes: tuple[str, ...]


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
    students: int
    students_female: int
    accounts: int

    @property
    def schools(self) -> int:
        return sum(count for _, count in self.schools_by_type)


@dataclass(frozen=True)
class DemoPlan:
    scale: int
    seed: int
    units: tuple[UnitPlan, ...]
    staff: tuple[StaffPlan, ...]
    students: tuple[StudentPlan, ...]
    accounts: tuple[AccountPlan, ...]
    roles: tuple[RolePlan, ...]
    guardianships: tuple[GuardianshipPlan, ...]
    alliances: tuple[AlliancePlan, ...]
    clusters: tuple[ClusterPlan, ...]

    def summary(self) -> DemoSummary:
        kinds = Counter(unit.kind for unit in self.units)
        types = Counter(unit.school_type for unit in self.units if unit.kind == UnitKind.SCHOOL)
        teachers = [s for s in self.staff if s.post_category == PostCategory.FULL_TIME_TEACHER]
        return DemoSummary(
            bureau=next(unit.name for unit in self.units if unit.kind == UnitKind.BUREAU),
            districts=kinds[UnitKind.SCHOOL_DISTRICT],
            schools_by_type=tuple((t.value, types[t.value]) for t in SchoolType if types[t.value]),
            classes=kinds[UnitKind.SCHOOL_CLASS],
            staff=len(self.staff),
            staff_female=sum(1 for s in self.staff if s.gender == Gender.FEMALE),
            full_time_teachers=len(teachers),
            full_time_teachers_female=sum(1 for s in teachers if s.gender == Gender.FEMALE),
            students=len(self.students),
            students_female=sum(1 for s in self.students if s.gender == Gender.FEMALE),
            accounts=len(self.accounts),
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

    @property
    def is_teacher(self) -> bool:
        return self.post_category == PostCategory.FULL_TIME_TEACHER

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
        )


@dataclass(slots=True)
class _SchoolDraft:
    code: str
    layout: SchoolLayout
    region: str
    classes: list[UnitPlan] = field(default_factory=list)
    staff: list[_StaffDraft] = field(default_factory=list)


def _grade_code(grade: int) -> str:
    return f"K{grade + 4}" if grade < 0 else f"{grade:02d}"


def _class_name(*, grade: int, number: int, parallel: int) -> str:
    if grade < 0:  # 幼儿园: 小班, or 小(1)班 when there are parallel classes
        label = Grade(grade).label
        return label if parallel == 1 else f"{label[0]}({number})班"
    return class_display_name(grade, number)


def _surname_of(name: str) -> str:
    return name[:2] if name[:2] in _COMPOUND_SURNAMES else name[:1]


def _share_of(count: int, share: float) -> int:
    return round(count * share)


class _PlanBuilder:
    def __init__(self, *, scale: int, seed: int) -> None:
        self.scale = scale
        self.seed = seed
        # A seeded PRNG is the point here (reproducible synthetic data), not security.
        self.rng = random.Random(seed)  # noqa: S311
        self.units: list[UnitPlan] = []
        self.schools: list[_SchoolDraft] = []
        self.students: list[StudentPlan] = []
        self.accounts: list[AccountPlan] = []
        self.roles: list[RolePlan] = []
        self.guardianships: list[GuardianshipPlan] = []
        self.alliances: list[AlliancePlan] = []
        self.clusters: list[ClusterPlan] = []
        self.id_numbers: set[str] = set()
        self.mobiles: set[str] = set()
        self.usernames: set[str] = set(DEMO_USERNAMES)

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
        districts: list[UnitPlan] = []
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
            districts.append(district)
            region = layouts.COUNTY_CODES[(index - 1) % len(layouts.COUNTY_CODES)]
            school_layouts = (
                layouts.rural_district_layout()
                if rural
                else layouts.city_district_layout(self.rng, district=town)
            )
            drafts = [
                self._school(district=district, number=number, layout=layout, region=region)
                for number, layout in enumerate(school_layouts, start=1)
            ]
            self.schools += drafts
            self._groupings(district=district, schools=drafts)
        self._staff_draft()
        self._staff_genders(rural=rural)
        self._staff_statuses()
        self._staff_identities()
        for school in self.schools:
            self._pupils(school)
        self._accounts_and_roles(bureau=bureau, district=districts[0])
        return DemoPlan(
            scale=self.scale,
            seed=self.seed,
            units=tuple(self.units),
            staff=tuple(member.freeze() for school in self.schools for member in school.staff),
            students=tuple(self.students),
            accounts=tuple(self.accounts),
            roles=tuple(self.roles),
            guardianships=tuple(self.guardianships),
            alliances=tuple(self.alliances),
            clusters=tuple(self.clusters),
        )

    def _district_name(self, index: int) -> str:
        if self.scale == 1:
            return layouts.RURAL_TOWN
        pool = layouts.CITY_DISTRICT_NAMES
        base = pool[(index - 1) % len(pool)]
        return base if index <= len(pool) else f"{base}{(index - 1) // len(pool) + 1}"

    def _school(
        self, *, district: UnitPlan, number: int, layout: SchoolLayout, region: str
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
        draft = _SchoolDraft(code=code, layout=layout, region=region)
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

    # ------------------------------------------------------------------ pupils
    def _pupils(self, school: _SchoolDraft) -> None:
        rng = self.rng
        low, high = school.layout.class_size
        for unit in school.classes:
            grade = unit.grade if unit.grade is not None else 1
            # Age on 1 September: 6 in 一年级, 3 in 小班.
            base_age = grade + 5 if grade > 0 else grade + 6
            for _ in range(rng.randint(low, high)):
                gender = Gender.MALE if rng.random() < MALE_PUPIL_SHARE else Gender.FEMALE
                age = base_age + (1 if rng.random() < OLDER_PUPIL_SHARE else 0)
                birth = names.birth_date_pick(
                    rng,
                    earliest=date(CURRENT_YEAR - age - 1, 9, 1),
                    latest=date(CURRENT_YEAR - age, 8, 31),
                )
                self.students.append(
                    StudentPlan(
                        school_code=school.code,
                        class_code=unit.code,
                        name=names.person_name(rng, gender=gender, generation="child"),
                        gender=gender,
                        birth_date=birth,
                        id_number=names.id_number_pick(
                            rng,
                            region=school.region,
                            birth=birth,
                            gender=gender,
                            taken=self.id_numbers,
                        ),
                    )
                )

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

    def _accounts_and_roles(self, *, bureau: UnitPlan, district: UnitPlan) -> None:
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
            for unit in school.classes:
                head = heads[school.code][unit.code]
                username = self._account(head, "teacher" if head is demo_teacher else "")
                self.roles.append(RolePlan(username, Role.HEAD_TEACHER, unit.code))
        # Every member of the first school's staff has an account, and its classes have
        # their subject teachers.
        for member in first.staff:
            self._account(member)
        self._subject_teachers(first, heads[first.code])
        # The demo teacher also teaches the class (its subject may not be on the timetable).
        if not any(
            role.username == "teacher"
            and role.role == Role.SUBJECT_TEACHER
            and role.unit_code == first_class.code
            for role in self.roles
        ):
            self.roles.append(
                RolePlan(
                    "teacher", Role.SUBJECT_TEACHER, first_class.code, f"任教{demo_teacher.subject}"
                )
            )

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
        username = self._account(teacher2, "teacher2")
        self.roles.append(
            RolePlan(username, Role.SUBJECT_TEACHER, other_class.code, f"任教{teacher2.subject}")
        )

        # parent: guardian of the first pupil of the demo teacher's class.
        child = next(s for s in self.students if s.class_code == first_class.code)
        gender = rng.choice((Gender.MALE, Gender.FEMALE))
        surname = _surname_of(child.name) if gender == Gender.MALE else ""
        self._outside_account("parent", gender=gender, surname=surname)
        self.roles.append(RolePlan("parent", Role.GUARDIAN, first.code))
        relation = GuardianRelation.FATHER if gender == Gender.MALE else GuardianRelation.MOTHER
        self.guardianships.append(GuardianshipPlan("parent", child.id_number, relation))

    def _subject_teachers(self, school: _SchoolDraft, heads: dict[str, _StaffDraft]) -> None:
        """Assign 任课教师 to every class of ``school``: each subject's teachers in turn."""
        by_subject: dict[str, list[_StaffDraft]] = {}
        for member in school.staff:
            if member.is_teacher and member.status != StaffStatus.LONG_SICK_LEAVE:
                by_subject.setdefault(member.subject, []).append(member)
        turns = {subject: cycle(members) for subject, members in by_subject.items()}
        for unit in school.classes:
            grade = unit.grade if unit.grade is not None else 1
            subjects = layouts.CLASS_SUBJECTS.get(grade, layouts.PRIMARY_CLASS_SUBJECTS)
            head = heads[unit.code]
            for subject in subjects:
                if subject not in turns:
                    continue
                teacher = head if head.subject == subject else next(turns[subject])
                username = self._account(teacher)
                self.roles.append(
                    RolePlan(username, Role.SUBJECT_TEACHER, unit.code, f"任教{subject}")
                )


def demo_plan_build(*, scale: int = 1, seed: int = DEFAULT_SEED) -> DemoPlan:
    """Return the plan of a demo district: a pure function of ``scale`` and ``seed``."""
    if scale < 1:
        raise ValueError("scale must be at least 1")
    return _PlanBuilder(scale=scale, seed=seed).build()


# --------------------------------------------------------------------------- loading


def _batched(items: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _free_usernames(plan: DemoPlan) -> dict[str, str]:
    """Map each planned username to one not yet taken in the database (usually itself)."""
    taken = {name.lower() for name in User.objects.values_list("username", flat=True)}
    planned = {account.username for account in plan.accounts}
    result: dict[str, str] = {}
    for account in plan.accounts:
        name = account.username
        if name in taken:
            suffix = 2
            while f"{name}{suffix}" in taken or f"{name}{suffix}" in planned:
                suffix += 1
            taken.add(f"{name}{suffix}")
            name = f"{name}{suffix}"
        result[account.username] = name
    return result


class _PinyinCache:
    """Pinyin keys per distinct name: pupils' names repeat at city scale."""

    def __init__(self) -> None:
        self.keys: dict[str, tuple[str, str]] = {}

    def __call__(self, text: str) -> tuple[str, str]:
        keys = self.keys.get(text)
        if keys is None:
            keys = self.keys[text] = pinyin_keys(text)
        return keys


@transaction.atomic
def demo_plan_load(*, plan: DemoPlan) -> dict[str, int]:
    """Write ``plan`` to the database in bulk; return the unit ids by code.

    Expects no organisation tree in the database (``closure_rebuild`` replaces the closure).
    """
    keys = _PinyinCache()
    for name, start_on, end_on, terms in school_years(CURRENT_YEAR):
        year = SchoolYear.objects.create(name=name, start_on=start_on, end_on=end_on)
        Term.objects.bulk_create(
            Term(school_year=year, number=number, start_on=start, end_on=end)
            for number, (start, end) in enumerate(terms, start=1)
        )

    unit_ids: dict[str, int] = {}
    for depth in sorted({unit.depth for unit in plan.units}):
        batch: list[OrgUnit] = []
        for unit in plan.units:
            if unit.depth != depth:
                continue
            pinyin, initials = keys(unit.name)
            school_code = unit.school_code if unit.school_code != unit.code else None
            batch.append(
                OrgUnit(
                    code=unit.code,
                    name=unit.name,
                    kind=unit.kind,
                    parent_id=unit_ids[unit.parent_code] if unit.parent_code else None,
                    school_id=unit_ids[school_code] if school_code else None,
                    depth=unit.depth,
                    school_type=unit.school_type,
                    office_type=unit.office_type,
                    grade=unit.grade,
                    class_number=unit.class_number,
                    entry_year=unit.entry_year,
                    subject=unit.subject,
                    address=unit.address,
                    sort_order=unit.sort_order,
                    name_pinyin=pinyin,
                    name_initials=initials,
                )
            )
        OrgUnit.objects.bulk_create(batch, batch_size=1000)
        unit_ids.update((unit.code, unit.pk) for unit in batch)
    OrgUnit.objects.filter(kind=UnitKind.SCHOOL, school__isnull=True).update(school_id=F("id"))
    closure_rebuild(
        (unit_ids[unit.code], unit_ids[unit.parent_code] if unit.parent_code else None)
        for unit in plan.units
    )

    usernames = _free_usernames(plan)
    taken_mobiles = set(User.objects.exclude(mobile=None).values_list("mobile", flat=True))
    users: list[User] = []
    for account in plan.accounts:
        pinyin, initials = keys(account.full_name)
        user = User(
            username=usernames[account.username],
            full_name=account.full_name,
            mobile=account.mobile if account.mobile not in taken_mobiles else None,
            name_pinyin=pinyin,
            name_initials=initials,
        )
        # Only the demo logins can log in (validators are deliberately not run on the demo
        # password); the other accounts wait for an administrator to set a password.
        if account.demo_login:
            user.set_password(DEMO_PASSWORD)
        else:
            user.set_unusable_password()
        users.append(user)
    User.objects.bulk_create(users, batch_size=1000)
    user_ids = {
        account.username: user.pk for account, user in zip(plan.accounts, users, strict=True)
    }

    staff: list[StaffMember] = []
    for member in plan.staff:
        pinyin, initials = keys(member.name)
        staff.append(
            StaffMember(
                org_unit_id=unit_ids[member.school_code],
                user_id=user_ids[member.username] if member.username else None,
                name=member.name,
                gender=member.gender,
                birth_date=member.birth_date,
                id_number=member.id_number,
                mobile=member.mobile,
                post_category=member.post_category,
                status=member.status,
                subject=member.subject,
                name_pinyin=pinyin,
                name_initials=initials,
            )
        )
    StaffMember.objects.bulk_create(staff, batch_size=1000)

    entry_years = {unit.code: unit.entry_year for unit in plan.units if unit.entry_year}
    for chunk in _batched(plan.students, 5000):
        rows: list[Student] = []
        for pupil in chunk:
            pinyin, initials = keys(pupil.name)
            rows.append(
                Student(
                    school_id=unit_ids[pupil.school_code],
                    school_class_id=unit_ids[pupil.class_code],
                    name=pupil.name,
                    gender=pupil.gender,
                    birth_date=pupil.birth_date,
                    id_number=pupil.id_number,
                    enrolled_on=date(entry_years.get(pupil.class_code, CURRENT_YEAR), 9, 1),
                    name_pinyin=pinyin,
                    name_initials=initials,
                )
            )
        created = Student.objects.bulk_create(rows, batch_size=1000)
        _register_history(created, school_start=date(CURRENT_YEAR, 9, 1))

    RoleAssignment.objects.bulk_create(
        (
            RoleAssignment(
                user_id=user_ids[role.username],
                role=role.role,
                org_unit_id=unit_ids[role.unit_code],
                note=role.note,
            )
            for role in plan.roles
        ),
        batch_size=1000,
    )
    children = dict(
        Student.objects.filter(
            id_number__in=[g.student_id_number for g in plan.guardianships]
        ).values_list("id_number", "pk")
    )
    full_names = {account.username: account.full_name for account in plan.accounts}
    guardians = {
        g.username: Guardian.objects.create(
            name=full_names[g.username], user_id=user_ids[g.username]
        )
        for g in plan.guardianships
    }
    Guardianship.objects.bulk_create(
        Guardianship(
            student_id=children[g.student_id_number],
            guardian=guardians[g.username],
            relation=g.relation,
        )
        for g in plan.guardianships
    )

    for alliance_plan in plan.alliances:
        alliance = SchoolAlliance.objects.create(
            code=alliance_plan.code,
            name=alliance_plan.name,
            kind=AllianceKind.DISTRICT_ALLIANCE,
            owner_id=unit_ids[alliance_plan.owner_code],
            lead_school_id=unit_ids[alliance_plan.lead_code],
            founded_on=alliance_plan.founded_on,
        )
        AllianceMembership.objects.bulk_create(
            AllianceMembership(
                alliance=alliance,
                school_id=unit_ids[code],
                joined_on=alliance_plan.founded_on,
            )
            for code in alliance_plan.member_codes
        )
    for cluster_plan in plan.clusters:
        cluster = ResearchCluster.objects.create(
            code=cluster_plan.code,
            name=cluster_plan.name,
            owner_id=unit_ids[cluster_plan.owner_code],
            subject=cluster_plan.subject,
            grade=cluster_plan.grade,
            lead_school_id=unit_ids[cluster_plan.lead_code],
        )
        cluster.member_schools.set([unit_ids[code] for code in cluster_plan.member_codes])
    return unit_ids


# --------------------------------------------------------------------------- wiping


def demo_data_wipe() -> None:
    """Delete the organisation tree and everything the demo generator creates.

    Accounts are deleted too, except superusers (the demo usernames always go). Audit rows
    are append-only and stay. Raises ``ProtectedError`` when rows of other modules still
    refer to the tree.
    """
    linked_users = (
        Q(username__in=DEMO_USERNAMES)
        | Q(pk__in=RoleAssignment.objects.values("user_id"))
        | Q(pk__in=StaffMember.objects.filter(user__isnull=False).values("user_id"))
        | Q(pk__in=Guardianship.objects.values("guardian_id"))
    )
    user_ids = list(
        User.objects.filter(linked_users)
        .exclude(Q(is_superuser=True) & ~Q(username__in=DEMO_USERNAMES))
        .values_list("pk", flat=True)
    )
    Guardianship.objects.all().delete()
    Student.objects.all().delete()
    StaffMember.objects.all().delete()
    RoleAssignment.objects.all().delete()
    ApiToken.objects.filter(user_id__in=user_ids).delete()
    User.objects.filter(pk__in=user_ids).delete()
    ResearchCluster.objects.all().delete()
    AllianceMembership.objects.all().delete()
    SchoolAlliance.objects.all().delete()
    OrgUnitClosure.objects.all().delete()
    # Detach the tree first: ``parent`` and ``school`` are PROTECT references within it.
    OrgUnit.objects.update(parent=None, school=None)
    OrgUnit.objects.all().delete()
    Term.objects.all().delete()
    SchoolYear.objects.all().delete()


# --------------------------------------------------------------------------- entry point


@dataclass(frozen=True)
class DemoResult:
    plan: DemoPlan
    summary: DemoSummary
    wiped: bool


@transaction.atomic
def demo_district_create(
    *, scale: int = 1, seed: int = DEFAULT_SEED, force: bool = False
) -> DemoResult:
    """Build and load the demo district; refuse a non-empty database unless ``force``.

    Raises ``DemoDataExistsError`` when an organisation tree exists and ``force`` is false, and
    ``ProtectedError`` when ``force`` cannot wipe it because other data refers to it.
    """
    wiped = False
    if OrgUnit.objects.exists():
        if not force:
            raise DemoDataExistsError("数据库中已有组织机构。")
        demo_data_wipe()
        wiped = True
    elif User.objects.filter(username__in=DEMO_USERNAMES).exists():
        if not force:
            raise DemoDataExistsError("数据库中已有演示账号（admin、teacher 等）。")
        demo_data_wipe()
        wiped = True
    plan = demo_plan_build(scale=scale, seed=seed)
    unit_ids = demo_plan_load(plan=plan)
    summary = plan.summary()
    bureau = OrgUnit.objects.get(pk=unit_ids["B01"])
    audit_record(
        actor=None,
        action=AuditAction.IMPORT,
        event="demo.demo_data",
        target=bureau,
        org_unit_id=bureau.pk,
        actor_label="xiaowu demo_data",
        changes={
            "scale": scale,
            "seed": seed,
            "wiped": wiped,
            "schools": summary.schools,
            "classes": summary.classes,
            "staff": summary.staff,
            "students": summary.students,
            "accounts": summary.accounts,
        },
    )
    return DemoResult(plan=plan, summary=summary, wiped=wiped)


def _register_history(students: list[Student], *, school_start: date) -> None:
    """Give bulk-created students what the register services would: an open class membership
    and an 入学 event dated at the start of their entry year (or of this school year)."""
    memberships = []
    events = []
    for student in students:
        start = student.enrolled_on or school_start
        if student.school_class_id is None:
            continue
        memberships.append(
            ClassMembership(
                student_id=student.pk,
                school_id=student.school_id,
                school_class_id=student.school_class_id,
                start_on=start,
            )
        )
        events.append(
            StatusChange(
                student_id=student.pk,
                school_id=student.school_id,
                kind=StatusChangeKind.ENROLLMENT,
                effective_on=start,
                to_class_id=student.school_class_id,
            )
        )
    ClassMembership.objects.bulk_create(memberships, batch_size=2000)
    StatusChange.objects.bulk_create(events, batch_size=2000)
