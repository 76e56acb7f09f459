"""A local fake of Binance spot, reached by unmodified ccxt through its URL override.

Serves on 127.0.0.1 the ``/api/v3`` endpoints ccxt calls (exchangeInfo, ticker, depth, order, openOrders,
allOrders, myTrades, account, time, ping) with Binance's field names, order statuses and ``{"code", "msg"}``
errors; HMAC-SHA256 signatures over the query and body and the recvWindow timestamp check (-1022, -1021,
-2014, -2015); request weight and order counts in ``X-MBX-USED-WEIGHT-1M`` / ``X-MBX-ORDER-COUNT-10S`` /
``-1D`` with 429 (-1003, -1015, Retry-After) and a 418 ban for clients that go on; and the WebSocket API's
user data stream (``userDataStream.subscribe.signature`` on ``/ws-api/v3``, then ``executionReport`` and
``outboundAccountPosition`` events), which is what ccxt's ``watch_orders`` uses for spot.

Times on the wire are the fake's wall clock (the engine's simulated clock only moves the market), so
ccxt's own timestamps pass the recvWindow check.

    python -m ntlab.brokers.crypto.fake --port 8790

then point ccxt at it: ``ex.urls["api"] = fake.ccxt_urls()`` (see ``FakeBinance.ccxt_urls``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import parse_qsl

import orjson
from aiohttp import WSMsgType, web

from ntlab.brokers.crypto.adapter import binance_urls
from ntlab.brokers.crypto.fake_account import Account, BinanceError, wall_ms, wire
from ntlab.brokers.crypto.fake_limits import Limits, WeightMeter
from ntlab.brokers.crypto.fake_market import TRADABLE, Listing, exchange_info, fillers
from ntlab.testing import FakeEngine
from ntlab.testing.faults import RequestFault
from ntlab.testing.servers import FakeHttpServer, run_fake
from ntlab.testing.streams import StreamHub

API = "/api/v3"
WS_API = "/ws-api/v3"
SUBSCRIBE = "userDataStream.subscribe.signature"

#: Request weight per endpoint (Binance's documented weights; openOrders without a symbol costs 80, the
#: tickers for many symbols more: see :func:`_many_weight`).
WEIGHTS: dict[tuple[str, str], int] = {
    ("GET", "exchangeInfo"): 20,
    ("GET", "ticker/24hr"): 2,
    ("GET", "ticker/bookTicker"): 2,
    ("GET", "depth"): 5,
    ("POST", "order"): 1,
    ("POST", "order/test"): 1,
    ("POST", "order/cancelReplace"): 1,
    ("DELETE", "order"): 1,
    ("GET", "order"): 4,
    ("GET", "openOrders"): 6,
    ("DELETE", "openOrders"): 1,
    ("GET", "allOrders"): 20,
    ("GET", "myTrades"): 20,
    ("GET", "account"): 20,
    ("GET", "time"): 1,
    ("GET", "ping"): 1,
}


class FakeBinance(FakeHttpServer):
    """Binance spot on the kit's engine. ``api_key``/``secret`` are the only keys it accepts.

    ``balances``: the account's assets before any trade; ``fees``: commissions in BNB (BNB burn on) or in
    the asset received; ``listed``: how many symbols exchangeInfo lists (tradable ones first, then halted
    fillers up to that count; a real Binance lists about 3,000); ``limits``: request weight and order-count
    caps (None: unlimited, for benchmarks).
    """

    def __init__(
        self,
        engine: FakeEngine | None = None,
        *,
        api_key: str = "fake-binance-key",
        secret: str = "fake-binance-secret",
        balances: dict[str, Decimal | int | str] | None = None,
        fees: Literal["bnb", "received"] = "bnb",
        listed: int = 50,
        limits: Limits | None = Limits(),  # noqa: B008 - frozen
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(engine, host=host, port=port)
        self.api_key = api_key
        self.secret = secret
        listings = list(TRADABLE) + fillers(max(0, listed - len(TRADABLE)))
        self.listings: dict[str, Listing] = {lst.symbol: lst for lst in listings}
        start = balances if balances is not None else {"USDT": 1_000_000, "BNB": 100}
        self.account = Account(
            self.engine, self.listings, {a: Decimal(str(v)) for a, v in start.items()}, fees
        )
        self.meter = WeightMeter(limits)
        self.calls: Counter[tuple[str, str]] = Counter()  # REST requests that reached each (method, endpoint)
        self.hub = StreamHub(self.faults)
        self._pump: asyncio.Task[None] | None = None
        self._info_cache: bytes | None = None
        self._subscribers: dict[web.WebSocketResponse, int] = {}

    # --- addresses -------------------------------------------------------------------------------------
    @property
    def api_url(self) -> str:
        return f"{self.base_url}{API}"

    @property
    def ws_api_url(self) -> str:
        return f"ws://{self.host}:{self.port}{WS_API}"

    def ccxt_urls(self) -> dict[str, Any]:
        """What to put in a ccxt binance's ``urls["api"]`` (spot REST and the WebSocket API)."""
        return binance_urls(self.base_url)

    # --- lifecycle -------------------------------------------------------------------------------------
    async def start(self) -> FakeBinance:
        await super().start()
        self._pump = asyncio.get_running_loop().create_task(self._send_events())
        return self

    async def stop(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        await self.hub.close()
        for ws in list(self._subscribers):
            await ws.close()
        await super().stop()

    async def _send_events(self) -> None:
        """Hand the account's executionReports to the user data stream as they are made."""
        while True:
            await asyncio.sleep(0.002)
            self.flush_events()

    def flush_events(self) -> None:
        events, self.account.events = self.account.events, []
        if not events:
            return
        for event in events:
            self.hub.broadcast(orjson.dumps({"subscriptionId": 0, "event": event}).decode())
        now = wall_ms()
        balances = [{"a": b["asset"], "f": b["free"], "l": b["locked"]} for b in self.account.balances()]
        position = {"e": "outboundAccountPosition", "E": now, "u": now, "B": balances}
        self.hub.broadcast(orjson.dumps({"subscriptionId": 0, "event": position}).decode())

    def drop_streams(self) -> int:
        return self.hub.drop()

    # --- what Binance says -----------------------------------------------------------------------------
    def error(self, status: int, message: str, request: web.Request) -> web.StreamResponse:
        if status >= 500:
            body = {"code": -1001, "msg": "Internal error; unable to process your request. Please try again."}
        else:
            body = {"code": -1000, "msg": message}
        return web.json_response(body, status=status)

    def rate_limited(self, fault: RequestFault, request: web.Request) -> web.StreamResponse:
        response = web.json_response(
            {
                "code": -1003,
                "msg": "Too much request weight used; current limit is 6000 request weight per 1 MINUTE. "
                "Please use WebSocket Streams for live updates to avoid polling the API.",
            },
            status=429,
        )
        response.headers["Retry-After"] = str(math.ceil(fault.retry_after or 1))
        return response

    def faultless(self, request: web.Request) -> bool:
        return request.path == WS_API

    def routes(self, router: web.UrlDispatcher) -> None:
        router.add_route("*", API + "/{path:.+}", self._rest)
        router.add_get(WS_API, self._websocket)

    # --- REST --------------------------------------------------------------------------------------------
    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        key = (request.method, path)
        handler = _HANDLERS.get(key)
        if handler is None:
            return _error(BinanceError(404, -1000, f"Unknown endpoint {request.method} {API}/{path}"))
        self.calls[key] += 1
        weight = WEIGHTS.get(key, 1)
        if key == ("GET", "openOrders") and "symbol" not in request.query:
            weight = 80
        elif key == ("GET", "ticker/24hr"):
            weight = _many_weight(request.query, 2, lambda n: 2 if n <= 20 else 40 if n <= 100 else 80)
        elif key == ("GET", "ticker/bookTicker"):
            weight = _many_weight(request.query, 2, lambda n: 4)
        ordering = key in (("POST", "order"), ("POST", "order/cancelReplace"))
        refused = self.meter.charge(weight, ordering, now_ms=wall_ms())
        if refused is not None:
            return self._headers(_error(refused[0], retry_after=refused[1]), ordering)
        try:
            params = await self._params(request, signed=path not in _PUBLIC)
            response = handler(self, params, wall_ms())
        except BinanceError as error:
            return self._headers(_error(error), ordering)
        self.flush_events()
        return self._headers(
            web.Response(body=orjson.dumps(response), content_type="application/json"), ordering
        )

    def _headers(self, response: web.StreamResponse, ordering: bool) -> web.StreamResponse:
        used = str(self.meter.used_weight)
        response.headers["x-mbx-used-weight"] = used
        response.headers["x-mbx-used-weight-1m"] = used
        if ordering:
            response.headers["x-mbx-order-count-10s"] = str(self.meter.orders_10s)
            response.headers["x-mbx-order-count-1d"] = str(self.meter.orders_day)
        return response

    async def _params(self, request: web.Request, *, signed: bool) -> dict[str, str]:
        query = request.rel_url.raw_query_string
        body = (await request.text()) if request.can_read_body else ""
        params = dict(parse_qsl(query, keep_blank_values=True)) | dict(
            parse_qsl(body, keep_blank_values=True)
        )
        if signed:
            self._verify(request.headers.get("X-MBX-APIKEY"), query, body, params)
        return params

    def _verify(self, key: str | None, query: str, body: str, params: dict[str, str]) -> None:
        """Binance's checks on a SIGNED request, in its order: key, timestamp, recvWindow, signature."""
        if not key:
            raise BinanceError(401, -2014, "API-key format invalid.")
        if not hmac.compare_digest(key, self.api_key):
            raise BinanceError(401, -2015, "Invalid API-key, IP, or permissions for action.")
        if "timestamp" not in params:
            raise BinanceError(
                400, -1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed."
            )
        signature = params.get("signature")
        if not signature:
            raise BinanceError(
                400, -1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed."
            )
        total = _without_signature(query) + _without_signature(body)
        expected = hmac.new(self.secret.encode(), total.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            raise BinanceError(400, -1022, "Signature for this request is not valid.")
        _check_time(params, wall_ms())

    # --- the WebSocket API's user data stream ------------------------------------------------------------
    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        if self.hub.refuse():
            return web.json_response({"code": -1001, "msg": "Service unavailable."}, status=503)
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        connection = None
        try:
            async for message in ws:
                if message.type is not WSMsgType.TEXT:
                    continue
                call = orjson.loads(message.data)
                reply = self._ws_call(call)
                await ws.send_str(orjson.dumps(reply).decode())
                subscribed = reply.get("status") == 200 and call.get("method") == SUBSCRIBE
                if subscribed and connection is None:
                    connection = self.hub.subscribe(ws.send_str, _aborter(request))
        finally:
            if connection is not None:
                await connection.stop()
        return ws

    def _ws_call(self, call: dict[str, Any]) -> dict[str, Any]:
        method, ident, params = call.get("method"), call.get("id"), call.get("params") or {}
        limits = [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": 6000,
                "count": self.meter.used_weight,
            }
        ]
        try:
            if method == "ping":
                result: dict[str, Any] = {}
            elif method == "time":
                result = {"serverTime": wall_ms()}
            elif method == "userDataStream.subscribe.signature":
                self._verify_ws(params)
                result = {"subscriptionId": 0}
            elif method == "userDataStream.unsubscribe":
                result = {}
            else:
                raise BinanceError(400, -1100, f"Unknown method '{method}'.")
        except BinanceError as error:
            return {
                "id": ident,
                "status": error.status,
                "error": {"code": error.code, "msg": error.msg},
                "rateLimits": limits,
            }
        return {"id": ident, "status": 200, "result": result, "rateLimits": limits}

    def _verify_ws(self, params: dict[str, Any]) -> None:
        """A WebSocket API signature: HMAC of the params sorted by name, ``signature`` left out."""
        key = params.get("apiKey")
        if not key or not hmac.compare_digest(str(key), self.api_key):
            raise BinanceError(401, -2015, "Invalid API-key, IP, or permissions for action.")
        payload = "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "signature")
        expected = hmac.new(self.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, str(params.get("signature", ""))):
            raise BinanceError(400, -1022, "Signature for this request is not valid.")
        _check_time({k: str(v) for k, v in params.items()}, wall_ms())

    # --- what the conformance suite and tests read --------------------------------------------------------
    def listing(self, symbol: str) -> Listing:
        """A listing by Binance symbol (``BTCUSDT``) or unified symbol (``BTC/USDT``)."""
        for listing in self.listings.values():
            if symbol in (listing.symbol, listing.unified):
                return listing
        raise KeyError(symbol)


def _aborter(request: web.Request) -> Any:
    def abort() -> None:
        if request.transport is not None:
            request.transport.abort()

    return abort


def _without_signature(raw: str) -> str:
    parts = [part for part in raw.split("&") if part and not part.startswith("signature=")]
    return "&".join(parts)


def _check_time(params: dict[str, str], now: int) -> None:
    try:
        stamp = int(params["timestamp"])
        window = int(params.get("recvWindow", "5000"))
    except ValueError:
        raise BinanceError(400, -1100, "Illegal characters found in parameter 'timestamp'.") from None
    if window > 60000:
        raise BinanceError(400, -1131, "recvWindow must be less than 60000")
    if stamp < now - window or stamp > now + 1000:
        raise BinanceError(400, -1021, "Timestamp for this request is outside of the recvWindow.")


def _error(error: BinanceError, retry_after: int | None = None) -> web.StreamResponse:
    body: dict[str, Any] = {"code": error.code, "msg": error.msg}
    if error.data is not None:
        body["data"] = error.data
    response = web.json_response(body, status=error.status)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


# --- the endpoints --------------------------------------------------------------------------------------

_PUBLIC = frozenset({"exchangeInfo", "ticker/24hr", "ticker/bookTicker", "depth", "time", "ping"})


def _listing(fake: FakeBinance, params: dict[str, str], required: bool = True) -> Listing:
    symbol = params.get("symbol")
    if symbol is None:
        if required:
            raise BinanceError(
                400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."
            )
        raise LookupError
    found = fake.listings.get(symbol)
    if found is None:
        raise BinanceError(400, -1121, "Invalid symbol.")
    return found


def _ping(fake: FakeBinance, p: dict[str, str], now: int) -> Any:
    return {}


def _time(fake: FakeBinance, p: dict[str, str], now: int) -> Any:
    return {"serverTime": now}


def _exchange_info(fake: FakeBinance, p: dict[str, str], now: int) -> Any:
    wanted = p.get("symbol")
    listings = [fake.listings[wanted]] if wanted in fake.listings else list(fake.listings.values())
    return exchange_info(listings, now)


def _book(fake: FakeBinance, listing: Listing) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    quote = fake.engine.quote(listing.engine_symbol or "")
    if quote is None:
        return Decimal(0), Decimal(0), Decimal(0), Decimal(0)
    return quote.bid, quote.bid_size, quote.ask, quote.ask_size


def _many(fake: FakeBinance, p: dict[str, str], one: Any, now: int) -> Any:
    """A market-data endpoint's three forms: ``symbol`` (one object), ``symbols`` (a JSON array of ids,
    a list in that order) or neither (every symbol listed)."""
    if "symbol" in p:
        if "symbols" in p:
            raise BinanceError(400, -1106, "Parameter 'symbols' sent when not required.")
        return one(fake, _listing(fake, p), now)
    if "symbols" not in p:
        return [one(fake, listing, now) for listing in fake.listings.values()]
    try:
        names = orjson.loads(p["symbols"])
    except orjson.JSONDecodeError:
        names = None
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise BinanceError(
            400,
            -1100,
            "Illegal characters found in parameter 'symbols'; legal range is a JSON array of symbol names.",
        )
    return [one(fake, _listing(fake, {"symbol": name}), now) for name in names]


def _many_weight(query: Mapping[str, str], single: int, many: Callable[[int], int]) -> int:
    """Binance's weight for a ticker call: ``single`` for one symbol, else by how many are asked."""
    if "symbol" in query:
        return single
    try:
        count = len(orjson.loads(query["symbols"])) if "symbols" in query else 10_000
    except (orjson.JSONDecodeError, TypeError):
        count = 1
    return many(count)


def _book_ticker(fake: FakeBinance, p: dict[str, str], now: int) -> Any:
    return _many(fake, p, _one_book_ticker, now)


def _one_book_ticker(fake: FakeBinance, listing: Listing, now: int) -> Any:
    bid, bid_qty, ask, ask_qty = _book(fake, listing)
    return {
        "symbol": listing.symbol,
        "bidPrice": wire(bid),
        "bidQty": wire(bid_qty),
        "askPrice": wire(ask),
        "askQty": wire(ask_qty),
    }


def _ticker(fake: FakeBinance, p: dict[str, str], now: int) -> Any:
    return _many(fake, p, _one_ticker, now)


def _one_ticker(fake: FakeBinance, listing: Listing, now: int) -> Any:
    bid, bid_qty, ask, ask_qty = _book(fake, listing)
    last = (bid + ask) / 2 if ask else Decimal(0)
    trades = [t for t in fake.account.trades if t.order.listing is listing]
    volume = sum((t.quantity for t in trades), Decimal(0))
    return {
        "symbol": listing.symbol,
        "priceChange": wire(Decimal(0)),
        "priceChangePercent": "0.000",
        "weightedAvgPrice": wire(last),
        "prevClosePrice": wire(last),
        "lastPrice": wire(last),
        "lastQty": wire(Decimal(0)),
        "bidPrice": wire(bid),
        "bidQty": wire(bid_qty),
        "askPrice": wire(ask),
        "askQty": wire(ask_qty),
        "openPrice": wire(last),
        "highPrice": wire(last),
        "lowPrice": wire(last),
        "volume": wire(volume),
        "quoteVolume": wire(sum((t.quantity * t.price for t in trades), Decimal(0))),
        "openTime": now - 86_400_000,
        "closeTime": now,
        "firstId": -1,
        "lastId": -1,
        "count": len(trades),
    }


def _depth(fake: FakeBinance, p: dict[str, str], now: int) -> Any:
    listing = _listing(fake, p)
    bid, bid_qty, ask, ask_qty = _book(fake, listing)
    return {
        "lastUpdateId": now,
        "bids": [[wire(bid), wire(bid_qty)]] if bid else [],
        "asks": [[wire(ask), wire(ask_qty)]] if ask else [],
    }


def _new_order(fake: FakeBinance, p: dict[str, str], now: int) -> Any:
    listing = _listing(fake, p)
    order, trades = fake.account.place(listing, p, now)
    kind = p.get("newOrderRespType") or ("FULL" if order.type in ("MARKET", "LIMIT") else "ACK")
    reply: dict[str, Any] = {
        "symbol": listing.symbol,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.client_id,
        "transactTime": now,
    }
    if kind == "ACK":
        return reply
    view = order.view()
    for name in (
        "price",
        "origQty",
        "executedQty",
        "origQuoteOrderQty",
        "cummulativeQuoteQty",
        "status",
        "timeInForce",
        "type",
        "side",
        "workingTime",
        "selfTradePreventionMode",
    ):
        reply[name] = view[name]
    if order.stop_price:
        reply["stopPrice"] = view["stopPrice"]
    if kind == "FULL":
        reply["fills"] = [t.fill() for t in trades]
    return reply


def _test_order(fake: FakeBinance, p: dict[str, str], now: int) -> Any:
    _listing(fake, p)
    return {}


def _cancel_replace(fake: FakeBinance, p: dict[str, str], now: int) -> Any:
    """``POST /api/v3/order/cancelReplace``: cancel, then place; STOP_ON_FAILURE stops when the cancel fails.

    A failure is HTTP 400 with -2022 (nothing done) or -2021 (cancelled, the new order refused) and both
    halves' results in ``data``, as Binance answers."""
    listing = _listing(fake, p)
    mode = p.get("cancelReplaceMode", "STOP_ON_FAILURE")
    cancel_id = p.get("cancelOrderId")
    old = fake.account.find(listing, int(cancel_id) if cancel_id else None, p.get("cancelOrigClientOrderId"))
    cancel: dict[str, Any]
    if old is None or old.status not in ("NEW", "PARTIALLY_FILLED"):
        cancel = {"code": -2011, "msg": "Unknown order sent."}
        if mode == "STOP_ON_FAILURE":
            data = {
                "cancelResult": "FAILURE",
                "newOrderResult": "NOT_ATTEMPTED",
                "cancelResponse": cancel,
                "newOrderResponse": None,
            }
            raise BinanceError(400, -2022, "Order cancel-replace failed.", data)
    else:
        fake.account.cancel(old, now, p.get("cancelNewClientOrderId", ""))
        cancel = _cancelled(old, now)
    new = {k: v for k, v in p.items() if not k.startswith("cancel")}
    try:
        placed = _new_order(fake, new | {"newOrderRespType": p.get("newOrderRespType", "RESULT")}, now)
    except BinanceError as error:
        data = {
            "cancelResult": "SUCCESS" if old is not None else "FAILURE",
            "newOrderResult": "FAILURE",
            "cancelResponse": cancel,
            "newOrderResponse": {"code": error.code, "msg": error.msg},
        }
        raise BinanceError(400, -2021, "Order cancel-replace partially failed.", data) from None
    return {
        "cancelResult": "SUCCESS",
        "newOrderResult": "SUCCESS",
        "cancelResponse": cancel,
        "newOrderResponse": placed,
    }


def _order_of(fake: FakeBinance, p: dict[str, str], missing: BinanceError, *, orig: bool = True) -> Any:
    listing = _listing(fake, p)
    order_id = p.get("orderId")
    client_id = p.get("origClientOrderId")
    if order_id is None and client_id is None:
        raise BinanceError(
            400, -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!"
        )
    found = fake.account.find(listing, int(order_id) if order_id else None, client_id)
    if found is None:
        raise missing
    return found


def _query_order(fake: FakeBinance, p: dict[str, str], now: int) -> Any:
    return _order_of(fake, p, BinanceError(400, -2013, "Order does not exist.")).view()


def _cancel_order(fake: FakeBinance, p: dict[str, str], now: int) -> Any:
    order = _order_of(fake, p, BinanceError(400, -2011, "Unknown order sent."))
    if order.status not in ("NEW", "PARTIALLY_FILLED"):
        raise BinanceError(400, -2011, "Unknown order sent.")
    fake.account.cancel(order, now, p.get("newClientOrderId", ""))
    return _cancelled(order, now)


def _cancelled(order: Any, now: int) -> dict[str, Any]:
    view = order.view()
    return {
        "symbol": view["symbol"],
        "origClientOrderId": order.client_id,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.cancel_id,
        "transactTime": now,
        "price": view["price"],
        "origQty": view["origQty"],
        "executedQty": view["executedQty"],
        "origQuoteOrderQty": view["origQuoteOrderQty"],
        "cummulativeQuoteQty": view["cummulativeQuoteQty"],
        "status": order.status,
        "timeInForce": view["timeInForce"],
        "type": view["type"],
        "side": view["side"],
        "selfTradePreventionMode": view["selfTradePreventionMode"],
    }


def _open_orders(fake: FakeBinance, p: dict[str, str], now: int) -> Any:
    wanted = _listing(fake, p) if "symbol" in p else None
    return [
        o.view()
        for o in fake.account.orders.values()
        if o.status in ("NEW", "PARTIALLY_FILLED") and (wanted is None or o.listing is wanted)
    ]


def _cancel_open_orders(fake: FakeBinance, p: dict[str, str], now: int) -> Any:
    listing = _listing(fake, p)
    out = []
    for order in list(fake.account.orders.values()):
        if order.listing is listing and order.status in ("NEW", "PARTIALLY_FILLED"):
            fake.account.cancel(order, now, p.get("newClientOrderId", ""))
            out.append(_cancelled(order, now))
    if not out:
        raise BinanceError(400, -2011, "Unknown order sent.")
    return out


def _window(p: dict[str, str]) -> tuple[int, int, int]:
    start = int(p.get("startTime", 0))
    end = int(p.get("endTime", 2**62))
    limit = min(int(p.get("limit", 500)), 1000)
    return start, end, limit


def _all_orders(fake: FakeBinance, p: dict[str, str], now: int) -> Any:
    listing = _listing(fake, p)
    start, end, limit = _window(p)
    since_id = int(p.get("orderId", 0))
    found = [
        o.view()
        for o in fake.account.orders.values()
        if o.listing is listing and start <= o.time <= end and o.order_id >= since_id
    ]
    return found[:limit]


def _my_trades(fake: FakeBinance, p: dict[str, str], now: int) -> Any:
    listing = _listing(fake, p)
    start, end, limit = _window(p)
    from_id = int(p.get("fromId", 0))
    order_id = int(p["orderId"]) if "orderId" in p else None
    found = [
        t.view()
        for t in fake.account.trades
        if t.order.listing is listing
        and start <= t.time <= end
        and t.trade_id >= from_id
        and (order_id is None or t.order.order_id == order_id)
    ]
    return found[:limit]


def _account(fake: FakeBinance, p: dict[str, str], now: int) -> Any:
    rate = "0.00100000"
    return {
        "makerCommission": 10,
        "takerCommission": 10,
        "buyerCommission": 0,
        "sellerCommission": 0,
        "commissionRates": {"maker": rate, "taker": rate, "buyer": "0.00000000", "seller": "0.00000000"},
        "canTrade": True,
        "canWithdraw": True,
        "canDeposit": True,
        "brokered": False,
        "requireSelfTradePrevention": False,
        "preventSor": False,
        "updateTime": now,
        "accountType": "SPOT",
        "balances": fake.account.balances(),
        "permissions": ["SPOT"],
        "uid": 354937868,
    }


_HANDLERS = {
    ("GET", "ping"): _ping,
    ("GET", "time"): _time,
    ("GET", "exchangeInfo"): _exchange_info,
    ("GET", "ticker/24hr"): _ticker,
    ("GET", "ticker/bookTicker"): _book_ticker,
    ("GET", "depth"): _depth,
    ("POST", "order"): _new_order,
    ("POST", "order/test"): _test_order,
    ("POST", "order/cancelReplace"): _cancel_replace,
    ("GET", "order"): _query_order,
    ("DELETE", "order"): _cancel_order,
    ("GET", "openOrders"): _open_orders,
    ("DELETE", "openOrders"): _cancel_open_orders,
    ("GET", "allOrders"): _all_orders,
    ("GET", "myTrades"): _my_trades,
    ("GET", "account"): _account,
}


def main(argv: Sequence[str] | None = None) -> None:
    def options(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--listed", type=int, default=3000, help="symbols in exchangeInfo (a real Binance: ~3000)"
        )
        parser.add_argument("--fees", choices=["bnb", "received"], default="bnb")
        parser.add_argument("--usdt", default="1000000", help="the account's USDT before any trade")
        parser.add_argument("--bnb", default="100", help="the account's BNB (commissions are paid in it)")
        parser.add_argument("--unlimited", action="store_true", help="no weight or order-count limits")

    def make(args: argparse.Namespace) -> FakeBinance:
        return FakeBinance(
            listed=args.listed,
            fees=args.fees,
            balances={"USDT": args.usdt, "BNB": args.bnb},
            limits=None if args.unlimited else Limits(),
            host=args.host,
            port=args.port,
        )

    def banner(fake: Any) -> str:
        return (
            f"fake Binance spot on {fake.api_url} (WebSocket API {fake.ws_api_url})\n"
            f"  key {fake.api_key!r}, secret {fake.secret!r}; in ccxt: ex.urls['api'] = <the urls above>\n"
            f"  or in ntlab: CcxtBroker('binance', key, secret, urls=FakeBinance.ccxt_urls(...))"
        )

    run_fake(
        make,
        argv,
        description="A local fake of Binance spot",
        default_port=8790,
        banner=banner,
        options=options,
    )


if __name__ == "__main__":
    main()
