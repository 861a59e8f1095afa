"""The ``xiaowu`` console command: Django management with xiaowu's settings.

xiaowu migrate | serve | demo | demo_data | orgs --format json | check --deploy | …
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xiaowu.settings")
    from django.conf import settings  # noqa: PLC0415 — after env setup
    from django.core.management import execute_from_command_line  # noqa: PLC0415

    # The embedded SQLite database and uploads live under var/; make sure it exists.
    Path(settings.VAR_DIR).mkdir(parents=True, exist_ok=True)
    execute_from_command_line(["xiaowu", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
