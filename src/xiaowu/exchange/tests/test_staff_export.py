"""Staff export in the staff import layout: round trip, masking, formulas, permission, audit,
rate limit, the export page, the staff list button and ``xiaowu export staff``."""

from __future__ import annotations

import io
import zipfile
from datetime import date
from urllib.parse import quote

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from python_calamine import CalamineWorkbook

from xiaowu.audit.models import AuditEvent
from xiaowu.core.identifiers import make_id_number
from xiaowu.core.models import Gender
from xiaowu.exchange.services import (
    ExportRateLimitedError,
    import_run,
    staff_export,
    student_export,
)
from xiaowu.staff.io import STAFF_COLUMNS
from xiaowu.staff.models import (
    Education,
    PostCategory,
    ProfessionalTitle,
    StaffMember,
    StaffStatus,
    StaffStatusPeriod,
)
from xiaowu.staff.tests.factories import StaffMemberFactory

pytestmark = pytest.mark.django_db

TEACHER_ID = make_id_number("621301", date(1985, 4, 12), 21)  # male
FORMULA_ID = make_id_number("621301", date(1990, 11, 3), 22)  # female
CLERK_ID = make_id_number("621301", date(1979, 1, 30), 24)  # female
SUN_ID = make_id_number("621301", date(1988, 7, 7), 26)  # female
RETIRED_ID = make_id_number("621301", date(1960, 2, 2), 31)
FOREIGN_ID = make_id_number("621301", date(1982, 3, 3), 33)


def _id_ending_in_x() -> str:
    return next(
        candidate
        for sequence in range(1, 999, 2)
        if (candidate := make_id_number("621301", date(1975, 5, 5), sequence)).endswith("X")
    )


ID_X = _id_ending_in_x()  # male (odd sequence)


@pytest.fixture
def staff(world):
    """Staff of the first school: full and sparse records, one in the 教导处 (a unit inside the
    school), a name that looks like a formula; a retired member and one of another school.

    As ``staff.services`` and the import keep them, the birth date and gender agree with the ID.
    """
    StaffMember.objects.filter(name="孙老师").update(id_number=SUN_ID, birth_date=date(1988, 7, 7))
    StaffMemberFactory(
        org_unit=world.school,
        name="马老师",
        gender=Gender.MALE,
        birth_date=date(1985, 4, 12),
        id_number=TEACHER_ID,
        mobile="13800001111",
        education=Education.BACHELOR,
        professional_title=ProfessionalTitle.FIRST,
        subject="数学",
    )
    StaffMemberFactory(
        org_unit=world.school,
        name="=1+1",
        birth_date=date(1990, 11, 3),
        id_number=FORMULA_ID,
        mobile="13800002222",
        post_category=PostCategory.ADMINISTRATIVE,
        status=StaffStatus.SECONDED_OUT,
        subject="-体育",
    )
    StaffMemberFactory(
        org_unit=world.office,
        name="林会计",
        birth_date=date(1979, 1, 30),
        id_number=CLERK_ID,
        post_category=PostCategory.TEACHING_SUPPORT,
        professional_title=ProfessionalTitle.NONE,
    )
    StaffMemberFactory(
        org_unit=world.school,
        name="老校工",
        gender=Gender.MALE,
        birth_date=date(1975, 5, 5),
        id_number=ID_X,
        post_category=PostCategory.WORKER,
        status=StaffStatus.SUBSTITUTE,
    )
    StaffMemberFactory(
        org_unit=world.school,
        name="退休老师",
        gender=Gender.MALE,
        id_number=RETIRED_ID,
        status=StaffStatus.RETIRED,
    )
    StaffMemberFactory(
        org_unit=world.other_school, name="外校老师", gender=Gender.MALE, id_number=FOREIGN_ID
    )


def _rows(data: bytes) -> list[dict[str, str | None]]:
    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    rows = [list(row) for row in workbook.active.iter_rows(values_only=True)]
    header = rows[0]
    assert header == [column.header for column in STAFF_COLUMNS]
    return [dict(zip(header, row, strict=True)) for row in rows[1:]]


def test_unmasked_staff_export_round_trips_unchanged(world, staff):
    principal = world.users["principal"]
    export = staff_export(actor=principal, school=world.school, unmasked=True)

    rows = {row["姓名"]: row for row in _rows(export.handle.getvalue())}
    assert export.rows == 5
    assert set(rows) == {"孙老师", "马老师", "=1+1", "林会计", "老校工"}
    assert export.filename.startswith("青石小学教职工名单（未脱敏）_")
    assert rows["马老师"] == {
        "姓名": "马老师",
        "性别": "男",
        "出生日期": "1985-04-12",
        "身份证号": TEACHER_ID,
        "手机": "13800001111",
        "学历": "大学本科",
        "职称": "一级教师",
        "岗位类别": "专任教师",
        "任教学科": "数学",
        "人事状态": "在编在岗",
    }
    assert rows["老校工"]["身份证号"] == ID_X
    audit = AuditEvent.objects.get(event="exchange.staff_export")
    assert (audit.action, audit.changes["rows"], audit.changes["unmasked"]) == ("export", 5, True)
    assert (audit.actor_id, audit.org_unit_id) == (principal.pk, world.school.pk)
    before = sorted(StaffMember.objects.values_list("pk", "updated_at"))
    periods = StaffStatusPeriod.objects.count()
    audit_rows = AuditEvent.objects.count()

    outcome = import_run(
        actor=principal,
        school=world.school,
        kind="staff",
        name=export.filename,
        data=export.handle.getvalue(),
    )

    assert (outcome.created, outcome.updated, outcome.unchanged, outcome.errors) == (0, 0, 5, [])
    assert sorted(StaffMember.objects.values_list("pk", "updated_at")) == before
    assert StaffStatusPeriod.objects.count() == periods
    assert AuditEvent.objects.count() == audit_rows


def test_formula_like_name_stays_text(world, staff):
    export = staff_export(actor=world.users["principal"], school=world.school, unmasked=True)

    data = export.handle.getvalue()
    sheet_xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in sheet_xml
    assert b"<t>=1+1</t>" in sheet_xml
    cells = openpyxl.load_workbook(io.BytesIO(data)).active
    row = next(row for row in cells.iter_rows(min_row=2) if row[0].value == "=1+1")
    assert (row[0].data_type, row[0].quotePrefix) == ("s", True)
    assert (row[8].value, row[8].data_type, row[8].quotePrefix) == ("-体育", "s", True)
    identifier = row[3]
    assert (identifier.value, identifier.data_type) == (FORMULA_ID, "s")


def test_masked_staff_export_for_those_who_may_not_unmask(world, staff):
    office = world.users["office"]

    export = staff_export(actor=office, school=world.school)

    rows = {row["姓名"]: row for row in _rows(export.handle.getvalue())}
    assert rows["马老师"]["身份证号"] == TEACHER_ID[:6] + "********" + TEACHER_ID[-4:]
    assert rows["马老师"]["手机"] == "138****1111"
    assert TEACHER_ID not in str(rows)
    assert "13800001111" not in str(rows)
    assert "（未脱敏）" not in export.filename
    with pytest.raises(PermissionDenied, match="未脱敏"):
        staff_export(actor=office, school=world.school, unmasked=True)
    for username in ("vice", "teacher", "research", "principal2"):
        with pytest.raises(PermissionDenied, match="您无权导出该校的教职工名单"):
            staff_export(actor=world.users[username], school=world.school)
    assert list(
        AuditEvent.objects.filter(event="exchange.staff_export").values_list(
            "changes__unmasked", "changes__rows"
        )
    ) == [(False, 5)]


def test_staff_export_shares_the_hourly_rate_limit(world, settings):
    settings.XIAOWU_EXPORT_LIMIT_PER_HOUR = 2
    principal = world.users["principal"]
    student_export(actor=principal, school=world.school)
    staff_export(actor=principal, school=world.school)

    with pytest.raises(ExportRateLimitedError, match="一小时内最多导出 2 次"):
        staff_export(actor=principal, school=world.school)
    assert AuditEvent.objects.filter(event="exchange.staff_export").count() == 1


def test_export_page_staff_download_masked_for_office(world, staff, client_for):
    response = client_for("office").post(
        reverse("exchange:export"), {"kind": "staff", "school": world.school.pk, "unmasked": "on"}
    )

    content = b"".join(response.streaming_content)
    rows = CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0).to_python()
    assert response.status_code == 200
    assert "filename*=utf-8''" + quote("青石小学教职工名单_") in response["Content-Disposition"]
    assert rows[0][:4] == ["姓名", "性别", "出生日期", "身份证号"]
    assert TEACHER_ID not in str(rows)
    audit = AuditEvent.objects.get(event="exchange.staff_export")
    assert (audit.changes["rows"], audit.changes["unmasked"]) == (5, False)


def test_export_page_staff_permission_403_and_404(world, staff, client_for):
    vice_page = client_for("vice").get(reverse("exchange:export"))
    vice_post = client_for("vice").post(
        reverse("exchange:export"), {"kind": "staff", "school": world.school.pk}
    )
    foreign = client_for("principal2").post(
        reverse("exchange:export"), {"kind": "staff", "school": world.school.pk}
    )
    unknown = client_for("principal").post(
        reverse("exchange:export"), {"kind": "staff", "school": 999_999}
    )

    assert (vice_page.status_code, vice_post.status_code) == (403, 403)
    assert (foreign.status_code, unknown.status_code) == (404, 404)
    assert not AuditEvent.objects.filter(event="exchange.staff_export").exists()


def test_export_page_preselects_kind_and_school(world, client_for):
    client = client_for("district")

    by_unit = client.get(reverse("exchange:export"), {"kind": "staff", "school": world.office.pk})
    foreign = client.get(
        reverse("exchange:export"), {"kind": "staff", "school": world.other_school.pk}
    )

    form = by_unit.context["form"]
    assert by_unit.status_code == 200
    assert (form["kind"].value(), form["school"].value()) == ("staff", world.school.pk)
    assert [value for value, _label in form.fields["kind"].choices] == ["students", "staff"]
    assert foreign.context["form"]["school"].value() is None


def test_staff_list_links_to_the_staff_export(world, client_for):
    link = reverse("exchange:export") + "?kind=staff"

    district = client_for("district").get(reverse("staff:list"), {"unit": world.school.pk})
    vice = client_for("vice").get(reverse("staff:list"))

    assert f'href="{link}&amp;school={world.school.pk}"' in district.content.decode()
    assert link not in vice.content.decode()


def test_export_staff_command_writes_the_file(world, staff, tmp_path):
    target = tmp_path / "staff.xlsx"
    out = io.StringIO()

    call_command("export", "staff", "--school", "S1", "-o", str(target), "--unmasked", stdout=out)

    rows = CalamineWorkbook.from_path(str(target)).get_sheet_by_index(0).to_python()
    assert out.getvalue() == f"已导出 5 名教职工到 {target}（未脱敏）。\n"
    assert rows[0] == [column.header for column in STAFF_COLUMNS]
    assert TEACHER_ID in [cell for row in rows for cell in row]
    audit = AuditEvent.objects.get(event="exchange.staff_export")
    assert (audit.actor_label, audit.changes["unmasked"], audit.changes["rows"]) == (
        "命令行",
        True,
        5,
    )
    with pytest.raises(CommandError, match="不能指定 --class"):
        call_command("export", "staff", "--school", "S1", "--class", "S1-C101", "-o", str(target))
