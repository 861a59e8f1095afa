"""The demo plan, built without a database: determinism, shape and identifiers."""

from collections import Counter
from datetime import date

from xiaowu.core.identifiers import id_birth_date, id_number_is_valid
from xiaowu.core.models import Gender
from xiaowu.demo.generator import DEMO_USERNAMES, demo_plan_build
from xiaowu.demo.layouts import CURRENT_YEAR, stage_start
from xiaowu.org.models import SchoolType, UnitKind
from xiaowu.staff.models import PostCategory, StaffStatus


def _id_matches(id_number, *, birth_date, gender):
    male_digit = int(id_number[16]) % 2 == 1
    return (
        id_number_is_valid(id_number)
        and id_birth_date(id_number) == birth_date
        and male_digit == (gender == Gender.MALE)
    )


def test_same_seed_gives_the_same_plan():
    first = demo_plan_build(scale=1, seed=7)
    second = demo_plan_build(scale=1, seed=7)

    assert first == second
    assert [s.name for s in first.students] == [s.name for s in second.students]
    assert [s.name for s in first.staff] == [s.name for s in second.staff]


def test_another_seed_gives_other_names():
    first = demo_plan_build(scale=1, seed=7)
    other = demo_plan_build(scale=1, seed=8)

    assert [s.name for s in first.staff] != [s.name for s in other.staff]
    # The structure does not depend on the seed at scale 1.
    assert [u.code for u in first.units] == [u.code for u in other.units]


def test_scale_one_shape():
    plan = demo_plan_build(scale=1)
    summary = plan.summary()
    schools = [u for u in plan.units if u.kind == UnitKind.SCHOOL]

    assert summary.districts == 1
    assert dict(summary.schools_by_type) == {
        SchoolType.JUNIOR_MIDDLE: 2,
        SchoolType.COMPLETE_PRIMARY: 5,
        SchoolType.TEACHING_POINT: 2,
        SchoolType.KINDERGARTEN: 1,
    }
    assert summary.classes == 43
    assert (summary.staff, summary.full_time_teachers, summary.full_time_teachers_female) == (
        155,
        154,
        56,
    )
    assert 800 <= summary.students <= 900
    # The first school (lowest code) is a junior middle school with several classes.
    assert schools[0].code == min(s.code for s in schools)
    assert schools[0].school_type == SchoolType.JUNIOR_MIDDLE
    first_classes = [
        u for u in plan.units if u.kind == UnitKind.SCHOOL_CLASS and u.school_code == "S0101"
    ]
    assert len(first_classes) == 6


def test_staff_statuses_and_categories():
    plan = demo_plan_build(scale=1)

    assert Counter(s.status for s in plan.staff) == {
        StaffStatus.ON_POST: 150,
        StaffStatus.SUBSTITUTE: 3,
        StaffStatus.LONG_SICK_LEAVE: 1,
        StaffStatus.SECONDED_IN: 1,
    }
    assert Counter(s.post_category for s in plan.staff) == {
        PostCategory.FULL_TIME_TEACHER: 154,
        PostCategory.TEACHING_SUPPORT: 1,
    }
    assert len({s.mobile for s in plan.staff}) == 155
    assert all(len(s.mobile) == 11 and s.mobile.isdigit() for s in plan.staff)


def test_ids_are_valid_and_match_birth_date_and_gender():
    plan = demo_plan_build(scale=1)
    people = [*plan.students, *plan.staff]

    assert all(_id_matches(p.id_number, birth_date=p.birth_date, gender=p.gender) for p in people)
    assert len({p.id_number for p in people}) == len(people)


def test_pupils_are_the_age_of_their_grade():
    plan = demo_plan_build(scale=1)
    grades = {u.code: u.grade for u in plan.units if u.kind == UnitKind.SCHOOL_CLASS}

    for pupil in plan.students:
        grade = grades[pupil.class_code]
        assert grade is not None
        expected = grade + 5 if grade > 0 else grade + 6
        age = (
            CURRENT_YEAR
            - pupil.birth_date.year
            - ((pupil.birth_date.month, pupil.birth_date.day) > (9, 1))
        )
        assert age in (expected, expected + 1), pupil


def test_entry_year_follows_grade_and_stage():
    plan = demo_plan_build(scale=1)
    school_types = {u.code: u.school_type for u in plan.units if u.kind == UnitKind.SCHOOL}
    classes = [
        (school_types[u.school_code or ""], u.grade or 0, u.entry_year)
        for u in plan.units
        if u.kind == UnitKind.SCHOOL_CLASS
    ]

    assert {
        (grade, entry_year)
        for school_type, grade, entry_year in classes
        if school_type == SchoolType.JUNIOR_MIDDLE
    } == {(7, CURRENT_YEAR), (8, CURRENT_YEAR - 1), (9, CURRENT_YEAR - 2)}
    assert {(grade, entry_year) for _, grade, entry_year in classes if grade < 0} == {
        (-3, CURRENT_YEAR),
        (-2, CURRENT_YEAR - 1),
        (-1, CURRENT_YEAR - 2),
    }
    for school_type, grade, entry_year in classes:
        assert entry_year == CURRENT_YEAR - (grade - stage_start(school_type))


def test_demo_accounts_and_roles():
    plan = demo_plan_build(scale=1)
    roles = {(r.username, r.role, r.unit_code) for r in plan.roles}
    classes = [u for u in plan.units if u.kind == UnitKind.SCHOOL_CLASS]
    head_teacher_classes = {r.unit_code for r in plan.roles if r.role == "head_teacher"}

    assert [a.username for a in plan.accounts if a.demo_login] == [
        "admin",
        "district",
        "principal",
        "teacher",
        "teacher2",
        "parent",
    ]
    assert set(DEMO_USERNAMES) <= {a.username for a in plan.accounts}
    assert {u.code for u in classes} == head_teacher_classes
    assert ("principal", "principal", "S0101") in roles
    assert ("teacher", "head_teacher", "S0101-C0701") in roles
    assert ("teacher", "subject_teacher", "S0101-C0701") in roles
    assert ("teacher2", "subject_teacher", "S0102-C0701") in roles
    assert ("parent", "guardian", "S0101") in roles
    # Every member of the first school's staff has an account.
    assert all(s.username for s in plan.staff if s.school_code == "S0101")
    assert len({a.username for a in plan.accounts}) == len(plan.accounts)


def test_parent_is_guardian_of_a_pupil_in_the_teachers_class():
    plan = demo_plan_build(scale=1)
    (index,) = [i for i, g in enumerate(plan.guardians) if g.username]
    guardian = plan.guardians[index]
    (guardianship,) = [g for g in plan.guardianships if g.guardian_index == index]
    child = next(s for s in plan.students if s.id_number == guardianship.student_id_number)
    account = next(a for a in plan.accounts if a.username == "parent")

    assert guardian.username == "parent"
    assert (account.full_name, account.mobile) == (guardian.name, guardian.mobile)
    assert guardianship.relation in ("father", "mother")
    assert child.class_code == "S0101-C0701"
    assert child.status == "enrolled"
    # The child's history is plain: entered with the class, still there.
    assert [e.kind for e in plan.status_changes if e.student_id_number == child.id_number] == [
        "enrollment"
    ]


def test_groupings():
    plan = demo_plan_build(scale=1)
    (alliance,) = plan.alliances
    (cluster,) = plan.clusters

    assert alliance.lead_code == "S0101"
    assert alliance.member_codes == ("S0101", "S0103", "S0104", "S0105")
    assert (cluster.subject, cluster.grade) == ("语文", 3)
    assert cluster.member_codes == ("S0103", "S0104", "S0105", "S0106", "S0107")


def test_city_scale_has_ten_schools_per_district():
    plan = demo_plan_build(scale=2, seed=3)
    summary = plan.summary()
    schools = [u for u in plan.units if u.kind == UnitKind.SCHOOL]

    assert summary.districts == 2
    assert Counter(s.parent_code for s in schools) == {"D01": 10, "D02": 10}
    assert dict(summary.schools_by_type) == {
        SchoolType.JUNIOR_MIDDLE: 4,
        SchoolType.COMPLETE_PRIMARY: 8,
        SchoolType.KINDERGARTEN: 4,
        SchoolType.NINE_YEAR_SCHOOL: 2,
        SchoolType.CENTRAL_PRIMARY: 2,
    }
    assert 9_000 <= summary.students <= 12_000
    assert len({u.code for u in plan.units}) == len(plan.units)
    assert all(
        _id_matches(p.id_number, birth_date=p.birth_date, gender=p.gender)
        for p in plan.students[:2000]
    )
    assert all(p.birth_date < date(2023, 9, 1) for p in plan.students)
