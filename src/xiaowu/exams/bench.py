"""``xiaowu bench exams``: time the exam-analysis engine against a bare polars group-by.

Everything happens in memory; no database is touched. A seeded numpy generator builds the long
score frame of the exams contract for a city-sized 联考 (default 500,000 students × 9
subjects = 4.5 M rows: 3 × 150-point and 6 × 100-point papers, 1,500 students per school,
30 classes per school, 20 schools per 学区, a teacher per class × subject shared by two
classes, ~1 % absent, some 作弊/免考 and 2 % 借读). Then, ``--repeat`` times in the same process:

- the reference (``bench_reference.reference``): the same indicators, at the same levels, written
  as bare polars — lazy ``group_by``/``over``/``rank`` queries and joins over the long table,
  collected together with ``pl.collect_all``. This is the "bare Polars group-by over the same
  table" the 2× target is measured against; the first run checks, cell by cell, that its tables
  equal the engine's, so both sides provably do the same work;
- the floor: one polars ``group_by(class_id, subject)`` computing N, mean, SD (ddof 0), max,
  min and the counts x ≥ 0.6·满分, x ≥ 0.8·满分, x < 0.4·满分 — the core of "三率一分" for one
  level, with no 总分, no other level, no ranks. Printed for scale, not a like-for-like baseline;
- ``analyze()``: every indicator at every level (exam, 学区, school, class, teacher × every
  subject and 总分), student ranks and standard scores, bands, 一分一段, joint rates, 上线.

It prints the times, the ratios, the engine's stages and its peak RSS (``resource.getrusage``
read before the reference first runs; polars allocates outside ``tracemalloc``), then runs the
SGP benchmark of ``xiaowu.exams.valueadded.bench`` unless ``--skip-sgp``, and ends with a
Markdown table. Timings are only meaningful on an otherwise idle machine.
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import time
from collections.abc import Callable, Mapping
from typing import Any, Final, TextIO

import numpy as np
import polars as pl
from django.core.management.base import CommandError, CommandParser

from xiaowu.exams.analytics import CaliberSpec, ExamResult, analyze
from xiaowu.exams.bench_reference import COMPARED, differences, reference
from xiaowu.exams.valueadded.bench import sgp_benchmark

HELP = (
    "考试分析引擎基准：在内存中生成 N 名学生 × 科目的成绩长表，对比裸 polars 分组统计与"
    "全部指标分析的耗时和峰值内存，并运行增值评价 SGP 基准。"
)
SUBJECTS: Final = (
    ("语文", 150.0),
    ("数学", 150.0),
    ("英语", 150.0),
    ("物理", 100.0),
    ("化学", 100.0),
    ("生物", 100.0),
    ("政治", 100.0),
    ("历史", 100.0),
    ("地理", 100.0),
    ("信息技术", 100.0),
    ("体育", 100.0),
    ("音乐", 100.0),
)
PER_SCHOOL: Final = 1500
PER_CLASS: Final = 50  # 30 classes per school
SCHOOLS_PER_DISTRICT: Final = 20
TARGET_SECONDS: Final = 3.0
TARGET_RATIO: Final = 2.0
REFERENCE_DESCRIPTION: Final = (
    "同口径全部指标的裸 polars 实现（各层级 group_by、over 窗口排名、join，pl.collect_all 并行）"
)
BASELINE_DESCRIPTION: Final = (
    "polars group_by(class_id, subject).agg(len, mean, std(ddof=0), max, min, "
    "sum(x ≥ 0.6·满分), sum(x ≥ 0.8·满分), sum(x < 0.4·满分))"
)
BENCH_CALIBER: Final[dict[str, Any]] = {
    "composite": {"family": "weighted", "weights": {"mean": 0.4, "pass": 0.3, "excellent": 0.3}},
    "subject_sets": {"双合": ["语文", "数学"], "三合": ["语文", "数学", "英语"], "全科": "*"},
    "lines": [{"name": "重点线", "total": 820}, {"name": "普高线", "total": 700}],
    "tie_break": ["语文", "数学"],
}


def add_arguments(parser: CommandParser) -> None:
    parser.add_argument("--students", type=int, default=500_000, help="学生数（默认 500000）")
    parser.add_argument(
        "--subjects", type=int, default=9, help=f"科目数（默认 9，最多 {len(SUBJECTS)}）"
    )
    parser.add_argument("--repeat", type=int, default=3, help="重复次数，取最好成绩（默认 3）")
    parser.add_argument("--seed", type=int, default=20240601, help="随机种子")
    parser.add_argument("--skip-sgp", action="store_true", help="不运行增值评价 SGP 基准")
    parser.add_argument(
        "--sgp-students", type=int, default=50_000, help="SGP 基准的学生数（默认 50000）"
    )


def generate(students: int, subjects: int, seed: int) -> pl.DataFrame:
    """The synthetic long score frame (exams contract columns), deterministic for a seed."""
    rng = np.random.default_rng(seed)
    student = np.arange(students, dtype=np.int64)
    school = student // PER_SCHOOL
    klass = student // PER_CLASS
    district = school // SCHOOLS_PER_DISTRICT
    ability = (
        rng.normal(0.0, 1.0, students)
        + rng.normal(0.0, 0.4, int(school.max()) + 1)[school]
        + rng.normal(0.0, 0.2, int(klass.max()) + 1)[klass]
    )
    names = [name for name, _ in SUBJECTS[:subjects]]
    full = np.array([mark for _, mark in SUBJECTS[:subjects]])
    rows = students * subjects
    code = np.tile(np.arange(subjects), students)
    marks = full[code]
    noise = rng.standard_normal(rows, dtype=np.float32)
    raw = (0.65 + 0.15 * (0.7 * np.repeat(ability, subjects) + 0.7 * noise)) * marks
    score = np.clip(np.round(raw * 2) / 2, 0, marks)  # half points
    u = rng.random(rows, dtype=np.float32)
    status = np.zeros(rows, dtype=np.uint32)
    status[u < 0.011] = 3  # exempt
    status[u < 0.0105] = 2  # cheated
    status[u < 0.01] = 1  # absent
    score[status == 1] = np.nan
    visiting = rng.random(students) < 0.02
    gender = rng.integers(0, 2, students).astype(np.uint32)

    def repeat(values: np.ndarray) -> np.ndarray:
        return np.repeat(values, subjects)

    def labels(values: list[str], codes: np.ndarray) -> pl.Series:
        return pl.Series(values).gather(codes.astype(np.uint32))

    class_rows = repeat(klass)
    return pl.DataFrame(
        {
            "student_id": repeat(student + 1_000_000),
            "candidate_id": repeat(student + 1),
            "class_id": class_rows + 1,
            "school_id": repeat(school) + 1,
            "district_id": repeat(district) + 1,
            "teacher_id": (class_rows // 2) * len(SUBJECTS) + code + 1,
            "subject": labels(names, code),
            "full_mark": marks,
            "score": pl.Series(score, nan_to_null=True),
            "status": labels(["", "absent", "cheated", "exempt"], status),
            "is_visiting": repeat(visiting),
            "gender": labels(["male", "female"], repeat(gender)),
        }
    )


def baseline(frame: pl.DataFrame) -> pl.DataFrame:
    x = pl.col("score")
    full = pl.col("full_mark")
    return frame.group_by("class_id", "subject").agg(
        pl.len().alias("n"),
        x.mean().alias("mean"),
        x.std(ddof=0).alias("std"),
        x.max().alias("max"),
        x.min().alias("min"),
        (x >= 0.6 * full).sum().alias("pass_n"),
        (x >= 0.8 * full).sum().alias("excellent_n"),
        (x < 0.4 * full).sum().alias("low_n"),
    )


def peak_rss_mb() -> float:
    """Peak resident set size of this process (KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if platform.system() == "Darwin" else peak / 1024


def _timed(function: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = function()
    return time.perf_counter() - started, value


def run(options: Mapping[str, Any], *, stdout: TextIO) -> None:
    students: int = options["students"]
    subjects: int = options["subjects"]
    repeat: int = options["repeat"]
    if not 1_000 <= students <= 5_000_000:
        raise CommandError("--students 必须在 1000 到 5000000 之间。")
    if not 2 <= subjects <= len(SUBJECTS):
        raise CommandError(f"--subjects 必须在 2 到 {len(SUBJECTS)} 之间。")
    if not 1 <= repeat <= 20:
        raise CommandError("--repeat 必须在 1 到 20 之间。")

    def say(text: str = "") -> None:
        stdout.write(text + "\n")
        stdout.flush()

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    say(f"考试分析基准：{students:,} 名学生 × {subjects} 科（种子 {options['seed']}）")
    say(
        f"  机器：{cores} 个可用核心，polars 线程池 {pl.thread_pool_size()}，"
        f"numpy {np.__version__}，polars {pl.__version__}，当前 1 分钟负载 {load:.2f}"
    )
    generation, frame = _timed(lambda: generate(students, subjects, options["seed"]))
    size = frame.estimated_size() / 2**20
    say(f"  生成成绩长表：{frame.height:,} 行，{generation:.1f} 秒，{size:.0f} MiB")
    say(f"  参考实现（目标基线）：{REFERENCE_DESCRIPTION}")
    say(f"  最小基线（仅供对照）：{BASELINE_DESCRIPTION}")
    spec = CaliberSpec.from_config(BENCH_CALIBER)
    times: dict[str, list[float]] = {"floor": [], "reference": [], "engine": []}
    stages: dict[str, float] = {}
    result: ExamResult | None = None
    peak: float | None = None
    problems: list[str] = []
    for attempt in range(1, repeat + 1):
        floor_seconds, _table = _timed(lambda: baseline(frame))
        timings: dict[str, float] = {}
        engine_seconds, result = _timed(lambda: analyze(frame, spec, timings=timings))  # noqa: B023
        peak = peak_rss_mb() if peak is None else peak
        reference_seconds, tables = _timed(lambda: reference(frame, spec))
        if attempt == 1:
            problems = differences(result, tables)
        del tables
        times["floor"].append(floor_seconds)
        times["reference"].append(reference_seconds)
        times["engine"].append(engine_seconds)
        if engine_seconds == min(times["engine"]):
            stages = timings
        say(
            f"  第 {attempt} 次：analyze() {engine_seconds:.3f} 秒，"
            f"参考实现 {reference_seconds:.3f} 秒"
            f"（倍数 {engine_seconds / reference_seconds:.2f}），"
            f"最小基线 {floor_seconds:.3f} 秒（倍数 {engine_seconds / floor_seconds:.2f}）"
        )
    assert result is not None  # noqa: S101 — repeat ≥ 1
    assert peak is not None  # noqa: S101
    if problems:
        say("  一致性核对：参考实现与引擎结果不一致——倍数不可比：")
        for problem in problems:
            say(f"    {problem}")
    else:
        say(f"  一致性核对：参考实现与引擎的 {len(COMPARED)} 张结果表逐行逐列一致")
    best = {name: min(values) for name, values in times.items()}
    ratio = best["engine"] / best["reference"]
    floor_ratio = best["engine"] / best["floor"]
    ratios = [e / r for e, r in zip(times["engine"], times["reference"], strict=True)]
    say(
        f"  最好成绩：analyze() {best['engine']:.3f} 秒，参考实现 {best['reference']:.3f} 秒，"
        f"倍数 {ratio:.2f}（同一次运行中的倍数中位数 {statistics.median(ratios):.2f}）；"
        f"最小基线 {best['floor']:.3f} 秒，倍数 {floor_ratio:.2f}"
    )
    seconds_met = "达到" if best["engine"] <= TARGET_SECONDS else "未达到"
    ratio_met = "达到" if ratio <= TARGET_RATIO and not problems else "未达到"
    say(
        f"  目标：≤ {TARGET_SECONDS:.0f} 秒 {seconds_met}；"
        f"≤ 参考实现的 {TARGET_RATIO:.0f} 倍 {ratio_met}"
    )
    say("  分阶段（最快一次；墙钟秒 / 本进程全部线程的 CPU 秒；学生表在第二个线程上并行计算）：")
    for stage in [name for name in stages if not name.endswith("(cpu)")]:
        cpu = stages.get(f"{stage} (cpu)")
        cpu_text = "—" if cpu is None else f"{cpu:.3f}"
        say(f"    {stage:<22} {stages[stage]:.3f} / {cpu_text}")
    sizes = ", ".join(
        f"{name} {getattr(result, name).height:,}"
        for name in ("units", "students", "bands", "one_point", "joint", "lines", "line_subjects")
    )
    say(f"  结果行数：{sizes}")
    say(f"  analyze() 峰值内存（RSS，参考实现运行之前）：{peak:,.0f} MiB")

    sgp: dict[str, Any] | None = None
    if options["skip_sgp"]:
        say("SGP 基准：已跳过（--skip-sgp）")
    else:
        sgp = sgp_benchmark(students=options["sgp_students"], priors=2, stdout=stdout)

    say()
    say("| 基准 | 规模 | 耗时 | 备注 |")
    say("|---|---|---|---|")
    scale = f"{students:,} 名学生 × {subjects} 科 = {frame.height:,} 行"
    say(
        f"| analyze() 全部指标 | {scale} | {best['engine']:.2f} 秒 | "
        f"参考实现的 {ratio:.2f} 倍；峰值内存 {peak:,.0f} MiB |"
    )
    agreement = "结果与引擎逐格一致" if not problems else "结果与引擎不一致"
    say(
        f"| 参考实现：同口径全部指标的裸 polars | {scale} | {best['reference']:.2f} 秒 | "
        f"{agreement}；最好 {repeat} 次 |"
    )
    say(
        f"| 最小基线：裸 polars 单层分组（班级 × 科目，8 个统计量） | {scale} | "
        f"{best['floor']:.2f} 秒 | analyze() 是它的 {floor_ratio:.2f} 倍（仅供对照） |"
    )
    if sgp is not None:
        say(
            f"| SGP（阶数 1–{sgp.get('priors', 2)}，每阶 100 个分位点） | "
            f"{sgp.get('students', options['sgp_students']):,} 名学生 | "
            f"{sgp.get('sgp_seconds', float('nan')):.1f} 秒 | "
            f"{'与 HiGHS 完整线性规划最优一致' if sgp.get('optimal') else '最优性未核验一致'} |"
        )
    say(f"| 机器 | {cores} 核，负载 {load:.2f} | — | 仅在空闲机器上测得的时间可信 |")
