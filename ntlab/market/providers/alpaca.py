"""Alpaca market data: historical bars, trades and quotes over REST, and the live quote stream.

- Keys: ``APCA_API_KEY_ID`` / ``APCA_API_SECRET_KEY`` (Alpaca's own names), else the broker's
  ``BROKER_API_KEY`` / ``BROKER_SECRET_KEY``: the same account keys open the data API.
- Hosts: ``https://data.alpaca.markets`` and ``wss://stream.data.alpaca.markets/v2/{feed}``; ``data_url=`` /
  ``stream_url=`` (or ``ALPACA_DATA_URL`` / ``ALPACA_DATA_STREAM_URL``) for the local fake.
- Feed: ``iex`` (free) or ``sip`` (``ALPACA_DATA_FEED``). Stocks only; sizes are shares.
- Limits: 200 requests a minute on the free plan, held by the key's token bucket; a 429 waits until
  ``X-RateLimit-Reset`` (or ``Retry-After``) and asks for the same page again.

For the broker's pre-trade risk, ``AlpacaData.stream_quotes(symbols)`` is an async iterator of
``ntlab.core.Quote`` records from the websocket (it reconnects and resubscribes on its own), and
:class:`LatestQuotes` keeps the last one per symbol::

    data = AlpacaData()
    async with LatestQuotes(data, ["AAPL", "MSFT"]) as book:
        quote = book.last_quote("AAPL")        # None until the first quote arrives
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import orjson
import pandas as pd

from ntlab.errors import ConfigError, DataError, ProviderError
from ntlab.market.bars import Interval
from ntlab.market.keys import MarketSettings, require, secret
from ntlab.market.providers.base import (
    Kind,
    decimal,
    empty_rows,
    is_equity,
    normalise_symbols,
    rows,
)
from ntlab.market.providers.http import Answer, HttpClient, register_secret, retry_after
from ntlab.market.providers.web import HttpProvider

if TYPE_CHECKING:
    from ntlab.core import Quote

log = logging.getLogger(__name__)

DATA_URL = "https://data.alpaca.markets"
STREAM_URL = "wss://stream.data.alpaca.markets/v2/{feed}"
UNITS = {"min": "Min", "h": "Hour", "D": "Day"}


def parse_times(stamps: list[str]) -> np.ndarray:
    """RFC 3339 UTC strings (``...Z``, up to nanoseconds) as int64 ns, parsed by numpy in one go."""
    if not stamps:
        return np.empty(0, dtype="int64")
    try:
        return np.array([s[:-1] if s.endswith("Z") else s for s in stamps], dtype="datetime64[ns]").astype(
            "int64"
        )
    except ValueError:  # an offset other than Z: pandas reads those
        return np.asarray(
            pd.DatetimeIndex(pd.to_datetime(stamps, utc=True, format="ISO8601")).as_unit("ns").asi8
        )


def _rfc3339(ns: int) -> str:
    stamp = pd.Timestamp(ns, tz="UTC")
    return f"{stamp:%Y-%m-%dT%H:%M:%S}.{ns % 1_000_000_000:09d}Z"


class AlpacaData(HttpProvider):
    """Alpaca stock data. ``AlpacaData()`` reads the keys from the environment."""

    name: ClassVar[str] = "alpaca"
    key_variable: ClassVar[str] = "APCA_API_KEY_ID"

    def __init__(
        self,
        key_id: Any = None,
        secret_key: Any = None,
        *,
        data_url: str | None = None,
        stream_url: str | None = None,
        feed: str | None = None,
        requests_per_minute: float | None = 200,
        page_limit: int = 10_000,
        rate_wait: float = 3.0,
        max_wait: float = 60.0,
        retries: int = 8,
        timeout: float = 30.0,
        transport: Any = None,
        **options: Any,
    ) -> None:
        super().__init__(
            requests_per_minute=requests_per_minute,
            retries=retries,
            timeout=timeout,
            transport=transport,
            **options,
        )
        settings = MarketSettings()
        self._key_id = require(secret(key_id) or settings.alpaca_key_id, "Alpaca", "APCA_API_KEY_ID")
        self._secret = require(
            secret(secret_key) or settings.alpaca_secret_key, "Alpaca", "APCA_API_SECRET_KEY"
        )
        self.feed = feed or settings.alpaca_feed
        if self.feed not in ("iex", "sip", "delayed_sip", "test"):
            raise ConfigError(f"feed={self.feed!r}: use 'iex' (free) or 'sip'")
        self.data_url = (data_url or settings.alpaca_data_url or DATA_URL).rstrip("/")
        self.stream_url = stream_url or settings.alpaca_stream_url or STREAM_URL.format(feed=self.feed)
        self.page_limit = page_limit
        self.rate_wait = rate_wait
        self.max_wait = max_wait
        for value in (self._key_id, self._secret):
            register_secret(value.get_secret_value())

    def __repr__(self) -> str:
        return f"AlpacaData({self.data_url}, feed={self.feed!r}, key_id=***, secret_key=***)"

    def span(self, kind: Kind, interval: Interval | None) -> int:
        if kind is not Kind.BARS:
            return 1
        assert interval is not None
        return 3650 if interval.daily else 60

    def check_interval(self, interval: Interval) -> None:
        if interval.unit == "s":
            raise DataError(f"Alpaca has no {interval.label} bars; its smallest bar is 1min")

    def _session(self) -> HttpClient:
        key = self._key_id.get_secret_value()
        secret_value = self._secret.get_secret_value()
        return self._client(
            self.data_url,
            key,
            check=self._check,
            headers={"APCA-API-KEY-ID": key, "APCA-API-SECRET-KEY": secret_value},
            secrets=[key, secret_value],
            backoff=min(self.rate_wait, 1.0),
        )

    def _check(self, answer: Answer) -> float | None:
        if answer.status == 200:
            return None
        if answer.status == 429:
            reset = answer.headers.get("x-ratelimit-reset")
            wait = self.rate_wait
            if reset is not None and "retry-after" not in answer.headers:
                with contextlib.suppress(ValueError):
                    wait = min(max(float(reset) - time.time(), 0.0), 60.0) or self.rate_wait
            return min(retry_after(answer.headers, wait), self.max_wait)
        if answer.status >= 500:
            return min(self.rate_wait, 2.0)
        body = answer.json() or {}
        said = body.get("message") or answer.text(200)
        if answer.status in (401, 403) and "subscription" not in str(said):
            raise ProviderError(
                f"Alpaca refused the keys ({said}); check APCA_API_KEY_ID / APCA_API_SECRET_KEY"
            )
        if answer.status == 403:
            raise ProviderError(f"Alpaca: your data plan does not include this ({said}); try feed='iex'")
        raise ProviderError(f"Alpaca refused {answer.url.split('?')[0]} (HTTP {answer.status}: {said})")

    def _symbol(self, symbol: str) -> str:
        if not is_equity(symbol):
            raise ProviderError(
                f"AlpacaData serves stocks; {symbol} is not one (Alpaca's crypto data is another API)"
            )
        return symbol

    async def _fetch(
        self, http: Any, kind: Kind, symbol: str, start_ns: int, end_ns: int, interval: Interval | None
    ) -> pd.DataFrame:
        ticker = self._symbol(symbol)
        params: dict[str, Any] = {
            "symbols": ticker,
            "start": _rfc3339(start_ns),
            "end": _rfc3339(end_ns - 1),
            "limit": self.page_limit,
            "feed": self.feed,
            "sort": "asc",
        }
        if kind is Kind.BARS:
            assert interval is not None
            params |= {"timeframe": f"{interval.count}{UNITS[interval.unit]}", "adjustment": "raw"}
        items: list[dict[str, Any]] = []
        while True:
            answer = await http.get(f"/v2/stocks/{kind}", params)
            body = answer.json()
            if not isinstance(body, dict):
                raise ProviderError(
                    f"Alpaca answered {kind} with something that is not JSON: {answer.text(200)}"
                )
            items.extend((body.get(str(kind)) or {}).get(ticker) or [])
            token = body.get("next_page_token")
            if not token:
                break
            params["page_token"] = token
        return PARSERS[kind](items)

    async def _known(self, http: Any, symbol: str) -> bool:
        answer = await http.get(
            "/v2/stocks/quotes/latest", {"symbols": self._symbol(symbol), "feed": self.feed}
        )
        return symbol in ((answer.json() or {}).get("quotes") or {})

    async def _latest_quote(self, http: Any, symbol: str) -> Quote:
        answer = await http.get(
            "/v2/stocks/quotes/latest", {"symbols": self._symbol(symbol), "feed": self.feed}
        )
        found = ((answer.json() or {}).get("quotes") or {}).get(symbol)
        if not found:
            raise ProviderError(f"Alpaca has no quote for {symbol!r}; check the symbol")
        return quote_record(symbol, found)

    # --- the live stream -------------------------------------------------------------------------------------------
    async def stream_quotes(
        self, symbols: str | Sequence[str], *, reconnect: bool = True, max_backoff: float = 30.0
    ) -> AsyncIterator[Quote]:
        """Quotes as Alpaca streams them, as ``ntlab.core.Quote`` records, until the caller stops iterating.

        Connects, authenticates, subscribes to ``quotes`` for ``symbols``; on a dropped connection it waits
        (0.5 s doubling to ``max_backoff``), reconnects and subscribes again. Refusals that reconnecting cannot
        fix (bad keys, too many symbols or connections, a feed the plan lacks) raise ProviderError.
        """
        try:
            import websockets
        except ImportError as error:
            raise ConfigError('the Alpaca stream needs websockets: pip install "ntlab[alpaca]"') from error
        wanted = [self._symbol(s) for s in normalise_symbols(symbols)]
        backoff = 0.5
        while True:
            try:
                async with websockets.connect(
                    self.stream_url, open_timeout=self.timeout, max_size=2**24
                ) as ws:
                    await self._handshake(ws, wanted)
                    backoff = 0.5
                    async for frame in ws:
                        for message in orjson.loads(frame):
                            kind = message.get("T")
                            if kind == "q":
                                yield quote_record(message["S"], message)
                            elif kind == "error":
                                raise _stream_error(message)
            except (OSError, websockets.ConnectionClosed, TimeoutError) as error:
                if not reconnect:
                    raise ProviderError(
                        f"the Alpaca stream closed ({type(error).__name__}); reconnect=False"
                    ) from None
                log.info("Alpaca stream dropped (%s); reconnecting in %.1f s", type(error).__name__, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, max_backoff)

    async def _handshake(self, ws: Any, symbols: list[str]) -> None:
        async def expect(what: str) -> list[dict[str, Any]]:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that meets the reply
            async with asyncio.timeout(self.timeout):
                raw = await ws.recv()
            messages: list[dict[str, Any]] = orjson.loads(raw)
            for message in messages:
                if message.get("T") == "error":
                    raise _stream_error(message)
            if not any(m.get("T") == what or m.get("msg") == what for m in messages):
                raise ProviderError(f"the Alpaca stream sent {messages!r} where {what!r} was expected")
            return messages

        await expect("connected")
        auth = {
            "action": "auth",
            "key": self._key_id.get_secret_value(),
            "secret": self._secret.get_secret_value(),
        }
        await ws.send(orjson.dumps(auth).decode())
        await expect("authenticated")
        await ws.send(orjson.dumps({"action": "subscribe", "quotes": symbols}).decode())
        await expect("subscription")


def _stream_error(message: dict[str, Any]) -> ProviderError:
    code, text = message.get("code"), message.get("msg")
    hint = {
        402: "check APCA_API_KEY_ID / APCA_API_SECRET_KEY",
        405: "subscribe to fewer symbols (30 on the free plan)",
        406: "another connection with these keys is open: close it (one per key on the free plan)",
        409: "the plan does not include this feed: use feed='iex'",
    }.get(int(code) if isinstance(code, int) else -1, "see Alpaca's stream error codes")
    return ProviderError(f"the Alpaca stream refused: {text} ({code}); {hint}")


def quote_record(symbol: str, q: dict[str, Any]) -> Quote:
    from ntlab.core import Quote

    stamp = pd.Timestamp(int(parse_times([q["t"]])[0]), tz="UTC")
    return Quote(
        symbol=symbol,
        time=stamp.to_pydatetime(),
        bid=decimal(q["bp"]),
        ask=decimal(q["ap"]),
        bid_size=decimal(q.get("bs", 0)),
        ask_size=decimal(q.get("as", 0)),
    )


def parse_bars(items: list[dict[str, Any]]) -> pd.DataFrame:
    if not items:
        return empty_rows(Kind.BARS)
    return rows(
        Kind.BARS,
        parse_times([i["t"] for i in items]),
        open=[i["o"] for i in items],
        high=[i["h"] for i in items],
        low=[i["l"] for i in items],
        close=[i["c"] for i in items],
        volume=[i["v"] for i in items],
        vwap=[i.get("vw", np.nan) for i in items],
        trade_count=[i.get("n", np.nan) for i in items],
    )


def parse_trades(items: list[dict[str, Any]]) -> pd.DataFrame:
    if not items:
        return empty_rows(Kind.TRADES)
    return rows(
        Kind.TRADES,
        parse_times([i["t"] for i in items]),
        price=[i["p"] for i in items],
        size=[i["s"] for i in items],
    )


def parse_quotes(items: list[dict[str, Any]]) -> pd.DataFrame:
    if not items:
        return empty_rows(Kind.QUOTES)
    frame = rows(
        Kind.QUOTES,
        parse_times([i["t"] for i in items]),
        bid=[i.get("bp", 0.0) for i in items],
        ask=[i.get("ap", 0.0) for i in items],
        bid_size=[i.get("bs", 0.0) for i in items],
        ask_size=[i.get("as", 0.0) for i in items],
    )
    two_sided = ((frame["bid"] > 0) & (frame["ask"] > 0)).to_numpy()
    return frame if two_sided.all() else frame[two_sided].reset_index(drop=True)


PARSERS = {Kind.BARS: parse_bars, Kind.TRADES: parse_trades, Kind.QUOTES: parse_quotes}


class LatestQuotes:
    """The last streamed quote per symbol, kept by a background task: what pre-trade risk reads.

    ``async with LatestQuotes(AlpacaData(), ["AAPL"]) as book: book.last_quote("AAPL")``, or ``start()`` /
    ``stop()``. ``await book.wait_for("AAPL")`` waits (bounded) for a symbol's first quote.
    """

    def __init__(self, data: AlpacaData, symbols: str | Sequence[str]) -> None:
        self.data = data
        self.symbols = normalise_symbols(symbols)
        self._quotes: dict[str, Quote] = {}
        self._task: asyncio.Task[None] | None = None
        self._arrived = asyncio.Event()
        self.error: BaseException | None = None
        self.received = 0

    def last_quote(self, symbol: str) -> Quote | None:
        return self._quotes.get(symbol)

    async def wait_for(self, symbol: str, timeout: float = 10.0) -> Quote:
        deadline = asyncio.get_running_loop().time() + timeout
        while (quote := self._quotes.get(symbol)) is None:
            if self.error is not None:
                raise self.error
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise TimeoutError(f"no quote for {symbol} from the Alpaca stream within {timeout} s")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), left)
        return quote

    async def _run(self) -> None:
        try:
            async for quote in self.data.stream_quotes(self.symbols):
                self._quotes[quote.symbol] = quote
                self.received += 1
                self._arrived.set()
        except ProviderError as error:
            self.error = error
            self._arrived.set()
            log.error("%s", error)

    async def start(self) -> LatestQuotes:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def __aenter__(self) -> LatestQuotes:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
