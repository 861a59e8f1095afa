"""The operator commands: demo_data, orgs, demo and serve, against the test database."""

import json
import re
from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, F
from django.test import Client
from django.utils import timezone

from xiaowu.accounts.models import RoleAssignment, User
from xiaowu.accounts.roles import Role
from xiaowu.accounts.tests.factories import UserFactory
from xiaowu.audit.models import AuditEvent
from xiaowu.core.identifiers import id_birth_date, id_number_is_valid
from xiaowu.core.management.commands import serve
from xiaowu.core.models import Gender
from xiaowu.demo.generator import DEMO_PASSWORD, DEMO_USERNAMES, current_term
from xiaowu.demo.layouts import CURRENT_YEAR
from xiaowu.org.models import (
    AllianceMembership,
    OrgUnit,
    OrgUnitClosure,
    ResearchCluster,
    SchoolAlliance,
    SchoolYear,
    SchoolYearRollover,
    Term,
    UnitKind,
)
from xiaowu.org.rollover import rollover_plan
from xiaowu.staff.models import (
    PostCategory,
    StaffHonour,
    StaffMember,
    StaffStatusPeriod,
    TeachingAssignment,
)
from xiaowu.students.models import (
    AgeCohortPopulation,
    ClassMembership,
    Guardian,
    Guardianship,
    StatusChange,
    StatusChangeKind,
    Student,
)
from xiaowu.students.selectors import (
    SPECIAL_GROUPS,
    special_group_counts,
    student_children_of,
)
from xiaowu.students.services import RESULTING_STATUS, status_change_record
from xiaowu.students.validation import national_student_number_is_valid

pytestmark = pytest.mark.django_db


def _demo_data(*args):
    out = StringIO()
    call_command("demo_data", *args, stdout=out)
    return out.getvalue()


def _number(pattern, text):
    match = re.search(pattern, text)
    assert match, (pattern, text)
    return int(match.group(1))


def _term_start():
    return current_term(timezone.localdate())[0]


def _first_school():
    return OrgUnit.objects.schools().order_by("parent__sort_order", "sort_order", "code").first()


def test_demo_data_builds_the_district_it_prints():
    output = _demo_data()

    schools = OrgUnit.objects.schools()
    by_type = dict(schools.values_list("school_type").annotate(n=Count("id")))
    teachers = StaffMember.objects.filter(post_category=PostCategory.FULL_TIME_TEACHER)
    assert schools.count() == 10 == _number(r"(\d+) 所学校", output)
    assert by_type == {
        "junior_middle": 2,
        "complete_primary": 5,
        "teaching_point": 2,
        "kindergarten": 1,
    }
    assert "初级中学 2 所，完全小学 5 所，教学点 2 所，幼儿园 1 所" in output
    assert OrgUnit.objects.classes().count() == 43 == _number(r"(\d+) 个教学班", output)
    enrolled = Student.objects.filter(status="enrolled")
    # The printed 学生 are the 在校生, as the dashboard counts them; all rows are 学籍记录.
    assert enrolled.count() == _number(r"学生：(\d+) 人", output)
    assert enrolled.filter(gender=Gender.FEMALE).count() == _number(
        r"学生：\d+ 人（女 (\d+) 人）", output
    )
    assert Student.objects.count() == _number(r"学籍记录 (\d+) 条", output)
    assert Student.objects.exclude(status="enrolled").count() == sum(
        int(n) for n in re.findall(r"(?:转出|休学) (\d+) 人", output)
    )
    assert StaffMember.objects.count() == 155 == _number(r"教职工：(\d+) 人", output)
    assert teachers.count() == 154 == _number(r"专任教师 (\d+) 人", output)
    assert teachers.filter(gender=Gender.FEMALE).count() == 56
    assert 800 <= Student.objects.count() <= 900
    for username in DEMO_USERNAMES:
        assert re.search(rf"^{username}\s", output, re.MULTILINE), username


def test_students_have_valid_ids_matching_birth_date_and_gender():
    _demo_data()

    rows = list(Student.objects.values_list("id_number", "birth_date", "gender", "school_class"))
    assert rows
    for id_number, birth_date, gender, school_class in rows:
        assert id_number is not None
        assert id_number_is_valid(id_number)
        assert id_birth_date(id_number) == birth_date
        assert (int(id_number[16]) % 2 == 1) == (gender == Gender.MALE)
        assert school_class is not None
    # Every pupil's school is the school of the class.
    assert not Student.objects.exclude(school=F("school_class__school")).exists()


def test_closure_table_is_complete():
    _demo_data()

    units = OrgUnit.objects.all()
    district = OrgUnit.objects.get(kind=UnitKind.SCHOOL_DISTRICT)
    self_rows = OrgUnitClosure.objects.filter(distance=0, ancestor_id=F("descendant_id"))
    assert self_rows.count() == units.count()
    assert OrgUnitClosure.objects.count() == sum(
        depth + 1 for depth in units.values_list("depth", flat=True)
    )
    assert (
        OrgUnit.objects.under({district.pk}).count() == units.exclude(kind=UnitKind.BUREAU).count()
    )
    # Units carry their school; schools carry themselves.
    assert not OrgUnit.objects.filter(depth__gte=2, school__isnull=True).exists()
    assert not OrgUnit.objects.schools().exclude(school=F("pk")).exists()


def test_calendar_and_groupings():
    _demo_data()

    y = CURRENT_YEAR  # the school year running today
    assert list(SchoolYear.objects.order_by("start_on").values_list("name", flat=True)) == [
        f"{y - 1}-{y}",
        f"{y}-{y + 1}",
    ]
    current = SchoolYear.objects.get(name=f"{y}-{y + 1}")
    assert list(current.terms.order_by("number").values_list("start_on", "end_on")) == [
        (date(y, 9, 1), date(y + 1, 1, 20)),
        (date(y + 1, 2, 20), date(y + 1, 7, 10)),
    ]
    assert current.start_on <= timezone.localdate() <= current.end_on
    assert Term.objects.count() == 4
    alliance = SchoolAlliance.objects.get()
    assert alliance.lead_school == _first_school()
    assert alliance.kind == "district_alliance"
    assert AllianceMembership.objects.filter(alliance=alliance).count() == 4
    cluster = ResearchCluster.objects.get()
    assert (cluster.subject, cluster.grade, cluster.member_schools.count()) == ("语文", 3, 5)
    # The classes are generated in this year's grades: every school counts as rolled over
    # into it, so 学年升级 does not move them up again.
    assert set(SchoolYearRollover.objects.values_list("school_year", flat=True)) == {current.pk}
    assert SchoolYearRollover.objects.count() == OrgUnit.objects.schools().count()
    plan = rollover_plan(school=_first_school(), school_year=current)
    assert not plan.ok
    assert any("每学年只能升级一次" in problem for problem in plan.problems)


def test_demo_accounts_log_in_and_hold_their_roles():
    _demo_data()
    first = _first_school()

    for username in DEMO_USERNAMES:
        client = Client()
        response = client.post(
            "/accounts/login/", {"username": username, "password": DEMO_PASSWORD}
        )
        assert response.status_code == 302, username
        assert client.session["_auth_user_id"] == str(User.objects.get(username=username).pk)
    assert first.code == "S0101"
    assert first.school_type == "junior_middle"
    assert RoleAssignment.objects.filter(
        user__username="principal", role=Role.PRINCIPAL, org_unit=first
    ).exists()
    assert RoleAssignment.objects.filter(
        user__username="admin", role=Role.SYSTEM_ADMIN, org_unit__kind=UnitKind.BUREAU
    ).exists()
    assert RoleAssignment.objects.filter(
        user__username="district", role=Role.DISTRICT_LEADER, org_unit__kind="school_district"
    ).exists()
    # The demo teachers hold a standing appointment and the term's (from the teaching
    # assignment), at the same class.
    heads = RoleAssignment.objects.filter(user__username="teacher", role=Role.HEAD_TEACHER)
    assert sorted(heads.values_list("valid_from", flat=True), key=str) == sorted(
        [None, _term_start()], key=str
    )
    head = heads.get(valid_from=None)
    assert head.org_unit.school == first
    assert {head.org_unit_id} == set(heads.values_list("org_unit", flat=True))
    assert (
        RoleAssignment.objects.filter(
            user__username="teacher", role=Role.SUBJECT_TEACHER, org_unit=head.org_unit
        ).count()
        == 2
    )
    others = RoleAssignment.objects.filter(user__username="teacher2", role=Role.SUBJECT_TEACHER)
    assert others.count() == 2
    other = others.get(valid_from=None)
    assert other.org_unit.kind == UnitKind.SCHOOL_CLASS
    assert other.org_unit.school != first
    assert set(others.values_list("org_unit", flat=True)) == {other.org_unit_id}
    assert RoleAssignment.objects.filter(
        user__username="parent", role=Role.GUARDIAN, org_unit=first
    ).exists()
    guardianship = Guardianship.objects.get(guardian__user__username="parent")
    assert guardianship.student.school_class == head.org_unit
    # Staff accounts are linked to their staff file; those of the first school all exist.
    assert StaffMember.objects.get(user__username="teacher").org_unit == first
    assert not StaffMember.objects.filter(org_unit=first, user__isnull=True).exists()
    assert User.objects.get(username="principal").staff_member.org_unit == first


def test_every_class_has_a_head_teacher_with_a_staff_file():
    _demo_data()

    heads = RoleAssignment.objects.filter(role=Role.HEAD_TEACHER)
    assert set(heads.values_list("org_unit", flat=True)) == set(
        OrgUnit.objects.classes().values_list("pk", flat=True)
    )
    for head in heads.select_related("user__staff_member", "org_unit"):
        assert head.user.staff_member.org_unit_id == head.org_unit.school_id
    # Other teachers' accounts cannot log in until an administrator sets a password.
    assert not User.objects.get(
        pk=heads.exclude(user__username__in=DEMO_USERNAMES).first().user_id
    ).has_usable_password()


def test_refuses_a_non_empty_database_without_force():
    _demo_data("--seed", "1")
    students = Student.objects.count()

    with pytest.raises(CommandError, match="--force"):
        _demo_data("--seed", "2")

    assert Student.objects.count() == students
    assert OrgUnit.objects.schools().count() == 10


def test_force_replaces_the_demo_data_and_keeps_audit_and_superusers():
    UserFactory(username="root", full_name="运维管理员", is_superuser=True)
    _demo_data("--seed", "1")
    output = _demo_data("--seed", "2", "--force")

    assert "已清空" in output
    assert Student.objects.count() == _number(r"学籍记录 (\d+) 条", output)
    assert OrgUnit.objects.schools().count() == 10
    assert User.objects.filter(username="root").exists()
    assert User.objects.filter(username__in=DEMO_USERNAMES).count() == 6
    assert AuditEvent.objects.filter(event="demo.demo_data").count() == 2


def test_scale_two_builds_two_city_districts():
    output = _demo_data("--scale", "2", "--seed", "5")

    districts = OrgUnit.objects.filter(kind=UnitKind.SCHOOL_DISTRICT)
    assert districts.count() == 2
    for district in districts:
        assert OrgUnit.objects.under({district.pk}).schools().count() == 10
    assert Student.objects.filter(status="enrolled").count() == _number(r"学生：(\d+) 人", output)
    assert Student.objects.count() == _number(r"学籍记录 (\d+) 条", output)
    assert OrgUnit.objects.classes().count() == _number(r"(\d+) 个教学班", output)


def test_orgs_json_lists_every_unit():
    _demo_data()
    out = StringIO()

    call_command("orgs", "--format", "json", stdout=out)

    rows = json.loads(out.getvalue())
    assert len(rows) == OrgUnit.objects.count()
    assert rows[0] == {
        "code": "B01",
        "name": "示范县教育局",
        "kind": "bureau",
        "kind_label": "教育局",
        "school_type": None,
        "parent_code": None,
    }
    school = next(row for row in rows if row["code"] == "S0101")
    assert school == {
        "code": "S0101",
        "name": "青石镇初级中学",
        "kind": "school",
        "kind_label": "学校",
        "school_type": "junior_middle",
        "parent_code": "D01",
    }


def test_orgs_filters_by_kind_and_subtree():
    _demo_data()
    out = StringIO()

    call_command("orgs", "--format", "json", "--kind", "school", stdout=out)
    schools = json.loads(out.getvalue())
    out = StringIO()
    call_command("orgs", "--format", "json", "--under", "S0110", stdout=out)
    kindergarten = json.loads(out.getvalue())

    assert len(schools) == 10
    assert {row["parent_code"] for row in schools} == {"D01"}
    assert [row["code"] for row in kindergarten] == [
        "S0110",
        "S0110-O1",
        "S0110-CK101",
        "S0110-CK201",
        "S0110-CK301",
    ]


def test_orgs_table_and_unknown_code():
    _demo_data()
    out = StringIO()

    call_command("orgs", "--kind", "school_district", stdout=out)

    assert "青石学区" in out.getvalue()
    assert "学区（school_district）" in out.getvalue()
    assert "共 1 个机构" in out.getvalue()
    with pytest.raises(CommandError, match="没有代码为“NOPE”的机构"):
        call_command("orgs", "--under", "NOPE", stdout=StringIO())


def test_serve_options_and_url():
    options = serve.gunicorn_options(host="127.0.0.1", port=8765, workers=3)
    application = serve.XiaowuApplication(options)

    assert application.cfg.bind == ["127.0.0.1:8765"]
    assert application.cfg.workers == 3
    wildcard = "0.0.0.0"  # noqa: S104 — not bound, only shown
    assert serve.server_url(host=wildcard, port=8000) == "http://127.0.0.1:8000/"
    assert serve.server_url(host="::1", port=8000) == "http://[::1]:8000/"


def test_demo_command_loads_data_and_serves(monkeypatch, settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"
    settings.STATIC_ROOT = tmp_path / "var" / "static"
    started = []
    monkeypatch.setattr(
        serve.XiaowuApplication, "run", lambda self: started.append(self.options["bind"])
    )
    # Before forking workers the command closes its connections; here that would close the
    # test transaction's connection (on PostgreSQL the rest of the test would then fail).
    monkeypatch.setattr(serve.connections, "close_all", lambda: None)
    out = StringIO()

    call_command("demo", "--port", "8765", stdout=out)

    assert started == [["127.0.0.1:8765"]]
    assert OrgUnit.objects.schools().count() == 10
    assert "http://127.0.0.1:8765/" in out.getvalue()
    assert out.getvalue().count("演示账号（密码均为 xiaowu-demo）") == 1
    assert (tmp_path / "var" / "static").is_dir()


# --------------------------------------------------------------------------- 学籍 and staff


def test_printed_register_numbers_match_the_database():
    output = _demo_data()
    students = Student.objects.all()

    assert students.filter(status="enrolled").count() == _number(r"学生：(\d+) 人", output)
    assert Guardian.objects.count() == _number(r"监护人：(\d+) 人", output)
    assert Guardianship.objects.count() == _number(r"监护关系 (\d+) 条", output)
    for kind in StatusChangeKind:
        if kind == StatusChangeKind.ENROLLMENT:
            continue
        rows = StatusChange.objects.filter(kind=kind).count()
        printed = re.search(rf"{kind.label} (\d+) 条", output)
        assert rows == (int(printed.group(1)) if printed else 0), kind
    assert StatusChange.objects.exclude(kind="enrollment").count() == 15
    # Special groups among the 在校生, as the dashboard counts them.
    admin = User.objects.get(username="admin")
    counts = special_group_counts(actor=admin)
    for key, (label, _condition) in SPECIAL_GROUPS.items():
        assert counts[key] == _number(rf"{label} (\d+) 人", output), key
    assert TeachingAssignment.objects.count() == _number(r"任课安排：(\d+) 条", output)
    assert StaffHonour.objects.count() == _number(r"荣誉称号：(\d+) 项", output)
    histories = (
        StaffStatusPeriod.objects.values("staff").annotate(n=Count("pk")).filter(n__gt=1).count()
    )
    assert histories == _number(r"有人事状态变动记录的教职工：(\d+) 人", output)
    cohorts = AgeCohortPopulation.objects.filter(org_unit__kind=UnitKind.SCHOOL_DISTRICT)
    assert dict(cohorts.values_list("age_from", "headcount")) == {
        6: _number(r"6–11周岁 (\d+) 人", output),
        12: _number(r"12–14周岁 (\d+) 人", output),
    }
    assert set(cohorts.values_list("source", flat=True)) == {"义务教育监测信息库（演示数据）"}


def test_memberships_status_changes_and_current_fields_agree():
    """What ``status_change_record`` keeps in step: for every student the open membership is
    in the current class, and a student is enrolled exactly when one is open."""
    _demo_data()
    open_class = dict(
        ClassMembership.objects.filter(end_on__isnull=True).values_list(
            "student_id", "school_class_id"
        )
    )
    students = list(Student.objects.values_list("pk", "status", "school_id", "school_class_id"))

    assert len(students) > 800
    for pk, status, school_id, class_id in students:
        assert (pk in open_class) == (status == "enrolled"), pk
        if pk in open_class:
            assert open_class[pk] == class_id, pk
        # The latest event left the student in this school and status.
        last = StatusChange.objects.filter(student_id=pk).order_by("effective_on", "id").last()
        assert last is not None
        assert last.school_id == school_id
        assert RESULTING_STATUS[last.kind] == status
    # The student's school is the school of the class, for every student.
    assert not Student.objects.exclude(school=F("school_class__school")).exists()
    assert not ClassMembership.objects.exclude(school=F("school_class__school")).exists()


def test_every_national_student_number_is_valid():
    _demo_data()
    numbers = list(
        Student.objects.exclude(national_student_number=None).values_list(
            "national_student_number", "id_number"
        )
    )

    assert len(numbers) > 700
    for number, id_number in numbers:
        assert national_student_number_is_valid(number), number
        assert number == f"G{id_number}"
    assert not Student.objects.filter(
        national_student_number=None, school_class__grade__gte=1
    ).exists()


def test_demo_register_works_with_the_services_and_the_scopes():
    _demo_data()
    principal = User.objects.get(username="principal")
    parent = User.objects.get(username="parent")
    teacher = User.objects.get(username="teacher")
    head = RoleAssignment.objects.get(user=teacher, role=Role.HEAD_TEACHER, valid_from=None)

    # The parent account is the guardian record of exactly one child, in the teacher's class.
    (child,) = student_children_of(guardian=parent)
    assert child.school_class == head.org_unit
    assert list(Student.objects.visible_to(parent)) == [child]
    assert Guardian.objects.get(user=parent).guardianships.count() == 1
    # The teacher sees the class; the principal records a 异动 on demo data like on any other.
    assert set(Student.objects.visible_to(teacher).values_list("school_class", flat=True)) == {
        head.org_unit_id
    }
    student = Student.objects.filter(school=head.org_unit.school, status="enrolled").exclude(
        pk=child.pk
    )[0]
    event = status_change_record(
        actor=principal, student=student, kind="suspension", effective_on=timezone.localdate()
    )
    assert event.from_class_id == student.school_class_id


def test_teaching_roles_are_those_the_staff_service_grants():
    _demo_data()
    term = Term.objects.get(start_on=_term_start())
    roles = RoleAssignment.objects.filter(note__startswith="任课安排 #").select_related("user")

    assert roles.count() > 100
    assert not TeachingAssignment.objects.exclude(term=term).exists()
    assignments = {
        a.pk: a for a in TeachingAssignment.objects.select_related("staff", "school_class")
    }
    for role in roles:
        assignment = assignments[int(role.note.removeprefix("任课安排 #"))]
        assert assignment.staff.user_id == role.user_id
        assert assignment.school_class_id == role.org_unit_id
        assert role.role == assignment.role
        assert (role.valid_from, role.valid_until) == (term.start_on, term.end_on)
    # Every class has one 班主任 for the term; kindergarten classes nothing else.
    heads = TeachingAssignment.objects.filter(role="head_teacher")
    assert heads.count() == OrgUnit.objects.classes().count()
    assert not TeachingAssignment.objects.filter(
        role="subject_teacher", school_class__grade__lt=1
    ).exists()
    # Every staff member's status agrees with their open status period.
    open_status = dict(
        StaffStatusPeriod.objects.filter(end_on__isnull=True).values_list("staff", "status")
    )
    assert open_status == dict(StaffMember.objects.values_list("pk", "status"))
