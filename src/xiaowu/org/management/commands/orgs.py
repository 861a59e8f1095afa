"""``xiaowu orgs [--format json|table] [--kind KIND] [--under CODE]``: list the org units.

An operator command: it runs with shell access, so it lists every unit without user scoping.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import F

from xiaowu.org.models import OrgUnit, SchoolType, UnitKind


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(_width(row[i]) for row in [headers, *rows]) for i in range(len(headers))]
    lines = [[_pad(cell, width) for cell, width in zip(row, widths, strict=True)] for row in rows]
    head = [_pad(cell, width) for cell, width in zip(headers, widths, strict=True)]
    rule = ["-" * width for width in widths]
    return ["  ".join(cells).rstrip() for cells in [head, rule, *lines]]


def _tree_order(rows: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Return ``rows`` depth first: each unit followed by its subtree, siblings in sort order."""
    rows = list(rows)
    ids = {row["id"] for row in rows}
    children: dict[int | None, list[Mapping[str, Any]]] = {}
    for row in rows:
        parent = row["parent_id"] if row["parent_id"] in ids else None
        children.setdefault(parent, []).append(row)
    for siblings in children.values():
        siblings.sort(key=lambda row: (row["sort_order"], row["code"]))
    ordered: list[Mapping[str, Any]] = []
    stack = list(reversed(children.get(None, [])))
    while stack:
        row = stack.pop()
        ordered.append(row)
        stack.extend(reversed(children.get(row["id"], [])))
    return ordered


class Command(BaseCommand):
    help = "列出组织机构（代码、名称、类型、学校类型、上级代码）；运维命令，不按用户权限过滤。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--format", choices=["table", "json"], default="table", help="输出格式（默认 table）"
        )
        parser.add_argument(
            "--kind", choices=UnitKind.values, help="只列出该类型，如 school、school_class"
        )
        parser.add_argument("--under", metavar="CODE", help="只列出该机构及其全部下级")

    def handle(self, *args: Any, **options: Any) -> None:
        units = OrgUnit.objects.all()
        under: str | None = options["under"]
        if under:
            root = OrgUnit.objects.filter(code=under.strip()).first()
            if root is None:
                raise CommandError(f"没有代码为“{under}”的机构。")
            units = units.under({root.pk})
        rows = [
            row
            for row in _tree_order(
                units.values(
                    "id",
                    "parent_id",
                    "sort_order",
                    "code",
                    "name",
                    "kind",
                    "school_type",
                    parent_code=F("parent__code"),
                )
            )
            if not options["kind"] or row["kind"] == options["kind"]
        ]
        listing = [
            {
                "code": row["code"],
                "name": row["name"],
                "kind": row["kind"],
                "kind_label": UnitKind(row["kind"]).label,
                "school_type": row["school_type"] or None,
                "parent_code": row["parent_code"],
            }
            for row in rows
        ]
        if options["format"] == "json":
            self.stdout.write(json.dumps(listing, ensure_ascii=False, indent=2))
            return
        table = [
            [
                item["code"],
                item["name"],
                f"{item['kind_label']}（{item['kind']}）",
                SchoolType(item["school_type"]).label if item["school_type"] else "",
                item["parent_code"] or "",
            ]
            for item in listing
        ]
        for line in _table(["代码", "名称", "类型", "学校类型", "上级代码"], table):
            self.stdout.write(line)
        self.stdout.write(f"共 {len(listing)} 个机构")
