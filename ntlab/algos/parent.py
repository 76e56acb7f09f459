"""A parent order: one TWAP, VWAP or POV instruction working itself out as child orders.

The parent keeps no fill state of its own: it reads its children back from the OrderManager (which knows
every order placed with this parent's id), so after a restart, or a wake interrupted half-way (Ctrl-C in a
notebook), the parent knows exactly what was done and what is working, and cannot trade it twice. At each wake it compares what is done with what the schedule asks, re-prices
working children whose price is stale, and sends at most one new child.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING, Any

from ntlab.algos.models import AlgoParams, AlgoStatus, ParentSnapshot
from ntlab.algos.schedules import Schedule, VolumeTape
from ntlab.core.broker import Broker, SimulatedVenue
from ntlab.core.enums import OrderType, Side
from ntlab.core.models import OrderRequest
from ntlab.core.records import Order, Quote
from ntlab.errors import NtlabError, OrderNotCancelable, UnknownOrder
from ntlab.times import from_ns, to_ns

if TYPE_CHECKING:
    from ntlab.core.manager import OrderManager

log = logging.getLogger(__name__)

MAX_CATCH_UP_CHILDREN = 20
# In its last interval a schedule parent crosses; when the touch lacks the size, what is left would rest at a
# stale price until the window ends, so the parent looks again this often and re-prices it to the new touch.
SWEEP_NS = 1_000_000_000


@dataclass(frozen=True, slots=True)
class ProgressPoint:
    """One wake of a parent: what was done and what the schedule asked, for plots and tests."""

    time_ns: int
    filled: Decimal
    target: Decimal
    market_volume: float | None


class ParentOrder:
    """A running parent. Build it through :class:`ntlab.algos.AlgoEngine`; read it with :meth:`snapshot`."""

    def __init__(
        self,
        parent_id: str,
        params: AlgoParams,
        om: OrderManager,
        broker: Broker,
        schedule: Schedule,
        tape: VolumeTape | None,
        tick: Decimal,
        lot: Decimal,
    ) -> None:
        self.parent_id = parent_id
        self.params = params
        self.om = om
        self.broker = broker
        self.schedule = schedule
        self.tape = tape
        self.tick = tick
        self.lot = lot
        self.status = AlgoStatus.PENDING
        self.reason: str | None = None
        self.children: list[str] = []
        self.history: list[ProgressPoint] = []
        self.start_ns = to_ns(params.start)
        self.end_ns = to_ns(params.end)
        self.interval_ns = int(params.interval.total_seconds() * 1e9)
        self._next_wake = self.start_ns
        self._open: set[str] = set()
        self._done_filled = Decimal(0)
        self._done_notional = Decimal(0)
        self._open_filled = Decimal(0)
        self._open_notional = Decimal(0)
        self._working = Decimal(0)
        self._lock = asyncio.Lock()
        self._target_memo: dict[int, Decimal] = {}
        self._listeners: list[Callable[[ParentSnapshot], Any]] = []
        self._sync()

    # --- reading ------------------------------------------------------------------------------------------
    @property
    def filled(self) -> Decimal:
        return self._done_filled + self._open_filled

    @property
    def next_wake_ns(self) -> int:
        return self._next_wake

    def target(self, t_ns: int) -> Decimal:
        """What the schedule asks to be done by ``t_ns`` (POV: rate times the tape's volume so far)."""
        # a wake asks for now and the next wake; the next wake asks for that same moment again
        memo = self._target_memo
        value = memo.get(t_ns)
        if value is None:
            if len(memo) >= 4:
                memo.clear()
            value = memo[t_ns] = self._target(t_ns)
        return value

    def _target(self, t_ns: int) -> Decimal:
        p = self.params
        if self.tape is not None:
            assert p.rate is not None
            wanted = Decimal(repr(p.rate * self.tape.volume(t_ns)))
        else:
            wanted = p.quantity * Decimal(repr(self.schedule.fraction(t_ns)))
        return self._lots(min(p.quantity, wanted))

    def snapshot(self) -> ParentSnapshot:
        self._refresh()
        p = self.params
        filled = self.filled
        notional = self._done_notional + self._open_notional
        now_ns = self._now_ns()
        return ParentSnapshot(
            parent_id=self.parent_id,
            algo=p.algo,
            symbol=p.symbol,
            side=p.side,
            quantity=p.quantity,
            filled_quantity=filled,
            working_quantity=self._working,
            target_quantity=p.quantity if self.status is AlgoStatus.FILLED else self.target(now_ns),
            avg_fill_price=notional / filled if filled else None,
            status=self.status,
            children=len(self.children),
            open_children=len(self._open),
            start=p.start,
            end=p.end,
            updated_at=from_ns(now_ns),
            limit_price=p.limit_price,
            reason=self.reason,
        )

    def subscribe(self, callback: Callable[[ParentSnapshot], Any]) -> Callable[[], None]:
        """Call ``callback(snapshot)`` after every wake and on the final status; returns an unsubscribe."""
        self._listeners.append(callback)

        def unsubscribe() -> None:
            if callback in self._listeners:
                self._listeners.remove(callback)

        return unsubscribe

    def __repr__(self) -> str:
        s = self.snapshot()
        return (
            f"<{s.algo.upper()} {s.parent_id} {s.side.value} {s.quantity} {s.symbol}: {s.status.value}, "
            f"{s.filled_quantity} filled ({s.progress:.0%}), {s.children} children>"
        )

    # --- acting ------------------------------------------------------------------------------------------
    async def wake(self) -> None:
        """Look at the market and the children; re-price, send, or finish. Called by the engine when due."""
        async with self._lock:
            if self.status.is_final:
                return
            now_ns = self._now_ns()
            if now_ns < self.start_ns:
                self._next_wake = self.start_ns
                return
            self.status = AlgoStatus.RUNNING
            try:
                await self._decide(now_ns)
            finally:
                step = self.interval_ns
                if self.tape is None and self._open and now_ns + step >= self.end_ns:
                    step = min(step, SWEEP_NS)  # last interval: re-peg what is left to the touch until done
                self._next_wake = min(now_ns + step, self.end_ns)
                if self._next_wake <= now_ns:
                    self._next_wake = now_ns + self.interval_ns
            self._notify()

    async def cancel(
        self, reason: str = "cancelled by the user", status: AlgoStatus = AlgoStatus.CANCELLED
    ) -> None:
        """Stop sending and cancel every working child; returns once the venue has answered each cancel."""
        async with self._lock:
            if self.status.is_final:
                return
            self.status = status
            self.reason = reason
            await self._cancel_children(set(self._open))
            self._refresh()
            await self._record_end()
            self._notify()

    async def _decide(self, now_ns: int) -> None:
        p = self.params
        self._refresh()
        if self.filled >= p.quantity:
            await self._finish(AlgoStatus.FILLED, None)
            return
        if now_ns >= self.end_ns:
            await self._cancel_children(set(self._open))
            self._refresh()
            if self.filled >= p.quantity:
                await self._finish(AlgoStatus.FILLED, None)
            else:
                why = f"window ended with {p.quantity - self.filled} left"
                if p.limit_price is not None:
                    why += f" (limit {p.limit_price})"
                await self._finish(AlgoStatus.EXPIRED, why)
            return
        quote = self.broker.last_quote(p.symbol)
        due_now = self.target(now_ns)
        volume = self.tape.volume(now_ns) if self.tape is not None else None
        self.history.append(ProgressPoint(now_ns, self.filled, due_now, volume))
        if quote is None:
            return
        last_call = now_ns + self.interval_ns >= self.end_ns
        if self.tape is not None:
            assert p.rate is not None and volume is not None
            goal = due_now
            floor = Decimal(repr(p.rate * (1 - p.band) * volume))
            behind = self.filled < floor - p.min_child
        else:
            goal = self.target(min(now_ns + self.interval_ns, self.end_ns))
            behind = due_now - self.filled > p.catch_up_shares
        aggressive = p.placement == "aggressive" or behind or (last_call and self.tape is None)
        price = self._price(quote, aggressive)
        stale = {cid for cid in self._open if self.om.order(cid).limit_price != price}
        if stale:
            await self._cancel_children(stale)
            self._refresh()
        room = min(goal, p.quantity) - self.filled - self._working
        # one child per wake on schedule; catching up, as many as it takes (each no bigger than max_child)
        catching_up = behind or (last_call and self.tape is None)
        for _ in range(MAX_CATCH_UP_CHILDREN if catching_up else 1):
            size = self._lots(min(room, p.max_child))
            remainder = p.quantity - self.filled - self._working
            if size <= 0 or (size < p.min_child and size < remainder):
                return
            await self._send(size, price)
            room -= size

    def _price(self, quote: Quote, aggressive: bool) -> Decimal:
        p = self.params
        buy = p.side is Side.BUY
        if aggressive:
            price = quote.ask if buy else quote.bid
        elif buy:  # join the bid, one tick under the offer when venues' quotes lock or cross
            price = min(quote.bid, quote.ask - self.tick)
        else:
            price = max(quote.ask, quote.bid + self.tick)
        if p.limit_price is not None:
            price = min(price, p.limit_price) if buy else max(price, p.limit_price)
        return price

    async def _send(self, size: Decimal, price: Decimal) -> None:
        p = self.params
        child_id = self._next_child_id()
        request = OrderRequest(
            symbol=p.symbol,
            side=p.side,
            quantity=size,
            order_type=OrderType.LIMIT,
            limit_price=price,
            client_order_id=child_id,
            parent_id=self.parent_id,
            tag=p.algo,
            venue=p.venue,
            allow_duplicate=True,  # slices of one parent repeat size and price by design
        )
        try:
            await self.om.place_order(request)
        except NtlabError as error:
            self.reason = f"child {child_id} refused: {error}"
            log.warning("%s: %s", self.parent_id, self.reason)
        self._sync()

    def _next_child_id(self) -> str:
        n = len(self.children)
        while True:
            n += 1
            child_id = f"{self.parent_id}-{n:04d}"
            if not self._known(child_id):
                return child_id

    def _known(self, order_id: str) -> bool:
        try:
            self.om.order(order_id)
        except UnknownOrder:
            return False
        return True

    async def _cancel_children(self, child_ids: set[str]) -> None:
        for child_id in sorted(child_ids):
            try:
                await self.om.cancel_order(child_id)
            except OrderNotCancelable:
                continue

    async def _finish(self, status: AlgoStatus, reason: str | None) -> None:
        self.status = status
        self.reason = reason
        await self._record_end()

    async def _record_end(self) -> None:
        data = {
            "parent_id": self.parent_id,
            "status": self.status.value,
            "filled_quantity": str(self.filled),
            "reason": self.reason,
            "time": self._now().isoformat(),
        }
        await self.om.record("algo_end", data, key=self.parent_id)

    # --- bookkeeping -------------------------------------------------------------------------------------
    def _take_in(self, order: Order) -> None:
        if order.status.is_open:
            self._open.add(order.order_id)
        else:
            self._done_filled += order.filled_quantity
            self._done_notional += order.filled_quantity * (order.avg_fill_price or 0)
        self._sum_open()

    def _sync(self) -> None:
        """Take in the children the manager knows of that this parent has not seen yet."""
        known = self.om.children(self.parent_id)
        for child_id in known[len(self.children) :]:
            self.children.append(child_id)
            self._take_in(self.om.order(child_id))

    def _refresh(self) -> None:
        """Fold children that finished into the done totals; sum what the open ones hold."""
        self._sync()
        for child_id in list(self._open):
            order = self.om.order(child_id)
            if not order.status.is_open:
                self._open.discard(child_id)
                self._done_filled += order.filled_quantity
                self._done_notional += order.filled_quantity * (order.avg_fill_price or 0)
        self._sum_open()

    def _sum_open(self) -> None:
        filled = notional = working = Decimal(0)
        for child_id in self._open:
            order = self.om.order(child_id)
            filled += order.filled_quantity
            notional += order.filled_quantity * (order.avg_fill_price or 0)
            working += order.remaining_quantity
        self._open_filled, self._open_notional, self._working = filled, notional, working

    def _lots(self, quantity: Decimal) -> Decimal:
        if quantity <= 0:
            return Decimal(0)
        return (quantity / self.lot).to_integral_value(rounding=ROUND_DOWN) * self.lot

    def _now(self) -> datetime:
        return self.broker.now()

    def _now_ns(self) -> int:
        broker = self.broker
        return broker.now_ns if isinstance(broker, SimulatedVenue) else to_ns(broker.now())

    def _notify(self) -> None:
        if not self._listeners:
            return
        snapshot = self.snapshot()
        for callback in list(self._listeners):
            try:
                callback(snapshot)
            except Exception:
                log.exception("progress callback %r failed; it stays subscribed", callback)
