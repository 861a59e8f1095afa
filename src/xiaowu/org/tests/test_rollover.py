"""学年升级: every class moves up a grade under its own unit, the top grade graduates (毕业
status change, class closed and renamed 届), once per school and year, all or nothing."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
from conftest import World
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from time_machine import TimeMachineFixture

from xiaowu.audit.models import AuditEvent
from xiaowu.exams.naming import unit_name_as_of
from xiaowu.exams.tests.test_analysis_world import candidate_add, exam_create
from xiaowu.org.models import OrgUnit, SchoolType, SchoolYear, SchoolYearRollover, UnitKind
from xiaowu.org.rollover import rollover_plan, school_year_rollover
from xiaowu.org.tests.factories import SchoolClassFactory, SchoolFactory, SchoolYearFactory
from xiaowu.students.models import ClassMembership, StatusChange, Student, StudentStatus
from xiaowu.students.tests.factories import StudentFactory

pytestmark = pytest.mark.django_db

GRADUATED_ON = date(2026, 7, 1)


@pytest.fixture
def new_year() -> SchoolYear:
    SchoolYearFactory(name="2025-2026", start_on=date(2025, 9, 1), end_on=date(2026, 8, 31))
    year: SchoolYear = SchoolYearFactory(
        name="2026-2027", start_on=date(2026, 9, 1), end_on=date(2027, 8, 31)
    )
    return year


@pytest.fixture
def sixth(world: World) -> OrgUnit:
    """A 六年级 class of the first (complete primary) school: its top grade."""
    unit: OrgUnit = SchoolClassFactory(
        code="S1-C601", name="六年级(1)班", grade=6, class_number=1, parent=world.school
    )
    StudentFactory(school_class=unit, name="毕业甲")
    StudentFactory(school_class=unit, name="毕业乙")
    StudentFactory(school_class=unit, name="已转出", status=StudentStatus.TRANSFERRED_OUT)
    return unit


def _state(school: OrgUnit) -> list[tuple[int, str, int | None, bool]]:
    return list(
        OrgUnit.objects.filter(school=school, kind=UnitKind.SCHOOL_CLASS)
        .order_by("pk")
        .values_list("pk", "name", "grade", "is_active")
    )


def _statuses(unit: OrgUnit) -> dict[str, str]:
    return dict(Student.objects.filter(school_class=unit).values_list("name", "status"))


def test_rollover_promotes_every_class_and_graduates_the_top_grade(
    world: World, new_year: SchoolYear, sixth: OrgUnit
) -> None:
    # given: a custom-named 四年级 class besides the world's 一年级 and 三年级 (in a 级部)
    custom = SchoolClassFactory(
        code="S1-C402", name="实验班", grade=4, class_number=2, parent=world.school
    )
    principal = world.users["principal"]

    # when
    record = school_year_rollover(
        actor=principal, school=world.school, school_year=new_year, graduated_on=GRADUATED_ON
    )

    # then: same units, new grades and conventional names; the custom name stays
    assert _state(world.school) == [
        (world.class_a.pk, "二年级(1)班", 2, True),
        (world.class_b.pk, "四年级(1)班", 4, True),
        (sixth.pk, "2026届六年级(1)班", 6, False),
        (custom.pk, "实验班", 5, True),
    ]
    assert OrgUnit.objects.get(pk=world.class_b.pk).parent_id == world.grade_division.pk
    # the enrolled students of the top grade graduated; the transferred one was left alone
    assert _statuses(sixth) == {
        "毕业甲": StudentStatus.GRADUATED,
        "毕业乙": StudentStatus.GRADUATED,
        "已转出": StudentStatus.TRANSFERRED_OUT,
    }
    events = StatusChange.objects.filter(school_id=world.school.pk).order_by("student_id")
    rows: list[tuple[object, ...]] = list(
        events.values_list("student__name", "kind", "effective_on", "from_class", "to_class")
    )
    assert rows == [
        ("毕业甲", "graduation", GRADUATED_ON, sixth.pk, None),
        ("毕业乙", "graduation", GRADUATED_ON, sixth.pk, None),
    ]
    assert set(events.values_list("recorded_by", flat=True)) == {principal.pk}
    assert set(
        ClassMembership.objects.filter(school_class=sixth).values_list("end_on", flat=True)
    ) == {GRADUATED_ON}
    assert (
        Student.objects.filter(school_class=sixth, status="graduated")
        .values_list("version", flat=True)
        .distinct()
        .get()
        == 2
    )
    # promoted students are untouched: still enrolled in the same class unit
    assert _statuses(world.class_a) == {"张小明": "enrolled", "李小红": "enrolled"}
    # one rollover record and one audit event with the summary, one per graduate as for 异动
    assert SchoolYearRollover.objects.get() == record
    assert (record.school_id, record.school_year_id, record.performed_by_id) == (
        world.school.pk,
        new_year.pk,
        principal.pk,
    )
    assert record.summary["graduated_students"] == 2
    assert [m["name_after"] for m in record.summary["promoted"]] == [
        "实验班",
        "四年级(1)班",
        "二年级(1)班",
    ]
    rollover_event = AuditEvent.objects.get(event="org.school_year_rollover")
    assert rollover_event.changes == json.loads(json.dumps(record.summary))
    assert rollover_event.actor_id == principal.pk
    graduation_audit = AuditEvent.objects.filter(event="students.status_change_graduation")
    assert graduation_audit.count() == 2
    assert [event.changes["status"] for event in graduation_audit] == [
        {"before": "enrolled", "after": "graduated"},
        {"before": "enrolled", "after": "graduated"},
    ]
    assert {event.changes["status_change"] for event in graduation_audit} == set(
        events.values_list("pk", flat=True)
    )


def test_nine_year_school_keeps_sixth_graders_and_graduates_ninth(
    world: World, new_year: SchoolYear
) -> None:
    # given
    school = SchoolFactory(
        code="S9", name="青石九年制学校", parent=world.district, school_type="nine_year_school"
    )
    units = {
        grade: SchoolClassFactory(
            code=f"S9-C{grade}01", name=f"{label}(1)班", grade=grade, class_number=1, parent=school
        )
        for grade, label in [(6, "六年级"), (7, "七年级"), (9, "九年级")]
    }
    StudentFactory(school_class=units[6], name="六年级生")
    StudentFactory(school_class=units[9], name="九年级生")

    # when
    school_year_rollover(
        actor=world.users["district"],
        school=school,
        school_year=new_year,
        graduated_on=GRADUATED_ON,
    )

    # then
    assert _state(school) == [
        (units[6].pk, "七年级(1)班", 7, True),
        (units[7].pk, "八年级(1)班", 8, True),
        (units[9].pk, "2026届九年级(1)班", 9, False),
    ]
    assert _statuses(units[6]) == {"六年级生": "enrolled"}
    assert _statuses(units[9]) == {"九年级生": "graduated"}


def test_kindergarten_moves_small_to_middle_to_large_and_graduates_large(
    world: World, new_year: SchoolYear
) -> None:
    # given
    school = SchoolFactory(
        code="K1", name="青石幼儿园", parent=world.district, school_type=SchoolType.KINDERGARTEN
    )
    small = SchoolClassFactory(
        code="K1-1", name="小班(1)班", grade=-3, class_number=1, parent=school
    )
    middle = SchoolClassFactory(
        code="K1-2", name="向日葵班", grade=-2, class_number=1, parent=school
    )
    large = SchoolClassFactory(
        code="K1-3", name="大班(1)班", grade=-1, class_number=1, parent=school
    )
    StudentFactory(school_class=large, name="大班生")

    # when
    plan = rollover_plan(school=school, school_year=new_year)
    school_year_rollover(
        actor=world.users["bureau"], school=school, school_year=new_year, graduated_on=GRADUATED_ON
    )

    # then
    assert (plan.problems, plan.graduate_count) == ([], 1)
    assert _state(school) == [
        (small.pk, "中班(1)班", -2, True),
        (middle.pk, "向日葵班", -1, True),
        (large.pk, "2026届大班(1)班", -1, False),
    ]
    assert _statuses(large) == {"大班生": "graduated"}


def test_second_rollover_for_the_same_year_is_refused(
    world: World, new_year: SchoolYear, sixth: OrgUnit
) -> None:
    # given
    principal = world.users["principal"]
    school_year_rollover(
        actor=principal, school=world.school, school_year=new_year, graduated_on=GRADUATED_ON
    )
    before = _state(world.school)

    # when / then
    assert rollover_plan(school=world.school, school_year=new_year).problems == [
        "本校已完成2026—2027学年的学年升级，每学年只能升级一次（升入下一学年前，请先在校历中建立下一学年）。"
    ]
    with pytest.raises(ValidationError, match="每学年只能升级一次"):
        school_year_rollover(
            actor=principal, school=world.school, school_year=new_year, graduated_on=GRADUATED_ON
        )
    assert _state(world.school) == before
    assert SchoolYearRollover.objects.count() == 1


def test_plan_lists_blockers_and_the_service_changes_nothing(
    world: World, new_year: SchoolYear
) -> None:
    # given: a closed 二年级(1)班 still holds the name 一年级(1)班 would take; a class lacks a grade
    SchoolClassFactory(
        code="S1-OLD",
        name="二年级(1)班",
        grade=2,
        class_number=1,
        parent=world.school,
        is_active=False,
    )
    SchoolClassFactory(code="S1-X", name="兴趣班", grade=None, class_number=9, parent=world.school)
    before = _state(world.school)

    # when
    plan = rollover_plan(school=world.school, school_year=new_year)

    # then
    assert plan.problems == [
        "班级“兴趣班”（S1-X）没有年级，请先设置年级。",
        "升级后同一上级下将有2个名为“二年级(1)班”的机构，请先改名。",
    ]
    with pytest.raises(ValidationError, match="没有年级"):
        school_year_rollover(
            actor=world.users["principal"],
            school=world.school,
            school_year=new_year,
            graduated_on=GRADUATED_ON,
        )
    assert _state(world.school) == before
    assert not SchoolYearRollover.objects.exists()


@pytest.mark.parametrize("username", ["office", "vice", "teacher", "principal2"])
def test_rollover_without_both_manage_permissions_is_refused(
    world: World, new_year: SchoolYear, sixth: OrgUnit, username: str
) -> None:
    """教导处 keeps the 学籍 but not the org units: it may not roll the school over either."""
    before = _state(world.school)
    with pytest.raises(PermissionDenied, match="无权对该校进行学年升级"):
        school_year_rollover(
            actor=world.users[username],
            school=world.school,
            school_year=new_year,
            graduated_on=GRADUATED_ON,
        )
    assert _state(world.school) == before
    assert _statuses(sixth)["毕业甲"] == "enrolled"
    assert not AuditEvent.objects.filter(event="org.school_year_rollover").exists()


def test_failing_graduation_rolls_everything_back(
    world: World, new_year: SchoolYear, sixth: OrgUnit
) -> None:
    # given: a pupil who joined the 六年级 class after the graduation date
    StudentFactory(school_class=sixth, name="插班生", enrolled_on=date(2026, 8, 20))
    before = _state(world.school)

    # when / then: classes were already renamed when the graduation failed; all is undone
    with pytest.raises(ValidationError, match="插班生：毕业日期不能早于该生进入现班级的日期"):
        school_year_rollover(
            actor=world.users["principal"],
            school=world.school,
            school_year=new_year,
            graduated_on=GRADUATED_ON,
        )
    assert _state(world.school) == before
    assert set(_statuses(sixth).values()) == {"enrolled", "transferred_out"}
    assert not StatusChange.objects.filter(kind="graduation").exists()
    assert not ClassMembership.objects.filter(end_on__isnull=False).exists()
    assert not SchoolYearRollover.objects.exists()
    assert not AuditEvent.objects.filter(event__contains="graduation").exists()


def test_graduation_date_after_the_new_year_starts_is_refused(
    world: World, new_year: SchoolYear, sixth: OrgUnit
) -> None:
    with pytest.raises(ValidationError, match="毕业日期不能晚于新学年的开始日期"):
        school_year_rollover(
            actor=world.users["principal"],
            school=world.school,
            school_year=new_year,
            graduated_on=date(2026, 9, 2),
        )
    assert OrgUnit.objects.get(pk=world.class_a.pk).grade == 1


def test_exam_of_the_previous_year_keeps_the_old_class_name(
    world: World, new_year: SchoolYear, time_machine: TimeMachineFixture
) -> None:
    # given: a 一年级 exam sat in the 2025-2026 school year
    exam = exam_create(
        owner=world.school,
        schools=[world.school],
        subjects={"语文": 100},
        grade=1,
        held_on=date(2026, 6, 20),
    )
    candidate_add(exam, world.child)
    time_machine.move_to(datetime(2026, 9, 10, 10, tzinfo=UTC), tick=False)

    # when
    school_year_rollover(
        actor=world.users["principal"],
        school=world.school,
        school_year=new_year,
        graduated_on=GRADUATED_ON,
    )

    # then
    unit = OrgUnit.objects.get(pk=world.class_a.pk)
    assert (unit.name, unit.grade) == ("二年级(1)班", 2)
    assert unit_name_as_of(exam, unit) == "一年级(1)班"


# --------------------------------------------------------------------------- page
def test_preview_page_shows_before_and_after_and_post_performs_it(
    world: World,
    new_year: SchoolYear,
    sixth: OrgUnit,
    client_for: Callable[[str], Client],
    time_machine: TimeMachineFixture,
) -> None:
    # given
    time_machine.move_to(datetime(2026, 7, 5, 10, tzinfo=UTC), tick=False)
    client = client_for("principal")
    url = reverse("org:school_rollover", args=[world.school.pk])

    # when: the school page links to the preview, which previews the default year
    detail = client.get(reverse("org:unit_detail", args=[world.school.pk]))
    preview = client.get(url)

    # then
    assert url in detail.content.decode()
    page = preview.content.decode()
    assert preview.status_code == 200
    assert preview.context["plan"].school_year == new_year
    assert preview.context["confirm"] == {"school_year": new_year, "graduated_on": date(2026, 7, 5)}
    for text in ["一年级(1)班", "二年级(1)班", "2026届六年级(1)班", "2 人毕业", "确认升级"]:
        assert text in page
    assert _state(world.school)[0] == (world.class_a.pk, "一年级(1)班", 1, True)

    # when: confirmed
    response = client.post(url, {"school_year": new_year.pk, "graduated_on": "2026-07-01"})

    # then
    assert response.status_code == 302
    assert response["Location"] == reverse("org:unit_detail", args=[world.school.pk])
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "已完成2026—2027学年的学年升级：2个班级升级，1个班级毕业（2名学生）。"
    ]
    assert OrgUnit.objects.get(pk=world.class_a.pk).name == "二年级(1)班"
    assert SchoolYearRollover.objects.get().graduated_on == GRADUATED_ON


def test_preview_page_shows_blockers_without_a_confirm_button(
    world: World, new_year: SchoolYear, sixth: OrgUnit, client_for: Callable[[str], Client]
) -> None:
    # given: already rolled over
    school_year_rollover(
        actor=world.users["principal"],
        school=world.school,
        school_year=new_year,
        graduated_on=GRADUATED_ON,
    )
    client = client_for("principal")
    url = reverse("org:school_rollover", args=[world.school.pk])

    # when
    response = client.get(url, {"school_year": new_year.pk, "graduated_on": "2026-07-01"})
    refused = client.post(url, {"school_year": new_year.pk, "graduated_on": "2026-07-01"})

    # then
    page = response.content.decode()
    assert "每学年只能升级一次" in page
    assert "确认升级" not in page
    assert refused.status_code == 200
    assert "每学年只能升级一次" in refused.content.decode()
    assert SchoolYearRollover.objects.count() == 1


@pytest.mark.parametrize(
    ("username", "status"), [("office", 403), ("teacher", 403), ("principal2", 404)]
)
def test_page_refuses_without_permission_and_hides_other_schools(
    world: World,
    new_year: SchoolYear,
    client_for: Callable[[str], Client],
    username: str,
    status: int,
) -> None:
    url = reverse("org:school_rollover", args=[world.school.pk])
    client = client_for(username)
    assert client.get(url).status_code == status
    assert (
        client.post(url, {"school_year": new_year.pk, "graduated_on": "2026-07-01"}).status_code
        == status
    )
    assert OrgUnit.objects.get(pk=world.class_a.pk).grade == 1


def test_page_is_404_for_a_unit_that_is_not_a_school(
    world: World, client_for: Callable[[str], Client]
) -> None:
    url = reverse("org:school_rollover", args=[world.class_a.pk])
    assert client_for("principal").get(url).status_code == 404


# --------------------------------------------------------------------------- command
def test_command_dry_run_changes_nothing(
    world: World, new_year: SchoolYear, sixth: OrgUnit
) -> None:
    # given
    before = _state(world.school)
    out = io.StringIO()

    # when
    call_command(
        "rollover",
        "--school",
        "S1",
        "--year",
        "2026-2027",
        "--graduated-on",
        "2026-07-01",
        "--dry-run",
        "--format",
        "json",
        stdout=out,
    )

    # then
    payload = json.loads(out.getvalue())
    assert (payload["dry_run"], payload["applied"], payload["graduated_students"]) == (
        True,
        False,
        2,
    )
    assert [c["name_after"] for c in payload["graduated_classes"]] == ["2026届六年级(1)班"]
    assert payload["problems"] == []
    assert _state(world.school) == before
    assert _statuses(sixth)["毕业甲"] == "enrolled"
    assert not SchoolYearRollover.objects.exists()
    assert not AuditEvent.objects.exists()


def test_command_applies_the_rollover_as_the_operator(
    world: World, new_year: SchoolYear, sixth: OrgUnit
) -> None:
    # when
    out = io.StringIO()
    call_command(
        "rollover",
        "--school",
        "S1",
        "--year",
        "2026-2027",
        "--graduated-on",
        "2026-07-01",
        stdout=out,
    )

    # then
    assert "共 2 个班级已升级，1 个班级的 2 名学生已于 2026-07-01 毕业。" in out.getvalue()
    record = SchoolYearRollover.objects.get()
    assert record.performed_by_id is None
    assert set(StatusChange.objects.values_list("recorded_by", flat=True)) == {None}
    assert AuditEvent.objects.get(event="org.school_year_rollover").actor_label.startswith("命令行")
    assert OrgUnit.objects.get(pk=world.class_a.pk).name == "二年级(1)班"

    # when: run again for the same year
    with pytest.raises(CommandError, match="未做任何更改"):
        call_command("rollover", "--school", "S1", "--year", "2026-2027", stdout=io.StringIO())
    assert OrgUnit.objects.get(pk=world.class_a.pk).name == "二年级(1)班"


def test_command_rejects_an_unknown_year(world: World) -> None:
    with pytest.raises(CommandError, match="没有名为“2030-2031”的学年"):
        call_command("rollover", "--school", "S1", "--year", "2030-2031", stdout=io.StringIO())
