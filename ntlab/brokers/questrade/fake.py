"""A faithful local fake of Questrade's API on the fake-broker kit: its login server and its API server.

``python -m ntlab.brokers.questrade.fake --port 8770`` serves the login server on 8770 and the API server on
8771, prints a fresh refresh token (for the fake only: it is worth nothing anywhere else) and moves the
simulated market in real time. Point ``QuestradeBroker(..., login_url="http://127.0.0.1:8770")`` at it.

What it does as Questrade does:

- login: ``POST /oauth2/token`` (form or query ``grant_type=refresh_token&refresh_token=...``) answers
  ``{access_token, token_type: "Bearer", expires_in, refresh_token, api_server}``; the refresh token is spent
  the moment it is redeemed (a second use is HTTP 400), tokens can be revoked, access tokens expire
  (``access_lifetime``) and then every call answers 401 ``{"code": 1017, "message": "Access token is
  invalid"}``;
- the API server is the one the token names (``api_server``), paths under ``/v1/``: time, accounts,
  positions, balances, executions, orders (list, one, place, replace, cancel), symbols search, quotes;
- numbers as JSON numbers, times ISO 8601 with the offset, Questrade's order states and field names;
- rate limits per second and per hour for account and market-data calls, with ``X-RateLimit-Remaining``
  and ``X-RateLimit-Reset`` on every limited answer and 429 past them;
- an order refused for buying power comes back as HTTP 200 with ``code`` plus ``orderId`` and ``orders``
  (Questrade's "order processing error": the order exists, rejected);
- apps without trading permission (``partner=False``) are refused every trade call with 403.

Questrade has no client order id. So tests can tell which ntlab order a placement came from, the fake keeps
the value of a request header named by ``trace_header`` (no real client sends it) per order it creates.
"""

from __future__ import annotations

import argparse
import itertools
import math
import secrets
import time
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from aiohttp import web

from ntlab.brokers.numbers import number_json
from ntlab.core.enums import OrderStatus, OrderType, Side, TimeInForce
from ntlab.core.lifecycle import ReplaceChange
from ntlab.core.records import Order
from ntlab.core.reports import (
    Accepted,
    Cancelled,
    CancelRejected,
    Expired,
    Filled,
    OrderUpdate,
    Rejected,
    Replaced,
    ReplaceRejected,
)
from ntlab.testing import FakeEngine
from ntlab.testing.faults import RequestFault
from ntlab.testing.servers import FakeHttpServer, run_fake

#: Questrade symbol ids for the sample market's equities (AAPL's is Questrade's own; the rest are the fake's).
SYMBOL_IDS = {"AAPL": 8049, "MSFT": 27426, "NVDA": 29814, "SPY": 34987, "BRK.B": 5953}
ACCOUNT = "26598145"
TRADE_WRITES = ("POST", "DELETE")

_STATE = {
    OrderStatus.PENDING: "Pending",
    OrderStatus.ACCEPTED: "Accepted",
    OrderStatus.PARTIALLY_FILLED: "Partial",
    OrderStatus.FILLED: "Executed",
    OrderStatus.CANCELLED: "Canceled",
    OrderStatus.REJECTED: "Rejected",
    OrderStatus.EXPIRED: "Expired",
    OrderStatus.PENDING_CANCEL: "CancelPending",
    OrderStatus.PENDING_REPLACE: "ReplacePending",
}
_TYPE = {
    "Market": OrderType.MARKET,
    "Limit": OrderType.LIMIT,
    "Stop": OrderType.STOP,
    "StopLimit": OrderType.STOP_LIMIT,
}
_TIF = {
    "Day": TimeInForce.DAY,
    "GoodTillCanceled": TimeInForce.GTC,
    "ImmediateOrCancel": TimeInForce.IOC,
    "FillOrKill": TimeInForce.FOK,
}


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="microseconds")


def _num(value: Decimal | None) -> Any:
    """A Decimal as a JSON number (the fake's JSON writer keeps its digits)."""
    return value


class Tokens:
    """The login server's book of tokens: refresh tokens spent on use, access tokens that expire."""

    def __init__(self, access_lifetime: float) -> None:
        self.access_lifetime = access_lifetime
        self.refresh: dict[str, str] = {}  # token -> live | spent | revoked
        self.access: dict[str, float] = {}  # token -> expiry (time.monotonic)
        self.redeemed = 0

    def issue(self) -> str:
        """A new refresh token, as the API Centre's "generate new token" gives one."""
        token = secrets.token_urlsafe(24)
        self.refresh[token] = "live"
        return token

    def revoke(self, token: str | None = None) -> None:
        """Revoke one refresh token (every live one when None) and every access token issued so far."""
        for known, state in self.refresh.items():
            if (token is None or known == token) and state == "live":
                self.refresh[known] = "revoked"
        self.access.clear()

    def expire_access(self) -> None:
        for token in self.access:
            self.access[token] = 0.0

    def redeem(self, token: str) -> tuple[str, str] | None:
        if self.refresh.get(token) != "live":
            return None
        self.refresh[token] = "spent"
        self.redeemed += 1
        access = secrets.token_urlsafe(24)
        self.access[access] = time.monotonic() + self.access_lifetime
        return access, self.issue()

    def valid(self, access: str) -> bool:
        return self.access.get(access, 0.0) > time.monotonic()


class RateWindow:
    """Questrade's limits for one category: so many a second and so many an hour."""

    def __init__(self, per_second: int, per_hour: int) -> None:
        self.per_second, self.per_hour = per_second, per_hour
        self.second: deque[float] = deque()
        self.hour: deque[float] = deque()

    def take(self, now: float) -> tuple[bool, int, float]:
        """(allowed, remaining, reset unix time) for one call now."""
        while self.second and self.second[0] <= now - 1:
            self.second.popleft()
        while self.hour and self.hour[0] <= now - 3600:
            self.hour.popleft()
        if len(self.hour) >= self.per_hour:
            return False, 0, self.hour[0] + 3600
        if len(self.second) >= self.per_second:
            return False, 0, self.second[0] + 1
        self.second.append(now)
        self.hour.append(now)
        remaining = min(self.per_second - len(self.second), self.per_hour - len(self.hour))
        reset = self.second[0] + 1 if remaining == self.per_second - len(self.second) else self.hour[0] + 3600
        return True, remaining, reset


class FakeQuestradeLogin(FakeHttpServer):
    """``login.questrade.com``: redeems refresh tokens for the API server's access tokens."""

    def __init__(self, api: FakeQuestrade, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(api.engine, host=host, port=port)
        self.api = api

    def routes(self, router: web.UrlDispatcher) -> None:
        router.add_route("POST", "/oauth2/token", self.token)
        router.add_route("GET", "/oauth2/token", self.token)

    def error(self, status: int, message: str, request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, text=message)

    async def token(self, request: web.Request) -> web.StreamResponse:
        form = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            form.update({k: str(v) for k, v in (await request.post()).items()})
        if form.get("grant_type") != "refresh_token" or not form.get("refresh_token"):
            return web.Response(status=400, text="Bad Request")
        issued = self.api.tokens.redeem(form["refresh_token"])
        if issued is None:
            return web.Response(status=400, text="Bad Request")
        access, refresh = issued
        return web.json_response(
            {
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": math.ceil(self.api.tokens.access_lifetime),
                "refresh_token": refresh,
                "api_server": self.api.base_url + "/",
            }
        )


class FakeQuestrade(FakeHttpServer):
    """The API server (and, started with it, its login server ``self.login``)."""

    def __init__(
        self,
        engine: FakeEngine | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        login_port: int = 0,
        cash: Decimal | int | str = 100_000,
        access_lifetime: float = 1800.0,
        partner: bool = True,
        rate_limits: bool = True,
        trace_header: str | None = None,
    ) -> None:
        super().__init__(
            engine if engine is not None else FakeEngine(cash=cash, name="questrade"), host=host, port=port
        )
        self.tokens = Tokens(access_lifetime)
        self.partner = partner
        self.rate_limits = rate_limits
        self.trace_header = trace_header
        self.login = FakeQuestradeLogin(self, host=host, port=login_port)
        self.windows = {"account": RateWindow(30, 30_000), "market": RateWindow(20, 15_000)}
        self.orders: dict[int, dict[str, Any]] = {}  # Questrade order id -> its record
        self.live_id: dict[str, int] = {}  # engine key -> the Questrade id of its live incarnation
        self.executions: list[dict[str, Any]] = []
        self.traces: dict[int, str] = {}  # Questrade order id -> trace header value
        self._ids = itertools.count(173577870)
        self._exec_ids = itertools.count(53817310)
        self.engine.on_report(self._later)

    async def start(self) -> FakeQuestrade:
        await super().start()
        await self.login.start()
        return self

    async def stop(self) -> None:
        await self.login.stop()
        await super().stop()

    @property
    def login_url(self) -> str:
        return self.login.base_url

    # --- errors as Questrade spells them --------------------------------------------------------------------
    def error(self, status: int, message: str, request: web.Request) -> web.StreamResponse:
        code = {401: 1017, 404: 1020, 429: 1006}.get(status, 1000 if status >= 500 else 1002)
        return web.json_response({"code": code, "message": message}, status=status)

    def rate_limited(self, fault: RequestFault, request: web.Request) -> web.StreamResponse:
        response = web.json_response({"code": 1006, "message": "Too many requests"}, status=429)
        reset = time.time() + (fault.retry_after if fault.retry_after is not None else 1.0)
        response.headers["X-RateLimit-Remaining"] = "0"
        response.headers["X-RateLimit-Reset"] = str(math.ceil(reset))
        return response

    def _json(self, data: Any, status: int = 200) -> web.Response:
        text = number_json(data, str)
        return web.Response(text=text, status=status, content_type="application/json")

    # --- routes ----------------------------------------------------------------------------------------------
    def routes(self, router: web.UrlDispatcher) -> None:
        add = router.add_route
        add("GET", "/v1/time", self.guard(self.time_))
        add("GET", "/v1/accounts", self.guard(self.accounts))
        add("GET", "/v1/accounts/{id}/positions", self.guard(self.positions))
        add("GET", "/v1/accounts/{id}/balances", self.guard(self.balances))
        add("GET", "/v1/accounts/{id}/executions", self.guard(self.list_executions))
        add("GET", "/v1/accounts/{id}/orders", self.guard(self.list_orders))
        add("GET", "/v1/accounts/{id}/orders/{order}", self.guard(self.one_order))
        add("POST", "/v1/accounts/{id}/orders", self.guard(self.place))
        add("POST", "/v1/accounts/{id}/orders/{order}", self.guard(self.replace))
        add("DELETE", "/v1/accounts/{id}/orders/{order}", self.guard(self.cancel))
        add("GET", "/v1/symbols/search", self.guard(self.search, market=True))
        add("GET", "/v1/markets/quotes/{symbol}", self.guard(self.quote, market=True))

    def guard(self, handler: Any, *, market: bool = False) -> Any:
        """Bearer token, rate limits and (for trade calls) the app's permission, before the handler."""

        async def guarded(request: web.Request) -> web.StreamResponse:
            header = request.headers.get("Authorization", "")
            if not header.startswith("Bearer "):
                return web.json_response(
                    {"code": 1014, "message": "Missing authorization header"}, status=401
                )
            if not self.tokens.valid(header[len("Bearer ") :]):
                return web.json_response({"code": 1017, "message": "Access token is invalid"}, status=401)
            if "id" in request.match_info and request.match_info["id"] != ACCOUNT:
                return web.json_response({"code": 1020, "message": "Account number not found"}, status=404)
            if request.method in TRADE_WRITES and not self.partner:
                return web.json_response(
                    {"code": 1019, "message": "Application is not authorized to place or modify orders"},
                    status=403,
                )
            limited = request.method == "GET" and self.rate_limits
            if limited:
                allowed, remaining, reset = self.windows["market" if market else "account"].take(time.time())
                if not allowed:
                    response: web.StreamResponse = web.json_response(
                        {"code": 1006, "message": "Too many requests"}, status=429
                    )
                    response.headers["X-RateLimit-Remaining"] = "0"
                    response.headers["X-RateLimit-Reset"] = str(math.ceil(reset))
                    return response
            response = await handler(request)
            if limited:
                response.headers["X-RateLimit-Remaining"] = str(remaining)
                response.headers["X-RateLimit-Reset"] = str(math.ceil(reset))
            return response

        return guarded

    async def time_(self, request: web.Request) -> web.StreamResponse:
        return self._json({"time": _iso(self.engine.now())})

    async def accounts(self, request: web.Request) -> web.StreamResponse:
        return self._json(
            {
                "accounts": [
                    {
                        "type": "Margin",
                        "number": ACCOUNT,
                        "status": "Active",
                        "isPrimary": True,
                        "isBilling": True,
                        "clientAccountType": "Individual",
                    }
                ],
                "userId": 3000124,
            }
        )

    async def positions(self, request: web.Request) -> web.StreamResponse:
        rows = []
        costs = self._costs()
        for symbol, quantity in self.engine.positions().items():
            quote = self.engine.quote(symbol)
            price = quote.mid if quote is not None else None
            avg = costs.get(symbol)
            rows.append(
                {
                    "symbol": symbol,
                    "symbolId": SYMBOL_IDS.get(symbol, 0),
                    "openQuantity": _num(quantity),
                    "closedQuantity": 0,
                    "currentMarketValue": _num(None if price is None else price * quantity),
                    "currentPrice": _num(price),
                    "averageEntryPrice": _num(avg),
                    "closedPnl": 0,
                    "openPnl": _num(None if price is None or avg is None else (price - avg) * quantity),
                    "totalCost": _num(None if avg is None else avg * quantity),
                    "isRealTime": True,
                    "isUnderReorg": False,
                }
            )
        return self._json({"positions": rows})

    def _costs(self) -> dict[str, Decimal]:
        """The average entry price of each open position, from the engine's fills (FIFO-free average)."""
        totals: dict[str, tuple[Decimal, Decimal]] = {}
        for fill in self.engine.fills():
            quantity, cost = totals.get(fill.symbol, (Decimal(0), Decimal(0)))
            signed = fill.quantity if fill.side is Side.BUY else -fill.quantity
            if quantity == 0 or (quantity > 0) == (signed > 0):
                totals[fill.symbol] = (quantity + signed, cost + signed * fill.price)
            else:
                remaining = quantity + signed
                avg = cost / quantity
                totals[fill.symbol] = (
                    remaining,
                    remaining * (avg if (remaining > 0) == (quantity > 0) else fill.price),
                )
        return {s: (c / q).quantize(Decimal("0.0001")) for s, (q, c) in totals.items() if q}

    async def balances(self, request: web.Request) -> web.StreamResponse:
        cash = self.engine.cash_balance()
        market_value = Decimal(0)
        for symbol, quantity in self.engine.positions().items():
            quote = self.engine.quote(symbol)
            if quote is not None:
                market_value += quote.mid * quantity
        equity = cash + market_value
        usd = {
            "currency": "USD",
            "cash": _num(cash),
            "marketValue": _num(market_value),
            "totalEquity": _num(equity),
            "buyingPower": _num(max(cash, Decimal(0))),
            "maintenanceExcess": _num(equity),
            "isRealTime": True,
        }
        cad = {k: (0 if k not in ("currency", "isRealTime") else v) for k, v in usd.items()} | {
            "currency": "CAD"
        }
        sod = dict(usd) | {
            "cash": _num(self.engine.cash),
            "marketValue": 0,
            "totalEquity": _num(self.engine.cash),
        }
        return self._json(
            {
                "perCurrencyBalances": [cad, usd],
                "combinedBalances": [cad, usd],
                "sodPerCurrencyBalances": [cad, sod],
                "sodCombinedBalances": [cad, sod],
            }
        )

    async def search(self, request: web.Request) -> web.StreamResponse:
        prefix = request.query.get("prefix", "")
        rows = [
            {
                "symbol": symbol,
                "symbolId": SYMBOL_IDS[symbol],
                "description": f"{symbol} (sample market)",
                "securityType": "Stock",
                "listingExchange": "NASDAQ",
                "isTradable": True,
                "isQuotable": True,
                "currency": "USD",
            }
            for symbol in self.engine.symbols
            if symbol in SYMBOL_IDS and symbol.startswith(prefix.upper())
        ]
        return self._json({"symbols": rows})

    async def quote(self, request: web.Request) -> web.StreamResponse:
        try:
            wanted = int(request.match_info["symbol"])
        except ValueError:
            return self._json({"code": 1002, "message": "Argument is invalid: symbol id"}, status=400)
        symbol = next((s for s, i in SYMBOL_IDS.items() if i == wanted), None)
        quote = None if symbol is None else self.engine.quote(symbol)
        if symbol is None or quote is None:
            return self._json({"quotes": []})
        return self._json(
            {
                "quotes": [
                    {
                        "symbol": symbol,
                        "symbolId": wanted,
                        "tier": "",
                        "bidPrice": _num(quote.bid),
                        "bidSize": int(quote.bid_size),
                        "askPrice": _num(quote.ask),
                        "askSize": int(quote.ask_size),
                        "lastTradePrice": _num(quote.mid),
                        "lastTradeTime": _iso(quote.time),
                        "isHalted": False,
                        "delay": 0,
                        "isRealTime": True,
                    }
                ]
            }
        )

    # --- orders ----------------------------------------------------------------------------------------------
    def _record(
        self, qid: int, order: Order, symbol_id: int, chain: int, state: str | None = None
    ) -> dict[str, Any]:
        filled = order.filled_quantity
        status = state or _STATE[order.status]
        if order.status is OrderStatus.CANCELLED and filled > 0:
            status = "PartialCanceled"
        open_quantity = Decimal(0) if order.status.is_final else order.quantity - filled
        return {
            "id": qid,
            "symbol": order.symbol,
            "symbolId": symbol_id,
            "totalQuantity": _num(order.quantity),
            "openQuantity": _num(open_quantity),
            "filledQuantity": _num(filled),
            "canceledQuantity": _num(
                order.quantity - filled if order.status is OrderStatus.CANCELLED else Decimal(0)
            ),
            "side": "Buy" if order.side is Side.BUY else "Sell",
            "orderType": {v: k for k, v in _TYPE.items()}[order.order_type],
            "limitPrice": _num(order.limit_price),
            "stopPrice": _num(order.stop_price),
            "isAllOrNone": False,
            "isAnonymous": False,
            "icebergQuantity": None,
            "minQuantity": None,
            "avgExecPrice": _num(order.avg_fill_price),
            "lastExecPrice": None,
            "source": "TradingAPI",
            "timeInForce": {v: k for k, v in _TIF.items()}[order.time_in_force],
            "gtdDate": None,
            "state": status,
            "clientReasonStr": order.reason or "",
            "chainId": chain,
            "creationTime": _iso(order.created_at),
            "updateTime": _iso(order.updated_at),
            "notes": "",
            "primaryRoute": "AUTO",
            "secondaryRoute": "AUTO",
            "orderRoute": "LAMP",
            "venueHoldingOrder": "",
            "comissionCharged": _num(order.fees),
            "exchangeOrderId": "",
            "isSignificantShareHolder": False,
            "isInsider": False,
            "isLimitOffsetInDollar": False,
            "userId": 3000124,
            "placementCommission": None,
            "legs": [],
            "strategyType": "SingleLeg",
            "triggerStopPrice": None,
            "orderGroupId": 0,
            "orderClass": None,
        }

    def _refresh(self, key: str) -> None:
        """Bring the live Questrade record of engine order ``key`` up to date."""
        qid = self.live_id.get(key)
        order = self.engine.order(key)
        if qid is None or order is None:
            return
        record = self.orders[qid]
        self.orders[qid] = self._record(qid, order, record["symbolId"], record["chainId"])

    def _later(self, report: OrderUpdate) -> None:
        key = report.order_id
        if isinstance(report, Filled):
            self._execution(key, report)
        self._refresh(key)

    def _execution(self, key: str, report: Filled) -> None:
        qid = self.live_id.get(key)
        if qid is None:
            return
        fill = report.fill
        self.executions.append(
            {
                "symbol": fill.symbol,
                "symbolId": SYMBOL_IDS.get(fill.symbol, 0),
                "quantity": _num(fill.quantity),
                "side": "Buy" if fill.side is Side.BUY else "Sell",
                "price": _num(fill.price),
                "id": next(self._exec_ids),
                "orderId": qid,
                "orderChainId": self.orders[qid]["chainId"],
                "exchangeExecId": f"X{fill.fill_id}",
                "timestamp": _iso(fill.time),
                "notes": "",
                "venue": "LAMP",
                "totalCost": _num(fill.notional),
                "orderPlacementCommission": 0,
                "commission": _num(fill.fee),
                "executionFee": 0,
                "secFee": 0,
                "canadianExecutionFee": 0,
                "parentId": 0,
            }
        )

    def _apply(self, key: str, reports: Sequence[OrderUpdate]) -> None:
        for report in reports:
            if isinstance(report, Filled):
                self._execution(key, report)
        self._refresh(key)

    def _order_from(self, body: dict[str, Any], key: str) -> Order | str:
        """An engine order from a place/replace body, or Questrade's complaint about the body."""
        symbol = next((s for s, i in SYMBOL_IDS.items() if i == body.get("symbolId")), None)
        if symbol is None:
            return "Symbol not found"
        if body.get("orderType") not in _TYPE or body.get("timeInForce") not in _TIF:
            return "Argument is invalid: orderType or timeInForce"
        if body.get("action") not in ("Buy", "Sell"):
            return "Argument is invalid: action"
        quantity = body.get("quantity")
        if not isinstance(quantity, int) or quantity <= 0:
            return "Argument is invalid: quantity"
        now = self.engine.now()
        return Order(
            order_id=key,
            symbol=symbol,
            side=Side.BUY if body["action"] == "Buy" else Side.SELL,
            quantity=Decimal(quantity),
            order_type=_TYPE[body["orderType"]],
            time_in_force=_TIF[body["timeInForce"]],
            status=OrderStatus.PENDING,
            created_at=now,
            updated_at=now,
            limit_price=None if body.get("limitPrice") is None else Decimal(str(body["limitPrice"])),
            stop_price=None if body.get("stopPrice") is None else Decimal(str(body["stopPrice"])),
        )

    def _cost(self, order: Order) -> Decimal:
        quote = self.engine.quote(order.symbol)
        price = order.limit_price or order.stop_price or (quote.ask if quote is not None else Decimal(0))
        return price * order.quantity

    def place_body(self, body: dict[str, Any], trace: str | None = None) -> tuple[int, dict[str, Any]]:
        """Place an order from a Questrade body: (HTTP status, Questrade's answer). Also how "another app"
        places orders in tests."""
        qid = next(self._ids)
        key = f"q{qid}"
        order = self._order_from(body, key)
        if isinstance(order, str):
            return 400, {"code": 1002, "message": order}
        if trace is not None:
            self.traces[qid] = trace
        symbol_id = int(body["symbolId"])
        if order.side is Side.BUY and self._cost(order) > self.engine.cash_balance():
            rejected = order._replace(status=OrderStatus.REJECTED, reason="Insufficient buying power")
            record = self._record(qid, rejected, symbol_id, qid)
            self.orders[qid] = record
            return 200, {
                "code": 3014,
                "message": "Insufficient buying power",
                "orderId": qid,
                "orders": [record],
            }
        self.live_id[key] = qid
        self.orders[qid] = self._record(qid, order, symbol_id, qid)
        reports = self.engine.submit(order)
        self._apply(key, reports)
        if any(isinstance(r, Rejected) for r in reports):
            reason = next(r.reason for r in reports if isinstance(r, Rejected))
            return 200, {"code": 3139, "message": reason, "orderId": qid, "orders": [self.orders[qid]]}
        return 200, {"orderId": qid, "orders": [self.orders[qid]]}

    async def place(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        if str(body.get("accountNumber")) != ACCOUNT:
            return self._json({"code": 1002, "message": "Argument is invalid: accountNumber"}, status=400)
        trace = request.headers.get(self.trace_header) if self.trace_header else None
        status, answer = self.place_body(body, trace)
        return self._json(answer, status)

    def _find(self, request: web.Request) -> tuple[int, str] | None:
        try:
            qid = int(request.match_info["order"])
        except ValueError:
            return None
        record = self.orders.get(qid)
        if record is None:
            return None
        key = f"q{record['chainId']}"
        return qid, key

    async def replace(self, request: web.Request) -> web.StreamResponse:
        found = self._find(request)
        if found is None:
            return self._json({"code": 1020, "message": "Order not found"}, status=404)
        qid, key = found
        if self.live_id.get(key) != qid:
            return self._json({"code": 1002, "message": "Order was already replaced"}, status=400)
        body = await request.json()
        wanted = self._order_from(body, key)
        if isinstance(wanted, str):
            return self._json({"code": 1002, "message": wanted}, status=400)
        current = self.engine.order(key)
        assert current is not None
        change = ReplaceChange(
            quantity=wanted.quantity if wanted.quantity != current.quantity else None,
            limit_price=wanted.limit_price if wanted.limit_price != current.limit_price else None,
            stop_price=wanted.stop_price if wanted.stop_price != current.stop_price else None,
        )
        reports = self.engine.replace(key, change)
        refused = next((r for r in reports if isinstance(r, ReplaceRejected)), None)
        if refused is not None or not any(isinstance(r, Replaced) for r in reports):
            self._apply(key, [r for r in reports if isinstance(r, Filled)])
            message = refused.reason if refused is not None else "Order cannot be replaced"
            return self._json({"code": 1002, "message": message}, status=400)
        old = self.orders[qid]
        self.orders[qid] = old | {
            "state": "Replaced",
            "openQuantity": 0,
            "updateTime": _iso(self.engine.now()),
        }
        new_id = next(self._ids)
        self.live_id[key] = new_id
        self.orders[new_id] = old | {"id": new_id}
        if request.headers.get(self.trace_header or "") and self.trace_header:
            self.traces[new_id] = request.headers[self.trace_header]
        self._apply(key, reports)
        return self._json({"orderId": new_id, "orders": [self.orders[new_id]]})

    async def cancel(self, request: web.Request) -> web.StreamResponse:
        found = self._find(request)
        if found is None:
            return self._json({"code": 1020, "message": "Order not found"}, status=404)
        qid, key = found
        if self.live_id.get(key) != qid:
            return self._json({"code": 1002, "message": "Order was replaced"}, status=400)
        reports = self.engine.cancel(key)
        self._apply(key, reports)
        refused = next((r for r in reports if isinstance(r, CancelRejected)), None)
        if refused is not None:
            return self._json(
                {"code": 1002, "message": f"Order cannot be canceled: {refused.reason}"}, status=400
            )
        return self._json({"orderId": qid})

    async def one_order(self, request: web.Request) -> web.StreamResponse:
        found = self._find(request)
        if found is None:
            return self._json({"code": 1020, "message": "Order not found"}, status=404)
        return self._json({"orders": [self.orders[found[0]]]})

    async def list_orders(self, request: web.Request) -> web.StreamResponse:
        start, end = _window(request)
        state = request.query.get("stateFilter", "All")
        ids = request.query.get("ids")
        rows = []
        for qid, record in self.orders.items():
            if ids is not None:
                if str(qid) not in ids.split(","):
                    continue
            else:
                created = datetime.fromisoformat(record["creationTime"])
                if (start is not None and created < start) or (end is not None and created > end):
                    continue
            final = record["state"] in (
                "Executed",
                "Canceled",
                "PartialCanceled",
                "Replaced",
                "Rejected",
                "Failed",
                "Expired",
            )
            if (state == "Open" and final) or (state == "Closed" and not final):
                continue
            rows.append(record)
        return self._json({"orders": rows})

    async def list_executions(self, request: web.Request) -> web.StreamResponse:
        start, end = _window(request)
        rows = [
            e
            for e in self.executions
            if (start is None or datetime.fromisoformat(e["timestamp"]) >= start)
            and (end is None or datetime.fromisoformat(e["timestamp"]) <= end)
        ]
        return self._json({"executions": rows})

    # --- what tests and users read ------------------------------------------------------------------------
    def placed_orders(self) -> list[dict[str, Any]]:
        """Every order an app created (replacement incarnations included), oldest first."""
        return [self.orders[q] for q in sorted(self.orders)]


def _window(request: web.Request) -> tuple[datetime | None, datetime | None]:
    start = request.query.get("startTime")
    end = request.query.get("endTime")
    return (
        datetime.fromisoformat(start) if start else None,
        datetime.fromisoformat(end) if end else None,
    )


_ = (Accepted, Cancelled, Expired)  # the engine's other reports only refresh the record


def main(argv: Sequence[str] | None = None) -> None:
    def make(args: argparse.Namespace) -> FakeQuestrade:
        return FakeQuestrade(port=args.port + 1, login_port=args.port, partner=not args.read_only)

    def banner(fake: Any) -> str:
        token = fake.tokens.issue()
        return (
            f"fake Questrade: login {fake.login_url}, API {fake.base_url}/v1/\n"
            f"a refresh token for this fake only (write it into your token file): {token}"
        )

    def options(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--read-only", action="store_true", help="act as a personal (read-only) app")

    run_fake(
        make,
        argv,
        description="A local fake of Questrade's API (login and API servers) on the sample market",
        default_port=8770,
        banner=banner,
        options=options,
    )


if __name__ == "__main__":
    main()
