"""``xiaowu sgp``: wide file in, per-student SGPs and the summary out (JSON or a table)."""

from __future__ import annotations

import io
import json

import numpy as np
import polars as pl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from xiaowu.exams.valueadded.sgp.sgp import SGPSettings, student_growth_percentiles
from xiaowu.exams.valueadded.sgp.wide import read_wide


def _wide_file(tmp_path, n: int = 200, seed: int = 3):
    """Years 2022–2024; grades 3 → 4 → 5 and a second cohort 4 → 5 → 6."""
    rng = np.random.default_rng(seed)
    columns: dict[str, list[float]] = {"ID": list(range(1, 2 * n + 1))}
    ability = rng.normal(0, 1, 2 * n)
    for j, year in enumerate((2022, 2023, 2024)):
        base = np.array([3] * n + [4] * n) + j
        columns[f"GRADE_{year}"] = base.astype(float).tolist()
        scores = np.round(460 + 40 * base + 45 * (ability + rng.normal(0, 0.45, 2 * n)))
        columns[f"SS_{year}"] = scores.tolist()
    path = tmp_path / "wide.csv"
    pl.DataFrame(columns).write_csv(path)
    return path


def test_json_output_matches_the_library(tmp_path):
    path = _wide_file(tmp_path)
    out = tmp_path / "result.json"
    stdout = io.StringIO()
    call_command(
        "sgp",
        str(path),
        "--format",
        "json",
        "-o",
        str(out),
        "--content-area",
        "语文",
        stdout=stdout,
    )
    assert "已写入" in stdout.getvalue()
    payload = json.loads(out.read_text(encoding="utf-8"))
    expected = student_growth_percentiles(read_wide(path), SGPSettings())
    assert payload["year"] == 2024
    assert payload["content_area"] == "语文"
    assert payload["solver"] == "fast"
    assert [m["progression"] for m in payload["matrices"]] == ["4:5", "3:5", "5:6", "4:6"]
    assert payload["summary"] == expected.summary()
    assert payload["summary"]["n"] == 400
    assert len(payload["students"]) == 400
    first = payload["students"][0]
    assert set(first) == {
        "ID",
        "GRADE",
        "PROGRESSION",
        "SCALE_SCORE",
        "SCALE_SCORE_PRIOR",
        "SGP",
        "SGP_ORDER",
        "SGP_ORDER_1",
        "SGP_ORDER_2",
        "SGP_ORDER_3",
        "SGP_LEVEL",
    }
    by_id = {row["ID"]: row for row in payload["students"]}
    for row in expected.students.iter_rows(named=True):
        assert by_id[row["ID"]]["SGP"] == row["SGP"]
    assert payload["levels"][2] == {"level": 3, "label": "一般", "sgp_from": 40, "sgp_to": 60}
    assert set(payload["knots"]) == {"3", "4", "5"}


def test_options_progressions_order_year_and_table(tmp_path):
    path = _wide_file(tmp_path)
    stdout = io.StringIO()
    call_command(
        "sgp",
        str(path),
        "--format",
        "json",
        "--progressions",
        "3:5",
        "--max-order",
        "1",
        "--solver",
        "exact",
        stdout=stdout,
    )
    payload = json.loads(stdout.getvalue())
    assert payload["max_order"] == 1
    assert payload["solver"] == "exact"
    assert [(m["progression"], m["order"]) for m in payload["matrices"]] == [("4:5", 1)]
    assert payload["summary"]["n"] == 200
    stdout = io.StringIO()
    call_command("sgp", str(path), "--format", "table", "--year", "2023", stdout=stdout)
    text = stdout.getvalue()
    assert "当前年份 2023" in text
    assert "学生数 N = 400" in text
    assert "阶数分布：1 阶 400" in text


def test_bad_input_gives_a_chinese_command_error(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("ID,GRADE_2023,GRADE_2024,SS_2023,SS_2024\n1,3,4,500,五百\n", encoding="utf-8")
    with pytest.raises(CommandError, match="第 2 行的“SS_2024”不是数字"):
        call_command("sgp", str(bad), stdout=io.StringIO())
    path = _wide_file(tmp_path)
    with pytest.raises(CommandError, match="格式不对"):
        call_command("sgp", str(path), "--progressions", "3", stdout=io.StringIO())
    with pytest.raises(CommandError, match="文件不存在"):
        call_command("sgp", str(tmp_path / "none.csv"), stdout=io.StringIO())
