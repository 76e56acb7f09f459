"""AlpacaBroker: the Broker protocol over Alpaca's Trading API v2, its trade_updates stream and its market data.

One pooled keep-alive ``httpx.AsyncClient`` (in ``rest``) carries every REST call over httpx's own
transport; a semaphore bounds how many requests are in flight and a token bucket keeps under Alpaca's
budget. Submitting is safe to repeat because ntlab's order id is always sent as ``client_order_id``. The
adapter sends each submit once and says what it knows: a refused connection is ``BrokerUnavailable`` (it
never arrived), a timeout, a reset, a 5xx or a 422 "must be unique" (an earlier attempt did arrive) are
``BrokerTimeout``, and the manager's one retry policy looks the order up by client id before sending again.

Order classes go as Alpaca's: one bracket, oto or oco order whose exits Alpaca makes orders of their own;
their news lands on ntlab's legs (``<id>-tp`` / ``<id>-sl``) through :mod:`ids`. Trailing stops, fractional
quantities, ``close_position`` / ``flatten`` (Alpaca's own endpoints), fees from the account activities
(:mod:`fees`) and streamed quotes for pre-trade risk (:mod:`quotes`) are Alpaca's too.

Live versus paper is decided only by the live-trading gate (``ExecutionConfig.live``): without it the
adapter refuses Alpaca's live host whatever URL it is given.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import quote as quote_path
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, SecretStr

from ntlab.brokers.alpaca import fees, mapping
from ntlab.brokers.alpaca.ids import IdMap
from ntlab.brokers.alpaca.quotes import QuoteBook
from ntlab.brokers.alpaca.ratelimit import RateLimiter
from ntlab.brokers.alpaca.rest import AlpacaRest
from ntlab.brokers.alpaca.stream import TradeStream
from ntlab.core.broker import AssetFlags, UpdateSink
from ntlab.core.legs import STOP_LOSS, TAKE_PROFIT
from ntlab.core.lifecycle import ReplaceChange
from ntlab.core.records import Account, Fill, Order, Position, Quote
from ntlab.core.reports import (
    CancelRejected,
    FeeCharged,
    OrderUpdate,
    Rejected,
    Replaced,
    ReplaceRejected,
)
from ntlab.core.submit import broker_truth
from ntlab.errors import BrokerError, BrokerTimeout, ConfigError, LiveTradingError, SessionClosed

if TYPE_CHECKING:
    from ntlab.config import ExecutionConfig

log = logging.getLogger(__name__)

PAPER_URL = "https://paper-api.alpaca.markets"
LIVE_URL = "https://api.alpaca.markets"
DATA_URL = "https://data.alpaca.markets"
_LIVE_HOSTS = frozenset({"api.alpaca.markets"})
_LEG_SUFFIXES = (f"-{TAKE_PROFIT}", f"-{STOP_LOSS}")
_PAGE = 500


class AlpacaAccount(BaseModel):
    """The fields of GET /v2/account a trader looks at; money as Decimal."""

    model_config = ConfigDict(frozen=True, extra="allow")

    id: str
    account_number: str | None = None
    status: str
    currency: str | None = None
    buying_power: Decimal | None = None
    cash: Decimal | None = None
    equity: Decimal | None = None
    last_equity: Decimal | None = None
    initial_margin: Decimal | None = None
    portfolio_value: Decimal | None = None
    long_market_value: Decimal | None = None
    short_market_value: Decimal | None = None
    accrued_fees: Decimal | None = None
    trading_blocked: bool | None = None
    account_blocked: bool | None = None
    shorting_enabled: bool | None = None


class AlpacaBroker:
    """Alpaca as an ntlab broker. Use :meth:`from_config` for the environment, or pass keys explicitly.

    ``base_url``/``stream_url`` point the adapter elsewhere (the local fake: ``FakeAlpaca.base_url``),
    ``data_url``/``data_stream_url`` its market data (``FakeAlpaca.data_url``); ``feed`` is ``iex`` (free)
    or ``sip``. ``quotes`` are symbols whose quotes stream in from the start (:meth:`watch_quotes` adds
    more). ``max_in_flight`` bounds concurrent requests; ``requests_per_minute`` is the client-side budget
    (None disables it, for the loopback fake).
    """

    name = "alpaca"
    local = False
    durable = True
    notional_orders = True  # Alpaca sizes notional orders (ntlab.core.broker.NotionalOrders)
    trail_replace = True  # PATCH takes ``trail`` (ntlab.core.broker.TrailReplace)

    def __init__(
        self,
        key_id: str,
        secret_key: SecretStr | str,
        *,
        base_url: str | None = None,
        stream_url: str | None = None,
        data_url: str | None = None,
        data_stream_url: str | None = None,
        feed: str | None = None,
        quotes: Iterable[str] = (),
        config: ExecutionConfig | None = None,
        max_in_flight: int = 8,
        requests_per_minute: int | None = 200,
        timeout: float = 10.0,
        retry_initial: float = 0.1,
        stream: bool = True,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not key_id:
            raise ConfigError("Alpaca needs a key id (BROKER_API_KEY)")
        secret = secret_key if isinstance(secret_key, SecretStr) else SecretStr(secret_key)
        if not secret.get_secret_value():
            raise ConfigError("Alpaca needs a secret key (BROKER_SECRET_KEY)")
        live = bool(config is not None and config.live)
        url = (base_url or (LIVE_URL if live else PAPER_URL)).rstrip("/")
        host = urlsplit(url).hostname or ""
        if host in _LIVE_HOSTS and not live:
            raise LiveTradingError(
                f"{url} is Alpaca's live host; live trading needs ENABLE_LIVE_TRADING=true and "
                "PAPER_TRADING=false. Use the paper host (the default) otherwise"
            )
        self.live = live
        self.base_url = url
        scheme = "wss" if url.startswith("https") else "ws"
        self.stream_url = stream_url or f"{scheme}://{urlsplit(url).netloc}/stream"
        self._key_id = key_id
        self._secret = secret
        self.timeout = timeout
        self.retry_initial = retry_initial
        self.max_in_flight = max_in_flight
        self.limiter = RateLimiter(requests_per_minute)
        self.quotes = QuoteBook(
            key_id,
            secret,
            data_url=data_url or (DATA_URL if host.endswith("alpaca.markets") else None),
            stream_url=data_stream_url,
            feed=feed,
            timeout=timeout,
            requests_per_minute=requests_per_minute,
        )
        self._watch = tuple(quotes)
        self._rest: AlpacaRest | None = None
        self._use_stream = stream
        self._transport = transport
        self._stream: TradeStream | None = None
        self._sink: UpdateSink | None = None
        self.ids = IdMap()
        self._replacements: dict[str, int] = {}
        self._assets: dict[str, AssetFlags] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._offset = timedelta(0)
        self.stats: dict[str, int] = {"requests": 0, "lookups": 0, "sweeps": 0}

    @classmethod
    def from_config(cls, config: ExecutionConfig, **options: Any) -> AlpacaBroker:
        """The adapter ``Lab(broker="alpaca")`` builds: keys from BROKER_API_KEY/BROKER_SECRET_KEY, paper
        unless the live-trading gate is open, BROKER_BASE_URL to point elsewhere (e.g. the local fake), the
        market data where ALPACA_DATA_URL / ALPACA_DATA_STREAM_URL say (Alpaca's data hosts otherwise)."""
        key, secret = config.require_credentials()
        options.setdefault("base_url", config.broker_base_url)
        return cls(key.get_secret_value(), secret, config=config, **options)

    def __repr__(self) -> str:
        mode = "LIVE" if self.live else "paper"
        return f"AlpacaBroker(base_url={self.base_url!r}, mode={mode!r}, key_id='***', secret_key='***')"

    __str__ = __repr__

    # --- lifecycle ------------------------------------------------------------------------------------------
    async def connect(self, sink: UpdateSink) -> None:
        """Check the keys, learn the broker's clock, start the trade_updates stream into ``sink`` and the
        quote stream for the symbols given as ``quotes``."""
        self._sink = sink
        await self.alpaca_account()
        await self._sync_clock()
        if self._use_stream and self._stream is None:
            self._stream = TradeStream(
                self.stream_url,
                self._key_id,
                self._secret,
                self._on_messages,
                self._on_reconnect,
                open_timeout=self.timeout,
            )
            await self._stream.start()
        if self._watch:
            await self.quotes.watch(self._watch)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._stream is not None:
            await self._stream.close()
            self._stream = None
        await self.quotes.close()
        if self._rest is not None:
            await self._rest.aclose()
            self._rest = None

    async def __aenter__(self) -> AlpacaBroker:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def rest(self) -> AlpacaRest:
        """The REST client, made on first use (so constructing the adapter does no I/O)."""
        if self._rest is None:
            self._rest = AlpacaRest(
                self.base_url,
                self._key_id,
                self._secret,
                timeout=self.timeout,
                max_in_flight=self.max_in_flight,
                limiter=self.limiter,
                retry_initial=self.retry_initial,
                transport=self._transport,
                stats=self.stats,
            )
        return self._rest

    @property
    def stream(self) -> TradeStream | None:
        return self._stream

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    # --- quotes ---------------------------------------------------------------------------------------------
    def last_quote(self, symbol: str) -> Quote | None:
        """The last streamed (or fetched) quote; no I/O."""
        return self.quotes.last(symbol)

    async def fetch_quote(self, symbol: str) -> Quote | None:
        """Fetch the latest quote from the data API so ``last_quote`` (and pre-trade risk) can use it."""
        return await self.quotes.fetch(symbol)

    async def watch_quotes(self, symbols: Iterable[str]) -> None:
        """Stream these stocks' quotes (Alpaca's market-data websocket) into ``last_quote``."""
        await self.quotes.watch(symbols)

    # --- orders -----------------------------------------------------------------------------------------------
    def _view(self, data: dict[str, Any]) -> Order:
        """An Alpaca order JSON as ntlab's order (its id learned, a leg's under its leg id)."""
        self.ids.learn(data)
        order_id = self.ids.ntlab_id(data)
        return mapping.broker_order(data, order_id, linked_to=self.ids.entry_of.get(order_id))

    async def submit_order(self, order: Order) -> list[OrderUpdate]:
        """POST the order once; what an unclear outcome means is raised for the manager to settle."""
        answer = await self.rest.attempt("POST", "/v2/orders", body=mapping.order_body(order))
        if answer.kind == "ok":
            data = answer.data
            learned = self.ids.learn(data, order.order_id)
            reports = mapping.ack(data, order.order_id)
            reports.extend(self._reports(self.ids.unpark(learned)))
            return reports
        if answer.kind in ("refused", "missing"):
            return [Rejected(order.order_id, self.now(), answer.error, mapping.reject_reason(answer))]
        if answer.kind == "duplicate":
            raise BrokerTimeout(
                f"submit {order.order_id}: Alpaca already has this client order id; look it up"
            )
        self.rest.raise_for(answer, f"submit {order.order_id}")
        raise AssertionError("unreachable")  # pragma: no cover

    async def _by_client_id(self, client_id: str) -> dict[str, Any] | None:
        self.stats["lookups"] += 1
        answer = await self.rest.request(
            "GET", "/v2/orders:by_client_order_id", params={"client_order_id": client_id}
        )
        if answer.kind == "ok":
            return await self._follow(answer.data)
        if answer.kind == "missing":
            return None
        self.rest.raise_for(answer, f"lookup {client_id}")
        raise AssertionError("unreachable")  # pragma: no cover

    async def _follow(self, data: dict[str, Any]) -> dict[str, Any]:
        """Follow ``replaced_by`` to the order's live incarnation."""
        for _ in range(32):
            successor = data.get("replaced_by")
            if not successor:
                break
            self.ids.learn(data)
            nxt = await self.rest.get(f"/v2/orders/{successor}")
            if nxt is None:
                break
            data = nxt
        return data

    async def lookup_order(self, order_id: str) -> Order | None:
        """The order with this ntlab id; a leg is found through its entry (Alpaca knows it by another id)."""
        data = await self._by_client_id(order_id)
        if data is not None:
            return self._view(data)
        if not order_id.endswith(_LEG_SUFFIXES):
            return None
        entry = await self._by_client_id(order_id[: -len(_LEG_SUFFIXES[0])])
        if entry is None:
            return None
        self._learn_entry(entry)
        alpaca_id = self.ids.current.get(order_id)
        if alpaca_id is None:
            return None
        leg = await self.rest.get(f"/v2/orders/{alpaca_id}")
        return None if leg is None else self._view(await self._follow(leg))

    def _learn_entry(self, data: dict[str, Any]) -> None:
        """Learn an entry's legs; what the stream held back about them goes to the sink."""
        parked = self.ids.unpark(self.ids.learn(data))
        if parked:
            self._deliver(self._reports(parked))

    async def _alpaca_id(self, order: Order) -> str | None:
        known = self.ids.current.get(order.order_id)
        if known is not None:
            return known
        found = await self.lookup_order(order.order_id)
        return None if found is None else found.broker_order_id

    async def cancel_order(self, order: Order) -> list[OrderUpdate]:
        """DELETE the order: 204 means requested; the ``canceled`` event brings the outcome."""
        alpaca_id = await self._alpaca_id(order)
        if alpaca_id is None:
            return [CancelRejected(order.order_id, self.now(), "Alpaca has no such order")]
        answer = await self.rest.request("DELETE", f"/v2/orders/{alpaca_id}")
        if answer.kind == "ok":
            return []
        if answer.kind in ("refused", "missing"):
            # Not cancelable: it already finished (possibly by an earlier cancel that timed out). Say how.
            found = await self.lookup_order(order.order_id)
            if found is not None and found.status.is_final and found.status is not mapping.S.FILLED:
                return broker_truth(found, order.order_id, (), ())
            return [CancelRejected(order.order_id, self.now(), answer.error)]
        self.rest.raise_for(answer, f"cancel {order.order_id}")
        raise AssertionError("unreachable")  # pragma: no cover

    async def replace_order(self, order: Order, change: ReplaceChange) -> list[OrderUpdate]:
        """PATCH the order. Alpaca makes a new order; ntlab keeps one id (the new client id derives from it)
        and records Alpaca's new id."""
        alpaca_id = await self._alpaca_id(order)
        if alpaca_id is None:
            return [ReplaceRejected(order.order_id, self.now(), "Alpaca has no such order")]
        body: dict[str, Any] = {}
        for key, value in (
            ("qty", change.quantity),
            ("limit_price", change.limit_price),
            ("stop_price", change.stop_price),
            ("trail", change.trail),
        ):
            if value is not None:
                body[key] = format(value, "f")
        for _ in range(8):
            n = self._replacements.get(order.order_id, 0) + 1
            self._replacements[order.order_id] = n
            body["client_order_id"] = mapping.replacement_client_id(order.order_id, n)
            answer = await self.rest.request("PATCH", f"/v2/orders/{alpaca_id}", body=body, attempts=1)
            if answer.kind == "ok":
                self.ids.learn(answer.data, order.order_id)
                new = self._view(answer.data)
                return [
                    Replaced(
                        order.order_id,
                        new.updated_at,
                        change.quantity,
                        change.limit_price,
                        change.stop_price,
                        new.broker_order_id,
                        change.trail,
                    )
                ]
            if answer.kind in ("refused", "missing"):
                return [ReplaceRejected(order.order_id, self.now(), answer.error)]
            if answer.kind != "duplicate":
                self.rest.raise_for(answer, f"replace {order.order_id}")
        return [ReplaceRejected(order.order_id, self.now(), "no free replacement client id")]

    async def get_order(self, alpaca_id: str) -> Order | None:
        data = await self.rest.get(f"/v2/orders/{alpaca_id}")
        return None if data is None else self._view(data)

    async def list_orders(
        self, status: str = "open", *, after: datetime | None = None, limit: int | None = None
    ) -> list[Order]:
        """Orders by status (open, closed, all), oldest first, paging through Alpaca's 500 cap; legs
        follow their entry, under their ntlab leg ids."""
        found: list[Order] = []
        for data in await self._listing(status, after, limit):
            self._learn_entry(data)
            found.append(self._view(data))
            for _, leg in mapping.legs_of(data, found[-1].order_id):
                found.append(self._view(leg))
        if status != "all":
            found = [o for o in found if o.status.is_open == (status == "open")]
        return found[:limit] if limit is not None else found

    async def _listing(self, status: str, after: datetime | None, limit: int | None) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        cursor = after
        while True:
            params: dict[str, Any] = {"status": status, "limit": _PAGE, "direction": "asc", "nested": "true"}
            if cursor is not None:
                params["after"] = _stamp(cursor)
            page = await self.rest.get("/v2/orders", params) or []
            rows.extend(page)
            if len(page) < _PAGE or (limit is not None and len(rows) >= limit):
                return rows
            cursor = mapping.parse_time(page[-1]["created_at"])

    async def open_orders(self) -> list[Order]:
        return await self.list_orders("open")

    async def closed_orders(self, *, after: datetime | None = None) -> list[Order]:
        return await self.list_orders("closed", after=after)

    # --- account, positions, fills, fees ---------------------------------------------------------------------
    async def alpaca_account(self) -> AlpacaAccount:
        """``GET /v2/account`` with Alpaca's own field names (status, blocks, every balance)."""
        data = await self.rest.get("/v2/account")
        if data is None:
            raise BrokerError("GET /v2/account found nothing")
        return AlpacaAccount.model_validate(data)

    async def account(self) -> Account:
        """The account as ntlab reads every broker's: margin used is Alpaca's ``initial_margin``, the
        day's P&L ``equity - last_equity`` (equity at the previous close)."""
        raw = await self.alpaca_account()
        equity = raw.equity if raw.equity is not None else raw.portfolio_value
        if raw.cash is None or equity is None:
            raise BrokerError("GET /v2/account gave no cash or equity")
        day = None if raw.last_equity is None else equity - raw.last_equity
        return Account(
            broker=self.name,
            currency=raw.currency or "USD",
            cash=raw.cash,
            equity=equity,
            buying_power=raw.buying_power,
            margin_used=raw.initial_margin,
            day_pnl=day,
            time=self.now(),
        )

    async def positions(self) -> list[Position]:
        return [mapping.position(item) for item in await self.rest.get("/v2/positions") or []]

    async def activities(self, kinds: Sequence[str], since: datetime | None = None) -> list[dict[str, Any]]:
        """Raw account activities of these types (``FILL``, ``FEE``, ``CFEE``, ...) since a time, oldest
        first, every page."""
        rows: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {"activity_types": ",".join(kinds), "direction": "asc", "page_size": 100}
            if since is not None:
                params["after"] = _stamp(since)
            if token is not None:
                params["page_token"] = token
            page = await self.rest.get("/v2/account/activities", params) or []
            rows.extend(page)
            if len(page) < 100:
                return rows
            token = page[-1]["id"]

    async def fill_activities(self, since: datetime | None = None) -> list[dict[str, Any]]:
        """Raw FILL activities since a time, oldest first."""
        return await self.activities(("FILL",), since)

    async def fills_since(self, since: datetime | None) -> list[Fill]:
        """Executions since a time, each on its ntlab order (a leg's on ``<id>-tp`` / ``<id>-sl``), with the
        fees Alpaca has posted for them."""
        # A margin before ``since``: broker and local clocks differ; the caller filters by order anyway.
        after = None if since is None else since - timedelta(minutes=10)
        rows = await self.fill_activities(after)
        unknown = {r["order_id"] for r in rows if r["order_id"] not in self.ids.clients}
        if unknown:
            await self.list_orders("all", after=after)  # learns the legs of every entry since then
        fills = []
        for row in rows:
            order_id = self.ids.clients.get(row["order_id"])
            if order_id is None:
                order = await self.get_order(row["order_id"])
                if order is None:
                    continue
                order_id = order.order_id
            fills.append(mapping.fill_from_activity(row, order_id))
        charged = fees.attribute(await self.activities(fees.FEE_ACTIVITIES, after), fills) if fills else {}
        return [f._replace(fee=charged[f.fill_id]) if f.fill_id in charged else f for f in fills]

    async def fill_fees(self, since: datetime | None = None) -> dict[str, Decimal]:
        """The fee Alpaca has posted (after each day's close) for each execution since a time, by ntlab fill
        id (a session that starts after the posting books fills with it; :meth:`post_fees` brings it to
        fills booked before)."""
        return {f.fill_id: f.fee for f in await self.fills_since(since) if f.fee}

    async def post_fees(self, since: datetime | None = None) -> list[FeeCharged]:
        """Bring the fees Alpaca has posted since a time to the fills the session booked before the posting:
        one ``FeeCharged`` per execution with a posted fee, handed to the session (which amends the fill,
        its order, the position and the journal; a fee it booked already changes nothing, and a fill it
        does not hold is logged and left). Returns the reports.

        A call of its own, not part of reconciliation: Alpaca posts fees once a day after the close, while
        reconciliation runs on every reconnect and would read the day's activities each time. Call it once
        the posting is out (the next morning, or at the start of a session)."""
        now = self.now()
        reports = [
            FeeCharged(f.order_id, f.fill_id, f.fee, now) for f in await self.fills_since(since) if f.fee
        ]
        if reports and self._sink is not None:
            await self._sink.handle_order_updates(reports)
        return reports

    # --- closing positions -----------------------------------------------------------------------------------
    async def close_position(
        self, symbol: str, *, quantity: Decimal | None = None, percentage: Decimal | None = None
    ) -> Order:
        """``DELETE /v2/positions/{symbol}``: Alpaca places the market order that closes the holding (all of
        it, ``quantity`` of it or ``percentage`` of it). The session adopts that order (it is Alpaca's, not
        ntlab's) and books its fills."""
        params = {}
        if quantity is not None:
            params["qty"] = format(quantity, "f")
        if percentage is not None:
            params["percentage"] = format(percentage, "f")
        answer = await self.rest.attempt(
            "DELETE", f"/v2/positions/{quote_path(symbol, safe='')}", params=params
        )
        if answer.kind != "ok":
            if answer.kind == "missing":
                raise BrokerError(f"Alpaca holds no {symbol} position to close")
            self.rest.raise_for(answer, f"close {symbol}")
        order = self._view(answer.data)
        await self._adopt()
        return order

    async def flatten(self, *, cancel_orders: bool = True) -> list[Order]:
        """``DELETE /v2/positions``: cancel open orders (unless told not to) and close every holding with
        Alpaca's own market orders, which the session adopts."""
        params = {"cancel_orders": "true"} if cancel_orders else {}
        answer = await self.rest.attempt("DELETE", "/v2/positions", params=params)
        if answer.kind != "ok":
            self.rest.raise_for(answer, "close all positions")
        closed = [
            self._view(r["body"]) for r in answer.data or () if r.get("status") == 200 and r.get("body")
        ]
        await self._adopt()
        return closed

    async def _adopt(self) -> None:
        if self._sink is not None:
            try:
                await self._sink.reconcile()
            except SessionClosed:
                log.debug("no reconciliation: the session closed")

    # --- assets: what pre-trade risk asks before a short sale -------------------------------------------
    def asset_flags(self, symbol: str) -> AssetFlags | None:
        """The flags :meth:`fetch_asset_flags` last brought for ``symbol`` (no I/O), or None."""
        return self._assets.get(symbol)

    async def fetch_asset_flags(self, symbol: str) -> AssetFlags | None:
        """``GET /v2/assets/{symbol}``: tradable, shortable, easy to borrow, fractionable. None when Alpaca
        does not know the symbol (404 "asset not found")."""
        data = await self.rest.get(f"/v2/assets/{quote_path(symbol, safe='')}")
        if not data:
            return None
        flags = mapping.asset_flags(symbol, data)
        self._assets[symbol] = flags
        return flags

    async def _sync_clock(self) -> None:
        data = await self.rest.get("/v2/clock")
        stamp = mapping.parse_time((data or {}).get("timestamp"))
        if stamp is not None:
            self._offset = stamp - datetime.now(UTC)

    # --- streaming and recovery -----------------------------------------------------------------------------
    def _reports(self, messages: Sequence[dict[str, Any]]) -> list[OrderUpdate]:
        updates = []
        for data in messages:
            order = data.get("order") or {}
            if order.get("id") and order.get("client_order_id"):
                if self.ids.is_unplaced_leg(order):
                    self.ids.park(data)
                    continue
                self.ids.learn(order)
            update = mapping.update_from_event(data, self.ids.ntlab_id(order) if order.get("id") else None)
            if update is not None:
                if order.get("notional"):  # a notional order learns its quantity when it is done
                    sized = mapping.sized_by_event(data, update.order_id)
                    if sized is not None:
                        updates.append(sized)
                updates.append(update)
        return updates

    async def _on_messages(self, messages: list[dict[str, Any]]) -> None:
        for data in messages:
            stamp = mapping.parse_time(data.get("timestamp"))
            if stamp is not None:
                self._offset = stamp - datetime.now(UTC)
        updates = self._reports(messages)
        if updates and self._sink is not None:
            try:
                await self._sink.handle_order_updates(updates)
            except SessionClosed:
                log.debug("%d trade updates arrived after the session closed", len(updates))

    def _deliver(self, updates: list[OrderUpdate]) -> None:
        """Hand reports to the sink from a task of their own (never from inside a call the manager awaits)."""
        if not updates or self._sink is None:
            return
        sink = self._sink

        async def hand_on() -> None:
            try:
                await sink.handle_order_updates(updates)
            except SessionClosed:
                log.debug("%d held-back leg reports arrived after the session closed", len(updates))

        task = asyncio.get_running_loop().create_task(hand_on())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _on_reconnect(self, since: datetime | None) -> None:
        """The stream dropped and came back: what it may have missed is settled by reconciliation."""
        if self._sink is None:
            return
        self.stats["sweeps"] += 1
        try:
            await self._sink.reconcile()
        except SessionClosed:
            log.debug("no reconciliation: the session closed")

    async def wait_idle(self) -> None:
        """Wait until every stream message received so far has reached the sink (tests, notebooks)."""
        if self._stream is not None:
            await self._stream.drain()
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def _stamp(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


__all__ = ["DATA_URL", "LIVE_URL", "PAPER_URL", "AlpacaAccount", "AlpacaBroker"]
