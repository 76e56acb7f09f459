"""DataFrame views of orders, fills and positions, built from immutable snapshots.

Dtypes are chosen for analysis: tz-aware UTC timestamps, float64 numbers (Decimal stays in the core),
categories for side, type and status, and an index on the id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from operator import itemgetter

import numpy as np
import pandas as pd

from ntlab.core.enums import OrderStatus, OrderType, Side, TimeInForce
from ntlab.core.models import Fill, Order, Position

SIDES = pd.CategoricalDtype([s.value for s in Side])
TYPES = pd.CategoricalDtype([t.value for t in OrderType])
TIFS = pd.CategoricalDtype([t.value for t in TimeInForce])
STATUSES = pd.CategoricalDtype([s.value for s in OrderStatus])
LIQUIDITY = pd.CategoricalDtype(["maker", "taker"])


def _floats(values: Sequence[Decimal | None]) -> np.ndarray:
    try:
        return np.fromiter(map(float, values), dtype="float64", count=len(values))
    except TypeError:  # some are None
        return np.array([np.nan if v is None else float(v) for v in values], dtype="float64")


def _times(values: Sequence[object]) -> pd.DatetimeIndex:
    if not values:
        return pd.DatetimeIndex([], tz="UTC").as_unit("ns")
    return pd.DatetimeIndex(values).tz_convert("UTC").as_unit("ns")


ORDER_FIELDS = [
    "order_id",
    "symbol",
    "side",
    "order_type",
    "time_in_force",
    "status",
    "quantity",
    "filled_quantity",
    "limit_price",
    "stop_price",
    "avg_fill_price",
    "fees",
    "arrival_bid",
    "arrival_ask",
    "created_at",
    "updated_at",
    "reason_code",
    "reason",
    "parent_id",
    "tag",
    "venue",
    "broker_order_id",
    "external",
]


def _category(values: Sequence[object], dtype: pd.CategoricalDtype) -> pd.Categorical:
    """Enum values as categories; mapping through a dict keeps this linear and cheap."""
    codes = {v: i for i, v in enumerate(dtype.categories)}
    return pd.Categorical.from_codes([-1 if v is None else codes[str(v)] for v in values], dtype=dtype)


def orders_frame(orders: Sequence[Order]) -> pd.DataFrame:
    """One row per order, indexed by order_id, with arrival mid and live slippage in bps.

    ``slippage_bps`` is s·(average fill − arrival mid)/arrival mid·1e4 (positive = cost), NaN until filled.
    """
    if orders:
        rows = map(itemgetter(*ORDER_FIELDS), map(vars, orders))
        c = dict(zip(ORDER_FIELDS, zip(*rows, strict=True), strict=True))
    else:
        c = {name: () for name in ORDER_FIELDS}
    columns: dict[str, object] = {
        "symbol": pd.Categorical(c["symbol"]),
        "side": _category(c["side"], SIDES),
        "order_type": _category(c["order_type"], TYPES),
        "time_in_force": _category(c["time_in_force"], TIFS),
        "status": _category(c["status"], STATUSES),
        "quantity": _floats(c["quantity"]),
        "filled_quantity": _floats(c["filled_quantity"]),
        "limit_price": _floats(c["limit_price"]),
        "stop_price": _floats(c["stop_price"]),
        "avg_fill_price": _floats(c["avg_fill_price"]),
        "fees": _floats(c["fees"]),
        "arrival_bid": _floats(c["arrival_bid"]),
        "arrival_ask": _floats(c["arrival_ask"]),
        "created_at": _times(c["created_at"]),
        "updated_at": _times(c["updated_at"]),
        "reason_code": pd.array(c["reason_code"], dtype="string"),
        "reason": pd.array(c["reason"], dtype="string"),
        "parent_id": pd.array(c["parent_id"], dtype="string"),
        "tag": pd.array(c["tag"], dtype="string"),
        "venue": pd.array(c["venue"], dtype="string"),
        "broker_order_id": pd.array(c["broker_order_id"], dtype="string"),
        "external": np.array(c["external"], dtype=bool),
    }
    frame = pd.DataFrame(columns, index=pd.Index(list(c["order_id"]), name="order_id", dtype="string"))
    frame.insert(
        frame.columns.get_loc("filled_quantity") + 1,
        "remaining_quantity",
        frame["quantity"] - frame["filled_quantity"],
    )
    arrival_mid = (frame["arrival_bid"] + frame["arrival_ask"]) / 2
    frame.insert(frame.columns.get_loc("arrival_ask") + 1, "arrival_mid", arrival_mid)
    sign = np.where(frame["side"] == "buy", 1.0, -1.0)
    frame.insert(
        frame.columns.get_loc("arrival_mid") + 1,
        "slippage_bps",
        sign * (frame["avg_fill_price"] - arrival_mid) / arrival_mid * 1e4,
    )
    return frame


def fills_frame(fills: Sequence[Fill]) -> pd.DataFrame:
    """One row per execution, indexed by fill_id, with notional, fee and liquidity."""
    frame = pd.DataFrame(
        {
            "time": _times([f.time for f in fills]),
            "order_id": pd.array([f.order_id for f in fills], dtype="string"),
            "symbol": pd.Categorical([f.symbol for f in fills]),
            "side": _category([f.side for f in fills], SIDES),
            "quantity": _floats([f.quantity for f in fills]),
            "price": _floats([f.price for f in fills]),
            "fee": _floats([f.fee for f in fills]),
            "liquidity": _category([f.liquidity for f in fills], LIQUIDITY),
            "venue": pd.array([f.venue for f in fills], dtype="string"),
        },
        index=pd.Index([f.fill_id for f in fills], name="fill_id", dtype="string"),
    )
    frame.insert(6, "notional", frame["quantity"] * frame["price"])
    return frame


def positions_frame(positions: Sequence[Position], marks: Mapping[str, Decimal | None]) -> pd.DataFrame:
    """One row per symbol: quantity, average cost, mark (the mid), market value, realized/unrealized P&L."""
    frame = pd.DataFrame(
        {
            "quantity": _floats([p.quantity for p in positions]),
            "avg_cost": _floats([p.avg_cost for p in positions]),
            "mark": _floats([marks.get(p.symbol) for p in positions]),
            "realized_pnl": _floats([p.realized_pnl for p in positions]),
            "fees": _floats([p.fees for p in positions]),
        },
        index=pd.Index([p.symbol for p in positions], name="symbol", dtype="string"),
    )
    frame.insert(3, "market_value", frame["quantity"] * frame["mark"])
    unrealized = ((frame["mark"] - frame["avg_cost"]) * frame["quantity"]).where(frame["quantity"] != 0, 0.0)
    frame.insert(5, "unrealized_pnl", unrealized)
    frame["total_pnl"] = frame["realized_pnl"] + frame["unrealized_pnl"] - frame["fees"]
    return frame
