"""Rates stored as numerator and denominator, with stated rounding (glossary: ``_rate`` suffix).

The seed summaries report rates that cannot be recomputed; here a rate is always derived from
its parts, rounded half-up to a stated number of decimals.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal


@dataclass(frozen=True)
class Rate:
    numerator: int
    denominator: int
    decimals: int = 2  # decimals of the percentage

    @property
    def percent(self) -> Decimal | None:
        """Return the rate in percent, rounded half-up; None when the denominator is zero."""
        if self.denominator == 0:
            return None
        exact = Decimal(self.numerator) * 100 / Decimal(self.denominator)
        return exact.quantize(Decimal(1).scaleb(-self.decimals), rounding=ROUND_HALF_UP)

    def __str__(self) -> str:
        value = self.percent
        return "—" if value is None else f"{value}%"
