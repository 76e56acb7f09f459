"""Backward as-of lookups of the mid and spread: the last quote at or before each time, or NaN.

NaN, never a guess, when: there is no quote at or before the time, the last one is older than
``max_age_ns``, or the time is past the symbol's last quote (beyond the data).
"""

from __future__ import annotations

import numpy as np

from ntlab.analytics.inputs import Groups, Quotes


def locate(quote_times: np.ndarray, t: np.ndarray, max_age_ns: int) -> tuple[np.ndarray, np.ndarray]:
    """(row of the quote in force at each of ``t``, whether it may be used) for one symbol's quotes."""
    index = np.searchsorted(quote_times, t, side="right") - 1
    safe = np.maximum(index, 0)
    valid = (index >= 0) & (t <= quote_times[-1]) & ((t - quote_times[safe]) <= max_age_ns)
    return safe, valid


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
        safe, valid = locate(qt, times_ns[rows], max_age_ns)
        mid_out[rows] = np.where(valid, mid[safe], np.nan)
        spread_out[rows] = np.where(valid, spread[safe], np.nan)
    return mid_out, spread_out


def mids_at_offsets(
    quotes: Quotes, groups: Groups, times_ns: np.ndarray, offsets_ns: list[int], max_age_ns: int
) -> list[np.ndarray]:
    """The mid at t + offset for every offset, one array per offset: each symbol's times read once."""
    out = [np.full(len(times_ns), np.nan) for _ in offsets_ns]
    for symbol, rows in groups:
        found = quotes.by_symbol.get(symbol)
        if found is None or not len(rows):
            continue
        qt, mid, _ = found
        t = times_ns[rows]
        for column, offset in zip(out, offsets_ns, strict=True):
            safe, valid = locate(qt, t + offset, max_age_ns)
            column[rows] = np.where(valid, mid[safe], np.nan)
    return out
