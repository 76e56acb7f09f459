"""Where the fake's prices come from: the sample market (default) or a seeded random walk.

A feed answers one question, the top of book for a symbol at the fake's simulated time, so the account
(``fake_book``) can fill orders without knowing how the prices were made.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol

START = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
CENT = Decimal("0.01")


class QuoteFeed(Protocol):
    """Top of book by symbol and time: (bid, ask, bid_size, ask_size), or None for an unknown symbol."""

    def quote(self, symbol: str, t: datetime) -> tuple[Decimal, Decimal, Decimal, Decimal] | None: ...


class SyntheticFeed:
    """A seeded random walk per symbol, one quote per second: enough to fill orders over time.

    Used when no market is given; the same seed gives the same prices, so tests can predict fills.
    """

    def __init__(
        self, symbols: dict[str, float] | None = None, *, seed: int = 7, start: datetime = START
    ) -> None:
        self.prices = symbols or {
            "AAPL": 190.0,
            "MSFT": 410.0,
            "NVDA": 120.0,
            "SPY": 520.0,
            "BRK.B": 410.0,
            "TSLA": 200.0,
        }
        self.seed = seed
        self.start = start
        self._cache: dict[tuple[str, int], tuple[Decimal, Decimal, Decimal, Decimal]] = {}
        self._walk: dict[str, list[float]] = {}

    def _mid(self, symbol: str, second: int) -> float:
        path = self._walk.setdefault(symbol, [self.prices[symbol]])
        if len(path) <= second:
            rng = random.Random(f"{self.seed}:{symbol}:{len(path)}")
            while len(path) <= second:
                path.append(path[-1] * math.exp(rng.gauss(0.0, 0.0004)))
        return path[second]

    def quote(self, symbol: str, t: datetime) -> tuple[Decimal, Decimal, Decimal, Decimal] | None:
        if symbol not in self.prices:
            return None
        second = max(0, int((t - self.start).total_seconds()))
        key = (symbol, second)
        found = self._cache.get(key)
        if found is None:
            rng = random.Random(f"{self.seed}:{symbol}:q{second}")
            mid = Decimal(str(self._mid(symbol, second))).quantize(CENT, ROUND_HALF_UP)
            half = CENT * rng.choice((1, 1, 2))
            found = (
                mid - half,
                mid + half,
                Decimal(rng.randrange(1, 6) * 100),
                Decimal(rng.randrange(1, 6) * 100),
            )
            if len(self._cache) > 100_000:
                self._cache.clear()
            self._cache[key] = found
        return found


class MarketFeed:
    """Quotes from an ``ntlab.market`` Market, as of the fake's clock (the last quote at or before it).

    FX symbols are left out: Alpaca does not trade FX, so the fake answers them as unknown assets.
    """

    def __init__(self, market: Any) -> None:
        from ntlab.core.instruments import AssetKind, classify_symbol

        self.market = market
        self.symbols = {s for s in market.symbols if classify_symbol(s) is not AssetKind.FX}
        first = market.quotes["time"].min().to_pydatetime()
        last = market.quotes["time"].max().to_pydatetime()
        self.start: datetime = first
        self.end: datetime = last
        self._cache: dict[tuple[str, int], tuple[Decimal, Decimal, Decimal, Decimal]] = {}

    def quote(self, symbol: str, t: datetime) -> tuple[Decimal, Decimal, Decimal, Decimal] | None:
        if symbol not in self.symbols:
            return None
        arrays = self.market.quote_arrays(symbol)
        stamp = int(t.timestamp() * 1_000_000) * 1000
        i = max(int(arrays.time_ns.searchsorted(stamp, side="right")) - 1, 0)
        key = (symbol, i)
        found = self._cache.get(key)
        if found is None:
            found = (
                Decimal(repr(float(arrays.bid[i]))),
                Decimal(repr(float(arrays.ask[i]))),
                Decimal(int(arrays.bid_size[i]))
                if arrays.bid_size[i] >= 1
                else Decimal(repr(float(arrays.bid_size[i]))),
                Decimal(int(arrays.ask_size[i]))
                if arrays.ask_size[i] >= 1
                else Decimal(repr(float(arrays.ask_size[i]))),
            )
            if len(self._cache) > 100_000:
                self._cache.clear()
            self._cache[key] = found
        return found


def default_feed() -> QuoteFeed:
    """The sample market when pandas and ``ntlab.market`` are there, else the synthetic walk."""
    try:
        from ntlab.market import sample_market
    except ImportError:
        return SyntheticFeed()
    return MarketFeed(sample_market())
