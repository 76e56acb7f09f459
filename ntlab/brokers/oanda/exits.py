"""The exits of the bracket and oto entries this adapter placed, sized to the trade their entry opened.

v20 creates an entry's take-profit and stop-loss when the entry fills, and they close the trade it opened:
all of its units, whatever they are. ntlab records the legs for the entry's quantity; an entry that fills
in part (then is cancelled, or goes on filling) leaves a smaller trade, so each leg OANDA has created is
resized (a ``Replaced`` with the quantity) to what its entry has filled, as the paper venue resizes the exits
of an entry that ended partly filled. Legs OANDA never created (the entry ended unfilled) stay pending and
the manager closes them with their entry.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from ntlab.core.legs import legs
from ntlab.core.records import ZERO, Order
from ntlab.core.reports import Accepted, Filled, OrderUpdate, Replaced


@dataclass(slots=True)
class _Entry:
    legs: dict[str, Decimal]  # leg id -> its quantity as ntlab has it
    filled: Decimal = ZERO
    working: set[str] = field(default_factory=set)  # legs OANDA has created


class Exits:
    """Follow the reports of entries with legs and add the resizes their legs need."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._entry_of: dict[str, str] = {}

    def placed(self, order: Order) -> None:
        found = legs(order)
        if not found or order.order_id in self._entries:
            return
        self._entries[order.order_id] = _Entry({leg.order_id: leg.quantity for leg in found})
        for leg in found:
            self._entry_of[leg.order_id] = order.order_id

    def follow(self, reports: Iterable[OrderUpdate]) -> list[OrderUpdate]:
        out: list[OrderUpdate] = []
        for report in reports:
            out.append(report)
            entry = self._entries.get(report.order_id)
            if entry is not None and isinstance(report, Filled):
                entry.filled += report.fill.quantity
                out.extend(self._resize(entry, entry.working, report.fill.time))
                continue
            owner = self._entry_of.get(report.order_id)
            if owner is not None and isinstance(report, Accepted):
                entry = self._entries[owner]
                entry.working.add(report.order_id)
                out.extend(self._resize(entry, (report.order_id,), report.time))
        return out

    @staticmethod
    def _resize(entry: _Entry, which: Iterable[str], when: datetime) -> list[OrderUpdate]:
        resized: list[OrderUpdate] = []
        for leg_id in sorted(which):
            if entry.filled > 0 and entry.legs[leg_id] != entry.filled:
                entry.legs[leg_id] = entry.filled
                resized.append(Replaced(leg_id, when, quantity=entry.filled))
        return resized
