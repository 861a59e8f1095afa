"""The roll-up reads each domain once, grouped by school: a 学区 summary costs the same number
of queries with 2 schools as with 6, and its per-school 辍学 are those counted school by school."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from xiaowu.org.models import OrgUnit, SchoolType
from xiaowu.org.tests.factories import SchoolClassFactory, SchoolFactory
from xiaowu.reports.generator import summary_generate
from xiaowu.reports.period import school_year_period
from xiaowu.staff.models import HonourLevel, HonourTitle, StaffHonour
from xiaowu.staff.tests.factories import StaffMemberFactory
from xiaowu.students.models import StatusChange, StatusChangeKind
from xiaowu.students.selectors import status_change_counts
from xiaowu.students.services import status_change_record
from xiaowu.students.tests.factories import StudentFactory

pytestmark = pytest.mark.django_db
TODAY = date(2026, 1, 15)
DROPOUT = StatusChangeKind.DROPOUT


def term():
    return school_year_period("2025-2026", 1)


def generate(world, username="district", unit=None):
    return summary_generate(
        actor=world.users[username], unit=unit or world.district, period=term(), today=TODAY
    ).document


def queries_of_summary(world, username="district", unit=None):
    generate(world, username, unit)  # warm caches (content types, calendar) out of the count
    with CaptureQueriesContext(connection) as captured:
        generate(world, username, unit)
    return [query["sql"] for query in captured.captured_queries]


def drop_out(world, student, on=date(2025, 10, 10)):
    status_change_record(actor=world.users["admin"], student=student, kind=DROPOUT, effective_on=on)


def add_school(world, n, *, dropouts=1, parent=None):
    """A school with a class of three students (``dropouts`` of them drop out in the term),
    two teachers and an honour at 市级."""
    school = SchoolFactory(
        code=f"SN{n}",
        name=f"新建第{n}小学",
        parent=parent or world.district,
        school_type=SchoolType.COMPLETE_PRIMARY,
    )
    school_class = SchoolClassFactory(
        code=f"SN{n}-C101", name="一年级(1)班", grade=1, class_number=1, parent=school
    )
    students = [StudentFactory(school_class=school_class, name=f"新生{n}号{k}") for k in range(3)]
    for student in students[:dropouts]:
        drop_out(world, student)
    teacher = StaffMemberFactory(org_unit=school, name=f"新老师{n}")
    StaffMemberFactory(org_unit=school, name=f"新老师{n}乙")
    StaffHonour.objects.create(
        staff=teacher,
        title=HonourTitle.SUBJECT_LEADER,
        level=HonourLevel.CITY,
        awarded_on=date(2025, 11, n),
    )
    return school


def dropout_cells(document):
    table = next(t for t in document.tables() if t.key == "basic.by_school")
    column = next(c for c in table.columns if c.key == "dropouts")
    return {row.key: table.cell_text(row, column, document.figures) for row in table.rows}


def test_a_district_summary_costs_the_same_queries_for_2_or_6_schools(world):
    drop_out(world, world.child)
    two = queries_of_summary(world)
    for n in range(1, 5):
        add_school(world, n)
    six = queries_of_summary(world)
    assert len(six) == len(two), "\n".join(six)
    # the per-school 辍学 are one grouped query, not one per school
    dropouts = [q for q in six if "students_statuschange" in q]
    assert len(dropouts) == len([q for q in two if "students_statuschange" in q])
    document = generate(world)
    assert len([k for k in dropout_cells(document) if k.startswith("SN")]) == 4


def test_a_bureau_summary_costs_the_same_queries_however_many_schools_its_districts_have(world):
    before = queries_of_summary(world, "bureau", world.bureau)
    for n in range(1, 4):
        add_school(world, n, parent=world.other_district)
    after = queries_of_summary(world, "bureau", world.bureau)
    assert len(after) == len(before)


def test_per_school_dropouts_are_those_counted_school_by_school(world):
    """The grouped count gives what the former per-row count gave: status_change_counts under
    each school, in the same aggregate scope, and the rows add up to the unit's total."""
    drop_out(world, world.child)
    schools = [add_school(world, n, dropouts=n - 1) for n in range(1, 5)]  # 0 … 3 dropouts
    document = generate(world)
    cells = dropout_cells(document)
    start = term().start_on
    actor = world.users["district"]
    for school in [world.school, world.school_b, *schools]:
        by_row = status_change_counts(actor=actor, start_on=start, end_on=TODAY, root_id=school.pk)
        assert cells[school.code] == str(by_row.get(DROPOUT, 0))
        direct = StatusChange.objects.filter(
            school=school, kind=DROPOUT, effective_on__gte=start, effective_on__lte=TODAY
        ).count()
        assert cells[school.code] == str(direct)
    assert [cells[s.code] for s in schools] == ["0", "1", "2", "3"]
    total = document.figures[f"students.changes.{DROPOUT}"].value
    assert cells["total"] == str(total) == "7"
    assert sum(int(v) for k, v in cells.items() if k != "total") == total
    # the rates use the same rows: dropouts ÷ the row's 在校生 on the first day
    rate = document.figures["students.dropout_rate.by_school.SN4"]
    assert str(rate.value) == "100.00"


def test_dropouts_of_a_closed_school_go_to_the_other_row_with_its_students(world):
    closed = add_school(world, 1, dropouts=2)
    add_school(world, 2, dropouts=1)
    OrgUnit.objects.filter(pk=closed.pk).update(is_active=False)
    district = dropout_cells(generate(world))
    assert "SN1" not in district
    assert district["other"] == "2"
    assert district["SN2"] == "1"
    assert district["total"] == "3"
    # In a 教育局's summary the rows are 学区: the closed school's dropouts are not counted in
    # its 学区's row (whose 辍学率 divides by the 在校生 of its open schools) but in 其他.
    bureau = dropout_cells(generate(world, "bureau", world.bureau))
    assert bureau["D1"] == "1"
    assert bureau["other"] == "2"
    assert bureau["total"] == "3"
