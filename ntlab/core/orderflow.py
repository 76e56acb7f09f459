"""What the OrderManager's actor does with each command: the order path, top to bottom.

A batch of commands is taken in (:meth:`OrderFlow.take`): new orders are validated, risk-checked and
journaled; cancels and replaces are recorded; broker reports are applied. Then :meth:`OrderFlow.settle`
commits the journal, hands what must go out to the broker (inline for an in-process venue, in a task for a
remote one), applies what the broker said at once and commits again. Only then are callers answered.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

from ntlab.core import fields
from ntlab.core.broker import Broker
from ntlab.core.commands import Batch, Call, Cancel, Command, Place, Replace, Reply, Reports, Send, Sent, Stop
from ntlab.core.enums import OrderClass, OrderStatus
from ntlab.core.events import EventKind, OrderEvent
from ntlab.core.ids import OrderIds
from ntlab.core.instruments import InstrumentRegistry
from ntlab.core.journal import Journal
from ntlab.core.legs import legs
from ntlab.core.lifecycle import OrderState, Outcome, ReplaceChange
from ntlab.core.models import OrderRequest
from ntlab.core.records import ZERO, Order, OrderResponse
from ntlab.core.reports import Cancelled, CancelRejected, OrderUpdate, Rejected, Replaced, ReplaceRejected
from ntlab.core.risk import RiskEngine
from ntlab.core.session import SessionState, order_record, replace_record, report_record
from ntlab.core.validation import validate_for_instrument, validate_replace
from ntlab.errors import (
    BrokerError,
    BrokerTimeout,
    BrokerUnavailable,
    InvalidOrder,
    JournalError,
    OrderClosed,
    OrderDenied,
    OrderNotCancelable,
    OrderRejected,
    Reason,
    UnknownOrder,
)

log = logging.getLogger(__name__)

S = OrderStatus
_PENDING, _REJECTED, _SIMPLE = S.PENDING, S.REJECTED, OrderClass.SIMPLE  # read per order: see enums
Spawn = Callable[[type[Place] | type[Cancel] | type[Replace], Order, ReplaceChange | None, Reply], None]

# the fields an order takes from its request, copied by name: a field both records have needs no code here
_FROM_REQUEST = tuple(name for name in Order._fields if name in OrderRequest.model_fields)
_new_order = fields.builder(
    Order, _FROM_REQUEST, "order_id", "status", "created_at", "updated_at", "arrival_bid", "arrival_ask"
)


def response(order: Order) -> OrderResponse:
    return OrderResponse(
        order.order_id,
        order.status,
        order.filled_quantity,
        order.avg_fill_price,
        order.broker_order_id,
        order.reason,
    )


class OrderFlow:
    """The actor's logic. Owns nothing but references; the actor calls it from one task only."""

    def __init__(
        self,
        broker: Broker,
        state: SessionState,
        risk: RiskEngine,
        instruments: InstrumentRegistry,
        ids: OrderIds,
        journal: Journal | None,
    ) -> None:
        self.broker = broker
        self.state = state
        self.risk = risk
        self.instruments = instruments
        self.ids = ids
        self.journal = journal
        self._cancel_after_submit: dict[str, Reply] = {}

    # --- taking commands in ----------------------------------------------------------------------------
    def take(self, command: Command, batch: Batch) -> None:
        match command:
            case Place(request=request, reply=reply):
                self._accept(request, reply, batch)
            case Reports(reports=reports, reply=reply):
                for report in reports:
                    self.apply(report, batch)
                batch.answer(reply, None)
            case Cancel(order_id=order_id, reply=reply):
                self._begin_cancel(order_id, reply, batch)
            case Replace(order_id=order_id, change=change, reply=reply):
                self._begin_replace(order_id, change, reply, batch)
            case Sent(what=what, order_id=order_id, outcome=outcome, reply=reply):
                self.finish(what, self.state.orders[order_id], outcome, reply, batch)
            case Call(function=function, reply=reply):
                try:
                    batch.answer(reply, function(batch))
                except Exception as error:
                    batch.answer(reply, error)
            case Stop():
                pass

    def _accept(self, request: OrderRequest, reply: Reply, batch: Batch) -> None:
        broker = self.broker
        now = broker.now()
        order_id, taken = self.ids.claim(request.client_order_id)
        quote = broker.last_quote(request.symbol)
        if quote is None:
            order = _new_order(request.__dict__, order_id, _PENDING, now, now, None, None)
        else:
            order = _new_order(request.__dict__, order_id, _PENDING, now, now, quote.bid, quote.ask)
        try:
            if taken:
                raise InvalidOrder(
                    Reason.DUPLICATE_ORDER_ID,
                    f"client_order_id {request.client_order_id!r} was already used in this session; "
                    "leave it empty to get a fresh id",
                )
            validate_for_instrument(request, self.instruments, quote)
            self.risk.check(request, quote)
        except OrderDenied as denial:
            denied = order._replace(
                status=S.REJECTED, reason_code=denial.reason.value, reason=str(denial.args[0])
            )
            batch.finished.append(self.state.add(denied))
            self._journal("denied", order_id, order_record(denied))
            denial.order_id = order_id
            batch.answer(reply, denial)
            if batch.events is not None:
                batch.events.append(OrderEvent("order", denied))
            return
        state = self.state.add(order)
        self.risk.accepted(order)  # it counts toward rates, duplicates and exposure from now
        if self.journal is not None:
            self.journal.add("request", order_id, order_record(order))
        if order.order_class is not _SIMPLE:
            for leg in legs(order):  # sent with the order; recorded now, so the broker's news has a home
                self.state.add(leg)
                if self.journal is not None:
                    self.journal.add("request", leg.order_id, order_record(leg))
        batch.sends.append((Place, state, None, reply))

    def _open_state(
        self, order_id: str, reply: Reply, batch: Batch, closed: type[OrderClosed]
    ) -> OrderState | None:
        state = self.state.orders.get(order_id)
        if state is None:
            batch.answer(reply, UnknownOrder(f"no order {order_id!r} in this session", order_id=order_id))
            return None
        if state.status.is_final:
            batch.answer(
                reply, closed(f"order {order_id} is already {state.status.value}", order_id=order_id)
            )
            return None
        return state

    def _begin_cancel(self, order_id: str, reply: Reply, batch: Batch) -> None:
        state = self._open_state(order_id, reply, batch, OrderNotCancelable)
        if state is None:
            return
        now = self.broker.now()
        self._journal("cancel_request", order_id, {"time": now})
        self._announce(state, self.state.request_cancel(state, now), batch)
        if state.in_flight:  # the broker may not know it yet: cancel once the submit is answered
            self._cancel_after_submit[order_id] = reply
        else:
            batch.sends.append((Cancel, state, None, reply))

    def _begin_replace(self, order_id: str, change: ReplaceChange, reply: Reply, batch: Batch) -> None:
        state = self._open_state(order_id, reply, batch, OrderClosed)
        if state is None:
            return
        try:
            if state.status in (S.PENDING, S.PENDING_CANCEL, S.PENDING_REPLACE) or state.in_flight:
                raise InvalidOrder(
                    Reason.INVALID_FIELD,
                    f"order {order_id} is {state.status.value}; replace it once the broker has answered",
                )
            request = validate_replace(state.order, change, self.instruments)
            old = state.order
            self.risk.finished(order_id)  # checked as it would stand, not on top of itself
            try:
                self.risk.check(request, self.broker.last_quote(request.symbol))
            finally:
                self.risk.working(old, old.remaining_quantity)
        except OrderDenied as denial:
            denial.order_id = order_id
            batch.answer(reply, denial)
            return
        now = self.broker.now()
        self._journal("replace_request", order_id, replace_record(now, change))
        self._announce(state, self.state.request_replace(state, now), batch)
        batch.sends.append((Replace, state, change, reply))

    # --- the broker's answers ----------------------------------------------------------------------------
    def apply(self, report: OrderUpdate, batch: Batch) -> None:
        """The one path every broker report takes: the state machine, the journal, the events."""
        state = self.state.orders.get(report.order_id)
        if state is None:
            log.warning("report for unknown order %s ignored: %r", report.order_id, report)
            return
        outcome = self.state.apply(state, report)
        if outcome.changed:
            risk = self.risk
            if outcome.fill is not None:
                risk.filled(outcome.fill)
            if state.status.is_final:
                risk.finished(report.order_id)
                batch.finished.append(state)
            elif isinstance(report, Replaced):
                risk.finished(report.order_id)
                risk.working(state.order, state.order.remaining_quantity)
            if self.journal is not None:
                self.journal.add(*report_record(report))
            self._announce(state, outcome, batch)
            order = state.order
            if order.order_class is not _SIMPLE and order.status.is_final and not order.filled_quantity:
                self._close_unsent_legs(order, batch)

    def _close_unsent_legs(self, entry: Order, batch: Batch) -> None:
        """Legs the broker never acknowledged close with an entry that ended unfilled: the broker never
        made them (a rejected bracket, one never sent), or keeps them only until its entry fills."""
        for leg in legs(entry):
            state = self.state.orders.get(leg.order_id)
            if state is None or state.status is not S.PENDING:
                continue
            why = f"its entry {entry.order_id} is {entry.status.value}"
            if entry.status is S.REJECTED:
                self.apply(Rejected(leg.order_id, entry.updated_at, why, entry.reason_code or ""), batch)
            else:
                self.apply(Cancelled(leg.order_id, entry.updated_at, why), batch)

    def _announce(self, state: OrderState, outcome: Outcome, batch: Batch) -> None:
        if batch.events is not None and outcome.changed:
            kind: EventKind = (
                "overfill" if outcome.overfill else "fill" if outcome.fill is not None else "order"
            )
            batch.events.append(OrderEvent(kind, state.order, outcome.fill))

    def finish(
        self,
        what: type[Place] | type[Cancel] | type[Replace],
        state: OrderState,
        outcome: Sequence[OrderUpdate] | BaseException,
        reply: Reply,
        batch: Batch,
    ) -> None:
        """Apply what the broker answered to a submit, cancel or replace, and answer its caller."""
        order_id = state.order_id
        was_in_flight = state.in_flight
        if what is Place:
            state.in_flight = False
        now = self.broker.now()
        if isinstance(outcome, BaseException):
            if what is Place:
                batch.answer(reply, self._submit_failed(state, outcome, batch))
            elif what is Cancel:
                log.warning("cancel of %s failed: %r", order_id, outcome)
                self.apply(CancelRejected(order_id, now, f"cancel failed: {outcome}"), batch)
                batch.answer(reply, outcome)
            else:
                self.apply(ReplaceRejected(order_id, now, f"replace failed: {outcome}"), batch)
                batch.answer(reply, outcome)
        else:
            for report in outcome:
                self.apply(report, batch)
            order = state.order
            if what is Place and order.status is _REJECTED:
                batch.answer(
                    reply,
                    OrderRejected(
                        f"{self.broker.name} rejected {order_id}: {order.reason}", order_id=order_id
                    ),
                )
            elif what is Replace and any(isinstance(r, ReplaceRejected) for r in outcome):
                batch.answer(
                    reply,
                    OrderRejected(
                        f"{self.broker.name} refused to replace {order_id}: {order.reason}", order_id=order_id
                    ),
                )
            else:
                batch.answer(reply, response(order))
        if what is Place:
            if was_in_flight and state.status.is_final:  # it may have finished while in flight, kept live
                batch.finished.append(state)
            waiting = self._cancel_after_submit.pop(order_id, None)
            if waiting is not None:
                if state.status.is_open:
                    batch.sends.append((Cancel, state, None, waiting))
                else:
                    batch.answer(waiting, response(state.order))

    def _submit_failed(self, state: OrderState, error: BaseException, batch: Batch) -> BaseException:
        """Record what a failed submit means for the order and return the error for its caller."""
        order_id, name = state.order_id, self.broker.name
        if isinstance(error, (OrderRejected, BrokerUnavailable)):
            self.apply(Rejected(order_id, self.broker.now(), str(error)), batch)
            if isinstance(error, BrokerUnavailable):
                return BrokerUnavailable(f"order {order_id} did not reach {name} after retries: {error}")
            error.order_id = order_id
            return error
        if isinstance(error, (BrokerTimeout, asyncio.TimeoutError)):
            return BrokerTimeout(
                f"order {order_id}: no answer from {name} and the lookup failed; it may or may not be live. "
                "It stays pending; reconcile() or the broker's stream will settle it"
            )
        log.error("submit of %s failed unexpectedly: %r", order_id, error)
        return error if isinstance(error, BrokerError) else BrokerError(f"order {order_id}: {error!r}")

    # --- committing and sending --------------------------------------------------------------------------
    async def settle(self, batch: Batch, spawn: Spawn) -> None:
        """Commit what the batch recorded, send what must go out, take in the immediate answers, commit.

        The first commit makes the journal know every order before a durable broker does; a venue that
        dies with the process (``durable`` False) gets its orders and their answers in one commit.
        """
        broker = self.broker
        if broker.durable and not self._commit() and batch.sends:
            self._refuse_unrecorded(batch)
        local = broker.local
        while batch.sends:
            sends, batch.sends = batch.sends, []
            for what, state, change, reply in sends:
                if local:
                    outcome: Sequence[OrderUpdate] | BaseException
                    if what is Place:  # most sends: without the coroutine of _send_inline around it
                        try:
                            outcome = await broker.submit_order(state.order)
                        except Exception as error:
                            outcome = error
                    else:
                        outcome = await self._send_inline(what, state.order, change)
                    self.finish(what, state, outcome, reply, batch)
                else:
                    if what is Place:
                        state.in_flight = True
                    spawn(what, state.order, change, reply)
        self._commit()

    async def _send_inline(
        self, what: type[Place] | type[Cancel] | type[Replace], order: Order, change: ReplaceChange | None
    ) -> Sequence[OrderUpdate] | BaseException:
        """A cancel or replace to a local venue (a place is sent by :meth:`settle` itself)."""
        broker = self.broker
        try:
            if what is Cancel:
                return await broker.cancel_order(order)
            assert what is Replace and change is not None, what
            return await broker.replace_order(order, change)
        except Exception as error:
            return error

    def _refuse_unrecorded(self, batch: Batch) -> None:
        """The journal could not record this batch: nothing in it goes to the broker but cancels."""
        why = f"not sent: the journal could not record it ({self.risk.halted_reason})"
        now = self.broker.now()
        kept: list[Send] = []
        for send in batch.sends:
            what, state, _, reply = send
            if what is Cancel:
                kept.append(send)  # getting out of the market matters more than recording it first
                continue
            if what is Place:
                self.apply(Rejected(state.order_id, now, why, Reason.JOURNAL_UNAVAILABLE.value), batch)
            else:
                self.apply(ReplaceRejected(state.order_id, now, why), batch)
            batch.answer(reply, JournalError(f"order {state.order_id} {why}"))
        batch.sends = kept

    def pack(self, batch: Batch) -> None:
        """Keep the orders the batch finished packed (see :class:`~ntlab.core.session.Orders`)."""
        pack = self.state.orders.pack
        for state in batch.finished:
            pack(state)

    def _commit(self) -> bool:
        journal = self.journal
        if journal is None:
            return True
        try:
            journal.commit()
        except JournalError as error:
            if not self.risk.halted:
                log.error("the journal cannot be written (%s); new orders are halted until resume()", error)
                self.halt(f"the journal cannot be written: {error}")
            return False
        return True

    def _journal(self, kind: str, order_id: str | None, data: dict[str, Any]) -> None:
        if self.journal is not None:
            self.journal.add(kind, order_id, data)

    # --- calls made through the actor --------------------------------------------------------------------
    def halt(self, reason: str) -> None:
        self.risk.halt(reason)
        self._journal("halt", None, {"reason": reason})

    def resume(self) -> None:
        if self.journal is not None:
            self.journal.commit()  # raises JournalError while the file still cannot be written
        self.risk.resume()
        self._journal("resume", None, {"reason": None})

    def adopt(self, order: Order, batch: Batch) -> bool:
        """Take in an order the broker holds that this session never placed. It starts accepted and
        unfilled: its fills and final state come as reports, like any order's."""
        if order.order_id in self.state.orders:
            return False
        adopted = order._replace(
            status=S.ACCEPTED, filled_quantity=ZERO, avg_fill_price=None, fees=ZERO, external=True
        )
        self.state.add(adopted)
        self.risk.working(adopted)  # an order placed elsewhere is exposure too
        self._journal("adopted", order.order_id, order_record(adopted))
        if batch.events is not None:
            batch.events.append(OrderEvent("order", adopted))
        log.info(
            "adopted external order %s (%s %s %s)", order.order_id, order.side, order.quantity, order.symbol
        )
        return True

    def close_unsent(self, order_id: str, reason: str, batch: Batch) -> bool:
        """Close an order the broker never received, unless its submit started meanwhile."""
        state = self.state.orders.get(order_id)
        if state is None or state.in_flight or state.status is not S.PENDING:
            return False
        self.apply(Rejected(order_id, self.broker.now(), reason, Reason.NEVER_SENT.value), batch)
        return True
