"""FakeTWS: a local Trader Workstation / IB Gateway that unmodified API clients (ib_async) connect to.

    python -m ntlab.brokers.ib.fake --port 7497

It speaks the TWS API socket protocol at server version 178 (:mod:`~ntlab.brokers.ib.wire`): the handshake
and version range, startApi, nextValidId and managedAccounts, the data-farm notices, and an answer with its
end marker to every request ib_async makes on connect (positions, open and completed orders, account
updates, executions). Orders fill on the kit's matching engine over the seeded sample market
(:mod:`~ntlab.brokers.ib.fake_desk`); contracts are the market's symbols with IB's own conIds.

Faults: the kit's fault plan (``faults``) applies to messages by their API name (``placeOrder``,
``cancelOrder``, ``reqExecutions``...): ``rate_limit`` answers error 100, ``status`` is an interruption of
TWS's own connectivity (error 1100, then 1102 a moment later; ``after_processing``: the message was acted on
and its news comes after the 1102), ``reset`` cuts the socket, ``stall`` holds the news (or, before
processing, the whole connection). Stream faults apply to order news. ``drop_connections`` sends 1100 and
cuts every socket; a client that comes back hears 1102. IB's own: ``execution_delay`` (execDetails and their
commission reports late), ``duplicate_executions``, ``withhold_commissions`` (no live commission report), ``reject_next`` (error 201 and friends), ``cancel_races``
(a cancel waits while the market runs on, so fills race it). ``max_rate`` is TWS's pacing: what a client
sends faster than that many messages a second (wall time, a burst of as many allowed) is dropped with
error 100.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from ntlab.brokers.ib import fake_messages as msg
from ntlab.brokers.ib.fake_account import Account
from ntlab.brokers.ib.fake_catalog import Catalog, ContractSpec
from ntlab.brokers.ib.fake_desk import OrderDesk
from ntlab.brokers.ib.fake_orders import Cursor, TwsExecution, TwsOrder, read_place_order
from ntlab.brokers.ib.fake_rules import NO_SECURITY, validating
from ntlab.brokers.ib.fake_session import Session
from ntlab.brokers.ib.wire import EASTERN, Out
from ntlab.brokers.paper import PaperConfig
from ntlab.testing.engine import FakeEngine
from ntlab.testing.faults import RequestFault
from ntlab.testing.servers import FakeTcpServer, run_fake

log = logging.getLogger(__name__)

PROTOCOL = "TWS"
ACCOUNT = "DU123456"
EXTERNAL_CLIENT = 77  # the client id of "another app" placing orders on the same account

NAMES: dict[int, str] = {
    Out.REQ_MKT_DATA: "reqMktData",
    Out.CANCEL_MKT_DATA: "cancelMktData",
    Out.PLACE_ORDER: "placeOrder",
    Out.CANCEL_ORDER: "cancelOrder",
    Out.REQ_OPEN_ORDERS: "reqOpenOrders",
    Out.REQ_ACCT_DATA: "reqAccountUpdates",
    Out.REQ_EXECUTIONS: "reqExecutions",
    Out.REQ_IDS: "reqIds",
    Out.REQ_CONTRACT_DATA: "reqContractDetails",
    Out.REQ_AUTO_OPEN_ORDERS: "reqAutoOpenOrders",
    Out.REQ_ALL_OPEN_ORDERS: "reqAllOpenOrders",
    Out.REQ_MANAGED_ACCTS: "reqManagedAccts",
    Out.REQ_CURRENT_TIME: "reqCurrentTime",
    Out.REQ_GLOBAL_CANCEL: "reqGlobalCancel",
    Out.REQ_MARKET_DATA_TYPE: "reqMarketDataType",
    Out.REQ_POSITIONS: "reqPositions",
    Out.REQ_ACCOUNT_SUMMARY: "reqAccountSummary",
    Out.CANCEL_ACCOUNT_SUMMARY: "cancelAccountSummary",
    Out.CANCEL_POSITIONS: "cancelPositions",
    Out.REQ_ACCOUNT_UPDATES_MULTI: "reqAccountUpdatesMulti",
    Out.CANCEL_ACCOUNT_UPDATES_MULTI: "cancelAccountUpdatesMulti",
    Out.REQ_PNL: "reqPnL",
    Out.CANCEL_PNL: "cancelPnL",
    Out.REQ_COMPLETED_ORDERS: "reqCompletedOrders",
}

RATE_EXCEEDED = "Max rate of messages per second has been exceeded."
LOST = "Connectivity between IB and Trader Workstation has been lost."
RESTORED = (
    "Connectivity between IB and Trader Workstation has been restored - data maintained. "
    "All data farms are connected: usfarm; ushmds; secdefnj."
)
RESTORED_DATA_LOST = "Connectivity between IB and Trader Workstation has been restored - data lost."
FARMS = (
    (2104, "Market data farm connection is OK:usfarm"),
    (2106, "HMDS data farm connection is OK:ushmds"),
    (2158, "Sec-def data farm connection is OK:secdefnj"),
)
NOT_SUBSCRIBED = "Requested market data is not subscribed."
ACCOUNT_BATCH = 0.05  # seconds: account figures changed by a burst of fills go out once


class FakeTWS(FakeTcpServer):
    """A TWS on loopback for one account (``DU123456``, a paper account) with ``cash`` to start."""

    def __init__(
        self,
        engine: FakeEngine | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        account: str = ACCOUNT,
        cash: Decimal | int | str = 1_000_000,
        blip: float = 0.3,
        max_rate: int | None = None,
    ) -> None:
        if engine is None:
            engine = FakeEngine(config=PaperConfig(taker_fee_bps=Decimal(0)), cash=cash)
        super().__init__(engine, host=host, port=port)
        self.account = Account(account, Decimal(str(cash)))
        self.catalog = Catalog(self.engine.market)
        self.sessions: dict[int, Session] = {}
        self.desk = OrderDesk(self.engine, self.catalog, self.account, self._owner, self._portfolio_changed)
        self.blip = blip
        self.max_rate = max_rate  # TWS's pacing: messages a second a client may send (None: no limit)
        self.paced = 0  # messages refused with error 100 for pacing
        self.received: Counter[str] = Counter()  # messages taken, by API name
        self.cancel_races = 0  # the next N cancels wait while the market runs on ...
        self.race_seconds = 10.0  # ... for this long: fills race them
        self.connections: Counter[int] = Counter()  # API connections made, by client id
        self._serving: set[asyncio.Task[Any]] = set()
        self._account_due = False
        self._restored: set[int] = set()
        self._handlers: dict[int, Any] = {
            Out.REQ_MKT_DATA: self._req_mkt_data,
            Out.CANCEL_MKT_DATA: self._cancel_mkt_data,
            Out.PLACE_ORDER: self._place_order,
            Out.CANCEL_ORDER: self._cancel_order,
            Out.REQ_OPEN_ORDERS: self._req_open_orders,
            Out.REQ_ALL_OPEN_ORDERS: self._req_all_open_orders,
            Out.REQ_AUTO_OPEN_ORDERS: _ignore,
            Out.REQ_ACCT_DATA: self._req_account_updates,
            Out.REQ_EXECUTIONS: self._req_executions,
            Out.REQ_IDS: self._req_ids,
            Out.REQ_CONTRACT_DATA: self._req_contract_details,
            Out.REQ_MANAGED_ACCTS: self._req_managed_accounts,
            Out.REQ_CURRENT_TIME: self._req_current_time,
            Out.REQ_GLOBAL_CANCEL: self._req_global_cancel,
            Out.REQ_MARKET_DATA_TYPE: _ignore,
            Out.REQ_POSITIONS: self._req_positions,
            Out.CANCEL_POSITIONS: self._cancel_positions,
            Out.REQ_ACCOUNT_SUMMARY: self._req_account_summary,
            Out.CANCEL_ACCOUNT_SUMMARY: self._cancel_account_summary,
            Out.REQ_ACCOUNT_UPDATES_MULTI: self._req_account_updates_multi,
            Out.CANCEL_ACCOUNT_UPDATES_MULTI: self._cancel_account_updates_multi,
            Out.REQ_PNL: self._req_pnl,
            Out.CANCEL_PNL: self._cancel_pnl,
            Out.REQ_COMPLETED_ORDERS: self._req_completed_orders,
        }

    # --- faults an IB client meets ---------------------------------------------------------------------------
    @property
    def execution_delay(self) -> float:
        """Seconds by which execDetails (and their commission reports) trail the orderStatus."""
        return self.desk.execution_delay

    @execution_delay.setter
    def execution_delay(self, seconds: float) -> None:
        self.desk.execution_delay = seconds

    def duplicate_executions(self, n: int = 1) -> None:
        """Send each of the next ``n`` executions twice (as TWS does around reconnects)."""
        self.desk.duplicate_executions += n

    def withhold_commissions(self, n: int = 1) -> None:
        """Send no live commission report for the next ``n`` executions (reqExecutions still has them)."""
        self.desk.withhold_commissions += n

    def reject_next(self, n: int = 1, code: int = 201, text: str | None = None) -> None:
        """Refuse the next ``n`` new orders with ``code`` (201: rejected, with a margin reason by default)."""
        reason = text or (
            "Order rejected - reason:YOUR ORDER IS NOT ACCEPTED. IN ORDER TO OBTAIN THE DESIRED POSITION YOUR "
            "EQUITY WITH LOAN VALUE [0.00 USD] MUST EXCEED THE INITIAL MARGIN [1.00 USD]"
        )
        self.desk.reject_next.extend([(code, reason)] * n)

    def drop_connections(self) -> int:
        """Tell every client TWS lost its connection (1100), then cut them; each hears 1102 when it is back."""
        for client_id, session in list(self.sessions.items()):
            session.send(msg.error(-1, 1100, LOST))
            self._restored.add(client_id)
        return super().drop_connections()

    async def interrupt(self, seconds: float | None = None, *, data_lost: bool = False) -> None:
        """TWS loses IB's servers for a while: 1100 to every client, news held, then 1102 (or 1101)."""
        sessions = [s for s in self.sessions.values() if not s.closed]
        for session in sessions:
            session.send(msg.error(-1, 1100, LOST))
            session.hold()
        await asyncio.sleep(self.blip if seconds is None else seconds)
        for session in sessions:
            session.send(
                msg.error(-1, 1101, RESTORED_DATA_LOST) if data_lost else msg.error(-1, 1102, RESTORED)
            )
            session.release()

    # --- what tests read -------------------------------------------------------------------------------------
    @property
    def orders(self) -> dict[int, TwsOrder]:
        return self.desk.orders

    @property
    def executions(self) -> list[TwsExecution]:
        return self.desk.executions

    def order_refs(self) -> list[str]:
        """The orderRef of every order TWS took (given a permId), oldest first."""
        return [o.order_ref for o in self.desk.orders.values()]

    def positions(self) -> dict[str, Decimal]:
        """Signed quantity per ntlab symbol, zero positions left out."""
        return {s: p.quantity for s, p in self.account.positions.items() if p.quantity}

    def place_external(self, symbol: str, side: str, quantity: Decimal, order_ref: str) -> TwsOrder:
        """A market order placed on the account by another app (client id 77)."""
        return self.desk.place_external(
            symbol, side, quantity, client_id=EXTERNAL_CLIENT, order_ref=order_ref
        )

    async def advance(self, seconds: float = 1.0) -> None:
        """Step the clock a second at a time: stops the market reached say Submitted, quotes stream out."""
        left = float(seconds)
        while left > 1e-9:
            step = min(left, 1.0)
            await self.engine.advance(step)
            left -= step
            self.desk.step()
            self._push_quotes()
        await asyncio.sleep(0)

    # --- connections ---------------------------------------------------------------------------------------
    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = Session(self, reader, writer)
        task = asyncio.current_task()
        if task is not None:
            self._serving.add(task)
        try:
            await session.run(self.dispatch)
        finally:
            self._serving.discard(task)  # type: ignore[arg-type]
            if session.client_id is not None and self.sessions.get(session.client_id) is session:
                del self.sessions[session.client_id]

    async def _unserve(self) -> None:
        """Cut every connection and wait (bounded) for their handlers to finish, then stop listening."""
        for session in list(self.sessions.values()):
            session.abort()
        await super()._unserve()
        if self._serving:
            await asyncio.wait(list(self._serving), timeout=1.0)

    def register(self, session: Session, client_id: int) -> bool:
        """Take a new client id; False when another live connection has it (error 326)."""
        current = self.sessions.get(client_id)
        if current is not None and not current.closed:
            return False
        self.sessions[client_id] = session
        self.connections[client_id] += 1
        return True

    def welcome(self, session: Session) -> None:
        client_id = session.client_id or 0
        session.send(msg.next_valid_id(self.desk.next_id(client_id)))
        session.send(msg.managed_accounts([self.account.name]))
        for code, text in FARMS:
            session.send(msg.error(-1, code, text))
        if client_id in self._restored:
            self._restored.discard(client_id)
            session.send(msg.error(-1, 1102, RESTORED))

    def _owner(self, client_id: int) -> Session | None:
        session = self.sessions.get(client_id)
        return None if session is None or session.closed else session

    def dispatch(self, session: Session, fields: list[str]) -> Any:
        """Handle one message, committing a planned fault on the way (by the message's API name)."""
        self.requests += 1
        try:
            msg_id = int(fields[0])
        except ValueError:
            log.warning("a message with no message id: %r", fields[:3])
            return None
        if self.max_rate is not None and not session.within_rate(self.max_rate):
            self.paced += 1  # TWS drops what exceeds its pacing and says so
            session.send(msg.error(_request_id(msg_id, fields), 100, RATE_EXCEEDED))
            return None
        name = NAMES.get(msg_id, str(msg_id))
        self.received[name] += 1
        fault = self.faults.take(PROTOCOL, name)
        if fault is not None:
            return self._faulty(session, msg_id, fields, fault)
        return self._handle(session, msg_id, fields)

    def _handle(self, session: Session, msg_id: int, fields: list[str]) -> Any:
        handler = self._handlers.get(msg_id)
        if handler is None:
            log.info("the fake TWS does not answer message %s", msg_id)
            return None
        try:
            return handler(session, fields)
        except (ValueError, IndexError, ArithmeticError) as error:
            log.warning("message %s could not be read: %s", msg_id, error)
            session.send(msg.error(_request_id(msg_id, fields), 321, validating(str(error))))
            return None

    async def _faulty(self, session: Session, msg_id: int, fields: list[str], fault: RequestFault) -> None:
        req_id = _request_id(msg_id, fields)
        if fault.kind == "rate_limit":
            session.send(msg.error(req_id, 100, RATE_EXCEEDED))
            return
        if fault.kind == "reset" and not fault.after_processing:
            session.abort()
            return
        if fault.kind == "stall" and not fault.after_processing:
            await self.stall(fault.seconds)
        if fault.kind == "status":
            session.send(msg.error(-1, 1100, LOST))
            session.hold()
            asyncio.get_running_loop().call_later(self.blip, self._restore, session)
            if not fault.after_processing:
                return
        if fault.kind == "stall" and fault.after_processing:
            session.hold_for(fault.seconds)
        outcome = self._handle(session, msg_id, fields)
        if asyncio.iscoroutine(outcome):
            await outcome
        if fault.kind == "reset":
            await asyncio.sleep(0)
            session.abort()

    def _restore(self, session: Session) -> None:
        session.send(msg.error(-1, 1102, RESTORED))
        session.release()

    # --- orders --------------------------------------------------------------------------------------------
    def _place_order(self, session: Session, fields: list[str]) -> None:
        try:
            order = read_place_order(fields, session.version)
        except ValueError as error:
            session.event(msg.error(_request_id(Out.PLACE_ORDER, fields), 321, validating(str(error))))
            return
        self.desk.place(session, order)

    def _cancel_order(self, session: Session, fields: list[str]) -> Any:
        order_id = int(fields[2])
        order = self.desk.find(session.client_id or 0, order_id)
        if order is None:
            text = f"OrderId {order_id} that needs to be cancelled is not found."
            session.event(msg.error(order_id, 10147, text))
            return None
        if order.done:
            text = (
                f"OrderId {order_id} that needs to be cancelled cannot be cancelled, state: {order.status}."
            )
            session.event(msg.error(order_id, 10148, text))
            return None
        if self.cancel_races > 0:
            self.cancel_races -= 1
            return self._raced_cancel(session, order)
        self.desk.cancel(order)
        return None

    async def _raced_cancel(self, session: Session, order: TwsOrder) -> None:
        """The cancel is on its way while the order keeps trading: the market runs on before it lands."""
        await self.advance(self.race_seconds)
        if order.done:
            text = f"OrderId {order.order_id} that needs to be cancelled cannot be cancelled, state: {order.status}."
            session.event(msg.error(order.order_id, 10148, text))
            return
        self.desk.cancel(order)

    def _req_global_cancel(self, session: Session, fields: list[str]) -> None:
        for order in list(self.desk.orders.values()):
            self.desk.cancel(order)

    def _req_open_orders(self, session: Session, fields: list[str]) -> None:
        self._send_open(session, [o for o in self.desk.orders.values() if o.client_id == session.client_id])

    def _req_all_open_orders(self, session: Session, fields: list[str]) -> None:
        self._send_open(session, list(self.desk.orders.values()))

    def _send_open(self, session: Session, orders: list[TwsOrder]) -> None:
        for order in orders:
            if not order.done and order.transmitted:
                session.send(msg.open_order(self.desk.refresh(order)))
                session.send(msg.order_status(order))
        session.send(msg.open_order_end())

    def _req_completed_orders(self, session: Session, fields: list[str]) -> None:
        for order in self.desk.orders.values():
            if order.done:
                session.send(msg.completed_order(order))
        session.send(msg.completed_orders_end())

    def _req_executions(self, session: Session, fields: list[str]) -> None:
        c = Cursor(fields, 2)
        req_id, client_id, account = c.int(), c.int(), c.next()
        since, symbol, sec_type, exchange, side = c.next(), c.next(), c.next(), c.next(), c.next()
        after = _filter_time(since)
        for execution in self.desk.executions:
            spec = execution.spec
            if client_id and execution.client_id != client_id:
                continue
            if account and account != self.account.name:
                continue
            if after is not None and execution.time < after:
                continue
            if symbol and spec.symbol != symbol:
                continue
            if sec_type and spec.sec_type != sec_type:
                continue
            if exchange and exchange not in (spec.execution_exchange, spec.exchange):
                continue
            if side and {"BUY": "BOT", "SELL": "SLD"}.get(side, side) != execution.side:
                continue
            session.send(msg.exec_details(req_id, execution, self.account.name))
            session.send(msg.commission_report(execution))
        session.send(msg.exec_details_end(req_id))

    def _req_ids(self, session: Session, fields: list[str]) -> None:
        session.send(msg.next_valid_id(self.desk.next_id(session.client_id or 0)))

    # --- contracts and market data -------------------------------------------------------------------------
    def _contract_of(self, c: Cursor) -> ContractSpec | None:
        con_id = c.int()
        symbol, sec_type = c.next(), c.next()
        c.skip(4)
        c.next()  # exchange
        c.next()  # primary exchange
        currency = c.next()
        c.skip(2)
        return self.catalog.find(con_id, symbol, sec_type, currency)

    def _req_contract_details(self, session: Session, fields: list[str]) -> None:
        c = Cursor(fields, 2)
        req_id = c.int()
        spec = self._contract_of(c)
        if spec is None:
            session.send(msg.error(req_id, 200, NO_SECURITY))
            return
        session.send(msg.contract_details(req_id, spec, self._hours()))
        session.send(msg.contract_details_end(req_id))

    def _hours(self) -> str:
        start = self.engine.venue.session_open.astimezone(EASTERN)
        end = self.engine.venue.session_close.astimezone(EASTERN)
        days = [start + timedelta(days=n) for n in range(2)]
        return ";".join(f"{d:%Y%m%d}:{start:%H%M}-{d:%Y%m%d}:{end:%H%M}" for d in days)

    def _req_mkt_data(self, session: Session, fields: list[str]) -> None:
        c = Cursor(fields, 2)
        req_id = c.int()
        spec = self._contract_of(c)
        if c.flag():  # a delta-neutral contract
            c.skip(3)
        c.next()  # generic ticks
        snapshot, regulatory = c.flag(), c.flag()
        if spec is None:
            session.send(msg.error(req_id, 200, NO_SECURITY))
            return
        quote = self.engine.quote(spec.ntlab_symbol)
        if quote is None:
            session.send(msg.error(req_id, 354, NOT_SUBSCRIBED))
            return
        session.send(msg.market_data_type(req_id, 1))
        self._ticks(session, req_id, spec.ntlab_symbol, force=True)
        if snapshot or regulatory:
            session.send(msg.tick_snapshot_end(req_id))
        else:
            session.market[req_id] = spec.ntlab_symbol

    def _cancel_mkt_data(self, session: Session, fields: list[str]) -> None:
        req_id = int(fields[2])
        session.market.pop(req_id, None)
        session.last_quote.pop(req_id, None)

    def _ticks(self, session: Session, req_id: int, symbol: str, *, force: bool = False) -> None:
        quote = self.engine.quote(symbol)
        if quote is None:
            return
        seen = (quote.bid, quote.ask, quote.bid_size, quote.ask_size)
        if not force and session.last_quote.get(req_id) == seen:
            return
        session.last_quote[req_id] = seen
        session.send(msg.tick_price(req_id, 1, quote.bid, quote.bid_size))
        session.send(msg.tick_price(req_id, 2, quote.ask, quote.ask_size))

    def _push_quotes(self) -> None:
        for session in list(self.sessions.values()):
            for req_id, symbol in list(session.market.items()):
                self._ticks(session, req_id, symbol)

    # --- account, positions, P&L ---------------------------------------------------------------------------
    def _values(self) -> dict[str, Decimal]:
        return self.account.values(self.desk.mark)

    def _send_account_values(self, session: Session) -> None:
        name = self.account.name
        session.send(msg.account_value("AccountCode", name, "", name))
        session.send(msg.account_value("AccountType", "INDIVIDUAL", "", name))
        session.send(msg.account_value("Currency", "USD", "USD", name))
        for tag, value in self._values().items():
            session.send(msg.account_value(tag, value, "USD", name))
        for symbol, state in self.account.positions.items():
            spec = self.account.specs[symbol]
            mark = self.desk.mark(spec) or state.avg_cost or Decimal(0)
            session.send(
                msg.portfolio_value(
                    spec, state.quantity, mark, state.avg_cost or Decimal(0), state.realized_pnl, name
                )
            )
        session.send(msg.account_update_time(self.engine.now()))

    def _req_account_updates(self, session: Session, fields: list[str]) -> None:
        subscribe = fields[2] not in ("", "0", "false")
        session.account_updates = subscribe
        if subscribe:
            self._send_account_values(session)
            session.send(msg.account_download_end(self.account.name))

    def _req_account_updates_multi(self, session: Session, fields: list[str]) -> None:
        req_id = int(fields[2])
        session.account_multi.add(req_id)
        for tag, value in self._values().items():
            session.send(msg.account_update_multi(req_id, self.account.name, tag, value, "USD"))
        session.send(msg.account_update_multi_end(req_id))

    def _cancel_account_updates_multi(self, session: Session, fields: list[str]) -> None:
        session.account_multi.discard(int(fields[2]))

    def _req_account_summary(self, session: Session, fields: list[str]) -> None:
        req_id, tags = int(fields[2]), fields[4] if len(fields) > 4 else ""
        wanted = None if tags in ("", "All") else {t for t in tags.split(",") if t}
        session.summaries[req_id] = wanted
        self._send_summary(session, req_id, wanted)

    def _send_summary(self, session: Session, req_id: int, wanted: set[str] | None) -> None:
        name = self.account.name
        if wanted is None or "AccountType" in wanted:
            session.send(msg.account_summary(req_id, name, "AccountType", "INDIVIDUAL", ""))
        for tag, value in self._values().items():
            if wanted is None or tag in wanted:
                session.send(msg.account_summary(req_id, name, tag, value, "USD"))
        session.send(msg.account_summary_end(req_id))

    def _cancel_account_summary(self, session: Session, fields: list[str]) -> None:
        session.summaries.pop(int(fields[2]), None)

    def _req_pnl(self, session: Session, fields: list[str]) -> None:
        req_id = int(fields[1])
        session.pnl.add(req_id)
        self._send_pnl(session, req_id)

    def _send_pnl(self, session: Session, req_id: int) -> None:
        values = self._values()
        session.send(msg.pnl(req_id, values["DayPnL"], values["UnrealizedPnL"], values["RealizedPnL"]))

    def _cancel_pnl(self, session: Session, fields: list[str]) -> None:
        session.pnl.discard(int(fields[1]))

    def _req_positions(self, session: Session, fields: list[str]) -> None:
        session.positions = True
        for symbol, state in self.account.positions.items():
            if state.quantity:
                spec = self.account.specs[symbol]
                session.send(
                    msg.position(self.account.name, spec, state.quantity, state.avg_cost or Decimal(0))
                )
        session.send(msg.position_end())

    def _cancel_positions(self, session: Session, fields: list[str]) -> None:
        session.positions = False

    def _portfolio_changed(self, spec: ContractSpec) -> None:
        """A fill moved the account: positions go out at once, the account's figures a moment later (TWS
        sends account updates in batches, not one per execution)."""
        state = self.account.positions.get(spec.ntlab_symbol)
        quantity = state.quantity if state is not None else Decimal(0)
        avg = (state.avg_cost if state is not None else None) or Decimal(0)
        for session in list(self.sessions.values()):
            if not session.closed and session.positions:
                session.send(msg.position(self.account.name, spec, quantity, avg))
        if not self._account_due:
            self._account_due = True
            asyncio.get_running_loop().call_later(ACCOUNT_BATCH, self._push_account)

    def _push_account(self) -> None:
        self._account_due = False
        values = self._values()
        for session in list(self.sessions.values()):
            if session.closed:
                continue
            if session.account_updates:
                self._send_account_values(session)
            for req_id in session.account_multi:
                for tag, value in values.items():
                    session.send(msg.account_update_multi(req_id, self.account.name, tag, value, "USD"))
            for req_id, wanted in list(session.summaries.items()):
                self._send_summary(session, req_id, wanted)
            for req_id in session.pnl:
                self._send_pnl(session, req_id)

    def _req_managed_accounts(self, session: Session, fields: list[str]) -> None:
        session.send(msg.managed_accounts([self.account.name]))

    def _req_current_time(self, session: Session, fields: list[str]) -> None:
        session.send(msg.current_time(int(self.engine.now().timestamp())))


def _ignore(session: Session, fields: list[str]) -> None:
    return None


def _request_id(msg_id: int, fields: list[str]) -> int:
    """The id TWS puts on an error about this message (the order id for orders, else the reqId)."""
    try:
        if msg_id == Out.PLACE_ORDER:
            return int(fields[1])
        if msg_id == Out.CANCEL_ORDER:
            return int(fields[2])
        if msg_id in (Out.REQ_EXECUTIONS, Out.REQ_CONTRACT_DATA, Out.REQ_MKT_DATA):
            return int(fields[2])
    except (IndexError, ValueError):
        pass
    return -1


def _filter_time(value: str) -> datetime | None:
    """An execution filter's time: ``yyyymmdd hh:mm:ss [zone]`` (TWS's zone) or ``yyyymmdd-hh:mm:ss`` (UTC)."""
    if not value:
        return None
    if "-" in value[:9]:
        return datetime.strptime(value[:17], "%Y%m%d-%H:%M:%S").replace(tzinfo=UTC)
    when = datetime.strptime(value[:17], "%Y%m%d %H:%M:%S")
    zone = value[18:].strip()
    if zone:
        from zoneinfo import ZoneInfo

        return when.replace(tzinfo=ZoneInfo(zone))
    return when.replace(tzinfo=EASTERN)


def main(argv: Sequence[str] | None = None) -> None:
    def make(args: argparse.Namespace) -> FakeTWS:
        return FakeTWS(host=args.host, port=args.port, cash=args.cash, max_rate=args.max_rate)

    def options(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--cash", default="1000000", help="the paper account's starting cash (USD)")
        parser.add_argument(
            "--max-rate",
            type=int,
            default=None,
            help="refuse with error 100 what a client sends beyond this many messages a second (TWS: 50)",
        )

    run_fake(
        make,
        argv,
        description="A local TWS / IB Gateway for API clients (ib_async, ntlab's IBBroker)",
        default_port=7497,
        banner=lambda fake: (
            f"fake TWS on {fake.host}:{fake.port} (server version {msg.SERVER_VERSION}, account "
            f"{ACCOUNT}); connect with IB().connect('{fake.host}', {fake.port}, clientId=1)"
        ),
        options=options,
    )


if __name__ == "__main__":
    main()
