"""The exams provider of the work summary: 教学质量 figures equal the engine's numbers, rates
check against their parts, comparisons with the 学区 and the previous exam, and signals."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from conftest import World
from pytest_django.fixtures import Settings

from xiaowu.core.rates import Rate
from xiaowu.exams.analysis import caliber_default, exam_analysis_get
from xiaowu.exams.models import Exam
from xiaowu.exams.summary import ExamSummaryProvider
from xiaowu.exams.tests.test_analysis_world import Entry, class_fill, exam_create
from xiaowu.org.models import OrgUnit
from xiaowu.org.tests.factories import SchoolClassFactory
from xiaowu.reports.consistency import check_figures
from xiaowu.reports.document import Figure, FigureRef
from xiaowu.reports.generator import summary_generate
from xiaowu.reports.period import school_year_period
from xiaowu.reports.providers import Contribution, Slot, SummaryContext
from xiaowu.reports.registry import PROVIDERS

pytestmark = pytest.mark.django_db
TODAY = date(2025, 7, 15)


@pytest.fixture(autouse=True)
def var_dir(settings: Settings, tmp_path: Path) -> Path:
    settings.VAR_DIR = tmp_path
    return tmp_path


def _rows(chinese: int, maths: int, count: int) -> list[dict[str, Entry]]:
    return [{"语文": min(100, chinese + i), "数学": min(100, maths + i)} for i in range(count)]


def _exam(
    world: World,
    name: str,
    held_on: date,
    school_rows: dict[str, list[dict[str, Entry]]],
    middle: list[dict[str, Entry]],
) -> Exam:
    exam = exam_create(
        owner=world.district,
        schools=[world.school, world.school_b],
        subjects={"语文": 100, "数学": 100},
        name=name,
        kind="unified",
        held_on=held_on,
    )
    class_fill(exam, world.class_a, school_rows["a"], prefix=f"{name}甲")
    class_fill(exam, OrgUnit.objects.get(code="S1-C102"), school_rows["b"], prefix=f"{name}乙")
    class_fill(exam, OrgUnit.objects.get(code="S2-C701"), middle, prefix=f"{name}中")
    return exam


@pytest.fixture
def exams(world: World) -> tuple[Exam, Exam]:
    """Two 学区 统考 of the same grade-1 cohort; 青石小学's 数学 is weak in the later one and its
    全科 pass rate falls; class (2) is the weaker class."""
    SchoolClassFactory(
        code="S1-C102", name="一年级(2)班", grade=1, class_number=2, parent=world.school
    )
    earlier = _exam(
        world,
        "期中考试",
        date(2025, 1, 10),
        {"a": _rows(70, 75, 10), "b": _rows(65, 70, 10)},
        _rows(70, 70, 10),
    )
    later = _exam(
        world,
        "期末考试",
        date(2025, 6, 20),
        {"a": _rows(72, 58, 10), "b": _rows(55, 45, 10)},
        _rows(75, 80, 10),
    )
    return earlier, later


def _contribution(world: World, unit: OrgUnit, user: str = "principal") -> Contribution:
    ctx = SummaryContext(
        actor=world.users[user], unit=unit, period=school_year_period("2024-2025"), today=TODAY
    )
    contributions = ExamSummaryProvider().contribute(ctx)
    assert len(contributions) == 1
    return contributions[0]


def _figure(contribution: Contribution, key: str) -> Figure:
    return next(f for f in contribution.figures if f.key == key)


def test_school_figures_equal_the_engine_and_check_against_their_parts(
    world: World, exams: tuple[Exam, Exam]
) -> None:
    _earlier, later = exams
    contribution = _contribution(world, world.school)
    assert contribution.slot == Slot.MAIN
    bundle = exam_analysis_get(exam=later, caliber=caliber_default(later))
    school = bundle.table("units").filter(
        (pl.col("level") == "school") & (pl.col("unit_id") == world.school.pk)
    )
    for subject in ("语文", "数学"):
        row = school.filter(pl.col("subject") == subject).row(0, named=True)
        figure = _figure(contribution, f"exams.e{later.pk}.pass.{subject}")
        assert figure.value == Rate(row["pass_n"], row["rate_denominator"]).percent
        assert figure.unit == "%"
        assert _figure(contribution, figure.numerator).value == row["pass_n"]
        assert _figure(contribution, figure.denominator).value == row["rate_denominator"]
        assert figure.url.startswith(f"/exams/{later.pk}/analysis/")
        assert figure.definition
    total = school.filter(pl.col("subject") == "总分").row(0, named=True)
    assert _figure(contribution, f"exams.e{later.pk}.sat").value == total["sat"] == 20
    figures = {f.key: f for f in contribution.figures}
    assert check_figures(figures) == []
    # Every FigureRef in the text names a figure of the contribution.
    refs = [
        run.key
        for s in contribution.sections
        for p in s.paragraphs
        for run in p.runs
        if isinstance(run, FigureRef)
    ]
    assert refs
    assert set(refs) <= set(figures)


def test_comparisons_with_the_district_and_the_previous_exam(
    world: World, exams: tuple[Exam, Exam]
) -> None:
    earlier, later = exams
    contribution = _contribution(world, world.school)
    keys = [p.key for s in contribution.sections for p in s.paragraphs]
    assert f"exams.e{later.pk}.vs_reference" in keys
    assert f"exams.e{later.pk}.vs_previous" in keys
    figures = {f.key: f for f in contribution.figures}
    ours = figures[f"exams.e{later.pk}.pass.数学"]
    theirs = figures[f"exams.e{later.pk}.ref.pass.数学"]
    gap = figures[f"exams.e{later.pk}.vs_ref.pass.数学"]
    assert gap.value == abs(Decimal(ours.value) - Decimal(theirs.value))
    assert gap.unit == "个百分点"
    before = next(f for k, f in figures.items() if k.startswith(f"exams.e{later.pk}.prev.pass"))
    assert before.url.startswith(f"/exams/{earlier.pk}/analysis/")
    text = "".join(
        run if isinstance(run, str) else figures[run.key].display()
        for s in contribution.sections
        for p in s.paragraphs
        for run in p.runs
    )
    assert "与学区平均相比" in text
    assert "与期中考试相比" in text
    assert "低于学区平均的有" in text
    assert f"数学（{gap.display()}）" in text
    assert "各科合格率下降的有" in text


def test_signals_for_the_weak_subject_the_falling_joint_rate_and_the_weak_class(
    world: World, exams: tuple[Exam, Exam]
) -> None:
    _earlier, later = exams
    signals = {s.key: s for s in _contribution(world, world.school).signals}
    weak = signals[f"exams.e{later.pk}.weak_subject"]
    assert "数学" in weak.problem
    assert "低于学区平均" in weak.problem
    assert any(k.startswith(f"exams.e{later.pk}.joint_drop.") for k in signals)
    assert "一年级(2)班" in signals[f"exams.e{later.pk}.weak_class"].problem


def test_district_summary_uses_district_rows_and_generator_places_the_section(
    world: World, exams: tuple[Exam, Exam]
) -> None:
    _earlier, later = exams
    contribution = _contribution(world, world.district, user="district")
    bundle = exam_analysis_get(exam=later, caliber=caliber_default(later))
    row = (
        bundle.table("units")
        .filter((pl.col("level") == "district") & (pl.col("subject") == "语文"))
        .row(0, named=True)
    )
    figure = _figure(contribution, f"exams.e{later.pk}.pass.语文")
    assert figure.value == Rate(row["pass_n"], row["rate_denominator"]).percent
    generated = summary_generate(
        actor=world.users["district"],
        unit=world.district,
        period=school_year_period("2024-2025"),
        providers=[ExamSummaryProvider()],
        today=TODAY,
    )
    main = next(s for s in generated.document.sections if s.key == "main")
    assert any(child.title.endswith("教学质量") for child in main.children)


def test_no_exams_no_contribution_and_provider_is_registered(world: World) -> None:
    ctx = SummaryContext(
        actor=world.users["principal"],
        unit=world.school,
        period=school_year_period("2024-2025"),
        today=TODAY,
    )
    assert ExamSummaryProvider().contribute(ctx) == []
    assert any(isinstance(p, ExamSummaryProvider) for p in PROVIDERS)


def test_other_school_principal_gets_nothing(world: World, exams: tuple[Exam, Exam]) -> None:
    ctx = SummaryContext(
        actor=world.users["principal2"],
        unit=world.other_school,
        period=school_year_period("2024-2025"),
        today=TODAY,
    )
    assert ExamSummaryProvider().contribute(ctx) == []
