"""``xiaowu sgp FILE.csv[.gz] [--format json|table] [-o FILE] [--progressions 3:4,3:5] …``

Student Growth Percentiles on a wide score table (``ID, GRADE_<year>…, SS_<year>…``, like the
SGPdata ``sgpData`` file). By default every grade progression ending in the latest year is
analysed (each grade of that year, followed back through the most common prior grades); the
output holds each student's SGP, its order, the order-1 SGP, the growth level and the prior
score, plus the summary (N, sums, order and level tables, per-grade medians) and the knots.
An operator command: it reads a file, never the database.
"""

from __future__ import annotations

import json
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from xiaowu.exams.valueadded.sgp.quantreg import SOLVERS
from xiaowu.exams.valueadded.sgp.sgp import (
    LEVEL_CUTS,
    LEVEL_LABELS,
    SGPResult,
    SGPSettings,
    parse_progressions,
    progression_text,
    student_growth_percentiles,
)
from xiaowu.exams.valueadded.sgp.wide import PanelError, read_wide


def _payload(result: SGPResult, source: str) -> dict[str, Any]:
    students = result.students
    order_columns = [c for c in students.columns if c.startswith("SGP_ORDER_")]
    columns = [
        "ID",
        "GRADE",
        "PROGRESSION",
        "SCALE_SCORE",
        "SCALE_SCORE_PRIOR",
        "SGP",
        "SGP_ORDER",
        *order_columns,
        "SGP_LEVEL",
    ]
    bounds = [1, *result.level_cuts, 100]
    levels = [
        {
            "level": index + 1,
            "label": LEVEL_LABELS[index] if result.level_cuts == LEVEL_CUTS else f"等级{index + 1}",
            "sgp_from": bounds[index],
            "sgp_to": bounds[index + 1] - 1,
        }
        for index in range(len(bounds) - 1)
    ]
    return {
        "file": source,
        "content_area": result.content_area,
        "year": result.year,
        "max_order": result.max_order,
        "solver": result.solver,
        "levels": levels,
        "summary": result.summary(),
        "matrices": [
            {
                "progression": progression_text(m.progression),
                "order": m.order,
                "years": list(m.years),
                "n": m.n,
                "fitted": m.coefficients is not None,
                **({"skipped": m.skipped} if m.skipped else {}),
            }
            for m in result.matrices
        ],
        "knots": {str(grade): kb.to_dict() for grade, kb in sorted(result.knots.items())},
        "solver_stats": {
            "taus": result.stats.taus,
            "enlarged": result.stats.enlarged,
            "repairs": result.stats.repairs,
            "fallbacks": result.stats.fallbacks,
        },
        "students": students.select(columns).to_dicts(),
    }


def _table(payload: dict[str, Any]) -> str:
    summary = payload["summary"]
    lines = [
        f"文件 {payload['file']}  当前年份 {payload['year']}  最高阶数 {payload['max_order']}"
        f"  求解器 {payload['solver']}",
        f"学生数 N = {summary['n']}   ΣSGP = {summary['sum_sgp']}"
        f"   ΣSGP_ORDER_1 = {summary['sum_sgp_order_1']}"
        f"   ΣSCALE_SCORE_PRIOR = {summary['sum_scale_score_prior']:.12g}",
        "阶数分布：" + "  ".join(f"{k} 阶 {v}" for k, v in summary["order_counts"].items()),
        "增长等级："
        + "  ".join(
            f"{level['label']}({level['sgp_from']}–{level['sgp_to']}) "
            f"{summary['level_counts'][str(level['level'])]}"
            for level in payload["levels"]
        ),
        "年级  人数  SGP 中位数  SGP 平均数",
    ]
    lines += [
        f"{g['grade']:>4}  {g['n']:>4}  {g['median_sgp']:>10g}  {g['mean_sgp']:>10.2f}"
        for g in summary["grades"]
    ]
    skipped = [m for m in payload["matrices"] if not m["fitted"]]
    lines += [
        f"未计算：进度 {m['progression']} {m['order']} 阶（{m['skipped']}，N = {m['n']}）"
        for m in skipped
    ]
    return "\n".join(lines)


class Command(BaseCommand):
    help = (
        "学生成长百分位（SGP）：读取宽表（ID, GRADE_年份…, SS_年份…），"
        "按年级进度计算每个学生的 SGP；输出 JSON。"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", help="宽表 CSV 或 CSV.GZ 文件")
        parser.add_argument("--format", choices=["json", "table"], default="json")
        parser.add_argument("-o", "--output", help="输出文件（不填则输出到标准输出）")
        parser.add_argument("--content-area", default="", help="学科名称（写入结果）")
        parser.add_argument("--max-order", type=int, default=3, help="最多使用的前测个数（默认 3）")
        parser.add_argument(
            "--progressions",
            help="年级进度，如 3:4,3:5,4:8（不填则分析当前年份的每个年级）",
        )
        parser.add_argument("--year", type=int, help="当前年份（默认为最新年份）")
        parser.add_argument(
            "--solver",
            choices=list(SOLVERS),
            default="fast",
            help="exact：完整对偶线性规划（慢）；fast：带认证的精确顶点（默认，结果相同）",
        )
        parser.add_argument(
            "--min-cohort", type=int, default=50, help="每个回归的最少人数（默认 50）"
        )
        parser.add_argument("--workers", type=int, help="并行进程数（默认不超过 2）")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            panel = read_wide(options["file"])
            settings = SGPSettings(
                year=options["year"],
                progressions=(
                    parse_progressions(options["progressions"]) if options["progressions"] else None
                ),
                max_order=options["max_order"],
                solver=options["solver"],
                min_cohort=options["min_cohort"],
                workers=options["workers"],
                content_area=options["content_area"],
            )
            result = student_growth_percentiles(panel, settings)
        except PanelError as error:
            raise CommandError(str(error)) from error
        payload = _payload(result, Path(options["file"]).name)
        if options["format"] == "json":
            text = json.dumps(payload, ensure_ascii=False, indent=1)
        else:
            text = _table(payload)
        if options["output"]:
            Path(options["output"]).write_text(text + "\n", encoding="utf-8")
            self.stdout.write(f"已写入 {options['output']}（{result.students.height} 名学生）")
        else:
            self.stdout.write(text)
