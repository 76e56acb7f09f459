"""A small in-memory venue for manager tests: fills market orders at a fixed quote, rests the rest.

It can pretend to be remote (``local=False``) and inject faults, so retry and lookup logic runs for real.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from ntlab.core import (
    Accepted,
    Cancelled,
    CancelRejected,
    Fill,
    Filled,
    Order,
    OrderStatus,
    OrderType,
    OrderUpdate,
    Position,
    Quote,
    Rejected,
    Replaced,
    ReplaceRejected,
)
from ntlab.core.broker import UpdateSink
from ntlab.core.enums import Liquidity
from ntlab.core.lifecycle import ReplaceChange
from ntlab.errors import BrokerTimeout, OrderRejected

START = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


class ScriptedVenue:
    name = "testvenue"

    def __init__(self, *, local: bool = True, bid: str = "99.99", ask: str = "100.01") -> None:
        self.local = local
        self.durable = not local  # an in-memory venue dies with the test's process; a "remote" one does not
        self.bid, self.ask = Decimal(bid), Decimal(ask)
        self.clock = START
        self.sink: UpdateSink | None = None
        self.orders: dict[str, Order] = {}
        self.made_fills: list[Fill] = []
        self.submits: Counter[str] = Counter()
        self.fail_next: list[BaseException] = []
        self.timeout_after_accept = 0
        self.reject_symbols: set[str] = set()

    async def connect(self, sink: UpdateSink) -> None:
        self.sink = sink

    async def close(self) -> None:
        self.sink = None

    def now(self) -> datetime:
        return self.clock

    def last_quote(self, symbol: str) -> Quote | None:
        return Quote(
            symbol=symbol,
            time=self.clock,
            bid=self.bid,
            ask=self.ask,
            bid_size=Decimal(500),
            ask_size=Decimal(500),
        )

    async def submit_order(self, order: Order) -> list[OrderUpdate]:
        if not self.local:
            await asyncio.sleep(0)
        self.submits[order.order_id] += 1
        if self.fail_next:
            raise self.fail_next.pop(0)
        if order.order_id in self.orders:
            raise OrderRejected("client_order_id must be unique")
        if order.symbol in self.reject_symbols:
            return [Rejected(order.order_id, self.clock, "symbol halted")]
        broker_id = f"tv-{len(self.orders) + 1}"
        updates: list[OrderUpdate] = [Accepted(order.order_id, self.clock, broker_id)]
        status = OrderStatus.ACCEPTED
        filled = Decimal(0)
        price = None
        if order.order_type is OrderType.MARKET:
            price = self.ask if order.side == "buy" else self.bid
            fill = Fill(
                fill_id=f"f{len(self.made_fills) + 1}",
                order_id=order.order_id,
                symbol=order.symbol,
                side=order.side,
                quantity=order.quantity,
                price=price,
                time=self.clock,
                liquidity=Liquidity.TAKER,
                venue=self.name,
            )
            self.made_fills.append(fill)
            updates.append(Filled(order.order_id, fill))
            status, filled = OrderStatus.FILLED, order.quantity
        self.orders[order.order_id] = order._replace(
            status=status, filled_quantity=filled, avg_fill_price=price, broker_order_id=broker_id
        )
        if self.timeout_after_accept:
            self.timeout_after_accept -= 1
            raise BrokerTimeout("read timeout")
        return updates

    async def cancel_order(self, order: Order) -> list[OrderUpdate]:
        held = self.orders.get(order.order_id)
        if held is None or held.status.is_final:
            return [CancelRejected(order.order_id, self.clock, "not open")]
        self.orders[order.order_id] = held._replace(status=OrderStatus.CANCELLED)
        return [Cancelled(order.order_id, self.clock)]

    async def replace_order(self, order: Order, change: ReplaceChange) -> list[OrderUpdate]:
        held = self.orders.get(order.order_id)
        if held is None or held.status.is_final:
            return [ReplaceRejected(order.order_id, self.clock, "not open")]
        quantity = change.quantity if change.quantity is not None else held.quantity
        limit = change.limit_price if change.limit_price is not None else held.limit_price
        self.orders[order.order_id] = held._replace(quantity=quantity, limit_price=limit)
        return [Replaced(order.order_id, self.clock, change.quantity, change.limit_price, change.stop_price)]

    async def lookup_order(self, order_id: str) -> Order | None:
        return self.orders.get(order_id)

    async def open_orders(self) -> list[Order]:
        return [o for o in self.orders.values() if o.status.is_open]

    async def fills_since(self, since: datetime | None) -> list[Fill]:
        return [f for f in self.made_fills if since is None or f.time >= since]

    async def positions(self) -> list[Position]:
        return []

    async def fill_resting(self, order_id: str, quantity: str, price: str, fill_id: str) -> None:
        """Fill part of a resting order and stream it, as a venue would."""
        held = self.orders[order_id]
        self.clock += timedelta(seconds=1)
        fill = Fill(
            fill_id=fill_id,
            order_id=order_id,
            symbol=held.symbol,
            side=held.side,
            quantity=Decimal(quantity),
            price=Decimal(price),
            time=self.clock,
            liquidity=Liquidity.MAKER,
            venue=self.name,
        )
        self.made_fills.append(fill)
        assert self.sink is not None
        await self.sink.handle_order_update(Filled(order_id, fill))
