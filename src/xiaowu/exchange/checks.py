"""System checks of the import machinery (security.md INP-04)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import openpyxl
from django.apps import AppConfig
from django.core.checks import CheckMessage, Error


def defusedxml_check(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """openpyxl must parse XML through defusedxml: never rely on the expat version alone."""
    if openpyxl.DEFUSEDXML:
        return []
    return [
        Error(
            "openpyxl 未启用 defusedxml（openpyxl.DEFUSEDXML 为 False）。",
            hint="安装 defusedxml，并且不要设置 OPENPYXL_DEFUSEDXML=False。",
            id="exchange.E001",
        )
    ]
