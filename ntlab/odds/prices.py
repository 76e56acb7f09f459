"""Odds formats and implied probability.

Decimal odds ``d`` pay ``d`` per unit staked (stake included); American odds ``A`` say what a 100 stake wins
(``A > 0``) or what must be staked to win 100 (``A < 0``):

    decimal from American:   d = 1 + A/100  (A ≥ 100)        d = 1 + 100/|A|  (A ≤ −100)
    American from decimal:   A = 100·(d − 1)  (d ≥ 2)        A = −100/(d − 1)  (1 < d < 2), rounded
    implied probability:     p = 1/d  =  100/(A + 100)  (A > 0)  =  |A|/(|A| + 100)  (A < 0)

Conversions that carry money use :class:`~decimal.Decimal`; the vectorised helpers for frames use floats.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import numpy as np

from ntlab.errors import DataError

HUNDRED = Decimal(100)


def as_decimal(value: Any) -> Decimal:
    """A price as Decimal: floats through their shortest text, so 2.1 is Decimal('2.1'), not 2.1000000000000000888."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(str(value))


def decimal_from_american(american: Any) -> Decimal:
    a = as_decimal(american)
    if a >= HUNDRED:
        return 1 + a / HUNDRED
    if a <= -HUNDRED:
        return 1 + HUNDRED / -a
    raise DataError(f"American odds {american} are not valid: they are +100 or more, or −100 or less")


def american_from_decimal(price: Any) -> int:
    d = as_decimal(price)
    if d <= 1:
        raise DataError(f"decimal odds {price} are not valid: they are above 1 (the stake comes back)")
    value = HUNDRED * (d - 1) if d >= 2 else -HUNDRED / (d - 1)
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def implied_probability(price: Any, odds_format: str = "decimal") -> Decimal:
    """The probability a price implies (the bookmaker's margin still in it)."""
    if odds_format == "american":
        a = as_decimal(price)
        if a >= HUNDRED:
            return HUNDRED / (a + HUNDRED)
        if a <= -HUNDRED:
            return -a / (-a + HUNDRED)
        raise DataError(f"American odds {price} are not valid: they are +100 or more, or −100 or less")
    if odds_format != "decimal":
        raise DataError(f"odds_format={odds_format!r}: use 'decimal' or 'american'")
    d = as_decimal(price)
    if d <= 1:
        raise DataError(f"decimal odds {price} are not valid: they are above 1")
    return 1 / d


def implied(prices: Any) -> np.ndarray:
    """1/d for an array of decimal odds; NaN where a price is missing or not above 1 (never a silent 0)."""
    d = np.asarray(prices, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(d > 1, 1.0 / d, np.nan)


def decimal_array_from_american(american: Any) -> np.ndarray:
    a = np.asarray(american, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(a >= 100, 1 + a / 100, np.where(a <= -100, 1 + 100 / np.abs(a), np.nan))
    return out


def american_array_from_decimal(prices: Any) -> np.ndarray:
    d = np.asarray(prices, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(d >= 2, 100 * (d - 1), np.where(d > 1, -100 / (d - 1), np.nan))
    return np.round(out)
