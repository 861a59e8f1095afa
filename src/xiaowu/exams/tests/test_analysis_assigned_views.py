"""The 等级赋分 tab and export sheet: shown only for a 口径 with assigned_scores, numbers equal
to the engine's conversion table, only the visible schools and classes, no student names."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from conftest import World
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings

from xiaowu.exams.analysis import exam_analysis_get
from xiaowu.exams.exports import analysis_export
from xiaowu.exams.models import Caliber, Exam
from xiaowu.exams.selectors_analysis import analysis_scope
from xiaowu.exams.tests.test_analysis_world import class_fill, exam_create
from xiaowu.org.models import OrgUnit

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def var_dir(settings: Settings, tmp_path: Path) -> Path:
    settings.VAR_DIR = tmp_path
    return tmp_path


@pytest.fixture
def exam(world: World) -> Exam:
    """A 学区 统考 in both schools; 数学 spread enough to fill the five 3+1+2 bands."""
    OrgUnit.objects.filter(code="S2-C701").update(grade=1, class_number=3, name="一年级(3)班")
    exam = exam_create(
        owner=world.district,
        schools=[world.school, world.school_b],
        subjects={"语文": 100, "数学": 100},
        name="学区统考",
        kind="unified",
    )
    class_fill(exam, world.class_a, [{"语文": 60 + i, "数学": 40 + 3 * i} for i in range(15)])
    class_fill(
        exam,
        OrgUnit.objects.get(code="S2-C701"),
        [{"语文": 70 + i, "数学": "absent" if i == 0 else 55 + 2 * i} for i in range(15)],
        prefix="中学",
    )
    return exam


@pytest.fixture
def assigned_caliber() -> Caliber:
    general = Caliber.objects.get(code="general", version=1)
    config = {**general.config, "assigned_scores": {"scheme": "3+1+2", "subjects": ["数学"]}}
    return Caliber.objects.create(code="assigned-test", name="赋分口径", version=1, config=config)


def _cells(html: str, marker: str) -> list[list[str]]:
    table = html.split(marker, 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody>", 1)[1]
    return [
        [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", cell)).strip() for cell in cells]
        for cells in (
            re.findall(r"<td[^>]*>.*?</td>", row, flags=re.S)
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, flags=re.S)
        )
    ]


def test_tab_only_with_assigned_scores_in_the_caliber(
    exam: Exam, assigned_caliber: Caliber, client_for: Callable[[str], Client]
) -> None:
    client = client_for("district")
    url = reverse("exams:analysis_dashboard", args=[exam.pk])
    assigned_url = reverse("exams:analysis_assigned", args=[exam.pk])
    assert assigned_url not in client.get(url).content.decode()
    html = client.get(url, {"caliber": assigned_caliber.pk}).content.decode()
    assert f"{assigned_url}?caliber={assigned_caliber.pk}" in html
    plain = client.get(assigned_url).content.decode()
    assert 'id="assigned-none"' in plain
    assert "没有设置等级赋分" in plain


def test_conversion_and_unit_tables_equal_the_engine(
    exam: Exam, assigned_caliber: Caliber, client_for: Callable[[str], Client]
) -> None:
    response = client_for("district").get(
        reverse("exams:analysis_assigned", args=[exam.pk]), {"caliber": assigned_caliber.pk}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "3+1+2 再选科目" in html
    bundle = exam_analysis_get(exam=exam, caliber=assigned_caliber)
    bands = bundle.table("assigned_bands").filter(pl.col("subject") == "数学").sort("band_index")
    rows = _cells(html, 'id="assigned-conversion"')
    assert [row[0] for row in rows] == ["A", "B", "C", "D", "E"]
    assert [int(row[2]) for row in rows] == bands.get_column("n").to_list()
    assert sum(int(row[2]) for row in rows) == 29  # 30 candidates, one absent
    assert rows[0][7] == "100–86"
    top = bands.row(0, named=True)
    assert rows[0][6] == f"{top['raw_high']:g}–{top['raw_low']:g}"
    assigned = bundle.table("assigned")
    units = _cells(html, 'id="assigned-units"')
    assert units[0][0] == "全体考生"
    assert units[0][1] == "29"
    mean = float(assigned.get_column("assigned").cast(pl.Float64).mean() or 0)
    text = f"{mean:.2f}"
    assert units[0][3] == (f"{mean:.0f}" if text.endswith("00") else text)
    assert {row[0] for row in units[1:]} == {"青石小学", "青石中学"}
    by_class = _cells(
        client_for("district")
        .get(
            reverse("exams:analysis_assigned", args=[exam.pk]),
            {"caliber": assigned_caliber.pk, "level": "class"},
        )
        .content.decode(),
        'id="assigned-units"',
    )
    assert {row[0] for row in by_class[1:]} == {"青石小学一年级(1)班", "青石中学一年级(3)班"}
    assert "中学1" not in html  # aggregates only: no student names


def test_school_user_sees_only_own_school(
    exam: Exam, assigned_caliber: Caliber, client_for: Callable[[str], Client]
) -> None:
    html = (
        client_for("principal")
        .get(reverse("exams:analysis_assigned", args=[exam.pk]), {"caliber": assigned_caliber.pk})
        .content.decode()
    )
    names = [row[0] for row in _cells(html, 'id="assigned-units"')]
    assert names == ["全体考生", "青石小学"]


def test_export_sheet(exam: Exam, assigned_caliber: Caliber, world: World) -> None:
    bundle = exam_analysis_get(exam=exam, caliber=assigned_caliber)
    actor = world.users["principal"]
    scope = analysis_scope(actor=actor, exam=exam)
    export = analysis_export(actor=actor, bundle=bundle, scope=scope)
    workbook = openpyxl.load_workbook(io.BytesIO(export.handle.read()))
    assert "赋分对照表" in workbook.sheetnames
    rows = [row for row in workbook["赋分对照表"].iter_rows(values_only=True) if row]
    header = rows.index(next(row for row in rows if row[0] == "科目"))
    conversion = [row for row in rows[header + 1 :] if row[0] == "数学"]
    bands = bundle.table("assigned_bands").sort("band_index")
    assert [row[1] for row in conversion] == ["A", "B", "C", "D", "E"]
    assert [row[3] for row in conversion] == bands.get_column("n").to_list()
    units = [row for row in rows if row[0] in ("全体", "学校", "班级")]
    assert [row[1] for row in units] == ["全体考生", "青石小学", "一年级(1)班"]
    assert units[0][4] == 29


def test_export_without_assigned_scores_says_so(exam: Exam, world: World) -> None:
    general = Caliber.objects.get(code="general", version=1)
    bundle = exam_analysis_get(exam=exam, caliber=general)
    actor = world.users["district"]
    export = analysis_export(
        actor=actor,
        bundle=bundle,
        scope=analysis_scope(actor=actor, exam=exam),
        layouts=["assigned"],
    )
    workbook = openpyxl.load_workbook(io.BytesIO(export.handle.read()))
    texts = [row[0] for row in workbook["赋分对照表"].iter_rows(values_only=True) if row[0]]
    assert "本口径没有设置等级赋分，或赋分科目不在本次考试中。" in texts


def test_student_history_shows_the_assigned_score_to_staff(
    exam: Exam, assigned_caliber: Caliber, world: World, client_for: Callable[[str], Client]
) -> None:
    exam.default_caliber = assigned_caliber
    exam.save(update_fields=["default_caliber"])
    candidate = exam.candidates.filter(school_class=world.class_a).order_by("pk").last()
    assert candidate is not None
    html = (
        client_for("principal")
        .get(reverse("exams:student_scores", args=[candidate.student_id]))
        .content.decode()
    )
    assert '<th class="text-end">等级赋分</th>' in html
    row = (
        exam_analysis_get(exam=exam, caliber=assigned_caliber)
        .table("assigned")
        .filter(pl.col("candidate_id") == candidate.pk)
        .row(0, named=True)
    )
    assert f">{row['assigned']}（{row['band']}）</td>" in html
