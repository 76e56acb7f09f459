"""PaperBroker: the built-in simulated venue, and the default broker of the Lab and the CLI.

It fills orders against a market's quotes and trades (the seeded sample market unless given another) with
the assumptions in :mod:`ntlab.brokers.paper.book` and :class:`PaperConfig`. Time is simulated: ``advance``
steps it, or a real-time clock replays the market at a chosen speed. Everything that happens later than
``submit_order`` (resting orders filling, day orders expiring) is delivered to the manager through the sink.

With a ledger, the venue records each submit before it acts on it (a submit it cannot record is refused as
not arrived) and what it did after; if that second write fails it keeps the rows for the next write and
refuses new orders until a write succeeds, as the manager does with its journal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from ntlab.brokers.paper import linked
from ntlab.brokers.paper.book import BPS, CLOSED, Execution, SymbolBook, VenueOrder
from ntlab.brokers.paper.clock import RealTimeClock, SimClock
from ntlab.brokers.paper.config import PaperConfig
from ntlab.brokers.paper.ledger import Ledger
from ntlab.brokers.paper.linked import Happened, Link
from ntlab.core import fields
from ntlab.core.broker import AssetFlags, UpdateSink
from ntlab.core.enums import Liquidity, OrderClass, OrderStatus, OrderType, Side, TimeInForce
from ntlab.core.legs import legs as legs_of
from ntlab.core.lifecycle import ReplaceChange
from ntlab.core.positions import PositionState
from ntlab.core.records import Account, Fill, Order, Position, Quote
from ntlab.core.reports import (
    Accepted,
    Cancelled,
    CancelRejected,
    Expired,
    Filled,
    OrderUpdate,
    Rejected,
    Replaced,
    ReplaceRejected,
)
from ntlab.errors import BrokerUnavailable, ConfigError, JournalError
from ntlab.market.frames import Market
from ntlab.times import duration_ns, from_ns, to_ns

log = logging.getLogger(__name__)

FEE_PLACES = Decimal("0.000001")
CENT = Decimal("0.01")
REG_T_INITIAL = Decimal("0.5")  # initial margin on the gross market value of positions, as Reg T asks
_NO_FEE = Decimal(0)
# members read per order, bound to module names (see ntlab.core.enums)
_IOC, _FOK, _OPG, _CLS = TimeInForce.IOC, TimeInForce.FOK, TimeInForce.OPG, TimeInForce.CLS
_TRAILING_STOP, _SIMPLE, _MAKER = OrderType.TRAILING_STOP, OrderClass.SIMPLE, Liquidity.MAKER
_FILLED, _PARTIALLY_FILLED, _CANCELLED = (
    OrderStatus.FILLED,
    OrderStatus.PARTIALLY_FILLED,
    OrderStatus.CANCELLED,
)
TICK_SECONDS = 0.05


def _trailing_stop(order: VenueOrder) -> Decimal | None:
    """Where a trailing stop's stop is now (None before the market has been seen)."""
    return None if math.isnan(order.stop_f) else Decimal(repr(round(order.stop_f, 10)))


def _link(entry: VenueOrder, legs: list[VenueOrder]) -> None:
    """Tie an order to its legs: a bracket's or oto's exits wait for it and (a bracket's two) cancel each
    other; an oco order and its stop-loss cancel each other."""
    if entry.order_class is OrderClass.OCO:
        group = [entry, *legs]
    else:
        entry.exits = legs
        group = legs
    if len(group) > 1:
        for member in group:
            member.oco = [o for o in group if o is not member]


_SIZES: dict[float, Decimal] = {}


def _size(units: float) -> Decimal:
    """A quoted size as a Decimal, to 8 places; sizes repeat, so each is worked out once (a few thousand)."""
    found = _SIZES.get(units)
    if found is None:
        if len(_SIZES) >= 4096:
            _SIZES.clear()
        found = _SIZES[units] = Decimal(repr(round(units, 8)))
    return found


class PaperBroker:
    """A simulated venue on a market. ``clock="sim"`` (stepped by code) or ``"realtime"`` (``speed``x)."""

    local = True
    notional_orders = True  # notional orders are sized by the venue (see ntlab.core.broker.NotionalOrders)
    trail_replace = True  # a replace can change a trailing stop's trail (ntlab.core.broker.TrailReplace)

    def __init__(
        self,
        market: Market | None = None,
        *,
        clock: Literal["sim", "realtime"] | SimClock | RealTimeClock = "sim",
        speed: float = 1.0,
        config: PaperConfig | None = None,
        ledger: str | Path | None = None,
        name: str = "paper",
    ) -> None:
        if market is None:
            from ntlab.market.sample import sample_market

            market = sample_market()
        self.market = market
        self.config = config or PaperConfig()
        self.name = name
        if clock == "sim":
            self.clock: SimClock | RealTimeClock = SimClock()
        elif clock == "realtime":
            self.clock = RealTimeClock(speed=speed)
        else:
            self.clock = clock
        self._open_ns = int(market.session_open.value)
        self._close_ns = int(market.session_close.value)
        self._now_ns = self.clock.start_ns if self.clock.start_ns is not None else self._open_ns
        self.clock.now_ns = self._now_ns
        self._latency_ns = duration_ns(self.config.latency)
        self._taker_rate = self.config.taker_fee_bps / BPS
        self._maker_rate = self.config.maker_fee_bps / BPS
        self._now_dt = (self._now_ns, from_ns(self._now_ns))
        self._books: dict[str, SymbolBook] = {}
        self._orders: dict[str, VenueOrder] = {}
        self._at_close: dict[int, VenueOrder] = {}
        self._fills: list[Fill] = []
        self._asset_flags: dict[str, AssetFlags] = {}
        self._rng = np.random.default_rng(self.config.seed)
        self._order_seq = 0
        self._sink: UpdateSink | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._stepping = asyncio.Lock()
        self._ledger = Ledger(ledger) if ledger is not None else None
        self._ledger_fault: str | None = None
        if self._ledger is not None:
            self._restore(self._ledger)

    def __repr__(self) -> str:
        mode = f"realtime x{self.clock.speed:g}" if isinstance(self.clock, RealTimeClock) else "sim"
        return f"PaperBroker({self.name!r}, {mode} clock at {self.now():%Y-%m-%d %H:%M:%S} UTC, {len(self._orders)} orders)"

    # --- protocol: connection and clock --------------------------------------------------------------------
    async def connect(self, sink: UpdateSink) -> None:
        self._sink = sink
        if self.clock.realtime and self._ticker is None:
            self._ticker = asyncio.get_running_loop().create_task(self._tick(), name=f"{self.name}-clock")

    async def close(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        self._sink = None
        if self._ledger is not None:
            self._ledger.close()
            self._ledger = None

    @property
    def durable(self) -> bool:
        """A venue with a ledger remembers its orders across restarts, as a real broker does."""
        return self._ledger is not None

    def now(self) -> datetime:
        if self._now_dt[0] != self._now_ns:
            self._now_dt = (self._now_ns, from_ns(self._now_ns))
        return self._now_dt[1]

    @property
    def now_ns(self) -> int:
        return self._now_ns

    @property
    def session_open(self) -> datetime:
        return from_ns(self._open_ns)

    @property
    def session_close(self) -> datetime:
        return from_ns(self._close_ns)

    def _book(self, symbol: str) -> SymbolBook | None:
        book = self._books.get(symbol)
        if book is None:
            instrument = self.market.instruments.get(symbol)
            if instrument is None:
                return None
            book = SymbolBook(
                self.market.quote_arrays(symbol),
                self.market.trade_arrays(symbol),
                instrument.tick_size,
                instrument.lot_size,
                self.config.price_offset_bps,
                self.config.liquidity_factor,
            )
            book.seek(self._now_ns)
            self._books[symbol] = book
        return book

    def asset_flags(self, symbol: str) -> AssetFlags | None:
        """Every symbol of the market trades; it can be sold short when it is on ``config.locates`` (all
        symbols when that is None)."""
        found = self._asset_flags.get(symbol)
        if found is None:
            instrument = self.market.instruments.get(symbol)
            if instrument is None:
                return None
            locates = self.config.locates
            borrowable = locates is None or symbol in locates
            found = self._asset_flags[symbol] = AssetFlags(
                symbol, True, borrowable, borrowable, instrument.fractional
            )
        return found

    async def fetch_asset_flags(self, symbol: str) -> AssetFlags | None:
        return self.asset_flags(symbol)

    def last_quote(self, symbol: str) -> Quote | None:
        book = self._books.get(symbol) or self._book(symbol)
        if book is None:
            return None
        if not book.resting and book.seen_ns != self._now_ns:
            book.seek(self._now_ns)
        qi = book.qi
        if qi < 0:
            return None
        cached = book.quote_cache
        if cached is not None and cached[0] == qi:
            return cached[1]  # type: ignore[return-value]
        stamp = int(book.quotes.time_ns[qi])
        quote = Quote(
            symbol,
            self.now() if stamp == self._now_ns else from_ns(stamp),  # a step to a quote's own time
            book.price(book.bid_t),  # the quote in force, as the book keeps it: qi is the book's own
            book.price(book.ask_t),
            _size(book.bid_sz),
            _size(book.ask_sz),
        )
        book.quote_cache = (qi, quote)
        return quote

    # --- protocol: orders --------------------------------------------------------------------------------
    def _would_take(self, order: Order) -> bool:
        """Whether a limit order crosses the touch (a post-only order is refused rather than let it take)."""
        quote = self.last_quote(order.symbol)
        if quote is None or order.limit_price is None:
            return False
        if order.side is Side.BUY:
            return order.limit_price >= quote.ask
        return order.limit_price <= quote.bid

    async def submit_order(self, order: Order) -> list[OrderUpdate]:
        if order.notional is not None and not order.quantity:
            return await self._submit_notional(order)
        order_id = order.order_id
        now_ns = self._now_ns
        now = self.now()
        self._note_attempt(order_id)
        if order_id in self._orders:
            return [
                Rejected(order_id, now, f"duplicate client order id {order_id!r}: the venue already has it")
            ]
        book = self._books.get(order.symbol) or self._book(order.symbol)
        reject = None
        if book is None:
            reject = f"{self.name} has no market data for {order.symbol}; it trades {', '.join(self.market.symbols)}"
        elif now_ns >= self._close_ns:
            reject = f"market closed at {self.session_close:%H:%M} UTC; the session is over"
        elif order.time_in_force is _OPG and now_ns > self._open_ns:
            reject = "opg orders must arrive before the opening auction"
        elif order.post_only and self._would_take(order):
            reject = "post-only order would immediately match and take liquidity; price it passively"
        if reject is not None:
            return [Rejected(order_id, now, reject)]
        assert book is not None
        self._order_seq += 1
        venue_order = VenueOrder(  # positional: this runs for every order
            order_id,
            f"{self.name}-{self._order_seq}",
            order.symbol,
            order.side,
            order.quantity,
            order.order_type,
            order.time_in_force,
            order.limit_price,
            order.stop_price,
            now_ns,
            now_ns + self._latency_ns,
            updated_ns=now_ns,
            seq=self._order_seq,
        )
        if order.order_type is _TRAILING_STOP:
            venue_order.trail_price, venue_order.trail_percent = order.trail_price, order.trail_percent
        self._orders[order_id] = venue_order
        updates: list[OrderUpdate] = [Accepted(order_id, now, venue_order.broker_order_id)]
        legs = self._legs(order, venue_order, updates) if order.order_class is not _SIMPLE else ()
        tif = venue_order.time_in_force
        if tif is _CLS:
            self._at_close[venue_order.seq] = venue_order
        elif self._latency_ns > 0:
            venue_order.arrived = False
            book.resting.add(venue_order)
        else:
            if (book.qi < 0 or not book.resting) and book.seen_ns != now_ns:
                book.seek(now_ns)
            self._meet(book, venue_order, updates, now, all_or_none=tif is _FOK)
            if venue_order.remaining > 0:
                if tif in (_IOC, _FOK):
                    why = (
                        "fok: not enough size at the touch" if tif is _FOK else "ioc: unfilled rest cancelled"
                    )
                    self._close(venue_order, _CANCELLED, why)
                    updates.append(Cancelled(order_id, now, why))
                elif tif is _OPG:
                    why = "opg: not filled in the opening auction"
                    self._close(venue_order, _CANCELLED, why)
                    updates.append(Cancelled(order_id, now, why))
                else:
                    book.resting.add(venue_order)
        for leg in legs:  # an oco's stop-loss works from the start, unless the take-profit filled at once
            if not leg.held and leg.status.is_open and leg not in book.resting:
                self._meet(book, leg, updates, now)
                if leg.remaining > 0 and leg.status.is_open:
                    book.resting.add(leg)
        self._write(self._touched(venue_order, updates) if legs else [venue_order], updates)
        return updates

    async def _submit_notional(self, order: Order) -> list[OrderUpdate]:
        """A notional order is sized when the venue receives it: the notional over the price a market order
        takes now (the touch, with the configured slippage), rounded down to the instrument's lot. So the
        sample market's stocks (lot 1) buy whole shares and BTC/USD multiples of 0.0001; a market whose
        stocks trade in fractions (lot 0.000000001) sizes to 9 decimals, as Alpaca does. From then on it is
        a market order for that quantity (what the touch cannot fill takes later quotes, as any does); the
        size is reported as a ``Replaced`` after the ack, and the fills follow."""
        order_id, now = order.order_id, self.now()
        book = self._books.get(order.symbol) or self._book(order.symbol)
        price = None
        if book is not None:
            if book.seen_ns != self._now_ns:
                book.seek(self._now_ns)
            price = book.taker_price(order.side is Side.BUY, self.config.slippage_bps)
        quantity = None if book is None or price is None else book.lots_for(order.notional, price)  # type: ignore[arg-type]
        if book is not None and not quantity:
            self._note_attempt(order_id)
            why = (
                f"no quote for {order.symbol} yet to size a notional order at"
                if price is None
                else f"notional {order.notional} buys less than one lot ({book.lot}) of {order.symbol} at {price}"
            )
            return [Rejected(order_id, now, why)]
        updates = await self.submit_order(order._replace(quantity=quantity or Decimal(0), notional=None))
        venue_order = self._orders.get(order_id)
        if quantity and venue_order is not None and updates and isinstance(updates[0], Accepted):
            venue_order.ordered_notional = order.notional
            updates.insert(1, Replaced(order_id, now, quantity))
            self._write([venue_order], ())
        return updates

    def _legs(self, order: Order, entry: VenueOrder, updates: list[OrderUpdate]) -> list[VenueOrder]:
        """The venue's orders for an order's legs: held exits of an entry, or an oco's stop-loss."""
        made = []
        for leg in legs_of(order):
            self._order_seq += 1
            venue_leg = VenueOrder(
                leg.order_id,
                f"{self.name}-{self._order_seq}",
                leg.symbol,
                leg.side,
                leg.quantity,
                leg.order_type,
                leg.time_in_force,
                leg.limit_price,
                leg.stop_price,
                entry.created_ns,
                entry.active_ns,
                updated_ns=entry.created_ns,
                seq=self._order_seq,
                linked_to=order.order_id,
                held=order.order_class is not OrderClass.OCO,
            )
            self._orders[leg.order_id] = venue_leg
            updates.append(Accepted(leg.order_id, updates[0].time, venue_leg.broker_order_id))
            made.append(venue_leg)
        entry.order_class = order.order_class
        _link(entry, made)
        return made

    def _meet(
        self,
        book: SymbolBook,
        order: VenueOrder,
        updates: list[OrderUpdate],
        now: datetime,
        all_or_none: bool = False,
    ) -> None:
        """An order arriving (or changed) meets the quote in force: a stop may trigger, then it may take."""
        if not order.triggered:
            order.triggered = book.touches(order)
        if order.triggered:
            slippage = self.config.slippage_bps
            execution = book.take(order, self._now_ns, slippage, all_or_none)
            if execution is None:
                return
            if order.exits or order.oco:  # the orders linked to it move with it
                happened: Happened = []
                book.executed(order, execution, self._now_ns, slippage, happened)
                for step in happened:
                    updates.append(self._report(step, now))
            else:
                updates.append(self._book_execution(execution, now))
            book.started = False

    def _close(self, order: VenueOrder, status: OrderStatus, reason: str | None = None) -> None:
        order.status = status
        order.updated_ns = self._now_ns
        order.reason = reason

    async def cancel_order(self, order: Order) -> list[OrderUpdate]:
        venue_order = self._orders.get(order.order_id)
        now = self.now()
        if venue_order is None or venue_order.status.is_final:
            state = "unknown to the venue" if venue_order is None else f"already {venue_order.status.value}"
            return [CancelRejected(order.order_id, now, f"cannot cancel: {state}")]
        book = self._books[venue_order.symbol]
        book.resting.remove(venue_order)
        self._at_close.pop(venue_order.seq, None)
        self._close(venue_order, OrderStatus.CANCELLED)
        updates: list[OrderUpdate] = [Cancelled(order.order_id, now)]
        touched = [venue_order]
        if venue_order.exits or venue_order.oco:
            happened: Happened = []
            linked.after_close(
                book, venue_order, self._now_ns, self.config.slippage_bps, happened, cancelled=True
            )
            book.started = False
            updates.extend(self._report(h, now) for h in happened)
            touched.extend(h.order for h in happened)
        self._write(touched, updates)
        return updates

    async def replace_order(self, order: Order, change: ReplaceChange) -> list[OrderUpdate]:
        """Change a working order in place (the venue keeps its id); a replaced order that now crosses the
        market takes at once, like a new arrival."""
        venue_order = self._orders.get(order.order_id)
        now = self.now()
        if venue_order is None or venue_order.status.is_final:
            state = "unknown to the venue" if venue_order is None else f"already {venue_order.status.value}"
            return [ReplaceRejected(order.order_id, now, f"cannot replace: {state}")]
        if change.quantity is not None and change.quantity <= venue_order.filled:
            return [
                ReplaceRejected(order.order_id, now, f"cannot replace: {venue_order.filled} already filled")
            ]
        if change.trail is not None and not venue_order.trailing:
            why = (
                "it is not a trailing stop"
                if venue_order.order_type is not OrderType.TRAILING_STOP
                else "it has triggered"
            )
            return [ReplaceRejected(order.order_id, now, f"cannot change the trail: {why}")]
        book = self._books[venue_order.symbol]
        resting = venue_order in book.resting
        book.resting.remove(venue_order)
        venue_order.change(change.quantity, change.limit_price, change.stop_price)
        if change.trail is not None:
            venue_order.retrail(change.trail)
        venue_order.updated_ns = self._now_ns
        updates: list[OrderUpdate] = [
            Replaced(
                order.order_id,
                now,
                change.quantity,
                change.limit_price,
                change.stop_price,
                trail=change.trail,
            )
        ]
        if venue_order.exits and change.quantity is not None:
            happened: Happened = []
            linked.after_resize(venue_order, self._now_ns, happened)
            updates.extend(self._report(h, now) for h in happened)
        if resting:
            if venue_order.arrived:
                self._meet(book, venue_order, updates, now)
            if venue_order.remaining > 0:
                book.resting.add(venue_order)
        self._write(self._touched(venue_order, updates), updates)
        return updates

    def _touched(self, order: VenueOrder, updates: Sequence[OrderUpdate]) -> list[VenueOrder]:
        """The venue orders the reports are about (an order and those linked to it), once each."""
        found = {order.order_id: order}
        for update in updates:
            found.setdefault(update.order_id, self._orders[update.order_id])
        return list(found.values())

    # --- stepping the clock ------------------------------------------------------------------------------
    async def advance(self, step: timedelta | pd.Timedelta | str | float) -> datetime:
        """Move simulated time forward by ``step`` ("5min", "30s", a timedelta or seconds), filling as it goes."""
        return await self.advance_to(self._now_ns + duration_ns(step))

    async def advance_to(self, when: datetime | str | int) -> datetime:
        """Move simulated time forward to ``when``; deliver what happened to the manager, in time order."""
        target = when if isinstance(when, int) else to_ns(when)
        async with self._stepping:
            if target <= self._now_ns:
                return self.now()
            executions: Happened = []
            closing: list[OrderUpdate] = []
            crosses_close = self._now_ns < self._close_ns <= target
            match_to = self._close_ns - 1 if crosses_close else target
            draw = self._passive_draw
            slippage = self.config.slippage_bps
            books = self._books.values()
            arrivals = sorted(
                {t for b in books if b.resting for t in b.pending_arrivals(self._now_ns, match_to)}
            )
            for moment in [*arrivals, match_to]:
                for book in books:
                    executions.extend(book.advance(moment, slippage, draw))
                    if book.resting.arriving:
                        executions.extend(book.activate(moment, slippage))
            if crosses_close:
                closing = self._close_session(executions)
            self._now_ns = target
            self.clock.now_ns = target
            if not executions and not closing and self._ledger is None:
                return self.now()  # nothing happened and there is no clock to persist
            executions.sort(key=lambda e: e.time_ns)
            updates = [self._report(e) for e in executions]
            updates.extend(closing)
            touched = {e.order.order_id: e.order for e in executions}
            touched.update({u.order_id: self._orders[u.order_id] for u in closing})
            self._write(list(touched.values()), updates)
            if updates and self._sink is not None:
                await self._sink.handle_order_updates(updates)
            return self.now()

    def _passive_draw(self) -> bool:
        p = self.config.passive_fill_probability
        return p >= 1.0 or bool(self._rng.random() < p)

    def _close_session(self, executions: Happened) -> list[OrderUpdate]:
        """At the close: market-on-close orders execute at the last quote, day orders expire."""
        close_time = from_ns(self._close_ns)
        at_close = sorted(self._at_close.values(), key=lambda o: o.seq)
        for order in at_close:
            book = self._books[order.symbol]
            execution = book.take(order, self._close_ns, self.config.slippage_bps)
            if execution is not None:
                execution.time_ns = self._close_ns - 1
                executions.append(execution)
        leftovers = [o for o in at_close if o.remaining > 0]
        self._at_close = {}
        for book in self._books.values():
            for order in book.resting.clear():
                if order.time_in_force is TimeInForce.GTC:
                    book.resting.add(order)
                else:
                    leftovers.append(order)
        updates: list[OrderUpdate] = []
        for order in leftovers:
            self._close(order, OrderStatus.EXPIRED, "day order expired at the close")
            order.updated_ns = self._close_ns
            updates.append(Expired(order.order_id, close_time, order.reason))
        for order in leftovers:
            if order.exits:  # held exits of an entry that expired: cancelled, or working for what it filled
                book = self._books[order.symbol]
                slippage = self.config.slippage_bps
                happened: Happened = []
                linked.after_close(
                    book, order, self._close_ns, slippage, happened, cancelled=False, session_over=True
                )
                updates.extend(self._report(h, close_time) for h in happened)
        return updates

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            try:
                await self.advance_to(self.clock.target_ns(self._now_ns))
            except Exception:
                log.exception("paper venue clock step failed; retrying on the next tick")

    # --- fills and bookkeeping ---------------------------------------------------------------------------
    def _report(self, happened: Execution | Link, now: datetime | None = None) -> OrderUpdate:
        """The report for what the book did: a fill, or what an order linked to another went through."""
        if type(happened) is Execution:
            return self._book_execution(happened, now)
        assert isinstance(happened, Link)
        order = happened.order
        when = now if now is not None else from_ns(happened.time_ns)
        if happened.quantity is not None:
            return Replaced(order.order_id, when, happened.quantity)
        if happened.status is OrderStatus.EXPIRED:
            return Expired(order.order_id, when, happened.reason)
        return Cancelled(order.order_id, when, happened.reason)

    def _book_execution(self, execution: Execution, now: datetime | None = None) -> Filled:
        """Turn what the book executed into a Fill with its fee, and the report that carries it.

        ``now`` is the venue's time when the caller has it at hand and the execution happened now.
        """
        order = execution.order
        rate = self._maker_rate if execution.liquidity is _MAKER else self._taker_rate
        fee = execution.price * execution.quantity * rate if rate else _NO_FEE
        per_share = self.config.fee_per_share
        if per_share:
            fee += per_share * execution.quantity
        if fee:
            fee = fee.quantize(FEE_PLACES)
            order.fees += fee
        order.fill_count += 1
        if now is None:
            now = self.now() if execution.time_ns == self._now_ns else from_ns(execution.time_ns)
        fill = Fill(  # positional: this runs for every fill
            f"{order.order_id}.{order.fill_count}",
            order.order_id,
            order.symbol,
            order.side,
            execution.quantity,
            execution.price,
            now,
            fee,
            execution.liquidity,
            self.name,
        )
        self._fills.append(fill)
        if order.status not in CLOSED:  # booked after the close expired the rest, it stays expired
            order.status = _FILLED if order.remaining <= 0 else _PARTIALLY_FILLED
        return Filled(order.order_id, fill)

    def view(self, order: VenueOrder) -> Order:
        """The venue's view of an order, as lookups and reconciliation report it."""
        created, updated = from_ns(order.created_ns), from_ns(order.updated_ns)
        return Order(
            order_id=order.order_id,
            symbol=order.symbol,
            side=order.side,
            quantity=order.quantity,
            order_type=order.order_type,
            time_in_force=order.time_in_force,
            status=order.status,
            created_at=created,
            updated_at=updated,
            limit_price=order.limit_price,
            stop_price=_trailing_stop(order)
            if order.order_type is OrderType.TRAILING_STOP
            else order.stop_price,
            filled_quantity=order.filled,
            avg_fill_price=order.notional / order.filled if order.filled else None,
            fees=order.fees,
            broker_order_id=order.broker_order_id,
            reason=order.reason,
            venue=self.name,
            trail_price=order.trail_price,
            trail_percent=order.trail_percent,
            order_class=order.order_class,
            linked_to=order.linked_to,
            notional=order.ordered_notional,
        )

    def order_views(self) -> list[Order]:
        """Every order the venue received, as it sees each now (for fakes built on the venue)."""
        return [self.view(o) for o in self._orders.values()]

    async def lookup_order(self, order_id: str) -> Order | None:
        order = self._orders.get(order_id)
        return None if order is None else self.view(order)

    async def open_orders(self) -> list[Order]:
        return [self.view(o) for o in self._orders.values() if o.status.is_open]

    async def fills_since(self, since: datetime | None) -> list[Fill]:
        return [f for f in self._fills if since is None or f.time >= since]

    async def positions(self) -> list[Position]:
        """The account's positions, from the venue's own fills (computed on request, off the order path)."""
        positions: dict[str, PositionState] = {}
        for fill in self._fills:
            position = positions.setdefault(fill.symbol, PositionState(fill.symbol))
            position.apply(fill.side, fill.quantity, fill.price, fill.fee)
        return [p.snapshot() for p in positions.values()]

    async def account(self) -> Account:
        """The paper account from the venue's own fills, marked at the mid of the last quotes.

        Cash is the starting cash less what buys cost and plus what sells brought, net of fees; equity adds
        the positions' market value. Margin used is Reg T's 50% of the gross market value, buying power
        twice the equity left above it, and the day's P&L the equity's change since the session began
        (the venue trades one session).
        """
        cash = self.config.starting_cash
        for fill in self._fills:
            notional = fill.price * fill.quantity
            cash += (-notional if fill.side is Side.BUY else notional) - fill.fee
        value = gross = Decimal(0)
        for position in await self.positions():
            quote = self.last_quote(position.symbol)
            if position.quantity and quote is not None:
                worth = position.quantity * quote.mid
                value += worth
                gross += abs(worth)
        equity = cash + value
        margin = gross * REG_T_INITIAL
        return Account(
            broker=self.name,
            currency="USD",
            cash=cash.quantize(CENT),
            equity=equity.quantize(CENT),
            buying_power=max(Decimal(0), (equity - margin) * 2).quantize(CENT),
            margin_used=margin.quantize(CENT),
            day_pnl=(equity - self.config.starting_cash).quantize(CENT),
            time=self.now(),
        )

    def submit_counts(self) -> dict[str, int]:
        """How often each client order id reached this venue (needs a ledger)."""
        if self._ledger is None:
            raise ConfigError("submit_counts needs PaperBroker(ledger=...): only a ledger records attempts")
        return self._ledger.submit_counts()

    # --- the ledger --------------------------------------------------------------------------------------
    def _note_attempt(self, order_id: str) -> None:
        """Record that a submit reached the venue, before acting on it: one it cannot record is not taken."""
        ledger = self._ledger
        if ledger is None:
            return
        try:  # also writes what an earlier failure left queued
            ledger.record(self._now_ns, [], [], order_id)
        except JournalError as error:
            raise BrokerUnavailable(f"{self.name}: {error}; the order was not taken") from None
        self._ledger_fault = None

    def _write(self, orders: list[VenueOrder], updates: Sequence[OrderUpdate]) -> None:
        ledger = self._ledger
        if ledger is None:
            return
        fills = [u.fill for u in updates if isinstance(u, Filled)]
        try:
            ledger.record(self._now_ns, [(o.order_id, self._row(o)) for o in orders], fills)
        except JournalError as error:
            if self._ledger_fault is None:
                log.error(
                    "%s; the venue keeps what it did and refuses new orders until a write succeeds", error
                )
            self._ledger_fault = str(error)
        else:
            self._ledger_fault = None

    def _row(self, order: VenueOrder) -> dict[str, Any]:
        return {
            "order": fields.encode(self.view(order)),
            "seq": order.seq,
            "active_ns": order.active_ns,
            "triggered": order.triggered,
            "arrived": order.arrived,
            "notional": order.notional,
            "fill_count": order.fill_count,
            "held": order.held,
            "exits": [o.order_id for o in order.exits or ()],
            "oco": [o.order_id for o in order.oco or ()],
        }

    def _restore(self, ledger: Ledger) -> None:
        now = ledger.now_ns()
        if now is not None:
            self._now_ns = max(self._now_ns, now)
            self.clock.now_ns = self._now_ns
        links: list[tuple[VenueOrder, list[str], list[str]]] = []
        for row in sorted(ledger.orders(), key=lambda r: r["seq"]):
            view = fields.decode(Order, row["order"])
            order = VenueOrder(
                view.order_id,
                view.broker_order_id or "",
                view.symbol,
                Side(view.side),
                view.quantity,
                OrderType(view.order_type),
                TimeInForce(view.time_in_force),
                view.limit_price,
                view.stop_price,
                to_ns(view.created_at),
                row["active_ns"],
                status=view.status,
                filled=view.filled_quantity,
                notional=Decimal(row["notional"]),
                updated_ns=to_ns(view.updated_at),
                reason=view.reason,
                seq=row["seq"],
                fill_count=row["fill_count"],
                fees=view.fees,
                trail_price=view.trail_price,
                trail_percent=view.trail_percent,
                order_class=view.order_class,
                linked_to=view.linked_to,
                held=row.get("held", False),
                ordered_notional=view.notional,
            )
            order.triggered, order.arrived = row["triggered"], row["arrived"]
            self._orders[order.order_id] = order
            self._order_seq = max(self._order_seq, order.seq)
            links.append((order, row.get("exits", []), row.get("oco", [])))
            book = self._book(order.symbol)
            if order.status.is_open and not order.held and book is not None:
                if order.time_in_force is TimeInForce.CLS:
                    self._at_close[order.seq] = order
                else:
                    book.resting.add(order)
        for order, exits, group in links:  # legs come after their entry: tie them once all are read
            if exits:
                order.exits = [self._orders[i] for i in exits]
            if group:
                order.oco = [self._orders[i] for i in group]
        self._fills.extend(ledger.fills())
