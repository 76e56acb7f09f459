"""IBBroker: ntlab's broker port on Interactive Brokers' TWS / IB Gateway, through ib_async.

One ib_async ``IB`` client (:mod:`~ntlab.brokers.ib.connection`) carries everything; its events become
ntlab's reports (:mod:`~ntlab.brokers.ib.events`). ntlab's order id travels as the order's ``orderRef``
(TWS echoes it in openOrder, executions and completed orders), and IB's order id and permId are recorded as
``broker_order_id`` (``"<orderId>/<permId>"``), so a restarted session finds its orders by either.

A submit is sent once and waits for TWS's first word: a status (accepted), an error (refused, by the code
table), a 103 or 100 (nothing placed: the manager may retry) or the connection going (it may have arrived:
the manager looks it up by orderRef before sending again). Lookups and reconciliation ask TWS itself
(reqAllOpenOrders, reqCompletedOrders, reqExecutions, reqPositions), never ib_async's cache.

Pacing: TWS takes about 50 messages a second from a client. ib_async queues what goes beyond 45 a second
(``max_requests``) and sends it as the window frees, so a burst of orders is slowed, never refused; the
adapter adds nothing of its own on top.

Live versus paper: paper ports (TWS 7497, IB Gateway 4002) unless the live-trading gate is open; a live
port (7496, 4001) without the gate is refused, and so is a TWS logged in to a live account on any port.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ib_async import Contract, Ticker
from ib_async import Order as IBOrder

from ntlab.brokers.ib import mapping
from ntlab.brokers.ib.connection import LIVE_PORTS, Connection
from ntlab.brokers.ib.contracts import contract_key
from ntlab.brokers.ib.events import OrderEvents
from ntlab.core.broker import UpdateSink
from ntlab.core.enums import OrderStatus, OrderType, Side
from ntlab.core.instruments import AssetKind, classify_symbol
from ntlab.core.legs import legs as legs_of
from ntlab.core.lifecycle import ReplaceChange
from ntlab.core.records import Account, Fill, Order, Position, Quote
from ntlab.core.reports import CancelRejected, OrderUpdate, Rejected, Replaced, ReplaceRejected
from ntlab.core.submit import broker_truth
from ntlab.errors import BrokerError, BrokerTimeout, InvalidArgument, LiveTradingError, Reason, SessionClosed

if TYPE_CHECKING:
    from ib_async import IB, Trade

    from ntlab.config import ExecutionConfig

log = logging.getLogger(__name__)

ZERO = Decimal(0)
PAPER_PORT = 7497
LIVE_PORT = 7496
FILL_MARGIN = timedelta(minutes=10)  # executions a little before ``since``: the clocks differ


class IBBroker:
    """Interactive Brokers as an ntlab broker. Use :meth:`from_config` for the environment.

    ``host``/``port``/``client_id`` name the TWS or IB Gateway API socket (the client id must be free);
    ``account`` picks one of several managed accounts. ``timeout`` bounds every request and the wait for a
    reconnect; ``ack_timeout`` the wait for TWS's answer to a submit or change. ``max_requests`` is
    ib_async's pacing (messages per second; None turns it off, for the loopback fake).
    """

    name = "ib"
    local = False
    durable = True

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int | None = None,
        client_id: int = 1,
        *,
        account: str | None = None,
        config: ExecutionConfig | None = None,
        timeout: float = 10.0,
        ack_timeout: float | None = None,
        reconnect_initial: float = 0.5,
        reconnect_max: float = 30.0,
        commission_wait: float = 2.0,
        max_requests: int | None = 45,
    ) -> None:
        live = bool(config is not None and config.live)
        port = port if port is not None else (LIVE_PORT if live else PAPER_PORT)
        if port in LIVE_PORTS and not live:
            raise LiveTradingError(
                f"port {port} is a live TWS / IB Gateway port; live trading needs ENABLE_LIVE_TRADING=true and "
                "PAPER_TRADING=false. Use the paper port (TWS 7497, IB Gateway 4002) otherwise"
            )
        self.live = live
        self.host, self.port, self.client_id = host, port, client_id
        self.ack_timeout = ack_timeout if ack_timeout is not None else timeout
        self.conn = Connection(
            host,
            port,
            client_id,
            account=account,
            live=live,
            timeout=timeout,
            reconnect_initial=reconnect_initial,
            reconnect_max=reconnect_max,
            max_requests=max_requests,
        )
        self.events = OrderEvents(self.conn, commission_wait=commission_wait)
        self.conn.on_ready = self._on_ready
        self.conn.on_reconnected = self._reconnected
        self.events.on_restored = self._restored
        self.conn.ib.disconnectedEvent += self._on_disconnected
        self._sink: UpdateSink | None = None
        self._contracts: dict[str, Contract] = {}
        self._qualifying: dict[str, asyncio.Future[Contract | None]] = {}  # one reqContractDetails per symbol
        self._tickers: dict[str, Ticker] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    @classmethod
    def from_config(cls, config: ExecutionConfig, **options: Any) -> IBBroker:
        """The adapter ``Lab(broker="ib")`` builds: IB_HOST, IB_PORT, IB_CLIENT_ID, IB_ACCOUNT; paper ports
        unless the live-trading gate is open."""
        options.setdefault("host", config.ib_host)
        options.setdefault("port", config.ib_port)
        options.setdefault("client_id", config.ib_client_id)
        options.setdefault("account", config.ib_account)
        return cls(config=config, **options)

    def __repr__(self) -> str:
        mode = "LIVE" if self.live else "paper"
        return f"IBBroker(host={self.host!r}, port={self.port}, client_id={self.client_id}, mode={mode!r})"

    __str__ = __repr__

    @property
    def ib(self) -> IB:
        """The ib_async client itself, for what ntlab does not wrap (market depth, history, options)."""
        return self.conn.ib

    @property
    def account_id(self) -> str | None:
        return self.conn.account

    @property
    def connected(self) -> bool:
        return self.conn.is_ready

    # --- lifecycle ------------------------------------------------------------------------------------------
    async def connect(self, sink: UpdateSink) -> None:
        """Connect to TWS (ib_async syncs orders, positions, account and executions), then stream into ``sink``."""
        self._sink = sink
        self.events.start(sink)
        await self.conn.connect()

    async def close(self) -> None:
        await self.events.close()
        await self.conn.close()
        for task in list(self._tasks):
            task.cancel()

    async def __aenter__(self) -> IBBroker:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def wait_idle(self) -> None:
        """Wait until every report heard so far has reached the manager (tests, notebooks)."""
        await self.events.drain()

    def now(self) -> datetime:
        return self.conn.now()

    def _on_ready(self) -> None:
        """Each (re)connection: subscribe the day's P&L and the quotes that were streaming."""
        ib = self.conn.ib
        if self.conn.account and not ib.pnl(self.conn.account):
            ib.reqPnL(self.conn.account)
        for symbol, ticker in list(self._tickers.items()):
            self._tickers[symbol] = ib.reqMktData(ticker.contract, "", False, False)

    def _on_disconnected(self) -> None:
        if self.conn.closing:
            return
        self.events.fail_all("the connection to TWS dropped before it answered")
        self.conn.dropped()

    async def _reconnected(self) -> None:
        """Back after a drop: cancels that were not answered go again, then the session reconciles."""
        await self._resend_cancels()
        if self._sink is not None:
            try:
                await self._sink.reconcile()
            except SessionClosed:
                log.debug("no reconciliation: the session closed")

    def _restored(self, data_lost: bool) -> None:
        """TWS is linked to IB again (1101/1102): reconcile, and resubscribe what a 1101 lost."""
        if data_lost:
            self._on_ready()
        self._spawn(self._reconnected())

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _resend_cancels(self) -> None:
        for order_id in list(self.events.cancels):
            trade = self._trade(order_id, None)
            if trade is not None and not trade.isDone():
                log.info("sending the unanswered cancel of %s again", order_id)
                self.conn.ib.cancelOrder(trade.order)
            else:
                self.events.cancels.pop(order_id, None)

    # --- contracts and quotes -------------------------------------------------------------------------------
    async def contract(self, symbol: str) -> Contract | None:
        """The qualified IB contract for an ntlab symbol (cached); None when IB has none (error 200).

        Callers asking at once share one request: a burst of orders in a new symbol costs one message of
        TWS's pacing budget, not one per order."""
        known = self._contracts.get(symbol)
        if known is not None:
            return known
        pending = self._qualifying.get(symbol)
        if pending is None:
            pending = asyncio.ensure_future(self._qualify(symbol))
            self._qualifying[symbol] = pending
            pending.add_done_callback(lambda _: self._qualifying.pop(symbol, None))
        return await asyncio.shield(pending)

    async def _qualify(self, symbol: str) -> Contract | None:
        key = contract_key(symbol)
        ib = await self.conn.ready(f"contract for {symbol}")
        wanted = Contract(
            secType=key.sec_type, symbol=key.symbol, exchange=key.exchange, currency=key.currency
        )
        try:
            details = await asyncio.wait_for(ib.reqContractDetailsAsync(wanted), self.conn.timeout)
        except TimeoutError:
            raise BrokerTimeout(f"TWS did not describe {symbol} within {self.conn.timeout:g}s") from None
        if not details or details[0].contract is None:
            return None
        qualified = details[0].contract
        qualified.exchange = key.exchange  # route through SMART (stocks), not the primary listing
        self._contracts[symbol] = qualified
        return qualified

    def last_quote(self, symbol: str) -> Quote | None:
        ticker = self._tickers.get(symbol)
        if ticker is None:
            return None
        bid, ask = mapping.dec(ticker.bid), mapping.dec(ticker.ask)
        if bid is None or ask is None or bid <= 0 or ask <= 0:
            return None
        return Quote(
            symbol=symbol,
            time=self.now(),
            bid=bid,
            ask=ask,
            bid_size=mapping.dec(ticker.bidSize) or ZERO,
            ask_size=mapping.dec(ticker.askSize) or ZERO,
        )

    async def fetch_quote(self, symbol: str) -> Quote | None:
        """Subscribe the symbol's quotes (kept streaming for ``last_quote``) and return the first one."""
        quote = self.last_quote(symbol)
        if quote is not None:
            return quote
        contract = await self.contract(symbol)
        if contract is None:
            return None
        ib = await self.conn.ready(f"quote for {symbol}")
        if symbol not in self._tickers:
            self._tickers[symbol] = ib.reqMktData(contract, "", False, False)
        for _ in range(max(int(self.conn.timeout / 0.01), 1)):
            quote = self.last_quote(symbol)
            if quote is not None:
                return quote
            await asyncio.sleep(0.01)
        return None

    # --- orders -----------------------------------------------------------------------------------------
    async def submit_order(self, order: Order) -> list[OrderUpdate]:
        ib = await self.conn.ready(f"submit {order.order_id}")  # not connected: provably not sent
        now = self.now()
        try:
            contract = await self.contract(order.symbol)
        except InvalidArgument as error:
            return [Rejected(order.order_id, now, str(error), Reason.UNKNOWN_SYMBOL.value)]
        if contract is None:
            why = f"IB has no contract for {order.symbol} (error 200: no security definition)"
            return [Rejected(order.order_id, now, why, Reason.UNKNOWN_SYMBOL.value)]
        account = self.conn.account or ""
        legs = legs_of(order)
        if legs:
            ids = [ib.client.getReqId() for _ in range(len(legs) + 1)]
            sent = mapping.linked_fields(order, legs, account, ids)
        else:
            sent = [mapping.ib_order_fields(order, account)]
        for record, fields in zip([order, *legs], sent, strict=True):
            refusal = _crypto_rule(record, fields)
            if refusal is not None:
                return [Rejected(order.order_id, now, refusal, Reason.NOT_ALLOWED.value)]
        waiter = self.events.expect(order.order_id, "submit")
        try:
            trades = [ib.placeOrder(contract, IBOrder(**fields)) for fields in sent]
        except ConnectionError as error:
            self.events.forget(order.order_id, waiter)
            raise BrokerTimeout(
                f"submit {order.order_id}: the connection went while sending ({error})"
            ) from None
        for trade in trades:
            self.events.learn(trade)
        try:
            return await asyncio.wait_for(asyncio.shield(waiter.future), self.ack_timeout)
        except TimeoutError:
            raise BrokerTimeout(
                f"submit {order.order_id}: TWS did not answer within {self.ack_timeout:g}s; it may have the order"
            ) from None
        finally:
            self.events.forget(order.order_id, waiter)

    def _trade(self, order_id: str, broker_order_id: str | None) -> Trade | None:
        """ib_async's Trade for one of this client's orders: by orderRef, else by the recorded order id."""
        ids = mapping.parse_broker_id(broker_order_id)
        found: Trade | None = None
        for trade in self.conn.ib.trades():
            order = trade.order
            if order.clientId != self.client_id:
                continue
            mine = order.orderRef == order_id or (ids is not None and order.orderId == ids[0])
            if mine and (found is None or not trade.isDone()):
                found = trade
        return found

    async def _working(self, order: Order) -> tuple[Trade | None, Order | None]:
        """The order's live Trade, asking TWS when ib_async's view says it is gone (it may not be)."""
        trade = self._trade(order.order_id, order.broker_order_id)
        if trade is not None and not trade.isDone():
            return trade, None
        found = await self.lookup_order(order.order_id)
        if found is None or found.status.is_final:
            return None, found
        return self._trade(order.order_id, order.broker_order_id), found

    async def cancel_order(self, order: Order) -> list[OrderUpdate]:
        """Send the cancel; its PendingCancel and Cancelled (or a refusal) arrive as news."""
        ib = await self.conn.ready(f"cancel {order.order_id}")
        trade, found = await self._working(order)
        now = self.now()
        if trade is None:
            if found is None:
                return [CancelRejected(order.order_id, now, "IB has no such order")]
            if found.status is OrderStatus.FILLED:
                return [CancelRejected(order.order_id, now, "IB reports the order filled")]
            if found.status.is_final:
                return broker_truth(found, order.order_id, (), ())
            return [
                CancelRejected(
                    order.order_id,
                    now,
                    "the order belongs to another API client; IB lets only that client cancel it",
                )
            ]
        self.events.cancels[order.order_id] = trade.order.orderId
        ib.cancelOrder(trade.order)
        for other in self._group(trade):  # one exit of a bracket or oco cancelled: the other goes with it
            self.events.cancels[self.events.learn(other)] = other.order.orderId
            ib.cancelOrder(other.order)
        return []

    def _group(self, trade: Trade) -> list[Trade]:
        """The other working members of an order's one-cancels-other group: its OCA group's, or for a
        bracket's exit, its sibling (children of the same parent)."""
        order = trade.order
        if not order.ocaGroup and not order.parentId:
            return []
        found = []
        for other in self.conn.ib.openTrades():
            o = other.order
            if other is trade or o.clientId != order.clientId:
                continue
            same_oca = bool(order.ocaGroup) and o.ocaGroup == order.ocaGroup
            if same_oca or (order.parentId and o.parentId == order.parentId):
                found.append(other)
        return found

    async def replace_order(self, order: Order, change: ReplaceChange) -> list[OrderUpdate]:
        """Modify in place (placeOrder with the same order id); Replaced once TWS echoes the new figures."""
        for attempt in range(2):
            ib = await self.conn.ready(f"replace {order.order_id}")
            trade, found = await self._working(order)
            now = self.now()
            if trade is None:
                state = "unknown to IB" if found is None else found.status.value
                return [
                    ReplaceRejected(order.order_id, now, f"IB reports the order {state}; nothing to change")
                ]
            expected = _expected(trade, change)
            if attempt > 0 and _shows(trade, expected):  # the change sent before the drop took effect
                return [self._replaced(order.order_id, change)]
            changed = copy.copy(trade.order)
            quantity, limit, stop = expected
            if quantity is not None:
                changed.totalQuantity = float(quantity)
            if limit is not None:
                changed.lmtPrice = float(limit)
            if stop is not None:
                changed.auxPrice = float(stop)
            waiter = self.events.expect(order.order_id, "replace", change)
            waiter.expected = expected
            try:
                try:
                    ib.placeOrder(trade.contract, changed)
                except AssertionError:  # ib_async thinks it done after a warning; TWS does not
                    ib.client.placeOrder(changed.orderId, trade.contract, changed)
                waiter.sent = True
                return await asyncio.wait_for(asyncio.shield(waiter.future), self.ack_timeout)
            except BrokerTimeout:
                if attempt == 0:
                    continue  # the connection went: look again once it is back
                raise
            except TimeoutError:
                raise BrokerTimeout(
                    f"replace {order.order_id}: TWS did not answer within {self.ack_timeout:g}s"
                ) from None
            finally:
                self.events.forget(order.order_id, waiter)
        raise BrokerTimeout(f"replace {order.order_id}: the connection kept dropping")

    def _replaced(self, order_id: str, change: ReplaceChange) -> Replaced:
        return Replaced(
            order_id,
            self.now(),
            change.quantity,
            change.limit_price,
            change.stop_price,
            self.events.broker_id(order_id),
        )

    # --- what TWS holds -----------------------------------------------------------------------------------
    async def _all_open(self, ib: IB) -> list[Trade]:
        async with self.conn.lock("openOrders"):
            try:
                return list(await asyncio.wait_for(ib.reqAllOpenOrdersAsync(), self.conn.timeout))
            except TimeoutError:
                raise BrokerTimeout("TWS did not list its open orders in time") from None

    async def _completed(self, ib: IB) -> list[Trade]:
        async with self.conn.lock("completedOrders"):
            try:
                return list(await asyncio.wait_for(ib.reqCompletedOrdersAsync(False), self.conn.timeout))
            except TimeoutError:
                raise BrokerTimeout("TWS did not list its completed orders in time") from None

    def _order(self, trade: Trade, *, completed: bool = False) -> Order:
        order_id = self.events.learn(trade) if not completed else mapping.reference(trade.order)
        found = mapping.broker_order(trade, self.now(), completed=completed)
        known = self.events.broker_id(order_id)
        if known is not None and (completed or not trade.order.permId):
            found = found._replace(broker_order_id=known)
        return found._replace(order_id=order_id)

    async def lookup_order(self, order_id: str) -> Order | None:
        """TWS's view of the order with this orderRef: among the open orders, then the completed ones."""
        ib = await self.conn.ready(f"lookup {order_id}")
        for trade in await self._all_open(ib):
            if mapping.reference(trade.order) == order_id:
                return self._order(trade)
        for trade in await self._completed(ib):
            if mapping.reference(trade.order) == order_id:
                return self._order(trade, completed=True)
        return None

    async def open_orders(self) -> list[Order]:
        """Every open order on the account, this client's and other clients' (reqAllOpenOrders)."""
        ib = await self.conn.ready("open orders")
        return [self._order(t) for t in await self._all_open(ib) if not t.isDone()]

    async def completed_orders(self) -> list[Order]:
        """The day's finished orders (reqCompletedOrders)."""
        ib = await self.conn.ready("completed orders")
        return [self._order(t, completed=True) for t in await self._completed(ib)]

    async def fills_since(self, since: datetime | None) -> list[Fill]:
        """The day's executions (reqExecutions), with the commission reports TWS sends with them."""
        ib = await self.conn.ready("executions")
        try:
            found = await asyncio.wait_for(ib.reqExecutionsAsync(), self.conn.timeout)
        except TimeoutError:
            raise BrokerTimeout("TWS did not list its executions in time") from None
        seen = {f.execution.execId: f for f in ib.fills()}
        cutoff = None if since is None else since - FILL_MARGIN
        fills = []
        for item in found:
            execution = item.execution
            if cutoff is not None and execution.time < cutoff:
                continue
            order_id = (
                execution.orderRef or self.events.refs.get(execution.permId) or f"ib-{execution.permId}"
            )
            fills.append(mapping.fill(item, order_id, self._fee(execution.execId, item, seen)))
        return fills

    def _fee(self, exec_id: str, item: Any, seen: dict[str, Any]) -> Decimal:
        known = self.events.commissions.get(exec_id)
        if known is not None:
            return known
        for candidate in (seen.get(exec_id), item):
            if candidate is not None and candidate.commissionReport.execId == exec_id:
                return mapping.dec(candidate.commissionReport.commission) or ZERO
        log.warning("execution %s came without its commission report; no fee recorded", exec_id)
        return ZERO

    async def positions(self) -> list[Position]:
        ib = await self.conn.ready("positions")
        async with self.conn.lock("positions"):
            try:
                items = await asyncio.wait_for(ib.reqPositionsAsync(), self.conn.timeout)
            except TimeoutError:
                raise BrokerTimeout("TWS did not list its positions in time") from None
        latest = {}
        for item in items:
            if self.conn.account is None or item.account == self.conn.account:
                latest[item.contract.conId] = item
        return [mapping.position(item) for item in latest.values() if item.position]

    async def account(self) -> Account:
        """The account as TWS reports it: TotalCashValue, NetLiquidation, BuyingPower, InitMarginReq and
        the day's P&L (reqPnL)."""
        ib = await self.conn.ready("account")
        values: dict[str, str] = {}
        currency = "USD"
        for value in ib.accountValues(self.conn.account or ""):
            if value.tag == "Currency" and value.value:
                currency = value.value
            if value.currency in ("USD", "BASE", currency) and value.tag not in values:
                values[value.tag] = value.value
        cash, equity = _money(values.get("TotalCashValue")), _money(values.get("NetLiquidation"))
        if cash is None or equity is None:
            raise BrokerError("TWS has not reported the account's cash and net liquidation yet; try again")
        day = None
        for pnl in ib.pnl(self.conn.account or ""):
            day = mapping.dec(pnl.dailyPnL)
        return Account(
            broker=self.name,
            currency=currency,
            cash=cash,
            equity=equity,
            buying_power=_money(values.get("BuyingPower")),
            margin_used=_money(values.get("InitMarginReq")),
            day_pnl=day,
            time=self.now(),
        )


def _money(value: str | None) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(value)
    except ArithmeticError:
        return None


def _crypto_rule(order: Order, fields: dict[str, Any]) -> str | None:
    """IB's crypto rules (PAXOS): limit orders, market sells as IOC, market buys only by cash amount."""
    if classify_symbol(order.symbol) is not AssetKind.CRYPTO:
        return None
    if order.order_type not in (OrderType.MARKET, OrderType.LIMIT):
        return f"IB takes only market and limit orders for crypto, not {order.order_type.value}"
    if order.order_type is OrderType.MARKET:
        if order.side is Side.BUY:
            return "IB takes crypto market buys only by cash amount; place a limit buy instead"
        fields["tif"] = "IOC"  # the only time in force IB takes for crypto market orders
    return None


def _expected(trade: Trade, change: ReplaceChange) -> tuple[Decimal | None, Decimal | None, Decimal | None]:
    """The quantity, limit price and aux (stop) price the order will show once changed (None: as is)."""
    kind = trade.order.orderType
    limit = change.limit_price if kind in ("LMT", "STP LMT", "LOC") else None
    stop = change.stop_price if kind in ("STP", "STP LMT") else None
    return change.quantity, limit, stop


def _shows(trade: Trade, expected: tuple[Decimal | None, Decimal | None, Decimal | None]) -> bool:
    order = trade.order
    shown = (mapping.dec(order.totalQuantity), mapping.dec(order.lmtPrice), mapping.dec(order.auxPrice))
    return all(want is None or have == want for want, have in zip(expected, shown, strict=True))


__all__ = ["LIVE_PORT", "PAPER_PORT", "IBBroker"]
