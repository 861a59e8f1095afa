"""学籍导入: tolerant parsing, per-row Chinese errors, all-or-nothing commit, idempotent re-import
(security.md DUR-01, DUR-05, INP-01, INP-06)."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from xiaowu.audit.models import AuditEvent
from xiaowu.core.tabular import id_number_text
from xiaowu.exchange.models import ImportBatch, ImportStatus
from xiaowu.exchange.services import import_commit, import_preview, import_run
from xiaowu.exchange.tests.sheets import (
    AsNumber,
    pupil_id,
    write_csv,
    write_xls,
    write_xlsx,
)
from xiaowu.students.models import (
    ClassMembership,
    Guardian,
    Guardianship,
    StatusChange,
    Student,
    StudentStatus,
)
from xiaowu.students.services import status_change_record
from xiaowu.students.tests.factories import GuardianFactory, GuardianshipFactory, StudentFactory

pytestmark = pytest.mark.django_db

BORN = date(2018, 3, 5)
ID_A = pupil_id(BORN, male=True, sequence=1)  # 张三
ID_C = pupil_id(BORN, male=True, sequence=3)  # 王五
LEGACY_15 = "621301990901002"  # 赵六: 15-digit, born 1999-09-01, female
LEGACY_18 = id_number_text(LEGACY_15)
FLOAT_ID = pupil_id(BORN, male=True, sequence=5)  # 钱七, typed into a number cell
BAD_CHECK = pupil_id(BORN, male=False, sequence=6)[:17] + "0"  # 孙八
ID_E = pupil_id(BORN, male=False, sequence=7)  # 周九


def _id_ending_in_x() -> str:
    for sequence in range(500):
        candidate = pupil_id(BORN, male=False, sequence=sequence)
        if candidate.endswith("X"):
            return candidate
    raise AssertionError("no X check digit found")


ID_X = _id_ending_in_x()
FULL_WIDTH_A = ID_A.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))

HEADER: list[object] = [
    "姓名★",
    "性 别*",
    "出生日期",
    "民族",
    "身份证件号",
    "全国学籍号",
    "班级",
    "入学年月",
    "成员1姓名",
    "成员1关系",
    "成员1联系电话",
]


def _good_rows() -> list[list[object]]:
    return [
        [
            "张三",
            "男",
            BORN,
            "汉族",
            FULL_WIDTH_A,
            "G" + ID_A,
            "一年级(1)班",
            "2024.09",
            "张大山",
            "父亲",
            "13900000001",
        ],
        [
            "李四",
            "女",
            "2018.3.5",
            "回族",
            ID_X.lower(),
            None,
            "1.1",
            "202409",
            "李妈妈",
            "母亲",
            "13900000002",
        ],
        ["王五", 1, 43164, "毛难族", ID_C, None, "三年级1班", None, "王爸爸", "父", "13900000003"],
        [
            "赵六",
            "女",
            "1999年9月1日",
            "汉",
            AsNumber(float(LEGACY_15)),
            None,
            "一年级1班",
            "2024-9",
            None,
            None,
            None,
        ],
    ]


def _messy_rows() -> list[list[object]]:
    return [
        HEADER,
        *_good_rows(),
        [
            "钱七",
            "男",
            BORN,
            "汉族",
            AsNumber(float(FLOAT_ID)),
            None,
            "一年级(1)班",
            None,
            None,
            None,
            None,
        ],
        ["孙八", "女", BORN, "汉族", BAD_CHECK, None, "一年级(1)班", None, None, None, None],
        ["周九", "女", BORN, "汉族", ID_E, None, "八年级(9)班", None, None, None, None],
        ["吴十", "男", BORN, "汉族", ID_A, None, "一年级(1)班", None, None, None, None],
    ]


def test_messy_file_reports_exactly_the_bad_rows_in_chinese(world, tmp_path):
    """Full-width digits, lower-case x, serial dates, 2010.9.1, a 15-digit number ID are read;
    an 18-digit float ID, a bad check digit, an unknown class and a duplicate are row errors."""
    path = write_xlsx(tmp_path / "messy.xlsx", _messy_rows())
    students_before = Student.objects.count()

    batch = import_preview(
        actor=world.users["principal"],
        school=world.school,
        kind="students",
        name="学生名单.xlsx",
        data=path.read_bytes(),
    )

    assert batch.errors == [
        {
            "row": 6,
            "column": "身份证件号",
            "message": "身份证件号以数字格式保存，末几位已经丢失；请把该列设置为“文本”格式后"
            "重新填写（或在数字前加英文单引号）。",
        },
        {
            "row": 7,
            "column": "身份证件号",
            "message": "不是有效的 18 位居民身份证号（校验位不符或出生日期不存在）。",
        },
        {"row": 8, "column": "班级", "message": "本校没有班级“八年级(9)班”。"},
        {"row": 9, "column": "身份证件号", "message": "与第 2 行的身份证件号重复。"},
    ]
    assert (batch.row_count, batch.error_count, batch.created_count) == (8, 4, 0)
    assert [row["action"] for row in batch.preview] == ["新增"] * 4 + ["有错误"] * 4
    assert batch.preview[0]["id_number"] == ID_A[:6] + "********" + ID_A[-4:]
    with pytest.raises(ValidationError, match="该批次有错误，不能导入"):
        import_commit(actor=world.users["principal"], batch=batch)
    assert Student.objects.count() == students_before


def test_valid_rows_import_with_their_normalised_values_then_reimport_is_unchanged(world, tmp_path):
    path = write_xlsx(tmp_path / "good.xlsx", [HEADER, *_good_rows()])
    principal = world.users["principal"]

    first = import_run(
        actor=principal,
        school=world.school,
        kind="students",
        name="good.xlsx",
        data=path.read_bytes(),
    )

    assert (first.created, first.updated, first.unchanged, first.errors) == (4, 0, 0, [])
    students = {
        s.name: s for s in Student.objects.filter(name__in=["张三", "李四", "王五", "赵六"])
    }
    assert students["张三"].id_number == ID_A
    assert students["张三"].national_student_number == "G" + ID_A
    assert students["李四"].id_number == ID_X
    assert students["赵六"].id_number == LEGACY_18
    assert students["赵六"].birth_date == date(1999, 9, 1)
    assert students["王五"].birth_date == BORN
    assert students["王五"].ethnicity == "36"
    assert students["王五"].school_class_id == world.class_b.pk
    assert students["李四"].school_class_id == world.class_a.pk
    today = timezone.localdate()
    assert list(
        ClassMembership.objects.filter(student=students["张三"]).values_list("start_on", "end_on")
    ) == [(date(2024, 9, 1), None)]
    assert list(
        ClassMembership.objects.filter(student=students["王五"]).values_list("start_on", "end_on")
    ) == [(today, None)]
    assert (
        list(
            StatusChange.objects.filter(student__in=students.values()).values_list(
                "kind", flat=True
            )
        )
        == ["enrollment"] * 4
    )
    assert StatusChange.objects.get(student=students["王五"]).recorded_by == principal
    assert list(
        Guardianship.objects.filter(student=students["王五"]).values_list(
            "guardian__name", "guardian__mobile", "relation", "is_custodian"
        )
    ) == [("王爸爸", "13900000003", "father", True)]
    audit = AuditEvent.objects.get(event="exchange.students_import")
    assert audit.action == "import"
    assert audit.actor_id == principal.pk
    assert audit.changes["created"] == 4
    assert audit.changes["file_sha256"] == first.batch.sha256
    assert len(first.batch.sha256) == 64

    counts = (
        AuditEvent.objects.count(),
        StatusChange.objects.count(),
        ClassMembership.objects.count(),
        Guardian.objects.count(),
        Guardianship.objects.count(),
    )
    versions = sorted(Student.objects.values_list("pk", "version", "updated_at"))
    second = import_run(
        actor=principal,
        school=world.school,
        kind="students",
        name="good.xlsx",
        data=path.read_bytes(),
    )

    assert (second.created, second.updated, second.unchanged, second.errors) == (0, 0, 4, [])
    assert (
        AuditEvent.objects.count(),
        StatusChange.objects.count(),
        ClassMembership.objects.count(),
        Guardian.objects.count(),
        Guardianship.objects.count(),
    ) == counts
    assert sorted(Student.objects.values_list("pk", "version", "updated_at")) == versions


def test_commit_is_all_or_nothing_and_refuses_a_second_commit(world, tmp_path):
    path = write_xlsx(tmp_path / "good.xlsx", [HEADER, *_good_rows()])
    principal = world.users["principal"]
    batch = import_preview(
        actor=principal,
        school=world.school,
        kind="students",
        name="good.xlsx",
        data=path.read_bytes(),
    )
    assert (batch.status, batch.created_count, batch.error_count) == ("previewed", 4, 0)
    assert not Student.objects.filter(name="张三").exists()

    committed = import_commit(actor=principal, batch=batch)

    assert committed.status == ImportStatus.COMMITTED
    assert committed.committed_at is not None
    assert Student.objects.filter(name__in=["张三", "李四", "王五", "赵六"]).count() == 4
    with pytest.raises(ValidationError, match="该批次已经导入，不能重复提交"):
        import_commit(actor=principal, batch=committed)
    assert Student.objects.filter(name="张三").count() == 1


def test_commit_rechecks_the_file_and_writes_nothing_when_the_register_changed(world, tmp_path):
    path = write_xlsx(tmp_path / "good.xlsx", [HEADER, *_good_rows()])
    principal = world.users["principal"]
    batch = import_preview(
        actor=principal,
        school=world.school,
        kind="students",
        name="good.xlsx",
        data=path.read_bytes(),
    )
    # Meanwhile 王五 is registered in another school by hand.
    StudentFactory(school_class=world.class_other, name="王五", id_number=ID_C)
    students_before = Student.objects.count()

    result = import_commit(actor=principal, batch=batch)

    assert result.status == ImportStatus.FAILED
    assert result.errors == [
        {
            "row": 4,
            "column": "身份证件号",
            "message": "该学生已登记在其他学校的学籍中，请通过转学（转入）办理。",
        }
    ]
    assert Student.objects.count() == students_before
    assert not AuditEvent.objects.filter(event="exchange.students_import").exists()


def test_changed_class_is_a_class_change_event_dated_today(world, tmp_path):
    student = StudentFactory(
        school_class=world.class_a,
        name="调班生",
        id_number=ID_A,
        birth_date=BORN,
        enrolled_on=date(2024, 9, 1),
    )
    path = write_csv(
        tmp_path / "move.csv",
        [["姓名", "身份证件号", "班级", "现住址"], ["调班生", ID_A, "三年级(1)班", "青石路 1 号"]],
    )

    outcome = import_run(
        actor=world.users["principal"],
        school=world.school,
        kind="students",
        name="move.csv",
        data=path.read_bytes(),
    )

    today = timezone.localdate()
    student.refresh_from_db()
    assert (outcome.created, outcome.updated, outcome.unchanged) == (0, 1, 0)
    assert (student.school_class_id, student.address, student.version) == (
        world.class_b.pk,
        "青石路 1 号",
        2,
    )
    assert list(
        student.memberships.order_by("start_on").values_list(
            "school_class_id", "start_on", "end_on"
        )
    ) == [(world.class_a.pk, date(2024, 9, 1), today), (world.class_b.pk, today, None)]
    event = student.status_changes.get(kind="class_change")
    assert (event.effective_on, event.from_class_id, event.to_class_id) == (
        today,
        world.class_a.pk,
        world.class_b.pk,
    )
    audit = AuditEvent.objects.get(event="exchange.students_import")
    assert audit.changes["class_changes"] == 1
    assert audit.changes["changed_fields"] == {"address": 1, "school_class": 1}


def test_siblings_share_a_guardian_by_name_and_phone(world, tmp_path):
    parent = GuardianFactory(name="刘建国", mobile="13912345678", user=None)
    elder = StudentFactory(school_class=world.class_b, name="刘大", id_number=ID_A, birth_date=BORN)
    GuardianshipFactory(student=elder, guardian=parent, relation="father")
    path = write_xlsx(
        tmp_path / "siblings.xlsx",
        [
            ["姓名", "性别", "身份证件号", "班级", "成员1姓名", "成员1关系", "成员1联系电话"],
            ["刘大", "男", ID_A, "三年级(1)班", "刘建国", "父亲", "139 1234 5678"],
            ["刘二", "女", ID_X, "一年级(1)班", "刘建国", "父亲", "+86 13912345678"],
            ["刘三", "男", ID_C, "一年级(1)班", "刘建国", "父亲", "13912345678"],
        ],
    )

    outcome = import_run(
        actor=world.users["principal"],
        school=world.school,
        kind="students",
        name="siblings.xlsx",
        data=path.read_bytes(),
    )

    assert (outcome.created, outcome.updated, outcome.unchanged) == (2, 0, 1)
    assert Guardian.objects.filter(name="刘建国").count() == 1
    assert sorted(parent.guardianships.values_list("student__name", flat=True)) == [
        "刘三",
        "刘二",
        "刘大",
    ]


def test_existing_student_elsewhere_or_not_enrolled_is_a_row_error(world, tmp_path):
    StudentFactory(school_class=world.class_other, name="外校生", id_number=ID_A)
    gone = StudentFactory(school_class=world.class_a, name="转出生", id_number=ID_C)
    status_change_record(
        actor=world.users["principal"],
        student=gone,
        kind="transfer_out",
        effective_on=date(2025, 1, 10),
        counterpart="外地",
    )
    path = write_csv(
        tmp_path / "conflicts.csv",
        [
            ["姓名", "身份证件号", "班级"],
            ["外校生", ID_A, "一年级(1)班"],
            ["转出生", ID_C, "一年级(1)班"],
        ],
    )

    outcome = import_run(
        actor=world.users["principal"],
        school=world.school,
        kind="students",
        name="conflicts.csv",
        data=path.read_bytes(),
    )

    assert [error.as_dict() for error in outcome.errors] == [
        {
            "row": 2,
            "column": "身份证件号",
            "message": "该学生已登记在其他学校的学籍中，请通过转学（转入）办理。",
        },
        {
            "row": 3,
            "column": "身份证件号",
            "message": "该学生的学籍状态为“转出”，导入不能修改，请先办理复学或转入。",
        },
    ]
    assert outcome.committed is False
    assert Student.objects.get(pk=gone.pk).status == StudentStatus.TRANSFERRED_OUT


def test_xls_and_gb18030_csv_and_title_row_and_grade_columns_are_read(world, tmp_path):
    rows = [
        ["学生基本信息表"],
        ["姓名★", "性别★", "身份证件号", "年级★", "班级★", "是否孤儿", "就读方式"],
        ["甲同学", "男", ID_A, "三年级", "1班", "否", "住校"],
        ["乙同学", "女", ID_X, "一", "(1)", "是", "1"],
    ]
    xls_path = write_xls(tmp_path / "roster.xls", rows)
    csv_path = write_csv(tmp_path / "roster.csv", rows, encoding="gb18030")

    xls_outcome = import_run(
        actor=world.users["principal"],
        school=world.school,
        kind="students",
        name="roster.xls",
        data=xls_path.read_bytes(),
        dry_run=True,
    )
    csv_outcome = import_run(
        actor=world.users["principal"],
        school=world.school,
        kind="students",
        name="roster.csv",
        data=csv_path.read_bytes(),
    )

    assert (xls_outcome.created, xls_outcome.errors, xls_outcome.committed) == (2, [], False)
    assert (csv_outcome.created, csv_outcome.errors, csv_outcome.committed) == (2, [], True)
    first = Student.objects.get(name="甲同学")
    second = Student.objects.get(name="乙同学")
    assert (first.school_class_id, first.study_mode, first.is_orphan) == (
        world.class_b.pk,
        "2",
        False,
    )
    assert (second.school_class_id, second.study_mode, second.is_orphan) == (
        world.class_a.pk,
        "1",
        True,
    )
    assert (second.gender, second.birth_date) == ("female", BORN)


def test_missing_key_columns_are_reported_on_the_header_row(world, tmp_path):
    path = write_csv(tmp_path / "nokey.csv", [["姓名", "性别"], ["某", "男"]])

    outcome = import_run(
        actor=world.users["principal"],
        school=world.school,
        kind="students",
        name="nokey.csv",
        data=path.read_bytes(),
    )

    assert [error.as_dict() for error in outcome.errors] == [
        {
            "row": 1,
            "column": "身份证件号",
            "message": "缺少“身份证件号”或“全国学籍号”列，无法核对学生是否已在册。",
        },
        {"row": 1, "column": "班级", "message": "缺少“班级”列。"},
    ]


def test_import_needs_students_manage_at_the_school(world, tmp_path):
    path = write_csv(
        tmp_path / "a.csv", [["姓名", "身份证件号", "班级"], ["某", ID_A, "一年级(1)班"]]
    )
    for username in ("teacher", "vice", "principal2"):
        with pytest.raises(PermissionDenied):
            import_preview(
                actor=world.users[username],
                school=world.school,
                kind="students",
                name="a.csv",
                data=path.read_bytes(),
            )
    assert ImportBatch.objects.count() == 0
    batch = import_preview(
        actor=world.users["office"],
        school=world.school,
        kind="students",
        name="a.csv",
        data=path.read_bytes(),
    )
    assert batch.created_count == 1


def test_inconsistent_identity_cells_are_errors(world, tmp_path):
    path = write_csv(
        tmp_path / "identity.csv",
        [
            ["姓名", "性别", "出生日期", "身份证件号", "全国学籍号", "班级"],
            ["错性别", "女", "", ID_A, "", "一年级(1)班"],
            ["错生日", "", "2017-01-01", ID_C, "", "一年级(1)班"],
            ["错学籍号", "", "", ID_E, "G12345", "一年级(1)班"],
            ["无证件", "男", "", "", "", "一年级(1)班"],
        ],
    )

    outcome = import_run(
        actor=world.users["principal"],
        school=world.school,
        kind="students",
        name="identity.csv",
        data=path.read_bytes(),
    )

    assert [(e.row, e.column, e.message) for e in outcome.errors] == [
        (2, "性别", "性别与身份证件号不一致（第 17 位奇数为男、偶数为女）。"),
        (3, "出生日期", "出生日期与身份证件号中的出生日期（2018-03-05）不一致。"),
        (4, "全国学籍号", "全国学籍号应为 G/J 加 18 位（末位校验正确）或 L 加 18 位数字。"),
        (5, "身份证件号", "身份证件号和全国学籍号至少填写一项。"),
    ]


def test_values_from_the_id_fill_blanks_but_never_overwrite(world, tmp_path):
    """Gender and birth date derived from the ID only fill what is empty on file."""
    stored = StudentFactory(
        school_class=world.class_a, name="旧档案", id_number=ID_A, gender="female"
    )
    path = write_csv(
        tmp_path / "derived.csv", [["姓名", "身份证件号", "班级"], ["旧档案", ID_A, "一年级(1)班"]]
    )

    def run():
        return import_run(
            actor=world.users["principal"],
            school=world.school,
            kind="students",
            name="derived.csv",
            data=path.read_bytes(),
        )

    first = run()
    second = run()

    stored.refresh_from_db()
    assert (first.updated, second.unchanged) == (1, 1)
    assert (stored.gender, stored.birth_date) == ("female", BORN)
