"""``xiaowu bench import [--rows 50000]``: time a national-template student import.

The benchmark never touches real data. The outer process makes a temporary directory, points
``DATABASE_URL`` at a new SQLite file in it, runs ``migrate`` and then itself again with
``--inside`` in that environment. The inner process builds a throwaway school with enough
classes, writes a synthetic 学生基本信息表 (.xlsx, names from the demo generator's pools,
checksum-valid ID numbers under the non-existent prefecture 6213), imports it (all rows new)
and imports it again (all rows unchanged), and prints seconds and peak RSS.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import xlsxwriter
from django.conf import settings
from django.core.management.base import CommandError, CommandParser, OutputWrapper
from django.db.models import F

from xiaowu.core.identifiers import make_id_number
from xiaowu.core.models import Gender
from xiaowu.core.pinyin import pinyin_keys
from xiaowu.demo import names
from xiaowu.exchange.models import ImportKind
from xiaowu.exchange.services import import_run
from xiaowu.org.models import Grade, OrgUnit, SchoolType, UnitKind
from xiaowu.org.services import class_display_name, closure_rebuild

HELP = (
    "学籍导入基准：生成 N 行全国模板 .xlsx，在临时 SQLite 数据库中导入两次"
    "（第二次应全部未变化），报告耗时和峰值内存。"
)
BENCH_ENV = "XIAOWU_BENCH_DATABASE"
CLASS_SIZE = 45
GRADES = tuple(range(1, 10))
# Prefecture 13 of 甘肃 (62) does not exist: no synthetic number can be a real person's.
REGION_PREFIX = "6213"
HEADERS = (
    "姓名★",
    "性别★",
    "出生日期★",
    "出生地★",
    "籍贯★",
    "民族★",
    "国籍/地区★",
    "身份证件类型★",
    "身份证件号",
    "全国学籍号",
    "港澳台侨外★",
    "健康状况★",
    "户口所在地★",
    "年级★",
    "班级★",
    "入学年月★",
    "就读方式★",
    "现住址★",
    "是否留守儿童★",
    "是否进城务工人员随迁子女★",
    "是否孤儿★",
    "成员1姓名",
    "成员1关系",
    "成员1联系电话",
)


def add_arguments(parser: CommandParser) -> None:
    parser.add_argument("--rows", type=int, default=50_000, help="学生行数（默认 50000）")
    parser.add_argument("--keep", action="store_true", help="保留临时目录（数据库和生成的文件）")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)


def run(options: Mapping[str, Any], *, stdout: OutputWrapper) -> None:
    rows: int = options["rows"]
    if not 1 <= rows <= 200_000:
        raise CommandError("--rows 必须在 1 到 200000 之间。")
    if options["inside"]:
        _run_inside(rows=rows, stdout=stdout)
        return
    directory = Path(tempfile.mkdtemp(prefix="xiaowu-bench-"))
    database = directory / "bench.sqlite3"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "XIAOWU_VAR_DIR": str(directory),
        "XIAOWU_INSECURE_HTTP": "1",
        BENCH_ENV: str(database),
    }
    command = [sys.executable, "-m", "xiaowu.cli"]
    try:
        stdout.write(f"临时数据库：{database}")
        migrate = subprocess.run(  # noqa: S603 — our own interpreter and fixed arguments
            [*command, "migrate", "--noinput", "-v", "0"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if migrate.returncode != 0:
            raise CommandError(f"migrate 失败：{migrate.stderr[-2000:]}")
        inner = subprocess.run(  # noqa: S603 — our own interpreter and fixed arguments
            [*command, "bench", "import", "--rows", str(rows), "--inside"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        stdout.write(inner.stdout.rstrip())
        if inner.returncode != 0:
            raise CommandError(f"基准运行失败：{inner.stderr[-4000:]}")
    finally:
        if options["keep"]:
            stdout.write(f"已保留临时目录：{directory}")
        else:
            shutil.rmtree(directory, ignore_errors=True)


def _check_inside() -> Path:
    expected = os.environ.get(BENCH_ENV, "")
    name = str(settings.DATABASES["default"]["NAME"])
    if not expected or Path(name).resolve() != Path(expected).resolve():
        raise CommandError("--inside 只能由 xiaowu bench import 在临时数据库中调用。")
    return Path(expected).parent


def _school(rows: int) -> OrgUnit:
    """Build a bureau → district → school with enough classes for ``rows`` pupils."""
    bureau = OrgUnit.objects.create(code="BENCH-B", name="基准测试教育局", kind=UnitKind.BUREAU)
    district = OrgUnit.objects.create(
        code="BENCH-D", name="基准测试学区", kind=UnitKind.SCHOOL_DISTRICT, parent=bureau, depth=1
    )
    school = OrgUnit.objects.create(
        code="BENCH-S",
        name="基准测试学校",
        kind=UnitKind.SCHOOL,
        school_type=SchoolType.NINE_YEAR_SCHOOL,
        parent=district,
        depth=2,
    )
    OrgUnit.objects.filter(pk=school.pk).update(school_id=F("id"))
    per_grade = math.ceil(rows / CLASS_SIZE / len(GRADES))
    classes = []
    for grade in GRADES:
        for number in range(1, per_grade + 1):
            name = class_display_name(grade, number)
            pinyin, initials = pinyin_keys(name)
            classes.append(
                OrgUnit(
                    code=f"BENCH-S-{grade:02d}{number:03d}",
                    name=name,
                    kind=UnitKind.SCHOOL_CLASS,
                    parent=school,
                    school=school,
                    depth=3,
                    grade=grade,
                    class_number=number,
                    name_pinyin=pinyin,
                    name_initials=initials,
                )
            )
    OrgUnit.objects.bulk_create(classes, batch_size=500)
    closure_rebuild(OrgUnit.objects.values_list("pk", "parent_id"))
    school.refresh_from_db()
    return school


def synthetic_rows(rows: int, *, seed: int = 2025) -> Iterator[list[str]]:
    """Yield ``rows`` synthetic pupils in the column order of ``HEADERS``."""
    rng = random.Random(seed)  # noqa: S311 — synthetic data, not security
    per_grade = math.ceil(rows / CLASS_SIZE / len(GRADES))
    block = 99 * 3000
    for index in range(rows):
        gender = Gender.MALE if rng.random() < 0.52 else Gender.FEMALE
        county = index % 99 + 1
        born = date(2010, 1, 1) + timedelta(days=(index // 99) % 3000)
        sequence = (index // block) * 2 + (1 if gender == Gender.MALE else 0)
        id_number = make_id_number(f"{REGION_PREFIX}{county:02d}", born, sequence)
        class_index = index // CLASS_SIZE
        grade = GRADES[class_index % len(GRADES)]
        number = class_index // len(GRADES) % per_grade + 1
        surname = names.surname_pick(rng)
        name = names.person_name(rng, gender=gender, generation="child", surname=surname)
        parent_gender = Gender.MALE if index % 2 else Gender.FEMALE
        parent = names.person_name(
            rng,
            gender=parent_gender,
            generation="adult",
            surname=surname if parent_gender == Gender.MALE else "",
        )
        region = f"{REGION_PREFIX}{county:02d}000000"
        yield [
            name,
            "男" if gender == Gender.MALE else "女",
            f"{born:%Y%m%d}",
            region,
            region,
            "汉族" if index % 20 else "回族",
            "CHN",
            "居民身份证",
            id_number,
            "G" + id_number,
            "否",
            "健康或良好",
            region,
            Grade(grade).label,
            class_display_name(grade, number),
            f"{2025 - grade + 1}09",
            "走读" if index % 7 else "住校",
            f"基准路{index % 500 + 1}号",
            "非留守儿童" if index % 11 else "单亲留守儿童",
            "否" if index % 13 else "是",
            "否",
            parent,
            "父亲" if parent_gender == Gender.MALE else "母亲",
            f"139{index:08d}",
        ]


def synthetic_workbook(path: Path, rows: int) -> None:
    """Write the synthetic 学生基本信息表 to ``path`` (IDs as text, as the template wants)."""
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = workbook.add_worksheet("学生基本信息")
    text = workbook.add_format({"num_format": "@"})
    for index, header in enumerate(HEADERS):
        sheet.write_string(0, index, header)
    for number, cells in enumerate(synthetic_rows(rows), start=1):
        for index, value in enumerate(cells):
            sheet.write_string(number, index, value, text)
    workbook.close()


def _peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _run_inside(*, rows: int, stdout: OutputWrapper) -> None:
    directory = _check_inside()
    school = _school(rows)
    path = directory / f"bench-{rows}.xlsx"
    started = time.perf_counter()
    synthetic_workbook(path, rows)
    generated = time.perf_counter() - started
    data = path.read_bytes()
    stdout.write(f"生成 {rows} 行 .xlsx：{generated:.1f} 秒，{len(data) / 1024 / 1024:.1f} MB")
    before = _peak_rss_mb()
    started = time.perf_counter()
    first = import_run(
        actor=None, school=school, kind=ImportKind.STUDENTS, name=path.name, data=data
    )
    first_seconds = time.perf_counter() - started
    if first.errors or first.created != rows:
        raise CommandError(f"首次导入结果不符：新增 {first.created}，错误 {len(first.errors)}")
    stdout.write(
        f"首次导入（全部新增）：{rows} 行，{first_seconds:.1f} 秒，{rows / first_seconds:.0f} 行/秒"
    )
    started = time.perf_counter()
    second = import_run(
        actor=None, school=school, kind=ImportKind.STUDENTS, name=path.name, data=data
    )
    second_seconds = time.perf_counter() - started
    if second.errors or second.unchanged != rows:
        raise CommandError(f"再次导入结果不符：未变化 {second.unchanged}")
    stdout.write(f"再次导入（全部未变化）：{rows} 行，{second_seconds:.1f} 秒")
    stdout.write(f"峰值内存（RSS）：{_peak_rss_mb():.0f} MB（导入前 {before:.0f} MB）")
