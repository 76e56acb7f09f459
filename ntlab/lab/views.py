"""DataFrame views of orders, fills and positions, built from immutable snapshots.

Dtypes are chosen for analysis: tz-aware UTC timestamps, float64 numbers (Decimal stays in the core),
categories for side, type and status, and an index on the id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

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
    return np.array([np.nan if v is None else float(v) for v in values], dtype="float64")


def _times(values: Sequence[object]) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.to_datetime(list(values), utc=True)).as_unit("ns")


def _category(values: Sequence[object], dtype: pd.CategoricalDtype) -> pd.Categorical:
    return pd.Categorical([None if v is None else str(v) for v in values], dtype=dtype)


def orders_frame(orders: Sequence[Order]) -> pd.DataFrame:
    """One row per order, indexed by order_id, with arrival mid and live slippage in bps.

    ``slippage_bps`` is s·(average fill − arrival mid)/arrival mid·1e4 (positive = cost), NaN until filled.
    """
    columns: dict[str, object] = {
        "symbol": pd.Categorical([o.symbol for o in orders]),
        "side": _category([o.side for o in orders], SIDES),
        "order_type": _category([o.order_type for o in orders], TYPES),
        "time_in_force": _category([o.time_in_force for o in orders], TIFS),
        "status": _category([o.status for o in orders], STATUSES),
        "quantity": _floats([o.quantity for o in orders]),
        "filled_quantity": _floats([o.filled_quantity for o in orders]),
        "limit_price": _floats([o.limit_price for o in orders]),
        "stop_price": _floats([o.stop_price for o in orders]),
        "avg_fill_price": _floats([o.avg_fill_price for o in orders]),
        "fees": _floats([o.fees for o in orders]),
        "arrival_bid": _floats([o.arrival_bid for o in orders]),
        "arrival_ask": _floats([o.arrival_ask for o in orders]),
        "created_at": _times([o.created_at for o in orders]),
        "updated_at": _times([o.updated_at for o in orders]),
        "reason_code": pd.array([o.reason_code for o in orders], dtype="string"),
        "reason": pd.array([o.reason for o in orders], dtype="string"),
        "parent_id": pd.array([o.parent_id for o in orders], dtype="string"),
        "tag": pd.array([o.tag for o in orders], dtype="string"),
        "venue": pd.array([o.venue for o in orders], dtype="string"),
        "broker_order_id": pd.array([o.broker_order_id for o in orders], dtype="string"),
        "external": np.array([o.external for o in orders], dtype=bool),
    }
    frame = pd.DataFrame(
        columns, index=pd.Index([o.order_id for o in orders], name="order_id", dtype="string")
    )
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
