"""The provider interface: bars, trades and quotes for symbols and a time range, the latest quote, a Market.

Every provider (Polygon, Alpha Vantage, Yahoo, Alpaca, the offline sample) is a :class:`DataProvider`: the
same calls, the same frames (those of :mod:`ntlab.market.frames`: UTC times, float columns, a categorical
``symbol``), the same cache. A provider only says how to fetch one symbol over a few consecutive days
(``_fetch``), how to read its latest quote, and how to tell an unknown symbol from an empty range.

What a call does:

1. the range becomes New York calendar days (equities skip weekends and NYSE holidays, which cannot hold data);
2. days already in the cache are read from it, not asked for (``refresh=True`` asks again);
3. the missing days are grouped into requests of the provider's span (Polygon quotes: one day, paginated;
   Alpha Vantage intraday: a calendar month) and fetched concurrently, each through the key's token bucket,
   with a progress bar when there are several;
4. each day's rows are stored as one partition, an empty one for a day that had nothing, so the same request
   made again is answered from disk without any network call.

Ranges: ``start``/``end`` given as dates (``"2026-03-02"``) mean whole New York days, ``end`` included; given
as times they are instants, ``end`` excluded. Naive times are UTC, as everywhere in ntlab.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from ntlab.core.instruments import AssetKind, classify_symbol
from ntlab.errors import DataError, ProviderError
from ntlab.market import calendar
from ntlab.market.bars import Interval, empty_bars, parse_interval
from ntlab.market.cache import ParquetCache
from ntlab.market.frames import BAR_COLUMNS, QUOTE_COLUMNS, TRADE_COLUMNS, Market
from ntlab.market.progress import Progress, progress_bar
from ntlab.market.providers.http import Stats
from ntlab.market.sync import run_sync

if TYPE_CHECKING:
    from ntlab.core import Quote

log = logging.getLogger(__name__)

DAY_NS = 86_400 * 1_000_000_000
SETTLE = pd.Timedelta(minutes=30)  # a day is cached once this long after it ended: late prints have arrived


class Kind(StrEnum):
    BARS = "bars"
    TRADES = "trades"
    QUOTES = "quotes"


COLUMNS = {Kind.BARS: BAR_COLUMNS, Kind.TRADES: TRADE_COLUMNS, Kind.QUOTES: QUOTE_COLUMNS}


def empty_rows(kind: Kind) -> pd.DataFrame:
    """No rows, with the columns and dtypes of ``kind`` (without ``symbol``)."""
    if kind is Kind.BARS:
        return empty_bars()[BAR_COLUMNS[1:]]
    return pd.DataFrame(
        {"time": pd.Series(dtype="datetime64[ns, UTC]")}
        | {c: pd.Series(dtype="float64") for c in COLUMNS[kind][2:]}
    )


def utc_times(ns: np.ndarray) -> pd.DatetimeIndex:
    """int64 nanoseconds since the epoch as tz-aware UTC times."""
    return pd.DatetimeIndex(np.asarray(ns, dtype="int64").astype("datetime64[ns]")).tz_localize("UTC")


def rows(kind: Kind, time_ns: np.ndarray, **columns: Sequence[float] | np.ndarray) -> pd.DataFrame:
    """A frame of ``kind`` from parsed columns, sorted by time (stable: equal times keep the vendor's order)."""
    frame = pd.DataFrame({"time": utc_times(time_ns)})
    for name in COLUMNS[kind][2:]:
        values = columns.get(name)
        frame[name] = np.full(len(frame), np.nan) if values is None else np.asarray(values, dtype="float64")
    if len(frame) > 1 and not frame["time"].is_monotonic_increasing:
        frame = frame.sort_values("time", kind="stable", ignore_index=True)
    return frame


def _is_date(value: Any) -> bool:
    if isinstance(value, datetime | pd.Timestamp):
        return False
    if isinstance(value, date):
        return True
    return isinstance(value, str) and len(value.strip()) == 10


def time_range(start: Any, end: Any = None) -> tuple[int, int]:
    """``(start_ns, end_ns)``, end excluded: dates are whole New York days (``end`` included), times instants."""
    try:
        if _is_date(start):
            first = pd.Timestamp(start).date()
            start_ns = int(calendar.day_start(first).value)
        else:
            stamp = pd.Timestamp(start)
            start_ns = int((stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp).as_unit("ns").value)
        if end is None:
            if not _is_date(start):
                raise DataError(
                    f"give an end for the range starting at {start}; only a date stands for itself"
                )
            end = start
        if _is_date(end):
            last = pd.Timestamp(end).date()
            end_ns = int(calendar.day_start(last + timedelta(days=1)).value)
        else:
            stamp = pd.Timestamp(end)
            end_ns = int((stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp).as_unit("ns").value)
    except (ValueError, TypeError) as error:
        raise DataError(f"cannot read the range {start!r} to {end!r} as dates or times ({error})") from None
    if end_ns <= start_ns:
        raise DataError(f"the range {start} to {end} is empty: its end is not after its start")
    return start_ns, end_ns


def normalise_symbols(symbols: str | Sequence[str]) -> list[str]:
    chosen = [symbols] if isinstance(symbols, str) else list(symbols)
    cleaned = list(dict.fromkeys(s.strip().upper() for s in chosen if s and s.strip()))
    if not cleaned:
        raise DataError("ask for at least one symbol")
    return cleaned


def is_equity(symbol: str) -> bool:
    return classify_symbol(symbol) is AssetKind.EQUITY


@dataclass(frozen=True, slots=True)
class Chunk:
    """One request's worth: one symbol over consecutive days (from the first day's start to the last's end)."""

    symbol: str
    days: tuple[date, ...]

    @property
    def start_ns(self) -> int:
        return int(calendar.day_start(self.days[0]).value)

    @property
    def end_ns(self) -> int:
        return int(calendar.day_start(self.days[-1] + timedelta(days=1)).value)


@dataclass(slots=True)
class Plan:
    """What one call needs: the days per symbol, which of them to fetch, and the fetched rows kept in memory."""

    kind: Kind
    interval: Interval | None
    symbols: list[str]
    start_ns: int
    end_ns: int
    days: dict[str, list[date]]
    chunks: list[Chunk]
    cacheable: set[date]
    memory: dict[tuple[str, date], pd.DataFrame] = field(default_factory=dict)

    @property
    def folder(self) -> str:
        """The cache's name for this kind: ``quotes``, ``trades``, ``bars-5min``."""
        return f"bars-{self.interval.label}" if self.interval is not None else str(self.kind)


class DataProvider:
    """Market data from one source, cached. Subclasses implement ``_fetch`` and, where they can, the rest.

    - ``cache``: ``True`` (default) for the shared folder (``NTLAB_CACHE_DIR``), a path or a
      :class:`~ntlab.market.cache.ParquetCache` for another, ``None``/``False`` to keep nothing.
    - ``refresh=True``: fetch again what the cache holds (per call: ``bars(..., refresh=True)``).
    - ``progress``: a bar while several requests run (tqdm; a widget in notebooks).
    - ``now``: the present, for what counts as a finished (cacheable) day; defaults to the wall clock.
    """

    name: ClassVar[str] = "provider"
    serves: ClassVar[frozenset[Kind]] = frozenset(Kind)
    concurrency: ClassVar[int] = 4
    key_variable: ClassVar[str] = ""

    def __init__(
        self,
        *,
        cache: ParquetCache | str | Path | bool | None = True,
        refresh: bool = False,
        progress: bool = True,
        now: Any = None,
    ) -> None:
        if cache is True:
            from ntlab.market.keys import MarketSettings

            settings = MarketSettings()
            cache = ParquetCache(settings.cache_dir, max_bytes=int(settings.cache_max_gb * 1024**3))
        elif isinstance(cache, str | Path):
            cache = ParquetCache(cache)
        self.cache: ParquetCache | None = cache or None
        self.refresh = refresh
        self.progress = progress
        self._now = None if now is None else pd.Timestamp(now)
        self.stats = Stats()

    def __repr__(self) -> str:
        where = self.cache.root if self.cache is not None else "no cache"
        return f"{type(self).__name__}({where})"

    def now(self) -> pd.Timestamp:
        if self._now is not None:
            return self._now if self._now.tzinfo else self._now.tz_localize("UTC")
        return pd.Timestamp.now(tz="UTC")

    # --- what subclasses provide ---------------------------------------------------------------------------------
    def span(self, kind: Kind, interval: Interval | None) -> int:
        """Most days one request covers (pagination happens inside a request)."""
        return 1 if kind is not Kind.BARS else 30

    def check_interval(self, interval: Interval) -> None:
        """Refuse a bar size the provider cannot serve (a DataError naming those it can)."""

    def same_request(self, first: date, day: date) -> bool:
        """Whether ``day`` may join a request that starts on ``first`` (Alpha Vantage: the same month)."""
        return True

    def chunk(
        self, interval: Interval | None, kind: Kind, missing: list[date], days: list[date]
    ) -> list[list[date]]:
        """Missing days as requests: runs of days with no cached day between them, within ``span`` calendar days."""
        limit = self.span(kind, interval)
        position = {d: i for i, d in enumerate(days)}
        groups: list[list[date]] = []
        for day in missing:
            if (
                groups
                and position[day] == position[groups[-1][-1]] + 1
                and (day - groups[-1][0]).days < limit
                and self.same_request(groups[-1][0], day)
            ):
                groups[-1].append(day)
            else:
                groups.append([day])
        return groups

    async def _fetch(
        self, http: Any, kind: Kind, symbol: str, start_ns: int, end_ns: int, interval: Interval | None
    ) -> pd.DataFrame:
        """Rows of ``kind`` for ``symbol`` in ``[start_ns, end_ns)`` (columns of ``empty_rows(kind)``)."""
        raise NotImplementedError

    async def _latest_quote(self, http: Any, symbol: str) -> Quote:
        raise ProviderError(f"{self.name} has no quotes; use polygon or alpaca for bid and ask")

    async def _known(self, http: Any, symbol: str) -> bool:
        """After a range came back empty: does the provider know ``symbol`` at all? (True when it cannot tell.)"""
        return True

    def _session(self) -> Any:
        """The HTTP client (an async context manager) for one call; ``None`` for providers without one."""
        return _NoSession()

    def vendor_symbol(self, symbol: str) -> str:
        """How the vendor spells ``symbol``."""
        return symbol

    # --- the public calls ---------------------------------------------------------------------------------------------
    async def abars(
        self,
        symbols: str | Sequence[str],
        start: Any,
        end: Any = None,
        interval: str = "1min",
        **options: Any,
    ) -> pd.DataFrame:
        """OHLCV bars (``symbol, time, open, high, low, close, volume, vwap, trade_count``), ``time`` the bar start."""
        return await self._aframe(Kind.BARS, symbols, start, end, interval, **options)

    def bars(
        self,
        symbols: str | Sequence[str],
        start: Any,
        end: Any = None,
        interval: str = "1min",
        **options: Any,
    ) -> pd.DataFrame:
        return self._frame(Kind.BARS, symbols, start, end, interval, **options)

    async def atrades(
        self, symbols: str | Sequence[str], start: Any, end: Any = None, **options: Any
    ) -> pd.DataFrame:
        """Trades (``symbol, time, price, size``)."""
        return await self._aframe(Kind.TRADES, symbols, start, end, None, **options)

    def trades(
        self, symbols: str | Sequence[str], start: Any, end: Any = None, **options: Any
    ) -> pd.DataFrame:
        return self._frame(Kind.TRADES, symbols, start, end, None, **options)

    async def aquotes(
        self, symbols: str | Sequence[str], start: Any, end: Any = None, **options: Any
    ) -> pd.DataFrame:
        """Top-of-book quotes (``symbol, time, bid, ask, bid_size, ask_size``); one-sided quotes are left out."""
        return await self._aframe(Kind.QUOTES, symbols, start, end, None, **options)

    def quotes(
        self, symbols: str | Sequence[str], start: Any, end: Any = None, **options: Any
    ) -> pd.DataFrame:
        return self._frame(Kind.QUOTES, symbols, start, end, None, **options)

    async def alatest_quote(self, symbol: str) -> Quote:
        """The provider's latest quote for ``symbol`` (never cached), as an ``ntlab.core.Quote``."""
        async with self._session() as http:
            return await self._latest_quote(http, normalise_symbols(symbol)[0])

    def latest_quote(self, symbol: str) -> Quote:
        return run_sync(lambda: self.alatest_quote(symbol))

    async def amarket(
        self,
        symbols: str | Sequence[str],
        start: Any,
        end: Any = None,
        *,
        trades: bool = True,
        extended_hours: bool = False,
        refresh: bool | None = None,
    ) -> Market:
        """A :class:`Market` (quotes, and trades when the provider has them) for the paper venue and TCA."""
        quotes = await self.aquotes(symbols, start, end, refresh=refresh)
        tape = (
            await self.atrades(symbols, start, end, refresh=refresh)
            if trades and Kind.TRADES in self.serves
            else None
        )
        return self.market_from(normalise_symbols(symbols), quotes, tape, extended_hours, start, end)

    def market(
        self,
        symbols: str | Sequence[str],
        start: Any,
        end: Any = None,
        *,
        trades: bool = True,
        extended_hours: bool = False,
        refresh: bool | None = None,
    ) -> Market:
        quotes = self.quotes(symbols, start, end, refresh=refresh)
        tape = (
            self.trades(symbols, start, end, refresh=refresh)
            if trades and Kind.TRADES in self.serves
            else None
        )
        return self.market_from(normalise_symbols(symbols), quotes, tape, extended_hours, start, end)

    # --- the machinery ------------------------------------------------------------------------------------------------
    def _frame(
        self, kind: Kind, symbols: Any, start: Any, end: Any, interval: str | None, **options: Any
    ) -> pd.DataFrame:
        plan = self._plan(kind, symbols, start, end, interval, **options)
        if plan.chunks:
            bar = progress_bar(len(plan.chunks), f"{self.name} {plan.folder}", self.progress)
            try:
                run_sync(lambda: self._download(plan, bar))
            finally:
                if bar is not None:
                    bar.close()
        return self._assemble(plan)

    async def _aframe(
        self, kind: Kind, symbols: Any, start: Any, end: Any, interval: str | None, **options: Any
    ) -> pd.DataFrame:
        plan = self._plan(kind, symbols, start, end, interval, **options)
        if plan.chunks:
            bar = progress_bar(len(plan.chunks), f"{self.name} {plan.folder}", self.progress)
            try:
                await self._download(plan, bar)
            finally:
                if bar is not None:
                    bar.close()
        return self._assemble(plan)

    def _plan(
        self,
        kind: Kind,
        symbols: Any,
        start: Any,
        end: Any,
        interval: str | None,
        *,
        refresh: bool | None = None,
    ) -> Plan:
        if kind not in self.serves:
            raise ProviderError(
                f"{self.name} has no {kind}; it serves {', '.join(sorted(self.serves))}"
                + ("" if kind is Kind.BARS else ": use polygon or alpaca for trades and quotes")
            )
        size = parse_interval(interval) if kind is Kind.BARS and interval is not None else None
        if size is not None:
            self.check_interval(size)
        chosen = normalise_symbols(symbols)
        start_ns, end_ns = time_range(start, end)
        first = calendar.exchange_day(pd.Timestamp(start_ns, tz="UTC"))
        last = calendar.exchange_day(pd.Timestamp(end_ns - 1, tz="UTC"))
        span = calendar.days_between(first, last)
        now = self.now()
        cacheable = {d for d in span if calendar.day_start(d + timedelta(days=1)) + SETTLE <= now}
        plan = Plan(kind, size, chosen, start_ns, end_ns, {}, [], cacheable)
        again = self.refresh if refresh is None else refresh
        for symbol in chosen:
            days = [d for d in span if not is_equity(symbol) or calendar.is_trading_day(d)]
            plan.days[symbol] = days
            missing = [
                d
                for d in days
                if again
                or self.cache is None
                or d not in cacheable
                or not self.cache.has(self.name, plan.folder, symbol, d)
            ]
            plan.chunks += [Chunk(symbol, tuple(group)) for group in self.chunk(size, kind, missing, days)]
        return plan

    async def _download(self, plan: Plan, bar: Progress | None) -> None:
        gate = asyncio.Semaphore(self.concurrency)
        fetched = dict.fromkeys(plan.symbols, 0)
        held: dict[str, list[date]] = {s: [] for s in plan.symbols}
        done = {"rows": 0}
        async with self._session() as http:

            async def one(chunk: Chunk) -> None:
                start, end = chunk.start_ns, chunk.end_ns
                if self.cache is None or not plan.cacheable.issuperset(chunk.days):
                    start, end = max(start, plan.start_ns), min(end, plan.end_ns)  # nothing to keep: ask less
                async with gate:
                    found = await self._fetch(http, plan.kind, chunk.symbol, start, end, plan.interval)
                fetched[chunk.symbol] += len(found)
                for day, part in _by_day(found, chunk.days):
                    if part.empty and fetched[chunk.symbol] == 0:
                        held[chunk.symbol].append(day)  # kept back until we know the symbol exists
                        plan.memory[(chunk.symbol, day)] = part
                    else:
                        self._keep(plan, chunk.symbol, day, part)
                done["rows"] += len(found)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix_str(f"{done['rows']:,} rows", refresh=False)

            await asyncio.gather(*(one(c) for c in plan.chunks))
            for symbol in plan.symbols:
                if not held[symbol]:
                    continue
                if fetched[symbol] == 0 and not await self._known(http, symbol):
                    raise ProviderError(
                        f"{self.name} does not know the symbol {symbol!r} "
                        f"(asked as {self.vendor_symbol(symbol)!r}); check its spelling"
                    )
                for day in held[symbol]:
                    self._keep(plan, symbol, day, plan.memory[(symbol, day)])

    def _keep(self, plan: Plan, symbol: str, day: date, part: pd.DataFrame) -> None:
        plan.memory[(symbol, day)] = part
        if self.cache is not None and day in plan.cacheable:
            self.cache.write(self.name, plan.folder, symbol, day, part)

    def _assemble(self, plan: Plan) -> pd.DataFrame:
        parts: list[pd.DataFrame] = []
        labels: list[str] = []
        for symbol in plan.symbols:
            for day in plan.days[symbol]:
                part = plan.memory.get((symbol, day))
                if part is None:
                    assert self.cache is not None  # planned as cached
                    part = self.cache.read(self.name, plan.folder, symbol, day)
                if len(part):
                    parts.append(part)
                    labels.append(symbol)
        columns = COLUMNS[plan.kind]
        if not parts:
            frame = empty_rows(plan.kind)
            frame.insert(0, "symbol", pd.Categorical([], categories=plan.symbols))
            return frame[columns]
        frame = pd.concat(parts, ignore_index=True)
        frame.insert(
            0,
            "symbol",
            pd.Categorical(np.repeat(labels, [len(p) for p in parts]), categories=plan.symbols),
        )
        ns = pd.DatetimeIndex(frame["time"]).as_unit("ns").asi8
        keep = (ns >= plan.start_ns) & (ns < plan.end_ns)
        if not keep.all():
            frame = frame[keep].reset_index(drop=True)
        return frame[columns]

    def market_from(
        self,
        symbols: list[str],
        quotes: pd.DataFrame,
        trades: pd.DataFrame | None,
        extended_hours: bool,
        start: Any,
        end: Any,
    ) -> Market:
        """A Market of frames this provider returned: crossed quotes out, every symbol quoted, sessions set."""
        if not extended_hours:
            quotes = regular_hours(quotes)
            trades = regular_hours(trades) if trades is not None else None
        crossed = (quotes["bid"] > quotes["ask"]).to_numpy()
        if crossed.any():
            log.info("%s: %d crossed quotes left out of the market", self.name, int(crossed.sum()))
            quotes = quotes[~crossed].reset_index(drop=True)
        counts = quotes["symbol"].value_counts()
        bare = [s for s in symbols if counts.get(s, 0) == 0]
        if bare:
            raise DataError(
                f"{self.name} has no quotes for {', '.join(bare)} from {start} to {end}"
                + ("" if extended_hours else " in regular hours")
                + " (a weekend or holiday? the plan's data window?)"
            )
        if trades is not None:
            trades = trades.copy()
            trades["symbol"] = trades["symbol"].cat.set_categories(symbols)
        quotes["symbol"] = quotes["symbol"].cat.set_categories(symbols)
        session_open = session_close = None
        if not extended_hours and all(is_equity(s) for s in symbols):
            days = pd.DatetimeIndex(quotes["time"]).tz_convert(calendar.EXCHANGE_TZ)
            session_open = calendar.regular_session(days.min().date())[0]
            session_close = calendar.regular_session(days.max().date())[1]
        return Market(quotes, trades, None, session_open, session_close, source=self)


def regular_hours(frame: pd.DataFrame) -> pd.DataFrame:
    """Equity rows within 09:30–16:00 New York (crypto and FX rows are all kept)."""
    if frame.empty:
        return frame
    local = pd.DatetimeIndex(frame["time"]).tz_convert(calendar.EXCHANGE_TZ)
    minutes = local.hour * 60 + local.minute
    inside = (minutes >= 9 * 60 + 30) & (minutes < 16 * 60)
    equity = frame["symbol"].map(lambda s: is_equity(str(s))).to_numpy(dtype=bool)
    keep = inside | ~equity
    return frame if keep.all() else frame[keep].reset_index(drop=True)


def _by_day(found: pd.DataFrame, days: tuple[date, ...]) -> list[tuple[date, pd.DataFrame]]:
    """Each wanted day's rows (an empty frame for a day without any)."""
    if found.empty:
        return [(day, found) for day in days]
    ns = pd.DatetimeIndex(found["time"]).as_unit("ns").asi8
    out = []
    for day in days:
        lo = int(calendar.day_start(day).value)
        hi = int(calendar.day_start(day + timedelta(days=1)).value)
        a, b = np.searchsorted(ns, [lo, hi])
        out.append((day, found.iloc[a:b].reset_index(drop=True)))
    return out


def decimal(value: float | int | str) -> Decimal:
    """A vendor's JSON number as the Decimal it printed (``190.07``, not ``190.069999...``; ``400``, not ``400.0``)."""
    if isinstance(value, float):
        return Decimal(int(value)) if value.is_integer() else Decimal(repr(value))
    return Decimal(value)


class _NoSession:
    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc: object) -> None:
        return None
