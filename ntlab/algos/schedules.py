"""Schedules: how much of a parent should be done at a given moment.

Each is a pure function of time (and, for POV, of the tape), evaluated with numpy so a full day of
decisions costs microseconds each. TWAP is linear over the window; VWAP follows a volume curve (the market's
own, or weights from the user's history) interpolated linearly within each bin; POV is a share of the
volume the tape has printed since the start.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence

import numpy as np

from ntlab.market.frames import Market


class Schedule:
    """Cumulative fraction of the parent due by ``t_ns``, between 0 and 1 (TWAP: a straight line)."""

    def __init__(self, start_ns: int, end_ns: int) -> None:
        self.start_ns = start_ns
        self.end_ns = end_ns

    def fraction(self, t_ns: int) -> float:
        if t_ns <= self.start_ns:
            return 0.0
        if t_ns >= self.end_ns:
            return 1.0
        return (t_ns - self.start_ns) / (self.end_ns - self.start_ns)


class CurveSchedule(Schedule):
    """Piecewise-linear cumulative curve through (edges, cumulative weights): VWAP."""

    def __init__(self, start_ns: int, end_ns: int, weights: Sequence[float] | np.ndarray) -> None:
        super().__init__(start_ns, end_ns)
        w = np.asarray(weights, dtype="float64")
        total = float(w.sum())
        if total <= 0:
            w = np.ones_like(w)
            total = float(len(w))
        self.edges = np.linspace(start_ns, end_ns, len(w) + 1)
        self.cumulative = np.concatenate([[0.0], np.cumsum(w) / total])
        # plain floats: a parent asks once or twice per wake, where np.interp's call overhead dominates
        self._x = [float(x) for x in self.edges]
        self._y = [float(y) for y in self.cumulative]
        self._slope = [(self._y[j + 1] - self._y[j]) / (self._x[j + 1] - self._x[j]) for j in range(len(w))]

    def fraction(self, t_ns: int) -> float:
        x = float(t_ns)
        if x <= self._x[0]:
            return self._y[0]
        if x >= self._x[-1]:
            return self._y[-1]
        j = bisect_right(self._x, x) - 1
        return self._slope[j] * (x - self._x[j]) + self._y[j]


def market_curve(market: Market, symbol: str, start_ns: int, end_ns: int, bins: int = 78) -> np.ndarray:
    """The market's volume over the window in ``bins`` equal bins: the curve a VWAP parent follows."""
    trades = market.trade_arrays(symbol)
    edges = np.linspace(start_ns, end_ns, bins + 1)
    volume, _ = np.histogram(trades.time_ns, bins=edges, weights=trades.size)
    return np.asarray(volume, dtype="float64")


def history_profile(history: Market, symbol: str, bins: int = 78) -> tuple[float, ...]:
    """Volume weights from another day's data (``Market.volume_profile``), to pass as ``profile=``."""
    return tuple(float(x) for x in history.volume_profile(symbol, bins).to_numpy())


class VolumeTape:
    """Cumulative traded volume of one symbol since a start, from the market's trades (for POV)."""

    def __init__(self, market: Market, symbol: str, start_ns: int) -> None:
        trades = market.trade_arrays(symbol)
        self.time_ns = trades.time_ns
        self.cumulative = np.concatenate([[0.0], np.cumsum(trades.size)])
        self.base = self.cumulative[int(np.searchsorted(self.time_ns, start_ns, side="right"))]

    def volume(self, t_ns: int) -> float:
        """Units printed in (start, t]."""
        return float(self.cumulative[int(np.searchsorted(self.time_ns, t_ns, side="right"))] - self.base)
