"""The orders and fills views kept row by row: an order is converted once per change, not once per look.

``lab.orders`` on a long session then costs copying a few columns, not re-reading every snapshot. Rows are
updated on the core loop as order events arrive, and every look first checks by identity that each row
still holds the manager's current snapshot (a snapshot is replaced, never changed, when its order changes),
so a change that came without an event is picked up too.

The columns are the records' own fields (:class:`ntlab.tabular.Columns`), plus what a trader reads off an
order at a glance: the remaining quantity, the arrival mid and the live slippage.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ntlab.core.enums import Side
from ntlab.core.events import OrderEvent
from ntlab.core.records import Fill, Order
from ntlab.tabular import Columns

_BUY = list(Side).index(Side.BUY)


def orders_view(columns: Columns) -> pd.DataFrame:
    """One row per order, indexed by order_id, with remaining quantity, arrival mid and slippage.

    ``slippage_bps`` is s·(average fill − arrival mid)/arrival mid·1e4 (positive = cost), NaN until filled.
    """
    frame = columns.frame(index="order_id")
    mid = (frame["arrival_bid"].to_numpy() + frame["arrival_ask"].to_numpy()) / 2
    sign = np.where(frame["side"].cat.codes.to_numpy() == _BUY, 1.0, -1.0)
    position = frame.columns.get_loc("filled_quantity") + 1
    frame.insert(position, "remaining_quantity", frame["quantity"] - frame["filled_quantity"])
    frame["arrival_mid"] = mid
    frame["slippage_bps"] = sign * (frame["avg_fill_price"].to_numpy() - mid) / mid * 1e4
    return frame


def fills_view(columns: Columns) -> pd.DataFrame:
    """One row per execution, indexed by fill_id, with its notional."""
    frame = columns.frame(index="fill_id")
    frame.insert(frame.columns.get_loc("price") + 1, "notional", frame["quantity"] * frame["price"])
    return frame


class OrderTable:
    """Orders as columns of plain values, one row per order id, updated in place as orders change.

    Not thread-safe: use it on the core loop only (``update``/``sync``/``columns``) and build the frame
    from the copy ``columns()`` returns.
    """

    def __init__(self, orders: Sequence[Order] = ()) -> None:
        self._reset(orders)

    def _reset(self, orders: Sequence[Order]) -> None:
        self._rows: dict[str, int] = {}
        self._snapshots: list[Order] = []
        self._columns = Columns(Order)
        self._extend(orders)

    def __len__(self) -> int:
        return len(self._snapshots)

    def _extend(self, orders: Sequence[Order]) -> None:
        start = len(self._snapshots)
        self._snapshots.extend(orders)
        self._rows.update(zip((o.order_id for o in orders), range(start, start + len(orders)), strict=True))
        self._columns.extend(orders)

    def update(self, order: Order) -> None:
        """Take one order's new snapshot (an order event's)."""
        row = self._rows.get(order.order_id)
        if row is None:
            self._extend([order])
        elif self._snapshots[row] is not order:
            self._snapshots[row] = order
            self._columns.set(row, order)

    def on_event(self, event: OrderEvent) -> None:
        self.update(event.order)

    def sync(self, orders: Sequence[Order]) -> OrderTable:
        """Make the rows match ``orders`` (the manager's list): only changed snapshots are converted."""
        snapshots = self._snapshots
        known = len(snapshots)
        changed = [row for row, (o, s) in enumerate(zip(orders, snapshots, strict=False)) if o is not s]
        added = orders[known:]
        if (
            len(orders) < known
            or any(orders[row].order_id != snapshots[row].order_id for row in changed)
            or any(o.order_id in self._rows for o in added)
        ):
            self._reset(orders)  # not the list these rows came from: start again
            return self
        for row in changed:
            snapshots[row] = orders[row]
            self._columns.set(row, orders[row])
        self._extend(added)
        return self

    def columns(self) -> Columns:
        """A copy of the rows as they are now, for building a frame off the core loop."""
        return self._columns.copy()

    def frame(self) -> pd.DataFrame:
        return orders_view(self.columns())


class FillTable:
    """Fills as columns of plain values. Only new fills are converted, as their events arrive or at the next
    look if an event was missed; a fill the session replaced (a fee posted after it was booked) starts the
    columns again.

    Like :class:`OrderTable`, use it on the core loop and build the frame from ``columns()``.
    """

    def __init__(self, fills: Sequence[Fill] = ()) -> None:
        self._reset(fills)

    def _reset(self, fills: Sequence[Fill]) -> None:
        self._seen: list[Fill] = []
        self._columns = Columns(Fill)
        self._extend(fills)

    def __len__(self) -> int:
        return len(self._seen)

    def _extend(self, fills: Sequence[Fill]) -> None:
        if not fills:
            return
        self._columns.extend(fills)
        self._seen.extend(fills)

    def on_event(self, event: OrderEvent) -> None:
        """Take a new fill as it happens (the manager's own object, so ``sync`` recognises it)."""
        if event.fill is not None:
            self._extend([event.fill])

    def sync(self, fills: Sequence[Fill]) -> FillTable:
        """Make the rows match ``fills`` (the manager's list, which only grows)."""
        seen = self._seen
        known = len(seen)
        if len(fills) < known or any(map(operator.is_not, fills, seen)):
            self._reset(fills)  # not the fills these rows came from (or one was amended): start again
        else:
            self._extend(fills[known:])
        return self

    def columns(self) -> Columns:
        return self._columns.copy()

    def frame(self) -> pd.DataFrame:
        return fills_view(self.columns())
