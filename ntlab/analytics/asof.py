"""Backward as-of lookups of the mid and spread: the last quote at or before each time, or NaN.

NaN, never a guess, when: there is no quote at or before the time, the last one is older than
``max_age_ns``, or the time is past the symbol's last quote (beyond the data).
"""

from __future__ import annotations

import numpy as np

from ntlab.analytics.inputs import Groups, Quotes


def quote_at(
    quotes: Quotes, groups: Groups, times_ns: np.ndarray, max_age_ns: int
) -> tuple[np.ndarray, np.ndarray]:
    """(mid, spread) in force at each time of each symbol group; vectorised with searchsorted."""
    mid_out = np.full(len(times_ns), np.nan)
    spread_out = np.full(len(times_ns), np.nan)
    for symbol, rows in groups:
        found = quotes.by_symbol.get(symbol)
        if found is None or not len(rows):
            continue
        qt, mid, spread = found
        t = times_ns[rows]
        index = np.searchsorted(qt, t, side="right") - 1
        safe = np.clip(index, 0, len(qt) - 1)
        valid = (index >= 0) & (t <= qt[-1]) & ((t - qt[safe]) <= max_age_ns)
        mid_out[rows] = np.where(valid, mid[safe], np.nan)
        spread_out[rows] = np.where(valid, spread[safe], np.nan)
    return mid_out, spread_out
