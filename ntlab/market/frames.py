"""The market data container: quotes and trades for a set of instruments, as long pandas DataFrames.

Frames are long format (a ``symbol`` column), times tz-aware UTC, sorted by time within each symbol. The
paper venue reads them through :meth:`Market.quote_arrays` / :meth:`Market.trade_arrays`, numpy views
cached per symbol, so matching never touches pandas. Treat the frames as read-only.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from ntlab.core.instruments import Instrument, InstrumentRegistry
from ntlab.errors import DataError

QUOTE_COLUMNS = ["symbol", "time", "bid", "ask", "bid_size", "ask_size"]
TRADE_COLUMNS = ["symbol", "time", "price", "size"]


@dataclass(frozen=True, slots=True)
class QuoteArrays:
    time_ns: np.ndarray
    bid: np.ndarray
    ask: np.ndarray
    bid_size: np.ndarray
    ask_size: np.ndarray


@dataclass(frozen=True, slots=True)
class TradeArrays:
    time_ns: np.ndarray
    price: np.ndarray
    size: np.ndarray


def _time_ns(times: pd.Series) -> np.ndarray:
    return pd.DatetimeIndex(times).as_unit("ns").asi8


class Market:
    """Quotes (and optionally trades) for some instruments over one session."""

    def __init__(
        self,
        quotes: pd.DataFrame,
        trades: pd.DataFrame | None = None,
        instruments: dict[str, Instrument] | None = None,
        session_open: pd.Timestamp | None = None,
        session_close: pd.Timestamp | None = None,
    ) -> None:
        self.quotes = quotes
        self.trades = (
            trades
            if trades is not None
            else pd.DataFrame({c: pd.Series(dtype="float64") for c in TRADE_COLUMNS})
        )
        if instruments is None:
            symbols = [str(s) for s in pd.unique(quotes["symbol"])]
            registry = InstrumentRegistry()
            instruments = {}
            for symbol in symbols:
                instrument = registry.get(symbol)
                if instrument is None:
                    raise DataError(
                        f"quotes: symbol {symbol!r} has no recognisable form (equity AAPL, crypto BTC/USD, "
                        "FX EUR/USD); pass instruments= for it"
                    )
                instruments[symbol] = instrument
        self.instruments = instruments
        self.session_open = session_open if session_open is not None else quotes["time"].min()
        self.session_close = session_close if session_close is not None else quotes["time"].max()
        self._quote_arrays: dict[str, QuoteArrays] = {}
        self._trade_arrays: dict[str, TradeArrays] = {}

    @classmethod
    def from_frames(
        cls,
        quotes: pd.DataFrame,
        trades: pd.DataFrame | None = None,
        instruments: dict[str, Instrument] | None = None,
    ) -> Market:
        """A market from user frames, checked and normalised (see :mod:`ntlab.market.loaders`)."""
        from ntlab.market.loaders import load_quotes, load_trades

        loaded = load_quotes(quotes)
        trade_frame = load_trades(trades) if trades is not None else None
        return cls(loaded, trade_frame, instruments)

    @cached_property
    def symbols(self) -> list[str]:
        return list(self.instruments)

    def _rows(self, frame: pd.DataFrame, symbol: str) -> pd.DataFrame:
        if symbol not in self.instruments:
            known = ", ".join(self.symbols)
            raise DataError(f"no market data for {symbol!r}; this market has {known}")
        return frame[frame["symbol"] == symbol]

    def quotes_for(self, symbol: str) -> pd.DataFrame:
        return self._rows(self.quotes, symbol)

    def trades_for(self, symbol: str) -> pd.DataFrame:
        return self._rows(self.trades, symbol)

    def quote_arrays(self, symbol: str) -> QuoteArrays:
        cached = self._quote_arrays.get(symbol)
        if cached is None:
            rows = self.quotes_for(symbol)
            cached = QuoteArrays(
                _time_ns(rows["time"]),
                rows["bid"].to_numpy(dtype="float64"),
                rows["ask"].to_numpy(dtype="float64"),
                rows["bid_size"].to_numpy(dtype="float64"),
                rows["ask_size"].to_numpy(dtype="float64"),
            )
            self._quote_arrays[symbol] = cached
        return cached

    def trade_arrays(self, symbol: str) -> TradeArrays:
        cached = self._trade_arrays.get(symbol)
        if cached is None:
            rows = self.trades_for(symbol)
            if rows.empty:
                empty = np.empty(0)
                cached = TradeArrays(np.empty(0, dtype="int64"), empty, empty)
            else:
                cached = TradeArrays(
                    _time_ns(rows["time"]),
                    rows["price"].to_numpy(dtype="float64"),
                    rows["size"].to_numpy(dtype="float64"),
                )
            self._trade_arrays[symbol] = cached
        return cached

    def daily_volume(self, symbol: str) -> float:
        return float(self.trade_arrays(symbol).size.sum())

    def volume_profile(self, symbol: str, bins: int = 78) -> pd.Series:
        """Share of the session's traded volume in each of ``bins`` equal time bins (sums to 1).

        The default 78 bins are 5-minute buckets of a 6.5-hour equity session. Without trades the profile
        is flat.
        """
        start = self.session_open.value
        end = self.session_close.value
        edges = np.linspace(start, end, bins + 1)
        trades = self.trade_arrays(symbol)
        volume, _ = np.histogram(trades.time_ns, bins=edges, weights=trades.size)
        total = volume.sum()
        shares = volume / total if total > 0 else np.full(bins, 1.0 / bins)
        index = pd.to_datetime(edges[:-1].astype("int64"), utc=True)
        return pd.Series(shares, index=index, name=f"{symbol} volume share")

    def __repr__(self) -> str:
        return (
            f"Market({len(self.instruments)} symbols: {', '.join(self.symbols)}; "
            f"{len(self.quotes):,} quotes, {len(self.trades):,} trades; "
            f"{self.session_open:%Y-%m-%d %H:%M}–{self.session_close:%H:%M} UTC)"
        )
