"""What the market did around each order: interval VWAP and volume, TWAP of mids, daily volatility and ADV.

- Interval VWAP and volume: trades with arrival ≤ time ≤ end (both ends included); NaN without trades.
- TWAP: the time average of the mid over [arrival, end], the mid being a step function that holds each
  quote until the next one (the mid at arrival when the interval is empty). NaN unless a fresh quote stands
  at both ends, by the same rule as every other mid.
- σ (daily, bps): realised variance of 1-minute log returns of the last mid of each minute, within a UTC day
  only (no overnight jumps), per minute elapsed (so a quiet gap of k minutes counts as k minutes), scaled by
  ``session_minutes``.
- ADV: traded size per minute over the minutes the trades span each UTC day, times ``session_minutes`` (a
  sample of part of a day is scaled to a whole one instead of being taken for a day's volume).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from ntlab.analytics.asof import quote_at
from ntlab.analytics.inputs import Groups, Orders, Quotes, Trades, groups_of_codes
from ntlab.analytics.timeutil import BPS, DAY_NS, MINUTE_NS, NS


def _ranges(
    series: Mapping[str, tuple[np.ndarray, ...]], groups: Groups, start: np.ndarray, end: np.ndarray
) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """Per symbol: the order rows and the [start, end] index ranges into that symbol's series."""
    out = []
    for symbol, rows in groups:
        found = series.get(symbol)
        if found is None or not len(rows):
            continue
        times = found[0]
        lo = np.searchsorted(times, start[rows], side="left")
        hi = np.searchsorted(times, end[rows], side="right")
        out.append((symbol, rows, lo, hi))
    return out


def interval_vwap(
    trades: Trades, groups: Groups, start: np.ndarray, end: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(VWAP, volume) of the trades in each [start, end]; prefix sums make each order O(log n)."""
    n = len(start)
    vwap = np.full(n, np.nan)
    volume = np.full(n, np.nan)
    for symbol, rows, lo, hi in _ranges(trades.by_symbol, groups, start, end):
        _, price, size = trades.by_symbol[symbol]
        notional = np.concatenate(([0.0], np.cumsum(price * size)))
        shares = np.concatenate(([0.0], np.cumsum(size)))
        traded = shares[hi] - shares[lo]
        volume[rows] = traded
        with np.errstate(invalid="ignore", divide="ignore"):
            vwap[rows] = np.where(traded > 0, (notional[hi] - notional[lo]) / traded, np.nan)
    return vwap, volume


def interval_twap(
    quotes: Quotes, groups: Groups, start: np.ndarray, end: np.ndarray, max_age_ns: int
) -> np.ndarray:
    """Time-weighted mean mid over each [start, end] from the running integral of the mid's step function."""
    n = len(start)
    twap = np.full(n, np.nan)
    mid_start, _ = quote_at(quotes, groups, start, max_age_ns)
    mid_end, _ = quote_at(quotes, groups, end, max_age_ns)
    for symbol, rows, _, _ in _ranges(quotes.by_symbol, groups, start, end):
        times, mid, _ = quotes.by_symbol[symbol]
        # integrate (mid − first mid) over seconds since the first quote: small numbers keep float precision
        seconds = (times - times[0]) / NS
        level = mid - mid[0]
        area = np.concatenate(([0.0], np.cumsum(level[:-1] * np.diff(seconds))))
        a, b = start[rows], end[rows]
        span = (b - a) / NS
        inside = _integral(times, seconds, level, area, b) - _integral(times, seconds, level, area, a)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = mid[0] + inside / np.where(span > 0, span, 1.0)
        value = np.where(span > 0, mean, mid_start[rows])
        ok = np.isfinite(mid_start[rows]) & np.isfinite(mid_end[rows])
        twap[rows] = np.where(ok, value, np.nan)
    return twap


def _integral(
    times: np.ndarray, seconds: np.ndarray, level: np.ndarray, area: np.ndarray, t: np.ndarray
) -> np.ndarray:
    """∫ level dt from the first quote to each t (the step function holds each quote until the next)."""
    k = np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 1)
    return area[k] + level[k] * ((t - times[0]) / NS - seconds[k])


def daily_sigma_bps(quotes: Quotes, symbol: str, session_minutes: float) -> float:
    found = quotes.by_symbol.get(symbol)
    if found is None or not len(found[0]):
        return float("nan")
    times, mid, _ = found
    minute = times // MINUTE_NS
    last = np.flatnonzero(np.append(np.diff(minute) != 0, True))
    minutes, log_mid = minute[last], np.log(mid[last])
    same_day = (minutes[1:] * MINUTE_NS // DAY_NS) == (minutes[:-1] * MINUTE_NS // DAY_NS)
    returns = np.diff(log_mid)[same_day]
    elapsed = np.diff(minutes)[same_day]
    if len(returns) < 2:
        return float("nan")
    per_minute = float((returns**2).sum() / elapsed.sum())
    return float(np.sqrt(per_minute * session_minutes) * BPS)


def average_daily_volume(trades: Trades, symbol: str, session_minutes: float) -> float:
    found = trades.by_symbol.get(symbol)
    if found is None or not len(found[0]):
        return float("nan")
    times, _, size = found
    day = times // DAY_NS
    starts = np.flatnonzero(np.append(True, np.diff(day) != 0))
    ends = np.append(starts[1:], len(times)) - 1
    minutes = float(((times[ends] - times[starts]) / MINUTE_NS).sum())
    if minutes <= 0:
        return float("nan")
    return float(size.sum() / minutes * session_minutes)


def _resolve(
    given: float | Mapping[str, float] | None, names: Sequence[str], estimate: Callable[[str], float]
) -> np.ndarray:
    """A user's value (one number, or one per symbol) where given, the estimate from the data elsewhere."""
    if given is not None and not isinstance(given, Mapping):
        return np.full(len(names), float(given))
    chosen = given or {}
    return np.array([float(chosen[s]) if s in chosen else estimate(s) for s in names], dtype="float64")


def pretrade_inputs(
    orders: Orders,
    quotes: Quotes,
    trades: Trades,
    session_minutes: float,
    sigma_bps: float | Mapping[str, float] | None,
    adv: float | Mapping[str, float] | None,
) -> tuple[np.ndarray, np.ndarray]:
    """(σ daily bps, ADV) per order, from the options where given, else estimated per symbol from the data."""
    names = list(orders.symbol_names)
    sigma = _resolve(sigma_bps, names, lambda s: daily_sigma_bps(quotes, s, session_minutes))
    volume = _resolve(adv, names, lambda s: average_daily_volume(trades, s, session_minutes))
    return sigma[orders.symbol_code], volume[orders.symbol_code]


def order_groups(orders: Orders) -> Groups:
    return groups_of_codes(orders.symbol_code, orders.symbol_names)
