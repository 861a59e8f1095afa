"""Importing last year's paper summary turns its 存在问题/下一步 into goals (seed 002)."""

from __future__ import annotations

import json
import os
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from xiaowu.accounts.scoping import operator_actor
from xiaowu.reports.goal_import import summary_goals_import
from xiaowu.reports.models import ImprovementGoal

pytestmark = pytest.mark.django_db
SEEDS = Path(
    os.environ.get("XIAOWU_SEEDS_DIR", Path(__file__).resolve().parents[5] / "shared" / "seeds")
)
SEED_002 = SEEDS / "002_9c4f49b9981d2626.txt"
SEED_003 = SEEDS / "003_60376885502c1d8e.txt"
needs_seeds = pytest.mark.skipif(not SEED_002.exists(), reason="seed documents not present")


@needs_seeds
def test_seed_002_problems_become_three_paired_goals(world):
    result = summary_goals_import(
        actor=world.users["principal"],
        unit=world.school,
        data=SEED_002.read_bytes(),
        filename="002.txt",
    )
    assert [(len(d.problems), len(d.plans)) for d in result.documents] == [(3, 3)]
    goals = list(ImprovementGoal.objects.filter(org_unit=world.school).order_by("id"))
    assert len(goals) == 3
    assert all(
        goal.source == "imported" and goal.source_reference.startswith("002.txt：第1篇第")
        for goal in goals
    )
    assert "安全" in goals[2].problem
    assert "安全" in goals[2].measure


@needs_seeds
def test_seed_003_is_split_into_five_and_converted_to_simplified(world):
    result = summary_goals_import(
        actor=operator_actor(),
        unit=world.district,
        data=SEED_003.read_bytes(),
        filename="003.txt",
        dry_run=True,
    )
    assert len(result.documents) == 5
    assert result.converted_to_simplified is True
    assert [len(d.problems) for d in result.documents] == [0, 10, 4, 0, 7]
    assert not ImprovementGoal.objects.exists()
    assert all("學" not in goal.measure for d in result.documents for goal in d.goals)


@needs_seeds
def test_cli_prints_the_extracted_goals_as_json(world):
    out = StringIO()
    call_command("report", "import", str(SEED_002), "--org", "S1", "--format", "json", stdout=out)
    payload = json.loads(out.getvalue())
    assert len(payload["documents"][0]["goals"]) == 3
    assert len(payload["created_goal_ids"]) == 3


def test_cli_summary_writes_docx_and_json(world, tmp_path):
    target = tmp_path / "总结.docx"
    call_command(
        "report",
        "summary",
        "--org",
        "D1",
        "--period",
        "2025-2026",
        "--term",
        "1",
        "-o",
        str(target),
        stdout=StringIO(),
    )
    assert target.read_bytes()[:2] == b"PK"
    out = StringIO()
    call_command(
        "report", "summary", "--org", "D1", "--period", "2025-2026", "--format", "json", stdout=out
    )
    payload = json.loads(out.getvalue())
    assert payload["title"] == "青石学区2025—2026学年工作总结"
    assert payload["figures"]["schools.total"]["value"] == "2"
