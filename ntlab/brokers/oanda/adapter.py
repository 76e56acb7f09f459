"""OandaBroker: the Broker protocol over OANDA's v20 REST API, its transaction stream and its pricing stream.

One keep-alive ``httpx.AsyncClient`` carries REST (an in-flight bound, the token in its headers); a second
one holds the two chunked streams. Every v20 transaction, whether it came in a request's answer, on the
stream or from a catch-up, is digested once (by id) into the fill index and into ntlab reports, so an order's
news reaches the manager exactly once and in the order OANDA made it.

Submitting is safe to repeat because ntlab's order id is the order's ``clientExtensions.id``. The adapter
sends each submit once and says what it knows: a refused connection is ``BrokerUnavailable``; a timeout, a
reset, a 5xx or v20's ``CLIENT_ORDER_ID_ALREADY_EXISTS`` (an earlier attempt did arrive) are
``BrokerTimeout``, and the manager then looks the order up by ``@<id>`` before sending again.

Practice versus live is decided only by the live-trading gate (``ExecutionConfig.live``): without it the
adapter refuses OANDA's live hosts whatever URL it is given.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from ntlab.brokers.oanda import mapping
from ntlab.brokers.oanda.exits import Exits
from ntlab.brokers.oanda.fills import FillIndex, average_price
from ntlab.brokers.oanda.rest import Answer, V20Rest
from ntlab.brokers.oanda.stream import LineStream, TransactionFeed
from ntlab.brokers.oanda.views import OandaAccount, OandaPosition, OandaTrade
from ntlab.brokers.oanda.wire import (
    InstrumentSpec,
    decimal,
    format_time,
    instrument_name,
    parse_time,
    symbol_of,
)
from ntlab.core.broker import UpdateSink
from ntlab.core.enums import OrderClass
from ntlab.core.lifecycle import ReplaceChange
from ntlab.core.records import ZERO, Account, Fill, Order, Position, Quote
from ntlab.core.reports import (
    Accepted,
    CancelRejected,
    Filled,
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

PRACTICE_URL = "https://api-fxpractice.oanda.com"
LIVE_URL = "https://api-fxtrade.oanda.com"
PRACTICE_STREAM_URL = "https://stream-fxpractice.oanda.com"
LIVE_STREAM_URL = "https://stream-fxtrade.oanda.com"
_LIVE_HOSTS = frozenset({"api-fxtrade.oanda.com", "stream-fxtrade.oanda.com"})
_STREAM_HOSTS = {
    "api-fxpractice.oanda.com": PRACTICE_STREAM_URL,
    "api-fxtrade.oanda.com": LIVE_STREAM_URL,
}
_ANSWER_KEYS = (
    "orderCancelTransaction",
    "orderCreateTransaction",
    "orderFillTransaction",
    "orderReissueTransaction",
    "orderReissueRejectTransaction",
    "replacingOrderCancelTransaction",
    "orderRejectTransaction",
    "orderCancelRejectTransaction",
)


class OandaBroker:
    """OANDA as an ntlab broker. Use :meth:`from_config` for the environment, or pass a token explicitly.

    ``account_id`` defaults to the token's only account. ``base_url``/``stream_url`` point the adapter
    elsewhere (the local fake: ``FakeOanda.base_url``); ``quotes`` are symbols whose prices stream from the
    start (every symbol the session trades or asks a quote for joins them).
    """

    name = "oanda"
    local = False
    durable = True

    def __init__(
        self,
        token: SecretStr | str,
        account_id: str | None = None,
        *,
        base_url: str | None = None,
        stream_url: str | None = None,
        config: ExecutionConfig | None = None,
        max_in_flight: int = 8,
        timeout: float = 10.0,
        retry_initial: float = 0.1,
        stream: bool = True,
        prices: bool = True,
        quotes: Sequence[str] = (),
        idle_timeout: float = 20.0,
        gap_wait: float = 0.2,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        secret = token if isinstance(token, SecretStr) else SecretStr(token)
        if not secret.get_secret_value():
            raise ConfigError("OANDA needs an API token (OANDA_TOKEN); make one under 'Manage API Access'")
        live = bool(config is not None and config.live)
        url = (base_url or (LIVE_URL if live else PRACTICE_URL)).rstrip("/")
        host = urlsplit(url).hostname or ""
        streams = (stream_url or _STREAM_HOSTS.get(host, url)).rstrip("/")
        for given in (url, streams):
            if (urlsplit(given).hostname or "") in _LIVE_HOSTS and not live:
                raise LiveTradingError(
                    f"{given} is OANDA's live (fxTrade) host; live trading needs ENABLE_LIVE_TRADING=true and "
                    "PAPER_TRADING=false. Use the practice host (the default) otherwise"
                )
        self.live = live
        self.base_url = url
        self.stream_url = streams
        self.account_id = account_id
        self._token = secret
        self.timeout = timeout
        self.retry_initial = retry_initial
        self.max_in_flight = max_in_flight
        self.idle_timeout = idle_timeout
        self._use_stream = stream
        self._use_prices = prices
        self._transport = transport
        self._rest: V20Rest | None = None
        self._streams_client: httpx.AsyncClient | None = None
        self._sink: UpdateSink | None = None
        self.feed = TransactionFeed(self._since, self._on_transactions, gap_wait=gap_wait)
        self.index = FillIndex(self._fill_range, self._since)
        self.transactions: LineStream | None = None
        self.pricing: LineStream | None = None
        self.instruments: dict[str, InstrumentSpec] = {}
        self.currency: str | None = None
        self._quote_symbols: list[str] = list(dict.fromkeys(quotes))
        self._quotes: dict[str, Quote] = {}
        self._digested: set[int] = set()  # ids above the feed's watermark already turned into reports
        self._current: dict[str, str] = {}  # ntlab order id -> v20 id of its live incarnation
        self._earlier: dict[str, Decimal] = {}  # ntlab order id -> filled by the incarnations it replaced
        self._replacements: dict[str, int] = {}
        self._mine: set[str] = set()  # ntlab ids this adapter placed or looked up
        self.exits = Exits()  # bracket and oto legs, sized to what their entry filled
        self._first_transaction = 0
        self._offset = timedelta(0)
        self._sweep: asyncio.Task[None] | None = None
        self._restart_prices: asyncio.Task[None] | None = None
        self.stats: dict[str, int] = {"requests": 0, "lookups": 0, "sweeps": 0, "transactions": 0}

    @classmethod
    def from_config(cls, config: ExecutionConfig, **options: Any) -> OandaBroker:
        """The adapter ``Lab(broker="oanda")`` builds: OANDA_TOKEN and OANDA_ACCOUNT_ID from the environment,
        practice unless the live-trading gate is open, BROKER_BASE_URL to point elsewhere (the local fake)."""
        token = config.require_oanda_token()
        options.setdefault("base_url", config.broker_base_url)
        return cls(token, config.oanda_account_id, config=config, **options)

    def __repr__(self) -> str:
        mode = "LIVE" if self.live else "practice"
        return (
            f"OandaBroker(base_url={self.base_url!r}, account_id={self.account_id!r}, mode={mode!r}, "
            "token='***')"
        )

    __str__ = __repr__

    # --- connections ----------------------------------------------------------------------------------------
    @property
    def rest(self) -> V20Rest:
        """The REST client, made on first use (so constructing the adapter does no I/O)."""
        if self._rest is None:
            self._rest = V20Rest(
                self.base_url,
                self._token,
                timeout=self.timeout,
                max_in_flight=self.max_in_flight,
                retry_initial=self.retry_initial,
                transport=self._transport,
                stats=self.stats,
            )
        return self._rest

    def _streams(self) -> httpx.AsyncClient:
        if self._streams_client is None:
            self._streams_client = httpx.AsyncClient(
                base_url=self.stream_url,
                headers={
                    "Authorization": f"Bearer {self._token.get_secret_value()}",
                    "Accept-Datetime-Format": "RFC3339",
                },
                timeout=httpx.Timeout(self.timeout, read=None),
                trust_env=False,
            )
        return self._streams_client

    @property
    def _account(self) -> str:
        if self.account_id is None:
            raise BrokerError("the OANDA account is not known yet: connect first or pass account_id")
        return f"/v3/accounts/{self.account_id}"

    async def connect(self, sink: UpdateSink) -> None:
        """Check the token and account, learn the instruments and OANDA's clock, start both streams."""
        self._sink = sink
        if self.account_id is None:
            self.account_id = await self._only_account()
        summary = await self.oanda_account()
        self.currency = summary.currency
        last = int(summary.last_transaction_id or 0)
        if not self._first_transaction:
            self._first_transaction = last
            self.feed.start_at(last)
            self.index.start_at(last)
        await self.load_instruments()
        await self._sync_clock()
        if self._use_stream and self.transactions is None:
            self.transactions = LineStream(
                self._streams(),
                f"{self._account}/transactions/stream",
                None,
                self.feed.take,
                self._on_transactions_open,
                name="transactions",
                idle_timeout=self.idle_timeout,
                retry_initial=self.retry_initial,
            )
            await self.transactions.start()
        if self._use_prices and self._quote_symbols:
            await self._start_prices()

    async def _only_account(self) -> str:
        data = await self.rest.get("/v3/accounts") or {}
        accounts = [a["id"] for a in data.get("accounts", [])]
        if len(accounts) != 1:
            listed = ", ".join(accounts) or "none"
            raise ConfigError(
                f"the token has {len(accounts)} OANDA accounts ({listed}); set OANDA_ACCOUNT_ID"
            )
        return accounts[0]

    async def close(self) -> None:
        for task in (self._sweep, self._restart_prices):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._sweep = self._restart_prices = None
        for stream in (self.transactions, self.pricing):
            if stream is not None:
                await stream.close()
        self.transactions = self.pricing = None
        await self.feed.close()
        if self._streams_client is not None:
            await self._streams_client.aclose()
            self._streams_client = None
        if self._rest is not None:
            await self._rest.aclose()
            self._rest = None
        self._sink = None

    async def __aenter__(self) -> OandaBroker:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def _observe_time(self, stamp: str | None) -> None:
        when = parse_time(stamp)
        if when is not None:
            self._offset = when - datetime.now(UTC)

    async def _sync_clock(self) -> None:
        """OANDA's time from a pricing answer (its ``time`` is the server's now)."""
        name = next(iter(self.instruments.values())).name if self.instruments else None
        if name is None:
            return
        data = await self.rest.get(f"{self._account}/pricing", {"instruments": name})
        self._observe_time((data or {}).get("time"))

    # --- instruments ------------------------------------------------------------------------------------------
    async def load_instruments(self) -> dict[str, InstrumentSpec]:
        """``GET /v3/accounts/{id}/instruments``: what the account may trade, with pips and precisions."""
        data = await self.rest.get(f"{self._account}/instruments") or {}
        self.instruments = {
            symbol_of(item["name"]): InstrumentSpec.from_v20(item) for item in data.get("instruments", [])
        }
        return self.instruments

    def instrument(self, symbol: str) -> InstrumentSpec | None:
        """What OANDA said about trading ``symbol`` (no I/O)."""
        return self.instruments.get(symbol)

    def pips(self, symbol: str, price_difference: Decimal) -> Decimal:
        """A price difference in ``symbol``'s pips (0.0001 for EUR/USD, 0.01 for USD/JPY)."""
        spec = self.instruments.get(symbol)
        if spec is None:
            raise ConfigError(f"OANDA did not list {symbol}; its pip size is unknown")
        return spec.pips(price_difference)

    # --- the transaction log ------------------------------------------------------------------------------
    async def _since(self, after: int) -> tuple[list[dict[str, Any]], int]:
        """``GET /transactions/sinceid``: every transaction after an id, and the account's last id."""
        data = await self.rest.get(f"{self._account}/transactions/sinceid", {"id": str(after)}) or {}
        return list(data.get("transactions", [])), int(data.get("lastTransactionID") or after)

    async def _fill_range(self, first: int, last: int) -> list[dict[str, Any]]:
        data = await self.rest.get(
            f"{self._account}/transactions/idrange",
            {"from": str(first), "to": str(last), "type": "ORDER_FILL"},
        )
        return list((data or {}).get("transactions", []))

    def _digest(self, txns: Sequence[dict[str, Any]], *, streamed: bool = False) -> list[OrderUpdate]:
        """Transactions (in id order) as reports, each transaction once whichever way it arrived: an answer's
        transactions the feed has delivered already, or the feed's that an answer brought, are skipped."""
        reports: list[OrderUpdate] = []
        for txn in sorted(txns, key=lambda t: int(t.get("id", 0))):
            number = int(txn.get("id", 0))
            if number in self._digested or (not streamed and number <= self.feed.applied):
                continue
            self._digested.add(number)
            self.stats["transactions"] += 1
            report = self._report(txn)
            if report is not None:
                reports.append(report)
        return self.exits.follow(reports)

    def _report(self, txn: dict[str, Any]) -> OrderUpdate | None:
        kind = txn.get("type")
        oanda_id = str(txn.get("orderID") or txn.get("id"))
        filled_before = bool(self.index.fills(oanda_id)) if kind == "ORDER_CANCEL" else False
        self.index.add(txn)
        report = mapping.report_of(txn, filled_before)
        if report is None:
            return None
        if isinstance(report, Accepted | Replaced) and report.broker_order_id:
            self._current[report.order_id] = report.broker_order_id
        if isinstance(report, Replaced) and report.order_id in self._earlier:
            units = abs(decimal(txn.get("units")) or ZERO)
            report = report._replace(quantity=self._earlier[report.order_id] + units)
        return report

    async def _on_transactions(self, run: list[dict[str, Any]]) -> None:
        """The feed delivers consecutive transactions: report them, and learn what time it is."""
        reports = self._digest(run, streamed=True)
        last = int(run[-1].get("id", 0))
        self.index.read_to(last)
        self._digested = {n for n in self._digested if n > self.feed.applied}
        self._observe_time(run[-1].get("time"))
        strangers = any(isinstance(r, Filled) and r.order_id not in self._mine for r in reports)
        if reports and self._sink is not None:
            try:
                await self._sink.handle_order_updates(reports)
            except SessionClosed:
                log.debug("%d OANDA reports arrived after the session closed", len(reports))
        if strangers:
            self._reconcile_soon()  # a fill of an order placed elsewhere moved the position: adopt it

    async def _on_transactions_open(self, reconnected: bool) -> None:
        """The stream (re)started: read what happened meanwhile from ``sinceid``, then let the manager check."""
        await self.feed.catch_up()
        if reconnected:
            self._reconcile_soon()

    def _reconcile_soon(self) -> None:
        if self._sink is None or (self._sweep is not None and not self._sweep.done()):
            return
        self._sweep = asyncio.get_running_loop().create_task(self._reconcile())

    async def _reconcile(self) -> None:
        if self._sink is None:
            return
        self.stats["sweeps"] += 1
        try:
            await self._sink.reconcile()
        except SessionClosed:
            log.debug("no reconciliation: the session closed")
        except Exception as error:
            log.warning("reconciliation after the OANDA stream came back failed: %r", error)

    def _answer_txns(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        return [body[key] for key in _ANSWER_KEYS if isinstance(body.get(key), dict)]

    async def wait_idle(self, rounds: int = 200) -> None:
        """Wait (bounded) until the feed has delivered every transaction it knows of (tests, notebooks)."""
        for _ in range(rounds):
            if not self.feed.behind and (self.transactions is None or self.transactions.listening.is_set()):
                return
            await asyncio.sleep(0.01)

    # --- orders ---------------------------------------------------------------------------------------------
    async def submit_order(self, order: Order) -> list[OrderUpdate]:
        """POST the order once; an unclear outcome is raised for the manager to settle by a lookup."""
        self._mine.add(order.order_id)
        self._want_prices(order.symbol)
        body = mapping.order_request(order)
        if isinstance(body, mapping.Unsupported):
            return [Rejected(order.order_id, self.now(), body.reason, body.code.value)]
        self.exits.placed(order)
        answer = await self.rest.attempt("POST", f"{self._account}/orders", body={"order": body})
        if answer.kind == "ok":
            reports = self._digest(self._answer_txns(answer.body))
            if any(isinstance(r, Rejected) for r in reports):  # refused on arrival: it never worked
                reports = [r for r in reports if not isinstance(r, Accepted)]
            return reports
        if answer.kind in ("refused", "missing"):
            return self._refusal(order.order_id, answer)
        self.rest.raise_for(answer, f"submit {order.order_id}")
        raise AssertionError("unreachable")  # pragma: no cover

    def _refusal(self, order_id: str, answer: Answer) -> list[OrderUpdate]:
        body = answer.body
        reject = body.get("orderRejectTransaction") or {}
        reason = reject.get("rejectReason") or body.get("errorCode")
        if reason == "CLIENT_ORDER_ID_ALREADY_EXISTS":
            self._digest([reject] if reject else [])
            raise BrokerTimeout(f"submit {order_id}: OANDA already has this client order id; look it up")
        if reject:
            self._digest([reject])  # the reject transaction becomes this report, not a second one
        return [Rejected(order_id, self.now(), answer.error, mapping.reject_code(reason))]

    async def _order(self, specifier: str) -> dict[str, Any] | None:
        data = await self.rest.get(f"{self._account}/orders/{specifier}")
        return None if data is None else data.get("order")

    async def _chain_back(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        """The orders this one replaced, oldest first, then the order itself."""
        chain = [data]
        for _ in range(32):
            previous = chain[0].get("replacesOrderID")
            found = await self._order(previous) if previous else None
            if found is None:
                break
            chain.insert(0, found)
        return chain

    async def _view(self, chain: list[dict[str, Any]]) -> Order:
        """A v20 order (the last of its replacement chain) as ntlab's order: quantities and fills across the
        chain from the fill index, and why it ended."""
        data = chain[-1]
        order_id = mapping.ntlab_id((data.get("clientExtensions") or {}).get("id"), data.get("id"))
        await self.index.cover(chain[0]["id"])
        earlier = sum((self._filled(d) for d in chain[:-1]), ZERO)
        if len(chain) > 1:
            self._earlier[order_id] = earlier
        fills = [f for d in chain for f in self.index.fills(d["id"])]
        reason = None
        if data.get("state") == "CANCELLED" and data.get("cancellingTransactionID"):
            txn = await self.rest.get(f"{self._account}/transactions/{data['cancellingTransactionID']}")
            reason = ((txn or {}).get("transaction") or {}).get("reason")
        units = None
        if data.get("units") is None and data.get("tradeID"):  # a trade's take-profit or stop-loss
            trade = ((await self.rest.get(f"{self._account}/trades/{data['tradeID']}")) or {}).get(
                "trade"
            ) or {}
            units = -(decimal(trade.get("initialUnits")) or ZERO)
            if trade.get("instrument") and not data.get("instrument"):
                data = data | {"instrument": trade["instrument"]}
        self._mine.add(order_id)
        if data.get("state") in ("PENDING", "TRIGGERED"):
            self._current[order_id] = data["id"]
        return mapping.broker_order(
            data,
            filled=self.index.filled(data["id"]),
            earlier_fills=earlier,
            avg_price=average_price(fills),
            cancel_reason=reason,
            units=units,
            order_id=order_id,
        )

    def _filled(self, data: dict[str, Any]) -> Decimal:
        if data.get("state") == "FILLED" and not self.index.fills(data["id"]):
            return abs(decimal(data.get("units")) or ZERO)
        return self.index.filled(data["id"])

    async def lookup_order(self, order_id: str) -> Order | None:
        """The order with this ntlab id (``GET .../orders/@<id>``), following replacements to the live one."""
        self.stats["lookups"] += 1
        data = await self._order(mapping.order_specifier(order_id))
        if data is None:
            return None
        chain = [data]
        for _ in range(32):
            successor = chain[-1].get("replacedByOrderID")
            if chain[-1].get("state") != "CANCELLED" or not successor:
                break
            nxt = await self._order(successor)
            if nxt is None:
                break
            chain.append(nxt)
        return await self._view(chain)

    async def open_orders(self) -> list[Order]:
        """``GET .../pendingOrders``, as ntlab orders (including ones placed outside this session)."""
        data = await self.rest.get(f"{self._account}/pendingOrders") or {}
        pending = data.get("orders", [])
        if pending:
            await self.index.cover(min(int(o["id"]) for o in pending))
        return [await self._view(await self._chain_back(item)) for item in pending]

    async def _live_id(self, order: Order) -> str | None:
        known = self._current.get(order.order_id)
        if known is not None:
            return known
        found = await self.lookup_order(order.order_id)
        return None if found is None else found.broker_order_id

    async def cancel_order(self, order: Order) -> list[OrderUpdate]:
        """``PUT .../orders/{id}/cancel``: v20 cancels at once, so the answer is the outcome."""
        oanda_id = await self._live_id(order)
        if oanda_id is None:
            return [CancelRejected(order.order_id, self.now(), "OANDA has no such order")]
        answer = await self.rest.request("PUT", f"{self._account}/orders/{oanda_id}/cancel")
        if answer.kind == "ok":
            return self._digest(self._answer_txns(answer.body))
        if answer.kind in ("missing", "refused"):
            self._digest(self._answer_txns(answer.body))
            found = await self.lookup_order(order.order_id)
            if found is not None and found.status.is_final and found.status is not mapping.S.FILLED:
                return broker_truth(found, order.order_id, (), ())
            return [CancelRejected(order.order_id, self.now(), answer.error)]
        self.rest.raise_for(answer, f"cancel {order.order_id}")
        raise AssertionError("unreachable")  # pragma: no cover

    async def replace_order(self, order: Order, change: ReplaceChange) -> list[OrderUpdate]:
        """``PUT .../orders/{id}``: v20 cancels the order and creates its replacement under a new id. ntlab
        keeps one id (the replacement's client id derives from it) and records OANDA's new id."""
        oanda_id = await self._live_id(order)
        if oanda_id is None:
            return [ReplaceRejected(order.order_id, self.now(), "OANDA has no such order")]
        if order.linked_to is not None:
            return [
                ReplaceRejected(
                    order.order_id,
                    self.now(),
                    "an OANDA take-profit or stop-loss belongs to its trade: cancel it and place the exit anew",
                )
            ]
        if order.order_class is not OrderClass.SIMPLE and order.filled_quantity > 0:
            return [
                ReplaceRejected(
                    order.order_id,
                    self.now(),
                    f"{order.order_id} has filled in part and its exits work on the trade it opened; "
                    "cancel the rest and place a new entry",
                )
            ]
        total = change.quantity if change.quantity is not None else order.quantity
        left = total - order.filled_quantity
        if left <= 0:
            return [ReplaceRejected(order.order_id, self.now(), f"{order.filled_quantity} already filled")]
        changed = order._replace(
            limit_price=change.limit_price if change.limit_price is not None else order.limit_price,
            stop_price=change.stop_price if change.stop_price is not None else order.stop_price,
        )
        for _ in range(8):
            n = self._replacements.get(order.order_id, 0) + 1
            self._replacements[order.order_id] = n
            body = mapping.order_request(changed, mapping.replacement_client_id(order.order_id, n), left)
            if isinstance(body, mapping.Unsupported):
                return [ReplaceRejected(order.order_id, self.now(), body.reason)]
            self._earlier[order.order_id] = order.filled_quantity
            answer = await self.rest.attempt(
                "PUT", f"{self._account}/orders/{oanda_id}", body={"order": body}
            )
            if answer.kind == "ok":
                return self._replaced(order, change, answer.body)
            reject = answer.body.get("orderRejectTransaction") or {}
            if answer.kind == "refused" and reject.get("rejectReason") == "CLIENT_ORDER_ID_ALREADY_EXISTS":
                self._digest([reject])
                continue
            if answer.kind == "refused":
                self._digest(self._answer_txns(answer.body))
                return [ReplaceRejected(order.order_id, self.now(), answer.error)]
            if answer.kind == "missing":
                self._digest(self._answer_txns(answer.body))
                found = await self.lookup_order(order.order_id)
                if found is not None and found.is_open and found.broker_order_id != oanda_id:
                    return [  # an earlier attempt, whose answer was lost, did replace it
                        Replaced(
                            order.order_id,
                            found.updated_at,
                            found.quantity,
                            found.limit_price,
                            found.stop_price,
                            found.broker_order_id,
                        )
                    ]
                return [ReplaceRejected(order.order_id, self.now(), answer.error)]
            self.rest.raise_for(answer, f"replace {order.order_id}")
        return [ReplaceRejected(order.order_id, self.now(), "no free replacement client id")]

    def _replaced(self, order: Order, change: ReplaceChange, body: dict[str, Any]) -> list[OrderUpdate]:
        created = body.get("orderCreateTransaction") or {}
        reports = self._digest(self._answer_txns(body))
        new_id = created.get("id")
        when = parse_time(created.get("time")) or self.now()
        if new_id:
            self._current[order.order_id] = new_id
        replaced = Replaced(
            order.order_id, when, change.quantity, change.limit_price, change.stop_price, new_id
        )
        return [replaced, *(r for r in reports if not isinstance(r, Replaced | Accepted))]

    # --- fills, positions, trades, account --------------------------------------------------------------------
    async def fills_since(self, since: datetime | None) -> list[Fill]:
        """ORDER_FILLs since a time (``GET .../transactions?from=&type=ORDER_FILL`` and its pages), or, when
        None, since this adapter connected."""
        if since is None:
            first = self._first_transaction + 1
            await self.index.cover(first)
            return [f for f in self.index.all_fills() if int(f.fill_id) >= first]
        # A margin before ``since``: OANDA's clock and ours differ; the caller filters by order anyway.
        params = {
            "from": format_time(since - timedelta(minutes=10)),
            "type": "ORDER_FILL",
            "pageSize": "1000",
        }
        data = await self.rest.get(f"{self._account}/transactions", params) or {}
        fills = []
        for page in data.get("pages", []):
            parts = urlsplit(page)
            answer = await self.rest.request(
                "GET", f"{parts.path}?{parts.query}" if parts.query else parts.path
            )
            if answer.kind != "ok":
                self.rest.raise_for(answer, "GET transaction pages")
            for txn in answer.body.get("transactions", []):
                fill = self.index.add(txn)
                if fill is not None:
                    fills.append(fill)
        return fills

    async def positions(self) -> list[Position]:
        """Open positions, netted per instrument (a hedging account's two sides add up)."""
        data = await self.rest.get(f"{self._account}/openPositions") or {}
        found = [mapping.position_of(item) for item in data.get("positions", [])]
        return [p for p in found if p.quantity]

    async def oanda_positions(self) -> list[OandaPosition]:
        """Open positions with OANDA's figures: both sides, unrealized P&L, financing, margin used."""
        data = await self.rest.get(f"{self._account}/openPositions") or {}
        return [OandaPosition.from_v20(item) for item in data.get("positions", [])]

    async def trades(self, state: str = "OPEN") -> list[OandaTrade]:
        """Trades (``OPEN``, ``CLOSED`` or ``ALL``), newest first as OANDA lists them."""
        path = f"{self._account}/openTrades" if state == "OPEN" else f"{self._account}/trades"
        params = None if state == "OPEN" else {"state": state, "count": "500"}
        data = await self.rest.get(path, params) or {}
        return [OandaTrade.from_v20(item) for item in data.get("trades", [])]

    async def oanda_account(self) -> OandaAccount:
        """``GET /v3/accounts/{id}/summary`` with OANDA's own figures (NAV, margin, financing, ...)."""
        data = await self.rest.get(f"{self._account}/summary")
        if data is None:
            raise ConfigError(
                f"OANDA has no account {self.account_id!r} for this token; check OANDA_ACCOUNT_ID"
            )
        return OandaAccount.from_v20(data["account"] | {"lastTransactionID": data.get("lastTransactionID")})

    async def account(self) -> Account:
        """The account as ntlab reads every broker's: cash is the balance, equity the NAV, margin used
        OANDA's; buying power is the position value the margin available carries at the account's margin
        rate. OANDA reports no day P&L (its ``pl`` is lifetime), so that is None."""
        raw = await self.oanda_account()
        buying = raw.margin_available / raw.margin_rate if raw.margin_rate else None
        return Account(
            broker=self.name,
            currency=raw.currency,
            cash=raw.balance,
            equity=raw.nav,
            buying_power=buying,
            margin_used=raw.margin_used,
            day_pnl=None,
            time=self.now(),
        )

    # --- prices ---------------------------------------------------------------------------------------------
    def last_quote(self, symbol: str) -> Quote | None:
        return self._quotes.get(symbol)

    async def fetch_quote(self, symbol: str) -> Quote | None:
        """``GET .../pricing?instruments=EUR_USD``; the symbol then joins the pricing stream."""
        self._want_prices(symbol)
        data = await self.rest.get(f"{self._account}/pricing", {"instruments": instrument_name(symbol)})
        prices = (data or {}).get("prices") or []
        self._observe_time((data or {}).get("time"))
        quote = _quote(prices[0]) if prices else None
        if quote is not None:
            self._quotes[symbol] = quote
        return quote

    def _want_prices(self, symbol: str) -> None:
        if symbol in self._quote_symbols:
            return
        self._quote_symbols.append(symbol)
        idle = self._restart_prices is None or self._restart_prices.done()
        if self._use_prices and self._sink is not None and idle:
            self._restart_prices = asyncio.get_running_loop().create_task(self._start_prices())

    async def _start_prices(self) -> None:
        """(Re)open the pricing stream for every symbol wanted so far (v20 fixes them per connection)."""
        if self.pricing is not None:
            await self.pricing.close()
        self.pricing = LineStream(
            self._streams(),
            f"{self._account}/pricing/stream",
            {"instruments": ",".join(instrument_name(s) for s in self._quote_symbols), "snapshot": "true"},
            self._on_prices,
            _nothing,
            name="pricing",
            idle_timeout=self.idle_timeout,
            retry_initial=self.retry_initial,
        )
        await self.pricing.start()

    async def _on_prices(self, lines: list[dict[str, Any]]) -> None:
        for line in lines:
            if line.get("type") == "PRICE":
                quote = _quote(line)
                if quote is not None:
                    self._quotes[quote.symbol] = quote
            elif line.get("type") == "HEARTBEAT":
                self._observe_time(line.get("time"))


async def _nothing(reconnected: bool) -> None:
    return None


def _quote(price: dict[str, Any]) -> Quote | None:
    """A v20 ClientPrice as ntlab's top of book (the first bucket on each side)."""
    bids, asks = price.get("bids") or [], price.get("asks") or []
    if not bids or not asks:
        return None
    bid, ask = decimal(bids[0].get("price")), decimal(asks[0].get("price"))
    if bid is None or ask is None:
        return None
    return Quote(
        symbol=symbol_of(price["instrument"]),
        time=parse_time(price.get("time")) or datetime.now(UTC),
        bid=bid,
        ask=ask,
        bid_size=decimal(bids[0].get("liquidity")) or ZERO,
        ask_size=decimal(asks[0].get("liquidity")) or ZERO,
    )


__all__ = ["LIVE_STREAM_URL", "LIVE_URL", "PRACTICE_STREAM_URL", "PRACTICE_URL", "OandaBroker"]
