"""The OrderManager: one actor task owns the session's state; any number of callers talk to it.

Callers put commands on a queue and await a future. The actor drains the queue in batches and, per batch:
validates and risk-checks new orders, journals them (one transaction), hands them to the broker, journals
what the broker said, and only then resolves the callers' futures. So a crash can lose an order the caller
never heard about, but never one it was told about; and the journal knows every client order id before the
broker does, so a restart asks the broker instead of placing twice.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol, cast

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_exponential, wait_random

from ntlab.core.broker import Broker, SimulatedVenue
from ntlab.core.enums import OrderStatus
from ntlab.core.events import Callback, EventHub, OrderEvent
from ntlab.core.instruments import InstrumentRegistry
from ntlab.core.journal import Journal, JournalEvent, encoded
from ntlab.core.lifecycle import OrderState, Outcome
from ntlab.core.models import (
    Fill,
    Order,
    OrderRequest,
    OrderResponse,
    OrderTicket,
    OrderUpdate,
    Position,
    trusted,
)
from ntlab.core.risk import RiskEngine, RiskLimits
from ntlab.core.session import SessionState, order_record, update_record
from ntlab.core.validation import validate_for_instrument
from ntlab.errors import (
    BrokerError,
    BrokerTimeout,
    BrokerUnavailable,
    InvalidOrder,
    JournalError,
    OrderDenied,
    OrderNotCancelable,
    OrderRejected,
    RateLimited,
    Reason,
    SessionClosed,
    UnknownOrder,
)

log = logging.getLogger(__name__)

_PLACE, _CANCEL, _UPDATES, _SUBMITTED, _CANCELLED, _CALL, _STOP = range(7)
_MAX_BATCH = 4096
_OWN_KINDS = frozenset({"request", "denied", "adopted", "update", "fill", "cancel_request", "halt", "resume"})

Future = asyncio.Future[Any]


class _CopyingVenue(Protocol):
    """An in-process venue that copies what it needs from an order during the call (``copies_orders``)."""

    async def submit_order(self, order: OrderTicket) -> list[OrderUpdate]: ...

    async def cancel_order(self, order: OrderTicket) -> list[OrderUpdate]: ...


class _RetryWait:
    """Exponential backoff with jitter, but never sooner than a broker's Retry-After."""

    def __init__(self, initial: float) -> None:
        self._backoff = wait_exponential(multiplier=initial, max=5.0) + wait_random(0, initial)

    def __call__(self, state: RetryCallState) -> float:
        wait = float(self._backoff(state))
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, RateLimited) and error.retry_after is not None:
            wait = max(wait, error.retry_after)
        return wait


class _Inbox:
    """The actor's commands: a deque and one waiter, cheaper per command than an asyncio.Queue and
    drained a batch at a time. Used from the event loop's thread only."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: deque[tuple[Any, ...]] = deque()
        self._waiter: Future | None = None

    def put(self, command: tuple[Any, ...]) -> None:
        self._items.append(command)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    async def take(self, limit: int) -> list[tuple[Any, ...]]:
        items = self._items
        while not items:
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        if len(items) <= limit:
            batch = list(items)
            items.clear()
            return batch
        return [items.popleft() for _ in range(limit)]


@dataclass(slots=True)
class _Batch:
    """What one pass of the actor collects: answers owed to callers, orders to send, events to publish."""

    events: list[OrderEvent] | None
    results: list[tuple[Future, Any]] = field(default_factory=list)
    submits: list[tuple[OrderState, Future]] = field(default_factory=list)
    cancels: list[tuple[OrderState, Future]] = field(default_factory=list)

    def answer(self, future: Future, value: Any) -> None:
        self.results.append((future, value))


class OrderManager:
    """Places, tracks and cancels orders on one broker, journaling every event.

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
        copies = self.broker.local and getattr(self.broker, "copies_orders", False) is True
        self._copying = cast(_CopyingVenue, self.broker) if copies else None
        self.risk = RiskEngine(risk, broker=self.broker)
        self.instruments = instruments if instruments is not None else self._broker_instruments()
        self._journal_path = Path(journal) if journal is not None else None
        self._durable = durable_journal
        self._journal: Journal | None = None
        self._id_prefix = id_prefix
        self._next_id = 0
        self._submit_timeout = submit_timeout
        self._retry_initial = retry_initial
        self._state = SessionState()
        self._hub = EventHub()
        self._inbox = _Inbox()
        self._task: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._closed = False

    def _broker_instruments(self) -> InstrumentRegistry:
        if isinstance(self.broker, SimulatedVenue):
            return InstrumentRegistry(list(self.broker.market.instruments.values()))
        return InstrumentRegistry()

    # --- lifecycle -------------------------------------------------------------------------------------
    async def start(self) -> OrderManager:
        """Replay the journal, connect the broker, start the actor and reconcile. Idempotent."""
        if self._task is not None:
            return self
        if self._closed:
            raise SessionClosed("this OrderManager was closed; create a new one")
        replayed = False
        if self._journal_path is not None:
            self._journal = Journal(self._journal_path, durable=self._durable)
            replayed = self._replay()
            self.risk.restore(self._state.fills, self._state.orders.values())  # risk: exposure as journaled
            stored = self._journal.get_meta("id_prefix")
            if self._id_prefix is None:
                self._id_prefix = stored
            if stored is None:
                self._id_prefix = self._id_prefix or secrets.token_hex(3)
                self._journal.set_meta("id_prefix", self._id_prefix)
        if self._id_prefix is None:
            self._id_prefix = secrets.token_hex(3)
        self._next_id = self._highest_own_id()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="ntlab-order-manager")
        await self.broker.connect(self)
        if replayed:
            await self.reconcile()
        return self

    async def close(self) -> None:
        """Stop the actor after it has finished what is queued, then close the broker and the journal."""
        if self._closed:
            return
        self._closed = True
        if self._task is not None:
            self._inbox.put((_STOP,))
            await self._task
        for task in list(self._background):
            task.cancel()
        try:
            await self.broker.close()
        finally:
            self._hub.close()
            if self._journal is not None:
                self._journal.close()

    async def __aenter__(self) -> OrderManager:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- the public API ----------------------------------------------------------------------------------
    async def place_order(self, request: OrderRequest) -> OrderResponse:
        """Validate, risk-check, journal and submit an order.

        Raises :class:`~ntlab.errors.OrderDenied` (InvalidOrder or RiskDenied) when refused before the
        broker, :class:`~ntlab.errors.OrderRejected` when the broker refuses; the order is recorded either way.
        """
        # risk: a remote broker's reference price (and short-sale flags) fetched before the actor checks
        if self.risk.prepares:
            await self.risk.prepare(request, self.cancel_order)
        return await self._ask(_PLACE, request)  # type: ignore[no-any-return]

    async def cancel_order(self, order_id: str) -> OrderResponse:
        """Ask the broker to cancel; returns the status after the broker's immediate answer."""
        return await self._ask(_CANCEL, order_id)  # type: ignore[no-any-return]

    async def get_order_status(self, order_id: str) -> OrderStatus:
        """The order's current status from the session's state (no broker round trip)."""
        state = self._state.orders.get(order_id)
        if state is None:
            raise UnknownOrder(f"no order {order_id!r} in this session", order_id=order_id)
        return state.status

    async def handle_order_update(self, update: OrderUpdate) -> None:
        """Apply a broker report (ack, fill, cancel...). Returns once it is journaled."""
        await self._ask(_UPDATES, (update,))

    async def handle_order_updates(self, updates: Sequence[OrderUpdate]) -> None:
        """Apply several reports in order, journaled in one transaction."""
        if updates:
            await self._ask(_UPDATES, tuple(updates))

    async def halt(self, reason: str = "kill switch engaged") -> None:
        """Kill switch: deny every new order until :meth:`resume`; cancels still pass."""
        await self._ask(_CALL, lambda: self._set_halt(reason))

    async def resume(self) -> None:
        await self._ask(_CALL, lambda: self._set_halt(None))

    async def cancel_all(self, symbol: str | None = None) -> list[OrderResponse]:
        """Cancel every open order (of one symbol); orders that finish meanwhile are skipped."""
        targets = [o.order_id for o in self.orders(open_only=True) if symbol is None or o.symbol == symbol]
        responses = []
        for order_id in targets:
            try:
                responses.append(await self.cancel_order(order_id))
            except OrderNotCancelable:
                continue
        return responses

    @property
    def halted(self) -> bool:
        return self.risk.halted

    def order(self, order_id: str) -> Order:
        state = self._state.orders.get(order_id)
        if state is None:
            raise UnknownOrder(f"no order {order_id!r} in this session", order_id=order_id)
        return state.snapshot()

    def orders(self, *, open_only: bool = False) -> list[Order]:
        states = self._state.orders.values()
        return [s.snapshot() for s in states if not open_only or s.status.is_open]

    def fills(self) -> list[Fill]:
        return list(self._state.fills)

    def positions(self) -> list[Position]:
        return self._state.positions.snapshot()

    def position(self, symbol: str) -> Decimal:
        return self._state.positions.quantity(symbol)

    def events(self) -> AsyncIterator[OrderEvent]:
        """Every order event from now on, as an async iterator (ends when the manager closes)."""
        return self._hub.stream()

    def on_event(self, callback: Callback) -> Callable[[], None]:
        """Call ``callback(event)`` on the manager's loop for every event; returns an unsubscribe function."""
        return self._hub.add_callback(callback)

    @property
    def id_prefix(self) -> str | None:
        return self._id_prefix

    # --- records of other components (execution algorithms) ----------------------------------------------
    async def record(self, kind: str, data: dict[str, Any], *, key: str | None = None) -> None:
        """Journal an event that is not an order's (``kind`` must not be one the manager uses itself).

        It goes through the actor, so it is ordered with the orders around it and durable once this returns;
        replay skips kinds it does not know, and :meth:`journal_events` hands them back after a restart.
        """
        if kind in _OWN_KINDS:
            raise JournalError(
                f"{kind!r} is an order event kind the manager journals itself; pick another name"
            )
        journal = self._journal
        if journal is not None:
            record = encoded(data)
            await self._ask(_CALL, lambda: journal.add(kind, key, record))

    def journal_events(self, kinds: Sequence[str]) -> list[JournalEvent]:
        """The journaled events of these kinds, oldest first (none without a journal)."""
        if self._journal is None:
            return []
        wanted = set(kinds)
        return [event for event in self._journal.events() if event.kind in wanted]

    # --- reconciliation ----------------------------------------------------------------------------------
    async def reconcile(self) -> dict[str, int]:
        """Bring the session in line with the broker: recover missed fills and final states, adopt orders
        the broker holds that the session does not know, and close orders that never reached the broker."""
        broker = self.broker
        report = {"checked": 0, "fills_recovered": 0, "closed": 0, "adopted": 0}
        updates: list[OrderUpdate] = []
        open_states = [s for s in self._state.orders.values() if s.status.is_open]
        broker_fills: list[Fill] | None = None
        for state in open_states:
            report["checked"] += 1
            found = await broker.lookup_order(state.order_id)
            if found is None:
                if state.status is OrderStatus.PENDING:
                    updates.append(
                        OrderUpdate(
                            order_id=state.order_id,
                            status=OrderStatus.REJECTED,
                            reason="never reached the broker before the session stopped; not resubmitted",
                            time=broker.now(),
                        )
                    )
                    report["closed"] += 1
                continue
            if found.filled_quantity > state.filled_quantity:
                if broker_fills is None:
                    earliest = min(s.created_at for s in open_states)
                    broker_fills = await broker.fills_since(earliest)
                for fill in broker_fills:
                    if fill.order_id == state.order_id and fill.fill_id not in state.fill_ids:
                        updates.append(OrderUpdate(order_id=state.order_id, fill=fill, time=fill.time))
                        report["fills_recovered"] += 1
            if found.status.is_final or found.status is not state.status:
                updates.append(
                    OrderUpdate(
                        order_id=state.order_id,
                        status=found.status,
                        broker_order_id=found.broker_order_id,
                        reason=found.reason,
                        time=found.updated_at,
                    )
                )
        if updates:
            await self.handle_order_updates(updates)
        known = set(self._state.orders)
        for order in await broker.open_orders():
            if order.order_id not in self._state.orders:
                await self._ask(_CALL, lambda o=order: self._adopt(o))
                report["adopted"] += 1
        # Orders placed elsewhere that traded, open or already closed, moved the positions too:
        # adopt the closed ones as well, then book every fill of an order this session did not know.
        since = min((s.created_at for s in self._state.orders.values()), default=None)
        foreign = [f for f in await broker.fills_since(since) if f.order_id not in known]
        for order_id in dict.fromkeys(f.order_id for f in foreign):
            if order_id not in self._state.orders:
                found = await broker.lookup_order(order_id)
                if found is None:
                    continue
                await self._ask(_CALL, lambda o=found: self._adopt(o))
                report["adopted"] += 1
        if foreign:
            await self.handle_order_updates(
                [OrderUpdate(order_id=f.order_id, fill=f, time=f.time) for f in foreign]
            )
            report["fills_recovered"] += len(foreign)
        return report

    # --- the actor -------------------------------------------------------------------------------------
    def _ask(self, kind: int, payload: Any) -> Future:
        """Queue a command for the actor; awaiting the returned future gives its answer."""
        if self._task is None or self._closed:
            raise SessionClosed(
                "the OrderManager is not running; use `async with OrderManager(...)` or start()"
            )
        future: Future = asyncio.get_running_loop().create_future()
        self._inbox.put((kind, payload, future))
        return future

    async def _run(self) -> None:
        inbox = self._inbox
        while True:
            batch = await inbox.take(_MAX_BATCH)
            try:
                await self._process(batch)
            except Exception as error:
                log.exception("order manager batch failed; callers get the error")
                for command in batch:
                    if (
                        len(command) > 2
                        and isinstance(command[-1], asyncio.Future)
                        and not command[-1].done()
                    ):
                        command[-1].set_exception(error)
            if self._closed and any(command[0] == _STOP for command in batch):
                return

    async def _process(self, commands: list[tuple[Any, ...]]) -> None:
        batch = _Batch(events=[] if self._hub.active else None)
        for command in commands:
            kind = command[0]
            if kind == _PLACE:
                self._accept(command[1], command[2], batch)
            elif kind == _UPDATES:
                for update in command[1]:
                    self._apply(update, batch)
                batch.answer(command[2], None)
            elif kind == _CANCEL:
                self._begin_cancel(command[1], command[2], batch)
            elif kind == _SUBMITTED:
                self._finish_submit(self._state.orders[command[1]], command[2], command[3], batch)
            elif kind == _CANCELLED:
                self._finish_cancel(self._state.orders[command[1]], command[2], command[3], batch)
            elif kind == _CALL:
                try:
                    batch.answer(command[2], command[1]())
                except Exception as error:
                    batch.answer(command[2], error)
        journal = self._journal
        if journal is not None:
            journal.commit()  # requests are durable before any broker hears of them
        if batch.submits or batch.cancels:
            await self._dispatch(batch)
            if journal is not None:
                journal.commit()
        for future, value in batch.results:
            if future.done():
                continue
            if isinstance(value, BaseException):
                future.set_exception(value)
            else:
                future.set_result(value)
        if batch.events:
            for event in batch.events:
                self._hub.publish(event)

    def _accept(
        self,
        request: OrderRequest,
        future: Future,
        batch: _Batch,
    ) -> None:
        broker = self.broker
        now = broker.now()
        order_id = request.client_order_id or self._new_id()
        duplicate = order_id in self._state.orders
        if duplicate:
            order_id = self._new_id()
        quote = broker.last_quote(request.symbol)
        state = self._state.new_order(order_id, request, now, quote)
        try:
            if duplicate:
                raise InvalidOrder(
                    Reason.DUPLICATE_ORDER_ID,
                    f"client_order_id {request.client_order_id!r} was already used in this session; "
                    "leave it empty to get a fresh id",
                )
            validate_for_instrument(request, self.instruments)
            self.risk.check(request, quote)
        except OrderDenied as denial:
            self._state.deny(state, denial)
            denial.order_id = order_id
            self._journal_order("denied", state)
            batch.answer(future, denial)
            if batch.events is not None:
                batch.events.append(OrderEvent(kind="order", order=state.snapshot()))
            return
        self.risk.accepted(state)  # risk: the order counts toward exposure, rates and duplicates from now
        self._journal_order("request", state)
        batch.submits.append((state, future))

    async def _dispatch(self, batch: _Batch) -> None:
        broker = self.broker
        if not broker.local:
            for state, future in batch.submits:
                self._spawn(self._submit_remote(state.snapshot(), future))
            for state, future in batch.cancels:
                self._spawn(self._cancel_remote(state.snapshot(), future))
            return
        copying = self._copying
        for state, future in batch.submits:
            try:
                if copying is not None:
                    outcome: Any = await copying.submit_order(state)
                else:
                    outcome = await broker.submit_order(state.snapshot())
            except Exception as error:
                outcome = error
            self._finish_submit(state, outcome, future, batch)
        for state, future in batch.cancels:
            try:
                if copying is not None:
                    outcome = await copying.cancel_order(state)
                else:
                    outcome = await broker.cancel_order(state.snapshot())
            except Exception as error:
                outcome = error
            self._finish_cancel(state, outcome, future, batch)

    def _finish_submit(
        self,
        state: OrderState,
        outcome: Any,
        future: Future,
        batch: _Batch,
    ) -> None:
        if isinstance(outcome, BaseException):
            batch.answer(future, self._submit_failure(state, outcome, batch))
            return
        for update in outcome:
            self._apply(update, batch)
        if state.status is OrderStatus.REJECTED:
            rejected = OrderRejected(
                f"{self.broker.name} rejected {state.order_id}: {state.reason}", order_id=state.order_id
            )
            batch.answer(future, rejected)
        else:
            batch.results.append((future, self._response(state)))

    def _submit_failure(self, state: OrderState, error: BaseException, batch: _Batch) -> BaseException:
        """Record what a failed submit means for the order and return the error for the caller."""
        if isinstance(error, (OrderRejected, BrokerUnavailable)):
            reason = str(error)
            self._apply(
                OrderUpdate(
                    order_id=state.order_id,
                    status=OrderStatus.REJECTED,
                    reason=reason,
                    time=self.broker.now(),
                ),
                batch,
            )
            if isinstance(error, BrokerUnavailable):
                return BrokerUnavailable(
                    f"order {state.order_id} did not reach {self.broker.name} after retries: {error}"
                )
            error.order_id = state.order_id
            return error
        if isinstance(error, (BrokerTimeout, asyncio.TimeoutError)):
            return BrokerTimeout(
                f"order {state.order_id}: no answer from {self.broker.name} and the lookup failed; it may or may "
                "not be live. It stays pending; reconcile() or the broker's stream will settle it"
            )
        log.error("submit of %s failed unexpectedly: %r", state.order_id, error)
        return error if isinstance(error, BrokerError) else BrokerError(f"order {state.order_id}: {error!r}")

    def _begin_cancel(
        self,
        order_id: str,
        future: Future,
        batch: _Batch,
    ) -> None:
        state = self._state.orders.get(order_id)
        if state is None:
            batch.answer(future, UnknownOrder(f"no order {order_id!r} in this session", order_id=order_id))
            return
        if state.status.is_final:
            final = OrderNotCancelable(f"order {order_id} is already {state.status.value}", order_id=order_id)
            batch.answer(future, final)
            return
        now = self.broker.now()
        if self._journal is not None:
            self._journal.add("cancel_request", order_id, {"time": now})
        outcome = self._state.request_cancel(state, now)
        self._announce(state, outcome, batch)
        batch.cancels.append((state, future))

    def _finish_cancel(
        self,
        state: OrderState,
        outcome: Any,
        future: Future,
        batch: _Batch,
    ) -> None:
        order_id = state.order_id
        if isinstance(outcome, BaseException):
            log.warning("cancel of %s failed: %r", order_id, outcome)
            self._apply(
                OrderUpdate(
                    order_id=order_id,
                    cancel_rejected=True,
                    reason=f"cancel failed: {outcome}",
                    time=self.broker.now(),
                ),
                batch,
            )
            batch.answer(future, outcome)
            return
        for update in outcome:
            self._apply(update, batch)
        batch.answer(future, self._response(state))

    def _apply(self, update: OrderUpdate, batch: _Batch) -> None:
        state = self._state.orders.get(update.order_id)
        if state is None:
            log.warning("update for unknown order %s ignored: %s", update.order_id, update)
            return
        outcomes = self._state.apply(state, update)
        for outcome in outcomes:
            if outcome.changed:
                break
        else:
            return
        for outcome in outcomes:  # risk: fills move exposure, a finished order's open quantity goes
            if outcome.fill is not None:
                self.risk.filled(outcome.fill)
        if state.status.is_final:
            self.risk.finished(state.order_id)
        if self._journal is not None:
            self._journal.add("fill" if update.fill else "update", update.order_id, update_record(update))
        if batch.events is not None:
            for outcome in outcomes:
                self._announce(state, outcome, batch)

    def _announce(self, state: OrderState, outcome: Outcome, batch: _Batch) -> None:
        if batch.events is not None and outcome.changed:
            kind = "fill" if outcome.fill is not None else "order"
            batch.events.append(OrderEvent(kind=kind, order=state.snapshot(), fill=outcome.fill))

    def _adopt(self, order: Order) -> None:
        state = self._state.adopt(order)
        self.risk.working(state)  # risk: an order placed elsewhere is exposure too
        self._journal_order("adopted", state)
        log.info(
            "adopted external order %s (%s %s %s)", order.order_id, order.side, order.quantity, order.symbol
        )

    def _set_halt(self, reason: str | None) -> None:
        if reason is None:
            self.risk.resume()
        else:
            self.risk.halt(reason)
        if self._journal is not None:
            self._journal.add("halt" if reason else "resume", None, {"reason": reason})

    def _journal_order(self, kind: str, state: OrderState) -> None:
        if self._journal is not None:
            self._journal.add(kind, state.order_id, order_record(state))

    @staticmethod
    def _response(state: OrderState) -> OrderResponse:
        return trusted(
            OrderResponse,
            {
                "order_id": state.order_id,
                "status": state.status,
                "filled_quantity": state.filled_quantity,
                "avg_fill_price": state.avg_fill_price,
                "broker_order_id": state.broker_order_id,
                "message": state.reason,
            },
        )

    def _new_id(self) -> str:
        self._next_id += 1
        return f"{self._id_prefix}-{self._next_id:06d}"

    def _highest_own_id(self) -> int:
        prefix = f"{self._id_prefix}-"
        highest = 0
        for order_id in self._state.orders:
            if order_id.startswith(prefix) and order_id[len(prefix) :].isdigit():
                highest = max(highest, int(order_id[len(prefix) :]))
        return highest

    # --- talking to remote brokers (outside the actor) ---------------------------------------------------
    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _submit_remote(self, order: Order, future: Future) -> None:
        try:
            outcome: Any = await self._submit_with_retry(order)
        except Exception as error:
            outcome = error
        self._inbox.put((_SUBMITTED, order.order_id, outcome, future))

    async def _submit_with_retry(self, order: Order) -> list[OrderUpdate]:
        """Retry only what provably did not arrive; after a timeout, ask before sending again."""
        broker = self.broker
        retrying = AsyncRetrying(
            stop=stop_after_attempt(3),
            wait=_RetryWait(self._retry_initial),
            retry=retry_if_exception_type(BrokerUnavailable),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                try:
                    return await asyncio.wait_for(broker.submit_order(order), self._submit_timeout)
                except (BrokerTimeout, TimeoutError):
                    found = await asyncio.wait_for(broker.lookup_order(order.order_id), self._submit_timeout)
                    if found is not None:
                        return [
                            OrderUpdate(
                                order_id=order.order_id,
                                status=found.status,
                                broker_order_id=found.broker_order_id,
                                time=found.updated_at,
                            )
                        ]
                    raise BrokerUnavailable(
                        f"{broker.name} did not answer and does not know {order.order_id}; sending again"
                    ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _cancel_remote(self, order: Order, future: Future) -> None:
        try:
            outcome: Any = await asyncio.wait_for(self.broker.cancel_order(order), self._submit_timeout)
        except Exception as error:
            outcome = error
        self._inbox.put((_CANCELLED, order.order_id, outcome, future))

    # --- rebuilding from the journal -------------------------------------------------------------------
    def _replay(self) -> bool:
        assert self._journal is not None
        seen, halted = self._state.replay(self._journal.events())
        if halted is not None:
            self.risk.halt(halted)
        return seen
