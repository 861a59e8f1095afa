"""Analysis pages: rendering, scoping (404 outside scope, school users see their own classes
only, ranks computed on the whole exam), and the parents' slips (own child, no rank)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from conftest import World
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings

from xiaowu.core.rates import Rate
from xiaowu.exams.analysis import caliber_default, exam_analysis_get
from xiaowu.exams.analytics import TOTAL
from xiaowu.exams.models import Caliber, Exam, ExamStatus
from xiaowu.exams.tests.test_analysis_world import (
    candidate_add,
    class_fill,
    exam_create,
    scores_set,
    teacher_set,
)
from xiaowu.org.models import OrgUnit
from xiaowu.staff.models import StaffMember
from xiaowu.students.models import Student

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def var_dir(settings: Settings, tmp_path: Path) -> Path:
    settings.VAR_DIR = tmp_path
    return tmp_path


def _rows(base: int, count: int, spread: int = 4) -> list[dict[str, float | str]]:
    return [
        {"语文": min(100, base + (i * spread) % 37), "数学": min(100, base - 5 + (i * 7) % 41)}
        for i in range(count)
    ]


@pytest.fixture
def district_exam(world: World) -> Exam:
    """A 学区 统考 of 一年级 in 青石学区: 青石小学 (class_a, class_b) and 青石中学 (one class).

    Class names are shown as of the exam's grade, so class_b and 青石中学's class are made
    一年级 classes first (一年级(2)班, 一年级(3)班), as the classes of a 一年级 exam are."""
    OrgUnit.objects.filter(pk=world.class_b.pk).update(grade=1, class_number=2, name="一年级(2)班")
    OrgUnit.objects.filter(code="S2-C701").update(grade=1, class_number=3, name="一年级(3)班")
    middle_class = OrgUnit.objects.get(code="S2-C701")
    exam = exam_create(
        owner=world.district,
        schools=[world.school, world.school_b],
        subjects={"语文": 100, "数学": 100},
        name="学区统考",
        kind="unified",
    )
    # The child (张小明) sits it in class_a with a known score.
    candidate_add(exam, world.child)
    scores_set(exam, world.child, {"语文": 93, "数学": 88})
    class_fill(exam, world.class_a, _rows(70, 11), prefix="一班")
    class_fill(exam, world.class_b, _rows(55, 12), prefix="三班")
    class_fill(exam, middle_class, _rows(80, 12), prefix="中学")
    teacher_set(exam, world.class_a, "语文", StaffMember.objects.get(name="孙老师"))
    return exam


def _text(response: HttpResponse) -> str:
    return response.content.decode()


def test_dashboard_renders_headline_tables_and_charts_for_the_district(
    district_exam: Exam, client_for: Callable[[str], Client]
) -> None:
    response = client_for("district").get(
        reverse("exams:analysis_dashboard", args=[district_exam.pk])
    )
    assert response.status_code == 200
    html = _text(response)
    assert 'data-chart="chart-bands"' in html
    assert 'id="chart-box"' in html
    assert "全体考生" in html
    # Both schools in the school ranking, every class in the class ranking.
    assert "青石小学" in html
    assert "青石中学" in html
    assert "一年级(3)班" in html
    assert "一年级(2)班" in html


@pytest.mark.parametrize(
    "name",
    [
        "exams:analysis_classes",
        "exams:analysis_teachers",
        "exams:analysis_schools",
        "exams:analysis_bands",
        "exams:analysis_one_point",
        "exams:analysis_joint",
        "exams:analysis_students",
        "exams:analysis_trend",
    ],
)
def test_every_tab_renders(
    district_exam: Exam, client_for: Callable[[str], Client], name: str
) -> None:
    response = client_for("district").get(reverse(name, args=[district_exam.pk]))
    assert response.status_code == 200, name


def test_exam_outside_the_scope_is_404_and_without_permission_403(
    district_exam: Exam, client_for: Callable[[str], Client]
) -> None:
    url = reverse("exams:analysis_dashboard", args=[district_exam.pk])
    assert client_for("principal2").get(url).status_code == 404  # other district
    assert client_for("teacher2").get(url).status_code == 404
    assert client_for("parent").get(url).status_code == 404  # guardians see no exams
    assert client_for("duty").get(url).status_code == 403  # in scope, no exams.view


def test_school_user_sees_own_classes_and_position_but_not_other_schools_classes(
    district_exam: Exam, client_for: Callable[[str], Client]
) -> None:
    classes = _text(
        client_for("principal").get(reverse("exams:analysis_classes", args=[district_exam.pk]))
    )
    assert "一年级(1)班" in classes
    assert "一年级(2)班" in classes
    assert "一年级(3)班" not in classes  # 青石中学's class
    schools = _text(
        client_for("principal").get(reverse("exams:analysis_schools", args=[district_exam.pk]))
    )
    assert "青石小学" in schools
    assert "青石中学" not in schools
    # Its position among both schools (computed before filtering): "k/2".
    assert re.search(r">\s*[12]/2\s*<", schools)


def test_class_ranks_are_taken_on_the_whole_exam_not_the_visible_classes(
    district_exam: Exam, client_for: Callable[[str], Client], world: World
) -> None:
    bundle = exam_analysis_get(exam=district_exam, caliber=caliber_default(district_exam))
    classes = bundle.table("units").filter(
        (pl.col("level") == "class") & (pl.col("subject") == "总分")
    )
    assert classes.height == 3
    html = _text(
        client_for("principal").get(reverse("exams:analysis_classes", args=[district_exam.pk]))
    )
    # class_b has the lowest means of the three: third of three, though the principal sees 2.
    assert re.search(r"一年级\(2\)班.*?>\s*3/3\s*<", html, re.S)


def test_teacher_sees_only_own_class_students_without_other_names(
    district_exam: Exam, client_for: Callable[[str], Client]
) -> None:
    html = _text(
        client_for("teacher").get(reverse("exams:analysis_students", args=[district_exam.pk]))
    )
    assert "张小明" in html
    assert "一班1" in html
    assert "三班1" not in html
    assert "中学1" not in html


def test_research_group_head_has_no_student_list(
    district_exam: Exam, client_for: Callable[[str], Client]
) -> None:
    url = reverse("exams:analysis_students", args=[district_exam.pk])
    assert client_for("research").get(url).status_code == 403


def test_caliber_selector_makes_a_separate_analysis(
    district_exam: Exam, client_for: Callable[[str], Client]
) -> None:
    other = Caliber.objects.get(code="primary-85", version=1)
    client = client_for("district")
    client.get(reverse("exams:analysis_dashboard", args=[district_exam.pk]))
    response = client.get(
        reverse("exams:analysis_dashboard", args=[district_exam.pk]), {"caliber": other.pk}
    )
    assert response.status_code == 200
    assert other.name in _text(response)
    assert district_exam.analyses.count() == 2


def _line_caliber() -> Caliber:
    """The 通用口径 with a 本科 total line (the preset has none)."""
    general = Caliber.objects.get(code="general", version=1)
    return Caliber.objects.create(
        code="lines-test",
        name="上线口径",
        version=1,
        config={**general.config, "lines": [{"name": "本科", "total": 150}]},
    )


def _cells(html: str, marker: str) -> list[list[str]]:
    """The text of every body cell of the (first) table whose tag holds ``marker``."""
    table = html.split(marker, 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody>", 1)[1]
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>.*?</td>", row)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, flags=re.S)
    ]


def test_joint_page_shows_both_hit_rates(
    district_exam: Exam, client_for: Callable[[str], Client]
) -> None:
    caliber = _line_caliber()
    response = client_for("district").get(
        reverse("exams:analysis_joint", args=[district_exam.pk]), {"caliber": caliber.pk}
    )
    html = _text(response)
    assert "命中率（双上线/单上线）" in html
    assert "命中率（双上线/参考人数）" in html
    table = exam_analysis_get(exam=district_exam, caliber=caliber).table("line_subjects")
    rows = _cells(html, 'id="effective-table"')
    assert len(rows) == 2  # 本科 × 语文, 数学 for the whole exam
    for cells in rows:
        engine = table.filter((pl.col("level") == "exam") & (pl.col("subject") == cells[1])).row(
            0, named=True
        )
        assert engine["double_n"] < engine["single_n"] < engine["sat"]  # the two rates differ
        assert cells[3:6] == [str(engine["sat"]), str(engine["single_n"]), str(engine["double_n"])]
        assert cells[6] == f"{Rate(engine['double_n'], engine['single_n']).percent}%"
        assert cells[7] == f"{Rate(engine['double_n'], engine['sat']).percent}%"
        assert cells[8] == f"{Rate(engine['double_n'], engine['line_n']).percent}%"


# --------------------------------------------------------------------------- slips
def test_parent_slip_shows_own_child_scores_and_full_marks_and_no_rank(
    district_exam: Exam, client_for: Callable[[str], Client], world: World
) -> None:
    exam_analysis_get(exam=district_exam, caliber=caliber_default(district_exam))
    client = client_for("parent")
    listing = _text(client.get(reverse("exams:slip_list")))
    assert "学区统考" in listing
    response = client.get(reverse("exams:slip_detail", args=[district_exam.pk, world.child.pk]))
    assert response.status_code == 200
    html = _text(response)
    assert "张小明" in html
    assert ">93<" in html
    assert ">88<" in html
    assert ">100<" in html
    for word in ("名次", "排名", "百分等级", "位次", "平均分", "最高分", "一班1", "三班", "中学"):
        assert word not in html, word
    # Nor the rank-derived 学科均衡 (名次差) or the Z difference.
    for word in ("名次差", "学科均衡", "均衡", "标准分"):
        assert word not in html, word
    # Another student's slip is 404 for the parent.
    other = Student.objects.get(name="一班1")
    assert (
        client.get(reverse("exams:slip_detail", args=[district_exam.pk, other.pk])).status_code
        == 404
    )


def test_unlocked_exam_has_no_slip(
    district_exam: Exam, client_for: Callable[[str], Client], world: World
) -> None:
    Exam.objects.filter(pk=district_exam.pk).update(status=ExamStatus.ENTRY)
    response = client_for("parent").get(
        reverse("exams:slip_detail", args=[district_exam.pk, world.child.pk])
    )
    assert response.status_code == 404


# --------------------------------------------------------------------------- student history
def test_student_history_shows_ranks_to_staff_of_the_school(
    district_exam: Exam, client_for: Callable[[str], Client], world: World
) -> None:
    url = reverse("exams:student_scores", args=[world.child.pk])
    html = _text(client_for("headteacher").get(url))
    assert "学区统考" in html
    assert "班名次" in html
    assert "名次差（总分名次−学科名次）" in html
    assert "学科均衡（Z差）" in html
    students = exam_analysis_get(exam=district_exam, caliber=caliber_default(district_exam)).table(
        "students"
    )
    candidate = district_exam.candidates.get(student=world.child).pk
    own = {
        row["subject"]: row
        for row in students.filter(pl.col("candidate_id") == candidate).iter_rows(named=True)
    }
    rows = {cells[0]: cells for cells in _cells(html, "student-history")}
    for subject in ("语文", "数学"):
        difference = own[TOTAL]["rank_exam"] - own[subject]["rank_exam"]
        assert own[subject]["balance_rank"] == difference
        shown = f"{difference:+d}" if difference else "0"
        assert rows[subject][-1] == shown, (subject, rows[subject])
        assert rows[subject][-2] == f"{own[subject]['balance']:.2f}".removesuffix(".00")
    assert rows[TOTAL][-2:] == ["—", "—"]
    assert client_for("parent").get(url).status_code == 403
    assert client_for("teacher2").get(url).status_code == 404
