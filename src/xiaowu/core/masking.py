"""Server-side display masking (脱敏) of ID and phone numbers (security.md §2.7, PRIV-05).

The full value never reaches a viewer who may not unmask; unmasking is a separate,
audited request.
"""

from __future__ import annotations


def mask_id_number(value: str) -> str:
    """Return ``620102**********1234``: keep the region code and the last four characters."""
    if not value:
        return ""
    if len(value) <= 10:
        return value[:2] + "*" * max(len(value) - 4, 0) + value[-2:]
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_mobile(value: str) -> str:
    """Return ``138****5678``: keep the first three and the last four digits."""
    if not value:
        return ""
    if len(value) < 8:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]
