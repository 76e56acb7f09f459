"""The fakes' one matching engine: the paper venue's book, behind each fake broker's wire protocol.

A fake is its broker's paths, messages and field spellings on top of this engine. It turns each request into
an ntlab :class:`~ntlab.core.records.Order` (whose ``order_id`` is the fake's own key for it, say the
broker's order id), hands it to :meth:`FakeEngine.submit`, and turns the reports that come back (and those
that come later, as the clock moves: :meth:`FakeEngine.on_report`) into the broker's own messages. So every
fake fills the way the paper venue does, from the same seeded market, and a fake cannot drift into a second,
subtly different matching engine.

The engine also keeps what the conformance suite checks a fake against: every submit that reached it
(``attempts``), the fills it made and the positions they add up to.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from ntlab.brokers.paper import PaperBroker, PaperConfig, SimClock
from ntlab.core.lifecycle import ReplaceChange
from ntlab.core.records import Fill, Order, Quote
from ntlab.core.reports import OrderUpdate
from ntlab.errors import BrokerError
from ntlab.market.frames import Market
from ntlab.times import to_ns

log = logging.getLogger(__name__)

Listener = Callable[[OrderUpdate], object]
ClockListener = Callable[[datetime, datetime], Awaitable[object]]
T = TypeVar("T")


class _Sink:
    """What the venue reports to as its clock moves: handed on to the fake's listeners at once."""

    def __init__(self, engine: FakeEngine) -> None:
        self._engine = engine

    async def handle_order_update(self, update: OrderUpdate) -> None:
        self._engine._publish([update])

    async def handle_order_updates(self, updates: Sequence[OrderUpdate]) -> None:
        self._engine._publish(updates)

    async def reconcile(self) -> dict[str, int]:
        return {}


class FakeEngine:
    """A paper venue on a market (the seeded sample market unless given one), stepped by the fake.

    ``start`` puts the clock somewhere in the session (default: its open); ``config`` sets fees, latency and
    the rest of the paper venue's assumptions; ``cash`` is what a fake reports as the account's cash before
    any fill.
    """

    def __init__(
        self,
        market: Market | None = None,
        *,
        start: datetime | str | None = None,
        config: PaperConfig | None = None,
        cash: Decimal | int | str = 100_000,
        name: str = "fake",
    ) -> None:
        if market is None:
            from ntlab.market import sample_market

            market = sample_market()
        self.venue = PaperBroker(market, clock=SimClock(start), config=config, name=name)
        self.market = market
        self.cash = Decimal(str(cash))
        self.attempts: Counter[str] = Counter()  # submits that reached the engine, by the fake's key
        self._listeners: list[Listener] = []
        self._clock_listeners: list[ClockListener] = []
        self._connected = False
        self._stepping = asyncio.Lock()

    async def start(self) -> FakeEngine:
        if not self._connected:
            await self.venue.connect(_Sink(self))
            self._connected = True
        return self

    async def close(self) -> None:
        await self.venue.close()
        self._connected = False

    # --- what a fake does with a request ------------------------------------------------------------------
    def on_report(self, listener: Listener) -> None:
        """Call ``listener(report)`` for every report the venue makes later than a call's answer."""
        self._listeners.append(listener)

    def on_clock(self, listener: ClockListener) -> None:
        """Await ``listener(before, after)`` each time the clock moves: what a fake streams besides its order
        news (the market's quotes between the two times, say) follows the engine's time, not the wall's."""
        self._clock_listeners.append(listener)

    def _publish(self, updates: Sequence[OrderUpdate]) -> None:
        for update in updates:
            for listener in list(self._listeners):
                try:
                    listener(update)
                except Exception:
                    log.exception("a fake's listener failed on %r", update)

    def submit(self, order: Order) -> list[OrderUpdate]:
        """Match a new order; its ``order_id`` is the fake's key for it. The answer is what happened at once."""
        self.attempts[order.order_id] += 1
        return _now(self.venue.submit_order(order))

    def cancel(self, order_id: str) -> list[OrderUpdate]:
        order = self.order(order_id)
        if order is None:
            return _now(self.venue.cancel_order(_unknown(order_id, self.now())))
        return _now(self.venue.cancel_order(order))

    def replace(self, order_id: str, change: ReplaceChange) -> list[OrderUpdate]:
        order = self.order(order_id)
        if order is None:
            return _now(self.venue.replace_order(_unknown(order_id, self.now()), change))
        return _now(self.venue.replace_order(order, change))

    # --- what a fake reads --------------------------------------------------------------------------------
    def order(self, order_id: str) -> Order | None:
        return _now(self.venue.lookup_order(order_id))

    def orders(self, *, open_only: bool = False) -> list[Order]:
        return _now(self.venue.open_orders()) if open_only else self.venue.order_views()

    def fills(self) -> list[Fill]:
        return list(_now(self.venue.fills_since(None)))

    def positions(self) -> dict[str, Decimal]:
        """Signed quantity per symbol, from the engine's own fills (zero positions left out)."""
        held = {p.symbol: p.quantity for p in _now(self.venue.positions())}
        return {symbol: quantity for symbol, quantity in held.items() if quantity}

    def cash_balance(self) -> Decimal:
        """Cash after every fill: what was paid for buys, received for sells, less fees."""
        cash = self.cash
        for fill in self.fills():
            cash += -fill.notional if fill.side == "buy" else fill.notional
            cash -= fill.fee
        return cash

    def quote(self, symbol: str) -> Quote | None:
        return self.venue.last_quote(symbol)

    def now(self) -> datetime:
        return self.venue.now()

    @property
    def symbols(self) -> list[str]:
        return list(self.market.symbols)

    # --- time ---------------------------------------------------------------------------------------------
    async def advance(self, seconds: float = 1.0) -> None:
        """Move the clock; resting orders meet the market on the way and their reports go to the listeners."""
        async with self._stepping:
            before = self.venue.now()
            await self.venue.advance(seconds)
            await self._moved(before)

    async def advance_to(self, when: datetime | str | int) -> None:
        async with self._stepping:
            before = self.venue.now()
            await self.venue.advance_to(when if isinstance(when, int) else to_ns(when))
            await self._moved(before)

    async def _moved(self, before: datetime) -> None:
        after = self.venue.now()
        if after == before:
            return
        for listener in list(self._clock_listeners):
            try:
                await listener(before, after)
            except Exception:
                log.exception("a fake's clock listener failed between %s and %s", before, after)


def _now(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a paper venue call to its end at once: the venue is in-process and never waits."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coroutine.close()
    raise BrokerError("the paper venue waited inside a call; it must answer at once")


def _unknown(order_id: str, now: datetime) -> Order:
    """A stand-in for an order the engine never saw, so the venue answers "unknown" in its own words."""
    from ntlab.core.enums import OrderStatus, OrderType, Side, TimeInForce

    return Order(
        order_id=order_id,
        symbol="",
        side=Side.BUY,
        quantity=Decimal(0),
        order_type=OrderType.MARKET,
        time_in_force=TimeInForce.DAY,
        status=OrderStatus.PENDING,
        created_at=now,
        updated_at=now,
    )
