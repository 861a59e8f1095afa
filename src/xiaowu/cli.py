"""The ``xiaowu`` console command: Django management with xiaowu's settings.

xiaowu migrate | serve | demo | demo_data | orgs --format json | check --deploy | …
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xiaowu.settings")
    from django.core.management import execute_from_command_line  # noqa: PLC0415 — after env setup

    execute_from_command_line(["xiaowu", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
