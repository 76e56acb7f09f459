"""A faithful local fake of Alpaca's Trading API v2, its trade_updates stream and its market data, on 127.0.0.1.

Alpaca's paths, JSON fields, status spellings, error bodies (``{"code": 40310000, "message": ...}``),
rate-limit headers (``X-RateLimit-Limit`` / ``-Remaining`` / ``-Reset``, 429 when the minute's budget is
spent) and stream handshake, on the fake-broker kit: orders fill in the kit's engine (the paper venue on the
sample market), faults come from ``fake.faults``, the stream is a :class:`~ntlab.testing.streams.StreamHub`.
alpaca-py's ``TradingClient`` and ``TradingStream`` (``url_override=``) read every answer in their own models.

- ``base_url`` / ``stream_url``: the trading host and its ``/stream`` websocket;
- ``data_url`` / ``data_stream_url``: the market data (its own server, as Alpaca's data host is), streaming
  the quotes the engine fills against as its clock moves;
- ``await fake.advance(seconds)`` moves the clock (tests); ``python -m ntlab.brokers.alpaca.fake --port 8765``
  runs it in real time for users without an account.

The orders are in ``fake_orders``, the account in ``fake_account``, the stream in ``fake_stream``, the data in
``fake_data``.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from aiohttp import web

from ntlab.brokers.alpaca.fake_account import FakeAccount
from ntlab.brokers.alpaca.fake_data import FakeData
from ntlab.brokers.alpaca.fake_orders import ApiError, FakeOrders, Record, decimal, invalid
from ntlab.brokers.alpaca.fake_stream import TradeUpdates, dumps
from ntlab.brokers.paper import PaperConfig
from ntlab.market.frames import Market
from ntlab.testing import FakeEngine
from ntlab.testing.faults import RequestFault
from ntlab.testing.servers import FakeHttpServer, run_fake
from ntlab.testing.streams import StreamHub

FAKE_KEY_ID = "FAKEPAPERKEY"
FAKE_SECRET = "fake-paper-secret"  # not a secret: the fake's published demo credentials
# Alpaca charges no commission on stocks (its fees are the account's, see fake_account) and routes an
# order before it can fill: the submit's answer comes first, its fills when the clock next moves.
ALPACA_VENUE = PaperConfig(
    taker_fee_bps=Decimal(0), maker_fee_bps=Decimal(0), latency=timedelta(milliseconds=1)
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(text=dumps(data), status=status, content_type="application/json")


def _flag(value: str | None) -> bool:
    return (value or "").lower() == "true"


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(f"invalid timestamp {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.now().astimezone().tzinfo)


class FakeAlpaca(FakeHttpServer):
    """``async with FakeAlpaca() as fake:`` serves on free ports of 127.0.0.1.

    ``market`` (the sample market unless given) and ``start`` place the engine; ``cash`` is the account's
    cash; ``rate_limit`` is requests per minute per key, as Alpaca counts them (None: unlimited);
    ``binary_frames`` as Alpaca's paper stream sends them; ``data=False`` serves no market data.
    """

    def __init__(
        self,
        engine: FakeEngine | None = None,
        *,
        market: Market | None = None,
        start: datetime | str | None = None,
        cash: Decimal | int | float | str = 100_000,
        rate_limit: int | None = 200,
        key_id: str = FAKE_KEY_ID,
        secret_key: str = FAKE_SECRET,
        binary_frames: bool = True,
        data: bool = True,
        seed: int = 7,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if engine is None:
            engine = FakeEngine(market, start=start, config=ALPACA_VENUE, cash=str(cash), name="alpaca")
        super().__init__(engine, host=host, port=port)
        self.keys = (key_id, secret_key)
        self.rate_limit = rate_limit
        self.hub = StreamHub(self.faults)
        self.trade_updates = TradeUpdates(self.hub, self.keys, binary=binary_frames)
        self.orders = FakeOrders(engine, self._emit, seed=seed)
        self.account = FakeAccount(engine, self.orders, seed_cash=engine.cash)
        self.data = FakeData(engine, key_id=key_id, secret_key=secret_key, host=host) if data else None
        self._minutes: dict[str, tuple[int, int]] = {}
        engine.on_clock(self._at_close)

    def _emit(self, event: str, record: Record, extra: dict[str, Any]) -> None:
        self.trade_updates.publish(event, record, extra, self.engine.now())

    async def _at_close(self, before: datetime, after: datetime) -> None:
        """Alpaca posts the day's fees after the close."""
        if before < self.engine.venue.session_close <= after:
            self.account.post_fees()

    async def start(self) -> FakeAlpaca:
        await super().start()
        if self.data is not None:
            await self.data.start()
        return self

    async def stop(self) -> None:
        await self.hub.close()
        if self.data is not None:
            await self.data.stop()
        await super().stop()

    # --- addresses and keys --------------------------------------------------------------------------------
    @property
    def key_id(self) -> str:
        return self.keys[0]

    @property
    def secret_key(self) -> str:
        return self.keys[1]

    @property
    def stream_url(self) -> str:
        return f"ws://{self.host}:{self.port}/stream"

    @property
    def data_url(self) -> str | None:
        return None if self.data is None else self.data.base_url

    @property
    def data_stream_url(self) -> str | None:
        return None if self.data is None else self.data.stream_url

    # --- what tests and notebooks read ---------------------------------------------------------------------
    def accepted_client_ids(self) -> list[str]:
        """The client order id of every order the fake took, oldest first (not replacements, not legs)."""
        return self.orders.accepted_client_ids()

    def fills(self) -> list[dict[str, Any]]:
        """Every execution, as its FILL activity plus the order's client order id."""
        records = self.orders.records
        return [
            a | {"client_order_id": records[a["order_id"]].client_order_id} for a in self.orders.activities
        ]

    def positions(self) -> dict[str, Decimal]:
        """What the account holds by ntlab symbol (zero positions left out)."""
        return self.account.holdings()

    def submit(self, body: dict[str, Any]) -> dict[str, Any]:
        """Place an order as another app would (``POST /v2/orders`` without the HTTP)."""
        return self.orders.submit(body)

    @property
    def asset_overrides(self) -> dict[str, dict[str, Any]]:
        """Fields to change in an asset's JSON, by symbol: ``{"SPY": {"easy_to_borrow": False}}`` makes it
        hard to borrow (``borrow_status`` follows), ``{"NVDA": {"shortable": False}}`` not shortable at all."""
        return self.account.asset_overrides

    def post_fees(self) -> int:
        """Post the fees accrued so far as activities, as Alpaca does after the close."""
        return self.account.post_fees()

    def drop_streams(self) -> int:
        """Cut every trade_updates connection without a close frame, as a network failure would."""
        return self.hub.drop()

    @property
    def stream_connections(self) -> int:
        return self.hub.opened

    # --- Alpaca's error words --------------------------------------------------------------------------------
    def error(self, status: int, message: str, request: web.Request) -> web.StreamResponse:
        return _json({"code": status * 100_000 + 10000, "message": message}, status)

    def rate_limited(self, fault: RequestFault, request: web.Request) -> web.StreamResponse:
        response = _json({"code": 42910000, "message": "rate limit exceeded"}, 429)
        response.headers.update(self._limit_headers(self.rate_limit or 200, 0))
        if fault.retry_after is not None:
            response.headers["Retry-After"] = str(math.ceil(fault.retry_after))
        return response

    def faultless(self, request: web.Request) -> bool:
        return request.path == "/stream"

    @staticmethod
    def _limit_headers(limit: int, remaining: int) -> dict[str, str]:
        reset = (int(time.time()) // 60 + 1) * 60
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(remaining, 0)),
            "X-RateLimit-Reset": str(reset),
        }

    def guard(self, handler: Handler) -> Handler:
        """Alpaca's keys, its per-minute budget and its headers, and ApiError as Alpaca's error body."""

        async def guarded(request: web.Request) -> web.StreamResponse:
            key = request.headers.get("APCA-API-KEY-ID")
            if (key, request.headers.get("APCA-API-SECRET-KEY")) != self.keys:
                return _json({"code": 40110000, "message": "request is not authorized"}, 401)
            limit = self.rate_limit
            minute = int(time.time() // 60)
            seen, used = self._minutes.get(key or "", (minute, 0))
            used = used + 1 if seen == minute else 1
            self._minutes[key or ""] = (minute, used)
            shown = limit if limit is not None else 1_000_000
            if limit is not None and used > limit:
                response = _json({"code": 42910000, "message": "rate limit exceeded"}, 429)
                response.headers.update(self._limit_headers(shown, 0))
                return response
            try:
                response = await handler(request)
            except ApiError as error:
                response = _json(error.body, error.status)
            response.headers.update(self._limit_headers(shown, shown - used))
            return response

        return guarded

    # --- routes ---------------------------------------------------------------------------------------------
    def routes(self, router: web.UrlDispatcher) -> None:
        add, g = router.add_route, self.guard
        add("POST", "/v2/orders", g(self.post_order))
        add("GET", "/v2/orders", g(self.list_orders))
        add("DELETE", "/v2/orders", g(self.cancel_all))
        add("GET", "/v2/orders:by_client_order_id", g(self.by_client_id))
        add("GET", "/v2/orders/{order_id}", g(self.get_order))
        add("PATCH", "/v2/orders/{order_id}", g(self.patch_order))
        add("DELETE", "/v2/orders/{order_id}", g(self.delete_order))
        add("GET", "/v2/account", g(self.get_account))
        add("GET", "/v2/positions", g(self.list_positions))
        add("DELETE", "/v2/positions", g(self.close_all))
        add("GET", "/v2/positions/{symbol:.+}", g(self.get_position))
        add("DELETE", "/v2/positions/{symbol:.+}", g(self.close_position))
        add("GET", "/v2/account/activities", g(self.activities))
        add("GET", "/v2/account/activities/{activity_type}", g(self.activities))
        add("GET", "/v2/clock", g(self.clock))
        add("GET", "/v2/assets", g(self.list_assets))
        add("GET", "/v2/assets/{symbol_or_asset_id:.+}", g(self.get_asset))
        add("GET", "/stream", self.trade_updates.handle)

    @staticmethod
    async def _body(request: web.Request) -> dict[str, Any]:
        try:
            data = await request.json()
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, 40010000, "request body format is invalid") from None
        if not isinstance(data, dict):
            raise ApiError(400, 40010000, "request body format is invalid")
        return data

    # --- orders ---------------------------------------------------------------------------------------------
    async def post_order(self, request: web.Request) -> web.StreamResponse:
        return _json(self.orders.submit(await self._body(request)))

    async def get_order(self, request: web.Request) -> web.StreamResponse:
        return _json(self.orders.get(request.match_info["order_id"]).json())

    async def by_client_id(self, request: web.Request) -> web.StreamResponse:
        return _json(self.orders.by_client(request.query.get("client_order_id", "")).json())

    async def list_orders(self, request: web.Request) -> web.StreamResponse:
        q = request.query
        status = q.get("status", "open")
        if status not in ("open", "closed", "all"):
            raise invalid(f"invalid status {status!r}: use open, closed or all")
        try:
            limit = int(q.get("limit", "50"))
        except ValueError:
            raise invalid("invalid limit") from None
        if not 1 <= limit <= 500:
            raise invalid("limit must be between 1 and 500")
        direction = q.get("direction", "desc")
        if direction not in ("asc", "desc"):
            raise invalid("direction must be asc or desc")
        side = q.get("side")
        if side is not None and side not in ("buy", "sell"):
            raise invalid("side must be buy or sell")
        symbols = [s for s in q.get("symbols", "").split(",") if s]
        return _json(
            self.orders.listing(
                status,
                limit=limit,
                after=_time(q.get("after")),
                until=_time(q.get("until")),
                direction=direction,
                nested=_flag(q.get("nested")),
                side=side,
                symbols=symbols or None,
            )
        )

    async def patch_order(self, request: web.Request) -> web.StreamResponse:
        return _json(self.orders.replace(request.match_info["order_id"], await self._body(request)))

    async def delete_order(self, request: web.Request) -> web.StreamResponse:
        self.orders.cancel(request.match_info["order_id"])
        return web.Response(status=204)

    async def cancel_all(self, request: web.Request) -> web.StreamResponse:
        return _json(self.orders.cancel_all(), 207)

    # --- account and positions -----------------------------------------------------------------------------
    async def get_account(self, request: web.Request) -> web.StreamResponse:
        return _json(self.account.account_json())

    async def list_positions(self, request: web.Request) -> web.StreamResponse:
        return _json(self.account.positions_json())

    async def get_position(self, request: web.Request) -> web.StreamResponse:
        symbol = self.account.find_position(request.match_info["symbol"])
        if symbol is None:
            raise ApiError(404, 40410000, "position does not exist")
        return _json(self.account.position_json(symbol, self.account.holdings()[symbol]))

    def _close(self, symbol: str, qty: Decimal | None, percentage: Decimal | None) -> dict[str, Any]:
        """A market order that closes (part of) a holding, as ``DELETE /v2/positions/{symbol}`` places it."""
        held = self.account.holdings()[symbol]
        if qty is not None and percentage is not None:
            raise invalid("only one of qty or percentage is allowed")
        if percentage is not None and not 0 < percentage <= 100:
            raise invalid("percentage must be between 0 and 100")
        amount = abs(held)
        if percentage is not None:
            amount = (amount * percentage / 100).quantize(Decimal("0.000000001"), rounding="ROUND_DOWN")
            if amount == amount.to_integral_value():
                amount = amount.quantize(Decimal(1))  # whole shares stay whole: "1500", not "1500.000000000"
        elif qty is not None:
            if qty <= 0:
                raise invalid("qty must be > 0")
            if qty > abs(held):
                raise ApiError(
                    403,
                    40310000,
                    f"insufficient qty available for order (requested: {qty}, available: {abs(held)})",
                )
            amount = qty
        body = {
            "symbol": symbol,
            "qty": str(amount),
            "side": "sell" if held > 0 else "buy",
            "type": "market",
            "time_in_force": "gtc" if "/" in symbol else "day",
        }
        return self.orders.submit(body)

    async def close_position(self, request: web.Request) -> web.StreamResponse:
        symbol = self.account.find_position(request.match_info["symbol"])
        if symbol is None:
            raise ApiError(404, 40410000, "position does not exist")
        q = request.query
        return _json(
            self._close(symbol, decimal(q.get("qty"), "qty"), decimal(q.get("percentage"), "percentage"))
        )

    async def close_all(self, request: web.Request) -> web.StreamResponse:
        if _flag(request.query.get("cancel_orders")):
            self.orders.cancel_all()
        results = []
        for symbol in sorted(self.account.holdings()):
            try:
                order = self._close(symbol, None, None)
                results.append(
                    {
                        "symbol": self.account_symbol(symbol),
                        "status": 200,
                        "order_id": order["id"],
                        "body": order,
                    }
                )
            except ApiError as error:
                results.append(
                    {"symbol": self.account_symbol(symbol), "status": error.status, "body": error.body}
                )
        return _json(results, 207)

    @staticmethod
    def account_symbol(symbol: str) -> str:
        return symbol.replace("/", "")

    async def activities(self, request: web.Request) -> web.StreamResponse:
        q = request.query
        given = request.match_info.get("activity_type") or q.get("activity_types") or q.get("activity_type")
        kinds = {k for k in (given or "").split(",") if k} or None
        rows = self.account.activities(kinds)
        after, until = _time(q.get("after")), _time(q.get("until"))
        day = q.get("date")
        if after or until or day:
            rows = [r for r in rows if _within(r, after, until, day)]
        direction = q.get("direction", "desc")
        if direction == "desc":
            rows = rows[::-1]
        token = q.get("page_token")
        if token:
            ids = [r["id"] for r in rows]
            rows = rows[ids.index(token) + 1 :] if token in ids else []
        try:
            size = int(q.get("page_size", "100"))
        except ValueError:
            raise invalid("invalid page_size") from None
        if not 1 <= size <= 100:
            raise invalid("page_size must be between 1 and 100")
        return _json(rows[:size])

    async def clock(self, request: web.Request) -> web.StreamResponse:
        return _json(self.account.clock_json())

    async def list_assets(self, request: web.Request) -> web.StreamResponse:
        q = request.query
        return _json(self.account.assets_json(q.get("status"), q.get("asset_class")))

    async def get_asset(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["symbol_or_asset_id"]
        symbol = self.account.find_asset(name)
        if symbol is None:
            raise ApiError(404, 40410000, f"asset not found for {name}")
        return _json(self.account.asset_json(symbol))


def _within(row: dict[str, Any], after: datetime | None, until: datetime | None, day: str | None) -> bool:
    stamp = row.get("transaction_time")
    if stamp is None:
        when = datetime.fromisoformat(f"{row['date']}T23:59:59.999999+00:00")
        if day is not None and row["date"] != day:
            return False
    else:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        if day is not None and when.date().isoformat() != day:
            return False
    return (after is None or when > after) and (until is None or when < until)


def main(argv: Sequence[str] | None = None) -> None:
    def options(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--rate-limit", type=int, default=200, help="requests per minute; 0 for none")
        parser.add_argument("--cash", type=float, default=100_000, help="the paper account's starting cash")

    def make(args: argparse.Namespace) -> FakeAlpaca:
        limit = None if args.rate_limit <= 0 else args.rate_limit
        return FakeAlpaca(rate_limit=limit, cash=args.cash, host=args.host, port=args.port)

    def banner(fake: Any) -> str:
        return (
            f"fake Alpaca on {fake.base_url} (trade_updates {fake.stream_url}), market data on {fake.data_url} "
            f"(quotes {fake.data_stream_url})\n"
            f"BROKER=alpaca BROKER_API_KEY={fake.key_id} BROKER_SECRET_KEY={fake.secret_key} "
            f"BROKER_BASE_URL={fake.base_url} ALPACA_DATA_URL={fake.data_url} "
            f"ALPACA_DATA_STREAM_URL={fake.data_stream_url}"
        )

    run_fake(
        make,
        argv,
        description=(
            "Serve a fake Alpaca paper account (Trading API v2, trade_updates, market data) on loopback. "
            f"Demo keys: {FAKE_KEY_ID} / {FAKE_SECRET}"
        ),
        default_port=8765,
        banner=banner,
        options=options,
    )


if __name__ == "__main__":
    main()
