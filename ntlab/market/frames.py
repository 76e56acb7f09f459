"""The market data container: quotes and trades for a set of instruments, as long pandas DataFrames.

Frames are long format (a ``symbol`` column), times tz-aware UTC, sorted by time within each symbol. The
paper venue reads them through :meth:`Market.quote_arrays` / :meth:`Market.trade_arrays`, read-only numpy
arrays cached per symbol, so matching never touches pandas. Treat the frames as read-only too: the cached
arrays would not see a change.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ntlab.core.instruments import SYMBOL_FORMS, Instrument, InstrumentRegistry
from ntlab.errors import DataError

QUOTE_COLUMNS = ["symbol", "time", "bid", "ask", "bid_size", "ask_size"]
TRADE_COLUMNS = ["symbol", "time", "price", "size"]
# Bars: ``time`` is the bar's start (a daily bar starts at midnight New York); ``vwap`` and ``trade_count`` are
# NaN where the provider does not send them.
BAR_COLUMNS = ["symbol", "time", "open", "high", "low", "close", "volume", "vwap", "trade_count"]


@dataclass(frozen=True, slots=True)
class QuoteArrays:
    """One symbol's quotes as read-only numpy arrays: what the paper venue matches against."""

    time_ns: np.ndarray
    bid: np.ndarray
    ask: np.ndarray
    bid_size: np.ndarray
    ask_size: np.ndarray


@dataclass(frozen=True, slots=True)
class TradeArrays:
    """One symbol's trades as read-only numpy arrays."""

    time_ns: np.ndarray
    price: np.ndarray
    size: np.ndarray


def _time_ns(times: pd.Series) -> np.ndarray:
    return np.asarray(pd.DatetimeIndex(times).as_unit("ns").asi8, dtype=np.int64)


def _frozen(values: np.ndarray) -> np.ndarray:
    """A read-only copy, so a caller cannot change what every later match sees."""
    out = np.array(values, copy=True)
    out.flags.writeable = False
    return out


def _empty_trades() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "symbol": pd.Series(dtype="category"),
            "time": pd.Series(dtype="datetime64[ns, UTC]"),
            "price": pd.Series(dtype="float64"),
            "size": pd.Series(dtype="float64"),
        }
    )


def _contiguous(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, tuple[int, int]]]:
    """The frame with each symbol's rows together (stable, first-seen order) and each symbol's row range."""
    if len(frame) == 0:
        return frame, {}
    codes, uniques = pd.factorize(frame["symbol"], sort=False)
    if np.any(
        np.diff(codes) < 0
    ):  # codes number symbols in first-seen order, so grouped rows never step back
        order = np.argsort(codes, kind="stable")
        frame = frame.iloc[order].reset_index(drop=True)
        codes = codes[order]
    starts = np.searchsorted(codes, np.arange(len(uniques)), side="left")
    stops = np.searchsorted(codes, np.arange(len(uniques)), side="right")
    return frame, {str(u): (int(a), int(b)) for u, a, b in zip(uniques, starts, stops, strict=True)}


class Market:
    """Quotes and trades for some instruments over one session.

    A plain container: build it with :meth:`from_frames` (checked, normalised), :func:`ntlab.market.load_market`
    or :func:`ntlab.market.sample_market`. The constructor trusts its frames (columns as in the module
    docstring, times sorted within each symbol) and only groups each symbol's rows together. Treat the frames
    as read-only: the per-symbol arrays are computed once and cached. ``source`` is the data provider the
    frames came from (see :func:`ntlab.market.get_market`), so more of the same data can be asked for later.
    """

    def __init__(
        self,
        quotes: pd.DataFrame,
        trades: pd.DataFrame | None = None,
        instruments: dict[str, Instrument] | None = None,
        session_open: pd.Timestamp | None = None,
        session_close: pd.Timestamp | None = None,
        *,
        source: object | None = None,
    ) -> None:
        self.source = source
        self.quotes, self._quote_rows = _contiguous(quotes)
        self.trades, self._trade_rows = _contiguous(trades if trades is not None else _empty_trades())
        self.instruments = _instruments(list(self._quote_rows), instruments)
        orphans = [s for s in self._trade_rows if s not in self.instruments]
        if orphans:
            raise DataError(
                f"trades for {', '.join(orphans)} have no quotes; this market quotes {', '.join(self.instruments)}"
            )
        self.session_open = (
            session_open if session_open is not None else _edge(self.quotes, self.trades, latest=False)
        )
        self.session_close = (
            session_close if session_close is not None else _edge(self.quotes, self.trades, latest=True)
        )
        self._quote_arrays: dict[str, QuoteArrays] = {}
        self._trade_arrays: dict[str, TradeArrays] = {}

    @classmethod
    def from_frames(
        cls,
        quotes: pd.DataFrame,
        trades: pd.DataFrame | None = None,
        instruments: dict[str, Instrument] | None = None,
        *,
        drop_crossed: bool = False,
    ) -> Market:
        """A market from user frames, checked and normalised (see :mod:`ntlab.market.loaders`).

        Instruments not given are inferred from the symbol's shape (AAPL equity, EUR/USD FX, BTC/USD crypto);
        the session runs from the first to the last timestamp in the data.
        """
        from ntlab.market.loaders import load_quotes, load_trades

        loaded = load_quotes(quotes, drop_crossed=drop_crossed)
        trade_frame = load_trades(trades) if trades is not None else None
        return cls(loaded, trade_frame, instruments)

    @property
    def symbols(self) -> list[str]:
        """The symbols quoted, in the order of the quotes frame."""
        return list(self.instruments)

    def _rows(self, frame: pd.DataFrame, ranges: dict[str, tuple[int, int]], symbol: str) -> pd.DataFrame:
        if symbol not in self.instruments:
            known = ", ".join(self.symbols)
            raise DataError(f"no market data for {symbol!r}; this market has {known}")
        start, stop = ranges.get(symbol, (0, 0))
        return frame.iloc[start:stop]

    def quotes_for(self, symbol: str) -> pd.DataFrame:
        """One symbol's quotes, sorted by time (a slice of :attr:`quotes`: read it, do not write to it)."""
        return self._rows(self.quotes, self._quote_rows, symbol)

    def trades_for(self, symbol: str) -> pd.DataFrame:
        """One symbol's trades, sorted by time (empty when the market has no trades for it)."""
        return self._rows(self.trades, self._trade_rows, symbol)

    def quote_arrays(self, symbol: str) -> QuoteArrays:
        """One symbol's quotes as read-only numpy arrays, computed once: the venue's hot path."""
        cached = self._quote_arrays.get(symbol)
        if cached is None:
            rows = self.quotes_for(symbol)
            cached = QuoteArrays(
                _frozen(_time_ns(rows["time"])),
                _frozen(rows["bid"].to_numpy(dtype="float64")),
                _frozen(rows["ask"].to_numpy(dtype="float64")),
                _frozen(rows["bid_size"].to_numpy(dtype="float64")),
                _frozen(rows["ask_size"].to_numpy(dtype="float64")),
            )
            self._quote_arrays[symbol] = cached
        return cached

    def trade_arrays(self, symbol: str) -> TradeArrays:
        """One symbol's trades as read-only numpy arrays, computed once."""
        cached = self._trade_arrays.get(symbol)
        if cached is None:
            rows = self.trades_for(symbol)
            if rows.empty:
                empty = _frozen(np.empty(0))
                cached = TradeArrays(_frozen(np.empty(0, dtype="int64")), empty, empty)
            else:
                cached = TradeArrays(
                    _frozen(_time_ns(rows["time"])),
                    _frozen(rows["price"].to_numpy(dtype="float64")),
                    _frozen(rows["size"].to_numpy(dtype="float64")),
                )
            self._trade_arrays[symbol] = cached
        return cached

    def daily_volume(self, symbol: str) -> float:
        """Units traded in the data for ``symbol`` (shares, coins, currency units)."""
        return float(self.trade_arrays(symbol).size.sum())

    def volume_profile(self, symbol: str, bins: int | str | pd.Timedelta = 78) -> pd.Series:
        """Share of the session's traded volume in each time bin (sums to 1): the curve VWAP algorithms follow.

        ``bins`` is a number of equal bins or a bin width (``"5min"``); the default 78 bins are 5-minute
        buckets of a 6.5-hour equity session. Trades outside the session are left out. Without trades the
        profile is flat. Indexed by each bin's start time (UTC).
        """
        start = int(self.session_open.value)
        end = int(self.session_close.value)
        if isinstance(bins, int):
            if bins < 1:
                raise DataError(f"bins must be at least 1, not {bins}")
            edges = np.linspace(start, end, bins + 1).astype("int64")
        else:
            width = pd.Timedelta(bins).value
            if width <= 0:
                raise DataError(f"bin width must be positive, not {bins!r}")
            edges = np.append(np.arange(start, end, width, dtype="int64"), end)
        trades = self.trade_arrays(symbol)
        volume, _ = np.histogram(trades.time_ns, bins=edges, weights=trades.size)
        total = volume.sum()
        count = len(edges) - 1
        shares = volume / total if total > 0 else np.full(count, 1.0 / count)
        index = pd.DatetimeIndex(pd.to_datetime(edges[:-1], utc=True)).as_unit("ns")
        return pd.Series(shares, index=index, name=f"{symbol} volume share")

    def __repr__(self) -> str:
        return (
            f"Market({len(self.instruments)} symbols: {', '.join(self.symbols)}; "
            f"{len(self.quotes):,} quotes, {len(self.trades):,} trades; "
            f"{self.session_open:%Y-%m-%d %H:%M}–{self.session_close:%H:%M} UTC)"
        )


def _instruments(symbols: list[str], given: dict[str, Instrument] | None) -> dict[str, Instrument]:
    """The instruments of ``symbols``: those given, the rest inferred from each symbol's shape."""
    registry = InstrumentRegistry(list((given or {}).values()))
    found: dict[str, Instrument] = {}
    for symbol in symbols:
        instrument = (given or {}).get(symbol) or registry.get(symbol)
        if instrument is None:
            raise DataError(
                f"symbol {symbol!r} has no recognisable form ({SYMBOL_FORMS}); pass instruments= for it"
            )
        found[symbol] = instrument
    for symbol, instrument in (given or {}).items():
        found.setdefault(symbol, instrument)  # instruments given without data stay known, with no rows
    return found


def _edge(quotes: pd.DataFrame, trades: pd.DataFrame, latest: bool) -> pd.Timestamp:
    """The earliest (or latest) time in the data, for a session inferred from it."""
    times = [
        frame["time"].max() if latest else frame["time"].min() for frame in (quotes, trades) if len(frame)
    ]
    if not times:
        raise DataError("the market has no quotes: pass session_open and session_close, or some data")
    return max(times) if latest else min(times)
