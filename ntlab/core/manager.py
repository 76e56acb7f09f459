"""The OrderManager: one actor task owns the session's state; any number of callers talk to it.

Callers put commands on the actor's inbox and await a reply. The actor drains the inbox in batches and, per
batch: validates and risk-checks new orders, journals them (one transaction), hands them to the broker,
journals what the broker said (a second transaction), and only then replies. One caller's next command may
run its batch in that caller's task instead, the same way (:mod:`ntlab.core.turns` says when).

What a crash may lose: with the journal on, nothing a caller was told about. An order whose request was
committed but whose answer was not is pending in the journal; on restart reconciliation asks the broker by
its client id and takes in what the broker did (or closes it, never resending, if it never arrived).
Orders whose request was not yet committed had not been sent. ``durable_journal=True`` also survives power
loss (an fsync per commit); the default survives a killed process.

If the journal cannot be written, orders whose request it could not record are not sent (their callers get
a JournalError) and the session halts new orders until :meth:`resume` finds the journal writable again;
answers the broker gave that could not be journaled are kept in memory and written at the next commit that
succeeds, and callers are still told the truth.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from ntlab.core.broker import Broker, InstrumentSource, SimulatedVenue, TrailReplace
from ntlab.core.commands import (
    Batch,
    Call,
    Cancel,
    Command,
    Inbox,
    Place,
    Replace,
    Reply,
    Reports,
    Sent,
    Stop,
    What,
)
from ntlab.core.enums import OrderStatus
from ntlab.core.events import Callback, EventHub, OrderEvent
from ntlab.core.ids import OrderIds
from ntlab.core.instruments import InstrumentRegistry
from ntlab.core.journal import Journal, JournalEvent, encoded
from ntlab.core.lifecycle import ReplaceChange
from ntlab.core.models import OrderRequest, ReplaceRequest
from ntlab.core.orderflow import OrderFlow
from ntlab.core.reconcile import Actions, reconcile
from ntlab.core.records import Fill, Order, OrderResponse, Position
from ntlab.core.reports import OrderUpdate
from ntlab.core.risk import RiskEngine, RiskLimits
from ntlab.core.session import OWN_KINDS, SessionState
from ntlab.core.submit import send
from ntlab.core.turns import CallerTurns
from ntlab.errors import InvalidOrder, JournalError, Reason, SessionClosed, UnknownOrder

log = logging.getLogger(__name__)

_MAX_BATCH = 4096


class OrderManager:
    """Places, tracks, replaces and cancels orders on one broker, journaling every event.

    ``async with OrderManager(broker, journal="session.sqlite") as om: ...`` starts the actor, replays the
    journal and reconciles open orders with the broker. The facades (``Lab``, the CLI) pick the default
    broker; the core knows none.
    """

    def __init__(
        self,
        broker: Broker,
        *,
        journal: str | Path | None = None,
        risk: RiskLimits | None = None,
        instruments: InstrumentRegistry | None = None,
        id_prefix: str | None = None,
        submit_timeout: float = 10.0,
        retry_initial: float = 0.1,
        durable_journal: bool = False,
    ) -> None:
        self.broker = broker
        self.risk = RiskEngine(risk, broker=broker)
        if instruments is None:
            known = broker.market.instruments.values() if isinstance(broker, SimulatedVenue) else ()
            instruments = InstrumentRegistry(list(known))
        self.instruments = instruments
        self._journal_path = Path(journal) if journal is not None else None
        self._durable = durable_journal
        self._journal: Journal | None = None
        self._id_prefix = id_prefix
        self._submit_timeout = submit_timeout
        self._retry_initial = retry_initial
        self._state = SessionState()
        self._hub = EventHub()
        self._inbox = Inbox()
        self._flow: OrderFlow | None = None
        self._task: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._turns = CallerTurns(self._inbox, self._background)
        self._closed = False

    # --- lifecycle -------------------------------------------------------------------------------------
    async def start(self) -> OrderManager:
        """Replay the journal, connect the broker, start the actor and reconcile. Idempotent.

        A start that fails releases the journal (and its lock) before the error reaches the caller.
        """
        if self._task is not None:
            return self
        if self._closed:
            raise SessionClosed("this OrderManager was closed; create a new one")
        replayed = False
        try:
            if self._journal_path is not None:
                self._journal = Journal(self._journal_path, durable=self._durable)
                replayed = self._replay(self._journal)
            ids = OrderIds(self._id_prefix, self._state.orders, self._state.orders)
            if self._journal is not None:
                self._journal.set_meta("id_prefix", ids.prefix)
                self._journal.add(
                    "session", None, {"started_at": self.broker.now(), "broker": self.broker.name}
                )
            self._id_prefix = ids.prefix
            self._flow = OrderFlow(self.broker, self._state, self.risk, self.instruments, ids, self._journal)
            self._task = asyncio.get_running_loop().create_task(self._run(), name="ntlab-order-manager")
            await self.broker.connect(self)
            if isinstance(self.broker, InstrumentSource):  # the venue's own increments and minimums
                for instrument in self.broker.venue_instruments():
                    self.instruments.add(instrument)
            if replayed:
                await self.reconcile()
        except BaseException:
            await self._shut()
            raise
        return self

    async def close(self) -> None:
        """Stop the actor after it has finished what is queued, then close the broker and the journal."""
        if self._closed:
            return
        await self._shut()

    async def _shut(self) -> None:
        self._closed = True
        try:
            if self._task is not None:
                self._inbox.put(Stop())
                await self._task
            for task in list(self._background):
                task.cancel()
            await self.broker.close()
        finally:
            self._hub.close()
            if self._journal is not None:
                self._journal.close()

    async def __aenter__(self) -> OrderManager:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- placing, replacing, cancelling ------------------------------------------------------------------
    async def place_order(self, request: OrderRequest) -> OrderResponse:
        """Validate, risk-check, journal and submit an order.

        Raises :class:`~ntlab.errors.OrderDenied` (InvalidOrder or RiskDenied) when refused before the
        broker, :class:`~ntlab.errors.OrderRejected` when the broker refuses; the order is recorded either way.
        """
        if self.risk.prepares:  # a remote broker's reference price and short-sale flags, fetched first
            await self.risk.prepare(request, self.cancel_order)
        reply = self._reply()  # what _ask does, without a closure per order
        self._dispatch(Place(request, reply))
        return await reply  # type: ignore[no-any-return]

    async def replace_order(
        self,
        order_id: str,
        *,
        quantity: Decimal | int | str | None = None,
        limit_price: Decimal | int | str | None = None,
        stop_price: Decimal | int | str | None = None,
        trail: Decimal | int | str | None = None,
    ) -> OrderResponse:
        """Change a working order's total quantity or prices, or a trailing stop's ``trail`` (its new
        trail_price or trail_percent, as it trails); it keeps its ntlab id (the broker may give it a new id of
        its own, which is recorded). Raises ``OrderDenied`` for a change validation or risk refuses (a trail
        for a broker that cannot change one), ``OrderRejected`` when the broker refuses the replace (the order
        goes on unchanged)."""
        given = ReplaceRequest(quantity=quantity, limit_price=limit_price, stop_price=stop_price, trail=trail)
        if given.trail is not None and not isinstance(self.broker, TrailReplace):
            raise InvalidOrder(
                Reason.NOT_ALLOWED,
                f"{self.broker.name} cannot change a trailing stop's trail; cancel the order and place another",
                order_id=order_id,
            )
        change = ReplaceChange(given.quantity, given.limit_price, given.stop_price, given.trail)
        return await self._ask(lambda reply: Replace(order_id, change, reply))  # type: ignore[no-any-return]

    async def cancel_order(self, order_id: str) -> OrderResponse:
        """Ask the broker to cancel; returns the status after the broker's immediate answer."""
        return await self._ask(lambda reply: Cancel(order_id, reply))  # type: ignore[no-any-return]

    async def cancel_all(self, symbol: str | None = None) -> list[OrderResponse]:
        """Cancel every open order (of one symbol); orders that finish meanwhile are skipped."""
        targets = [o.order_id for o in self.orders(open_only=True) if symbol is None or o.symbol == symbol]
        answers = await asyncio.gather(*(self.cancel_order(i) for i in targets), return_exceptions=True)
        return [a for a in answers if isinstance(a, OrderResponse)]

    async def handle_order_update(self, update: OrderUpdate) -> None:
        """Apply a broker report (ack, fill, cancel...). Returns once it is journaled."""
        await self._ask(lambda reply: Reports((update,), reply))

    async def handle_order_updates(self, updates: Sequence[OrderUpdate]) -> None:
        """Apply several reports in order, journaled in one transaction."""
        if updates:
            await self._ask(lambda reply: Reports(tuple(updates), reply))

    async def halt(self, reason: str = "kill switch engaged") -> None:
        """Kill switch: deny every new order until :meth:`resume`; cancels still pass."""
        await self._call(lambda batch: self._flow_().halt(reason))

    async def resume(self) -> None:
        """Lift a halt. Refused (JournalError) while the journal still cannot be written."""
        await self._call(lambda batch: self._flow_().resume())

    # --- reading -------------------------------------------------------------------------------------
    async def get_order_status(self, order_id: str) -> OrderStatus:
        """The order's current status from the session's state (no broker round trip)."""
        status = self._state.orders.status(order_id)
        if status is None:
            raise UnknownOrder(f"no order {order_id!r} in this session", order_id=order_id)
        return status

    def order(self, order_id: str) -> Order:
        order = self._state.orders.order(order_id)
        if order is None:
            raise UnknownOrder(f"no order {order_id!r} in this session", order_id=order_id)
        return order

    def orders(self, *, open_only: bool = False) -> list[Order]:
        if open_only:  # finished orders are kept packed: only the live ones can be open
            return [s.order for s in self._state.orders.live() if s.order.status.is_open]
        return list(self._state.orders.snapshots())

    def children(self, parent_id: str) -> Sequence[str]:
        """Ids of the orders placed with this ``parent_id``, in the order they were placed."""
        return self._state.children.get(parent_id, ())

    def fills(self) -> list[Fill]:
        return list(self._state.fills)

    def positions(self) -> list[Position]:
        return self._state.positions.snapshot()

    def position(self, symbol: str) -> Decimal:
        return self._state.positions.quantity(symbol)

    @property
    def halted(self) -> bool:
        return self.risk.halted

    @property
    def id_prefix(self) -> str | None:
        return self._id_prefix

    def events(self) -> AsyncIterator[OrderEvent]:
        """Every order event from now on, as an async iterator (ends when the manager closes)."""
        return self._hub.stream()

    def on_event(self, callback: Callback) -> Callable[[], None]:
        """Call ``callback(event)`` on the manager's loop for every event; returns an unsubscribe function."""
        return self._hub.add_callback(callback)

    # --- records of other components (execution algorithms) ----------------------------------------------
    async def record(self, kind: str, data: dict[str, Any], *, key: str | None = None) -> None:
        """Journal an event that is not an order's (``kind`` must not be one the manager uses itself).

        It goes through the actor, so it is ordered with the orders around it and durable once this returns;
        replay skips kinds it does not know, and :meth:`journal_events` hands them back after a restart.
        """
        if kind in OWN_KINDS:
            raise JournalError(f"{kind!r} is an event kind the manager journals itself; pick another name")
        journal = self._journal
        if journal is not None:
            record = encoded(data)
            await self._call(lambda batch: journal.add(kind, key, record))

    def journal_events(self, kinds: Sequence[str]) -> list[JournalEvent]:
        """The journaled events of these kinds, oldest first (none without a journal)."""
        if self._journal is None:
            return []
        wanted = set(kinds)
        return [event for event in self._journal.events() if event.kind in wanted]

    # --- reconciliation ----------------------------------------------------------------------------------
    async def reconcile(self) -> dict[str, int]:
        """Bring the session in line with the broker: recover missed fills and final states, adopt orders
        the broker holds that the session does not know, and close orders that never reached the broker.
        Orders whose submit is still in flight are left to it."""
        flow = self._flow_()
        actions = Actions(
            apply=self.handle_order_updates,
            adopt=lambda order: self._call(lambda batch: flow.adopt(order, batch)),
            close_unsent=lambda order_id, why: self._call(
                lambda batch: flow.close_unsent(order_id, why, batch)
            ),
        )
        return (await reconcile(self._state, self.broker, actions)).as_dict()

    # --- the actor -------------------------------------------------------------------------------------
    def _flow_(self) -> OrderFlow:
        if self._flow is None:
            raise SessionClosed(
                "the OrderManager is not running; use `async with OrderManager(...)` or start()"
            )
        return self._flow

    def _ask(self, command: Callable[[Reply], Command]) -> Reply:
        """Hand a command on (see :meth:`_dispatch`); awaiting the returned future gives its answer."""
        reply = self._reply()
        self._dispatch(command(reply))
        return reply

    def _reply(self) -> Reply:
        if self._task is None or self._closed:
            raise SessionClosed(
                "the OrderManager is not running; use `async with OrderManager(...)` or start()"
            )
        return asyncio.get_running_loop().create_future()

    async def _call(self, function: Callable[[Batch], Any]) -> Any:
        return await self._ask(lambda reply: Call(function, reply))

    async def _run(self) -> None:
        while True:
            commands = await self._inbox.take(_MAX_BATCH)
            await self._process(commands)
            if any(isinstance(c, Stop) for c in commands):
                return

    async def _process(self, commands: Sequence[Command]) -> None:
        """One batch: take the commands in, settle with the journal and the broker, reply, publish."""
        flow = self._flow_()
        batch = Batch(events=[] if self._hub.active else None)
        try:
            for command in commands:
                flow.take(command, batch)
            await flow.settle(batch, self._spawn_send)
            flow.pack(batch)
        except Exception as error:
            log.exception("order manager batch failed; its callers get the error")
            batch.fail(commands, error)
        batch.reply()
        if batch.events:
            for event in batch.events:
                self._hub.publish(event)

    def _dispatch(self, command: Command) -> None:
        """Give a command to the actor, or run its batch in the caller's task (see ntlab.core.turns)."""
        if self._turns.mine():
            self._turns.run(self._process((command,)))
        else:
            self._inbox.put(command)

    # --- talking to remote brokers (outside the actor) ---------------------------------------------------
    def _spawn_send(self, what: What, order: Order, change: ReplaceChange | None, reply: Reply) -> None:
        task = asyncio.get_running_loop().create_task(self._send(what, order, change, reply))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _send(self, what: What, order: Order, change: ReplaceChange | None, reply: Reply) -> None:
        timeout, initial = self._submit_timeout, self._retry_initial
        outcome = await send(self.broker, what, order, change, timeout=timeout, initial=initial)
        self._inbox.put(Sent(what, order.order_id, outcome, reply))

    # --- rebuilding from the journal -------------------------------------------------------------------
    def _replay(self, journal: Journal) -> bool:
        seen, halted = self._state.replay(journal.events())
        if halted is not None:
            self.risk.halt(halted)
        self.risk.restore(self._state.fills, self._state.snapshots())  # exposure as journaled
        if self._id_prefix is None:
            self._id_prefix = journal.get_meta("id_prefix")
        return seen
