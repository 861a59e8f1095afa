"""Export of the national template: text identifiers, no formulas, masking, audit (AUTHZ-08,
INP-05, INP-06, PRIV-05, AUD-05), and the round trip back through the import."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied

from xiaowu.audit.models import AuditEvent
from xiaowu.exchange import services
from xiaowu.exchange.services import ExportRateLimitedError, import_run, student_export
from xiaowu.exchange.tests.sheets import pupil_id, write_xlsx
from xiaowu.org.tests.factories import SchoolClassFactory
from xiaowu.students.models import Student

pytestmark = pytest.mark.django_db

BORN = date(2017, 6, 1)


def _id_ending_in_x() -> str:
    return next(
        candidate
        for sequence in range(500)
        if (candidate := pupil_id(BORN, male=True, sequence=sequence)).endswith("X")
    )


ID_X = _id_ending_in_x()
ID_FORMULA = pupil_id(BORN, male=False, sequence=1)
ID_PLAIN = pupil_id(BORN, male=True, sequence=700)


@pytest.fixture
def second_grade(world, tmp_path):
    """A class of three imported pupils: an ID ending in X, a name that looks like a formula,
    two guardians."""
    unit = SchoolClassFactory(
        code="S1-C201", name="二年级(1)班", grade=2, class_number=1, parent=world.school
    )
    rows = [
        [
            "姓名",
            "性别",
            "民族",
            "身份证件号",
            "全国学籍号",
            "班级",
            "入学年月",
            "现住址",
            "成员1姓名",
            "成员1关系",
            "成员1联系电话",
            "成员2姓名",
            "成员2关系",
            "成员2联系电话",
        ],
        [
            "陈一",
            "男",
            "汉族",
            ID_X,
            "G" + ID_X,
            "二年级(1)班",
            "202309",
            "-青石路",
            "陈父",
            "父亲",
            "13900001111",
            "陈母",
            "母亲",
            "13900002222",
        ],
        [
            "=1+1",
            "女",
            "回族",
            ID_FORMULA,
            None,
            "二年级(1)班",
            "202309",
            "@home",
            None,
            None,
            None,
            None,
            None,
            None,
        ],
        [
            "林三",
            "男",
            "壮族",
            ID_PLAIN,
            None,
            "2.1",
            "202309",
            None,
            "林母",
            "母亲",
            "0931-8123456",
            None,
            None,
            None,
        ],
    ]
    outcome = import_run(
        actor=world.users["principal"],
        school=world.school,
        kind="students",
        name="二年级.xlsx",
        data=write_xlsx(tmp_path / "seed.xlsx", rows).read_bytes(),
    )
    assert outcome.created == 3
    return unit


def _sheet(export) -> list[list[str | None]]:
    workbook = openpyxl.load_workbook(io.BytesIO(export.handle.getvalue()), read_only=True)
    return [list(row) for row in workbook.active.iter_rows(values_only=True)]


def test_unmasked_export_keeps_identifiers_and_never_writes_formulas(world, second_grade):
    export = student_export(
        actor=world.users["principal"],
        school=world.school,
        school_class=second_grade,
        unmasked=True,
    )

    rows = _sheet(export)
    header = rows[0]
    by_name = {row[header.index("姓名")]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    assert export.rows == 3
    assert export.filename.startswith("青石小学二年级(1)班学生名单（未脱敏）_")
    assert by_name["陈一"]["身份证件号"] == ID_X
    assert by_name["陈一"]["全国学籍号"] == "G" + ID_X
    assert by_name["陈一"]["成员2联系电话"] == "13900002222"
    assert by_name["陈一"]["出生日期"] == "20170601"
    assert by_name["陈一"]["入学年月"] == "202309"
    assert by_name["=1+1"]["民族"] == "回族"
    assert by_name["林三"]["成员1联系电话"] == "09318123456"
    sheet_xml = zipfile.ZipFile(io.BytesIO(export.handle.getvalue())).read(
        "xl/worksheets/sheet1.xml"
    )
    assert b"<f>" not in sheet_xml
    assert b"<t>=1+1</t>" in sheet_xml
    cells = openpyxl.load_workbook(io.BytesIO(export.handle.getvalue())).active
    formula_cell = next(row[0] for row in cells.iter_rows(min_row=2) if row[0].value == "=1+1")
    assert (formula_cell.data_type, formula_cell.quotePrefix) == ("s", True)
    address = next(
        row[header.index("现住址")] for row in cells.iter_rows(min_row=2) if row[0].value == "陈一"
    )
    assert (address.value, address.quotePrefix) == ("-青石路", True)
    audit = AuditEvent.objects.get(event="exchange.student_export")
    assert (audit.action, audit.changes["rows"], audit.changes["unmasked"]) == ("export", 3, True)
    assert audit.actor_id == world.users["principal"].pk


def test_round_trip_export_then_import_is_unchanged(world, second_grade, tmp_path):
    export = student_export(
        actor=world.users["principal"],
        school=world.school,
        school_class=second_grade,
        unmasked=True,
    )
    versions = sorted(Student.objects.values_list("pk", "version"))
    audit_rows = AuditEvent.objects.count()

    outcome = import_run(
        actor=world.users["principal"],
        school=world.school,
        kind="students",
        name=export.filename,
        data=export.handle.getvalue(),
    )

    assert (outcome.created, outcome.updated, outcome.unchanged, outcome.errors) == (0, 0, 3, [])
    assert sorted(Student.objects.values_list("pk", "version")) == versions
    assert AuditEvent.objects.count() == audit_rows
    assert Student.objects.get(name="=1+1").id_number == ID_FORMULA


def test_masked_export_for_those_who_may_not_unmask(world, second_grade):
    office = world.users["office"]

    export = student_export(actor=office, school=world.school, school_class=second_grade)

    rows = _sheet(export)
    header = rows[0]
    chen = dict(zip(header, next(row for row in rows if row[0] == "陈一"), strict=True))
    assert chen["身份证件号"] == ID_X[:6] + "********" + ID_X[-4:]
    assert chen["全国学籍号"] == "G" + ID_X[:5] + "*********" + ID_X[-4:]
    assert chen["成员1联系电话"] == "139****1111"
    assert ID_X not in str(rows)
    with pytest.raises(PermissionDenied, match="未脱敏"):
        student_export(actor=office, school=world.school, unmasked=True)
    for username in ("teacher", "vice", "principal2"):
        with pytest.raises(PermissionDenied, match="您无权导出该校的学生名单"):
            student_export(actor=world.users[username], school=world.school)
    assert list(
        AuditEvent.objects.filter(event="exchange.student_export").values_list(
            "changes__unmasked", "changes__rows"
        )
    ) == [(False, 3)]


def test_export_rate_limit(world, settings):
    settings.XIAOWU_EXPORT_LIMIT_PER_HOUR = 2
    principal = world.users["principal"]
    student_export(actor=principal, school=world.school)
    student_export(actor=principal, school=world.school)

    with pytest.raises(ExportRateLimitedError, match="一小时内最多导出 2 次"):
        student_export(actor=principal, school=world.school)
    assert AuditEvent.objects.filter(event="exchange.student_export").count() == 2


def test_aud05_export_fails_when_the_audit_write_fails(world, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(services, "audit_record", broken)

    with pytest.raises(RuntimeError, match="audit store unavailable"):
        student_export(actor=world.users["principal"], school=world.school)
    assert AuditEvent.objects.filter(event="exchange.student_export").count() == 0
