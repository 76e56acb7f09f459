"""A faithful local fake of OANDA's v20 REST API and its two chunked streams, served on 127.0.0.1.

The same paths (``/v3/accounts/{accountID}/...``), field names, string-encoded numbers, transaction types,
reject reasons and error bodies (``errorCode``, ``errorMessage``) as v20: an order v20 refuses on sight is a
400 with its ``*_ORDER_REJECT`` transaction; one it takes and then cancels (an unfillable FOK, too little
margin, a closed market) is a 201 with the creation and the ORDER_CANCEL. Transactions get increasing string
ids and can be read back by id, by id range, since an id (``/transactions/sinceid``, how a client catches up)
and as account changes since a transaction. The transaction and pricing streams are chunked HTTP, one JSON
object per line, with a HEARTBEAT every ``heartbeat`` seconds. ``Accept-Datetime-Format: UNIX`` is honoured.

Orders fill on the kit's engine (the paper venue's book on the seeded sample market; see ``fake_account``
for how v20 orders become engine orders); the kit's fault plan (``fake.faults``) is committed on every
route, and its stream faults on the transaction stream. OANDA's official ``v20`` library works against it:
``v20.Context("127.0.0.1", port, ssl=False, token=FAKE_TOKEN, decimal_number_as_float=False)``.

Try it without an account: ``python -m ntlab.brokers.oanda.fake --port 8766``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
from aiohttp import web

from ntlab.brokers.oanda.fake_account import Batch, FakeOrder, Refusal, V20Account
from ntlab.brokers.oanda.fake_ledger import ZERO, Trade
from ntlab.brokers.oanda.wire import format_time, instrument_name, parse_time, text
from ntlab.brokers.paper import PaperConfig
from ntlab.testing import FakeEngine, Faults, RequestFault
from ntlab.testing.servers import FakeHttpServer, run_fake
from ntlab.testing.streams import StreamHub

FAKE_TOKEN = "fake-practice-token-0000000000000000-00000000000000000000000000000000"  # the fake's demo token
FAKE_ACCOUNT = "101-001-1234567-001"
UNAUTHORIZED = "Insufficient authorization to perform request."
RATE_LIMITED = "Requests per second exceeds maximum allowed value of 100"
ORDER_STATES = ("PENDING", "FILLED", "TRIGGERED", "CANCELLED", "ALL")
TRADE_STATES = ("OPEN", "CLOSED", "CLOSE_WHEN_TRADEABLE", "ALL")
#: v20's transaction filters that name groups of types (the rest name one type each).
FILTER_GROUPS = {
    "ORDER": lambda t: t.endswith("_ORDER") or t.startswith("ORDER_") or t.endswith("_ORDER_REJECT"),
    "FUNDING": lambda t: t.startswith("TRANSFER_FUNDS"),
    "ADMIN": lambda t: t in ("CREATE", "CLOSE", "REOPEN", "CLIENT_CONFIGURE", "CLIENT_CONFIGURE_REJECT"),
}

Handler = Callable[[web.Request], Awaitable[tuple[int, dict[str, Any]]]]


def _dumps(body: Any) -> bytes:
    return orjson.dumps(body)


def _unix_times(value: Any) -> Any:
    """A body with every RFC 3339 time as UNIX seconds, for ``Accept-Datetime-Format: UNIX``."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if isinstance(item, str) and (key == "time" or key.endswith("Time") or key == "timestamp"):
                when = parse_time(item) if "T" in item else None
                out[key] = format_time(when, unix=True) if when is not None else item
            else:
                out[key] = _unix_times(item)
        return out
    if isinstance(value, list):
        return [_unix_times(item) for item in value]
    return value


class FakeOanda(FakeHttpServer):
    """The fake v20 server. ``async with FakeOanda() as fake:`` serves on a free port of 127.0.0.1.

    ``base_url`` is what an adapter (or ``v20.Context``) is pointed at; the streams are served on the same
    port (OANDA serves them from ``stream-fxpractice``). ``heartbeat`` is the streams' heartbeat interval
    in seconds (5 on OANDA); ``cash`` funds the account in ``currency``; ``margin_rate`` is every
    instrument's margin rate (0.02: 50:1 leverage).
    """

    def __init__(
        self,
        engine: FakeEngine | None = None,
        *,
        token: str = FAKE_TOKEN,
        account_id: str = FAKE_ACCOUNT,
        currency: str = "USD",
        cash: Decimal | int | str = 100_000,
        margin_rate: Decimal | str = "0.02",
        heartbeat: float = 5.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        engine = engine or FakeEngine(config=PaperConfig(taker_fee_bps=Decimal(0), maker_fee_bps=Decimal(0)))
        super().__init__(engine, host=host, port=port)
        self.token = token
        self.heartbeat = heartbeat
        self.account = V20Account(
            self.engine,
            account_id=account_id,
            currency=currency,
            cash=Decimal(str(cash)),
            margin_rate=Decimal(str(margin_rate)),
        )
        self.hub = StreamHub(self.faults)  # the transaction stream: the kit's stream faults apply here
        self.price_faults = Faults()
        self._price_hubs: dict[tuple[str, ...], StreamHub] = {}
        self._published: dict[str, tuple[Any, ...]] = {}
        self._closed_day = False
        self._request_ids = itertools.count(1)
        self.account.listeners.append(self.hub.broadcast)

    @property
    def account_id(self) -> str:
        return self.account.id

    @property
    def stream_url(self) -> str:
        return self.base_url

    @property
    def last_transaction_id(self) -> int:
        return int(self.account.last_id)

    # --- what tests and the conformance suite read -------------------------------------------------------
    def fills(self) -> list[dict[str, Any]]:
        return [t for t in self.account.transactions if t["type"] == "ORDER_FILL"]

    def positions(self) -> dict[str, Decimal]:
        """Net units per instrument in ntlab's symbols (zero positions left out)."""
        ledger = self.account.ledger
        held = {name.replace("_", "/"): ledger.net_units(name) for name in ledger.books}
        return {symbol: units for symbol, units in held.items() if units}

    def client_ids(self) -> list[str]:
        """The client id of every order the account took (creations, not rejections), oldest first."""
        return [
            o.data["clientExtensions"]["id"]
            for o in sorted(self.account.orders.values(), key=lambda o: int(o.id))
            if (o.data.get("clientExtensions") or {}).get("id")
        ]

    def place(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Place an order as another app would (no HTTP): returns the creation transaction."""
        created, _, _ = self.account.create(spec, self.account.batch())
        return created

    def drop_streams(self, prices: bool = False) -> int:
        """Cut the transaction stream (and the pricing streams) without a goodbye."""
        dropped = self.hub.drop()
        if prices:
            dropped += sum(hub.drop() for hub in self._price_hubs.values())
        return dropped

    # --- the clock ---------------------------------------------------------------------------------------
    async def advance(self, seconds: float = 1.0) -> None:
        """Step the simulated clock: orders meet the market, GTD orders expire, the day's financing is
        booked at the close, and prices stream out."""
        await self.engine.advance(seconds)
        self.account.expire_due()
        if not self._closed_day and not self.account.tradeable():
            self._closed_day = True
            self.account.rollover()
        self.publish_prices()
        await asyncio.sleep(0)

    def publish_prices(self) -> None:
        """Send each subscribed instrument's price if it changed since it was last sent."""
        if not self._price_hubs:
            return
        names = {n for key in self._price_hubs for n in key}
        marks = self.account.marks()
        for name in names:
            price = self.account.price_json(name, marks)
            if price is None:
                continue
            signature = (
                price["time"],
                price["bids"][0]["price"],
                price["asks"][0]["price"],
                price["tradeable"],
            )
            if self._published.get(name) == signature:
                continue
            self._published[name] = signature
            for key, hub in self._price_hubs.items():
                if name in key:
                    hub.broadcast(price)

    # --- how v20 answers ------------------------------------------------------------------------------------
    def error(self, status: int, message: str, request: web.Request) -> web.StreamResponse:
        return self._json(status, {"errorMessage": message}, request)

    def rate_limited(self, fault: RequestFault, request: web.Request) -> web.StreamResponse:
        response = self._json(429, {"errorMessage": RATE_LIMITED}, request)
        if fault.retry_after is not None:
            response.headers["Retry-After"] = str(math.ceil(fault.retry_after))
        return response

    def faultless(self, request: web.Request) -> bool:
        return request.path.endswith("/stream")

    def _json(self, status: int, body: dict[str, Any], request: web.Request) -> web.Response:
        if request.headers.get("Accept-Datetime-Format", "RFC3339").upper() == "UNIX":
            body = _unix_times(body)
        return web.Response(
            body=_dumps(body),
            status=status,
            content_type="application/json",
            headers={"RequestID": f"{next(self._request_ids):018d}"},
        )

    def _guard(self, request: web.Request, *, account: bool = True) -> web.Response | None:
        """v20's 401 for a missing or wrong token, 403 for an account the token does not hold."""
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return self._json(401, {"errorMessage": UNAUTHORIZED}, request)
        if account and request.match_info.get("account") != self.account.id:
            return self._json(403, {"errorMessage": "The provided request was forbidden."}, request)
        return None

    def _v20(
        self, handler: Handler, *, account: bool = True
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def route(request: web.Request) -> web.StreamResponse:
            refused = self._guard(request, account=account)
            if refused is not None:
                return refused
            try:
                status, body = await handler(request)
            except Refusal as refusal:
                status, body = 400, {"errorCode": refusal.reason, "errorMessage": str(refusal)}
            return self._json(status, body, request)

        return route

    def routes(self, router: web.UrlDispatcher) -> None:
        a = "/v3/accounts/{account}"
        v = self._v20
        router.add_get("/v3/accounts", v(self._accounts, account=False))
        router.add_get(a, v(self._account_details))
        router.add_get(f"{a}/summary", v(self._summary))
        router.add_get(f"{a}/instruments", v(self._instruments))
        router.add_patch(f"{a}/configuration", v(self._configure))
        router.add_get(f"{a}/changes", v(self._changes))
        router.add_post(f"{a}/orders", v(self._create_order))
        router.add_get(f"{a}/orders", v(self._list_orders))
        router.add_get(f"{a}/pendingOrders", v(self._pending_orders))
        router.add_get(f"{a}/orders/{{spec}}", v(self._get_order))
        router.add_put(f"{a}/orders/{{spec}}", v(self._replace_order))
        router.add_put(f"{a}/orders/{{spec}}/cancel", v(self._cancel_order))
        router.add_put(f"{a}/orders/{{spec}}/clientExtensions", v(self._order_extensions))
        router.add_get(f"{a}/trades", v(self._list_trades))
        router.add_get(f"{a}/openTrades", v(self._open_trades))
        router.add_get(f"{a}/trades/{{spec}}", v(self._get_trade))
        router.add_put(f"{a}/trades/{{spec}}/close", v(self._close_trade))
        router.add_get(f"{a}/positions", v(self._positions))
        router.add_get(f"{a}/openPositions", v(self._open_positions))
        router.add_get(f"{a}/positions/{{instrument}}", v(self._position))
        router.add_put(f"{a}/positions/{{instrument}}/close", v(self._close_position))
        router.add_get(f"{a}/transactions/stream", self._transaction_stream)
        router.add_get(f"{a}/transactions/idrange", v(self._id_range))
        router.add_get(f"{a}/transactions/sinceid", v(self._since_id))
        router.add_get(f"{a}/transactions", v(self._transaction_pages))
        router.add_get(f"{a}/transactions/{{id}}", v(self._transaction))
        router.add_get(f"{a}/pricing/stream", self._pricing_stream)
        router.add_get(f"{a}/pricing", v(self._pricing))

    @property
    def _last(self) -> dict[str, str]:
        return {"lastTransactionID": self.account.last_id}

    # --- accounts --------------------------------------------------------------------------------------
    async def _accounts(self, request: web.Request) -> tuple[int, dict[str, Any]]:
        return 200, {"accounts": [{"id": self.account.id, "tags": []}]}

    async def _account_details(self, request: web.Request) -> tuple[int, dict[str, Any]]:
        acct = self.account
        details = acct.summary() | {
            "trades": acct.trade_jsons(acct.ledger.open.values(), summary=True),
            "positions": acct.positions_json(open_only=False),
            "orders": [acct.order_json(o) for o in acct.pending_orders()],
        }
        return 200, {"account": details, **self._last}

    async def _summary(self, request: web.Request) -> tuple[int, dict[str, Any]]:
        return 200, {"account": self.account.summary(), **self._last}

    async def _instruments(self, request: web.Request) -> tuple[int, dict[str, Any]]:
        wanted = _names(request.query.get("instruments"))
        specs = [s.to_v20() for n, s in self.account.specs.items() if not wanted or n in wanted]
        return 200, {"instruments": specs, **self._last}

    async def _configure(self, request: web.Request) -> tuple[int, dict[str, Any]]:
        body = await _body(request)
        acct = self.account
        rate = body.get("marginRate")
        if rate is not None:
            acct.margin_rate = Decimal(str(rate))
        if body.get("alias") is not None:
            acct.alias = str(body["alias"])
        txn = acct.record(acct.batch(), "CLIENT_CONFIGURE", alias=body.get("alias"), marginRate=rate)
        return 200, {"clientConfigureTransaction": txn, **self._last}

    async def _changes(self, request: web.Request) -> tuple[int, dict[str, Any]]:
        since = _int(request.query.get("sinceTransactionID"), "sinceTransactionID")
        acct = self.account
        txns = acct.transactions[since:]
        created = []  # orders are held oldest first: the new ones are at the end
        for order in reversed(acct.orders.values()):
            if int(order.id) <= since:
                break
            created.append(order)
        created.reverse()
        # an order cancelled or filled since then was named by its ORDER_CANCEL or ORDER_FILL since then
        later = acct.transactions[max(since, 0) :]
        named = {
            kind: {t["orderID"] for t in later if t["type"] == kind and t.get("orderID")}
            for kind in ("ORDER_CANCEL", "ORDER_FILL")
        }

        def touched(state: str, key: str, kind: str) -> list[dict[str, Any]]:
            chosen = (acct.orders[i] for i in sorted(named[kind], key=int) if i in acct.orders)
            return [
                acct.order_json(o)
                for o in chosen
                if o.data["state"] == state and int(o.data.get(key, 0)) > since
            ]

        fills = [t for t in txns if t["type"] == "ORDER_FILL"]
        opened = {f["tradeOpened"]["tradeID"] for f in fills if "tradeOpened" in f}
        reduced = {f["tradeReduced"]["tradeID"] for f in fills if "tradeReduced" in f}
        closed = {c["tradeID"] for f in fills for c in f.get("tradesClosed", [])}
        trades = acct.ledger.trades
        instruments = {f["instrument"] for f in fills}
        marks = acct.marks()
        changes = {
            "ordersCreated": [acct.order_json(o) for o in created],
            "ordersCancelled": touched("CANCELLED", "cancellingTransactionID", "ORDER_CANCEL"),
            "ordersFilled": touched("FILLED", "fillingTransactionID", "ORDER_FILL"),
            "ordersTriggered": [],
            "tradesOpened": acct.trade_jsons(
                [trades[i] for i in sorted(opened, key=int) if i in trades], marks, summary=True
            ),
            "tradesReduced": acct.trade_jsons(
                [trades[i] for i in sorted(reduced - closed, key=int)], marks, summary=True
            ),
            "tradesClosed": acct.trade_jsons(
                [trades[i] for i in sorted(closed, key=int)], marks, summary=True
            ),
            "positions": [acct.ledger.position_json(n, marks) for n in sorted(instruments)],
            "transactions": txns,
        }
        summary = acct.summary()
        state_keys = (
            "unrealizedPL", "NAV", "marginUsed", "marginAvailable", "positionValue",
            "marginCloseoutUnrealizedPL", "marginCloseoutNAV", "marginCloseoutMarginUsed",
            "marginCloseoutPercent", "marginCloseoutPositionValue", "withdrawalLimit",
            "marginCallMarginUsed", "marginCallPercent",
        )  # fmt: skip
        live = acct.ledger.open.values()
        state = {k: summary[k] for k in state_keys} | {
            "orders": [],
            "trades": [
                {
                    "id": t.id,
                    "unrealizedPL": text(acct.ledger.unrealized(t, marks).quantize(Decimal("0.0001"))),
                    "marginUsed": text(acct.ledger.margin(t, marks).quantize(Decimal("0.0001"))),
                }
                for t in live
            ],
            "positions": [
                {
                    "instrument": p["instrument"],
                    "netUnrealizedPL": p["unrealizedPL"],
                    "longUnrealizedPL": p["long"]["unrealizedPL"],
                    "shortUnrealizedPL": p["short"]["unrealizedPL"],
                    "marginUsed": p["marginUsed"],
                }
                for p in acct.positions_json(open_only=True)
            ],
        }
        return 200, {"changes": changes, "state": state, **self._last}

    # --- orders ------------------------------------------------------------------------------------------
    async def _create_order(self, request: web.Request) -> tuple[int, dict[str, Any]]:
        spec = (await _body(request)).get("order")
        if not isinstance(spec, dict):
            raise Refusal("INVALID_ORDER", "Invalid value specified for 'order'")
        acct = self.account
        batch = acct.batch()
        try:
            created, fill, cancel = acct.create(spec, batch)
        except Refusal as refusal:
            return 400, self._reject(spec, refusal, batch)
        body: dict[str, Any] = {"orderCreateTransaction": created}
        if fill is not None:
            body["orderFillTransaction"] = fill
        if cancel is not None:
            body["orderCancelTransaction"] = cancel
        return 201, body | {"relatedTransactionIDs": batch.ids, **self._last}

    def _reject(self, spec: dict[str, Any], refusal: Refusal, batch: Batch) -> dict[str, Any]:
        """The 400 of an order v20 refuses on sight: its reject transaction, errorCode and errorMessage."""
        kind = spec.get("type")
        body: dict[str, Any] = {"errorCode": refusal.reason, "errorMessage": str(refusal)}
        if kind in ("MARKET", "LIMIT", "STOP", "MARKET_IF_TOUCHED"):
            fields = {k: v for k, v in spec.items() if k != "type"}
            txn = self.account.record(
                batch, f"{kind}_ORDER_REJECT", **fields, reason="CLIENT_ORDER", rejectReason=refusal.reason
            )
            body = {"orderRejectTransaction": txn, "relatedTransactionIDs": batch.ids} | body
        return body | self._last

    def _order_or_404(self, request: web.Request) -> FakeOrder | tuple[int, dict[str, Any]]:
        found = self.account.find_order(request.match_info["spec"])
        if found is None:
            return 404, {
                "errorCode": "ORDER_DOESNT_EXIST",
                "errorMessage": "The Order specified does not exist",
                **self._last,
            }
        return found

    async def _get_order(self, request: web.Request) -> tuple[int, dict[str, Any]]:
        found = self._order_or_404(request)
        if not isinstance(found, FakeOrder):
            return found
        return 200, {"order": self.account.order_json(found), **self._last}

    async def _list_orders(self, request: web.Request) -> tuple[int, dict[str, Any]]:
        query = request.query
        state = query.get("state", "PENDING")
        if state not in ORDER_STATES:
            raise Refusal("INVALID_STATE", f"Invalid value specified for 'state': {state!r}")
        count = _count(query.get("count"), 50, 500)
        before = _int(query.get("beforeID"), "beforeID") if query.get("beforeID") else None
        ids = set(_names(query.get("ids")))
        instrument = query.get("instrument")
        found = []
        pool = self.account.pending_orders() if state == "PENDING" else reversed(self.account.orders.values())
        for order in pool:  # newest first
            data = order.data
            if state != "ALL" and data["state"] != state:
                continue
            if before is not None and int(order.id) > before:
                continue
            if ids and order.id not in ids:
                continue
            if instrument and instrument_name(order.symbol) != instrument:  # a trade's orders have none
                continue
            found.append(self.account.order_json(order))
            if len(found) >= count:
                break
        return 200, {"orders": found, **self._last}

    async def _pending_orders(self, request: web.Request) -> tuple[int, dict[str, Any]]:
        return 200, {
            "orders": [self.account.order_json(o) for o in self.account.pending_orders()],
            **self._last,
        }

    def _no_pending_order(self, spec: str, batch: Batch) -> tuple[int, dict[str, Any]]:
        """v20's answer to a cancel or replace of an order that is not pending: a 404 with the reject."""
        txn = self.account.cancel_reject(spec, batch)
        return 404, {
            "orderCancelRejectTransaction": txn,
            "relatedTransactionIDs": batch.ids,
            **self._last,
            "errorCode": "ORDER_DOESNT_EXIST",
            "errorMessage": "The Order specified does not exist",
        }

    async def _cancel_order(self, request: web.Request) -> tuple[int, dict[str, Any]]:
        acct = self.account
        batch = acct.batch()
        found = acct.find_order(request.match_info["spec"])
        if found is None or not found.pending:
            return self._no_pending_order(request.match_info["spec"], batch)
        txn = acct.cancel(found, batch)
        return 200, {"orderCancelTransaction": txn, "relatedTransactionIDs": batch.ids, **self._last}

    async def _replace_order(self, request: web.Request) -> tuple[int, dict[str, Any]]:
        acct = self.account
        spec = (await _body(request)).get("order")
        if not isinstance(spec, dict):
            raise Refusal("INVALID_ORDER", "Invalid value specified for 'order'")
        batch = acct.batch()
        found = acct.find_order(request.match_info["spec"])
        if found is None or not found.pending:
            return self._no_pending_order(request.match_info["spec"], batch)
        try:
            answer = acct.replace(found, spec, batch)
        except Refusal as refusal:
            return 400, self._reject(spec, refusal, batch)
        return 201, answer | {"relatedTransactionIDs": batch.ids, **self._last}

    async def _order_extensions(self, request: web.Request) -> tuple[int, dict[str, Any]]:
        acct = self.account
        found = self._order_or_404(request)
        if not isinstance(found, FakeOrder):
            return found
        body = await _body(request)
        ext = body.get("clientExtensions") or {}
        client = ext.get("id")
        if client and acct.by_client.get(client, found.id) != found.id:
            raise Refusal("CLIENT_ORDER_ID_ALREADY_EXISTS")
        merged = (found.data.get("clientExtensions") or {}) | ext
        old = (found.data.get("clientExtensions") or {}).get("id")
        if client and old and old != client:
            acct.by_client.pop(old, None)
        if client:
            acct.by_client[client] = found.id
        found.data["clientExtensions"] = merged
        batch = acct.batch()
        txn = acct.record(
            batch,
            "ORDER_CLIENT_EXTENSIONS_MODIFY",
            orderID=found.id,
            clientOrderID=merged.get("id"),
            clientExtensionsModify=ext,
        )
        return 200, {
            "orderClientExtensionsModifyTransaction": txn,
            "relatedTransactionIDs": batch.ids,
            **self._last,
        }

    # --- trades and positions --------------------------------------------------------------------------
    async def _list_trades(self, request: web.Request) -> tuple[int, dict[str, Any]]:
        query = request.query
        state = query.get("state", "OPEN")
        if state not in TRADE_STATES:
            raise Refusal("INVALID_STATE", f"Invalid value specified for 'state': {state!r}")
        count = _count(query.get("count"), 50, 500)
        before = _int(query.get("beforeID"), "beforeID") if query.get("beforeID") else None
        ids = set(_names(query.get("ids")))
        instrument = query.get("instrument")
        found: list[Trade] = []
        ledger = self.account.ledger
        pool: dict[str, Trade] = ledger.open if state == "OPEN" else ledger.trades
        if state == "CLOSE_WHEN_TRADEABLE":  # a netting account's trades are never waiting to close
            pool = {}
        for trade in reversed(pool.values()):  # newest first
            if state == "CLOSED" and trade.open:
                continue
            if before is not None and int(trade.id) > before:
                continue
            if (ids and trade.id not in ids) or (instrument and trade.instrument != instrument):
                continue
            found.append(trade)
            if len(found) >= count:
                break
        return 200, {"trades": self.account.trade_jsons(found), **self._last}

    async def _open_trades(self, request: web.Request) -> tuple[int, dict[str, Any]]:
        live = reversed(self.account.ledger.open.values())  # newest first
        return 200, {"trades": self.account.trade_jsons(live), **self._last}

    async def _get_trade(self, request: web.Request) -> tuple[int, dict[str, Any]]:
        trade = self.account.find_trade(request.match_info["spec"])
        if trade is None:
            return 404, {
                "errorCode": "TRADE_DOESNT_EXIST",
                "errorMessage": "The Trade specified does not exist",
                **self._last,
            }
        return 200, {"trade": self.account.trade_jsons([trade])[0], **self._last}

    async def _close_trade(self, request: web.Request) -> tuple[int, dict[str, Any]]:
        acct = self.account
        trade = acct.find_trade(request.match_info["spec"])
        batch = acct.batch()
        if trade is None or not trade.open:
            return 404, {
                "errorCode": "TRADE_DOESNT_EXIST",
                "errorMessage": "The Trade specified does not exist",
                **self._last,
            }
        asked = (await _body(request)).get("units", "ALL")
        units = abs(trade.units) if asked == "ALL" else Decimal(str(asked))
        if units <= 0 or units > abs(trade.units):
            return 400, {
                "errorCode": "CLOSE_TRADE_UNITS_EXCEED_TRADE_SIZE",
                "errorMessage": "The units specified exceed the size of the Trade",
                **self._last,
            }
        signed = -units if trade.units > 0 else units
        close = {"tradeID": trade.id, "units": "ALL" if asked == "ALL" else text(units)}
        if trade.client_extensions and trade.client_extensions.get("id"):
            close["clientTradeID"] = trade.client_extensions["id"]
        created, fill, cancel = acct.close_units(
            trade.instrument, signed, batch, extra={"tradeClose": close}, close_trade=trade.id
        )
        body: dict[str, Any] = {"orderCreateTransaction": created}
        if fill is not None:
            body["orderFillTransaction"] = fill
        if cancel is not None:
            body["orderCancelTransaction"] = cancel
        return 200, body | {"relatedTransactionIDs": batch.ids, **self._last}

    async def _positions(self, request: web.Request) -> tuple[int, dict[str, Any]]:
        return 200, {"positions": self.account.positions_json(open_only=False), **self._last}

    async def _open_positions(self, request: web.Request) -> tuple[int, dict[str, Any]]:
        return 200, {"positions": self.account.positions_json(open_only=True), **self._last}

    async def _position(self, request: web.Request) -> tuple[int, dict[str, Any]]:
        name = request.match_info["instrument"]
        if name not in self.account.specs:
            return 404, {
                "errorCode": "INSTRUMENT_UNKNOWN",
                "errorMessage": "The instrument specified is unknown",
                **self._last,
            }
        return 200, {"position": self.account.ledger.position_json(name, self.account.marks()), **self._last}

    async def _close_position(self, request: web.Request) -> tuple[int, dict[str, Any]]:
        acct = self.account
        name = request.match_info["instrument"]
        body = await _body(request)
        net = acct.ledger.net_units(name) if name in acct.specs else ZERO
        answer: dict[str, Any] = {}
        batch = acct.batch()
        for side, key, sign in (("long", "longUnits", 1), ("short", "shortUnits", -1)):
            asked = body.get(key, "NONE")
            if asked == "NONE":
                continue
            held = net if (net > 0) == (sign > 0) and net != 0 else ZERO
            units = abs(held) if asked == "ALL" else Decimal(str(asked))
            if held == 0 or units <= 0 or units > abs(held):
                return 400, {
                    "errorCode": "CLOSEOUT_POSITION_DOESNT_EXIST"
                    if held == 0
                    else "CLOSEOUT_POSITION_UNITS_EXCEED_POSITION_SIZE",
                    "errorMessage": "The Position requested to be closed out does not exist"
                    if held == 0
                    else "The units specified exceed the size of the Position",
                    **self._last,
                }
            closeout = {"instrument": name, "units": "ALL" if asked == "ALL" else text(units)}
            created, fill, cancel = acct.close_units(
                name, -units * sign, batch, extra={f"{side}PositionCloseout": closeout}
            )
            answer[f"{side}OrderCreateTransaction"] = created
            if fill is not None:
                answer[f"{side}OrderFillTransaction"] = fill
            if cancel is not None:
                answer[f"{side}OrderCancelTransaction"] = cancel
        if not answer:
            return 400, {
                "errorCode": "CLOSEOUT_POSITION_INCOMPLETE_SPECIFICATION",
                "errorMessage": "Specify longUnits or shortUnits",
                **self._last,
            }
        return 200, answer | {"relatedTransactionIDs": batch.ids, **self._last}

    # --- transactions ------------------------------------------------------------------------------------
    def _typed(self, txns: Sequence[dict[str, Any]], request: web.Request) -> list[dict[str, Any]]:
        wanted = _names(request.query.get("type"))
        if not wanted:
            return list(txns)
        checks = [FILTER_GROUPS.get(w, lambda t, w=w: t == w) for w in wanted]
        return [t for t in txns if any(check(t["type"]) for check in checks)]

    async def _transaction(self, request: web.Request) -> tuple[int, dict[str, Any]]:
        txn = self.account.transaction(request.match_info["id"])
        if txn is None:
            return 404, {
                "errorCode": "TRANSACTION_DOESNT_EXIST",
                "errorMessage": "The Transaction specified does not exist",
                **self._last,
            }
        return 200, {"transaction": txn, **self._last}

    async def _id_range(self, request: web.Request) -> tuple[int, dict[str, Any]]:
        low = _int(request.query.get("from"), "from")
        high = _int(request.query.get("to"), "to")
        chosen = self.account.transactions[max(low, 1) - 1 : max(high, 0)]
        return 200, {"transactions": self._typed(chosen, request), **self._last}

    async def _since_id(self, request: web.Request) -> tuple[int, dict[str, Any]]:
        after = _int(request.query.get("id"), "id")
        return 200, {"transactions": self.account.transactions[max(after, 0) :], **self._last}

    async def _transaction_pages(self, request: web.Request) -> tuple[int, dict[str, Any]]:
        query = request.query
        start = parse_time(query["from"]) if query.get("from") else self.account.created
        end = parse_time(query["to"]) if query.get("to") else self.engine.now()
        size = _count(query.get("pageSize"), 100, 1000)
        if start is None or end is None:
            raise Refusal("INVALID_RANGE", "Invalid value specified for 'from' or 'to'")
        chosen = [t for t in self._typed(self.account.transactions, request) if start <= _when(t) <= end]
        types = query.get("type")
        base = f"{request.scheme}://{request.host}{request.path}/idrange"
        pages = []
        for first in range(0, len(chosen), size):
            chunk = chosen[first : first + size]
            url = f"{base}?from={chunk[0]['id']}&to={chunk[-1]['id']}"
            pages.append(url + (f"&type={types}" if types else ""))
        body = {
            "from": format_time(start),
            "to": format_time(end),
            "pageSize": size,
            "count": len(chosen),
            "pages": pages,
        }
        if types:
            body["type"] = _names(types)
        return 200, body | self._last

    # --- pricing -----------------------------------------------------------------------------------------
    async def _pricing(self, request: web.Request) -> tuple[int, dict[str, Any]]:
        names = _names(request.query.get("instruments"))
        unknown = [n for n in names if n not in self.account.specs]
        if not names or unknown:
            raise Refusal(
                "INVALID_INSTRUMENTS",
                f"Invalid value specified for 'instruments': {','.join(unknown) or '(none)'}",
            )
        marks = self.account.marks()
        since = parse_time(request.query["since"]) if request.query.get("since") else None
        prices = [p for p in (self.account.price_json(n, marks) for n in names) if p is not None]
        if since is not None:
            prices = [p for p in prices if _when(p) > since]
        body: dict[str, Any] = {"prices": prices, "time": format_time(self.engine.now())}
        if request.query.get("includeHomeConversions", "").lower() == "true":
            body["homeConversions"] = self.account.home_conversions(names, marks)
        return 200, body

    # --- streams -----------------------------------------------------------------------------------------
    async def _transaction_stream(self, request: web.Request) -> web.StreamResponse:
        refused = self._guard(request)
        if refused is not None:
            return refused
        return await self._stream(
            request,
            self.hub,
            lambda: {"type": "HEARTBEAT", **self._last, "time": format_time(self.engine.now())},
        )

    async def _pricing_stream(self, request: web.Request) -> web.StreamResponse:
        refused = self._guard(request)
        if refused is not None:
            return refused
        names = tuple(sorted(_names(request.query.get("instruments"))))
        unknown = [n for n in names if n not in self.account.specs]
        if not names or unknown:
            body = {
                "errorMessage": f"Invalid value specified for 'instruments': {','.join(unknown) or '(none)'}"
            }
            return self._json(400, body, request)
        hub = self._price_hubs.get(names)
        if hub is None:
            hub = self._price_hubs[names] = StreamHub(self.price_faults)
        snapshot = []
        if request.query.get("snapshot", "true").lower() != "false":
            marks = self.account.marks()
            snapshot = [p for p in (self.account.price_json(n, marks) for n in names) if p is not None]
        return await self._stream(
            request, hub, lambda: {"type": "HEARTBEAT", "time": format_time(self.engine.now())}, snapshot
        )

    async def _stream(
        self,
        request: web.Request,
        hub: StreamHub,
        heartbeat: Callable[[], dict[str, Any]],
        first: Sequence[dict[str, Any]] = (),
    ) -> web.StreamResponse:
        """One chunked v20 stream: lines from the hub (its faults committed there), heartbeats between."""
        if hub.refuse():
            return self._json(503, {"errorMessage": "The stream is unavailable; try again"}, request)
        unix = request.headers.get("Accept-Datetime-Format", "RFC3339").upper() == "UNIX"
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/octet-stream"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        lock = asyncio.Lock()
        gone = asyncio.Event()

        async def send(message: dict[str, Any]) -> None:
            line = _dumps(_unix_times(message) if unix else message) + b"\n"
            async with lock:
                try:
                    await response.write(line)
                except (ConnectionError, RuntimeError):
                    gone.set()
                    raise ConnectionResetError("the client left") from None

        def abort() -> None:
            gone.set()
            if request.transport is not None:
                request.transport.abort()

        connection = hub.subscribe(send, abort)
        for message in first:
            connection.queue.put_nowait(message)
        try:
            loop = asyncio.get_running_loop()
            beat_at = loop.time() + self.heartbeat
            while not gone.is_set() and not connection.task.done():
                transport = request.transport
                if transport is None or transport.is_closing():
                    break
                wait = beat_at - loop.time()
                if wait <= 0:
                    with contextlib.suppress(ConnectionResetError):
                        await send(heartbeat())
                    beat_at = loop.time() + self.heartbeat
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(gone.wait(), min(wait, 0.1))
        finally:
            await connection.stop()
        return response

    async def stop(self) -> None:
        await self.hub.close()
        for hub in self._price_hubs.values():
            await hub.close()
        await super().stop()


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        raise Refusal("INVALID_JSON", "Invalid JSON in the request body") from None
    if not isinstance(body, dict):
        raise Refusal("INVALID_JSON", "The request body must be a JSON object")
    return body


def _names(value: str | None) -> list[str]:
    return [part for part in (value or "").split(",") if part]


def _int(value: str | None, name: str) -> int:
    try:
        return int(value or "")
    except ValueError:
        raise Refusal("INVALID_PARAMETER", f"Invalid value specified for '{name}'") from None


def _count(value: str | None, default: int, most: int) -> int:
    if value is None:
        return default
    count = _int(value, "count")
    if not 1 <= count <= most:
        raise Refusal("INVALID_PARAMETER", f"Invalid value specified for 'count': at most {most}")
    return count


def _when(item: dict[str, Any]) -> datetime:
    found = parse_time(item.get("time"))
    assert found is not None
    return found


def _make(args: Any) -> FakeOanda:
    return FakeOanda(host=args.host, port=args.port, cash=args.cash, currency=args.currency)


def _options(parser: Any) -> None:
    parser.add_argument("--cash", default="100000", help="the practice account's starting balance")
    parser.add_argument("--currency", default="USD", help="the account's home currency")


def _banner(fake: Any) -> str:
    return (
        f"fake OANDA v20 on {fake.base_url} (streams on the same port)\n"
        f"account {fake.account_id}; token: the fake's demo token, ntlab.brokers.oanda.fake.FAKE_TOKEN\n"
        f"try: OANDA_TOKEN=<token> OANDA_ACCOUNT_ID={fake.account_id} BROKER=oanda BROKER_BASE_URL={fake.base_url}"
    )


def main(argv: Sequence[str] | None = None) -> None:
    run_fake(
        _make,
        argv,
        description="Serve a fake OANDA v20 practice account on loopback",
        default_port=8766,
        banner=_banner,
        options=_options,
    )


if __name__ == "__main__":
    main()
