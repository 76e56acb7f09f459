"""A fake of Alpaca's Market Data API v2 for stocks: historical bars, trades, quotes, latest quotes, and the stream.

REST as Alpaca serves it: ``/v2/stocks/{bars,trades,quotes}?symbols=A,B`` (and the single-symbol
``/v2/stocks/{symbol}/...``), answers keyed by symbol with one-letter fields (``t o h l c v n vw``; ``t x p s c i
z``; ``t ax ap as bx bp bs c z``), RFC 3339 times, ``limit`` (1..10000) counted over all symbols and
``next_page_token``; ``/v2/stocks/quotes/latest``. Auth by ``APCA-API-KEY-ID`` / ``APCA-API-SECRET-KEY``; errors
``{"code", "message"}`` (401, 400 invalid symbol, 422 invalid parameters, 429 with ``X-RateLimit-*`` headers).
A symbol Alpaca has no data for is simply absent from the answer.

The stream at ``/v2/{iex,sip,test}``: ``[{"T":"success","msg":"connected"}]``, then ``{"action":"auth","key",
"secret"}`` -> ``authenticated`` (or ``{"T":"error","code":402,"msg":"auth failed"}``), ``{"action":"subscribe",
"quotes":[...]}`` -> the ``subscription`` message, then batches of ``{"T":"q","S",...}`` quotes. JSON text frames,
or msgpack binary frames for a client that connects with ``Content-Type: application/msgpack`` (alpaca-py).
Errors as Alpaca numbers them: 400 invalid syntax, 401 not authenticated, 402 auth failed, 403 already
authenticated, 405 symbol limit exceeded, 406 connection limit exceeded. Quotes are replayed from the sample
market: ``await fake.publish(seconds)`` moves the stream's clock by hand; ``speed=`` replays it in real time.

    python -m ntlab.market.fakes.alpaca --port 8774
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from typing import Any, ClassVar

import numpy as np
import orjson
import pandas as pd
from aiohttp import WSMsgType, web

from ntlab.market import calendar
from ntlab.market.bars import Interval
from ntlab.market.fakes.server import FakeServer, json_response, serve_main

FAKE_KEY_ID = "FAKEDATAKEY"
FAKE_SECRET = "fake-data-secret"  # the fake's published demo credentials; not a secret
UNITS = {"Min": "min", "T": "min", "Hour": "h", "H": "h", "Day": "D", "D": "D"}
CHANNELS = ("trades", "quotes", "bars", "updatedBars", "dailyBars", "statuses", "lulds")


def rfc3339(ns: np.ndarray) -> list[str]:
    """Nanosecond UTC times as Alpaca prints them: ``2026-03-02T14:30:00.123456789Z`` (zeros trimmed)."""
    text = np.datetime_as_string(np.asarray(ns, dtype="int64").astype("datetime64[ns]"), unit="ns")
    out = []
    for t in text.tolist():
        whole, _, fraction = t.partition(".")
        fraction = fraction.rstrip("0")
        out.append(f"{whole}.{fraction}Z" if fraction else f"{whole}Z")
    return out


def _timeframe(value: str) -> Interval | None:
    for suffix, unit in UNITS.items():
        if value.endswith(suffix) and value[: -len(suffix)].isdigit():
            count = int(value[: -len(suffix)])
            limits = {"min": 59, "h": 23, "D": 1}
            if 1 <= count <= limits[unit]:
                return Interval(count, unit)
    return None


def _instant(value: str | None, *, end: bool) -> int | None:
    if not value:
        return None
    stamp = pd.Timestamp(value)
    if len(value) == 10:  # a date: its start, or for an end the start of the next day
        stamp = stamp.tz_localize("UTC") + (pd.Timedelta(days=1) if end else pd.Timedelta(0))
        return int(stamp.value) - (1 if end else 0)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return int(stamp.value)


class _Client:
    def __init__(self, ws: web.WebSocketResponse, packed: bool) -> None:
        self.ws = ws
        self.packed = packed
        self.authenticated = False
        self.subscribed: dict[str, set[str]] = {c: set() for c in CHANNELS}

    async def send(self, messages: list[dict[str, Any]]) -> None:
        if self.packed:  # msgpack frames carry times as msgpack's Timestamp extension, not as text
            import msgpack

            packed = [
                {
                    **m,
                    "t": msgpack.Timestamp.from_unix_nano(
                        int(np.datetime64(m["t"].rstrip("Z"), "ns").astype("int64"))
                    ),
                }
                if isinstance(m.get("t"), str)
                else m
                for m in messages
            ]
            await self.ws.send_bytes(msgpack.packb(packed, datetime=False))
        else:
            await self.ws.send_str(orjson.dumps(messages).decode())


class FakeAlpacaData(FakeServer):
    """``async with FakeAlpacaData() as fake:``; REST at ``fake.base_url``, the stream at ``fake.stream_url``."""

    vendor: ClassVar[str] = "alpaca"
    default_port: ClassVar[int] = 8774

    def __init__(
        self,
        *,
        key_id: str = FAKE_KEY_ID,
        secret_key: str = FAKE_SECRET,
        per_minute: int | None = 200,
        max_connections: int = 1,
        max_symbols: int = 30,
        stream_start: Any = None,
        speed: float | None = None,
        **options: Any,
    ) -> None:
        super().__init__(per_minute=per_minute, **options)
        self.keys = (key_id, secret_key)
        self.max_connections = max_connections
        self.max_symbols = max_symbols
        self.speed = speed
        self.now: pd.Timestamp | None = None
        self.stream_clock = pd.Timestamp(stream_start, tz="UTC") if stream_start is not None else None
        self._clients: set[_Client] = set()
        self._replay: asyncio.Task[None] | None = None
        self.stream_connections = 0

    @property
    def key_id(self) -> str:
        return self.keys[0]

    @property
    def secret_key(self) -> str:
        return self.keys[1]

    @property
    def stream_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v2/iex"

    def banner(self) -> list[str]:
        return [
            f"APCA_API_KEY_ID={self.key_id}  APCA_API_SECRET_KEY={self.secret_key}",
            f"ALPACA_DATA_URL={self.base_url}  ALPACA_DATA_STREAM_URL={self.stream_url}",
        ]

    def routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/v2/stocks/quotes/latest", self._latest_quotes)
        router.add_get("/v2/stocks/{kind:bars|trades|quotes}", self._history)
        router.add_get("/v2/stocks/{symbol}/{kind:bars|trades|quotes}", self._history)
        router.add_get("/v2/{feed:iex|sip|test|delayed_sip}", self._stream)

    async def start(self) -> Any:
        await super().start()
        if self.speed:
            self._replay = asyncio.get_running_loop().create_task(self._run_replay())
        return self

    async def stop(self) -> None:
        if self._replay is not None:
            self._replay.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._replay
            self._replay = None
        for client in list(self._clients):
            with contextlib.suppress(Exception):
                await client.ws.close()
        await super().stop()

    # --- REST ---------------------------------------------------------------------------------------------------------
    def key_of(self, request: web.Request) -> str:
        return request.headers.get("APCA-API-KEY-ID", "")

    def _error(
        self, status: int, code: int, message: str, headers: dict[str, str] | None = None
    ) -> web.Response:
        return json_response({"code": code, "message": message}, status, headers)

    def rate_limited(self, request: web.Request) -> web.StreamResponse:
        reset = int(pd.Timestamp.now(tz="UTC").value // 1_000_000_000) + 60
        headers = {
            "X-RateLimit-Limit": str(self.per_minute or 200),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(reset),
        }
        return self._error(429, 42910000, "rate limit exceeded", headers)

    def _unauthorized(self, request: web.Request) -> web.Response | None:
        given = (request.headers.get("APCA-API-KEY-ID"), request.headers.get("APCA-API-SECRET-KEY"))
        if given != self.keys:
            return self._error(401, 40110000, "request is not authorized")
        return None

    def _symbols(self, request: web.Request) -> list[str] | web.Response:
        one = request.match_info.get("symbol")
        text = one if one is not None else request.query.get("symbols", "")
        symbols = [s for s in text.split(",") if s]
        if not symbols:
            return self._error(400, 40010001, "symbols is required")
        for symbol in symbols:
            if not symbol.replace(".", "").replace("/", "").isalnum() or symbol != symbol.upper():
                return self._error(400, 40010001, f"invalid symbol: {symbol}")
        return sorted(set(symbols))

    async def _history(self, request: web.Request) -> web.Response:
        if (refused := self._unauthorized(request)) is not None:
            return refused
        kind = request.match_info["kind"]
        symbols = self._symbols(request)
        if isinstance(symbols, web.Response):
            return symbols
        q = request.query
        interval = None
        if kind == "bars":
            interval = _timeframe(q.get("timeframe", ""))
            if interval is None:
                return self._error(422, 42210000, f"invalid timeframe: {q.get('timeframe', '')!r}")
        try:
            limit = int(q.get("limit", 1000))
            start = _instant(q.get("start"), end=False)
            end = _instant(q.get("end"), end=True)
        except ValueError:
            return self._error(422, 42210000, "invalid start or end: use RFC 3339 or YYYY-MM-DD")
        if not 1 <= limit <= 10_000:
            return self._error(422, 42210000, "invalid limit: must be between 1 and 10000")
        if q.get("feed", "iex") not in ("iex", "sip", "otc", "delayed_sip"):
            return self._error(422, 42210000, f"invalid feed: {q.get('feed')!r}")
        now = int((self.now or pd.Timestamp.now(tz="UTC")).value)
        end = min(end if end is not None else now, now)
        start = (
            start
            if start is not None
            else int(calendar.day_start(calendar.exchange_day(pd.Timestamp(end, tz="UTC"))).value)
        )
        position = (0, 0)
        token = q.get("page_token")
        if token:
            try:
                index, offset = base64.b64decode(token.encode()).decode().split(":")
                position = (int(index), int(offset))
            except ValueError:
                return self._error(422, 42210000, "invalid page_token")
        descending = q.get("sort", "asc") == "desc"
        out: dict[str, list[dict[str, Any]]] = {}
        left = limit
        token_out = None
        for index in range(position[0], len(symbols)):
            symbol = symbols[index]
            frame = self._frame(kind, symbol, interval, start, end + 1)
            if descending:
                frame = frame.iloc[::-1].reset_index(drop=True)
            offset = position[1] if index == position[0] else 0
            page = frame.iloc[offset : offset + left]
            if len(page):
                out[symbol] = self._items(kind, page)
            left -= len(page)
            if offset + len(page) < len(frame):
                token_out = base64.b64encode(f"{index}:{offset + len(page)}".encode()).decode()
                break
            if left == 0:
                if index + 1 < len(symbols):
                    token_out = base64.b64encode(f"{index + 1}:0".encode()).decode()
                break
        body: dict[str, Any]
        if request.match_info.get("symbol"):
            body = {kind: out.get(symbols[0], []), "symbol": symbols[0], "next_page_token": token_out}
        else:
            body = {kind: out, "next_page_token": token_out}
        if kind != "trades":
            body["currency"] = "USD"
        return json_response(body)

    def _frame(self, kind: str, symbol: str, interval: Interval | None, start: int, end: int) -> pd.DataFrame:
        if kind == "bars":
            assert interval is not None
            return self.tape.bars(symbol, interval, start, end)
        return (
            self.tape.quotes(symbol, start, end) if kind == "quotes" else self.tape.trades(symbol, start, end)
        )

    def _items(self, kind: str, page: pd.DataFrame) -> list[dict[str, Any]]:
        t = rfc3339(page["time"].array.asi8)
        if kind == "bars":
            return [
                {"t": ts, "o": o, "h": h, "l": lo, "c": c, "v": _n(v), "n": int(n), "vw": round(vw, 6)}
                for ts, o, h, lo, c, v, n, vw in zip(
                    t,
                    page["open"].tolist(),
                    page["high"].tolist(),
                    page["low"].tolist(),
                    page["close"].tolist(),
                    page["volume"].tolist(),
                    page["trade_count"].tolist(),
                    page["vwap"].tolist(),
                    strict=True,
                )
            ]
        if kind == "trades":
            return [
                {"t": ts, "x": "V", "p": p, "s": _n(s), "c": ["@"], "i": 52983525029461 + i, "z": "C"}
                for i, (ts, p, s) in enumerate(
                    zip(t, page["price"].tolist(), page["size"].tolist(), strict=True)
                )
            ]
        return [
            {
                "t": ts,
                "ax": "V",
                "ap": a,
                "as": _n(as_),
                "bx": "V",
                "bp": b,
                "bs": _n(bs),
                "c": ["R"],
                "z": "C",
            }
            for ts, b, a, bs, as_ in zip(
                t,
                page["bid"].tolist(),
                page["ask"].tolist(),
                page["bid_size"].tolist(),
                page["ask_size"].tolist(),
                strict=True,
            )
        ]

    async def _latest_quotes(self, request: web.Request) -> web.Response:
        if (refused := self._unauthorized(request)) is not None:
            return refused
        symbols = self._symbols(request)
        if isinstance(symbols, web.Response):
            return symbols
        now = self.now or pd.Timestamp.now(tz="UTC")
        quotes = {}
        for symbol in symbols:
            row = self.tape.last_quote(symbol, now) if self.tape.knows(symbol) and "/" not in symbol else None
            if row is not None:
                quotes[symbol] = self._items("quotes", pd.DataFrame([row]).reset_index(drop=True))[0]
        return json_response({"quotes": quotes})

    # --- the stream ---------------------------------------------------------------------------------------------------
    async def _stream(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        self.stream_connections += 1
        client = _Client(ws, "msgpack" in request.headers.get("Content-Type", ""))
        if len(self._clients) >= self.max_connections:
            await client.send([{"T": "error", "code": 406, "msg": "connection limit exceeded"}])
            await ws.close()
            return ws
        self._clients.add(client)
        try:
            await client.send([{"T": "success", "msg": "connected"}])
            async for message in ws:
                if message.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    break
                try:
                    if message.type == WSMsgType.BINARY:
                        import msgpack

                        data = msgpack.unpackb(message.data)
                    else:
                        data = orjson.loads(message.data)
                    action = data.get("action")
                except (ValueError, AttributeError, TypeError):
                    await client.send([{"T": "error", "code": 400, "msg": "invalid syntax"}])
                    continue
                if not await self._act(client, action, data):
                    break
        finally:
            self._clients.discard(client)
        return ws

    async def _act(self, client: _Client, action: Any, data: dict[str, Any]) -> bool:
        """Handle one client message; False to close the connection."""
        if action == "auth":
            if client.authenticated:
                await client.send([{"T": "error", "code": 403, "msg": "already authenticated"}])
                return True
            if (data.get("key"), data.get("secret")) != self.keys:
                await client.send([{"T": "error", "code": 402, "msg": "auth failed"}])
                return False
            client.authenticated = True
            await client.send([{"T": "success", "msg": "authenticated"}])
            return True
        if not client.authenticated:
            await client.send([{"T": "error", "code": 401, "msg": "not authenticated"}])
            return True
        if action not in ("subscribe", "unsubscribe"):
            await client.send([{"T": "error", "code": 400, "msg": "invalid syntax"}])
            return True
        for channel in CHANNELS:
            names = set(data.get(channel) or [])
            if action == "subscribe":
                client.subscribed[channel] |= names
            else:
                client.subscribed[channel] -= names
        if sum(len(s - {"*"}) for s in client.subscribed.values()) > self.max_symbols:
            await client.send([{"T": "error", "code": 405, "msg": "symbol limit exceeded"}])
            return True
        reply: dict[str, Any] = {"T": "subscription"} | {c: sorted(client.subscribed[c]) for c in CHANNELS}
        reply["corrections"] = sorted(client.subscribed["trades"])
        reply["cancelErrors"] = sorted(client.subscribed["trades"])
        await client.send([reply])
        return True

    def _start_clock(self) -> pd.Timestamp:
        if self.stream_clock is None:
            now = self.now or pd.Timestamp.now(tz="UTC")
            day = calendar.previous_trading_days(calendar.exchange_day(now), 1)[0]
            self.stream_clock = calendar.regular_session(day)[0]
        return self.stream_clock

    async def publish(self, seconds: float = 1.0) -> int:
        """Move the stream's clock ``seconds`` on and send every quote in between to its subscribers."""
        start = self._start_clock()
        end = start + pd.Timedelta(seconds=seconds)
        sent = 0
        wanted = {s for c in self._clients if c.authenticated for s in c.subscribed["quotes"]}
        batches: dict[str, list[dict[str, Any]]] = {}
        for symbol in wanted - {"*"}:
            frame = self.tape.quotes(symbol, int(start.value) + 1, int(end.value) + 1)
            if len(frame):
                batches[symbol] = [{"T": "q", "S": symbol, **item} for item in self._items("quotes", frame)]
        self.stream_clock = end
        for client in list(self._clients):
            mine = [
                m
                for s, ms in batches.items()
                if s in client.subscribed["quotes"] or "*" in client.subscribed["quotes"]
                for m in ms
            ]
            mine.sort(key=lambda m: m["t"])
            for i in range(0, len(mine), 100):
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await client.send(mine[i : i + 100])
                    sent += len(mine[i : i + 100])
        return sent

    def drop_streams(self) -> int:
        """Cut every stream connection without a close frame, as a network failure would."""
        dropped = 0
        for client in list(self._clients):
            transport = client.ws._req.transport if client.ws._req is not None else None
            if transport is not None:
                transport.abort()
                dropped += 1
        return dropped

    async def _run_replay(self) -> None:
        assert self.speed
        while True:
            await asyncio.sleep(0.25)
            await self.publish(0.25 * self.speed)


def _n(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def main(argv: list[str] | None = None) -> None:
    serve_main(
        lambda a: FakeAlpacaData(
            seed=a.seed,
            per_minute=a.per_minute or None,
            port=a.port or FakeAlpacaData.default_port,
            speed=1.0,
        ),
        "Serve a fake Alpaca Market Data API (REST and the quote stream) on 127.0.0.1",
        argv,
    )


if __name__ == "__main__":
    main()
