"""What the market did around each order: interval VWAP and volume, TWAP of mids, daily volatility and ADV.

- Interval VWAP and volume: trades with start ≤ time ≤ end (both ends included); NaN without trades.
- TWAP: the time average of the mid over [start, end], the mid being a step function that holds each
  quote until the next one (the mid at the start when the interval is empty). NaN unless a fresh quote
  stands at both ends, by the same rule as every other mid.
- σ (daily, bps): realised variance of 1-minute log returns of the last mid of each minute, within a UTC day
  only (no overnight jumps), per minute elapsed (so a quiet gap of k minutes counts as k minutes), scaled by
  ``session_minutes``.
- ADV: traded size per minute over the minutes the trades span each UTC day, times ``session_minutes`` (a
  sample of part of a day is scaled to a whole one instead of being taken for a day's volume).

Everything that sums is computed per symbol-day by the kernels below (``*_day``), on that day's rows
only; an interval spanning days is the sum of its pieces. The in-memory :class:`LocalMarket` and the Dask
market (:mod:`ntlab.analytics.distributed`) run the same kernels on the same rows, so they agree.
A quote day covers the time from its first quote until the next day's first quote (its last quote holds
overnight); a trade day covers its own trades.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ntlab.analytics.asof import quote_at
from ntlab.analytics.inputs import Groups, Quotes, Trades, groups_of_codes
from ntlab.analytics.timeutil import BPS, DAY_NS, MINUTE_NS, NS

# --- kernels: one symbol-day each -------------------------------------------------------------------


def day_starts(times: np.ndarray) -> np.ndarray:
    """Row where each UTC day begins in one symbol's sorted times, plus len(times) at the end."""
    if not len(times):
        return np.array([0], dtype=np.int64)
    day = times // DAY_NS
    return np.concatenate(([0], np.flatnonzero(np.diff(day)) + 1, [len(times)]))


def twap_day(
    times: np.ndarray, mid: np.ndarray, hold_ns: int, a: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(∫ mid dt in price·seconds, seconds) over each [a, b] within one quote day's cover
    [times[0], hold_ns]: the integral of (mid − first mid) over seconds since the first quote keeps
    the numbers small (float precision), then the first mid times the length is added back."""
    seconds = (times - times[0]) / NS
    level = mid - mid[0]
    area = np.concatenate(([0.0], np.cumsum(level[:-1] * np.diff(seconds))))

    def integral(t: np.ndarray) -> np.ndarray:
        k = np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 1)
        return area[k] + level[k] * ((t - times[0]) / NS - seconds[k])

    del hold_ns  # the cover's end only bounds a and b (the caller clips them); the last quote holds to it
    length = (b - a) / NS
    return mid[0] * length + (integral(b) - integral(a)), length


def trades_day(
    times: np.ndarray, price: np.ndarray, size: np.ndarray, a: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(Σ price·size, Σ size) of one trade day's prints with a ≤ time ≤ b, from prefix sums."""
    notional = np.concatenate(([0.0], np.cumsum(price * size)))
    shares = np.concatenate(([0.0], np.cumsum(size)))
    lo = np.searchsorted(times, a, side="left")
    hi = np.searchsorted(times, b, side="right")
    return notional[hi] - notional[lo], shares[hi] - shares[lo]


def sigma_day(times: np.ndarray, mid: np.ndarray) -> tuple[float, float, int]:
    """(Σ squared 1-minute log returns, minutes elapsed, returns) of one quote day."""
    minute = times // MINUTE_NS
    last = np.flatnonzero(np.append(np.diff(minute) != 0, True))
    returns = np.diff(np.log(mid[last]))
    return float((returns**2).sum()), float(np.diff(minute[last]).sum()), len(returns)


def adv_day(times: np.ndarray, size: np.ndarray) -> tuple[float, float]:
    """(traded size, minutes the prints span) of one trade day."""
    return float(size.sum()), float((times[-1] - times[0]) / MINUTE_NS)


def sigma_bps(partials: Sequence[tuple[float, float, int]], session_minutes: float) -> float:
    squares = sum(p[0] for p in partials)
    minutes = sum(p[1] for p in partials)
    if sum(p[2] for p in partials) < 2 or minutes <= 0:
        return float("nan")
    return float(np.sqrt(squares / minutes * session_minutes) * BPS)


def adv(partials: Sequence[tuple[float, float]], session_minutes: float) -> float:
    minutes = sum(p[1] for p in partials)
    if minutes <= 0:
        return float("nan")
    return float(sum(p[0] for p in partials) / minutes * session_minutes)


# --- splitting intervals into day pieces (the same plan for every market) ---------------------------


@dataclass(frozen=True, slots=True)
class Pieces:
    """Day pieces of intervals: ``row`` of the interval, ``day`` index, clipped [a, b]."""

    row: np.ndarray
    day: np.ndarray
    a: np.ndarray
    b: np.ndarray


def split_by_day(firsts: np.ndarray, covers: np.ndarray, a: np.ndarray, b: np.ndarray) -> Pieces:
    """Pieces of each [a, b] over the days whose cover [firsts[k], covers[k]] it meets."""
    if not len(firsts) or not len(a):
        empty = np.array([], dtype=np.int64)
        return Pieces(empty, empty, empty, empty)
    ka = np.maximum(np.searchsorted(firsts, a, side="right") - 1, 0)
    kb = np.searchsorted(firsts, b, side="right") - 1
    counts = np.maximum(kb - ka + 1, 0)
    row = np.repeat(np.arange(len(a)), counts)
    offsets = np.concatenate(([0], np.cumsum(counts)[:-1]))
    day = ka[row] + (np.arange(len(row)) - offsets[row])
    return Pieces(row, day, np.maximum(a[row], firsts[day]), np.minimum(b[row], covers[day]))


# --- the market a report reads ---------------------------------------------------------------------


class MarketData(Protocol):
    """What the per-order metrics ask of the market, in batches (one round trip each on a cluster)."""

    def quote_at(
        self, codes: np.ndarray, names: Sequence[str], times: np.ndarray, max_age_ns: int
    ) -> tuple[np.ndarray, np.ndarray]: ...

    def quote_days(self, symbol: str) -> tuple[np.ndarray, np.ndarray]: ...

    def trade_days(self, symbol: str) -> tuple[np.ndarray, np.ndarray]: ...

    def twap_pieces(self, asked: Mapping[str, Pieces]) -> dict[str, tuple[np.ndarray, np.ndarray]]: ...

    def trade_pieces(self, asked: Mapping[str, Pieces]) -> dict[str, tuple[np.ndarray, np.ndarray]]: ...

    def sigma_partials(self, symbols: Sequence[str]) -> dict[str, list[tuple[float, float, int]]]: ...

    def adv_partials(self, symbols: Sequence[str]) -> dict[str, list[tuple[float, float]]]: ...

    def answer(self, asked: Asked) -> Answered: ...


def evaluate_days(
    pieces: Pieces, kernel: Callable[[int, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
) -> tuple[np.ndarray, np.ndarray]:
    """Run ``kernel(day, a, b)`` over each day's pieces and put the answers back in piece order."""
    first, second = np.zeros(len(pieces.row)), np.zeros(len(pieces.row))
    for k in np.unique(pieces.day):
        at = pieces.day == k
        first[at], second[at] = kernel(int(k), pieces.a[at], pieces.b[at])
    return first, second


class LocalMarket:
    """Quotes and trades held in memory (numpy arrays per symbol)."""

    def __init__(self, quotes: Quotes, trades: Trades) -> None:
        self.quotes = quotes
        self.trades = trades
        self._starts: dict[tuple[str, str], np.ndarray] = {}

    def quote_at(
        self, codes: np.ndarray, names: Sequence[str], times: np.ndarray, max_age_ns: int
    ) -> tuple[np.ndarray, np.ndarray]:
        return quote_at(self.quotes, groups_of_codes(codes, names), times, max_age_ns)

    def answer(self, asked: Asked) -> Answered:
        return answer(self, asked)

    def _days(self, kind: str, symbol: str) -> tuple[tuple[np.ndarray, ...] | None, np.ndarray]:
        series = (self.quotes if kind == "quotes" else self.trades).by_symbol.get(symbol)
        if series is None or not len(series[0]):
            return None, np.array([0])
        if (kind, symbol) not in self._starts:
            self._starts[kind, symbol] = day_starts(series[0])
        return series, self._starts[kind, symbol]

    def quote_days(self, symbol: str) -> tuple[np.ndarray, np.ndarray]:
        """(first quote time, end of cover) of each quote day of ``symbol``."""
        series, starts = self._days("quotes", symbol)
        if series is None:
            return np.array([], dtype=np.int64), np.array([], dtype=np.int64)
        firsts = series[0][starts[:-1]]
        return firsts, np.append(firsts[1:], self.quotes.last(symbol))

    def trade_days(self, symbol: str) -> tuple[np.ndarray, np.ndarray]:
        """(first, last) print time of each trade day of ``symbol``."""
        series, starts = self._days("trades", symbol)
        if series is None:
            return np.array([], dtype=np.int64), np.array([], dtype=np.int64)
        return series[0][starts[:-1]], series[0][starts[1:] - 1]

    def _twap_day(self, symbol: str, k: int, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        series, starts = self._days("quotes", symbol)
        assert series is not None
        rows = slice(starts[k], starts[k + 1])
        return twap_day(series[0][rows], series[1][rows], int(self.quote_days(symbol)[1][k]), a, b)

    def _trades_day(self, symbol: str, k: int, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        series, starts = self._days("trades", symbol)
        assert series is not None
        rows = slice(starts[k], starts[k + 1])
        return trades_day(series[0][rows], series[1][rows], series[2][rows], a, b)

    def twap_pieces(self, asked: Mapping[str, Pieces]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        return {s: evaluate_days(p, functools.partial(self._twap_day, s)) for s, p in asked.items()}

    def trade_pieces(self, asked: Mapping[str, Pieces]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        return {s: evaluate_days(p, functools.partial(self._trades_day, s)) for s, p in asked.items()}

    def _per_day(self, kind: str, symbol: str, column: int, kernel: Callable[..., Any]) -> list[Any]:
        """``kernel(times, values)`` over each day of one symbol's quotes or trades."""
        series, starts = self._days(kind, symbol)
        if series is None:
            return []
        return [kernel(series[0][a:b], series[column][a:b]) for a, b in itertools.pairwise(starts)]

    def sigma_partials(self, symbols: Sequence[str]) -> dict[str, list[tuple[float, float, int]]]:
        return {s: self._per_day("quotes", s, 1, sigma_day) for s in symbols}

    def adv_partials(self, symbols: Sequence[str]) -> dict[str, list[tuple[float, float]]]:
        return {s: self._per_day("trades", s, 2, adv_day) for s in symbols}


# --- per-order market figures, for any market -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Asked:
    """Everything the per-order metrics need from the market, asked at once (one round trip)."""

    codes: np.ndarray  # symbol code of each lookup time
    names: Sequence[str]
    times: np.ndarray
    max_age_ns: int
    twap: dict[str, Pieces]
    trades: dict[str, Pieces]


@dataclass(frozen=True, slots=True)
class Answered:
    mid: np.ndarray
    spread: np.ndarray
    twap: dict[str, tuple[np.ndarray, np.ndarray]]
    trades: dict[str, tuple[np.ndarray, np.ndarray]]


def answer(market: MarketData, asked: Asked) -> Answered:
    """In memory: each kind of figure in turn."""
    mid, spread = market.quote_at(asked.codes, asked.names, asked.times, asked.max_age_ns)
    return Answered(mid, spread, market.twap_pieces(asked.twap), market.trade_pieces(asked.trades))


def interval_pieces(
    market: MarketData, groups: Groups, start: np.ndarray, end: np.ndarray
) -> tuple[dict[str, Pieces], dict[str, Pieces]]:
    """(TWAP pieces over quote days, VWAP pieces over trade days) of each [start, end], by symbol."""
    twap, trades = {}, {}
    for symbol, rows in groups:
        if not len(rows):
            continue
        firsts, covers = market.quote_days(symbol)
        if len(firsts):
            twap[symbol] = split_by_day(firsts, covers, start[rows], end[rows])
        firsts, lasts = market.trade_days(symbol)
        if len(firsts):
            trades[symbol] = split_by_day(firsts, lasts, start[rows], end[rows])
    return twap, trades


def interval_vwap(
    groups: Groups, n: int, asked: Mapping[str, Pieces], answered: Mapping[str, tuple[np.ndarray, np.ndarray]]
) -> tuple[np.ndarray, np.ndarray]:
    """(VWAP, volume) of the trades in each [start, end]; NaN volume where the symbol has no trades."""
    vwap, volume = np.full(n, np.nan), np.full(n, np.nan)
    for symbol, rows in groups:
        if symbol not in asked:
            continue
        pieces, (notional_p, volume_p) = asked[symbol], answered[symbol]
        notional = np.bincount(pieces.row, weights=notional_p, minlength=len(rows))
        traded = np.bincount(pieces.row, weights=volume_p, minlength=len(rows))
        volume[rows] = traded
        with np.errstate(invalid="ignore", divide="ignore"):
            vwap[rows] = np.where(traded > 0, notional / traded, np.nan)
    return vwap, volume


def interval_twap(
    groups: Groups,
    asked: Mapping[str, Pieces],
    answered: Mapping[str, tuple[np.ndarray, np.ndarray]],
    mid_start: np.ndarray,
    mid_end: np.ndarray,
) -> np.ndarray:
    """Time-weighted mean mid over each [start, end]: NaN unless fresh mids stand at both ends."""
    twap = np.full(len(mid_start), np.nan)
    for symbol, rows in groups:
        if symbol not in asked:
            continue
        pieces, (total_p, length_p) = asked[symbol], answered[symbol]
        total = np.bincount(pieces.row, weights=total_p, minlength=len(rows))
        span = np.bincount(pieces.row, weights=length_p, minlength=len(rows))
        with np.errstate(invalid="ignore", divide="ignore"):
            twap[rows] = np.where(span > 0, total / np.where(span > 0, span, 1.0), mid_start[rows])
    return np.where(np.isfinite(mid_start) & np.isfinite(mid_end), twap, np.nan)


def _resolve(
    given: float | Mapping[str, float] | None, names: Sequence[str], estimate: Callable[[str], float]
) -> np.ndarray:
    """A user's value (one number, or one per symbol) where given, the estimate from the data elsewhere."""
    if given is not None and not isinstance(given, Mapping):
        return np.full(len(names), float(given))
    chosen = given or {}
    return np.array([float(chosen[s]) if s in chosen else estimate(s) for s in names], dtype="float64")


def pretrade_inputs(
    market: MarketData,
    names: Sequence[str],
    session_minutes: float,
    sigma: float | Mapping[str, float] | None,
    volume: float | Mapping[str, float] | None,
) -> tuple[np.ndarray, np.ndarray]:
    """(σ daily bps, ADV) per symbol of ``names``, from the options where given, else from the data."""

    def missing(given: float | Mapping[str, float] | None) -> list[str]:
        if given is not None and not isinstance(given, Mapping):
            return []
        return [s for s in names if s not in (given or {})]

    sigmas = market.sigma_partials(missing(sigma))
    volumes = market.adv_partials(missing(volume))
    return (
        _resolve(sigma, names, lambda s: sigma_bps(sigmas[s], session_minutes)),
        _resolve(volume, names, lambda s: adv(volumes[s], session_minutes)),
    )
