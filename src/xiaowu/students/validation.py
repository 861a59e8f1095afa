"""Format checks of register identifiers (analytics.md §6.2)."""

from __future__ import annotations

import re

from xiaowu.core.identifiers import id_check_char

_FORMAL = re.compile(r"^[GJ]\d{17}[\dX]$")
_TEMPORARY = re.compile(r"^L\d{18}$")


def national_student_number_is_valid(value: str) -> bool:
    """Return True for G/J + a check-digit-valid 18-character code, or L + 18 digits."""
    if _FORMAL.match(value):
        return id_check_char(value[1:18]) == value[18]
    return bool(_TEMPORARY.match(value))
