"""The demo 学籍: pupils with national-template fields, their families and guardians, and the
异动 of the current school year.

Everything here is plain Python driven by the plan's ``random.Random``. Status changes go
through ``RegisterLedger``, which applies the rules of ``students.services.status_change_record``
(the same ``ALLOWED_FROM``, ``RESULTING_STATUS`` and ``INTO_CLASS`` tables) to keep each pupil's
events, class memberships and current school, class and status in step, exactly as recording
them one by one through the service would.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import accumulate

from xiaowu.core.models import Gender
from xiaowu.demo import names
from xiaowu.demo.plans import (
    GuardianPlan,
    GuardianshipPlan,
    MembershipPlan,
    StatusChangePlan,
    StudentPlan,
)
from xiaowu.org.models import SchoolType
from xiaowu.students.models import GuardianRelation, StatusChangeKind, StudentStatus
from xiaowu.students.reference import DisabilityType, HealthStatus, LeftBehind, StudyMode
from xiaowu.students.selectors import years_before
from xiaowu.students.services import ALLOWED_FROM, INTO_CLASS, RESULTING_STATUS

K = StatusChangeKind

MALE_PUPIL_SHARE = 0.52
OLDER_PUPIL_SHARE = 0.05  # started school a year late or repeated a year
SIBLING_SHARE = 0.05  # pupils whose brother or sister is also a pupil of the 学区
NEEDY_SHARE = 0.05  # 建档立卡/低保家庭
# Family situations (children's point of view) by setting: (kind, weight).
RURAL_FAMILIES = (("both", 68), ("single", 12), ("left_one", 15), ("left_both", 5))
CITY_FAMILIES = (("both", 82), ("single", 15), ("left_one", 2), ("left_both", 1))
RURAL_MIGRANT_SHARE = 0.01
CITY_MIGRANT_SHARE = 0.06
# 住校生 among the pupils of grades 7–9.
RURAL_BOARDING_SHARE = 0.35
CITY_BOARDING_SHARE = 0.10
# 民族: the prefecture is in the north-west (a Gansu-like region), mostly 汉族.
RURAL_ETHNICITIES = (("01", 930), ("03", 45), ("04", 15), ("26", 6), ("30", 4))
CITY_ETHNICITIES = (("01", 970), ("03", 20), ("04", 5), ("11", 5))
# Per 学区: 残疾 pupils (with type) and 孤儿.
RURAL_DISABILITIES = (DisabilityType.PHYSICAL, DisabilityType.HEARING, DisabilityType.INTELLECTUAL)
CITY_DISABILITIES = (DisabilityType.VISUAL, DisabilityType.PHYSICAL)
ORPHANS_PER_DISTRICT = 1
# Counties of the same (non-existent) prefecture 6213 that migrant families come from.
MIGRANT_ORIGINS = ("621326", "621327", "621328")
RURAL_VILLAGES = ("柳河", "石门", "松坪", "杏林", "云岭", "桃源", "红柳", "青松", "东沟", "西岔")

RURAL_WORK = ("务农", "务农", "个体经营", "建筑务工", "养殖", "镇上商铺")
CITY_WORK = (
    "示范市某公司",
    "个体经营",
    "示范市人民医院",
    "示范市某超市",
    "自由职业",
    "机关事业单位",
    "示范市某物流公司",
)
AWAY_WORK = (
    "外出务工（浙江省）",
    "外出务工（广东省）",
    "外出务工（江苏省）",
    "外出务工（新疆维吾尔自治区）",
    "外出务工（兰州市）",
)
ELDER_WORK = ("务农", "退休", "无")


def school_of(class_code: str) -> str:
    """Return the school code of a class code (``S0101-C0701`` → ``S0101``)."""
    return class_code.split("-", 1)[0]


@dataclass(frozen=True, slots=True)
class ClassInfo:
    code: str
    grade: int
    entry_year: int


@dataclass(frozen=True, slots=True)
class SchoolInfo:
    code: str
    name: str
    school_type: str
    region: str  # county code of the school's ID numbers
    address: str
    town: str
    rural: bool
    class_size: tuple[int, int]
    classes: tuple[ClassInfo, ...]


@dataclass(slots=True)
class Family:
    index: int
    surname: str
    region: str  # 户口所在地 (and 出生地) of the children
    native_place: str  # 籍贯
    ethnicity: str
    address: str
    kind: str  # both | single | left_one | left_both | orphan
    migrant: bool
    needy: bool
    rural: bool
    children: list[PupilDraft] = field(default_factory=list)
    may_grow: bool = True  # may take a brother or sister
    guardian_indexes: list[int] = field(default_factory=list)


@dataclass(slots=True)
class PupilDraft:
    school_code: str
    class_code: str
    grade: int
    name: str
    gender: str
    birth_date: date
    id_number: str
    family: Family
    enrolled_on: date
    study_mode: str = StudyMode.DAY
    health_status: str = HealthStatus.GOOD
    has_disability: bool = False
    disability_type: str = ""
    seat: str = ""
    status: str | None = None  # None until the first event puts the pupil on the register
    protected: bool = False  # the demo parent's child: keeps a plain history

    def freeze(self) -> StudentPlan:
        family = self.family
        left = {"left_one": LeftBehind.ONE_PARENT, "left_both": LeftBehind.BOTH_PARENTS}
        return StudentPlan(
            school_code=self.school_code,
            class_code=self.class_code,
            name=self.name,
            gender=self.gender,
            birth_date=self.birth_date,
            id_number=self.id_number,
            status=self.status or StudentStatus.ENROLLED,
            national_student_number=f"G{self.id_number}" if self.grade >= 1 else "",
            ethnicity=family.ethnicity,
            birthplace_region=family.region,
            native_place=family.native_place,
            hukou_region=family.region,
            health_status=self.health_status,
            class_seat_number=self.seat,
            enrolled_on=self.enrolled_on,
            study_mode=self.study_mode,
            address=family.address,
            left_behind=left.get(family.kind, LeftBehind.NO),
            is_migrant_child=family.migrant,
            has_disability=self.has_disability,
            disability_type=self.disability_type,
            is_orphan=family.kind == "orphan",
            is_needy_family=family.needy,
        )


@dataclass(slots=True)
class _Membership:
    student_id_number: str
    school_code: str
    class_code: str
    start_on: date
    end_on: date | None = None


class RegisterRuleError(ValueError):
    """The generator asked for a 异动 the register rules do not allow (a generator bug)."""


class RegisterLedger:
    """Applies 异动 the way ``students.services.status_change_record`` does."""

    def __init__(self, class_grades: dict[str, int]) -> None:
        self.class_grades = class_grades
        self.events: list[StatusChangePlan] = []
        self.memberships: list[_Membership] = []
        self._open: dict[str, _Membership] = {}
        self._last: dict[str, date] = {}

    def last_event_on(self, pupil: PupilDraft) -> date | None:
        return self._last.get(pupil.id_number)

    def record(
        self,
        pupil: PupilDraft,
        kind: str,
        day: date,
        *,
        to_class: str | None = None,
        reason: str = "",
        counterpart: str = "",
        document_number: str = "",
    ) -> None:
        key = pupil.id_number
        if pupil.status not in ALLOWED_FROM[kind]:
            raise RegisterRuleError(f"{pupil.status} → {kind}")
        last = self._last.get(key)
        if last is not None and day < last:
            raise RegisterRuleError(f"{day} before {last}")
        target_school = school_of(to_class) if kind == K.TRANSFER_IN and to_class else None
        target_school = target_school or pupil.school_code
        target_class: str | None = None
        if kind in INTO_CLASS:
            if to_class is None or school_of(to_class) != target_school:
                raise RegisterRuleError(f"{kind} needs a class of {target_school}")
            same = to_class == pupil.class_code and pupil.status is not None
            if kind in (K.REPEAT_GRADE, K.SKIP_GRADE, K.CLASS_CHANGE) and same:
                raise RegisterRuleError("same class")
            target_class = to_class
        current = self._open.pop(key, None)
        if current is not None:
            if current.start_on == day:
                self.memberships.remove(current)
            else:
                current.end_on = day
        if target_class is not None:
            membership = _Membership(key, target_school, target_class, day)
            self.memberships.append(membership)
            self._open[key] = membership
        self.events.append(
            StatusChangePlan(
                student_id_number=key,
                school_code=target_school,
                kind=kind,
                effective_on=day,
                from_class_code=pupil.class_code if pupil.status is not None else None,
                to_class_code=target_class,
                reason=reason,
                counterpart=counterpart,
                document_number=document_number,
            )
        )
        pupil.status = RESULTING_STATUS[kind]
        pupil.school_code = target_school
        if target_class is not None:
            pupil.class_code = target_class
            pupil.grade = self.class_grades[target_class]
        self._last[key] = max(day, last) if last else day

    def frozen_memberships(self) -> tuple[MembershipPlan, ...]:
        return tuple(
            MembershipPlan(m.student_id_number, m.school_code, m.class_code, m.start_on, m.end_on)
            for m in self.memberships
        )


@dataclass(slots=True)
class _GuardianDraft:
    name: str
    mobile: str
    employer: str
    id_number: str
    username: str = ""


_CUMULATIVE: dict[tuple[tuple[str, int], ...], tuple[tuple[str, ...], tuple[int, ...]]] = {}


def _weighted(rng: random.Random, options: tuple[tuple[str, int], ...]) -> str:
    """Return one of the options, by weight (``rng.choices`` with cached cumulative weights)."""
    prepared = _CUMULATIVE.get(options)
    if prepared is None:
        values = tuple(value for value, _ in options)
        totals = tuple(accumulate(weight for _, weight in options))
        prepared = _CUMULATIVE[options] = (values, totals)
    return rng.choices(prepared[0], cum_weights=prepared[1])[0]


class RegisterBuilder:
    """Builds the pupils, families, guardians and 异动 of the plan, district by district."""

    def __init__(
        self,
        *,
        rng: random.Random,
        current_year: int,
        today: date,
        id_numbers: set[str],
        mobiles: set[str],
        class_grades: dict[str, int],
    ) -> None:
        self.rng = rng
        self.current_year = current_year
        self.today = today
        self.id_numbers = id_numbers
        self.mobiles = mobiles
        self.ledger = RegisterLedger(class_grades)
        self.pupils: list[PupilDraft] = []
        self.families: list[Family] = []
        self.guardians: list[_GuardianDraft] = []
        self.guardianships: list[GuardianshipPlan] = []
        self._district_families: list[Family] = []
        self._touched: set[str] = set()  # pupils with a 异动 beyond their entry
        self._document_numbers = 0

    # ------------------------------------------------------------------ pupils
    def start_district(self) -> None:
        self._district_families = []

    def _family(self, school: SchoolInfo, *, migrant: bool | None = None) -> Family:
        rng = self.rng
        rural = school.rural
        if migrant is None:
            migrant = rng.random() < (RURAL_MIGRANT_SHARE if rural else CITY_MIGRANT_SHARE)
        kind = _weighted(rng, RURAL_FAMILIES if rural else CITY_FAMILIES)
        if migrant and kind.startswith("left"):
            kind = "both"  # a family that moved with its children leaves no one behind
        region = rng.choice(MIGRANT_ORIGINS) if migrant else school.region
        native = region if rng.random() < 0.9 else rng.choice((*MIGRANT_ORIGINS, school.region))
        if rural:
            village = (
                school.address.rsplit(school.town, 1)[-1].removeprefix("镇").removesuffix("村")
                if school.address.endswith("村")
                else rng.choice(RURAL_VILLAGES)
            )
            address = f"示范县{school.town}镇{village}村{rng.randint(1, 160)}号"
        else:
            road = rng.choice(("建设路", "人民路", "文化路", "解放路", "育才路", "和平路"))
            address = (
                f"示范市{school.town}街道{road}{rng.randint(1, 300)}号"
                f"{rng.randint(1, 12)}栋{rng.randint(1, 4)}单元"
            )
        family = Family(
            index=len(self.families),
            surname=names.surname_pick(rng),
            region=region,
            native_place=native,
            ethnicity=_weighted(rng, RURAL_ETHNICITIES if rural else CITY_ETHNICITIES),
            address=address,
            kind=kind,
            migrant=migrant,
            needy=rng.random() < NEEDY_SHARE,
            rural=rural,
        )
        self.families.append(family)
        self._district_families.append(family)
        return family

    def _sibling_family(self, grade: int) -> Family | None:
        """Return a family of the 学区 that a new pupil of ``grade`` may join, or None."""
        if not self._district_families or self.rng.random() >= SIBLING_SHARE:
            return None
        family = self.rng.choice(self._district_families)
        if (
            not family.may_grow
            or len(family.children) >= 3
            or family.kind == "orphan"
            or any(abs(child.grade - grade) < 2 for child in family.children)
        ):
            return None
        return family

    def new_pupil(
        self,
        school: SchoolInfo,
        klass: ClassInfo,
        *,
        migrant: bool | None = None,
        sibling_ok: bool = True,
    ) -> PupilDraft:
        """Return a pupil of the age of ``klass`` (not yet on the register)."""
        rng = self.rng
        grade = klass.grade
        family = (self._sibling_family(grade) if sibling_ok else None) or self._family(
            school, migrant=migrant
        )
        gender = Gender.MALE if rng.random() < MALE_PUPIL_SHARE else Gender.FEMALE
        # Age on 1 September: 6 in 一年级, 3 in 小班.
        base_age = grade + 5 if grade > 0 else grade + 6
        age = base_age + (1 if rng.random() < OLDER_PUPIL_SHARE else 0)
        year = self.current_year
        birth = names.birth_date_pick(
            rng, earliest=date(year - age - 1, 9, 1), latest=date(year - age, 8, 31)
        )
        boarding_share = RURAL_BOARDING_SHARE if school.rural else CITY_BOARDING_SHARE
        boarding = grade >= 7 and rng.random() < boarding_share
        health = HealthStatus.GOOD
        roll = rng.random()
        if roll < 0.005:
            health = HealthStatus.CHRONIC
        elif roll < 0.025:
            health = HealthStatus.FAIR
        pupil = PupilDraft(
            school_code=school.code,
            class_code=klass.code,
            grade=grade,
            name=names.person_name(rng, gender=gender, generation="child", surname=family.surname),
            gender=gender,
            birth_date=birth,
            id_number=names.id_number_pick(
                rng, region=family.region, birth=birth, gender=gender, taken=self.id_numbers
            ),
            family=family,
            enrolled_on=date(klass.entry_year, 9, 1),
            study_mode=StudyMode.BOARDING if boarding else StudyMode.DAY,
            health_status=health,
        )
        family.children.append(pupil)
        self.pupils.append(pupil)
        return pupil

    def school_pupils(self, school: SchoolInfo, *, protect_first_of: str = "") -> None:
        """Fill every class of ``school`` and enrol the pupils at their class's start."""
        low, high = school.class_size
        for klass in school.classes:
            for number in range(1, self.rng.randint(low, high) + 1):
                protect = number == 1 and klass.code == protect_first_of
                pupil = self.new_pupil(school, klass, sibling_ok=not protect)
                pupil.seat = f"{number:02d}"
                if protect:
                    # The demo parent's child: an only child living with both parents.
                    pupil.protected = True
                    family = pupil.family
                    family.kind, family.migrant, family.may_grow = "both", False, False
                self.ledger.record(pupil, K.ENROLLMENT, pupil.enrolled_on, to_class=klass.code)

    # ------------------------------------------------------------------ special groups
    def district_special_cases(self, pupils: list[PupilDraft], *, rural: bool) -> None:
        """Mark the 学区's 残疾 pupils (with type) and its 孤儿."""
        rng = self.rng
        pool = [p for p in pupils if p.grade >= 1 and not p.protected]
        kinds = RURAL_DISABILITIES if rural else CITY_DISABILITIES
        for pupil, kind in zip(rng.sample(pool, len(kinds)), kinds, strict=True):
            pupil.has_disability = True
            pupil.disability_type = kind
            pupil.health_status = HealthStatus.DISABLED
        only_children = [
            p
            for p in pool
            if len(p.family.children) == 1 and not p.family.migrant and not p.has_disability
        ]
        for pupil in rng.sample(only_children, ORPHANS_PER_DISTRICT):
            family = pupil.family
            family.kind, family.needy, family.may_grow = "orphan", True, False

    # ------------------------------------------------------------------ 异动
    def _document_number(self, day: date) -> str:
        self._document_numbers += 1
        return f"示教学籍〔{day.year}〕{self._document_numbers}号"

    def _day(self, low: date, high: date, pupil: PupilDraft | None = None) -> date | None:
        """Return a random day in [low, high] after the pupil's latest event, or None."""
        last = self.ledger.last_event_on(pupil) if pupil is not None else None
        if last is not None:
            low = max(low, last + timedelta(days=1))
        if low > high:
            return None
        return low + timedelta(days=self.rng.randrange((high - low).days + 1))

    def _is_candidate(self, pupil: PupilDraft) -> bool:
        """An enrolled school pupil (not in kindergarten) whose only event is their entry."""
        return (
            pupil.status == StudentStatus.ENROLLED
            and pupil.grade >= 1
            and not pupil.protected
            and pupil.id_number not in self._touched
        )

    def district_status_changes(
        self, schools: list[SchoolInfo], pupils: list[PupilDraft], window: tuple[date, date]
    ) -> None:
        """Record this school year's 异动 of one 学区: 调班 ×2, 休学 ×2 (one 复学), 辍学 then
        复学, 留级, 转出 ×2, a transfer between two of its schools, and 转入 ×3 new pupils."""
        rng = self.rng
        start, end = window
        middle = start + (end - start) / 2
        ledger = self.ledger
        entry_years = {c.code: c.entry_year for s in schools for c in s.classes}

        def pick(where: Callable[[PupilDraft], bool] | None = None) -> PupilDraft | None:
            """Return a random untouched pupil on the register (satisfying ``where``)."""

            def fits(pupil: PupilDraft) -> bool:
                return self._is_candidate(pupil) and (where is None or where(pupil))

            # A few random draws find one almost always; a full scan decides otherwise.
            found = next((p for p in (rng.choice(pupils) for _ in range(60)) if fits(p)), None)
            if found is None:
                pool = [p for p in pupils if fits(p)]
                found = rng.choice(pool) if pool else None
            if found is not None:
                self._touched.add(found.id_number)
            return found

        def parallel(pupil: PupilDraft) -> list[str]:
            return [
                c.code
                for s in schools
                if s.code == pupil.school_code
                for c in s.classes
                if c.grade == pupil.grade and c.code != pupil.class_code
            ]

        # 调班: within a grade with parallel classes.
        for _ in range(2):
            pupil = pick(where=lambda p: bool(parallel(p)))
            day = self._day(start, end, pupil) if pupil else None
            if pupil and day:
                reason = rng.choice(("分班调整", "家长申请，经学校同意调班"))
                ledger.record(
                    pupil, K.CLASS_CHANGE, day, to_class=rng.choice(parallel(pupil)), reason=reason
                )
        # 休学, the first one back by 复学.
        for resumes in (True, False):
            pupil = pick()
            first = self._day(start, middle if resumes else end, pupil) if pupil else None
            if pupil is None or first is None:
                continue
            ledger.record(
                pupil,
                K.SUSPENSION,
                first,
                reason=rng.choice(("因病休学", "骨折住院治疗")),
                document_number=self._document_number(first),
            )
            back = self._day(first + timedelta(days=14), end, pupil) if resumes else None
            if back:
                ledger.record(
                    pupil, K.RESUMPTION, back, to_class=pupil.class_code, reason="病愈复学"
                )
        # 辍学, then 复学 (控辍保学: brought back by the school and the township).
        pupil = pick(where=lambda p: p.grade >= 7) or pick()
        first = self._day(start, middle, pupil) if pupil else None
        if pupil and first:
            ledger.record(pupil, K.DROPOUT, first, reason="随亲属外出务工")
            back = self._day(first + timedelta(days=7), end, pupil)
            if back:
                ledger.record(
                    pupil,
                    K.RESUMPTION,
                    back,
                    to_class=pupil.class_code,
                    reason="控辍保学劝返复学",
                    document_number=self._document_number(back),
                )

        # 留级 at the start of the school year, into a class of the grade below.
        def lower(pupil: PupilDraft) -> list[str]:
            return [
                c.code
                for s in schools
                if s.code == pupil.school_code
                for c in s.classes
                if c.grade == pupil.grade - 1
            ]

        def usual_age(pupil: PupilDraft) -> bool:
            on = date(self.current_year, 9, 1)
            return years_before(on, pupil.grade + 6) < pupil.birth_date and bool(lower(pupil))

        pupil = pick(where=usual_age)
        year_start = date(self.current_year, 9, 1)
        if pupil and self._day(year_start, min(year_start, self.today), pupil):
            ledger.record(
                pupil,
                K.REPEAT_GRADE,
                year_start,
                to_class=rng.choice(lower(pupil)),
                reason="因病缺课较多，经家长申请留级",
            )
        # 转出 to schools outside the 学区.
        for counterpart in ("转往外省学校（随父母务工）", "转往示范市第一实验学校"):
            pupil = pick()
            day = self._day(start, end, pupil) if pupil else None
            if pupil and day:
                ledger.record(
                    pupil,
                    K.TRANSFER_OUT,
                    day,
                    reason="家庭搬迁" if "示范市" in counterpart else "随父母外出务工",
                    counterpart=counterpart,
                    document_number=self._document_number(day),
                )
        # A transfer between two schools of the 学区: 转出 here, 转入 there, same grade.
        names_by_code = {s.code: s.name for s in schools}

        def elsewhere(pupil: PupilDraft) -> list[str]:
            return [
                c.code
                for s in schools
                if s.code != pupil.school_code and s.school_type != SchoolType.KINDERGARTEN
                for c in s.classes
                if c.grade == pupil.grade
            ]

        pupil = pick(where=lambda p: bool(elsewhere(p)))
        first = self._day(start, middle, pupil) if pupil else None
        if pupil and first:
            target = rng.choice(elsewhere(pupil))
            origin = pupil.school_code
            ledger.record(
                pupil,
                K.TRANSFER_OUT,
                first,
                reason="家庭搬迁",
                counterpart=names_by_code[school_of(target)],
                document_number=self._document_number(first),
            )
            # (The class must exist by then: a 七年级 class begins on 1 September.)
            opens = date(entry_years[target], 9, 1)
            back = self._day(max(first + timedelta(days=3), opens), end, pupil)
            if back:
                ledger.record(
                    pupil,
                    K.TRANSFER_IN,
                    back,
                    to_class=target,
                    reason="家庭搬迁",
                    counterpart=names_by_code[origin],
                )
        # 转入 of new pupils from outside the 学区.
        targets = [
            (s, c)
            for s in schools
            if s.school_type != SchoolType.KINDERGARTEN
            for c in s.classes
            if c.entry_year < self.current_year
        ]
        for counterpart, migrant in (
            ("外县学校转入（随父母返乡）", False),
            ("外省学校转入（随父母务工）", True),
            ("示范市第三中学转入", False),
        ):
            if not targets:
                break
            school, klass = rng.choice(targets)
            day = self._day(start, end)
            if day is None:
                continue
            pupil = self.new_pupil(school, klass, migrant=migrant, sibling_ok=False)
            pupil.seat = f"{sum(1 for p in pupils if p.class_code == klass.code) + 1:02d}"
            pupils.append(pupil)
            self._touched.add(pupil.id_number)
            ledger.record(
                pupil,
                K.TRANSFER_IN,
                day,
                to_class=klass.code,
                reason="随父母返乡" if not migrant else "随父母务工",
                counterpart=counterpart,
                document_number=self._document_number(day),
            )

    # ------------------------------------------------------------------ guardians
    def _guardian(
        self, family: Family, *, relation: str, eldest: date, employer: str
    ) -> _GuardianDraft:
        rng = self.rng
        male = relation in (GuardianRelation.FATHER, GuardianRelation.GRANDFATHER, "uncle")
        gender = Gender.MALE if male else Gender.FEMALE
        own_surname = relation in (GuardianRelation.FATHER, GuardianRelation.GRANDFATHER, "uncle")
        gaps: dict[str, tuple[int, int]] = {
            GuardianRelation.FATHER: (24, 38),
            GuardianRelation.MOTHER: (22, 36),
            GuardianRelation.GRANDFATHER: (48, 62),
            GuardianRelation.GRANDMOTHER: (46, 60),
        }
        gap = gaps.get(relation, (26, 40))
        birth = names.birth_date_pick(
            rng,
            earliest=years_before(eldest, gap[1]),
            latest=years_before(eldest, gap[0]),
        )
        draft = _GuardianDraft(
            name=names.person_name(
                rng,
                gender=gender,
                generation="adult",
                surname=family.surname if own_surname else "",
            ),
            mobile=names.mobile_pick(rng, taken=self.mobiles),
            employer=employer,
            id_number=names.id_number_pick(
                rng, region=family.region, birth=birth, gender=gender, taken=self.id_numbers
            ),
        )
        return draft

    def family_guardians(self) -> None:
        """Give every family its guardians (1–2, shared by brothers and sisters)."""
        rng = self.rng
        for family in self.families:
            if not family.children:
                continue
            eldest = min(child.birth_date for child in family.children)
            work = RURAL_WORK if family.rural else CITY_WORK
            members: list[tuple[str, str, bool]] = []  # (relation, employer, is_custodian)
            if family.kind == "both":
                pair: list[tuple[str, str, bool]] = [
                    (GuardianRelation.FATHER, rng.choice(work), True),
                    (GuardianRelation.MOTHER, rng.choice(work), True),
                ]
                members = pair if rng.random() < 0.6 else pair[::-1]
            elif family.kind == "single":
                members = [
                    (
                        rng.choice((GuardianRelation.MOTHER, GuardianRelation.FATHER)),
                        rng.choice(work),
                        True,
                    )
                ]
            elif family.kind == "left_one":
                away, home = (
                    (GuardianRelation.FATHER, GuardianRelation.MOTHER)
                    if rng.random() < 0.8
                    else (GuardianRelation.MOTHER, GuardianRelation.FATHER)
                )
                members = [(home, rng.choice(work), True), (away, rng.choice(AWAY_WORK), False)]
            elif family.kind == "left_both":
                elder = rng.choice((GuardianRelation.GRANDMOTHER, GuardianRelation.GRANDFATHER))
                members = [
                    (elder, rng.choice(ELDER_WORK), True),
                    (GuardianRelation.FATHER, rng.choice(AWAY_WORK), False),
                ]
            else:  # orphan: raised by a grandparent, sometimes with an uncle
                members = [(GuardianRelation.GRANDMOTHER, rng.choice(ELDER_WORK), True)]
                if rng.random() < 0.5:
                    members.append(("uncle", rng.choice(work), False))
            for relation, employer, custodian in members:
                guardian = self._guardian(
                    family, relation=relation, eldest=eldest, employer=employer
                )
                index = len(self.guardians)
                self.guardians.append(guardian)
                family.guardian_indexes.append(index)
                stored = GuardianRelation.OTHER if relation == "uncle" else relation
                for child in family.children:
                    self.guardianships.append(
                        GuardianshipPlan(index, child.id_number, stored, custodian)
                    )

    def link_account(self, pupil: PupilDraft, *, relation: str, username: str) -> GuardianPlan:
        """Link ``username`` to the pupil's guardian of ``relation``; return that guardian."""
        for guardianship in self.guardianships:
            if (
                guardianship.student_id_number == pupil.id_number
                and guardianship.relation == relation
            ):
                guardian = self.guardians[guardianship.guardian_index]
                guardian.username = username
                return GuardianPlan(
                    guardian.name, guardian.mobile, guardian.employer, guardian.id_number, username
                )
        raise LookupError(relation)

    def frozen_guardians(self) -> tuple[GuardianPlan, ...]:
        return tuple(
            GuardianPlan(g.name, g.mobile, g.employer, g.id_number, g.username)
            for g in self.guardians
        )


def event_window(today: date, current_year: int) -> tuple[date, date]:
    """Return the days this school year's demo 异动 fall on: from the second week of the year
    to yesterday. Early in September, when that is too short, the window reaches back into
    the previous school year (pupils who entered this year are then left alone by the
    ``after the latest event`` rule)."""
    start = date(current_year, 9, 8)
    end = today - timedelta(days=1)
    if (end - start).days < 21:
        start = date(current_year - 1, 10, 8)
    return start, max(end, start)
