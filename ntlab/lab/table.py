"""The orders and fills views kept row by row: an order is converted once per change, not once per look.

``lab.orders`` on a long session then costs copying a few columns, not re-reading every snapshot. Rows are
updated on the core loop as order events arrive, and every look first checks by identity that each row
still holds the manager's current snapshot (the manager keeps an order's snapshot until the order changes),
so a change that came without an event is picked up too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from typing import Any

import numpy as np
import pandas as pd

try:
    import pyarrow as pa
except ImportError:  # pandas keeps strings in Python objects then
    pa = None

from ntlab.core.enums import Liquidity, OrderStatus, OrderType, Side, TimeInForce
from ntlab.core.events import OrderEvent
from ntlab.core.records import Fill, Order

SIDES = pd.CategoricalDtype([s.value for s in Side])
TYPES = pd.CategoricalDtype([t.value for t in OrderType])
TIFS = pd.CategoricalDtype([t.value for t in TimeInForce])
STATUSES = pd.CategoricalDtype([s.value for s in OrderStatus])

_ARROW_STRINGS = pa is not None and pd.StringDtype().storage == "pyarrow"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_NAN = float("nan")


def _float(value: Any) -> float:
    return _NAN if value is None else float(value)


def _ns(value: datetime) -> int:
    if value.tzinfo is None:  # naive times are UTC
        value = value.replace(tzinfo=UTC)
    return (value - _EPOCH) // _MICROSECOND * 1000


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def string_array(values: list[str | None]) -> Any:
    """A pandas "string" array; through Arrow when that is its storage (a few times faster from a list)."""
    if _ARROW_STRINGS:
        return pd.array(pa.array(values, type=pa.large_string()), dtype="string")
    return pd.array(values, dtype="string")


def _coder(dtype: pd.CategoricalDtype, members: Any) -> Callable[[Any], int]:
    codes = {member: dtype.categories.get_loc(member.value) for member in members}
    return codes.__getitem__


# (column, how a snapshot's field becomes a plain value), in the frame's column order
_CONVERT: dict[str, Callable[[Any], Any]] = {
    "symbol": str,
    "side": _coder(SIDES, Side),
    "order_type": _coder(TYPES, OrderType),
    "time_in_force": _coder(TIFS, TimeInForce),
    "status": _coder(STATUSES, OrderStatus),
    "quantity": _float,
    "filled_quantity": _float,
    "limit_price": _float,
    "stop_price": _float,
    "avg_fill_price": _float,
    "fees": _float,
    "arrival_bid": _float,
    "arrival_ask": _float,
    "created_at": _ns,
    "updated_at": _ns,
    "reason_code": _text,
    "reason": _text,
    "parent_id": _text,
    "tag": _text,
    "venue": _text,
    "broker_order_id": _text,
    "external": bool,
}
_FIELDS = tuple(_CONVERT)
_CONVERTERS = tuple(_CONVERT.values())
_CODES = {"side": SIDES, "order_type": TYPES, "time_in_force": TIFS, "status": STATUSES}
_FLOATS = tuple(name for name, convert in _CONVERT.items() if convert is _float)
_TIMES = ("created_at", "updated_at")
_BUY = SIDES.categories.get_loc(Side.BUY.value)
_TEXTS = ("reason_code", "reason", "parent_id", "tag", "venue", "broker_order_id")


class OrderColumns:
    """A copy of the table's columns, taken on the core loop; turning it into a frame needs no lock."""

    __slots__ = ("columns", "ids")

    def __init__(self, ids: list[str], columns: dict[str, list[Any]]) -> None:
        self.ids = ids
        self.columns = columns

    def frame(self) -> pd.DataFrame:
        """One row per order, indexed by order_id, with remaining quantity, arrival mid and slippage.

        ``slippage_bps`` is s·(average fill − arrival mid)/arrival mid·1e4 (positive = cost), NaN until
        filled.
        """
        c = self.columns
        data: dict[str, Any] = {"symbol": pd.Categorical(c["symbol"])}
        for name, dtype in _CODES.items():
            data[name] = pd.Categorical.from_codes(np.array(c[name], dtype=np.int8), dtype=dtype)
        floats = {name: np.array(c[name], dtype="float64") for name in _FLOATS}
        for name in _FLOATS:
            data[name] = floats[name]
            if name == "filled_quantity":
                data["remaining_quantity"] = floats["quantity"] - floats["filled_quantity"]
        mid = (floats["arrival_bid"] + floats["arrival_ask"]) / 2
        sign = np.where(data["side"].codes == _BUY, 1.0, -1.0)
        data["arrival_mid"] = mid
        data["slippage_bps"] = sign * (floats["avg_fill_price"] - mid) / mid * 1e4
        for name in _TIMES:
            ns = np.array(c[name], dtype="int64").view("datetime64[ns]")
            data[name] = pd.DatetimeIndex(ns).tz_localize("UTC")
        for name in _TEXTS:
            data[name] = string_array(c[name])
        data["external"] = np.array(c["external"], dtype=bool)
        return pd.DataFrame(data, index=pd.Index(string_array(self.ids), name="order_id"))


class OrderTable:
    """Orders as columns of plain values, one row per order id, updated in place as orders change.

    Not thread-safe: use it on the core loop only (``update``/``sync``/``columns``) and build the frame
    from the copy ``columns()`` returns.
    """

    def __init__(self, orders: Sequence[Order] = ()) -> None:
        self._reset(orders)

    def _reset(self, orders: Sequence[Order]) -> None:
        self._rows: dict[str, int] = {}
        self._ids: list[str] = []
        self._snapshots: list[Order] = []
        self._columns: dict[str, list[Any]] = {name: [] for name in _FIELDS}
        self._extend(orders)

    def __len__(self) -> int:
        return len(self._ids)

    def _extend(self, orders: Sequence[Order]) -> None:
        """Append new orders column by column: the fast way to load many at once."""
        start = len(self._ids)
        ids = [o.order_id for o in orders]
        self._ids.extend(ids)
        self._snapshots.extend(orders)
        self._rows.update(zip(ids, range(start, start + len(ids)), strict=True))
        for name, convert in _CONVERT.items():
            self._columns[name].extend(map(convert, map(attrgetter(name), orders)))

    def _set(self, row: int, order: Order) -> None:
        self._snapshots[row] = order
        for column, name, convert in zip(self._columns.values(), _FIELDS, _CONVERTERS, strict=True):
            column[row] = convert(getattr(order, name))

    def update(self, order: Order) -> None:
        """Take one order's new snapshot (an order event's)."""
        row = self._rows.get(order.order_id)
        if row is None:
            self._extend([order])
        elif self._snapshots[row] is not order:
            self._set(row, order)

    def on_event(self, event: OrderEvent) -> None:
        self.update(event.order)

    def sync(self, orders: Sequence[Order]) -> OrderTable:
        """Make the rows match ``orders`` (the manager's list): only changed snapshots are converted."""
        snapshots, ids = self._snapshots, self._ids
        known = len(snapshots)
        changed = [row for row, (o, s) in enumerate(zip(orders, snapshots, strict=False)) if o is not s]
        added = orders[known:]
        if (
            len(orders) < known
            or any(orders[row].order_id != ids[row] for row in changed)
            or any(o.order_id in self._rows for o in added)
        ):
            self._reset(orders)  # not the list these rows came from: start again
            return self
        for row in changed:
            self._set(row, orders[row])
        self._extend(added)
        return self

    def columns(self) -> OrderColumns:
        """A copy of the rows as they are now, for building a frame off the core loop."""
        return OrderColumns(list(self._ids), {name: list(values) for name, values in self._columns.items()})

    def frame(self) -> pd.DataFrame:
        return self.columns().frame()


LIQUIDITY = pd.CategoricalDtype([liquidity.value for liquidity in Liquidity])
_FILL_CONVERT: dict[str, Callable[[Any], Any]] = {
    "fill_id": str,
    "time": _ns,
    "order_id": str,
    "symbol": str,
    "side": _coder(SIDES, Side),
    "quantity": _float,
    "price": _float,
    "fee": _float,
    "liquidity": lambda value: -1 if value is None else _LIQUIDITY_CODES[value],
    "venue": _text,
}
_LIQUIDITY_CODES = {member: LIQUIDITY.categories.get_loc(member.value) for member in Liquidity}


class FillTable:
    """Fills as columns of plain values. Fills never change, so only new ones are converted: as their
    events arrive, or at the next look if an event was missed.

    Like :class:`OrderTable`, use it on the core loop and build the frame from ``columns()``.
    """

    def __init__(self, fills: Sequence[Fill] = ()) -> None:
        self._reset(fills)

    def _reset(self, fills: Sequence[Fill]) -> None:
        self._last: Fill | None = None
        self._count = 0
        self._columns: dict[str, list[Any]] = {name: [] for name in _FILL_CONVERT}
        self._extend(fills)

    def __len__(self) -> int:
        return self._count

    def _extend(self, fills: Sequence[Fill]) -> None:
        if not fills:
            return
        for name, convert in _FILL_CONVERT.items():
            self._columns[name].extend(map(convert, map(attrgetter(name), fills)))
        self._count += len(fills)
        self._last = fills[-1]

    def on_event(self, event: OrderEvent) -> None:
        """Take a new fill as it happens (the manager's own object, so ``sync`` recognises it)."""
        if event.fill is not None:
            self._extend([event.fill])

    def sync(self, fills: Sequence[Fill]) -> FillTable:
        """Make the rows match ``fills`` (the manager's list, which only grows)."""
        known = self._count
        if len(fills) < known or (known and fills[known - 1] is not self._last):
            self._reset(fills)  # not the list these rows came from: start again
        else:
            self._extend(fills[known:])
        return self

    def columns(self) -> FillColumns:
        return FillColumns({name: list(values) for name, values in self._columns.items()})

    def frame(self) -> pd.DataFrame:
        return self.columns().frame()


class FillColumns:
    """A copy of a FillTable's columns; turning it into a frame needs no lock."""

    __slots__ = ("columns",)

    def __init__(self, columns: dict[str, list[Any]]) -> None:
        self.columns = columns

    def frame(self) -> pd.DataFrame:
        """One row per execution, indexed by fill_id, with notional, fee and liquidity."""
        c = self.columns
        quantity = np.array(c["quantity"], dtype="float64")
        price = np.array(c["price"], dtype="float64")
        return pd.DataFrame(
            {
                "time": pd.DatetimeIndex(
                    np.array(c["time"], dtype="int64").view("datetime64[ns]")
                ).tz_localize("UTC"),
                "order_id": string_array(c["order_id"]),
                "symbol": pd.Categorical(c["symbol"]),
                "side": pd.Categorical.from_codes(np.array(c["side"], dtype=np.int8), dtype=SIDES),
                "quantity": quantity,
                "price": price,
                "notional": quantity * price,
                "fee": np.array(c["fee"], dtype="float64"),
                "liquidity": pd.Categorical.from_codes(
                    np.array(c["liquidity"], dtype=np.int8), dtype=LIQUIDITY
                ),
                "venue": string_array(c["venue"]),
            },
            index=pd.Index(string_array(c["fill_id"]), name="fill_id"),
        )
