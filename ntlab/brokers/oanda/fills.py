"""The account's fills by v20 order, from the transaction history: what a lookup needs to say how much of an
order has filled.

A v20 order says nothing of partial fills (OANDA fills an order whole, at a VWAP over its price buckets;
IOC orders and a fake's thin book fill in parts), so the filled quantity of an order comes from its
ORDER_FILL transactions. The index holds every fill it has seen, and knows the range of transaction ids
it has read completely: a lookup of an older order reads back to that order's id first (its creation is
the transaction with its id, so its fills come later), and a lookup that must be current reads forward
from the end of the range.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from decimal import Decimal
from typing import Any

from ntlab.brokers.oanda.mapping import fill_of
from ntlab.core.records import ZERO, Fill

Range = Callable[[int, int], Awaitable[list[dict[str, Any]]]]  # ORDER_FILLs with ids in [first, last]
Since = Callable[[int], Awaitable[tuple[list[dict[str, Any]], int]]]  # all after an id, and the last id


class FillIndex:
    """Fills by v20 order id, and the contiguous range of transaction ids read completely."""

    def __init__(self, read_range: Range, read_since: Since) -> None:
        self._read_range = read_range
        self._read_since = read_since
        self._by_order: dict[str, dict[str, Fill]] = {}
        self.first = 1  # transactions [first, last] have all been read
        self.last = 0

    def start_at(self, last_transaction_id: int) -> None:
        """Nothing is known yet; the history up to ``last_transaction_id`` is read only when asked for."""
        self.first = last_transaction_id + 1
        self.last = last_transaction_id

    def add(self, txn: dict[str, Any]) -> Fill | None:
        """Index an ORDER_FILL transaction (other types are ignored); returns the fill."""
        if txn.get("type") != "ORDER_FILL":
            return None
        fill = fill_of(txn)
        if fill is not None:
            self._by_order.setdefault(str(txn.get("orderID")), {})[fill.fill_id] = fill
        return fill

    def add_all(self, txns: Iterable[dict[str, Any]]) -> None:
        for txn in txns:
            self.add(txn)

    def read_to(self, last: int) -> None:
        """Every transaction up to ``last`` has been seen (the stream delivered them in order)."""
        self.last = max(self.last, last)

    async def cover(self, oanda_order_id: str | int) -> None:
        """Read the history back to this order's creation, and forward to the account's latest transaction."""
        start = int(oanda_order_id)
        if start < self.first:
            step = 1000
            for low in range(start, self.first, step):
                self.add_all(await self._read_range(low, min(low + step - 1, self.first - 1)))
            self.first = start
        found, last = await self._read_since(self.last)
        self.add_all(found)
        self.last = max(self.last, last)

    def fills(self, oanda_order_id: str) -> list[Fill]:
        return sorted(self._by_order.get(str(oanda_order_id), {}).values(), key=lambda f: int(f.fill_id))

    def filled(self, oanda_order_id: str) -> Decimal:
        return sum((f.quantity for f in self._by_order.get(str(oanda_order_id), {}).values()), ZERO)

    def all_fills(self) -> list[Fill]:
        every = [f for fills in self._by_order.values() for f in fills.values()]
        return sorted(every, key=lambda f: int(f.fill_id))


def average_price(fills: Iterable[Fill]) -> Decimal | None:
    quantity = notional = ZERO
    for fill in fills:
        quantity += fill.quantity
        notional += fill.quantity * fill.price
    return notional / quantity if quantity else None
