"""Matching for one symbol on the paper venue: orders against the market's quotes and trades.

Assumptions (see the README's "Paper venue" section):
- Market orders and marketable limits take the touch (buy at the ask, sell at the bid) up to its displayed
  size; size taken at a quote stays taken until the quote changes. What is left takes later quotes.
- A resting buy limit fills as maker at its limit when the ask falls to it (up to the ask size), or, with
  the configured probability, when a trade prints at or below it (up to the trade's size). Sells mirror.
- A buy stop triggers when the ask (or a trade) reaches the stop; a sell stop when the bid (or a trade)
  does. Then it acts as a market (stop) or limit (stop_limit) order.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

import numpy as np

from ntlab.brokers.paper import linked
from ntlab.brokers.paper.linked import Happened
from ntlab.brokers.paper.resting import EPS, Resting
from ntlab.core.enums import Liquidity, OrderClass, OrderStatus, OrderType, Side, TimeInForce
from ntlab.market.frames import QuoteArrays, TradeArrays

_SHORT = 16  # stretches of quotes or trades up to this long are scanned in Python, not numpy

BPS = Decimal(10_000)
CLOSED = frozenset({OrderStatus.CANCELLED, OrderStatus.EXPIRED})
_ZERO = Decimal(0)
# members read per order, bound to module names (see ntlab.core.enums)
_BUY, _FOK, _IOC = Side.BUY, TimeInForce.FOK, TimeInForce.IOC
_TRAILING_STOP, _AS_MARKET = (
    OrderType.TRAILING_STOP,
    frozenset({OrderType.MARKET, OrderType.STOP, OrderType.TRAILING_STOP}),
)
_MAKER, _TAKER = Liquidity.MAKER, Liquidity.TAKER


@dataclass(slots=True)
class VenueOrder:
    """The venue's own record of an order."""

    order_id: str
    broker_order_id: str
    symbol: str
    side: Side
    quantity: Decimal
    order_type: OrderType
    time_in_force: TimeInForce
    limit_price: Decimal | None
    stop_price: Decimal | None
    created_ns: int
    active_ns: int
    status: OrderStatus = OrderStatus.ACCEPTED
    filled: Decimal = Decimal(0)
    notional: Decimal = Decimal(0)
    triggered: bool = False
    arrived: bool = True  # False until a delayed (latency) order first meets the market
    updated_ns: int = 0
    reason: str | None = None
    seq: int = 0  # time priority on the venue
    fill_count: int = 0
    fees: Decimal = Decimal(0)
    trail_price: Decimal | None = None
    trail_percent: Decimal | None = None
    order_class: OrderClass = OrderClass.SIMPLE
    linked_to: str | None = None  # a leg's entry (or an oco stop-loss's take-profit)
    exits: list[VenueOrder] | None = None  # an entry's held legs, working once it has filled
    oco: list[VenueOrder] | None = None  # the others of its one-cancels-other group
    held: bool = False  # a leg waiting for its entry to fill
    ordered_notional: Decimal | None = None  # a notional order's amount (``quantity`` is what it bought)
    limit_f: float = field(default=math.nan)
    stop_f: float = field(default=math.nan)
    is_buy: bool = field(init=False)
    acts_as_market: bool = field(init=False)

    def __post_init__(self) -> None:
        if self.limit_price is not None:
            self.limit_f = float(self.limit_price)
        if self.stop_price is not None:
            self.stop_f = float(self.stop_price)
        self.triggered = self.stop_price is None and self.order_type is not _TRAILING_STOP
        self.is_buy = self.side is _BUY
        self.acts_as_market = self.order_type in _AS_MARKET

    @property
    def all_or_none(self) -> bool:
        return self.time_in_force is _FOK

    @property
    def trailing(self) -> bool:
        return self.order_type is _TRAILING_STOP and not self.triggered

    def follow(self, bid: float, ask: float) -> None:
        """A trailing stop moves its stop with the market: a sell's trails the highest bid since it arrived,
        a buy's the lowest ask, by ``trail_price`` or ``trail_percent``; it never moves back."""
        touch = ask if self.is_buy else bid
        if self.trail_price is not None:
            stop = touch + float(self.trail_price) if self.is_buy else touch - float(self.trail_price)
        else:
            assert self.trail_percent is not None
            away = float(self.trail_percent) / 100
            stop = touch * (1 + away) if self.is_buy else touch * (1 - away)
        if math.isnan(self.stop_f) or (stop < self.stop_f if self.is_buy else stop > self.stop_f):
            self.stop_f = stop

    @property
    def remaining(self) -> Decimal:
        return self.quantity - self.filled if self.filled else self.quantity

    def retrail(self, trail: Decimal) -> None:
        """A new trail (a price or a percentage, as the order trails): the stop moves to the new distance from
        the best price seen since the order arrived, the mark its current stop was set from."""
        sells = not self.is_buy
        if self.trail_percent is not None:
            old, new = float(self.trail_percent) / 100, float(trail) / 100
            if not math.isnan(self.stop_f):
                mark = self.stop_f / (1 - old) if sells else self.stop_f / (1 + old)
                self.stop_f = mark * (1 - new) if sells else mark * (1 + new)
            self.trail_percent = trail
        else:
            assert self.trail_price is not None
            old, new = float(self.trail_price), float(trail)
            if not math.isnan(self.stop_f):
                mark = self.stop_f + old if sells else self.stop_f - old
                self.stop_f = mark - new if sells else mark + new
            self.trail_price = trail

    def change(self, quantity: Decimal | None, limit: Decimal | None, stop: Decimal | None) -> None:
        """A replace: new quantity and prices (None keeps the old), with the float copies the book reads."""
        if quantity is not None:
            self.quantity = quantity
        if limit is not None:
            self.limit_price, self.limit_f = limit, float(limit)
        if stop is not None:
            self.stop_price, self.stop_f = stop, float(stop)


@dataclass(slots=True)
class Execution:
    """A fill the book made (already booked on the order); the venue turns it into a Fill."""

    order: VenueOrder
    quantity: Decimal
    price: Decimal
    liquidity: Liquidity
    time_ns: int


def execute(
    order: VenueOrder, quantity: Decimal, price: Decimal, liquidity: Liquidity, now_ns: int
) -> Execution:
    first = not order.filled  # keep the first fill's objects: most orders fill once
    order.filled = quantity if first else order.filled + quantity
    order.notional = quantity * price if first else order.notional + quantity * price
    order.updated_ns = now_ns
    return Execution(order, quantity, price, liquidity, now_ns)


class SymbolBook:
    """Resting orders of one symbol and where the market is for it."""

    def __init__(
        self,
        quotes: QuoteArrays,
        trades: TradeArrays,
        tick: Decimal,
        lot: Decimal,
        price_offset_bps: Decimal,
        liquidity_factor: float,
    ) -> None:
        self.quotes = quotes
        self.trades = trades
        self.tick = tick
        self.tick_f = float(tick)
        self.lot = lot
        self.lot_f = float(lot)
        factor = 1.0 + float(price_offset_bps) / 10_000
        self.bid = np.round(quotes.bid * factor / self.tick_f).astype(np.int64)  # in ticks
        self.ask = np.round(quotes.ask * factor / self.tick_f).astype(np.int64)
        self.bid_size = quotes.bid_size * liquidity_factor
        self.ask_size = quotes.ask_size * liquidity_factor
        self.lot_is_one = lot == 1
        self.resting = Resting()
        self.qi = -1  # index of the quote in force
        self.seen_ns = -1  # the time qi and ti were last sought for
        self.quote_cache: tuple[int, object] | None = None
        self.ti = 0  # next trade not yet seen
        self.taken_bid = 0.0
        self.taken_ask = 0.0
        # The quote in force as Python numbers: read on every order, cheaper than numpy scalars.
        self.bid_t = self.ask_t = 0
        self.bid_sz = self.ask_sz = 0.0
        self.started = False  # linked orders started working during a walk

    def _at(self, qi: int) -> None:
        """Make quote ``qi`` the one in force; nothing has been taken from it yet."""
        self.qi = qi
        self.taken_bid = self.taken_ask = 0.0
        if qi >= 0:
            self.bid_t = int(self.bid[qi])
            self.ask_t = int(self.ask[qi])
            self.bid_sz = float(self.bid_size[qi])
            self.ask_sz = float(self.ask_size[qi])

    # --- where the market is ---------------------------------------------------------------------------
    def seek(self, now_ns: int) -> None:
        """Move to the quote in force at ``now_ns`` (without matching anything)."""
        if now_ns == self.seen_ns:
            return
        self.seen_ns = now_ns
        qi = int(self.quotes.time_ns.searchsorted(now_ns, "right")) - 1
        if qi != self.qi:
            self._at(qi)
        self.ti = int(self.trades.time_ns.searchsorted(now_ns, "right"))

    def price(self, ticks: int) -> Decimal:
        return ticks * self.tick

    def _units(self, size: float) -> Decimal:
        lots = math.floor(size / self.lot_f + 1e-9)
        if lots <= 0:
            return _ZERO
        return Decimal(lots) if self.lot_is_one else Decimal(lots) * self.lot

    def touches(self, order: VenueOrder) -> bool:
        """Whether a stop order's trigger is reached at the quote in force (a trailing stop's first moves)."""
        if self.qi < 0:
            return False
        if order.trailing:
            order.follow(self.bid_t * self.tick_f, self.ask_t * self.tick_f)
        if order.is_buy:
            return self.ask_t * self.tick_f >= order.stop_f - EPS
        return self.bid_t * self.tick_f <= order.stop_f + EPS

    def taker_price(self, buy: bool, slippage_bps: Decimal) -> Decimal | None:
        """The price a market order would take at now (the touch, slipped as :meth:`take` slips it), or None
        before the first quote."""
        if self.qi < 0:
            return None
        price = (self.ask_t if buy else self.bid_t) * self.tick
        if slippage_bps:
            steps = math.ceil(price * slippage_bps / BPS / self.tick)
            price = price + steps * self.tick if buy else price - steps * self.tick
        return price

    def lots_for(self, notional: Decimal, price: Decimal) -> Decimal:
        """What ``notional`` buys at ``price``, rounded down to whole lots (0 when it buys less than one)."""
        return (notional / price / self.lot).to_integral_value(ROUND_DOWN) * self.lot

    # --- taking liquidity -------------------------------------------------------------------------------
    def take(
        self, order: VenueOrder, now_ns: int, slippage_bps: Decimal, all_or_none: bool = False
    ) -> Execution | None:
        """Execute against the touch of the quote in force, as taker."""
        if self.qi < 0:
            return None
        if order.is_buy:
            ticks = self.ask_t
            if (
                order.limit_price is not None
                and not order.acts_as_market
                and ticks * self.tick_f > order.limit_f + 1e-12
            ):
                return None
            available = self._units(self.ask_sz - self.taken_ask)
        else:
            ticks = self.bid_t
            if (
                order.limit_price is not None
                and not order.acts_as_market
                and ticks * self.tick_f < order.limit_f - 1e-12
            ):
                return None
            available = self._units(self.bid_sz - self.taken_bid)
        remaining = order.remaining
        quantity = remaining if remaining <= available else available
        if quantity <= 0 or (all_or_none and quantity < remaining):
            return None
        price = ticks * self.tick
        if slippage_bps and order.acts_as_market:
            slip = price * slippage_bps / BPS
            steps = math.ceil(slip / self.tick)
            price = price + steps * self.tick if order.is_buy else price - steps * self.tick
        if order.is_buy:
            self.taken_ask += float(quantity)
        else:
            self.taken_bid += float(quantity)
        return execute(order, quantity, price, _TAKER, now_ns)

    # --- stepping through time -----------------------------------------------------------------------
    def advance(
        self,
        to_ns: int,
        slippage_bps: Decimal,
        passive_draw: Callable[[], bool],
    ) -> Happened:
        """Walk quotes and trades up to ``to_ns``, matching resting orders in time order."""
        executions: Happened = []
        times_q = self.quotes.time_ns
        times_t = self.trades.time_ns
        q_end = int(times_q.searchsorted(to_ns, "right")) - 1
        t_end = int(times_t.searchsorted(to_ns, "right"))
        self.seen_ns = to_ns
        while self.resting and self._walk(q_end, t_end, slippage_bps, passive_draw, executions):
            pass  # linked orders started working on the way: look again from where the walk stopped
        if q_end != self.qi:
            self._at(q_end)
        self.ti = t_end
        return executions

    def _walk(
        self,
        q_end: int,
        t_end: int,
        slippage_bps: Decimal,
        passive_draw: Callable[[], bool],
        executions: Happened,
    ) -> bool:
        """Match the quotes and trades that can touch the orders resting now; stop early (returning True)
        when orders started working, since the stretches worth looking at were chosen without them."""
        times_q = self.quotes.time_ns
        times_t = self.trades.time_ns
        candidates_q = self._relevant_quotes(self.qi + 1, q_end + 1)
        candidates_t = self._relevant_trades(self.ti, t_end)
        iq = it = 0
        while iq < len(candidates_q) or it < len(candidates_t):
            next_q = times_q[candidates_q[iq]] if iq < len(candidates_q) else None
            next_t = times_t[candidates_t[it]] if it < len(candidates_t) else None
            if next_t is None or (next_q is not None and next_q <= next_t):
                index = int(candidates_q[iq])
                iq += 1
                self._at(index)
                self._on_quote(int(next_q), slippage_bps, executions)  # type: ignore[arg-type]
                if self.started:  # trades at this quote's time come after it
                    self.started = False
                    self.ti = int(times_t.searchsorted(next_q, "left"))
                    return True
            else:
                index = int(candidates_t[it])
                it += 1
                self._on_trade(index, slippage_bps, passive_draw, executions)
                if self.started:
                    self.started = False
                    qi = int(times_q.searchsorted(next_t, "right")) - 1
                    if qi != self.qi:
                        self._at(qi)
                    self.ti = index + 1
                    return True
            if not self.resting:
                break
        return False

    def activate(self, now_ns: int, slippage_bps: Decimal) -> Happened:
        """Orders whose latency has passed meet the quote in force now, as new arrivals."""
        executions: Happened = []
        for order in sorted(self.resting.arriving.values(), key=lambda o: o.seq):
            if order.active_ns > now_ns or order.status in CLOSED:
                continue
            order.arrived = True
            if order.triggered:
                execution = self.take(order, now_ns, slippage_bps, all_or_none=order.all_or_none)
                if execution is not None:
                    self.executed(order, execution, now_ns, slippage_bps, executions)
                self._no_rest(order, now_ns, executions)
            self.resting.refile(order)
        self.started = False  # what started here meets the next quotes anyway
        return executions

    def executed(
        self, order: VenueOrder, execution: Execution, now_ns: int, slippage_bps: Decimal, out: Happened
    ) -> None:
        """Record an execution; an order with links moves the orders linked to it."""
        out.append(execution)
        if order.exits or order.oco:
            self.started |= linked.after_fill(self, order, now_ns, slippage_bps, out)

    def pending_arrivals(self, after_ns: int, until_ns: int) -> list[int]:
        return [o.active_ns for o in self.resting.arriving.values() if after_ns < o.active_ns <= until_ns]

    def _relevant_quotes(self, start: int, stop: int) -> np.ndarray | list[int]:
        """Quote indices in [start, stop) at which some resting order could fill, trigger or arrive."""
        if start >= stop:
            return np.empty(0, dtype=np.int64)
        resting = self.resting
        first_ns = self.quotes.time_ns[start]
        if resting.takers or any(o.active_ns > first_ns for o in resting.arriving.values()):
            return np.arange(start, stop)
        best_buy, best_sell, low_buy_stop, high_sell_stop = resting.best()
        if stop - start <= _SHORT and not resting.arriving:  # a step or two: numpy's overhead would dominate
            bids, asks, tick = self.bid, self.ask, self.tick_f
            return [
                i
                for i in range(start, stop)
                if (a := float(asks[i]) * tick) <= best_buy + EPS
                or a >= low_buy_stop - EPS
                or (b := float(bids[i]) * tick) >= best_sell - EPS
                or b <= high_sell_stop + EPS
            ]
        bid = self.bid[start:stop] * self.tick_f
        ask = self.ask[start:stop] * self.tick_f
        mask = (ask <= best_buy + EPS) | (bid >= best_sell - EPS)
        mask |= (ask >= low_buy_stop - EPS) | (bid <= high_sell_stop + EPS)
        for order in resting.arriving.values():  # arrived on time but not yet met by a quote: few
            mask |= _touch_mask(order, bid, ask)
        return np.flatnonzero(mask) + start

    def _relevant_trades(self, start: int, stop: int) -> np.ndarray | list[int]:
        if start >= stop:
            return np.empty(0, dtype=np.int64)
        best_buy, best_sell, low_buy_stop, high_sell_stop = self.resting.best()
        if stop - start <= _SHORT and not self.resting.arriving:
            prices = self.trades.price
            return [
                i
                for i in range(start, stop)
                if (p := float(prices[i])) <= best_buy + EPS
                or p >= best_sell - EPS
                or p >= low_buy_stop - EPS
                or p <= high_sell_stop + EPS
            ]
        price = self.trades.price[start:stop]
        mask = (price <= best_buy + EPS) | (price >= best_sell - EPS)
        mask |= (price >= low_buy_stop - EPS) | (price <= high_sell_stop + EPS)
        for order in self.resting.arriving.values():
            mask |= _touch_mask(order, price, price, trade=True)
        return np.flatnonzero(mask) + start

    def _on_quote(self, now_ns: int, slippage_bps: Decimal, executions: Happened) -> None:
        resting = self.resting
        bid, ask = self.bid_t * self.tick_f, self.ask_t * self.tick_f
        for order in resting.at_quote(bid, ask, now_ns):
            if order.active_ns > now_ns or order.status in CLOSED:  # closed: by an order linked to it
                continue
            arriving = not order.arrived
            order.arrived = True
            if not order.triggered:
                if not self.touches(order):
                    resting.refile(order)
                    continue
                order.triggered = arriving = True
            if order.acts_as_market or arriving:  # a new or just-triggered order takes like any arrival
                execution = self.take(order, now_ns, slippage_bps, all_or_none=arriving and order.all_or_none)
            else:
                execution = self._cross(order, now_ns)
            if execution is not None:
                self.executed(order, execution, now_ns, slippage_bps, executions)
            if arriving:
                self._no_rest(order, now_ns, executions)
            resting.refile(order)

    def _no_rest(self, order: VenueOrder, now_ns: int, out: Happened) -> None:
        """An ioc or fok order that arrived late (the venue's latency) has met the market: the rest is
        cancelled, as it is for one that arrives at once."""
        tif = order.time_in_force
        if order.remaining > 0 and tif in (_IOC, _FOK) and order.status.is_open:
            why = "fok: not enough size at the touch" if tif is _FOK else "ioc: unfilled rest cancelled"
            linked._close(order, OrderStatus.CANCELLED, why, now_ns, self, out)

    def _cross(self, order: VenueOrder, now_ns: int) -> Execution | None:
        """A resting limit the quote has come through: filled at its limit, as maker."""
        if order.is_buy:
            if self.ask_t * self.tick_f > order.limit_f + 1e-12:
                return None
            available = self._units(self.ask_sz - self.taken_ask)
        else:
            if self.bid_t * self.tick_f < order.limit_f - 1e-12:
                return None
            available = self._units(self.bid_sz - self.taken_bid)
        quantity = min(order.remaining, available)
        if quantity <= 0:
            return None
        if order.is_buy:
            self.taken_ask += float(quantity)
        else:
            self.taken_bid += float(quantity)
        assert order.limit_price is not None
        return execute(order, quantity, order.limit_price, _MAKER, now_ns)

    def _on_trade(
        self, index: int, slippage_bps: Decimal, passive_draw: Callable[[], bool], executions: Happened
    ) -> None:
        now_ns = int(self.trades.time_ns[index])
        price = float(self.trades.price[index])
        size = float(self.trades.size[index])
        resting = self.resting
        for order in resting.at_trade(price, now_ns):
            if order.active_ns > now_ns or size <= 0 or order.status in CLOSED:
                continue
            if not order.triggered:
                hit = price >= order.stop_f - EPS if order.is_buy else price <= order.stop_f + EPS
                if not hit:
                    continue
                order.triggered = True
                execution = self.take(order, now_ns, slippage_bps)
            elif order.acts_as_market:
                continue
            else:
                through = price <= order.limit_f + EPS if order.is_buy else price >= order.limit_f - EPS
                if not through or not passive_draw():
                    continue
                quantity = min(order.remaining, self._units(size))
                if quantity <= 0:
                    continue
                size -= float(quantity)
                assert order.limit_price is not None
                execution = execute(order, quantity, order.limit_price, _MAKER, now_ns)
            if execution is not None:
                self.executed(order, execution, now_ns, slippage_bps, executions)
            resting.refile(order)


def _touch_mask(order: VenueOrder, bid: np.ndarray, ask: np.ndarray, *, trade: bool = False) -> np.ndarray:
    """Where one order could act along a stretch of quotes (or trades: bid = ask = the trade price)."""
    if not order.triggered:
        return (ask >= order.stop_f - EPS) if order.is_buy else (bid <= order.stop_f + EPS)
    if order.acts_as_market:
        return np.full(len(bid), not trade)
    return (ask <= order.limit_f + EPS) if order.is_buy else (bid >= order.limit_f - EPS)
