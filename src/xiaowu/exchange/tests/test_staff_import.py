"""教职工导入: the simple staff layout, matched on 身份证号, with dated status changes."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from xiaowu.accounts.models import RoleAssignment
from xiaowu.accounts.tests.factories import RoleAssignmentFactory, UserFactory
from xiaowu.audit.models import AuditEvent
from xiaowu.core.identifiers import make_id_number
from xiaowu.exchange.services import import_run
from xiaowu.exchange.tests.sheets import AsNumber, write_xlsx
from xiaowu.staff.models import StaffMember
from xiaowu.staff.services import staff_status_record
from xiaowu.staff.tests.factories import StaffMemberFactory

pytestmark = pytest.mark.django_db

HEADER = [
    "姓名",
    "性别",
    "出生日期",
    "身份证号",
    "手机",
    "学历",
    "职称",
    "岗位类别",
    "任教学科",
    "人事状态",
]
TEACHER_ID = make_id_number("621301", date(1985, 4, 12), 21)  # male
CLERK_ID = make_id_number("621301", date(1990, 11, 3), 22)  # female
LEGACY = "621301680520123"  # 15 digits: born 1968-05-20, odd sequence → male


def _run(world, tmp_path, rows, *, actor="principal"):
    path = write_xlsx(tmp_path / "staff.xlsx", [HEADER, *rows])
    return import_run(
        actor=world.users[actor] if actor else None,
        school=world.school,
        kind="staff",
        name="staff.xlsx",
        data=path.read_bytes(),
    )


def test_staff_rows_are_created_then_unchanged(world, tmp_path):
    rows = [
        [
            "马老师",
            "男",
            "1985-04-12",
            TEACHER_ID,
            "13800001111",
            "本科",
            "中学一级教师",
            "专任教师",
            "数学",
            "在编在岗",
        ],
        ["林会计", "女", None, CLERK_ID, "138 0000 2222", "大专", "未定级", "教辅", None, None],
        [
            "老教师",
            None,
            None,
            AsNumber(float(LEGACY)),
            None,
            "中师",
            "小学高级教师",
            "专任教师",
            "语文",
            "在岗",
        ],
    ]

    first = _run(world, tmp_path, rows)
    second = _run(world, tmp_path, rows)

    assert (first.created, first.updated, first.unchanged, first.errors) == (3, 0, 0, [])
    assert (second.created, second.updated, second.unchanged, second.errors) == (0, 0, 3, [])
    teacher = StaffMember.objects.get(name="马老师")
    assert (
        teacher.org_unit_id,
        teacher.gender,
        teacher.education,
        teacher.professional_title,
        teacher.subject,
        teacher.status,
    ) == (world.school.pk, "male", "bachelor", "first", "数学", "on_post")
    clerk = StaffMember.objects.get(name="林会计")
    assert (clerk.mobile, clerk.birth_date, clerk.post_category) == (
        "13800002222",
        date(1990, 11, 3),
        "teaching_support",
    )
    veteran = StaffMember.objects.get(name="老教师")
    assert (str(veteran.id_number)[:8], veteran.gender, veteran.professional_title) == (
        "62130119",
        "male",
        "first",
    )
    assert AuditEvent.objects.filter(event="exchange.staff_import").count() == 1


def test_status_change_closes_the_open_period_and_a_leaver_loses_access(world, tmp_path):
    user = UserFactory(username="ma")
    assignment = RoleAssignmentFactory(user=user, role="subject_teacher", org_unit=world.class_a)
    member = StaffMemberFactory(
        org_unit=world.school,
        name="马老师",
        id_number=TEACHER_ID,
        gender="male",
        user=user,
        birth_date=date(1985, 4, 12),
    )
    period = staff_status_record(
        actor=world.users["principal"], staff=member, status="on_post", start_on=date(2010, 9, 1)
    )

    outcome = _run(
        world, tmp_path, [["马老师", "男", None, TEACHER_ID, None, None, None, None, None, "退休"]]
    )

    today = timezone.localdate()
    member.refresh_from_db()
    period.refresh_from_db()
    assignment.refresh_from_db()
    assert (outcome.updated, member.status, period.end_on) == (1, "retired", today)
    assert list(
        member.status_periods.filter(end_on__isnull=True).values_list("status", "start_on")
    ) == [("retired", today)]
    assert assignment.valid_until == date.fromordinal(today.toordinal() - 1)
    assert RoleAssignment.objects.filter(user=user, valid_until__isnull=True).count() == 0


def test_staff_errors_are_per_row(world, tmp_path):
    StaffMemberFactory(org_unit=world.other_school, name="外校", id_number=CLERK_ID)
    outcome = _run(
        world,
        tmp_path,
        [
            ["外校", "女", None, CLERK_ID, None, None, None, "专任教师", None, None],
            ["无身份证", "男", None, None, None, None, None, "专任教师", None, None],
            ["坏手机", "男", None, TEACHER_ID, "1234", None, "特级", "专任教师", None, None],
            [
                "缺岗位",
                "男",
                None,
                make_id_number("621301", date(1980, 1, 1), 1),
                None,
                None,
                None,
                None,
                None,
                None,
            ],
        ],
    )

    assert [(e.row, e.column, e.message) for e in outcome.errors] == [
        (2, "身份证号", "该教职工已登记在其他单位，请由原单位办理调出后再导入。"),
        (3, "身份证号", "请填写身份证号。"),
        (4, "手机", "手机号应为 11 位数字、以 1 开头。"),
        (
            4,
            "职称",
            "无法识别的职称“特级”，请填写 正高级教师、高级教师、一级教师、二级教师、"
            "三级教师 或 未定级。",
        ),
        (5, "岗位类别", "新登记的教职工请填写岗位类别。"),
    ]
    assert not StaffMember.objects.filter(name__in=["无身份证", "坏手机", "缺岗位"]).exists()


def test_staff_import_needs_staff_manage(world, tmp_path):
    for username in ("teacher", "gradehead", "principal2"):
        with pytest.raises(PermissionDenied, match="您无权导入该校的教职工档案"):
            _run(world, tmp_path, [], actor=username)
    outcome = _run(
        world,
        tmp_path,
        [["马老师", "男", None, TEACHER_ID, None, None, None, "专任教师", None, None]],
        actor=None,
    )
    assert outcome.created == 1
    assert AuditEvent.objects.get(event="exchange.staff_import").actor_label == "命令行"
