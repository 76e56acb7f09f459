"""A deterministic sample market: one trading day of quotes and trades for a handful of instruments.

It exists so everything in ntlab works on a fresh machine with no data and no account, and so that VWAP,
markouts and market impact mean something:

- one session, 09:30–16:00 America/New_York, with quotes every second (crypto and FX are generated over the
  same window, which keeps one clock for every symbol);
- the mid is a random walk whose volatility and trading intensity are U-shaped over the day (busy open and
  close, quiet lunch), plus a small permanent impact of each trade, so order flow moves prices;
- spreads of a few ticks for liquid equities (wider at the open), about 1 bp for BTC/USD, under a pip for
  EUR/USD; displayed sizes of a few hundred shares, so a 100-share order fills at the touch and a
  5,000-share market order walks through several quotes;
- trades print at the bid or the ask, with autocorrelated signs (buyers follow buyers), lognormal sizes
  and realistic daily volumes.

Every symbol draws from its own random stream derived from (seed, symbol), so asking for a subset of
symbols yields the same data for those symbols.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

import numpy as np
import pandas as pd

from ntlab.core.instruments import AssetKind, Instrument
from ntlab.errors import DataError
from ntlab.market.frames import Market

SESSION_SECONDS = 6 * 3600 + 30 * 60


@dataclass(frozen=True)
class SymbolSpec:
    instrument: Instrument
    price: float
    daily_vol: float  # standard deviation of the day's log return
    spread_ticks: float  # typical quoted spread, in ticks
    quote_size: float  # typical displayed size at the touch, in units
    daily_volume: float  # units traded in the session
    trades_per_day: int


def _equity(
    symbol: str, price: float, vol: float, spread: float, size: float, volume: float, n: int
) -> SymbolSpec:
    instrument = Instrument(symbol=symbol, kind=AssetKind.EQUITY, tick_size=Decimal("0.01"))
    return SymbolSpec(instrument, price, vol, spread, size, volume, n)


SPECS: dict[str, SymbolSpec] = {
    "AAPL": _equity("AAPL", 190.0, 0.016, 1.3, 400, 4_000_000, 30_000),
    "MSFT": _equity("MSFT", 410.0, 0.014, 2.0, 250, 1_800_000, 22_000),
    "NVDA": _equity("NVDA", 120.0, 0.028, 1.2, 600, 6_000_000, 36_000),
    "SPY": _equity("SPY", 520.0, 0.009, 1.1, 900, 5_000_000, 34_000),
    "BRK.B": _equity("BRK.B", 410.0, 0.011, 3.0, 120, 300_000, 6_000),
    "BTC/USD": SymbolSpec(
        Instrument(
            symbol="BTC/USD", kind=AssetKind.CRYPTO, tick_size=Decimal("0.01"), lot_size=Decimal("0.0001")
        ),
        65_000.0,
        0.025,
        650.0,
        1.5,
        2_500.0,
        20_000,
    ),
    "EUR/USD": SymbolSpec(
        Instrument(symbol="EUR/USD", kind=AssetKind.FX, tick_size=Decimal("0.00001"), currency="USD"),
        1.08,
        0.005,
        7.0,
        2_000_000,
        6_000_000_000,
        25_000,
    ),
}

DEFAULT_SYMBOLS = tuple(SPECS)


def intraday_shape(seconds: np.ndarray, total: float = SESSION_SECONDS) -> np.ndarray:
    """U-shaped activity over the session (mean 1): about 3x busier at the open and 2.5x at the close."""
    t = seconds / total
    shape = 1.0 + 2.5 * np.exp(-t / 0.06) + 1.8 * np.exp(-(1.0 - t) / 0.05)
    return shape / shape.mean()


def _rng(seed: int, symbol: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(symbol.encode())])


def _symbol_frames(spec: SymbolSpec, seed: int, open_ns: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = _rng(seed, spec.instrument.symbol)
    tick = float(spec.instrument.tick_size)
    n = SESSION_SECONDS
    seconds = np.arange(n, dtype=np.float64)
    shape = intraday_shape(seconds)

    # Trades first: per-second counts follow the U-shape; signs persist (buyers follow buyers).
    counts = rng.poisson(spec.trades_per_day / n * shape)
    total = int(counts.sum())
    second_of_trade = np.repeat(np.arange(n), counts)
    flips = rng.random(total) < 0.3
    signs = np.where(np.cumsum(flips) % 2 == 0, 1.0, -1.0)
    signs *= np.where(rng.random() < 0.5, 1.0, -1.0)
    sizes = rng.lognormal(mean=0.0, sigma=0.9, size=total)
    sizes *= spec.daily_volume / sizes.sum()
    lot = float(spec.instrument.lot_size)
    lot_places = max(0, -int(spec.instrument.lot_size.as_tuple().exponent))
    sizes = np.round(np.maximum(np.round(sizes / lot) * lot, lot), lot_places)

    # Mid: diffusion scaled by the intraday shape, plus a permanent impact of signed volume each second.
    sigma = spec.daily_vol / np.sqrt(n)
    diffusion = rng.standard_normal(n) * sigma * np.sqrt(shape)
    flow = np.bincount(second_of_trade, weights=signs * sizes, minlength=n)
    impact = 0.15 * sigma * flow / (spec.daily_volume / spec.trades_per_day * 3)
    log_mid = np.log(spec.price) + np.cumsum(diffusion + impact)
    mid = np.exp(log_mid)

    spread_ticks = np.maximum(
        1, np.round(spec.spread_ticks * (0.7 + 0.3 * shape) * rng.lognormal(0.0, 0.25, n))
    )
    bid_ticks = np.floor(mid / tick - spread_ticks / 2)
    bid = bid_ticks * tick
    ask = (bid_ticks + spread_ticks) * tick
    bid_size = np.round(
        np.maximum(np.round(rng.lognormal(0.0, 0.6, n) * spec.quote_size / lot) * lot, lot), lot_places
    )
    ask_size = np.round(
        np.maximum(np.round(rng.lognormal(0.0, 0.6, n) * spec.quote_size / lot) * lot, lot), lot_places
    )
    places = max(0, -int(spec.instrument.tick_size.as_tuple().exponent))
    bid, ask = np.round(bid, places), np.round(ask, places)

    quote_times = open_ns + (seconds * 1e9).astype(np.int64)
    within = (rng.random(total) * 1e9).astype(np.int64)
    trade_ns = open_ns + second_of_trade.astype(np.int64) * 1_000_000_000 + within
    order = np.lexsort((within, second_of_trade))
    trade_ns = trade_ns[order]
    price = np.where(signs[order] > 0, ask[second_of_trade[order]], bid[second_of_trade[order]])

    symbol = spec.instrument.symbol
    quotes = pd.DataFrame(
        {
            "symbol": symbol,
            "time": pd.to_datetime(quote_times, utc=True),
            "bid": bid,
            "ask": ask,
            "bid_size": bid_size,
            "ask_size": ask_size,
        }
    )
    trades = pd.DataFrame(
        {
            "symbol": symbol,
            "time": pd.to_datetime(trade_ns, utc=True),
            "price": price,
            "size": sizes[order],
        }
    )
    return quotes, trades


@lru_cache(maxsize=8)
def _build(seed: int, date: str, symbols: tuple[str, ...]) -> Market:
    unknown = [s for s in symbols if s not in SPECS]
    if unknown:
        raise DataError(f"the sample market has no {', '.join(unknown)}; choose from {', '.join(SPECS)}")
    try:
        open_local = pd.Timestamp(f"{date} 09:30", tz="America/New_York")
    except ValueError as error:
        raise DataError(f"date {date!r} is not a date like '2026-03-02'") from error
    session_open = open_local.tz_convert("UTC")
    session_close = session_open + pd.Timedelta(seconds=SESSION_SECONDS)
    quotes, trades = [], []
    for symbol in symbols:
        q, t = _symbol_frames(SPECS[symbol], seed, session_open.value)
        quotes.append(q)
        trades.append(t)
    category = pd.CategoricalDtype(list(symbols))
    quote_frame = pd.concat(quotes, ignore_index=True)
    trade_frame = pd.concat(trades, ignore_index=True)
    quote_frame["symbol"] = quote_frame["symbol"].astype(category)
    trade_frame["symbol"] = trade_frame["symbol"].astype(category)
    instruments = {s: SPECS[s].instrument for s in symbols}
    return Market(quote_frame, trade_frame, instruments, session_open, session_close)


def sample_market(seed: int = 7, date: str = "2026-03-02", symbols: Sequence[str] | None = None) -> Market:
    """The sample market for ``seed`` and ``date``: AAPL, MSFT, NVDA, SPY, BRK.B, BTC/USD and EUR/USD.

    Results are cached; the same arguments return the same (shared, read-only) Market.
    """
    chosen = tuple(symbols) if symbols is not None else DEFAULT_SYMBOLS
    return _build(int(seed), str(date), chosen)
