"""A faithful local fake of Alpaca's Trading API v2 and its trade_updates stream, served on 127.0.0.1.

Same paths, JSON field names, status spellings, error bodies and codes, rate-limit headers and stream
handshake as Alpaca, so the adapter is tested against real HTTP and websocket traffic and people without
keys can try it. Fills come from the fake's own clock: tests step it (``await fake.advance(1)``), users run
it in real time (``python -m ntlab.brokers.alpaca.fake --port 8765``). Faults are injected through
``fake.faults`` (see ``fake_faults``).

The websocket lives in ``fake_stream``, the account in ``fake_book``, the fault plan in ``fake_faults``.
Built on aiohttp.web: one package serves HTTP and websockets, its C parser keeps the server cheap next to the
client on a small machine, and it exposes the raw transport so a fault can reset a connection mid-request.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import math
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from ntlab.brokers.alpaca.fake_book import BookError, FakeBook, iso, num
from ntlab.brokers.alpaca.fake_faults import Faults
from ntlab.brokers.alpaca.fake_feed import MarketFeed, QuoteFeed, SyntheticFeed, default_feed
from ntlab.brokers.alpaca.fake_stream import FakeStream

log = logging.getLogger(__name__)

FAKE_KEY_ID = "FAKEPAPERKEY"
FAKE_SECRET = "fake-paper-secret"  # not a secret: the fake's published demo credentials


def _dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"))


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class FakeAlpaca:
    """The fake server. ``async with FakeAlpaca() as fake:`` serves on a free port of 127.0.0.1.

    ``base_url`` (REST) and ``stream_url`` (websocket) are what an adapter is pointed at. ``clock="manual"``
    moves time only when told (tests); ``clock="realtime"`` steps it at ``speed`` x wall time (users).
    ``rate_limit`` is requests per minute per key, as Alpaca enforces (None: unlimited, for benchmarks).
    """

    def __init__(
        self,
        *,
        feed: QuoteFeed | None = None,
        market: Any = None,
        clock: str = "manual",
        speed: float = 1.0,
        tick: float = 0.05,
        rate_limit: int | None = 200,
        key_id: str = FAKE_KEY_ID,
        secret_key: str = FAKE_SECRET,
        cash: float = 100_000,
        binary_frames: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the fake serves on loopback only")
        if feed is None:
            feed = MarketFeed(market) if market is not None else default_feed()
        start = getattr(feed, "start", None)
        self.book = FakeBook(feed=feed, cash=_decimal(cash))
        if isinstance(start, datetime):
            self.book.now = start
        end = getattr(feed, "end", None)
        if isinstance(end, datetime):
            self.book.session_end = end
        self.faults = Faults()
        self.stream = FakeStream((key_id, secret_key), self.faults, binary_frames=binary_frames)
        self.book.listeners.append(self.stream.broadcast)
        self.clock_mode = clock
        self.speed = speed
        self.tick = tick
        self.rate_limit = rate_limit
        self._keys = (key_id, secret_key)
        self._host, self._port = host, port
        self._window: dict[str, tuple[int, int]] = {}
        self._runner: web.AppRunner | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._stalls: set[asyncio.Task[Any]] = set()
        self.requests = 0
        # Fields to change in an asset's JSON, by symbol: {"GME": {"easy_to_borrow": False}} makes it hard to
        # borrow (borrow_status follows), {"XYZ": {"shortable": False}} not shortable at all.
        self.asset_overrides: dict[str, dict[str, Any]] = {}

    # --- lifecycle ----------------------------------------------------------------------------------------
    async def start(self) -> FakeAlpaca:
        app = web.Application(middlewares=[self._middleware])
        r = app.router
        r.add_post("/v2/orders", self._submit)
        r.add_get("/v2/orders", self._list)
        r.add_delete("/v2/orders", self._cancel_all)
        r.add_get("/v2/orders:by_client_order_id", self._by_client_id)
        r.add_get("/v2/orders/{order_id}", self._get)
        r.add_patch("/v2/orders/{order_id}", self._replace)
        r.add_delete("/v2/orders/{order_id}", self._cancel)
        r.add_get("/v2/account", self._account)
        r.add_get("/v2/positions", self._positions)
        r.add_get("/v2/positions/{symbol}", self._position)
        r.add_get("/v2/account/activities/FILL", self._fills)
        r.add_get("/v2/account/activities", self._activities)
        r.add_get("/v2/clock", self._clock)
        r.add_get("/v2/stocks/{symbol}/quotes/latest", self._latest_quote)
        r.add_get("/v2/assets/{symbol_or_asset_id:.+}", self._asset)
        r.add_get("/stream", self.stream.handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port, backlog=1024)
        await site.start()
        self._port = int(self._runner.addresses[0][1])
        if self.clock_mode == "realtime":
            self._ticker = asyncio.get_running_loop().create_task(self._run_clock())
        return self

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        for task in list(self._stalls):
            task.cancel()
        await self.stream.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeAlpaca:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self._port}"

    @property
    def stream_url(self) -> str:
        return f"ws://{self._host}:{self._port}/stream"

    @property
    def key_id(self) -> str:
        return self._keys[0]

    @property
    def secret_key(self) -> str:
        return self._keys[1]

    # --- time ---------------------------------------------------------------------------------------------------
    async def advance(self, seconds: float = 1.0) -> None:
        """Step the simulated clock; orders meet the market each second and events go out."""
        self.book.advance(seconds)
        await asyncio.sleep(0)

    async def match(self) -> None:
        """Let open orders meet the market at the current time without moving the clock."""
        self.book.match()
        await asyncio.sleep(0)

    async def _run_clock(self) -> None:
        last = time.monotonic()
        carry = 0.0
        while True:
            await asyncio.sleep(self.tick)
            now = time.monotonic()
            carry += (now - last) * self.speed
            last = now
            self.book.now += timedelta(seconds=carry)
            carry = 0.0
            self.book.match()

    # --- invariant helpers ------------------------------------------------------------------------------
    def accepted_client_ids(self) -> list[str]:
        return self.book.accepted_client_ids()

    def fills(self) -> list[dict[str, Any]]:
        return self.book.fills()

    def positions(self) -> dict[str, Any]:
        return self.book.position_quantities()

    def drop_streams(self) -> int:
        """Cut every stream connection without a close frame, as a network failure would."""
        return self.stream.drop()

    @property
    def stream_connections(self) -> int:
        return self.stream.connections

    @property
    def sent_events(self) -> Any:
        return self.stream.sent_events

    # --- HTTP plumbing --------------------------------------------------------------------------------------
    def _error(self, status: int, code: int, message: str, **extra: Any) -> web.Response:
        return web.json_response({"code": code, "message": message, **extra}, status=status, dumps=_dumps)

    def _rate_headers(self, key: str) -> tuple[dict[str, str], bool]:
        """X-Ratelimit-* for this key's current minute; True when the budget is spent."""
        now = time.time()
        window = int(now // 60)
        start, used = self._window.get(key, (window, 0))
        if start != window:
            start, used = window, 0
        used += 1
        self._window[key] = (start, used)
        limit = self.rate_limit if self.rate_limit is not None else 1_000_000
        headers = {
            "X-Ratelimit-Limit": str(limit),
            "X-Ratelimit-Remaining": str(max(limit - used, 0)),
            "X-Ratelimit-Reset": str((window + 1) * 60),
        }
        return headers, self.rate_limit is not None and used > limit

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests += 1
        if request.path == "/stream":
            return await handler(request)  # type: ignore[no-any-return]
        key = request.headers.get("APCA-API-KEY-ID")
        secret = request.headers.get("APCA-API-SECRET-KEY")
        if (key, secret) != self._keys:
            return self._error(401, 40110000, "request is not authorized")
        headers, exhausted = self._rate_headers(key or "")
        fault = self.faults.take(request.method, request.path)
        if fault is not None and fault.kind == "rate_limit":
            exhausted = True
        if exhausted:
            response = self._error(429, 42910000, "rate limit exceeded")
            response.headers.update(headers)
            response.headers["X-Ratelimit-Remaining"] = "0"
            if fault is not None and fault.retry_after is not None:
                response.headers["Retry-After"] = str(math.ceil(fault.retry_after))
            return response
        if fault is not None and not fault.after_processing:
            if fault.kind == "status":
                return self._error(fault.status, 50010000, "internal server error")
            if fault.kind == "reset":
                return await self._reset(request)
        response = await handler(request)
        if fault is not None and fault.after_processing:
            if fault.kind == "status":
                return self._error(fault.status, 50010000, "internal server error")
            if fault.kind == "reset":
                return await self._reset(request)
            if fault.kind == "stall":
                task = asyncio.current_task()
                assert task is not None
                self._stalls.add(task)
                try:
                    await asyncio.sleep(fault.seconds)
                finally:
                    self._stalls.discard(task)
        response.headers.update(headers)
        return response  # type: ignore[no-any-return]

    async def _reset(self, request: web.Request) -> web.StreamResponse:
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=500)  # never written: the connection is gone

    @staticmethod
    def _ok(data: Any, status: int = 200) -> web.Response:
        return web.Response(text=_dumps(data), status=status, content_type="application/json")

    async def _body(self, request: web.Request) -> dict[str, Any]:
        try:
            data = await request.json()
        except (ValueError, UnicodeDecodeError):
            raise BookError(400, 40010000, "request body format is invalid") from None
        if not isinstance(data, dict):
            raise BookError(400, 40010000, "request body format is invalid")
        return data

    async def _guard(self, action: Any) -> web.Response:
        try:
            return await action()  # type: ignore[no-any-return]
        except BookError as error:
            return web.Response(text=_dumps(error.body), status=error.status, content_type="application/json")

    # --- orders -----------------------------------------------------------------------------------------
    async def _submit(self, request: web.Request) -> web.Response:
        async def act() -> web.Response:
            order = self.book.submit(await self._body(request))
            return self._ok(order.to_json())

        return await self._guard(act)

    async def _get(self, request: web.Request) -> web.Response:
        async def act() -> web.Response:
            return self._ok(self.book.get(request.match_info["order_id"]).to_json())

        return await self._guard(act)

    async def _by_client_id(self, request: web.Request) -> web.Response:
        async def act() -> web.Response:
            client_id = request.query.get("client_order_id", "")
            return self._ok(self.book.get_by_client_id(client_id).to_json())

        return await self._guard(act)

    async def _list(self, request: web.Request) -> web.Response:
        async def act() -> web.Response:
            q = request.query
            status = q.get("status", "open")
            if status not in ("open", "closed", "all"):
                raise BookError(422, 40010001, "invalid status")
            try:
                limit = int(q.get("limit", "50"))
            except ValueError:
                raise BookError(422, 40010001, "invalid limit") from None
            if not 1 <= limit <= 500:
                raise BookError(422, 40010001, "limit must be between 1 and 500")
            symbols = q.get("symbols")
            orders = self.book.list_orders(
                status,
                limit=limit,
                after=_parse_time(q.get("after")),
                until=_parse_time(q.get("until")),
                direction=q.get("direction", "desc"),
                symbols=symbols.split(",") if symbols else None,
            )
            return self._ok([o.to_json() for o in orders])

        return await self._guard(act)

    async def _cancel(self, request: web.Request) -> web.Response:
        async def act() -> web.Response:
            self.book.cancel(request.match_info["order_id"])
            return web.Response(status=204)

        return await self._guard(act)

    async def _cancel_all(self, request: web.Request) -> web.Response:
        results = []
        for order in list(self.book.orders.values()):
            if not order.open:
                continue
            try:
                self.book.cancel(order.id)
                results.append({"id": order.id, "status": 200, "body": order.to_json()})
            except BookError as error:
                results.append({"id": order.id, "status": error.status, "body": error.body})
        return self._ok(results, status=207)

    async def _replace(self, request: web.Request) -> web.Response:
        async def act() -> web.Response:
            new = self.book.replace(request.match_info["order_id"], await self._body(request))
            return self._ok(new.to_json())

        return await self._guard(act)

    # --- account ---------------------------------------------------------------------------------------
    async def _account(self, request: web.Request) -> web.Response:
        book = self.book
        long_value = sum(
            (p.qty * self._mid(p.symbol) for p in book.positions.values() if p.qty > 0), start=_decimal(0)
        )
        short_value = sum(
            (p.qty * self._mid(p.symbol) for p in book.positions.values() if p.qty < 0), start=_decimal(0)
        )
        equity = (book.cash + long_value + short_value).quantize(_decimal("0.01"))
        return self._ok(
            {
                "id": book.account_id,
                "account_number": "PA3FAKE00001",
                "status": "ACTIVE",
                "crypto_status": "ACTIVE",
                "currency": "USD",
                "buying_power": num(book.buying_power()),
                "regt_buying_power": num(book.buying_power()),
                "non_marginable_buying_power": num(book.buying_power()),
                "cash": num(book.cash.quantize(_decimal("0.01"))),
                "portfolio_value": num(equity),
                "equity": num(equity),
                "last_equity": num(equity),
                "long_market_value": num(long_value.quantize(_decimal("0.01"))),
                "short_market_value": num(short_value.quantize(_decimal("0.01"))),
                "initial_margin": "0",
                "maintenance_margin": "0",
                "multiplier": "1",
                "accrued_fees": "0",
                "pending_transfer_in": "0",
                "pattern_day_trader": False,
                "trading_blocked": False,
                "transfers_blocked": False,
                "account_blocked": False,
                "trade_suspended_by_user": False,
                "shorting_enabled": book.shorting_enabled,
                "created_at": iso(book.now - timedelta(days=30)),
            }
        )

    def _mid(self, symbol: str) -> Any:
        quote = self.book.feed.quote(symbol, self.book.now)
        return (quote[0] + quote[1]) / 2 if quote else _decimal(0)

    def _position_json(self, symbol: str) -> dict[str, Any]:
        pos = self.book.positions[symbol]
        price = self._mid(symbol)
        value = pos.qty * price
        return {
            "asset_id": "",
            "symbol": symbol,
            "exchange": "CRYPTO" if "/" in symbol else "NASDAQ",
            "asset_class": "crypto" if "/" in symbol else "us_equity",
            "asset_marginable": True,
            "qty": num(pos.qty),
            "qty_available": num(pos.qty),
            "avg_entry_price": num(pos.avg_entry_price.quantize(_decimal("0.0001"))),
            "side": "long" if pos.qty > 0 else "short",
            "market_value": num(value.quantize(_decimal("0.01"))),
            "cost_basis": num(pos.cost.quantize(_decimal("0.01"))),
            "unrealized_pl": num((value - pos.cost).quantize(_decimal("0.01"))),
            "current_price": num(price.quantize(_decimal("0.0001"))),
        }

    async def _positions(self, request: web.Request) -> web.Response:
        return self._ok([self._position_json(s) for s, p in self.book.positions.items() if p.qty])

    async def _position(self, request: web.Request) -> web.Response:
        symbol = request.match_info["symbol"]
        held = self.book.positions.get(symbol)
        if held is None or not held.qty:
            return self._error(404, 40410000, "position does not exist")
        return self._ok(self._position_json(symbol))

    async def _fills(self, request: web.Request) -> web.Response:
        q = request.query
        rows = self.book.fill_activities(
            after=_parse_time(q.get("after")),
            until=_parse_time(q.get("until")),
            direction=q.get("direction", "desc"),
        )
        token = q.get("page_token")
        if token:
            ids = [r["id"] for r in rows]
            rows = rows[ids.index(token) + 1 :] if token in ids else []
        size = min(int(q.get("page_size", "100")), 100)
        return self._ok([{k: v for k, v in r.items() if not k.startswith("_")} for r in rows[:size]])

    async def _activities(self, request: web.Request) -> web.Response:
        kinds = request.query.get("activity_types", "")
        if kinds and "FILL" not in kinds.split(","):
            return self._ok([])
        return await self._fills(request)

    async def _clock(self, request: web.Request) -> web.Response:
        now = self.book.now
        close = self.book.session_end or now.replace(hour=21, minute=0, second=0, microsecond=0)
        return self._ok(
            {
                "timestamp": iso(now),
                "is_open": now < close,
                "next_open": iso(now + timedelta(days=1)),
                "next_close": iso(close),
            }
        )

    async def _latest_quote(self, request: web.Request) -> web.Response:
        symbol = request.match_info["symbol"]
        quote = self.book.feed.quote(symbol, self.book.now)
        if quote is None:
            return self._error(404, 40410000, "not found")
        bid, ask, bid_size, ask_size = quote
        return self._ok(
            {
                "symbol": symbol,
                "quote": {
                    "t": iso(self.book.now),
                    "ap": float(ask),
                    "as": float(ask_size),
                    "ax": "Q",
                    "bp": float(bid),
                    "bs": float(bid_size),
                    "bx": "Q",
                    "c": ["R"],
                    "z": "C",
                },
            }
        )

    async def _asset(self, request: web.Request) -> web.Response:
        """GET /v2/assets/{symbol_or_asset_id}: the asset's flags, as Alpaca spells them (404 if unknown)."""
        symbol = request.match_info["symbol_or_asset_id"]
        if self.book.feed.quote(symbol, self.book.now) is None:
            return self._error(404, 40410000, f"asset not found for {symbol}")
        return self._ok(asset_json(symbol, self.asset_overrides.get(symbol, {})))


def asset_json(symbol: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """An asset as Alpaca describes it: US equities shortable and easy to borrow unless overridden; crypto
    never shortable. ``borrow_status`` (the newer field) agrees with ``easy_to_borrow``."""
    crypto = "/" in symbol
    asset: dict[str, Any] = {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"fake-alpaca-asset:{symbol}")),
        "class": "crypto" if crypto else "us_equity",
        "exchange": "CRYPTO" if crypto else "NASDAQ",
        "symbol": symbol,
        "name": symbol,
        "status": "active",
        "tradable": True,
        "marginable": not crypto,
        "maintenance_margin_requirement": 100 if crypto else 30,
        "margin_requirement_long": "100" if crypto else "30",
        "margin_requirement_short": "100",
        "shortable": not crypto,
        "easy_to_borrow": not crypto,
        "fractionable": True,
        "attributes": ["fractional_eh_enabled"] if not crypto else [],
    }
    asset.update(overrides or {})
    if not crypto:
        asset["borrow_status"] = "easy_to_borrow" if asset["easy_to_borrow"] else "hard_to_borrow"
    return asset


def _decimal(value: Any) -> Any:
    from decimal import Decimal

    return Decimal(str(value))


async def _serve(args: argparse.Namespace) -> None:
    fake = FakeAlpaca(
        feed=SyntheticFeed() if args.synthetic else None,
        clock="realtime",
        speed=args.speed,
        rate_limit=None if args.rate_limit <= 0 else args.rate_limit,
        port=args.port,
        host=args.host,
        cash=args.cash,
    )
    await fake.start()
    print(f"fake Alpaca on {fake.base_url} (stream {fake.stream_url})")
    print(f"keys: APCA_API_KEY_ID={fake.key_id} APCA_API_SECRET_KEY=<the fake's demo secret, see --help>")
    try:
        await asyncio.Event().wait()
    finally:
        await fake.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m ntlab.brokers.alpaca.fake",
        description=f"Serve a fake Alpaca paper account on loopback. Demo keys: {FAKE_KEY_ID} / {FAKE_SECRET}",
    )
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--host", default="127.0.0.1", choices=["127.0.0.1", "localhost", "::1"])
    parser.add_argument("--speed", type=float, default=1.0, help="simulated seconds per wall second")
    parser.add_argument("--rate-limit", type=int, default=200, help="requests per minute; 0 for none")
    parser.add_argument("--cash", type=float, default=100_000, help="the paper account's starting cash")
    parser.add_argument("--synthetic", action="store_true", help="a random walk instead of the sample market")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
