"""A faithful local fake of the Lime Trader API on the fake-broker kit: its auth server and its API server
(REST and the account websocket), served on loopback.

``python -m ntlab.brokers.lime.fake --port 8780`` serves the auth server on 8780 and the API on 8781 and
prints the credentials it takes. What it does as Lime does:

- auth: ``POST /connect/token`` (password grant) answers ``{scope, token_type: "Bearer", access_token,
  expires_in}``; wrong credentials answer 400 ``{"error": "invalid_grant"}``; tokens expire
  (``access_lifetime``) and can be revoked, after which every call answers 401;
- REST: ``GET /accounts``, ``/accounts/{acct}/positions|activeorders|trades/{date}``, ``POST
  /orders/validate``, ``POST /orders/place`` (``{"success": true, "data": "<order id>"}``; a refused order
  is placed and then ``rejected``, as Lime does), ``GET /orders/{id}``, ``GET /orders?client_order_id=``,
  ``POST /orders/{id}/cancel``, ``GET /marketdata/quote``; errors ``{"code", "message"}``;
- the websocket on ``/accounts`` (bearer token on the upgrade): ``subscribeOrders`` / ``subscribeTrades``
  answer with the day's orders / trades, then ``{"t": "o" | "t", "data": [...]}`` as they change.

Numbers go out as JSON numbers, times as Unix seconds (``transaction_timestamp`` in milliseconds).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import re
import secrets
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from aiohttp import WSMsgType, web

from ntlab.brokers.numbers import number_json
from ntlab.core.enums import OrderStatus, OrderType, Side, TimeInForce
from ntlab.core.records import Fill, Order
from ntlab.core.reports import CancelRejected, Filled, OrderUpdate, Rejected
from ntlab.testing import FakeEngine
from ntlab.testing.faults import RequestFault
from ntlab.testing.servers import FakeHttpServer, run_fake
from ntlab.testing.streams import StreamHub

ACCOUNT = "ppr00001@demo"
_STATUS = {
    OrderStatus.PENDING: "pending_new",
    OrderStatus.ACCEPTED: "new",
    OrderStatus.PARTIALLY_FILLED: "partially_filled",
    OrderStatus.FILLED: "filled",
    OrderStatus.CANCELLED: "canceled",
    OrderStatus.REJECTED: "rejected",
    OrderStatus.EXPIRED: "done_for_day",
    OrderStatus.PENDING_CANCEL: "pending_cancel",
    OrderStatus.PENDING_REPLACE: "pending_replace",
}
_TYPE = {"market": OrderType.MARKET, "limit": OrderType.LIMIT}
_TIF = {
    "day": TimeInForce.DAY,
    "ioc": TimeInForce.IOC,
    "fok": TimeInForce.FOK,
    "on-open": TimeInForce.OPG,
    "on-close": TimeInForce.CLS,
}
_CLIENT_ORDER_ID = re.compile(r"[A-Za-z0-9]{1,32}")


def dumps(data: Any) -> str:
    return number_json(data, str)


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(text=dumps(data), status=status, content_type="application/json")


def _error(code: str, message: str, status: int) -> web.Response:
    return _json({"code": code, "message": message}, status)


def _whole(value: Any) -> int | None:
    """A positive whole quantity (Lime's SDK sends Decimals as JSON floats: 100.0), or None."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    number = Decimal(str(value))
    return int(number) if number > 0 and number == number.to_integral_value() else None


def _secs(when: datetime) -> int:
    return int(when.timestamp())


class Credentials:
    """What the fake's auth server takes (printed by ``python -m ntlab.brokers.lime.fake``)."""

    def __init__(self) -> None:
        self.username = "trader@example.com"
        self.password = secrets.token_urlsafe(12)
        self.client_id = "ntlab-fake-client"
        self.client_secret = secrets.token_urlsafe(16)

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, client_id={self.client_id!r}, password='***', client_secret='***')"

    def matches(self, form: dict[str, str]) -> bool:
        return (
            form.get("username") == self.username
            and form.get("password") == self.password
            and form.get("client_id") == self.client_id
            and form.get("client_secret") == self.client_secret
        )


class FakeLimeAuth(FakeHttpServer):
    """``auth.lime.co``: the password grant."""

    def __init__(self, api: FakeLime, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(api.engine, host=host, port=port)
        self.api = api

    def routes(self, router: web.UrlDispatcher) -> None:
        router.add_route("POST", "/connect/token", self.token)

    def error(self, status: int, message: str, request: web.Request) -> web.StreamResponse:
        return web.json_response({"error": "server_error", "error_description": message}, status=status)

    async def token(self, request: web.Request) -> web.StreamResponse:
        form = {k: str(v) for k, v in (await request.post()).items()}
        if form.get("grant_type") != "password" or not self.api.credentials.matches(form):
            return web.json_response(
                {"error": "invalid_grant", "error_description": "invalid_username_or_password"}, status=400
            )
        token = secrets.token_urlsafe(24)
        self.api.tokens[token] = time.monotonic() + self.api.access_lifetime
        self.api.issued += 1
        return web.json_response(
            {
                "access_token": token,
                "expires_in": math.ceil(self.api.access_lifetime),
                "token_type": "Bearer",
                "scope": "email profile openid",
            }
        )


class FakeLime(FakeHttpServer):
    """The API server (REST and the account websocket) and, started with it, ``self.auth``."""

    def __init__(
        self,
        engine: FakeEngine | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        auth_port: int = 0,
        cash: Decimal | int | str = 100_000,
        access_lifetime: float = 3600.0,
    ) -> None:
        super().__init__(
            engine if engine is not None else FakeEngine(cash=cash, name="lime"), host=host, port=port
        )
        self.credentials = Credentials()
        self.access_lifetime = access_lifetime
        self.tokens: dict[str, float] = {}
        self.issued = 0
        self.auth = FakeLimeAuth(self, host=host, port=auth_port)
        self.hub = StreamHub(self.faults)
        self.records: dict[str, dict[str, Any]] = {}  # Lime order id -> its record
        self.trades: list[dict[str, Any]] = []
        self.by_client_order_id: dict[str, str] = {}
        self._ids = itertools.count(201710041710516537)
        self._trade_ids = itertools.count(24447436136)
        self._cancels = itertools.count(90000001)
        self.engine.on_report(self._later)

    async def start(self) -> FakeLime:
        await super().start()
        await self.auth.start()
        return self

    async def stop(self) -> None:
        await self.hub.close()
        await self.auth.stop()
        await super().stop()

    @property
    def auth_url(self) -> str:
        return self.auth.base_url

    @property
    def stream_url(self) -> str:
        return f"ws://{self.host}:{self.port}/accounts"

    def revoke(self) -> None:
        """Revoke every access token (as a password change would)."""
        self.tokens.clear()

    def expire_tokens(self) -> None:
        for token in self.tokens:
            self.tokens[token] = 0.0

    # --- errors -------------------------------------------------------------------------------------------
    def error(self, status: int, message: str, request: web.Request) -> web.StreamResponse:
        return _error("api_error", message, status)

    def rate_limited(self, fault: RequestFault, request: web.Request) -> web.StreamResponse:
        response = _error("api_error", "Too many requests", 429)
        if fault.retry_after is not None:
            response.headers["Retry-After"] = str(math.ceil(fault.retry_after))
        return response

    def faultless(self, request: web.Request) -> bool:
        return request.headers.get("Upgrade", "").lower() == "websocket"

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else ""
        return self.tokens.get(token, 0.0) > time.monotonic()

    # --- routes ---------------------------------------------------------------------------------------
    def routes(self, router: web.UrlDispatcher) -> None:
        add = router.add_route
        add("GET", "/accounts", self.accounts)
        add("GET", "/accounts/{acct}/positions", self.guard(self.positions))
        add("GET", "/accounts/{acct}/activeorders", self.guard(self.active_orders))
        add("GET", "/accounts/{acct}/trades/{date}", self.guard(self.list_trades))
        add("POST", "/orders/validate", self.guard(self.validate))
        add("POST", "/orders/place", self.guard(self.place))
        add("GET", "/orders", self.guard(self.by_client_id))
        add("GET", "/orders/{id}", self.guard(self.one_order))
        add("POST", "/orders/{id}/cancel", self.guard(self.cancel))
        add("GET", "/marketdata/quote", self.guard(self.quote))

    def guard(self, handler: Any) -> Any:
        async def guarded(request: web.Request) -> web.StreamResponse:
            if not self._authorized(request):
                return web.Response(status=401)
            if "acct" in request.match_info and request.match_info["acct"] != ACCOUNT:
                return _error("not_found", "Account not found", 404)
            return await handler(request)

        return guarded

    async def accounts(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self.feed(request)
        if not self._authorized(request):
            return web.Response(status=401)
        cash = self.engine.cash_balance()
        value = self._market_value()
        return _json(
            [
                {
                    "account_number": ACCOUNT,
                    "trade_platform": "transaq",
                    "margin_type": "cash",
                    "restriction": "none",
                    "daytrades_count": 0,
                    "account_value_total": cash + value,
                    "cash": cash,
                    "day_trading_buying_power": max(cash, Decimal(0)),
                    "margin_buying_power": max(cash, Decimal(0)),
                    "non_margin_buying_power": max(cash, Decimal(0)),
                    "position_market_value": value,
                    "unsettled_cash": 0,
                    "cash_to_withdraw": max(cash, Decimal(0)),
                }
            ]
        )

    def _market_value(self) -> Decimal:
        total = Decimal(0)
        for symbol, quantity in self.engine.positions().items():
            quote = self.engine.quote(symbol)
            if quote is not None:
                total += quote.mid * quantity
        return total

    async def positions(self, request: web.Request) -> web.StreamResponse:
        rows = []
        for symbol, quantity in self.engine.positions().items():
            quote = self.engine.quote(symbol)
            fills = [f for f in self.engine.fills() if f.symbol == symbol]
            bought = [f for f in fills if (f.side is Side.BUY) == (quantity > 0)]
            amount = sum((f.quantity for f in bought), Decimal(0))
            avg = sum((f.notional for f in bought), Decimal(0)) / amount if amount else Decimal(0)
            rows.append(
                {
                    "symbol": symbol,
                    "quantity": int(quantity),
                    "average_open_price": avg.quantize(Decimal("0.0001")),
                    "current_price": quote.mid if quote is not None else 0,
                    "security_type": "common_stock",
                }
            )
        return _json(rows)

    async def active_orders(self, request: web.Request) -> web.StreamResponse:
        return _json(
            [
                r
                for r in self.records.values()
                if r["order_status"] in ("pending_new", "new", "partially_filled", "pending_cancel")
            ]
        )

    async def list_trades(self, request: web.Request) -> web.StreamResponse:
        day = request.match_info["date"]
        limit = int(request.query.get("limit", 10))
        skip = int(request.query.get("skip", 0))
        rows = [
            t
            for t in reversed(self.trades)
            if datetime.fromtimestamp(t["timestamp"], UTC).strftime("%Y-%m-%d") == day
        ]
        return _json({"trades": rows[skip : skip + limit], "count": len(rows)})

    async def quote(self, request: web.Request) -> web.StreamResponse:
        symbol = request.query.get("symbol", "")
        quote = self.engine.quote(symbol) if symbol in self.engine.symbols else None
        if quote is None:
            return _error("not_found", f"Symbol {symbol} not found", 404)
        mid = quote.mid
        return _json(
            {
                "symbol": symbol,
                "ask": quote.ask,
                "ask_size": quote.ask_size,
                "bid": quote.bid,
                "bid_size": quote.bid_size,
                "last": mid,
                "last_size": 100,
                "volume": 0,
                "date": _secs(quote.time),
                "high": mid,
                "low": mid,
                "open": mid,
                "close": mid,
                "week52_high": mid,
                "week52_low": mid,
                "change": 0,
                "change_pc": 0,
            }
        )

    # --- orders ---------------------------------------------------------------------------------------
    def _check(self, body: dict[str, Any]) -> str | None:
        """Why Lime would refuse this order, or None."""
        if body.get("account_number") != ACCOUNT:
            return "Account not found"
        if body.get("symbol") not in self.engine.symbols:
            return f"Symbol {body.get('symbol')} not found"
        if body.get("order_type", "market") not in _TYPE or body.get("time_in_force", "day") not in _TIF:
            return "Unsupported order_type or time_in_force"
        quantity = _whole(body.get("quantity"))
        if quantity is None:
            return "quantity must be a positive integer"
        if body.get("order_type") == "limit" and not body.get("price"):
            return "price is required for a limit order"
        if body.get("side", "buy") == "buy":
            quote = self.engine.quote(str(body["symbol"]))
            price = Decimal(str(body.get("price") or (quote.ask if quote is not None else 0)))
            if price * quantity > self.engine.cash_balance():
                return "Insufficient buying power"
        return None

    async def validate(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        problem = self._check(body)
        return _json({"is_valid": problem is None, "validation_message": problem})

    def place_body(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Place from a Lime body: (HTTP status, answer). Also how "another app" places orders in tests."""
        coid = body.get("client_order_id")
        if coid is not None and not _CLIENT_ORDER_ID.fullmatch(str(coid)):
            return 400, {
                "code": "validation_error",
                "message": "client_order_id must be up to 32 alphanumeric characters",
            }
        if coid is not None and coid in self.by_client_order_id:
            return 400, {"code": "validation_error", "message": "Duplicate client_order_id"}
        if body.get("account_number") != ACCOUNT or _whole(body.get("quantity")) is None:
            return 400, {
                "code": "validation_error",
                "message": "account_number and a whole quantity are required",
            }
        lime_id = str(next(self._ids))
        coid = str(coid or secrets.token_hex(13).upper())
        self.by_client_order_id[coid] = lime_id
        now = self.engine.now()
        symbol = str(body.get("symbol"))
        order = Order(
            order_id=lime_id,
            symbol=symbol,
            side=Side.BUY if body.get("side", "buy") == "buy" else Side.SELL,
            quantity=Decimal(_whole(body["quantity"]) or 0),
            order_type=_TYPE.get(str(body.get("order_type", "market")), OrderType.MARKET),
            time_in_force=_TIF.get(str(body.get("time_in_force", "day")), TimeInForce.DAY),
            status=OrderStatus.PENDING,
            created_at=now,
            updated_at=now,
            limit_price=None if body.get("price") is None else Decimal(str(body["price"])),
        )
        self.records[lime_id] = self._record(order, coid, body.get("tag"), body.get("exchange", "auto"))
        problem = self._check(body)
        if problem is not None:  # accepted, then rejected asynchronously
            self.records[lime_id] |= {"order_status": "rejected"}
            self._push_order(lime_id)
        else:
            self._apply(lime_id, self.engine.submit(order))
        return 200, {"success": True, "data": lime_id}

    async def place(self, request: web.Request) -> web.StreamResponse:
        status, answer = self.place_body(await request.json())
        return _json(answer, status)

    def _record(self, order: Order, coid: str, tag: Any, exchange: Any) -> dict[str, Any]:
        return {
            "account_number": ACCOUNT,
            "client_id": order.order_id,
            "client_order_id": coid,
            "exchange": exchange,
            "quantity": order.quantity,
            "executed_quantity": order.filled_quantity,
            "order_status": _STATUS[order.status],
            "price": order.limit_price or 0,
            "stop_price": 0,
            "time_in_force": {v: k for k, v in _TIF.items()}[order.time_in_force],
            "order_type": {v: k for k, v in _TYPE.items()}[order.order_type],
            "order_side": order.side.value,
            "symbol": order.symbol,
            "executed_price": order.avg_fill_price or 0,
            "executed_timestamp": _secs(order.updated_at) if order.filled_quantity else None,
            "transaction_timestamp": int(order.created_at.timestamp() * 1000),
            "tag": tag,
        }

    def _refresh(self, lime_id: str) -> None:
        order = self.engine.order(lime_id)
        record = self.records.get(lime_id)
        if order is None or record is None or record["order_status"] == "rejected":
            return
        self.records[lime_id] = self._record(
            order, record["client_order_id"], record["tag"], record["exchange"]
        )

    def _apply(self, lime_id: str, reports: Sequence[OrderUpdate]) -> None:
        for report in reports:
            self._later(report)
        if not reports:
            self._refresh(lime_id)
            self._push_order(lime_id)

    def _later(self, report: OrderUpdate) -> None:
        lime_id = report.order_id
        if lime_id not in self.records:
            return
        if isinstance(report, Rejected):
            self.records[lime_id] |= {"order_status": "rejected"}
        self._refresh(lime_id)
        self._push_order(lime_id)
        if isinstance(report, Filled):
            self._trade(report.fill)

    def _trade(self, fill: Fill) -> None:
        signed = fill.quantity if fill.side is Side.BUY else -fill.quantity
        trade = {
            "symbol": fill.symbol,
            "timestamp": _secs(fill.time),
            "quantity": int(signed),
            "price": fill.price,
            "amount": signed * fill.price,
            "side": fill.side.value,
            "trade_id": str(next(self._trade_ids)),
        }
        self.trades.append(trade)
        self.hub.broadcast(dumps({"t": "t", "data": [trade]}))

    def _push_order(self, lime_id: str) -> None:
        self.hub.broadcast(dumps({"t": "o", "data": [self.records[lime_id]]}))

    async def one_order(self, request: web.Request) -> web.StreamResponse:
        record = self.records.get(request.match_info["id"])
        return _json(record) if record is not None else _error("not_found", "Order not found", 404)

    async def by_client_id(self, request: web.Request) -> web.StreamResponse:
        lime_id = self.by_client_order_id.get(request.query.get("client_order_id", ""))
        if lime_id is None:
            return _error("not_found", "Order not found", 404)
        return _json(self.records[lime_id])

    async def cancel(self, request: web.Request) -> web.StreamResponse:
        lime_id = request.match_info["id"]
        record = self.records.get(lime_id)
        if record is None:
            return _error("not_found", "Order not found", 404)
        if record["order_status"] not in ("pending_new", "new", "partially_filled"):
            return _error(
                "validation_error", f"Order is {record['order_status']} and cannot be canceled", 400
            )
        reports = self.engine.cancel(lime_id)
        refused = next((r for r in reports if isinstance(r, CancelRejected)), None)
        self._apply(lime_id, reports)
        if refused is not None:
            return _error("validation_error", f"Order cannot be canceled: {refused.reason}", 400)
        return _json({"success": True, "data": str(next(self._cancels))})

    # --- the account websocket ------------------------------------------------------------------------
    async def feed(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request) or self.hub.refuse():
            return web.Response(status=401)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        subscribed: set[str] = set()

        async def send(message: str) -> None:
            kind = json.loads(message)["t"]
            if kind in subscribed and not ws.closed:
                await ws.send_str(message)

        def abort() -> None:
            if request.transport is not None:
                request.transport.abort()

        connection = self.hub.subscribe(send, abort)
        try:
            async for message in ws:
                if message.type is not WSMsgType.TEXT:
                    continue
                try:
                    action = json.loads(message.data)
                except ValueError:
                    await ws.send_str(
                        dumps({"t": "e", "code": "validation_error", "description": "invalid JSON"})
                    )
                    continue
                name, account = action.get("action"), action.get("account")
                if account != ACCOUNT:
                    await ws.send_str(
                        dumps({"t": "e", "code": "not_found", "description": "Account not found"})
                    )
                    continue
                if name == "subscribeOrders":
                    subscribed.add("o")
                    await ws.send_str(dumps({"t": "o", "data": list(self.records.values())}))
                elif name == "subscribeTrades":
                    subscribed.add("t")
                    await ws.send_str(dumps({"t": "t", "data": list(reversed(self.trades))}))
                elif name in ("subscribePositions", "subscribeBalance"):
                    subscribed.add("p" if name == "subscribePositions" else "b")
                elif name and name.startswith("unsubscribe"):
                    kinds = {
                        "unsubscribeOrders": "o",
                        "unsubscribeTrades": "t",
                        "unsubscribePositions": "p",
                        "unsubscribeBalance": "b",
                    }
                    subscribed.discard(kinds.get(name, ""))
                else:
                    await ws.send_str(
                        dumps({"t": "e", "code": "validation_error", "description": f"unknown action {name}"})
                    )
        finally:
            await connection.stop()
        return ws

    def drop_streams(self) -> int:
        return self.hub.drop()


def main(argv: Sequence[str] | None = None) -> None:
    def make(args: argparse.Namespace) -> FakeLime:
        return FakeLime(port=args.port + 1, auth_port=args.port)

    def banner(fake: Any) -> str:
        c = fake.credentials
        return (
            f"fake Lime: auth {fake.auth_url}, API {fake.base_url}, account {ACCOUNT}\n"
            f"credentials for this fake only: username={c.username} password={c.password} "
            f"client_id={c.client_id} client_secret={c.client_secret}"
        )

    run_fake(
        make,
        argv,
        description="A local fake of the Lime Trader API (auth, REST, account websocket) on the sample market",
        default_port=8780,
        banner=banner,
    )


if __name__ == "__main__":
    main()
