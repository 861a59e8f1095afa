"""The demo plan's 学籍, guardians, 异动 and staff files, built without a database."""

from collections import Counter, defaultdict
from datetime import date
from itertools import pairwise

import pytest

from xiaowu.core.identifiers import id_number_is_valid
from xiaowu.demo.generator import STANDING_NOTE, current_term, demo_plan_build
from xiaowu.demo.layouts import CURRENT_YEAR, school_year_start
from xiaowu.demo.register import event_window, school_of
from xiaowu.org.models import SchoolType, UnitKind
from xiaowu.staff.models import HonourLevel, HonourTitle, PostCategory, StaffStatus
from xiaowu.students.models import StatusChangeKind, StudentStatus
from xiaowu.students.reference import ETHNICITIES, LeftBehind
from xiaowu.students.services import ALLOWED_FROM, INTO_CLASS, RESULTING_STATUS
from xiaowu.students.validation import national_student_number_is_valid

# A day in the middle of the first term of the current school year.
TODAY = date(CURRENT_YEAR, 12, 15)


@pytest.fixture(scope="module")
def plan():
    return demo_plan_build(scale=1, today=TODAY)


@pytest.fixture(scope="module")
def city_plan():
    return demo_plan_build(scale=2, seed=3, today=TODAY)


def _units(plan, kind):
    return {u.code: u for u in plan.units if u.kind == kind}


def _school_types(plan):
    return {u.code: u.school_type for u in _units(plan, UnitKind.SCHOOL).values()}


# --------------------------------------------------------------------------- pupils


def test_national_template_fields(plan):
    classes = _units(plan, UnitKind.SCHOOL_CLASS)
    ethnicities = Counter(p.ethnicity for p in plan.students)

    assert set(ethnicities) <= {code for code, _ in ETHNICITIES}
    assert ethnicities["01"] / len(plan.students) > 0.85  # mostly 汉族 …
    assert {"03", "04"} & set(ethnicities)  # … with 回族, 藏族 and a few others
    for pupil in plan.students:
        grade = classes[pupil.class_code].grade
        # Region codes agree with the synthetic ID number's region prefix.
        assert pupil.hukou_region == pupil.birthplace_region == pupil.id_number[:6]
        assert pupil.native_place[:4] == "6213"
        assert pupil.enrolled_on == date(classes[pupil.class_code].entry_year, 9, 1) or (
            pupil.enrolled_on is not None and pupil.enrolled_on.month == 9
        )
        if grade >= 1:
            assert pupil.national_student_number == f"G{pupil.id_number}"
            assert national_student_number_is_valid(pupil.national_student_number)
        else:  # 幼儿 are not in the 中小学生学籍 system
            assert pupil.national_student_number == ""
        assert pupil.class_seat_number.isdigit()
        assert pupil.address.startswith("示范县青石镇")
    assert len({p.national_student_number for p in plan.students if p.national_student_number}) == (
        sum(1 for p in plan.students if p.national_student_number)
    )


def test_boarding_in_middle_schools(plan):
    types = _school_types(plan)
    middle = [p for p in plan.students if types[p.school_code] == SchoolType.JUNIOR_MIDDLE]
    boarders = [p for p in plan.students if p.study_mode == "2"]

    assert {p.school_code for p in boarders} <= {"S0101", "S0102"}
    assert 0.30 <= len(boarders) / len(middle) <= 0.40


def test_special_groups_at_scale_one(plan):
    pupils = plan.students
    left = Counter(p.left_behind for p in pupils if p.left_behind != LeftBehind.NO)
    migrants = [p for p in pupils if p.is_migrant_child]
    disabled = [p for p in pupils if p.has_disability]

    assert 0.15 <= sum(left.values()) / len(pupils) <= 0.25
    assert left[LeftBehind.BOTH_PARENTS] > 0
    assert left[LeftBehind.ONE_PARENT] > 2 * left[LeftBehind.BOTH_PARENTS]  # mostly 单亲留守
    assert 1 <= len(migrants) <= 20
    assert all(p.hukou_region != "621321" for p in migrants)
    assert not any(p.left_behind != LeftBehind.NO for p in migrants)
    assert 1 <= len(disabled) <= 3
    assert all(p.disability_type for p in disabled)
    assert all(p.health_status == "6" for p in disabled)
    assert not any(p.disability_type for p in pupils if not p.has_disability)
    assert sum(1 for p in pupils if p.is_orphan) == 1
    assert 0.03 <= sum(1 for p in pupils if p.is_needy_family) / len(pupils) <= 0.08


def test_city_scale_has_the_special_groups_cheaply(city_plan):
    counts = dict(city_plan.summary().special_groups)

    assert counts["orphan"] == 2
    assert counts["disability"] == 4
    assert counts["migrant"] > counts["left_behind"] > 0


# --------------------------------------------------------------------------- guardians


def test_every_pupil_has_one_or_two_guardians(plan):
    per_pupil = Counter(g.student_id_number for g in plan.guardianships)
    per_guardian = Counter(g.guardian_index for g in plan.guardianships)

    assert set(per_pupil) == {p.id_number for p in plan.students}
    assert set(per_pupil.values()) <= {1, 2}
    assert 1 in per_pupil.values()
    assert 2 in per_pupil.values()
    # Brothers and sisters occasionally share their guardians.
    assert 1 <= sum(1 for n in per_guardian.values() if n > 1) < len(plan.students) / 10
    assert set(per_guardian) == set(range(len(plan.guardians)))
    assert len({g.mobile for g in plan.guardians}) == len(plan.guardians)
    for guardian in plan.guardians:
        assert 2 <= len(guardian.name) <= 4
        assert len(guardian.mobile) == 11
        assert guardian.mobile.isdigit()
        assert id_number_is_valid(guardian.id_number)
    staff_mobiles = {s.mobile for s in plan.staff}
    assert not staff_mobiles & {g.mobile for g in plan.guardians}


def test_custodians_follow_the_family_situation(plan):
    by_pupil = defaultdict(list)
    for guardianship in plan.guardianships:
        by_pupil[guardianship.student_id_number].append(guardianship)
    for pupil in plan.students:
        relations = {g.relation: g.is_custodian for g in by_pupil[pupil.id_number]}
        assert any(relations.values()), pupil
        if pupil.left_behind == LeftBehind.BOTH_PARENTS:
            assert relations.get("father") is False
            assert {"grandfather", "grandmother"} & {r for r, c in relations.items() if c}
        if pupil.is_orphan:
            assert not {"father", "mother"} & set(relations)


def test_siblings_share_a_surname_and_differ_in_grade(plan):
    classes = _units(plan, UnitKind.SCHOOL_CLASS)
    pupils = {p.id_number: p for p in plan.students}
    children = defaultdict(list)
    for guardianship in plan.guardianships:
        children[guardianship.guardian_index].append(pupils[guardianship.student_id_number])

    families = [kids for kids in children.values() if len(kids) > 1]
    assert families
    for kids in families:
        assert len({k.name[0] for k in kids}) == 1
        assert len({k.hukou_region for k in kids}) == 1
        assert len({classes[k.class_code].grade for k in kids}) == len(kids)


# --------------------------------------------------------------------------- 异动


def _replay(plan):
    """Replay the plan's events through the service rules; return the final state."""
    state: dict[str, tuple[str | None, str | None, str | None]] = {}
    for event in sorted(plan.status_changes, key=lambda e: e.effective_on):
        status, _school, klass = state.get(event.student_id_number, (None, None, None))
        assert status in ALLOWED_FROM[event.kind], event
        assert event.from_class_code == klass, event
        if event.kind in INTO_CLASS:
            assert event.to_class_code is not None
            assert school_of(event.to_class_code) == event.school_code
            klass = event.to_class_code
        state[event.student_id_number] = (RESULTING_STATUS[event.kind], event.school_code, klass)
    return state


def test_status_changes_of_the_school_year(plan):
    kinds = Counter(e.kind for e in plan.status_changes if e.kind != StatusChangeKind.ENROLLMENT)
    start, end = event_window(TODAY, CURRENT_YEAR)

    assert kinds == {
        StatusChangeKind.TRANSFER_IN: 4,  # 3 from outside, 1 between two schools of the 学区
        StatusChangeKind.TRANSFER_OUT: 3,
        StatusChangeKind.SUSPENSION: 2,
        StatusChangeKind.RESUMPTION: 2,  # one after 休学, one after 辍学
        StatusChangeKind.CLASS_CHANGE: 2,
        StatusChangeKind.DROPOUT: 1,
        StatusChangeKind.REPEAT_GRADE: 1,
    }
    for event in plan.status_changes:
        if event.kind == StatusChangeKind.REPEAT_GRADE:
            assert event.effective_on == date(CURRENT_YEAR, 9, 1)
        elif event.kind != StatusChangeKind.ENROLLMENT:
            assert start <= event.effective_on <= end < TODAY
    dropouts = [e.student_id_number for e in plan.status_changes if e.kind == "dropout"]
    history = [e.kind for e in plan.status_changes if e.student_id_number == dropouts[0]]
    assert history == ["enrollment", "dropout", "resumption"]


def test_status_changes_memberships_and_current_fields_agree(plan):
    state = _replay(plan)
    open_memberships = {m.student_id_number: m for m in plan.memberships if m.end_on is None}
    by_pupil = defaultdict(list)
    for membership in plan.memberships:
        by_pupil[membership.student_id_number].append(membership)

    assert set(state) == {p.id_number for p in plan.students}
    for pupil in plan.students:
        status, school, klass = state[pupil.id_number]
        assert (pupil.status, pupil.school_code, pupil.class_code) == (status, school, klass)
        current = open_memberships.get(pupil.id_number)
        assert (current is not None) == (pupil.status == StudentStatus.ENROLLED), pupil
        if current is not None:
            assert (current.class_code, current.school_code) == (pupil.class_code, school)
        spans = sorted(by_pupil[pupil.id_number], key=lambda m: m.start_on)
        for before, after in pairwise(spans):
            assert before.end_on is not None
            assert before.end_on <= after.start_on
        assert all(m.end_on is None or m.end_on > m.start_on for m in spans)
    assert Counter(p.status for p in plan.students) == {
        StudentStatus.ENROLLED: len(plan.students) - 3,
        StudentStatus.TRANSFERRED_OUT: 2,
        StudentStatus.SUSPENDED: 1,
    }


@pytest.mark.parametrize(
    "today",
    [
        date(CURRENT_YEAR, 9, 1),  # the first day: the window reaches back a year
        date(CURRENT_YEAR, 9, 9),
        date(CURRENT_YEAR + 1, 2, 1),  # winter holiday
        date(CURRENT_YEAR + 1, 8, 20),  # summer holiday
    ],
)
def test_any_day_of_the_school_year_gives_a_consistent_plan(today):
    plan = demo_plan_build(scale=1, today=today)

    _replay(plan)
    assert all(e.effective_on <= today for e in plan.status_changes)
    assert plan.term == current_term(today)
    assert plan.term[0] <= today
    assert school_year_start(plan.term[0]) == CURRENT_YEAR


# --------------------------------------------------------------------------- staff


def test_every_staff_member_has_an_open_status_period(plan):
    periods = defaultdict(list)
    for period in plan.staff_periods:
        periods[period.staff_id_number].append(period)

    assert set(periods) == {s.id_number for s in plan.staff}
    for member in plan.staff:
        spans = sorted(periods[member.id_number], key=lambda p: p.start_on)
        assert [p.end_on for p in spans].count(None) == 1
        assert spans[-1].end_on is None
        assert spans[-1].status == member.status
        for before, after in pairwise(spans):
            assert before.end_on == after.start_on
            assert before.status != after.status
        assert spans[0].start_on >= member.started_work_on
        assert spans[-1].start_on <= TODAY
    history = Counter(
        p.status for p in plan.staff_periods if p.end_on is not None and p.status != "on_post"
    )
    assert set(history) <= {StaffStatus.SECONDED_OUT, StaffStatus.LONG_SICK_LEAVE}
    assert sum(history.values()) >= 2


def test_education_and_titles(plan):
    teachers = [s for s in plan.staff if s.post_category == PostCategory.FULL_TIME_TEACHER]

    assert all(s.education for s in plan.staff)
    assert all(s.started_work_on is not None for s in plan.staff)
    assert all(s.started_work_on > s.birth_date for s in plan.staff)
    titles = Counter(s.professional_title for s in teachers)
    assert titles["first"] > titles["senior"] > 0
    assert titles["none"] >= 3  # the 代课 teachers at least
    assert Counter(s.education for s in teachers)["bachelor"] > len(teachers) / 2


def test_honours_of_about_fifteen_percent_of_the_teachers(plan):
    teachers = {
        s.id_number: s for s in plan.staff if s.post_category == PostCategory.FULL_TIME_TEACHER
    }

    assert 0.10 <= len(plan.honours) / len(teachers) <= 0.16
    for honour in plan.honours:
        assert honour.staff_id_number in teachers
        assert honour.title in {
            HonourTitle.KEY_TEACHER,
            HonourTitle.SUBJECT_LEADER,
            HonourTitle.TEACHING_EXPERT,
            HonourTitle.RISING_STAR,
        }
        assert honour.level in {HonourLevel.COUNTY, HonourLevel.CITY, HonourLevel.PROVINCE}
        assert honour.awarded_on <= TODAY
        assert honour.subject == teachers[honour.staff_id_number].subject
    assert len({h.level for h in plan.honours}) >= 2


def test_teaching_assignments_cover_every_class(plan):
    classes = _units(plan, UnitKind.SCHOOL_CLASS)
    staff = {s.id_number: s for s in plan.staff}
    heads = Counter(t.class_code for t in plan.teaching if t.role == "head_teacher")
    subjects: defaultdict[str, set[str]] = defaultdict(set)
    for assignment in plan.teaching:
        assert staff[assignment.staff_id_number].school_code == school_of(assignment.class_code)
        if assignment.role == "subject_teacher":
            assert assignment.weekly_periods
            assert assignment.subject not in subjects[assignment.class_code]
            subjects[assignment.class_code].add(assignment.subject)
        else:
            assert (assignment.subject, assignment.weekly_periods) == ("", None)

    assert heads == dict.fromkeys(classes, 1)
    for code, unit in classes.items():
        if unit.grade < 0:  # 幼儿园: a head teacher only
            assert not subjects[code]
        elif unit.grade <= 2:
            assert {"语文", "数学", "道德与法治"} <= subjects[code]
            assert "英语" not in subjects[code]
        elif unit.grade <= 6:
            assert {"语文", "数学", "英语", "科学"} <= subjects[code]
        else:
            assert {"语文", "数学", "英语", "道德与法治", "历史"} <= subjects[code]
    assert not any(
        staff[t.staff_id_number].status == StaffStatus.LONG_SICK_LEAVE for t in plan.teaching
    )


def test_teaching_roles_follow_the_assignments_for_the_term(plan):
    staff = {s.id_number: s for s in plan.staff}
    term_roles = [r for r in plan.roles if r.assignment_index is not None]
    expected = {
        (
            staff[t.staff_id_number].username,
            "head_teacher" if t.role == "head_teacher" else "subject_teacher",
            t.class_code,
        )
        for t in plan.teaching
        if staff[t.staff_id_number].username
    }

    assert {(r.username, r.role, r.unit_code) for r in term_roles} == expected
    assert len(term_roles) == len(expected)  # one per account, role and class (get_or_create)
    for role in term_roles:
        assignment = plan.teaching[role.assignment_index]
        assert staff[assignment.staff_id_number].username == role.username
        assert assignment.class_code == role.unit_code
        assert (role.valid_from, role.valid_until) == plan.term
    standing = {(r.username, r.role, r.unit_code) for r in plan.roles if r.note == STANDING_NOTE}
    assert standing == {
        ("teacher", "head_teacher", "S0101-C0701"),
        ("teacher", "subject_teacher", "S0101-C0701"),
        ("teacher2", "subject_teacher", "S0102-C0701"),
    }
    assert standing <= expected
    # Only 班主任 and the demo logins' colleagues at the first school have accounts.
    assert not any(r.role == "subject_teacher" and r.username == "principal" for r in plan.roles)


def test_age_cohorts_of_the_district(plan):
    cohorts = {(c.unit_code, c.age_from, c.age_to): c.headcount for c in plan.age_cohorts}
    ages: Counter[int] = Counter()
    day = date(CURRENT_YEAR, 9, 1)
    for pupil in plan.students:
        if pupil.status != "enrolled":
            continue
        born = pupil.birth_date
        ages[day.year - born.year - ((day.month, day.day) < (born.month, born.day))] += 1

    primary = sum(ages[age] for age in range(6, 12))
    junior = sum(ages[age] for age in range(12, 15))
    assert set(cohorts) == {("D01", 6, 11), ("D01", 12, 14)}
    assert primary < cohorts[("D01", 6, 11)] <= primary * 1.02
    assert junior < cohorts[("D01", 12, 14)] <= junior * 1.02
