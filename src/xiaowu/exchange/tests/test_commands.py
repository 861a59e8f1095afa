"""``xiaowu import``, ``xiaowu export`` and ``xiaowu bench import``."""

from __future__ import annotations

import io
import json
from datetime import date

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from python_calamine import CalamineWorkbook

from xiaowu.audit.models import AuditEvent
from xiaowu.exchange.models import ImportBatch
from xiaowu.exchange.tests.sheets import pupil_id, write_csv
from xiaowu.students.models import Student

pytestmark = pytest.mark.django_db

PUPIL = pupil_id(date(2018, 3, 5), male=True, sequence=21)
OTHER = pupil_id(date(2018, 3, 5), male=False, sequence=22)
HEADER = ["姓名", "性别", "身份证件号", "班级"]


def _import(*args: str) -> tuple[dict[str, object], CommandError | None]:
    out = io.StringIO()
    error = None
    try:
        call_command("import", *args, stdout=out)
    except CommandError as exc:
        error = exc
    return json.loads(out.getvalue()), error


def test_import_json_success_then_unchanged(world, tmp_path):
    path = write_csv(tmp_path / "a.csv", [HEADER, ["甲", "男", PUPIL, "一年级(1)班"]])
    args = ("students", str(path), "--school", "S1", "--format", "json")

    first, first_error = _import(*args)
    second, second_error = _import(*args)

    assert (first, first_error) == (
        {"created": 1, "updated": 0, "unchanged": 0, "errors": []},
        None,
    )
    assert (second, second_error) == (
        {"created": 0, "updated": 0, "unchanged": 1, "errors": []},
        None,
    )
    audit = AuditEvent.objects.get(event="exchange.students_import")
    assert (audit.actor_id, audit.actor_label) == (None, "命令行")
    assert ImportBatch.objects.filter(status="committed", created_by=None).count() == 2


def test_import_json_errors_exit_non_zero_and_write_nothing(world, tmp_path):
    path = write_csv(
        tmp_path / "b.csv",
        [HEADER, ["甲", "男", PUPIL, "一年级(1)班"], ["乙", "女", OTHER, "九年级(9)班"]],
    )

    result, error = _import("students", str(path), "--school", "S1", "--format", "json")

    assert result == {
        "created": 0,
        "updated": 0,
        "unchanged": 0,
        "errors": [{"row": 3, "column": "班级", "message": "本校没有班级“九年级(9)班”。"}],
    }
    assert error is not None
    assert error.returncode == 1
    assert not Student.objects.filter(id_number=PUPIL).exists()
    assert ImportBatch.objects.count() == 0


def test_import_refused_file_is_one_json_error(world, tmp_path):
    path = tmp_path / "macro.xlsm"
    path.write_bytes(b"PK\x03\x04")

    result, error = _import("students", str(path), "--school", "S1", "--format", "json")

    assert result["errors"] == [
        {
            "row": 0,
            "column": "",
            "message": "不接受启用宏的文件（如 .xlsm）。请另存为 .xlsx 后再上传。",
        }
    ]
    assert error is not None


def test_import_dry_run_and_text_output(world, tmp_path):
    path = write_csv(tmp_path / "c.csv", [HEADER, ["甲", "男", PUPIL, "一年级(1)班"]])
    out = io.StringIO()

    call_command("import", "students", str(path), "--school", "S1", "--dry-run", stdout=out)

    assert out.getvalue() == "共 1 行：将新增 1，将更新 0，未变化 0。（试运行，未写入）\n"
    assert not Student.objects.filter(id_number=PUPIL).exists()
    with pytest.raises(CommandError, match="没有代码为“NOPE”的学校"):
        call_command("import", "students", str(path), "--school", "NOPE")


def test_export_command_writes_the_template(world, tmp_path):
    Student.objects.filter(pk=world.child.pk).update(id_number=PUPIL)
    target = tmp_path / "out.xlsx"
    out = io.StringIO()

    call_command(
        "export", "students", "--school", "S1", "-o", str(target), "--unmasked", stdout=out
    )

    rows = CalamineWorkbook.from_path(str(target)).get_sheet_by_index(0).to_python()
    assert out.getvalue() == f"已导出 3 名学生到 {target}（未脱敏）。\n"
    assert PUPIL in [cell for row in rows for cell in row]
    audit = AuditEvent.objects.get(event="exchange.student_export")
    assert (audit.actor_label, audit.changes["unmasked"], audit.changes["rows"]) == (
        "命令行",
        True,
        3,
    )


def test_bench_runs_in_a_temporary_database(world):
    out = io.StringIO()
    students_before = Student.objects.count()

    call_command("bench", "import", "--rows", "60", stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0].startswith("临时数据库：")
    assert lines[2].startswith("首次导入（全部新增）：60 行，")
    assert lines[3].startswith("再次导入（全部未变化）：60 行，")
    assert lines[4].startswith("峰值内存（RSS）：")
    assert Student.objects.count() == students_before


def test_bench_inside_refuses_a_real_database(world):
    with pytest.raises(CommandError, match="只能由 xiaowu bench import 在临时数据库中调用"):
        call_command("bench", "import", "--rows", "10", "--inside")
