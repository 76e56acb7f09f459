"""A symbol's resting orders, kept by price, so a quote or a trade only looks at the orders it can touch.

Limit buys are kept highest limit first and limit sells lowest first; buy stops lowest stop first and sell
stops highest first. A quote can then fill or trigger only a prefix of each list, and whether a stretch of
quotes can touch anything at all depends on four best prices, not on every order. Orders acting as market
orders that wait for size, trailing stops (whose stop moves with every quote), and orders still on their way
(latency) are kept apart: there are few of them, and every quote looks at them.

Whatever touches several orders at once handles them in time priority (the order they arrived in).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ntlab.brokers.paper.book import VenueOrder

EPS = 1e-12
Entry = tuple[float, int, "VenueOrder"]


# Entries compare as tuples, in C: (key, seq) is unique (seq is the order's own), so the order itself is
# never compared, and a key function (a Python call per comparison) is not needed.
def _insert(entries: list[Entry], key: float, order: VenueOrder) -> None:
    bisect.insort(entries, (key, order.seq, order))


def _remove(entries: list[Entry], key: float, order: VenueOrder) -> None:
    i = bisect.bisect_left(entries, (key, order.seq))  # a prefix sorts before the entry it begins
    if i < len(entries) and entries[i][2] is order:
        del entries[i]


class Resting:
    """Where each resting order sits follows from its state: still arriving, a stop not yet triggered, acting
    as a market order, or a working limit. Call :meth:`refile` after an order's state changed."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.buys: list[Entry] = []  # key -limit: highest limit first
        self.sells: list[Entry] = []  # key limit: lowest limit first
        self.stop_buys: list[Entry] = []  # key stop: lowest stop first
        self.stop_sells: list[Entry] = []  # key -stop: highest stop first
        self.takers: dict[int, VenueOrder] = {}
        self.arriving: dict[int, VenueOrder] = {}
        self._where: dict[int, tuple[str, float]] = {}

    def __len__(self) -> int:
        return len(self._where)

    def __bool__(self) -> bool:
        return bool(self._where)

    def __contains__(self, order: VenueOrder) -> bool:
        return order.seq in self._where

    def __iter__(self) -> Iterator[VenueOrder]:
        """Every resting order, in time priority."""
        return iter(sorted(self._orders(), key=lambda o: o.seq))

    def _orders(self) -> Iterator[VenueOrder]:
        for entries in (self.buys, self.sells, self.stop_buys, self.stop_sells):
            for _, _, order in entries:
                yield order
        yield from self.takers.values()
        yield from self.arriving.values()

    @staticmethod
    def _slot(order: VenueOrder) -> tuple[str, float]:
        if not order.arrived:
            return "arriving", 0.0
        if order.trailing:  # its stop moves with every quote: looked at on every one, like a taker
            return "takers", 0.0
        if not order.triggered:
            return ("stop_buys", order.stop_f) if order.is_buy else ("stop_sells", -order.stop_f)
        if order.acts_as_market:
            return "takers", 0.0
        return ("buys", -order.limit_f) if order.is_buy else ("sells", order.limit_f)

    def add(self, order: VenueOrder) -> None:
        slot = self._slot(order)
        self._where[order.seq] = slot
        name, key = slot
        if name in ("takers", "arriving"):
            getattr(self, name)[order.seq] = order
        else:
            _insert(getattr(self, name), key, order)

    def remove(self, order: VenueOrder) -> None:
        slot = self._where.pop(order.seq, None)
        if slot is None:
            return
        name, key = slot
        if name in ("takers", "arriving"):
            getattr(self, name).pop(order.seq, None)
        else:
            _remove(getattr(self, name), key, order)

    def refile(self, order: VenueOrder) -> None:
        """Put an order whose state changed where it now belongs, or drop it once it has nothing left."""
        if order.seq not in self._where:
            return
        if order.remaining <= 0 or order.status.is_final:
            self.remove(order)
        elif self._where[order.seq] != self._slot(order):
            self.remove(order)
            self.add(order)

    def clear(self) -> list[VenueOrder]:
        """Take every order off, in time priority."""
        orders = list(self)
        self._reset()
        return orders

    # --- what the market can touch ---------------------------------------------------------------------
    def best(self) -> tuple[float, float, float, float]:
        """Highest buy limit, lowest sell limit, lowest buy stop, highest sell stop (NaN-free: ±inf when none)."""
        inf = float("inf")
        return (
            -self.buys[0][0] if self.buys else -inf,
            self.sells[0][0] if self.sells else inf,
            self.stop_buys[0][0] if self.stop_buys else inf,
            -self.stop_sells[0][0] if self.stop_sells else -inf,
        )

    def at_quote(self, bid: float, ask: float, now_ns: int) -> list[VenueOrder]:
        """The orders a quote can act on (fill, trigger, or let arrive), in time priority."""
        found: list[VenueOrder] = [o for o in self.arriving.values() if o.active_ns <= now_ns]
        found.extend(self.takers.values())
        found.extend(_prefix(self.buys, lambda key: -key + EPS >= ask))
        found.extend(_prefix(self.sells, lambda key: key - EPS <= bid))
        found.extend(_prefix(self.stop_buys, lambda key: ask >= key - EPS))
        found.extend(_prefix(self.stop_sells, lambda key: bid <= -key + EPS))
        found.sort(key=lambda o: o.seq)
        return found

    def at_trade(self, price: float, now_ns: int) -> list[VenueOrder]:
        """The orders a trade at ``price`` can trigger or print through, in time priority."""
        found: list[VenueOrder] = [o for o in self.arriving.values() if o.active_ns <= now_ns]
        found.extend(_prefix(self.buys, lambda key: price <= -key + EPS))
        found.extend(_prefix(self.sells, lambda key: price >= key - EPS))
        found.extend(_prefix(self.stop_buys, lambda key: price >= key - EPS))
        found.extend(_prefix(self.stop_sells, lambda key: price <= -key + EPS))
        found.sort(key=lambda o: o.seq)
        return found


def _prefix(entries: list[Entry], touches: object) -> Iterator[VenueOrder]:
    check = touches  # a predicate on the sort key; the list is sorted so that touched entries come first
    for key, _, order in entries:
        if not check(key):  # type: ignore[operator]
            return
        yield order
