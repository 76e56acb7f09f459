"""What ib_async hears from TWS, as ntlab's reports: statuses, executions joined to their commissions, errors.

ib_async keeps a Trade per order and emits events as TWS's messages arrive. This module subscribes to them
and turns each into the report the mapping tables say, for the manager (through a queue and one pump task,
never awaited by the submit that is waiting for its answer) and for the request waiting on it:

- a submit waits for TWS's first word on the order: a status (accepted), or an error (a refusal by its code,
  a 103 or a 100 that says retry), or the connection going (it may have arrived: look it up);
- a change waits for TWS's echo of the order with the new figures (openOrder), or an error;
- a cancel does not wait: its PendingCancel, Cancelled or refusal (161, 10147, 10148) arrive as news.

An execution is held until its commission report arrives (matched by execId), so the fill reaches ntlab with
its fee; a report that never comes is asked for again (reqExecutions) before the fill is booked without one.
ib_async marks an order Cancelled on any error; the error's own code decides here instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from ib_async import ExecutionFilter

from ntlab.brokers.ib import mapping
from ntlab.brokers.ib.connection import Connection
from ntlab.core.broker import UpdateSink
from ntlab.core.lifecycle import ReplaceChange
from ntlab.core.reports import (
    Accepted,
    Cancelled,
    CancelRejected,
    Filled,
    OrderUpdate,
    PendingCancel,
    Rejected,
    Replaced,
    ReplaceRejected,
)
from ntlab.errors import BrokerTimeout, BrokerUnavailable, RateLimited, SessionClosed

if TYPE_CHECKING:
    from ib_async import Contract, Trade
    from ib_async import Fill as IBFill
    from ib_async.objects import CommissionReport

log = logging.getLogger(__name__)

ZERO = Decimal(0)
ACKED = frozenset({"PreSubmitted", "Submitted", "Filled", "PendingCancel", "ApiUpdate"})


@dataclass(slots=True)
class Waiter:
    """A submit or change waiting for TWS's answer."""

    kind: Literal["submit", "replace"]
    future: asyncio.Future[list[OrderUpdate]]
    change: ReplaceChange | None = None
    expected: tuple[Decimal | None, Decimal | None, Decimal | None] = (None, None, None)
    sent: bool = False


@dataclass(slots=True)
class Held:
    """An execution waiting for its commission report."""

    fill: IBFill
    order_id: str
    timer: asyncio.TimerHandle | None = None
    asked: bool = field(default=False)


class OrderEvents:
    """ib_async's events for this client, turned into reports (one instance per adapter)."""

    def __init__(self, connection: Connection, *, commission_wait: float) -> None:
        self.conn = connection
        self.commission_wait = commission_wait
        self.sink: UpdateSink | None = None
        self.refs: dict[int, str] = {}  # permId -> ntlab id
        self.by_order_id: dict[int, str] = {}  # this client's IB order id -> ntlab id
        self.order_ids: dict[str, tuple[int, int]] = {}  # ntlab id -> (IB order id, permId)
        self.waiters: dict[str, Waiter] = {}
        self.cancels: dict[str, int] = {}  # cancels sent and not yet answered: ntlab id -> IB order id
        self.refusals: dict[str, tuple[str, str]] = {}  # ntlab id -> (TWS's words, ntlab reason code)
        self.held: dict[str, Held] = {}
        self.quantities: dict[str, Decimal] = {}  # each order's quantity as TWS last showed it
        self.commissions: dict[str, Decimal] = {}
        self.booked: set[str] = set()
        self.on_restored: Callable[[bool], None] | None = None  # (data_lost) after 1101/1102
        self.stats: dict[str, int] = {"fills": 0, "late_commissions": 0, "fees_missing": 0, "errors": 0}
        self._queue: asyncio.Queue[list[OrderUpdate]] = asyncio.Queue()
        self._pump: asyncio.Task[None] | None = None
        self._busy = False
        ib = connection.ib
        ib.orderStatusEvent += self._on_status
        ib.openOrderEvent += self._on_open_order
        ib.execDetailsEvent += self._on_execution
        ib.commissionReportEvent += self._on_commission
        ib.errorEvent += self._on_error

    # --- the pump to the manager ---------------------------------------------------------------------------
    def start(self, sink: UpdateSink) -> None:
        self.sink = sink
        if self._pump is None:
            self._pump = asyncio.get_running_loop().create_task(self._run())

    def emit(self, reports: Sequence[OrderUpdate]) -> None:
        if reports and self.sink is not None:
            self._queue.put_nowait(list(reports))

    async def _run(self) -> None:
        while True:
            batch = await self._queue.get()
            self._busy = True
            try:
                while not self._queue.empty():
                    batch.extend(self._queue.get_nowait())
                assert self.sink is not None
                await self.sink.handle_order_updates(batch)
            except SessionClosed:
                log.debug("%d IB reports arrived after the session closed", len(batch))
            except Exception:
                log.exception("handing IB reports to the session failed")
            finally:
                self._busy = False

    async def drain(self, rounds: int = 400) -> None:
        """Wait (bounded) until every report so far has reached the manager."""
        for _ in range(rounds):
            if self._queue.empty() and not self._busy:
                return
            await asyncio.sleep(0.005)

    async def close(self) -> None:
        for held in self.held.values():
            if held.timer is not None:
                held.timer.cancel()
        if self._pump is not None:
            await self.drain(100)
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
            self._pump = None

    # --- requests waiting ----------------------------------------------------------------------------------
    def expect(
        self, order_id: str, kind: Literal["submit", "replace"], change: ReplaceChange | None = None
    ) -> Waiter:
        waiter = Waiter(kind, asyncio.get_running_loop().create_future(), change)
        self.waiters[order_id] = waiter
        return waiter

    def settle(self, order_id: str, outcome: list[OrderUpdate] | BaseException) -> None:
        waiter = self.waiters.pop(order_id, None)
        if waiter is None or waiter.future.done():
            return
        if isinstance(outcome, BaseException):
            waiter.future.set_exception(outcome)
        else:
            waiter.future.set_result(outcome)

    def forget(self, order_id: str, waiter: Waiter) -> None:
        if self.waiters.get(order_id) is waiter:
            del self.waiters[order_id]

    def fail_all(self, why: str) -> None:
        """The connection (or TWS's link to IB) went before TWS answered: each may have arrived."""
        for order_id in list(self.waiters):
            self.settle(order_id, BrokerTimeout(f"order {order_id}: {why}; look it up before sending again"))

    # --- ids -------------------------------------------------------------------------------------------
    def learn(self, trade: Trade) -> str:
        """Remember which ntlab order an IB order is; returns its ntlab id."""
        order = trade.order
        perm = order.permId or trade.orderStatus.permId
        order_id = order.orderRef or self.refs.get(perm) or self.by_order_id.get(order.orderId)
        if order_id is None:
            order_id = f"ib-{perm}"
        if perm:
            self.refs[perm] = order_id
        if order_id not in self.quantities:
            quantity = mapping.dec(order.totalQuantity)
            if quantity:
                self.quantities[order_id] = quantity
        if order.orderId and order.clientId == self.conn.client_id:
            self.by_order_id[order.orderId] = order_id
            known = self.order_ids.get(order_id)
            self.order_ids[order_id] = (order.orderId, perm or (known[1] if known else 0))
        return order_id

    def broker_id(self, order_id: str) -> str | None:
        ids = self.order_ids.get(order_id)
        return None if ids is None else mapping.broker_id(*ids)

    # --- statuses ------------------------------------------------------------------------------------------
    def _on_status(self, trade: Trade) -> None:
        entry = trade.log[-1] if trade.log else None
        if entry is not None and entry.errorCode:
            return  # ib_async's reaction to an error: the error's own code decides (_on_error)
        status = trade.orderStatus.status
        meaning = mapping.ORDER_STATUS.get(status)
        if meaning is None:
            log.warning("IB order status %r is not in the table; ignored", status)
            return
        order_id = self.learn(trade)
        now = self.conn.now()
        report: OrderUpdate | None = None
        if meaning.report is Accepted:
            report = Accepted(order_id, now, self.broker_id(order_id))
        elif meaning.report is PendingCancel:
            report = PendingCancel(order_id, now)
        elif meaning.report is Cancelled:
            self.cancels.pop(order_id, None)
            report = self._refused_or(order_id, Cancelled(order_id, now, "cancelled at IB"))
        elif meaning.report is Rejected:
            report = self._refused_or(order_id, Rejected(order_id, now, "IB made the order inactive"))
        waiter = self.waiters.get(order_id)
        if waiter is not None and waiter.kind == "submit":
            if status in ACKED:
                self.settle(order_id, [Accepted(order_id, now, self.broker_id(order_id))])
            elif report is not None and not isinstance(report, Accepted):
                first: list[OrderUpdate] = [] if isinstance(report, Rejected) else [Accepted(order_id, now)]
                self.settle(order_id, [*first, report])
        elif (
            waiter is not None
            and waiter.kind == "replace"
            and entry is not None
            and entry.message == "Modified"
        ):
            self._confirm_change(order_id, trade)
        if report is not None:
            self.emit([report])

    def _refused_or(self, order_id: str, report: OrderUpdate) -> OrderUpdate:
        """An order a refusal error came with is rejected (with TWS's words), whatever status follows."""
        refusal = self.refusals.get(order_id)
        if refusal is None:
            return report
        return Rejected(order_id, self.conn.now(), refusal[0], refusal[1])

    def _on_open_order(self, trade: Trade) -> None:
        order_id = self.learn(trade)
        waiter = self.waiters.get(order_id)
        quantity = mapping.dec(trade.order.totalQuantity)
        before = self.quantities.get(order_id)
        if quantity is not None:
            self.quantities[order_id] = quantity
        if waiter is not None and waiter.kind == "replace" and waiter.sent:
            self._confirm_change(order_id, trade)
        elif before is not None and quantity is not None and quantity != before and waiter is None:
            # TWS resized it on its own: an OCA group reduced it, a bracket's exit followed its entry
            self.emit(
                [Replaced(order_id, self.conn.now(), quantity, broker_order_id=self.broker_id(order_id))]
            )

    def _confirm_change(self, order_id: str, trade: Trade) -> None:
        waiter = self.waiters.get(order_id)
        if waiter is None or waiter.change is None:
            return
        quantity, limit, stop = waiter.expected
        order = trade.order
        shown = (mapping.dec(order.totalQuantity), mapping.dec(order.lmtPrice), mapping.dec(order.auxPrice))
        if shown[0] is not None:
            self.quantities[order_id] = shown[0]
        if (
            (quantity is None or shown[0] == quantity)
            and (limit is None or shown[1] == limit)
            and (stop is None or shown[2] == stop)
        ):
            change = waiter.change
            self.settle(
                order_id,
                [
                    Replaced(
                        order_id,
                        self.conn.now(),
                        change.quantity,
                        change.limit_price,
                        change.stop_price,
                        self.broker_id(order_id),
                    )
                ],
            )

    # --- executions and commissions ------------------------------------------------------------------------
    def _on_execution(self, trade: Trade, ib_fill: IBFill) -> None:
        execution = ib_fill.execution
        exec_id = execution.execId
        if exec_id in self.booked or exec_id in self.held:
            return
        order_id = self.learn(trade)
        self.conn.learn_time(execution.time)
        waiter = self.waiters.get(order_id)
        if waiter is not None and waiter.kind == "submit":  # a fill before the ack
            self.settle(order_id, [Accepted(order_id, self.conn.now(), self.broker_id(order_id))])
        fee = self.commissions.get(exec_id)
        if fee is None and ib_fill.commissionReport.execId == exec_id:
            fee = mapping.dec(ib_fill.commissionReport.commission) or ZERO
        if fee is not None:
            self._book(ib_fill, order_id, fee)
            return
        held = Held(ib_fill, order_id)
        held.timer = asyncio.get_running_loop().call_later(self.commission_wait, self._late, exec_id)
        self.held[exec_id] = held

    def _on_commission(self, trade: Trade, ib_fill: IBFill, report: CommissionReport) -> None:
        exec_id = report.execId
        fee = mapping.dec(report.commission) or ZERO
        self.commissions[exec_id] = fee
        held = self.held.pop(exec_id, None)
        if held is not None:
            if held.timer is not None:
                held.timer.cancel()
            self._book(held.fill, held.order_id, fee)

    def _book(self, ib_fill: IBFill, order_id: str, fee: Decimal) -> None:
        self.booked.add(ib_fill.execution.execId)
        self.stats["fills"] += 1
        self.emit([Filled(order_id, mapping.fill(ib_fill, order_id, fee))])

    def _late(self, exec_id: str) -> None:
        held = self.held.get(exec_id)
        if held is not None and not held.asked:
            held.asked = True
            self.stats["late_commissions"] += 1
            asyncio.get_running_loop().create_task(self._ask_commission(exec_id, held.fill.contract))

    async def _ask_commission(self, exec_id: str, contract: Contract) -> None:
        """The commission report did not come: ask TWS for the day's executions of the contract again."""
        with contextlib.suppress(BrokerUnavailable, TimeoutError, ConnectionError):
            ib = await self.conn.ready("commission lookup")
            wanted = ExecutionFilter(symbol=contract.symbol, secType=contract.secType)
            await asyncio.wait_for(ib.reqExecutionsAsync(wanted), self.conn.timeout)
        held = self.held.pop(exec_id, None)
        if held is None:
            return  # the report came meanwhile and the fill is booked
        fee = self.commissions.get(exec_id)
        if fee is None:
            for known in self.conn.ib.fills():
                if known.commissionReport.execId == exec_id:
                    fee = mapping.dec(known.commissionReport.commission) or ZERO
        if fee is None:
            self.stats["fees_missing"] += 1
            log.warning(
                "IB sent no commission report for execution %s of %s; the fill is booked without a fee",
                exec_id,
                held.order_id,
            )
            fee = ZERO
        self._book(held.fill, held.order_id, fee)

    # --- errors --------------------------------------------------------------------------------------------
    def _on_error(self, req_id: int, code: int, text: str, contract: Any) -> None:
        meaning = mapping.error_meaning(code)
        kind = meaning.kind if meaning is not None else None
        if kind == "connectivity_lost":
            log.warning("TWS: %s (1100); requests wait until it is restored", text)
            self.conn.lost()
            self.fail_all("TWS lost its connection to IB (1100) before it answered")
            return
        if kind in ("restored", "restored_data_lost"):
            log.info("TWS: %s (%s)", text, code)
            self.conn.restored()
            if self.on_restored is not None and self.conn.up:  # mid-connect: the reconnect reconciles
                self.on_restored(kind == "restored_data_lost")
            return
        if kind in ("info", "market_data", "client_id_in_use"):
            log.debug("TWS notice %s: %s", code, text)
            return
        order_id = self.by_order_id.get(req_id) if req_id > 0 else None
        if order_id is None or kind is None:
            # not about one of this client's orders, or a code the table does not know: the order's
            # status (Submitted, Cancelled, Inactive) follows and says what became of it
            log.info("TWS error %s (reqId %s): %s", code, req_id, text)
            return
        self.stats["errors"] += 1
        if kind == "warning":
            log.info("TWS warning %s on order %s: %s (the order stays live)", code, order_id, text)
            return
        now = self.conn.now()
        waiter = self.waiters.get(order_id)
        context = waiter.kind if waiter is not None else ("cancel" if order_id in self.cancels else None)
        words = f"IB error {code}: {text}"
        if kind == "rate_limited":
            self.settle(order_id, RateLimited(f"order {order_id}: {words}", retry_after=1.0))
            return
        if kind in ("retry", "not_connected"):
            self.settle(order_id, BrokerUnavailable(f"order {order_id}: {words}; nothing was placed"))
            return
        if kind == "cancelled":
            self.cancels.pop(order_id, None)
            report = self._refused_or(order_id, Cancelled(order_id, now, text))
            if context == "submit":
                self.settle(order_id, [report])
            self.emit([report])
            return
        if context == "submit":
            reason = mapping.refusal_reason(code, text)
            self.refusals[order_id] = (words, reason)
            self.settle(order_id, [Rejected(order_id, now, words, reason)])
        elif context == "replace":
            self.settle(order_id, [ReplaceRejected(order_id, now, words)])
        elif context == "cancel":
            self.cancels.pop(order_id, None)
            if code == 10148 and "state: Cancelled" in text:
                self.emit([Cancelled(order_id, now, text)])
            else:
                self.emit([CancelRejected(order_id, now, words)])
        elif kind == "refused":
            reason = mapping.refusal_reason(code, text)
            self.refusals[order_id] = (words, reason)
            self.emit([Rejected(order_id, now, words, reason)])
        else:
            log.info("TWS error %s on order %s with nothing outstanding: %s", code, order_id, text)
