"""``xiaowu bench summary [--quick]``: time work summaries on the demo data.

The benchmark never touches real data. The outer process makes a temporary directory, migrates
an empty SQLite database there once, copies it for each scale and runs itself with
``--inside`` against each copy. The inner process loads the demo district (``demo_data``
at scale 1, then scale 20: 200 schools) and times, as the administrator:

- one school's term summary (the largest school; target < 2 s) and a 10-school 学区
  (target < 5 s): generating the text (``work_summary_render``) and laying out the Word file
  (``render_docx``), the median of three runs, with the number of SQL queries;
- the whole 教育局 roll-up as a background job (``reports.summary``), from enqueue to the job's
  end, run by a real ``xiaowu worker`` process.

``--quick`` runs scale 1 only (the 教育局 then has 10 schools), once each: a smoke test.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser, OutputWrapper
from django.db import connection
from django.db.models import Count, Q
from django.test.utils import CaptureQueriesContext

from xiaowu.accounts.models import User
from xiaowu.demo.formatting import text_table
from xiaowu.demo.loader import demo_district_create
from xiaowu.jobs.models import Job, JobStatus
from xiaowu.jobs.services import job_enqueue
from xiaowu.org.models import OrgUnit, UnitKind
from xiaowu.org.selectors import term_current
from xiaowu.reports import jobs as summary_jobs
from xiaowu.reports.docx_render import render_docx
from xiaowu.reports.models import WorkSummary
from xiaowu.reports.period import Period, school_year_period
from xiaowu.reports.selectors import work_summary_render
from xiaowu.reports.services import work_summary_create

HELP = (
    "工作总结基准：在临时数据库中载入演示数据（规模 1 和 20），计时单校学期总结、"
    "10 校学区总结，并把教育局汇总（规模 20 为 200 所学校）作为后台任务运行至完成。"
)
BENCH_ENV = "XIAOWU_BENCH_DATABASE"
SCALES = (1, 20)
QUICK_SCALES = (1,)
TARGET_SCHOOL = 2.0
TARGET_DISTRICT = 5.0
JOB_TIMEOUT = 1800.0
HEADERS = ("总结", "单位", "学校", "目标", "生成文字", "Word 排版", "合计", "SQL 查询")


def add_arguments(parser: CommandParser) -> None:
    parser.add_argument(
        "--quick", action="store_true", help="只用规模 1 各运行一次（冒烟测试，约 1 分钟）"
    )
    parser.add_argument("--keep", action="store_true", help="保留临时目录（数据库和生成的文件）")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--scale", type=int, default=1, help=argparse.SUPPRESS)


def _xiaowu(args: list[str], env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 — our own interpreter and fixed arguments
        [sys.executable, "-m", "xiaowu.cli", *args],
        env=dict(env),
        capture_output=True,
        text=True,
        check=False,
    )


def run(options: Mapping[str, Any], *, stdout: OutputWrapper) -> None:
    if options["inside"]:
        _run_inside(scale=options["scale"], quick=options["quick"], stdout=stdout)
        return
    directory = Path(tempfile.mkdtemp(prefix="xiaowu-bench-summary-"))
    empty = directory / "empty.sqlite3"
    base_env = {**os.environ, "XIAOWU_INSECURE_HTTP": "1", "XIAOWU_VAR_DIR": str(directory)}
    try:
        stdout.write(f"临时目录：{directory}")
        migrate = _xiaowu(
            ["migrate", "--noinput", "-v", "0"], {**base_env, "DATABASE_URL": f"sqlite:///{empty}"}
        )
        if migrate.returncode != 0:
            raise CommandError(f"migrate 失败：{migrate.stderr[-2000:]}")
        for scale in QUICK_SCALES if options["quick"] else SCALES:
            database = directory / f"scale{scale}.sqlite3"
            shutil.copyfile(empty, database)
            env = {**base_env, "DATABASE_URL": f"sqlite:///{database}", BENCH_ENV: str(database)}
            args = ["bench", "summary", "--inside", "--scale", str(scale)]
            inner = _xiaowu([*args, "--quick"] if options["quick"] else args, env)
            stdout.write(inner.stdout.rstrip())
            if inner.returncode != 0:
                raise CommandError(f"基准运行失败（规模 {scale}）：{inner.stderr[-4000:]}")
    finally:
        if options["keep"]:
            stdout.write(f"已保留临时目录：{directory}")
        else:
            shutil.rmtree(directory, ignore_errors=True)


def _check_inside() -> None:
    expected = os.environ.get(BENCH_ENV, "")
    name = str(settings.DATABASES["default"]["NAME"])
    if not expected or Path(name).resolve() != Path(expected).resolve():
        raise CommandError("--inside 只能由 xiaowu bench summary 在临时数据库中调用。")


@dataclass(frozen=True)
class Timing:
    generate: float
    docx: float
    queries: int

    @property
    def total(self) -> float:
        return self.generate + self.docx


def time_summary(actor: User, summary: WorkSummary, *, runs: int) -> Timing:
    """Time generating the text and the Word file of ``summary`` (median of ``runs``)."""
    generate: list[float] = []
    docx: list[float] = []
    queries = 0
    for _ in range(runs):
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as captured:
            generated = work_summary_render(actor=actor, summary=summary)
        generate.append(time.perf_counter() - started)
        queries = len(captured)
        started = time.perf_counter()
        render_docx(generated.document)
        docx.append(time.perf_counter() - started)
    return Timing(statistics.median(generate), statistics.median(docx), queries)


def _largest(kind: str, *, under: OrgUnit) -> OrgUnit:
    """The largest unit of ``kind`` under ``under``: the school with the most classes, the
    学区 with the most schools."""
    units = OrgUnit.objects.filter(kind=kind, is_active=True).under({under.pk})
    if kind == UnitKind.SCHOOL:
        ranked = units.annotate(
            n=Count("school_units", filter=Q(school_units__kind=UnitKind.SCHOOL_CLASS))
        )
    else:
        ranked = units.annotate(n=Count("children", filter=Q(children__kind=UnitKind.SCHOOL)))
    unit = ranked.order_by("-n", "code").first()
    if unit is None:
        raise CommandError(f"演示数据中没有{kind}。")
    return unit


def _schools(unit: OrgUnit) -> int:
    return OrgUnit.objects.filter(kind=UnitKind.SCHOOL, is_active=True).under({unit.pk}).count()


def run_job(
    job: Job, *, env: Mapping[str, str], poll: Callable[[Job], None] = lambda job: None
) -> tuple[float, list[str]]:
    """Run ``job`` in a real ``xiaowu worker --batch`` process; return (seconds from start to
    the job's end, the progress messages seen while polling)."""
    started = time.perf_counter()
    worker = subprocess.Popen(
        [sys.executable, "-m", "xiaowu.cli", "worker", "--batch", "--no-startup-delay"],
        env=dict(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen: list[str] = []
    try:
        while True:
            job.refresh_from_db()
            poll(job)
            if job.progress_message and (not seen or seen[-1] != job.progress_message):
                seen.append(job.progress_message)
            if not job.is_active:
                break
            if worker.poll() is not None and job.status == JobStatus.QUEUED:
                errors = worker.stderr.read() if worker.stderr else ""
                raise CommandError(f"后台进程未能运行任务：{errors[-2000:]}")
            if time.perf_counter() - started > JOB_TIMEOUT:
                raise CommandError("后台任务超时。")
            time.sleep(0.1)
        seconds = time.perf_counter() - started
    finally:
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
    if job.status != JobStatus.SUCCEEDED:
        raise CommandError(f"后台任务未成功：{job.get_status_display()}，{job.error}")
    return seconds, seen


def _period() -> Period:
    term = term_current()
    if term is None:
        raise CommandError("演示数据中没有学期。")
    return school_year_period(term.school_year.name, term.number)


def _mark(seconds: float, target: float | None) -> str:
    if target is None:
        return ""
    return "✓" if seconds < target else "✗ 超出目标"


def _run_inside(*, scale: int, quick: bool, stdout: OutputWrapper) -> None:
    _check_inside()
    started = time.perf_counter()
    result = demo_district_create(scale=scale)
    loaded = time.perf_counter() - started
    summary = result.summary
    stdout.write(
        f"\n规模 {scale}：{summary.districts} 个学区，{sum(n for _t, n in summary.schools_by_type)}"
        f" 所学校，在校生 {summary.students} 人，教职工 {summary.staff} 人"
        f"（载入 {loaded:.1f} 秒）"
    )
    admin = User.objects.get(username="admin")
    bureau = OrgUnit.objects.get(kind=UnitKind.BUREAU, parent=None)
    period = _period()
    runs = 1 if quick else 3
    rows: list[list[str]] = []
    cases = (
        ("单校学期总结", _largest(UnitKind.SCHOOL, under=bureau), TARGET_SCHOOL),
        ("学区学期总结", _largest(UnitKind.SCHOOL_DISTRICT, under=bureau), TARGET_DISTRICT),
    )
    # Warm up (imports, templates) on the smallest summary, untimed.
    time_summary(admin, work_summary_create(actor=admin, unit=cases[0][1], period=period), runs=1)
    for label, unit, target in cases:
        timing = time_summary(
            admin, work_summary_create(actor=admin, unit=unit, period=period), runs=runs
        )
        rows.append(
            [
                label,
                unit.name,
                str(_schools(unit)),
                f"< {target:.0f} 秒",
                f"{timing.generate:.2f} 秒",
                f"{timing.docx:.2f} 秒",
                f"{timing.total:.2f} 秒 {_mark(timing.total, target)}",
                str(timing.queries),
            ]
        )
    bureau_summary = work_summary_create(actor=admin, unit=bureau, period=period)
    job = job_enqueue(
        actor=admin,
        kind=summary_jobs.KIND,
        unit=bureau,
        params=summary_jobs.job_params(bureau_summary),
        title=summary_jobs.job_title(bureau_summary),
    )
    seconds, seen = run_job(job, env=os.environ)
    if job.started_at is None or job.finished_at is None:
        raise CommandError("后台任务没有记录开始和结束时间。")
    running = (job.finished_at - job.started_at).total_seconds()
    with CaptureQueriesContext(connection) as captured:  # the job's queries, for N+1 checks
        work_summary_render(actor=admin, summary=bureau_summary)
    rows.append(
        [
            "教育局汇总（后台任务）",
            bureau.name,
            str(_schools(bureau)),
            "后台完成",
            "",
            "",
            f"{running:.2f} 秒 ✓",
            str(len(captured)),
        ]
    )
    for line in text_table(HEADERS, rows):
        stdout.write(line)
    stdout.write(
        f"后台任务 #{job.pk}：运行 {running:.2f} 秒（从提交到完成 {seconds:.1f} 秒，"
        f"含启动后台进程）；{job.result_message} 进度：{' → '.join(seen)}；"
        f"Word {job.result_size / 1024:.0f} KB"
    )
