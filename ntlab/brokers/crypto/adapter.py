"""CcxtBroker: the Broker protocol over any ccxt exchange that has the unified order calls.

``CcxtBroker("binance", key, secret)`` trades the exchange's sandbox (``set_sandbox_mode``) unless the
live-trading gate is open; an exchange with no sandbox, or a live URL given without the gate, is refused.
Markets are loaded once at ``connect`` and become ntlab instruments (tick, lot, minimum quantity and
notional), which the manager registers so validation refuses what the exchange would.

Each submit is sent once, with ntlab's order id as ccxt's ``clientOrderId`` and ccxt's own retries off; a
ccxt error becomes what :data:`~ntlab.brokers.crypto.mapping.ERRORS` says (refused, did not arrive, may
have arrived), so after a timeout the manager looks the order up by client id instead of placing it twice.

News comes through ccxt pro's ``watch_orders`` / ``watch_my_trades`` where the exchange has them
(``streaming == "watch"``), else by polling: a reconciliation every ``poll_interval`` seconds, backing off
on errors (``streaming == "poll"``).

Exchanges that want a symbol to look an order or its trades up (Binance does) are asked about every symbol
this adapter has traded or was given in ``symbols``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import ccxt.async_support as ccxt_async
import ccxt.pro as ccxtpro
from pydantic import SecretStr

from ntlab.brokers.crypto import mapping
from ntlab.brokers.crypto.stream import OrderWatch
from ntlab.core.broker import UpdateSink
from ntlab.core.enums import OrderClass
from ntlab.core.instruments import Instrument
from ntlab.core.lifecycle import ReplaceChange
from ntlab.core.records import Account, Fill, Order, Position, Quote
from ntlab.core.reports import Cancelled, CancelRejected, OrderUpdate, Rejected, Replaced, ReplaceRejected
from ntlab.core.submit import broker_truth
from ntlab.errors import (
    AuthenticationError,
    BrokerError,
    BrokerTimeout,
    BrokerUnavailable,
    ConfigError,
    LiveTradingError,
    RateLimited,
    Reason,
)

if TYPE_CHECKING:
    from ntlab.config import ExecutionConfig

log = logging.getLogger(__name__)

#: ccxt options the adapter sets on every exchange: its own retries off (the manager retries, once, only
#: what provably did not arrive), the clock difference learned (timestamps inside the recvWindow), spot
#: markets only, and (Binance family) open orders asked for across symbols at once on reconciliation.
OPTIONS: dict[str, Any] = {
    "maxRetriesOnFailure": 0,
    "adjustForTimeDifference": True,
    "defaultType": "spot",
    "warnOnFetchOpenOrdersWithoutSymbol": False,
    "fetchCurrencies": False,
    "fetchMargins": False,
}


class CcxtBroker:
    """A ccxt exchange as an ntlab broker (spot markets)."""

    local = False
    durable = True

    def __init__(
        self,
        exchange_id: str,
        api_key: str | None = None,
        secret: SecretStr | str | None = None,
        *,
        password: SecretStr | str | None = None,
        config: ExecutionConfig | None = None,
        urls: dict[str, Any] | None = None,
        options: dict[str, Any] | None = None,
        symbols: Sequence[str] = (),
        stream: bool | None = None,
        poll_interval: float = 2.0,
        timeout: float = 10.0,
        rate_limit: bool = True,
    ) -> None:
        if exchange_id in ccxtpro.exchanges:  # with websockets (watch_orders) where ccxt pro has them
            klass = getattr(ccxtpro, exchange_id)
        elif exchange_id in ccxt_async.exchanges:
            klass = getattr(ccxt_async, exchange_id)
        else:
            raise ConfigError(f"ccxt knows no exchange {exchange_id!r}; see ccxt.exchanges for the ids")
        self._secret = secret if isinstance(secret, SecretStr) or secret is None else SecretStr(secret)
        self._password = (
            password if isinstance(password, SecretStr) or password is None else SecretStr(password)
        )
        self.live = bool(config is not None and config.live)
        exchange = klass(
            {
                "apiKey": api_key or "",
                "secret": self._secret.get_secret_value() if self._secret else "",
                "password": self._password.get_secret_value() if self._password else "",
                "enableRateLimit": rate_limit,
                "timeout": int(timeout * 1000),
                "options": OPTIONS | (options or {}),
            }
        )
        types = exchange.options.get("fetchMarkets")
        if isinstance(types, dict) and "types" in types:
            exchange.options["fetchMarkets"] = {**types, "types": ["spot"]}
        elif isinstance(types, list):
            exchange.options["fetchMarkets"] = ["spot"]
        live_hosts = _hosts(exchange.urls.get("api"))
        if not self.live:
            if exchange.urls.get("test"):
                exchange.set_sandbox_mode(True)
            elif urls is None:
                raise LiveTradingError(
                    f"{exchange_id} has no sandbox in ccxt, so trading it is live; live trading needs "
                    "ENABLE_LIVE_TRADING=true and PAPER_TRADING=false"
                )
        if urls is not None:
            if not self.live and _hosts(urls) & live_hosts:
                raise LiveTradingError(
                    f"{sorted(_hosts(urls) & live_hosts)} is {exchange_id}'s live host; live trading needs "
                    "ENABLE_LIVE_TRADING=true and PAPER_TRADING=false. Leave urls unset for the sandbox"
                )
            exchange.urls["api"] = _merge(dict(exchange.urls.get("api") or {}), urls)
        self.exchange = exchange
        self.name = exchange_id
        self.timeout = timeout
        self.poll_interval = poll_interval
        self._want_stream = stream
        self._symbols: dict[str, None] = dict.fromkeys(symbols)
        self._clients: dict[str, str] = {}  # exchange order id -> ntlab (client) id
        self._orders: dict[str, str] = {}  # ntlab id -> symbol
        self._replacements: dict[str, int] = {}  # ntlab id -> replacements made (cancel-and-new edits)
        self._superseded: set[str] = set()  # exchange ids an edit cancels: their cancel is not ntlab's
        self._instruments: dict[str, Instrument] = {}
        self._quotes: dict[str, Quote] = {}
        self._offset = timedelta(0)
        self._sink: UpdateSink | None = None
        self._watch: OrderWatch | None = None
        self.stats: dict[str, int] = {"requests": 0, "lookups": 0, "reconnects": 0, "polls": 0}

    @classmethod
    def from_config(cls, config: ExecutionConfig, **options: Any) -> CcxtBroker:
        """The adapter ``Lab(broker="crypto")`` builds: BROKER_EXCHANGE (default binance), the keys from
        BROKER_API_KEY/BROKER_SECRET_KEY, the sandbox unless the live-trading gate is open; BROKER_BASE_URL
        points a Binance-family exchange elsewhere (the local fake: ``http://127.0.0.1:8790``)."""
        key, secret = config.require_credentials()
        exchange = config.broker_exchange or "binance"
        if config.broker_base_url and exchange.startswith("binance"):
            options.setdefault("urls", binance_urls(config.broker_base_url))
        return cls(exchange, key.get_secret_value(), secret, config=config, **options)

    def __repr__(self) -> str:
        mode = "LIVE" if self.live else "sandbox"
        return f"CcxtBroker({self.name!r}, mode={mode!r}, streaming={self.streaming!r}, api_key='***', secret='***')"

    __str__ = __repr__

    @property
    def streaming(self) -> str:
        """``watch`` (ccxt pro's watch_orders / watch_my_trades) or ``poll`` (reconcile on an interval)."""
        has = self.exchange.has
        if self._want_stream is False or not (has.get("watchOrders") and has.get("watchMyTrades")):
            return "poll"
        return "watch"

    # --- lifecycle ----------------------------------------------------------------------------------------
    async def connect(self, sink: UpdateSink) -> None:
        """Load the markets (once), learn the exchange's clock, check the keys, start the news."""
        self._sink = sink
        await self.load_markets()
        await self._call(self.exchange.fetch_balance)
        if self._watch is None:
            self._watch = OrderWatch(self, sink, mode=self.streaming)
            await self._watch.start()

    async def load_markets(self) -> list[Instrument]:
        """The exchange's spot markets as ntlab instruments (loaded once; later calls reuse them)."""
        if not self._instruments:
            markets = await self._call(self.exchange.load_markets)
            mode = self.exchange.precisionMode
            for market in markets.values():
                made = mapping.instrument(market, mode)
                if made is not None:
                    self._instruments[made.symbol] = made
            try:
                server = await self._call(self.exchange.fetch_time)
                if server:
                    self._offset = mapping.ms_time(server) - datetime.now(UTC)  # type: ignore[operator]
            except BrokerError:
                log.debug("%s gave no server time; using the local clock", self.name)
        return list(self._instruments.values())

    def venue_instruments(self) -> list[Instrument]:
        return list(self._instruments.values())

    async def close(self) -> None:
        if self._watch is not None:
            await self._watch.stop()
            self._watch = None
        await self.exchange.close()

    async def __aenter__(self) -> CcxtBroker:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def last_quote(self, symbol: str) -> Quote | None:
        return self._quotes.get(symbol)

    # --- calls ----------------------------------------------------------------------------------------------
    async def _call(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        """A ccxt call with its error raised as ntlab's (reads and cancels; a submit reads the table itself)."""
        self.stats["requests"] += 1
        try:
            return await method(*args, **kwargs)
        except Exception as error:
            rule = mapping.error_rule(error)
            if rule is None:
                raise
            raise self._as_ntlab(rule, error, getattr(method, "__name__", "call")) from None

    def _as_ntlab(self, rule: mapping.ErrorRule, error: Exception, what: str) -> BrokerError:
        message = f"{self.name} {what}: {type(error).__name__}: {_short(error)}"
        if rule.outcome == "auth":
            return AuthenticationError(f"{message}; check the API key, secret and their permissions")
        if rule.outcome == "rate_limited":
            return RateLimited(message, retry_after=self._retry_after())
        if rule.outcome == "unavailable":
            return BrokerUnavailable(message)
        if rule.outcome == "timeout":
            return BrokerTimeout(message)
        return BrokerError(message)

    def _retry_after(self) -> float | None:
        headers = self.exchange.last_response_headers or {}
        for name, value in headers.items():
            if name.lower() == "retry-after":
                try:
                    return float(value)
                except ValueError:
                    return None
        return None

    def _learn(self, raw: dict[str, Any], client_id: str | None = None) -> Order:
        client = client_id or mapping.ntlab_id(raw.get("clientOrderId") or str(raw["id"]))
        self._clients[str(raw["id"])] = client
        self._orders[client] = raw["symbol"]
        self._symbols.setdefault(raw["symbol"])
        return mapping.order(raw, self.name, client)

    # --- orders ---------------------------------------------------------------------------------------------
    async def submit_order(self, order: Order) -> list[OrderUpdate]:
        """``create_order`` once, ntlab's id as the client order id; errors read off the one table."""
        if order.order_class is not OrderClass.SIMPLE:
            return [
                Rejected(
                    order.order_id,
                    self.now(),
                    f"{order.order_class.value} orders are not in ccxt's unified API; place the entry and its "
                    "exits as orders of their own",
                    Reason.NOT_ALLOWED.value,
                )
            ]
        kind, side, amount, price, params = mapping.order_params(order)
        self._orders[order.order_id] = order.symbol
        self._symbols.setdefault(order.symbol)
        self.stats["requests"] += 1
        try:
            raw = await self.exchange.create_order(order.symbol, kind, side, amount, price, params)
        except Exception as error:
            rule = mapping.error_rule(error)
            if rule is None:
                raise
            if rule.outcome == "rejected":
                reason = rule.reason.value if rule.reason is not None else "broker_rejected"
                return [Rejected(order.order_id, self.now(), _short(error), reason)]
            if rule.error.__name__ == "DuplicateOrderId":
                raise BrokerTimeout(
                    f"submit {order.order_id}: {self.name} already has this client order id; look it up"
                ) from None
            raise self._as_ntlab(rule, error, f"submit {order.order_id}") from None
        found = self._learn(raw, order.order_id)
        fills = [
            mapping.fill(t, order.order_id, self.name, order.side)
            for t in raw.get("trades") or []
            if t.get("id")
        ]
        return broker_truth(found, order.order_id, fills, ())

    async def lookup_order(self, order_id: str) -> Order | None:
        """The order by client id, asked of its symbol (or every symbol traded); None only when every one
        of them says it has no such order. A cancelled order that was replaced is followed to its latest
        replacement (``<id>.r1``, ``.r2``...)."""
        self.stats["lookups"] += 1
        known = self._orders.get(order_id)
        for symbol in [known] if known else list(self._symbols):
            raw = await self._by_client(order_id, symbol)
            if raw is None:
                continue
            n = 0
            while mapping.order_status(raw) is mapping.S.CANCELLED:
                later = await self._by_client(mapping.replacement_id(order_id, n + 1), symbol)
                if later is None:
                    break
                raw, n = later, n + 1
            self._replacements[order_id] = max(self._replacements.get(order_id, 0), n)
            return self._learn(raw, order_id)
        return None

    async def _by_client(self, client_id: str, symbol: str) -> dict[str, Any] | None:
        try:
            raw: dict[str, Any] | None = await self._call(
                self.exchange.fetch_order, None, symbol, {"clientOrderId": client_id}
            )
        except BrokerError as error:
            if "OrderNotFound" in str(error):
                return None
            raise
        return raw or None

    async def _exchange_id(self, order: Order) -> tuple[str | None, str]:
        if order.broker_order_id:
            return order.broker_order_id, order.symbol
        found = await self.lookup_order(order.order_id)
        return (found.broker_order_id if found else None), order.symbol

    async def cancel_order(self, order: Order) -> list[OrderUpdate]:
        """``cancel_order``: an order the exchange no longer has open is looked up and reported as it ended."""
        exchange_id, symbol = await self._exchange_id(order)
        if exchange_id is None:
            return [CancelRejected(order.order_id, self.now(), f"{self.name} has no such order")]
        try:
            raw = await self._call(self.exchange.cancel_order, exchange_id, symbol)
        except BrokerError as error:
            if "OrderNotFound" not in str(error):
                raise
            found = await self.lookup_order(order.order_id)
            if found is not None and found.status.is_final and found.status is not mapping.S.FILLED:
                return broker_truth(found, order.order_id, (), ())
            return [CancelRejected(order.order_id, self.now(), str(error))]
        if raw and raw.get("status") == "canceled":
            return broker_truth(self._learn(raw, order.order_id), order.order_id, (), ())
        return []

    async def replace_order(self, order: Order, change: ReplaceChange) -> list[OrderUpdate]:
        """ccxt's ``edit_order``: on Binance spot a cancel-and-new (``order/cancelReplace``), so the exchange
        makes a new order for what is left, under the client id ``<id>.r<n>``; ntlab keeps its one order
        and records the exchange's new id. When the edit fails, what happened is read back from the
        exchange rather than guessed from the error: the replacement exists (Replaced), the old order was
        cancelled and no replacement came (Cancelled), or the old order goes on (ReplaceRejected)."""
        now = self.now()
        if not self.exchange.has.get("editOrder"):
            return [
                ReplaceRejected(order.order_id, now, f"{self.name} cannot edit orders; cancel and place anew")
            ]
        exchange_id, symbol = await self._exchange_id(order)
        if exchange_id is None:
            return [ReplaceRejected(order.order_id, now, f"{self.name} has no such order")]
        n = self._replacements.get(order.order_id, 0) + 1
        self._replacements[order.order_id] = n
        client = mapping.replacement_id(order.order_id, n)
        total = change.quantity if change.quantity is not None else order.quantity
        target = order._replace(
            order_id=client,
            quantity=total - order.filled_quantity,
            limit_price=change.limit_price if change.limit_price is not None else order.limit_price,
            stop_price=change.stop_price if change.stop_price is not None else order.stop_price,
        )
        kind, side, amount, price, params = mapping.order_params(target)
        self.stats["requests"] += 1
        self._superseded.add(exchange_id)  # before sending: the old order's cancel may stream in first
        try:
            raw = await self.exchange.edit_order(exchange_id, symbol, kind, side, amount, price, params)
        except Exception as error:
            if mapping.error_rule(error) is None:
                self._superseded.discard(exchange_id)
                raise
            outcome = await self._after_failed_edit(order, change, exchange_id, client, error)
            if isinstance(outcome[0], ReplaceRejected):
                self._superseded.discard(exchange_id)
            return outcome
        new = self._learn(raw, order.order_id)
        return [self._replaced(order, change, new)]

    def _replaced(self, order: Order, change: ReplaceChange, new: Order) -> Replaced:
        return Replaced(
            order.order_id,
            new.updated_at,
            change.quantity,
            change.limit_price,
            change.stop_price,
            new.broker_order_id,
        )

    async def _after_failed_edit(
        self, order: Order, change: ReplaceChange, exchange_id: str, client: str, error: Exception
    ) -> list[OrderUpdate]:
        replacement = await self._by_client(client, order.symbol)
        if replacement is not None:
            return [self._replaced(order, change, self._learn(replacement, order.order_id))]
        old = await self._call(self.exchange.fetch_order, exchange_id, order.symbol)
        status = mapping.order_status(old)
        if status is mapping.S.CANCELLED:
            reason = f"{self.name} cancelled the order but refused its replacement: {_short(error)}"
            return [Cancelled(order.order_id, self.now(), reason)]
        return [ReplaceRejected(order.order_id, self.now(), _short(error))]

    async def open_orders(self) -> list[Order]:
        """Every open order: across symbols in one call where the exchange allows it, else per symbol."""
        try:
            raws = await self._call(self.exchange.fetch_open_orders)
        except BrokerError as error:
            if "ArgumentsRequired" not in str(error):
                raise
            raws = []
            for symbol in list(self._symbols):
                raws.extend(await self._call(self.exchange.fetch_open_orders, symbol))
        return [self._learn(raw) for raw in raws]

    async def fills_since(self, since: datetime | None) -> list[Fill]:
        """``fetch_my_trades`` per symbol traded, from a margin before ``since`` (clocks differ)."""
        start = None if since is None else int((since - timedelta(minutes=10)).timestamp() * 1000)
        fills: list[Fill] = []
        for symbol in list(self._symbols):
            trades = await self._call(self.exchange.fetch_my_trades, symbol, start, None)
            for trade in trades:
                client = await self._client_of(trade)
                if client is not None:
                    fills.append(mapping.fill(trade, client, self.name))
        return fills

    async def _client_of(self, trade: dict[str, Any]) -> str | None:
        """The ntlab id of a trade's order (asked of the exchange once for an order placed elsewhere)."""
        order_id = str(trade.get("order"))
        client = self._clients.get(order_id)
        if client is None and trade.get("order") is not None:
            raw = await self._call(self.exchange.fetch_order, order_id, trade["symbol"])
            if raw:
                client = self._learn(raw).order_id
        return client

    # --- account -----------------------------------------------------------------------------------------
    async def balances(self) -> dict[str, dict[str, Any]]:
        """``fetch_balance``: each asset's free, used (locked in orders) and total, as Decimals."""
        raw = await self._call(self.exchange.fetch_balance)
        out: dict[str, dict[str, Any]] = {}
        for asset, total in (raw.get("total") or {}).items():
            amount = mapping.dec(total)
            if amount:
                out[asset] = {
                    "free": mapping.dec((raw.get("free") or {}).get(asset)),
                    "used": mapping.dec((raw.get("used") or {}).get(asset)),
                    "total": amount,
                }
        return out

    async def positions(self) -> list[Position]:
        """Balances as positions: every asset held that is the base of a market traded here, in that
        market's symbol (a spot account holds assets, so there are no shorts and no average cost)."""
        held = await self.balances()
        out = []
        for symbol in self._position_symbols(held):
            base = symbol.split("/")[0]
            out.append(Position(symbol=symbol, quantity=held[base]["total"], avg_cost=None))
        return out

    def _position_symbols(self, held: dict[str, Any]) -> list[str]:
        chosen: dict[str, str] = {}
        for symbol in self._symbols:
            base = symbol.split("/")[0]
            if base in held and base not in chosen:
                chosen[base] = symbol
        return list(chosen.values())

    async def account(self) -> Account:
        """Cash is the quote currency of the first market traded (USDT for BTC/USDT); equity counts the
        positions at their last quote; no margin on a spot account."""
        held = await self.balances()
        quote = next(iter(self._symbols), "BTC/USDT").split("/")[1]
        cash: Decimal = held.get(quote, {}).get("total") or Decimal(0)
        equity = cash
        for symbol in self._position_symbols(held):
            last = self._quotes.get(symbol) or await self.fetch_quote(symbol)
            if last is not None:
                equity += held[symbol.split("/")[0]]["total"] * last.mid
        return Account(
            broker=self.name,
            currency=quote,
            cash=cash,
            equity=equity,
            buying_power=held.get(quote, {}).get("free"),
            margin_used=None,
            day_pnl=None,
            time=self.now(),
        )

    async def fetch_quote(self, symbol: str) -> Quote | None:
        """``fetch_ticker``'s bid and ask, kept for ``last_quote``."""
        ticker = await self._call(self.exchange.fetch_ticker, symbol)
        bid, ask = mapping.dec(ticker.get("bid")), mapping.dec(ticker.get("ask"))
        if not bid or not ask:
            return None
        quote = Quote(
            symbol=symbol,
            time=mapping.ms_time(ticker.get("timestamp")) or self.now(),
            bid=bid,
            ask=ask,
            bid_size=mapping.dec(ticker.get("bidVolume")) or Decimal(0),
            ask_size=mapping.dec(ticker.get("askVolume")) or Decimal(0),
        )
        self._quotes[symbol] = quote
        return quote

    async def wait_idle(self) -> None:
        """Wait until the news received so far has reached the sink (tests, notebooks)."""
        if self._watch is not None:
            await self._watch.drain()


def binance_urls(base_url: str) -> dict[str, Any]:
    """Binance's spot REST and WebSocket API under one base URL (how the local fake serves them)."""
    base = base_url.rstrip("/")
    ws = "ws" + base[4:] if base.startswith("http") else base
    return {
        "public": f"{base}/api/v3",
        "private": f"{base}/api/v3",
        "ws": {"ws-api": {"spot": f"{ws}/ws-api/v3"}},
    }


def _short(error: BaseException) -> str:
    text = str(error)
    return text if len(text) <= 300 else text[:300] + "..."


def _hosts(urls: Any) -> set[str]:
    """Every host named in a (nested) ccxt urls entry."""
    found: set[str] = set()
    if isinstance(urls, str):
        host = urlsplit(urls).hostname
        if host:
            found.add(host)
    elif isinstance(urls, dict):
        for value in urls.values():
            found |= _hosts(value)
    return found


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = _merge(dict(base[key]), value)
        else:
            base[key] = value
    return base


__all__ = ["OPTIONS", "CcxtBroker", "binance_urls"]
