"""SmartRouter: several paper venues behind one Broker, routing each order to the best price net of fees.

The manager sees one broker and one order; the router splits it into legs, one per venue, with ids
``"<order id>@<venue>"`` so a leg always names its order and venue (no routing table to lose on a restart).
A marketable order first takes the venue whose touch is cheapest after fees, then sweeps the next venues
while the best lacks displayed size; what no touch covers goes to the best venue (a limit rests there, a
market order waits there for size). Fills keep their venue, so TCA can compare venues. The router also
steps every venue's simulated clock together and hands the manager one time-ordered batch per step.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

import pandas as pd

from ntlab.brokers.paper import PaperBroker, PaperConfig
from ntlab.core.broker import AssetFlags, UpdateSink
from ntlab.core.enums import OrderStatus, OrderType, Side
from ntlab.core.lifecycle import ReplaceChange
from ntlab.core.positions import PositionState
from ntlab.core.records import Fill, Order, Position, Quote
from ntlab.core.reports import (
    Accepted,
    Cancelled,
    CancelRejected,
    Expired,
    Filled,
    OrderUpdate,
    Rejected,
    ReplaceRejected,
    report_time,
)
from ntlab.errors import ConfigError
from ntlab.market.frames import Market
from ntlab.times import duration_ns

BPS = Decimal(10_000)
_FINAL = (OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.REJECTED)
_STATUS_OF = {Cancelled: OrderStatus.CANCELLED, Expired: OrderStatus.EXPIRED, Rejected: OrderStatus.REJECTED}


@dataclass(slots=True)
class _Leg:
    quantity: Decimal
    filled: Decimal = Decimal(0)
    status: OrderStatus = OrderStatus.PENDING


@dataclass(slots=True)
class _Route:
    order_id: str
    quantity: Decimal
    legs: dict[str, _Leg] = field(default_factory=dict)
    acked: bool = False
    final: OrderStatus | None = None
    reasons: list[str] = field(default_factory=list)

    @property
    def filled(self) -> Decimal:
        return sum((leg.filled for leg in self.legs.values()), Decimal(0))


class _VenueSink:
    """What each venue reports to: buffered while the router steps all venues, else passed straight on."""

    def __init__(self, router: SmartRouter) -> None:
        self._router = router

    async def handle_order_update(self, update: OrderUpdate) -> None:
        await self.handle_order_updates([update])

    async def handle_order_updates(self, updates: Sequence[OrderUpdate]) -> None:
        await self._router._from_venue(list(updates))


class SmartRouter:
    """A Broker over several PaperBrokers sharing one market (distinct names)."""

    local = True

    def __init__(self, venues: Sequence[PaperBroker], *, name: str = "sor") -> None:
        if not venues:
            raise ConfigError("a SmartRouter needs at least one venue")
        names = [v.name for v in venues]
        if len(set(names)) != len(names):
            raise ConfigError(f"venue names must be distinct, got {names}")
        if any(v.market is not venues[0].market for v in venues):
            raise ConfigError("every venue must trade the same Market object (one tape, one clock)")
        self.venues: dict[str, PaperBroker] = {v.name: v for v in venues}
        self.name = name
        self.market: Market = venues[0].market
        self._sink: UpdateSink | None = None
        self._routes: dict[str, _Route] = {}
        self._buffer: list[OrderUpdate] | None = None
        self._seq = 0
        self._stepping = asyncio.Lock()

    @property
    def durable(self) -> bool:
        return any(v.durable for v in self.venues.values())

    def __repr__(self) -> str:
        return f"SmartRouter({self.name!r} over {', '.join(self.venues)}, clock at {self.now():%H:%M:%S} UTC)"

    # --- clock and market ----------------------------------------------------------------------------------
    @property
    def _lead(self) -> PaperBroker:
        return next(iter(self.venues.values()))

    def now(self) -> datetime:
        return self._lead.now()

    @property
    def now_ns(self) -> int:
        return self._lead.now_ns

    @property
    def session_open(self) -> datetime:
        return self._lead.session_open

    @property
    def session_close(self) -> datetime:
        return self._lead.session_close

    def last_quote(self, symbol: str) -> Quote | None:
        """The best bid and offer across venues (sizes summed over the venues at each best price)."""
        quotes = [q for v in self.venues.values() if (q := v.last_quote(symbol)) is not None]
        if not quotes:
            return None
        bid = max(q.bid for q in quotes)
        ask = min(q.ask for q in quotes)
        return Quote(
            symbol=symbol,
            time=max(q.time for q in quotes),
            bid=bid,
            ask=ask,
            bid_size=sum((q.bid_size for q in quotes if q.bid == bid), Decimal(0)),
            ask_size=sum((q.ask_size for q in quotes if q.ask == ask), Decimal(0)),
        )

    def asset_flags(self, symbol: str) -> AssetFlags | None:
        """What every venue allows: a leg of a short sale may go to any of them."""
        flags = [v.asset_flags(symbol) for v in self.venues.values()]
        if not flags or any(f is None for f in flags):
            return None
        return AssetFlags(symbol, *(all(column) for column in list(zip(*flags, strict=True))[1:]))

    async def fetch_asset_flags(self, symbol: str) -> AssetFlags | None:
        return self.asset_flags(symbol)

    async def advance(self, step: timedelta | pd.Timedelta | str | float) -> datetime:
        return await self.advance_to(self.now_ns + duration_ns(step))

    async def advance_to(self, when: datetime | str | int) -> datetime:
        """Step every venue to ``when``; the manager gets their news as one batch in time order."""
        async with self._stepping:
            self._buffer = []
            try:
                for venue in self.venues.values():
                    await venue.advance_to(when)
                raw, self._buffer = self._buffer, None
            finally:
                self._buffer = None
            raw.sort(key=report_time)
            updates = self._translate(raw)
            if updates and self._sink is not None:
                await self._sink.handle_order_updates(updates)
            return self.now()

    # --- routing -------------------------------------------------------------------------------------------
    def net_price(
        self, venue: PaperBroker, side: Side | str, price: Decimal, *, maker: bool = False
    ) -> Decimal:
        """Price per unit after the venue's fees: what a buyer pays (a seller receives)."""
        side = Side(side)
        config = venue.config
        bps = config.maker_fee_bps if maker else config.taker_fee_bps
        fee = price * bps / BPS + config.fee_per_share
        return price + fee if side is Side.BUY else price - fee

    def route(self, order: Order) -> list[tuple[str, Decimal]]:
        """Where each part of the order goes: ``[(venue name, quantity), ...]``, best venue first."""
        if order.venue is not None and order.venue in self.venues:
            return [(order.venue, order.quantity)]
        buy = order.side is Side.BUY
        ranked: list[tuple[Decimal, float, str, Decimal, Decimal]] = []
        for name, venue in self.venues.items():
            quote = venue.last_quote(order.symbol)
            if quote is None:
                continue
            touch, size = (quote.ask, quote.ask_size) if buy else (quote.bid, quote.bid_size)
            net = self.net_price(venue, order.side, touch)
            ranked.append((net if buy else -net, -float(size), name, touch, size))
        ranked.sort()
        if not ranked:
            return [(self._lead.name, order.quantity)]
        marketable = order.order_type is OrderType.MARKET
        limit = order.limit_price
        if order.order_type in (OrderType.STOP, OrderType.STOP_LIMIT):
            return [(ranked[0][2], order.quantity)]  # a stop cannot be swept before it triggers
        plan: dict[str, Decimal] = {}
        remaining = order.quantity
        lot = self._lot(order.symbol)
        for _, _, name, touch, size in ranked:
            if remaining <= 0:
                break
            crosses = marketable or (limit is not None and (touch <= limit if buy else touch >= limit))
            if not crosses:
                continue
            take = min(remaining, (size / lot).to_integral_value(rounding=ROUND_DOWN) * lot)
            if take > 0:
                plan[name] = plan.get(name, Decimal(0)) + take
                remaining -= take
        if remaining > 0:
            home = ranked[0][2] if marketable or limit is None else self._best_to_rest(order, limit)
            plan[home] = plan.get(home, Decimal(0)) + remaining
        return list(plan.items())

    def _best_to_rest(self, order: Order, limit: Decimal) -> str:
        """The venue where a resting limit costs least after maker fees (more displayed size breaks ties)."""

        def key(name: str) -> tuple[Decimal, float]:
            venue = self.venues[name]
            net = self.net_price(venue, order.side, limit, maker=True)
            return (net if order.side is Side.BUY else -net, -venue.config.liquidity_factor)

        return min(self.venues, key=key)

    def _lot(self, symbol: str) -> Decimal:
        instrument = self.market.instruments.get(symbol)
        return instrument.lot_size if instrument is not None else Decimal(1)

    # --- the Broker protocol ------------------------------------------------------------------------------
    async def connect(self, sink: UpdateSink) -> None:
        self._sink = sink
        for venue in self.venues.values():
            await venue.connect(_VenueSink(self))

    async def close(self) -> None:
        for venue in self.venues.values():
            await venue.close()
        self._sink = None

    async def submit_order(self, order: Order) -> list[OrderUpdate]:
        route = _Route(order.order_id, order.quantity)
        self._routes[order.order_id] = route
        raw: list[OrderUpdate] = []
        for name, quantity in self.route(order):
            leg_id = f"{order.order_id}@{name}"
            route.legs[leg_id] = _Leg(quantity)
            leg = order._replace(order_id=leg_id, quantity=quantity, venue=name)
            raw.extend(await self.venues[name].submit_order(leg))
        return self._translate(raw)

    async def cancel_order(self, order: Order) -> list[OrderUpdate]:
        route = self._routes.get(order.order_id)
        open_legs = [] if route is None else [k for k, leg in route.legs.items() if leg.status not in _FINAL]
        if route is None or not open_legs or route.final is not None:
            why = "unknown to the router" if route is None else "no open leg"
            return [CancelRejected(order.order_id, self.now(), f"cannot cancel: {why}")]
        raw: list[OrderUpdate] = []
        for leg_id in open_legs:
            name = leg_id.rsplit("@", 1)[1]
            raw.extend(await self.venues[name].cancel_order(order._replace(order_id=leg_id)))
        translated = self._translate(raw)
        if not translated and all(isinstance(r, CancelRejected) for r in raw):
            return [CancelRejected(order.order_id, self.now(), "; ".join(r.reason for r in raw))]  # type: ignore[union-attr]
        return translated

    async def replace_order(self, order: Order, change: ReplaceChange) -> list[OrderUpdate]:
        """Legs on several venues have no one price to change: cancel and place again instead."""
        return [
            ReplaceRejected(
                order.order_id, self.now(), "the router does not replace orders; cancel and place again"
            )
        ]

    async def lookup_order(self, order_id: str) -> Order | None:
        legs = [
            found
            for name, venue in self.venues.items()
            if (found := await venue.lookup_order(f"{order_id}@{name}")) is not None
        ]
        if not legs:
            return None
        filled = sum((leg.filled_quantity for leg in legs), Decimal(0))
        notional = sum((leg.filled_quantity * (leg.avg_fill_price or 0) for leg in legs), Decimal(0))
        route = self._routes.get(order_id)
        quantity = route.quantity if route is not None else sum((leg.quantity for leg in legs), Decimal(0))
        if filled >= quantity:
            status = OrderStatus.FILLED
        elif any(leg.status.is_open for leg in legs):
            status = OrderStatus.PARTIALLY_FILLED if filled else OrderStatus.ACCEPTED
        else:
            status = _final_of([leg.status for leg in legs])
        return legs[0]._replace(
            order_id=order_id,
            quantity=quantity,
            status=status,
            filled_quantity=filled,
            avg_fill_price=notional / filled if filled else None,
            fees=sum((leg.fees for leg in legs), Decimal(0)),
            broker_order_id=f"{self.name}:{order_id}",
            updated_at=max(leg.updated_at for leg in legs),
            venue=None,
        )

    async def open_orders(self) -> list[Order]:
        ids = {o.order_id.rsplit("@", 1)[0] for v in self.venues.values() for o in await v.open_orders()}
        found = [await self.lookup_order(order_id) for order_id in sorted(ids)]
        return [o for o in found if o is not None]

    async def fills_since(self, since: datetime | None) -> list[Fill]:
        fills = [f for v in self.venues.values() for f in await v.fills_since(since)]
        fills.sort(key=lambda f: f.time)
        return [f._replace(order_id=f.order_id.rsplit("@", 1)[0]) for f in fills]

    async def positions(self) -> list[Position]:
        positions: dict[str, PositionState] = {}
        for fill in await self.fills_since(None):
            position = positions.setdefault(fill.symbol, PositionState(fill.symbol))
            position.apply(fill.side, fill.quantity, fill.price, fill.fee)
        return [p.snapshot() for p in positions.values()]

    # --- venue news into the manager's terms ---------------------------------------------------------------
    async def _from_venue(self, updates: list[OrderUpdate]) -> None:
        if self._buffer is not None:
            self._buffer.extend(updates)
            return
        translated = self._translate(updates)
        if translated and self._sink is not None:
            await self._sink.handle_order_updates(translated)

    def _translate(self, raw: list[OrderUpdate]) -> list[OrderUpdate]:
        """Leg updates -> updates of the routed order: one ack, every fill, one final status when all legs end."""
        out: list[OrderUpdate] = []
        touched: dict[str, _Route] = {}
        for update in raw:
            parent_id, _, _ = update.order_id.rpartition("@")
            route = self._routes.get(parent_id)
            if route is None:
                continue
            leg = route.legs.get(update.order_id)
            if leg is None:
                continue
            touched[parent_id] = route
            match update:
                case Filled(fill=fill):
                    leg.filled += fill.quantity
                    if leg.filled >= leg.quantity:
                        leg.status = OrderStatus.FILLED
                    out.append(Filled(parent_id, fill._replace(order_id=parent_id)))
                case Accepted(time=when):
                    if leg.status is OrderStatus.PENDING:
                        leg.status = OrderStatus.ACCEPTED
                    if not route.acked:
                        route.acked = True
                        self._seq += 1
                        out.append(Accepted(parent_id, when, f"{self.name}-{self._seq}"))
                case Cancelled(reason=reason) | Expired(reason=reason) | Rejected(reason=reason):
                    leg.status = _STATUS_OF[type(update)]
                    if reason:
                        route.reasons.append(f"{update.order_id.rsplit('@', 1)[1]}: {reason}")
        for route in touched.values():
            done = all(leg.status in (*_FINAL, OrderStatus.FILLED) for leg in route.legs.values())
            if not done or route.final is not None:
                continue
            if route.filled >= route.quantity:
                route.final = OrderStatus.FILLED
                continue
            route.final = _final_of([leg.status for leg in route.legs.values()])
            reason = "; ".join(route.reasons) or None
            if route.final is OrderStatus.REJECTED:
                out.append(Rejected(route.order_id, self.now(), reason or "every venue refused it"))
            elif route.final is OrderStatus.EXPIRED:
                out.append(Expired(route.order_id, self.now(), reason))
            else:
                out.append(Cancelled(route.order_id, self.now(), reason))
        return out


def _final_of(statuses: list[OrderStatus]) -> OrderStatus:
    unfilled = [s for s in statuses if s is not OrderStatus.FILLED]
    if unfilled and all(s is OrderStatus.REJECTED for s in unfilled) and len(unfilled) == len(statuses):
        return OrderStatus.REJECTED
    if OrderStatus.EXPIRED in unfilled:
        return OrderStatus.EXPIRED
    return OrderStatus.CANCELLED


def paper_venues(
    market: Market, specs: dict[str, dict[str, Any]] | None = None, *, seed: int = 7
) -> list[PaperBroker]:
    """Several paper venues on one market from ``{name: PaperConfig fields}``. The default trio differs in
    what routing weighs: ``lit`` quotes the market with a middling taker fee; ``cheap`` has the lowest fee
    but quotes half a basis point higher (dearer to buy from, better to sell to) and shows half the size;
    ``fast`` quotes the market, charges the most to take, pays a rebate to resting orders and answers after
    5 ms. (Offsets all point one way so the venues' quotes may lock but never cross each other.)"""
    specs = specs or {
        "lit": {"taker_fee_bps": Decimal("0.30")},
        "cheap": {
            "taker_fee_bps": Decimal("0.05"),
            "price_offset_bps": Decimal("0.5"),
            "liquidity_factor": 0.5,
        },
        "fast": {
            "taker_fee_bps": Decimal("0.60"),
            "maker_fee_bps": Decimal("-0.20"),
            "liquidity_factor": 0.7,
            "latency": timedelta(milliseconds=5),
        },
    }
    return [
        PaperBroker(market, config=PaperConfig(**({"seed": seed + i} | spec)), name=name)
        for i, (name, spec) in enumerate(specs.items())
    ]
