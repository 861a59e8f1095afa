"""Normalise and validate Chinese identifiers (analytics.md §6, security.md INP-01).

Identifiers are text, never numbers: 身份证号 keeps its leading zeros and its ``X``.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"
_ID_PATTERN = re.compile(r"^\d{17}[\dX]$")
_MOBILE_PATTERN = re.compile(r"^1[3-9]\d{9}$")


def normalise_text(value: str) -> str:
    """Return ``value`` with full-width forms folded (NFKC) and all white space removed."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", value))


def id_check_char(first17: str) -> str:
    """Return the GB 11643 (ISO 7064 MOD 11-2) check character for 17 digits."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def normalise_id_number(value: str) -> str:
    """Return the canonical form of a resident ID number: NFKC, no spaces, upper-case X."""
    return normalise_text(value).upper()


def id_number_is_valid(value: str) -> bool:
    """Return True when ``value`` (already normalised) is an 18-character ID with a right check."""
    if not _ID_PATTERN.match(value):
        return False
    if id_check_char(value[:17]) != value[17]:
        return False
    return id_birth_date(value) is not None


def id_birth_date(value: str) -> date | None:
    """Return the birth date encoded in an 18-character ID number, or None if impossible."""
    try:
        return date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return None


def make_id_number(region: str, birth: date, sequence: int) -> str:
    """Build a checksum-valid ID number (for synthetic demo and test data only)."""
    first17 = f"{region}{birth:%Y%m%d}{sequence % 1000:03d}"
    return first17 + id_check_char(first17)


def normalise_mobile(value: str) -> str:
    """Return a mainland mobile number as 11 digits, dropping spaces, dashes and +86."""
    digits = re.sub(r"[\s\-()]", "", normalise_text(value))
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    return digits


def mobile_is_valid(value: str) -> bool:
    return bool(_MOBILE_PATTERN.match(value))
