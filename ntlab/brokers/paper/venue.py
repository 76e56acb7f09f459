"""PaperBroker: the built-in simulated venue, and the default broker.

It fills orders against a market's quotes and trades (the seeded sample market unless given another) with
the assumptions in :mod:`ntlab.brokers.paper.book` and :class:`PaperConfig`. Time is simulated: ``advance``
steps it, or a real-time clock replays the market at a chosen speed. Everything that happens later than
``submit_order`` (resting orders filling, day orders expiring) is delivered to the manager through the sink.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from ntlab.brokers.paper.book import BPS, Execution, SymbolBook, VenueOrder
from ntlab.brokers.paper.clock import RealTimeClock, SimClock
from ntlab.brokers.paper.config import PaperConfig
from ntlab.brokers.paper.ledger import Ledger, order_from_row, order_row
from ntlab.brokers.paper.reports import cancel_refused, snapshot, update
from ntlab.core.account import Account
from ntlab.core.broker import BrokerOrder, UpdateSink
from ntlab.core.enums import Liquidity, OrderStatus, Side, TimeInForce
from ntlab.core.models import Fill, OrderTicket, OrderUpdate, Position, Quote, trusted
from ntlab.core.positions import PositionState
from ntlab.market.frames import Market
from ntlab.times import duration_ns, from_ns, to_ns

log = logging.getLogger(__name__)

FEE_PLACES = Decimal("0.000001")
CENT = Decimal("0.01")
REG_T_INITIAL = Decimal("0.5")  # initial margin on the gross market value of positions, as Reg T asks
_NO_FEE = Decimal(0)
TICK_SECONDS = 0.05


class PaperBroker:
    """A simulated venue on a market. ``clock="sim"`` (stepped by code) or ``"realtime"`` (``speed``x)."""

    local = True
    copies_orders = True  # reads the order only during submit/cancel: the manager may pass its own record

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
        self._at_close: list[VenueOrder] = []
        self._fills: list[Fill] = []
        self._rng = np.random.default_rng(self.config.seed)
        self._order_seq = 0
        self._fill_seq = 0
        self._sink: UpdateSink | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._stepping = asyncio.Lock()
        self._ledger = Ledger(ledger) if ledger is not None else None
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
        quote = trusted(
            Quote,
            {
                "symbol": symbol,
                "time": from_ns(int(book.quotes.time_ns[qi])),
                "bid": book.price(int(book.bid[qi])),
                "ask": book.price(int(book.ask[qi])),
                "bid_size": Decimal(repr(round(float(book.bid_size[qi]), 8))),
                "ask_size": Decimal(repr(round(float(book.ask_size[qi]), 8))),
            },
        )
        book.quote_cache = (qi, quote)
        return quote

    # --- protocol: orders --------------------------------------------------------------------------------
    async def submit_order(self, order: OrderTicket) -> list[OrderUpdate]:
        now_ns = self._now_ns
        now = self.now()
        if order.order_id in self._orders:
            self._write(attempt=order.order_id)
            return [
                update(
                    order.order_id,
                    OrderStatus.REJECTED,
                    now,
                    reason=f"duplicate client order id {order.order_id!r}: the venue already has it",
                )
            ]
        book = self._books.get(order.symbol) or self._book(order.symbol)
        reject = None
        if book is None:
            reject = f"{self.name} has no market data for {order.symbol}; it trades {', '.join(self.market.symbols)}"
        elif now_ns >= self._close_ns:
            reject = f"market closed at {self.session_close:%H:%M} UTC; the session is over"
        elif order.time_in_force is TimeInForce.OPG and now_ns > self._open_ns:
            reject = "opg orders must arrive before the opening auction"
        if reject is not None:
            self._write(attempt=order.order_id)
            return [update(order.order_id, OrderStatus.REJECTED, now, reason=reject)]
        assert book is not None
        self._order_seq += 1
        venue_order = VenueOrder(  # positional: this runs for every order
            order.order_id,
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
        )
        self._orders[order.order_id] = venue_order
        updates = [
            update(order.order_id, OrderStatus.ACCEPTED, now, broker_order_id=venue_order.broker_order_id)
        ]
        tif = venue_order.time_in_force
        if tif is TimeInForce.CLS:
            self._at_close.append(venue_order)
        elif self._latency_ns > 0:
            venue_order.arrived = False
            book.resting.append(venue_order)
        else:
            if (book.qi < 0 or not book.resting) and book.seen_ns != now_ns:
                book.seek(now_ns)
            if not venue_order.triggered:
                self._check_trigger(book, venue_order)
            if venue_order.triggered:
                all_or_none = tif is TimeInForce.FOK
                execution = book.take(venue_order, now_ns, self.config.slippage_bps, all_or_none)
                if execution is not None:
                    updates.append(self._book_execution(execution, now))
            if venue_order.remaining > 0:
                if tif in (TimeInForce.IOC, TimeInForce.FOK):
                    why = (
                        "fok: not enough size at the touch"
                        if tif is TimeInForce.FOK
                        else "ioc: unfilled rest cancelled"
                    )
                    venue_order.status = OrderStatus.CANCELLED
                    venue_order.reason = why
                elif tif is TimeInForce.OPG:
                    venue_order.status = OrderStatus.CANCELLED
                    venue_order.reason = "opg: not filled in the opening auction"
                else:
                    book.resting.append(venue_order)
        if venue_order.status is OrderStatus.CANCELLED:
            updates.append(update(order.order_id, OrderStatus.CANCELLED, now, reason=venue_order.reason))
        if self._ledger is not None:
            self._write(orders=[venue_order], updates=updates, attempt=order.order_id)
        return updates

    def _check_trigger(self, book: SymbolBook, order: VenueOrder) -> None:
        if book.qi < 0:
            return
        if order.is_buy:
            order.triggered = book.ask[book.qi] * book.tick_f >= order.stop_f - 1e-12
        else:
            order.triggered = book.bid[book.qi] * book.tick_f <= order.stop_f + 1e-12

    async def cancel_order(self, order: OrderTicket) -> list[OrderUpdate]:
        venue_order = self._orders.get(order.order_id)
        now = self.now()
        if venue_order is None or venue_order.status.is_final:
            state = "unknown to the venue" if venue_order is None else f"already {venue_order.status.value}"
            return [cancel_refused(order.order_id, now, f"cannot cancel: {state}")]
        book = self._books[venue_order.symbol]
        if venue_order in book.resting:
            book.resting.remove(venue_order)
        if venue_order in self._at_close:
            self._at_close.remove(venue_order)
        venue_order.status = OrderStatus.CANCELLED
        venue_order.updated_ns = self._now_ns
        self._write(orders=[venue_order])
        return [update(order.order_id, OrderStatus.CANCELLED, now)]

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
            executions: list[Execution] = []
            closing: list[OrderUpdate] = []
            crosses_close = self._now_ns < self._close_ns <= target
            match_to = self._close_ns - 1 if crosses_close else target
            draw = self._passive_draw
            slippage = self.config.slippage_bps
            arrivals = sorted(
                {t for b in self._books.values() for t in b.pending_arrivals(self._now_ns, match_to)}
            )
            for moment in [*arrivals, match_to]:
                for book in self._books.values():
                    executions.extend(book.advance(moment, slippage, draw))
                    executions.extend(book.activate(moment, slippage))
            if crosses_close:
                closing = self._close_session(executions)
            self._now_ns = target
            self.clock.now_ns = target
            executions.sort(key=lambda e: e.time_ns)
            updates = self._book_executions(executions)
            for execution in executions:
                if execution.order.remaining <= 0:
                    execution.order.status = OrderStatus.FILLED
            updates.extend(closing)
            touched = {e.order.order_id: e.order for e in executions}
            touched.update({u.order_id: self._orders[u.order_id] for u in closing})
            self._write(orders=list(touched.values()), updates=updates)
            if updates and self._sink is not None:
                await self._sink.handle_order_updates(updates)
            return self.now()

    def _passive_draw(self) -> bool:
        p = self.config.passive_fill_probability
        return p >= 1.0 or bool(self._rng.random() < p)

    def _close_session(self, executions: list[Execution]) -> list[OrderUpdate]:
        """At the close: market-on-close orders execute at the last quote, day orders expire."""
        close_time = from_ns(self._close_ns)
        for order in self._at_close:
            book = self._books[order.symbol]
            execution = book.take(order, self._close_ns, self.config.slippage_bps)
            if execution is not None:
                execution.time_ns = self._close_ns - 1
                executions.append(execution)
        leftovers = [o for o in self._at_close if o.remaining > 0]
        self._at_close = []
        updates = []
        for book in self._books.values():
            keep = []
            for order in book.resting:
                if order.time_in_force is TimeInForce.GTC:
                    keep.append(order)
                else:
                    leftovers.append(order)
            book.resting = keep
        for order in leftovers:
            order.status = OrderStatus.EXPIRED
            order.updated_ns = self._close_ns
            order.reason = "day order expired at the close"
            updates.append(update(order.order_id, OrderStatus.EXPIRED, close_time, reason=order.reason))
        return updates

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            try:
                await self.advance_to(self.clock.target_ns(self._now_ns))
            except Exception:
                log.exception("paper venue clock step failed; retrying on the next tick")

    # --- fills and bookkeeping ---------------------------------------------------------------------------
    def _book_executions(self, executions: list[Execution]) -> list[OrderUpdate]:
        return [self._book_execution(execution) for execution in executions]

    def _book_execution(self, execution: Execution, now: datetime | None = None) -> OrderUpdate:
        """Turn what the book executed into a Fill with its fee, and the update that reports it.

        ``now`` is the venue's time when the caller has it at hand and the execution happened now.
        """
        order = execution.order
        rate = self._maker_rate if execution.liquidity is Liquidity.MAKER else self._taker_rate
        fee = execution.price * execution.quantity * rate if rate else _NO_FEE
        per_share = self.config.fee_per_share
        if per_share:
            fee += per_share * execution.quantity
        self._fill_seq += 1
        if now is None:
            now = self.now() if execution.time_ns == self._now_ns else from_ns(execution.time_ns)
        fill = trusted(
            Fill,
            {
                "fill_id": f"{self.name}-f{self._fill_seq}",
                "order_id": order.order_id,
                "symbol": order.symbol,
                "side": order.side,
                "quantity": execution.quantity,
                "price": execution.price,
                "time": now,
                "fee": fee.quantize(FEE_PLACES),
                "liquidity": execution.liquidity,
                "venue": self.name,
            },
        )
        self._fills.append(fill)
        order.status = OrderStatus.FILLED if order.remaining <= 0 else OrderStatus.PARTIALLY_FILLED
        return update(order.order_id, None, now, fill=fill)

    async def lookup_order(self, order_id: str) -> BrokerOrder | None:
        order = self._orders.get(order_id)
        return None if order is None else snapshot(order, self.name)

    async def open_orders(self) -> list[BrokerOrder]:
        return [snapshot(o, self.name) for o in self._orders.values() if o.status.is_open]

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
            raise RuntimeError("submit_counts needs PaperBroker(ledger=...)")
        return self._ledger.submit_counts()

    # --- the ledger --------------------------------------------------------------------------------------
    def _write(
        self,
        orders: list[VenueOrder] | None = None,
        updates: list[OrderUpdate] | None = None,
        attempt: str | None = None,
    ) -> None:
        if self._ledger is None:
            return
        fills = [u.fill for u in updates or [] if u.fill is not None]
        self._ledger.record(
            self._now_ns,
            [order_row(o) for o in orders or []],
            [f.model_dump(mode="json") for f in fills],
            attempt,
        )

    def _restore(self, ledger: Ledger) -> None:
        now = ledger.now_ns()
        if now is not None:
            self._now_ns = max(self._now_ns, now)
            self.clock.now_ns = self._now_ns
        for row in ledger.orders():
            order = order_from_row(row)
            self._orders[order.order_id] = order
            self._order_seq += 1
            book = self._book(order.symbol)
            if order.status.is_open and book is not None:
                if order.time_in_force is TimeInForce.CLS:
                    self._at_close.append(order)
                else:
                    book.resting.append(order)
        for row in ledger.fills():
            fill = Fill.model_validate(row)
            self._fills.append(fill)
            self._fill_seq += 1
