"""The data every fake serves: the seeded sample market, a session on each trading day, as numpy columns.

A vendor fake asks for one symbol's quotes, trades or bars between two instants and gets them in time order;
the day-by-day sessions are generated on demand (a few tens of milliseconds each) and kept for a while.
"""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache

import numpy as np
import pandas as pd

from ntlab.market import calendar
from ntlab.market.bars import Interval, bars_from_trades
from ntlab.market.sample import SPECS, sample_session


class Tape:
    """``Tape(seed).quotes("AAPL", start_ns, end_ns)`` and the like; unknown symbols have no data."""

    def __init__(self, seed: int = 7) -> None:
        self.seed = seed

    def knows(self, symbol: str) -> bool:
        return symbol in SPECS

    def _days(self, start_ns: int, end_ns: int) -> list:  # type: ignore[type-arg]
        first = calendar.exchange_day(pd.Timestamp(start_ns, tz="UTC"))
        last = calendar.exchange_day(pd.Timestamp(max(end_ns - 1, start_ns), tz="UTC"))
        return calendar.days_between(first, last)

    def _slice(self, parts: list[pd.DataFrame], start_ns: int, end_ns: int) -> pd.DataFrame:
        parts = [p for p in parts if len(p)]
        if not parts:
            return pd.DataFrame({"time": pd.Series(dtype="datetime64[ns, UTC]")})
        frame = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
        ns = frame["time"].array.asi8
        a, b = np.searchsorted(ns, [start_ns, end_ns])
        return frame.iloc[a:b].reset_index(drop=True)

    def quotes(self, symbol: str, start_ns: int, end_ns: int) -> pd.DataFrame:
        return self._slice([self._day(symbol, d)[0] for d in self._days(start_ns, end_ns)], start_ns, end_ns)

    def trades(self, symbol: str, start_ns: int, end_ns: int) -> pd.DataFrame:
        return self._slice([self._day(symbol, d)[1] for d in self._days(start_ns, end_ns)], start_ns, end_ns)

    def bars(self, symbol: str, interval: Interval, start_ns: int, end_ns: int) -> pd.DataFrame:
        parts = [_bars(self.seed, symbol, d.isoformat(), interval) for d in self._days(start_ns, end_ns)]
        return self._slice(parts, start_ns, end_ns)

    def last_quote(self, symbol: str, at: pd.Timestamp) -> pd.Series | None:
        """The last quote at or before ``at`` (looking back up to ten days)."""
        day = calendar.exchange_day(at)
        for _ in range(10):
            quotes = self._day(symbol, day)[0]
            if len(quotes):
                ns = quotes["time"].array.asi8
                i = int(np.searchsorted(ns, at.value, side="right")) - 1
                if i >= 0:
                    return quotes.iloc[i]
            day -= timedelta(days=1)
        return None

    def _day(self, symbol: str, day) -> tuple[pd.DataFrame, pd.DataFrame]:  # type: ignore[no-untyped-def]
        if symbol not in SPECS:
            empty = pd.DataFrame({"time": pd.Series(dtype="datetime64[ns, UTC]")})
            return empty, empty
        session = sample_session(symbol, day, self.seed)
        if session is None:
            empty = pd.DataFrame({"time": pd.Series(dtype="datetime64[ns, UTC]")})
            return empty, empty
        return session


@lru_cache(maxsize=256)
def _bars(seed: int, symbol: str, day: str, interval: Interval) -> pd.DataFrame:
    from datetime import date

    if symbol not in SPECS:
        return pd.DataFrame({"time": pd.Series(dtype="datetime64[ns, UTC]")})
    session = sample_session(symbol, date.fromisoformat(day), seed)
    if session is None:
        return pd.DataFrame({"time": pd.Series(dtype="datetime64[ns, UTC]")})
    return bars_from_trades(session[1], interval)
