"""Backward as-of lookups of the mid and spread: the last quote at or before each time, or NaN.

NaN, never a guess, when: there is no quote at or before the time, the last one is older than
``max_age_ns``, or the time is past the symbol's last quote (beyond the data).

A lookup returns a stored value (no arithmetic), so it answers the same on a slice of the data (a
symbol-day partition holding the quotes in force over the times asked) as on the whole.
"""

from __future__ import annotations

import numpy as np

from ntlab.analytics.inputs import Groups, Quotes


def locate(
    quote_times: np.ndarray, t: np.ndarray, max_age_ns: int, last_ns: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(row of the quote in force at each of ``t``, whether it may be used) for one symbol's quotes."""
    index = np.searchsorted(quote_times, t, side="right") - 1
    safe = np.maximum(index, 0)
    last = quote_times[-1] if last_ns is None else last_ns
    valid = (index >= 0) & (t <= last) & ((t - quote_times[safe]) <= max_age_ns)
    return safe, valid


def quote_at(
    quotes: Quotes, groups: Groups, times_ns: np.ndarray, max_age_ns: int
) -> tuple[np.ndarray, np.ndarray]:
    """(mid, spread) in force at each time of each symbol group; vectorised with searchsorted."""
    mid_out = np.full(len(times_ns), np.nan)
    spread_out = np.full(len(times_ns), np.nan)
    for symbol, rows in groups:
        found = quotes.by_symbol.get(symbol)
        if found is None or not len(rows) or not len(found[0]):
            continue
        qt, mid, spread = found
        safe, valid = locate(qt, times_ns[rows], max_age_ns, quotes.last(symbol))
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
        if found is None or not len(rows) or not len(found[0]):
            continue
        qt, mid, _ = found
        last = quotes.last(symbol)
        t = times_ns[rows]
        for column, offset in zip(out, offsets_ns, strict=True):
            safe, valid = locate(qt, t + offset, max_age_ns, last)
            column[rows] = np.where(valid, mid[safe], np.nan)
    return out
