"""DataFrame views of orders, fills and positions, built from immutable snapshots.

Dtypes are chosen for analysis: tz-aware UTC timestamps, float64 numbers (Decimal stays in the core),
categories for side, type and status, and an index on the id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

import numpy as np
import pandas as pd

from ntlab.core.records import Fill, Order, Position
from ntlab.lab.table import FillTable, OrderTable


def _floats(values: Sequence[Decimal | None]) -> np.ndarray:
    try:
        return np.fromiter(map(float, values), dtype="float64", count=len(values))
    except TypeError:  # some are None
        return np.array([np.nan if v is None else float(v) for v in values], dtype="float64")


def orders_frame(orders: Sequence[Order]) -> pd.DataFrame:
    """One row per order, indexed by order_id, with arrival mid and live slippage in bps.

    ``slippage_bps`` is s·(average fill − arrival mid)/arrival mid·1e4 (positive = cost), NaN until filled.
    A Lab keeps an :class:`~ntlab.lab.table.OrderTable` up to date instead of calling this on every look.
    """
    return OrderTable(orders).frame()


def fills_frame(fills: Sequence[Fill]) -> pd.DataFrame:
    """One row per execution, indexed by fill_id, with notional, fee and liquidity."""
    return FillTable(fills).frame()


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
