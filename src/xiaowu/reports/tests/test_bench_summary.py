"""``xiaowu bench summary --quick``: the summary benchmark runs end to end in a throwaway
database, including the roll-up as a job in a real worker process."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from xiaowu.reports.models import WorkSummary


@pytest.mark.django_db
def test_quick_benchmark_runs_in_a_temporary_database():
    out = io.StringIO()

    call_command("bench", "summary", "--quick", stdout=out)

    text = out.getvalue()
    assert text.startswith("临时目录：")
    assert "规模 1：1 个学区，10 所学校" in text
    rows = {line.split()[0]: line for line in text.splitlines() if "秒" in line}
    timings = r"\d+\.\d\d 秒\s+\d+\.\d\d 秒\s+\d+\.\d\d 秒"
    assert re.search(rf"1\s+< 2 秒\s+{timings}", rows["单校学期总结"])
    assert re.search(r"10\s+< 5 秒", rows["学区学期总结"])
    assert re.search(r"10\s+后台完成\s+\d+\.\d\d 秒 ✓", rows["教育局汇总（后台任务）"])
    assert re.search(r"后台任务 #1：运行 \d+\.\d\d 秒.*数字一致性检查.*Word \d+ KB", text)
    assert not WorkSummary.objects.exists()  # nothing was written to this database


def test_inside_refuses_a_real_database():
    with pytest.raises(CommandError, match="只能由 xiaowu bench summary 在临时数据库中调用"):
        call_command("bench", "summary", "--inside")
