"""A deterministic sample market: one trading day of quotes and trades for a handful of instruments.

It exists so everything in ntlab works on a fresh machine with no data and no account, and so that VWAP,
markouts and market impact mean something:

- one session, 09:30–16:00 America/New_York, with quotes every second (crypto and FX are generated over the
  same window, which keeps one clock for every symbol);
- the mid is a random walk whose volatility and trading intensity are U-shaped over the day (busy open and
  close, quiet lunch), plus a small permanent impact of each trade, so order flow moves prices;
- spreads of 1–3 ticks for liquid equities (up to 5 for BRK.B), wider at the open; about 1 bp for BTC/USD;
  0.5–1 pip for EUR/USD;
- displayed sizes in round lots of a few hundred shares, so a 100-share order fills at the touch while a
  5,000-share market order finds far less there and fills over several quotes; fractions of a BTC; EUR/USD
  in millions;
- trades print at the bid or the ask, with autocorrelated signs (buyers follow buyers), lognormal sizes
  and realistic daily volumes.

Every symbol draws from its own random stream derived from (seed, symbol), so asking for a subset of
symbols yields the same data for those symbols.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
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
    spread_range: tuple[float, float]  # narrowest and widest quoted spread, in ticks
    quote_size: float  # typical displayed size at the touch, in units
    quote_lot: Decimal  # displayed sizes are multiples of this (round lots of 100 shares for equities)
    daily_volume: float  # units traded in the session
    trades_per_day: int


def _equity(
    symbol: str,
    price: float,
    vol: float,
    spread: float,
    size: float,
    volume: float,
    n: int,
    widest: float = 3,
) -> SymbolSpec:
    instrument = Instrument(symbol=symbol, kind=AssetKind.EQUITY, tick_size=Decimal("0.01"))
    return SymbolSpec(instrument, price, vol, spread, (1, widest), size, Decimal(100), volume, n)


SPECS: dict[str, SymbolSpec] = {
    "AAPL": _equity("AAPL", 190.0, 0.016, 1.3, 400, 4_000_000, 30_000),
    "MSFT": _equity("MSFT", 410.0, 0.014, 2.0, 250, 1_800_000, 22_000),
    "NVDA": _equity("NVDA", 120.0, 0.028, 1.2, 600, 6_000_000, 36_000),
    "SPY": _equity("SPY", 520.0, 0.009, 1.1, 900, 5_000_000, 34_000),
    "BRK.B": _equity("BRK.B", 410.0, 0.011, 2.5, 120, 300_000, 6_000, widest=5),
    "BTC/USD": SymbolSpec(
        Instrument(
            symbol="BTC/USD", kind=AssetKind.CRYPTO, tick_size=Decimal("0.01"), lot_size=Decimal("0.0001")
        ),
        65_000.0,
        0.025,
        650.0,
        (400, 1_300),
        1.5,
        Decimal("0.0001"),
        2_500.0,
        20_000,
    ),
    "EUR/USD": SymbolSpec(
        Instrument(symbol="EUR/USD", kind=AssetKind.FX, tick_size=Decimal("0.00001"), currency="USD"),
        1.08,
        0.005,
        7.0,
        (5, 10),
        2_000_000,
        Decimal(100_000),
        6_000_000_000,
        25_000,
    ),
}

DEFAULT_SYMBOLS = tuple(SPECS)


def intraday_shape(seconds: np.ndarray, total: float = SESSION_SECONDS) -> np.ndarray:
    """U-shaped activity over the session (mean 1): about 3x busier at the open and 2.5x at the close."""
    t = seconds / total
    shape: np.ndarray = 1.0 + 2.5 * np.exp(-t / 0.06) + 1.8 * np.exp(-(1.0 - t) / 0.05)
    return shape / float(shape.mean())


def _rng(seed: int, symbol: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(symbol.encode())])


def _round_to(values: np.ndarray, step: Decimal) -> np.ndarray:
    """Values rounded to a multiple of ``step`` (at least one step), exactly as the decimal prints."""
    places = max(0, -int(step.as_tuple().exponent))
    size = float(step)
    return np.round(np.maximum(np.round(values / size), 1.0) * size, places)


def _symbol_frames(
    spec: SymbolSpec,
    seed: int,
    open_ns: int,
    rng: np.random.Generator | None = None,
    price: float | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = rng if rng is not None else _rng(seed, spec.instrument.symbol)
    price = spec.price if price is None else price
    tick = float(spec.instrument.tick_size)
    n = SESSION_SECONDS
    seconds = np.arange(n, dtype=np.float64)
    shape = intraday_shape(seconds)

    # Trades: per-second counts follow the U-shape, times uniform within the second.
    counts = rng.poisson(spec.trades_per_day / n * shape)
    total = int(counts.sum())
    second_of_trade = np.repeat(np.arange(n), counts)
    within = rng.integers(0, 1_000_000_000, total)
    within = within[np.lexsort((within, second_of_trade))]  # second_of_trade is sorted already
    # Signs in time order persist (buyers follow buyers): a flip with probability 0.3 per trade.
    flips = rng.random(total) < 0.3
    signs = np.where(np.cumsum(flips) % 2 == 0, 1.0, -1.0) * (1.0 if rng.random() < 0.5 else -1.0)
    sizes = rng.lognormal(mean=0.0, sigma=0.9, size=total)
    sizes = _round_to(sizes * spec.daily_volume / sizes.sum(), spec.instrument.lot_size)

    # Mid: diffusion scaled by the intraday shape, plus a permanent impact of each second's signed volume
    # that shows in the next second's quote, so buying pushes later mids up (positive markouts).
    sigma = spec.daily_vol / np.sqrt(n)
    diffusion = rng.standard_normal(n) * sigma * np.sqrt(shape)
    flow = np.bincount(second_of_trade, weights=signs * sizes, minlength=n)
    impact = 0.5 * sigma * flow / (spec.daily_volume / spec.trades_per_day * 3)
    steps = diffusion + np.concatenate(([0.0], impact[:-1]))
    mid = np.exp(np.log(price) + np.cumsum(steps))

    # Spread in ticks: wider when the market is busy (the open), bounded to what the instrument shows.
    spread_ticks = np.clip(
        np.round(spec.spread_ticks * (0.7 + 0.3 * shape) * rng.lognormal(0.0, 0.25, n)),
        spec.spread_range[0],
        spec.spread_range[1],
    )
    bid_ticks = np.floor(mid / tick - spread_ticks / 2)
    bid = bid_ticks * tick
    ask = (bid_ticks + spread_ticks) * tick
    places = max(0, -int(spec.instrument.tick_size.as_tuple().exponent))
    bid, ask = np.round(bid, places), np.round(ask, places)
    bid_size = _round_to(rng.lognormal(0.0, 0.6, n) * spec.quote_size, spec.quote_lot)
    ask_size = _round_to(rng.lognormal(0.0, 0.6, n) * spec.quote_size, spec.quote_lot)

    quote_ns = open_ns + np.arange(n, dtype=np.int64) * 1_000_000_000
    trade_ns = open_ns + second_of_trade.astype(np.int64) * 1_000_000_000 + within
    price = np.where(signs > 0, ask[second_of_trade], bid[second_of_trade])

    symbol = spec.instrument.symbol
    quotes = pd.DataFrame(
        {
            "symbol": symbol,
            "time": _utc(quote_ns),
            "bid": bid,
            "ask": ask,
            "bid_size": bid_size,
            "ask_size": ask_size,
        }
    )
    trades = pd.DataFrame({"symbol": symbol, "time": _utc(trade_ns), "price": price, "size": sizes})
    return quotes, trades


def _utc(ns: np.ndarray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(ns.astype("datetime64[ns]")).tz_localize("UTC")


@lru_cache(maxsize=8)
def _build(seed: int, date: str, symbols: tuple[str, ...]) -> Market:
    unknown = [s for s in symbols if s not in SPECS]
    if unknown:
        raise DataError(f"the sample market has no {', '.join(unknown)}; choose from {', '.join(SPECS)}")
    if not symbols:
        raise DataError(f"ask for at least one symbol; the sample market has {', '.join(SPECS)}")
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

    One session 09:30–16:00 America/New_York for every symbol (crypto and FX too, over the same window).
    Generation is cached on (seed, date, symbols); each call returns a new :class:`Market` holding its own
    copies of the frames, so changing one caller's frames never changes what the next caller gets.
    """
    chosen = tuple(dict.fromkeys(symbols)) if symbols is not None else DEFAULT_SYMBOLS
    if isinstance(symbols, str):
        chosen = (symbols,)
    shared = _build(int(seed), str(date), chosen)
    return Market(
        shared.quotes.copy(),
        shared.trades.copy(),
        dict(shared.instruments),
        shared.session_open,
        shared.session_close,
    )


REFERENCE_DAY = date(2026, 3, 2)  # sample_market()'s default date: its sessions are the same either way
WALK_DAYS = 20 * 366


@lru_cache(maxsize=16)
def _levels(seed: int, symbol: str) -> np.ndarray:
    """Each day's opening log-price offset from the reference day: a daily random walk, 0 on that day."""
    rng = np.random.default_rng([seed, zlib.crc32(symbol.encode()), 1])
    steps = rng.standard_normal(2 * WALK_DAYS + 1) * SPECS[symbol].daily_vol
    steps[WALK_DAYS] = 0.0
    walk = np.cumsum(steps)
    return walk - walk[WALK_DAYS]


@lru_cache(maxsize=32)
def _session(seed: int, day: str, symbol: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    spec = SPECS[symbol]
    open_ns = pd.Timestamp(f"{day} 09:30", tz="America/New_York").tz_convert("UTC").value
    offset = (date.fromisoformat(day) - REFERENCE_DAY).days
    if offset == 0:
        quotes, trades = _symbol_frames(spec, seed, open_ns)
    else:
        if abs(offset) > WALK_DAYS:
            raise DataError(
                f"the sample market spans 20 years either side of {REFERENCE_DAY}; {day} is outside"
            )
        rng = np.random.default_rng([seed, zlib.crc32(symbol.encode()), 2, offset + WALK_DAYS])
        price = spec.price * float(np.exp(_levels(seed, symbol)[offset + WALK_DAYS]))
        quotes, trades = _symbol_frames(spec, seed, open_ns, rng=rng, price=price)
    return quotes.drop(columns="symbol"), trades.drop(columns="symbol")


def sample_session(symbol: str, day: date, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """One symbol's sample quotes and trades on ``day`` (no ``symbol`` column; read-only, they are shared).

    None when ``day`` holds no session for it: an equity on a weekend or an NYSE holiday. Crypto and FX have
    a session every day. Each day draws from its own stream and opens where a daily random walk has taken the
    price; on 2026-03-02 the session is exactly ``sample_market()``'s. This is what the offline ``sample`` provider and the vendor fakes serve, so any
    date range has data that looks like a market, the same on every run.
    """
    from ntlab.market.calendar import is_trading_day

    if symbol not in SPECS:
        raise DataError(f"the sample market has no {symbol}; choose from {', '.join(SPECS)}")
    if SPECS[symbol].instrument.kind is AssetKind.EQUITY and not is_trading_day(day):
        return None
    return _session(int(seed), f"{day:%Y-%m-%d}", symbol)
