"""The analysis workbook: opens with openpyxl, holds the engine's numbers, only visible rows,
IDs as text, and is audited."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import polars as pl
import pytest
from conftest import World
from pytest_django.fixtures import Settings

from xiaowu.audit.models import AuditEvent
from xiaowu.core.rates import Rate
from xiaowu.exams.analysis import AnalysisBundle, caliber_default, exam_analysis_get
from xiaowu.exams.exports import EXPORT_LAYOUTS, LINES_HEADER, SUMMARY_HEADER, analysis_export
from xiaowu.exams.models import Caliber
from xiaowu.exams.selectors_analysis import analysis_scope
from xiaowu.exams.tests.test_analysis_world import class_fill, exam_create
from xiaowu.org.models import OrgUnit
from xiaowu.org.tests.factories import SchoolClassFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def var_dir(settings: Settings, tmp_path: Path) -> Path:
    settings.VAR_DIR = tmp_path
    return tmp_path


@pytest.fixture
def bundle(world: World) -> AnalysisBundle:
    # A class whose name starts like a formula: written as text, never run.
    odd = SchoolClassFactory(
        code="S1-C109", name="=1+1班", grade=1, class_number=9, parent=world.school
    )
    exam = exam_create(
        owner=world.district,
        schools=[world.school, world.school_b],
        subjects={"语文": 100, "数学": 120},
        name="学区统考",
        kind="unified",
    )
    class_fill(exam, world.class_a, [{"语文": 50 + 4 * i, "数学": 60 + 5 * i} for i in range(10)])
    class_fill(
        exam, odd, [{"语文": 70 + 2 * i, "数学": "absent" if i == 0 else 90} for i in range(6)]
    )
    class_fill(
        exam,
        OrgUnit.objects.get(code="S2-C701"),
        [{"语文": 85, "数学": 100 + i} for i in range(8)],
        prefix="中学",
    )
    return exam_analysis_get(exam=exam, caliber=caliber_default(exam))


def _workbook(bundle: AnalysisBundle, world: World, user: str) -> openpyxl.Workbook:
    scope = analysis_scope(actor=world.users[user], exam=bundle.exam)
    export = analysis_export(actor=world.users[user], bundle=bundle, scope=scope)
    assert export.filename.endswith(".xlsx")
    return openpyxl.load_workbook(io.BytesIO(export.handle.read()))


def _table(sheet: Any) -> list[dict[str, Any]]:
    rows = list(sheet.iter_rows(values_only=True))
    start = next(i for i, row in enumerate(rows) if row and row[0] in ("层级", "班级", "科目"))
    header = rows[start]
    return [dict(zip(header, row, strict=False)) for row in rows[start + 1 :]]


def test_workbook_has_every_layout_and_the_caliber_notes(
    bundle: AnalysisBundle, world: World
) -> None:
    book = _workbook(bundle, world, "district")
    assert book.sheetnames == [*EXPORT_LAYOUTS.values(), "口径说明"]
    first = book["分析总表"]
    assert "通用口径" in str(first["A2"].value or "") + str(first["A3"].value or "")
    notes = {row[0]: row[1] for row in book["口径说明"].iter_rows(values_only=True) if row[0]}
    assert notes["denominator"] == "sat"


def test_summary_numbers_equal_the_engine(bundle: AnalysisBundle, world: World) -> None:
    book = _workbook(bundle, world, "district")
    rows = _table(book["分析总表"])
    assert list(rows[0]) == SUMMARY_HEADER
    units = bundle.table("units")
    for subject in ("语文", "数学", "总分"):
        engine = units.filter((pl.col("level") == "exam") & (pl.col("subject") == subject)).row(
            0, named=True
        )
        row = next(r for r in rows if r["层级"] == "全体" and r["科目"] == subject)
        assert row["实考人数"] == engine["sat"]
        assert row["应考人数"] == engine["expected"]
        assert row["平均分"] == round(engine["mean"], 2)
        assert row["及格人数"] == engine["pass_n"]
        expected = Rate(engine["pass_n"], engine["rate_denominator"]).percent
        assert Decimal(str(row["及格率(%)"])) == expected
    # 数学 has one absence: 应考 24, 实考 23.
    maths = next(r for r in rows if r["层级"] == "全体" and r["科目"] == "数学")
    assert (maths["应考人数"], maths["实考人数"]) == (24, 23)


def test_only_visible_units_and_codes_as_text(bundle: AnalysisBundle, world: World) -> None:
    book = _workbook(bundle, world, "principal")
    rows = _table(book["分析总表"])
    names = {r["单位"] for r in rows}
    assert "青石小学" in names
    assert "一年级(1)班" in names
    assert "青石中学" not in names
    assert "七年级(1)班" not in names
    classes = _table(book["班级对比表"])
    assert {r["班级"] for r in classes} == {"一年级(1)班", "=1+1班"}
    sheet = book["分析总表"]
    for row in sheet.iter_rows():
        for cell in row:
            if cell.value in ("S1-C101", "=1+1班"):
                assert cell.data_type == "s"  # text, not a number or a formula


def test_one_point_sheet_matches_the_table(bundle: AnalysisBundle, world: World) -> None:
    book = _workbook(bundle, world, "district")
    rows = _table(book["一分一段表"])
    engine = (
        bundle.table("one_point").filter(pl.col("subject") == "语文").sort("score", descending=True)
    )
    chinese = [r for r in rows if r["科目"] == "语文"]
    assert [(r["分数"], r["人数"], r["累计人数"]) for r in chinese] == [
        (row["score"], row["n"], row["cum_n"]) for row in engine.iter_rows(named=True)
    ]
    bands = _table(book["分数段表"])
    top = next(r for r in bands if r["科目"] == "语文")
    assert top["分数段"] == "[90, 100]"


def test_lines_sheet_has_both_hit_rates(bundle: AnalysisBundle, world: World) -> None:
    """单科上线表: 命中率 over 单上线 and over the subject's 参考人数 (实考), from the counts."""
    general = caliber_default(bundle.exam)
    caliber = Caliber.objects.create(
        code="lines-test",
        name="上线口径",
        version=1,
        config={**general.config, "lines": [{"name": "本科", "total": 150}]},
    )
    lined = exam_analysis_get(exam=bundle.exam, caliber=caliber)
    book = _workbook(lined, world, "district")
    rows = _table(book["单科上线表"])
    assert list(rows[0]) == LINES_HEADER
    assert "命中率（双上线/单上线）(%)" in LINES_HEADER
    assert "命中率（双上线/参考人数）(%)" in LINES_HEADER
    table = lined.table("line_subjects")
    compared = 0
    for row in rows:
        if row["层级"] != "全体":
            continue
        engine = table.filter((pl.col("level") == "exam") & (pl.col("subject") == row["科目"])).row(
            0, named=True
        )
        assert (row["参考人数"], row["单上线人数"], row["双上线人数"]) == (
            engine["sat"],
            engine["single_n"],
            engine["double_n"],
        )
        assert engine["single_n"] != engine["sat"]  # the two 命中率 differ here
        by_single = Rate(engine["double_n"], engine["single_n"]).percent
        by_sat = Rate(engine["double_n"], engine["sat"]).percent
        assert Decimal(str(row["命中率（双上线/单上线）(%)"])) == by_single
        assert Decimal(str(row["命中率（双上线/参考人数）(%)"])) == by_sat
        compared += 1
    assert compared == 2  # 语文 and 数学
    # A school user: only their own school's units.
    names = {r["单位"] for r in _table(_workbook(lined, world, "principal")["单科上线表"])}
    assert "青石小学" in names
    assert "青石中学" not in names
    assert "七年级(1)班" not in names


def test_export_is_audited(bundle: AnalysisBundle, world: World) -> None:
    _workbook(bundle, world, "principal")
    event = AuditEvent.objects.get(event="exams.analysis_export")
    assert event.actor_id == world.users["principal"].pk
    assert event.changes["caliber"] == "general"
    assert event.changes["rows"] > 0
    assert event.target_id == str(bundle.exam.pk)
