"""``xiaowu bench exams``: runs end to end on a small synthetic exam and prints the table."""

from __future__ import annotations

from io import StringIO

import polars as pl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from xiaowu.exams.bench import SUBJECTS, baseline, generate


def test_generator_follows_the_contract() -> None:
    frame = generate(3_000, 9, seed=1)
    assert frame.height == 27_000
    assert frame["candidate_id"].n_unique() == 3_000
    assert frame["school_id"].n_unique() == 2  # 1,500 students per school
    assert frame["class_id"].n_unique() == 60  # 30 classes per school
    assert set(frame["subject"].unique()) == {name for name, _ in SUBJECTS[:9]}
    marks = frame.group_by("subject").agg(pl.col("full_mark").first())
    assert sorted(marks["full_mark"].to_list()) == [100.0] * 6 + [150.0] * 3
    assert frame.filter(pl.col("score") > pl.col("full_mark")).is_empty()
    assert generate(3_000, 9, seed=1).equals(frame)
    assert baseline(frame).height == 60 * 9


def test_command_prints_both_timings_and_the_table() -> None:
    out = StringIO()
    call_command("bench", "exams", "--students", "3000", "--repeat", "1", "--skip-sgp", stdout=out)
    text = out.getvalue()
    assert "最小基线（仅供对照）：polars group_by(class_id, subject)" in text
    assert "参考实现（目标基线）：同口径全部指标的裸 polars 实现" in text
    assert "一致性核对：参考实现与引擎的 10 张结果表逐行逐列一致" in text
    assert "≤ 参考实现的 2 倍" in text
    assert "analyze() 峰值内存" in text
    assert "| analyze() 全部指标 | 3,000 名学生 × 9 科 = 27,000 行 |" in text
    assert "| 参考实现：同口径全部指标的裸 polars | 3,000 名学生 × 9 科 = 27,000 行 |" in text
    assert "SGP 基准：已跳过" in text


def test_command_checks_its_options() -> None:
    with pytest.raises(CommandError, match="--students"):
        call_command("bench", "exams", "--students", "10", "--skip-sgp", stdout=StringIO())
