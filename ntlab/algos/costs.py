"""Side-by-side execution cost of parents (and plain orders): arrival slippage, fees and interval VWAP.

Conventions as in TCA: positive = cost, in basis points of the arrival mid. The arrival mid is the market's
mid when the parent's window opened (a plain order's: when it was placed); the interval VWAP is the tape's
over the time the parent actually traded. For the full report use :func:`ntlab.analytics.tca` on the
orders and fills; this table answers the one question "which way of working this order was cheapest".
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ntlab.algos.parent import ParentOrder
from ntlab.core.enums import Side
from ntlab.times import to_ns

if TYPE_CHECKING:
    from ntlab.core.manager import OrderManager
    from ntlab.market.frames import Market


def _mid_at(market: Market, symbol: str, t_ns: int) -> float:
    quotes = market.quote_arrays(symbol)
    i = int(np.searchsorted(quotes.time_ns, t_ns, side="right")) - 1
    if i < 0:
        return float("nan")
    return float((quotes.bid[i] + quotes.ask[i]) / 2)


def _vwap(market: Market, symbol: str, start_ns: int, end_ns: int) -> float:
    trades = market.trade_arrays(symbol)
    a, b = np.searchsorted(trades.time_ns, [start_ns, end_ns], side="right")
    size = trades.size[a:b]
    return float((trades.price[a:b] * size).sum() / size.sum()) if size.sum() > 0 else float("nan")


def cost_table(om: OrderManager, market: Market, runs: Mapping[str, ParentOrder | str]) -> pd.DataFrame:
    """One row per labelled run: a parent order, or the id of a plain order placed through ``om``."""
    fills = om.fills()
    rows = []
    for label, run in runs.items():
        if isinstance(run, ParentOrder):
            ids = set(run.children)
            symbol, side, quantity = run.params.symbol, run.params.side, run.params.quantity
            start_ns, children = to_ns(run.params.start), len(run.children)
        else:
            order = om.order(run)
            ids = {run}
            symbol, side, quantity = order.symbol, order.side, order.quantity
            start_ns, children = to_ns(order.created_at), 0
        mine = [f for f in fills if f.order_id in ids]
        filled = sum((f.quantity for f in mine), Decimal(0))
        notional = sum((f.quantity * f.price for f in mine), Decimal(0))
        fees = sum((f.fee for f in mine), Decimal(0))
        sign = 1.0 if side is Side.BUY else -1.0
        arrival = _mid_at(market, symbol, start_ns)
        avg = float(notional / filled) if filled else float("nan")
        last_ns = max((to_ns(f.time) for f in mine), default=start_ns)
        vwap = _vwap(market, symbol, start_ns, last_ns)
        rows.append(
            {
                "run": label,
                "symbol": symbol,
                "side": side.value,
                "quantity": float(quantity),
                "filled": float(filled),
                "children": children,
                "venues": ", ".join(sorted({f.venue or "" for f in mine})),
                "arrival_mid": round(arrival, 4),
                "avg_price": round(avg, 4),
                "arrival_slippage_bps": round(sign * (avg - arrival) / arrival * 1e4, 2),
                "fees_bps": round(float(fees) / (float(filled) * arrival) * 1e4, 2)
                if filled
                else float("nan"),
                "interval_vwap": round(vwap, 4),
                "vwap_slippage_bps": round(sign * (avg - vwap) / vwap * 1e4, 2),
                "minutes": round((last_ns - start_ns) / 60e9, 1),
            }
        )
    frame = pd.DataFrame(rows).set_index("run")
    frame["total_cost_bps"] = frame["arrival_slippage_bps"] + frame["fees_bps"]
    return frame
