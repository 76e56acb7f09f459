"""Exposure for pre-trade risk: positions, working orders, marks and the day's P&L, kept incrementally.

The tracker is fed by explicit calls (an order became working, a fill, an order finished, a quote mark), so
the OrderManager, journal replay and tests drive it the same way. Each call updates the per-symbol
quantities by the change it makes, so checking an order reads a handful of numbers and sums nothing over
orders or symbols. What those quantities are worth (exposures and unrealized P&L, per symbol and in total)
is worked out when something reads it, for the symbols that changed since: an order feeds the tracker three
times and a quote marks it once, while only the exposure and loss rules, and the usage table, read values.

Worst case: every open buy may fill, and every open sell may fill. A symbol's worst-case position is
``max(|position + open buys|, |position - open sells|)``; exposures value quantities at the symbol's mark
(the mid of the latest quote, else the latest price known for it). The day's P&L is an average-cost book
that starts each UTC day at the mark: realized plus marked unrealized, after fees.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from ntlab.core.enums import Side
from ntlab.core.positions import PositionState
from ntlab.core.records import Quote

ZERO = Decimal(0)
_BUY = Side.BUY  # read per order (see ntlab.core.enums)


@dataclass(slots=True)
class WorkingOrder:
    symbol: str
    buy: bool
    remaining: Decimal
    rests_at: Decimal | None  # a resting limit order's price (self-trade prevention), else None


@dataclass(slots=True)
class SymbolExposure:
    """One symbol's figures. ``bids``/``asks`` are your own resting limit orders as (price, order_id), sorted."""

    symbol: str
    day: PositionState  # the day's average-cost book: position, realized P&L and fees since the day began
    open_buy: Decimal = ZERO
    open_sell: Decimal = ZERO
    open_orders: int = 0
    mark: Decimal | None = None
    quote: Quote | None = None  # the quote last marked from: marking from the same one again costs nothing
    loss_halt: str | None = None  # why this symbol's own daily loss limit halted it
    bids: list[tuple[Decimal, str]] = field(default_factory=list)
    asks: list[tuple[Decimal, str]] = field(default_factory=list)
    tracker: ExposureTracker | None = None  # values this symbol when it is read (see _value)
    stale: bool = False  # its quantities or mark moved since it was last valued
    valued_long: Decimal = ZERO  # as last valued: (position + open buys) x mark
    valued_short: Decimal = ZERO  # (position - open sells) x mark
    valued_gross: Decimal = ZERO  # max(|long|, |short|)
    valued_unrealized: Decimal = ZERO

    def _fresh(self) -> None:
        if self.stale and self.tracker is not None:
            self.tracker.value()

    @property
    def long_value(self) -> Decimal:
        self._fresh()
        return self.valued_long

    @property
    def short_value(self) -> Decimal:
        self._fresh()
        return self.valued_short

    @property
    def gross(self) -> Decimal:
        self._fresh()
        return self.valued_gross

    @property
    def unrealized(self) -> Decimal:
        self._fresh()
        return self.valued_unrealized

    @property
    def position(self) -> Decimal:
        return self.day.quantity

    @property
    def worst(self) -> Decimal:
        """Worst-case |position| in units with every working order filled."""
        position = self.day.quantity
        return max(abs(position + self.open_buy), abs(position - self.open_sell))

    @property
    def pnl(self) -> Decimal:
        """The day's realized + marked unrealized P&L, after fees."""
        day = self.day
        return day.realized_pnl - day.fees + self.unrealized

    @property
    def valued(self) -> bool:
        """False when the symbol holds or works something but no price is known to value it."""
        return self.mark is not None or not (self.day.quantity or self.open_buy or self.open_sell)


class ExposureTracker:
    """Per-symbol positions, open quantities, resting orders and marks, with account totals kept current."""

    def __init__(self) -> None:
        self.symbols: dict[str, SymbolExposure] = {}
        self.orders: dict[str, WorkingOrder] = {}
        self._long = ZERO  # sum of (position + open buys) x mark: net exposure if every buy fills
        self._short = ZERO  # sum of (position - open sells) x mark: net exposure if every sell fills
        self._gross = ZERO
        self._unrealized_total = ZERO
        self._stale: list[SymbolExposure] = []  # symbols to value before a total is read
        self.realized = ZERO  # the day's realized P&L after fees, all symbols
        self.open_orders = 0
        self.held: set[str] = set()  # symbols with a position
        self.day: date | None = None
        self._next_day: datetime | None = None  # when the next UTC day starts: a time at or after it rolls
        self.loss_halt: str | None = None  # why the account's daily loss limit halted risk-increasing orders

    # --- reading --------------------------------------------------------------------------------------------
    @property
    def long_value(self) -> Decimal:
        if self._stale:
            self.value()
        return self._long

    @property
    def short_value(self) -> Decimal:
        if self._stale:
            self.value()
        return self._short

    @property
    def gross(self) -> Decimal:
        if self._stale:
            self.value()
        return self._gross

    @property
    def unrealized(self) -> Decimal:
        if self._stale:
            self.value()
        return self._unrealized_total

    @property
    def net(self) -> Decimal:
        """Worst-case |net exposure|: with every open buy filled, or with every open sell filled."""
        return max(abs(self.long_value), abs(self.short_value))

    @property
    def pnl(self) -> Decimal:
        """The day's realized + marked unrealized P&L over all symbols, after fees."""
        return self.realized + self.unrealized

    @property
    def valued(self) -> bool:
        """False when some symbol's exposure has no price to be valued at (the totals leave it out)."""
        return all(s.valued for s in self.symbols.values())

    def symbol(self, symbol: str) -> SymbolExposure:
        found = self.symbols.get(symbol)
        if found is None:
            found = self.symbols[symbol] = SymbolExposure(symbol, PositionState(symbol), tracker=self)
        return found

    def position(self, symbol: str) -> Decimal:
        found = self.symbols.get(symbol)
        return found.day.quantity if found is not None else ZERO

    def crossing(self, symbol: str, buy: bool, price: Decimal | None) -> list[str]:
        """Your resting orders on the other side that an order at ``price`` (None: any price) would cross."""
        found = self.symbols.get(symbol)
        if found is None:
            return []
        if buy:
            return [oid for p, oid in found.asks if price is None or p <= price]
        return [oid for p, oid in reversed(found.bids) if price is None or p >= price]

    # --- feeding --------------------------------------------------------------------------------------------
    def working(
        self,
        order_id: str,
        symbol: str,
        side: Side,
        quantity: Decimal,
        rests_at: Decimal | None = None,
        price: Decimal | None = None,
    ) -> None:
        """An order became working for ``quantity`` (its remaining quantity); ``rests_at`` is a resting
        limit's price, ``price`` values the order when the symbol has no mark yet. Repeats are ignored."""
        if order_id in self.orders or quantity <= 0:
            return
        s = self.symbols.get(symbol) or self.symbol(symbol)
        buy = side is _BUY
        self.orders[order_id] = WorkingOrder(symbol, buy, quantity, rests_at)
        if buy:
            s.open_buy += quantity
        else:
            s.open_sell += quantity
        s.open_orders += 1
        self.open_orders += 1
        if rests_at is not None:
            insort(s.bids if buy else s.asks, (rests_at, order_id))
        if s.mark is None and price is not None:
            s.mark = price
        self._touch(s)

    def filled(
        self,
        order_id: str,
        symbol: str,
        side: Side,
        quantity: Decimal,
        price: Decimal,
        fee: Decimal = ZERO,
        when: datetime | None = None,
    ) -> None:
        """An execution: the order's open quantity becomes position (a late fill on a finished order, or a
        fill of an order never seen, moves the position only)."""
        if when is not None and (self._next_day is None or when >= self._next_day):
            self._roll(when.date())
        s = self.symbols.get(symbol) or self.symbol(symbol)
        order = self.orders.get(order_id)
        if order is not None:
            taken = quantity if quantity < order.remaining else order.remaining
            order.remaining -= taken
            if order.buy:
                s.open_buy -= taken
            else:
                s.open_sell -= taken
            if order.remaining <= 0:
                self._drop(order_id, order, s)
        day = s.day
        before = day.realized_pnl - day.fees
        day.apply(side, quantity, price, fee)
        self.realized += day.realized_pnl - day.fees - before
        if day.quantity:
            self.held.add(symbol)
        else:
            self.held.discard(symbol)
        if s.mark is None:
            s.mark = price
        self._touch(s)

    def finished(self, order_id: str) -> None:
        """The order is done (filled, cancelled, rejected, expired): whatever was open of it is no more."""
        order = self.orders.get(order_id)
        if order is None:
            return
        s = self.symbols[order.symbol]
        if order.buy:
            s.open_buy -= order.remaining
        else:
            s.open_sell -= order.remaining
        self._drop(order_id, order, s)
        self._touch(s)

    def mark_quote(self, quote: Quote) -> SymbolExposure:
        """Mark the quote's symbol at its mid (the same quote object again is free)."""
        s = self.symbols.get(quote.symbol)
        if s is None:
            s = self.symbol(quote.symbol)
        elif s.quote is quote:
            return s
        s.quote = quote
        bid, ask = quote.bid, quote.ask
        changed = False
        if bid > 0 and ask >= bid:
            mid = (bid + ask) / 2
            if mid != s.mark:
                s.mark = mid
                changed = True
        when = quote.time
        if self._next_day is None or when >= self._next_day:
            self._roll(when.date())  # a new day starts at this mark
        if changed:
            self._touch(s)
        return s

    def mark(self, symbol: str, price: Decimal) -> None:
        """Mark a symbol at a price (a trade, a close)."""
        s = self.symbol(symbol)
        if price > 0 and price != s.mark:
            s.mark = price
            self._touch(s)

    def new_day(self, day: date | None = None) -> None:
        """Start the day's P&L afresh: positions are carried at their marks, realized P&L and fees restart,
        and daily-loss halts are lifted."""
        self.day = day
        self._next_day = (
            None if day is None else datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
        )
        self.loss_halt = None
        self.realized = ZERO
        for s in self.symbols.values():
            book = s.day
            book.realized_pnl = ZERO
            book.fees = ZERO
            s.loss_halt = None
            if book.quantity and s.mark is not None:
                book.avg_cost = s.mark
            self._touch(s)

    # --- internals ------------------------------------------------------------------------------------------
    def _roll(self, day: date) -> None:
        if self.day is None:
            self.day = day
            self._next_day = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
        elif day > self.day:
            self.new_day(day)

    def _drop(self, order_id: str, order: WorkingOrder, s: SymbolExposure) -> None:
        del self.orders[order_id]
        s.open_orders -= 1
        self.open_orders -= 1
        if order.rests_at is not None:
            book = s.bids if order.buy else s.asks
            entry = (order.rests_at, order_id)
            at = bisect_left(book, entry)
            if at < len(book) and book[at] == entry:
                del book[at]

    def _touch(self, s: SymbolExposure) -> None:
        """The symbol's quantities, cost or mark moved: value it again before its values are next read."""
        if not s.stale:
            s.stale = True
            self._stale.append(s)

    def value(self) -> None:
        """Value every symbol that moved since it was last valued, and the totals with them."""
        stale, self._stale = self._stale, []
        for s in stale:
            s.stale = False
            mark = s.mark
            if mark is None:
                continue  # nothing to value it at: it keeps what it was last worth (nothing, until marked)
            day = s.day
            position, cost = day.quantity, day.avg_cost
            long_value = (position + s.open_buy) * mark
            short_value = (position - s.open_sell) * mark
            high, low = abs(long_value), abs(short_value)
            gross = high if high > low else low
            unrealized = (mark - cost) * position if cost is not None else ZERO
            self._long += long_value - s.valued_long
            self._short += short_value - s.valued_short
            self._gross += gross - s.valued_gross
            self._unrealized_total += unrealized - s.valued_unrealized
            s.valued_long, s.valued_short, s.valued_gross = long_value, short_value, gross
            s.valued_unrealized = unrealized
