"""Small helpers for writing numbers into sentences the way the seed summaries do."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlencode

from django.urls import reverse

from xiaowu.reports.document import Figure, FigureRef, Run


def link(url_name: str, **params: object) -> str:
    """Return the URL of a list page filtered by ``params`` (empty values dropped)."""
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return reverse(url_name) + (f"?{query}" if query else "")


def enumerate_runs(items: Iterable[tuple[str, Figure]], *, separator: str = "、") -> list[Run]:
    """Return runs for "初级中学2所、完全小学5所…" from (label, figure) pairs."""
    runs: list[Run] = []
    for index, (label, figure) in enumerate(items):
        if index:
            runs.append(separator)
        runs += [label, FigureRef(figure.key)]
    return runs
