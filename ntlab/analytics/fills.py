"""Per-fill metrics: mid at the fill, spread paid, effective spread, markouts and Rule 605 realized spreads.

All in bps of the mid in force at the fill, s = +1 buy / −1 sell, positive = cost:

    spread_paid          s·(p − mid)/mid
    effective_spread     2s·(p − mid)/mid                    (mid "at receipt" = the quote the fill met)
    markout_h            s·(p − mid(t+h))/mid                (h < 0 looks before the fill)
    realized_spread_Δ    2s·(p − mid(t+Δ))/mid
    price_impact_Δ       2s·(mid(t+Δ) − mid)/mid             = effective − realized

Every mid is a backward as-of lookup (:mod:`ntlab.analytics.asof`): NaN where no fresh quote stands.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ntlab.analytics.asof import mids_at_offsets
from ntlab.analytics.inputs import Fills, Orders, Quotes, groups_of_codes
from ntlab.analytics.timeutil import BPS, parse_horizon, utc


def fill_metrics(
    fills: Fills,
    orders: Orders,
    quotes: Quotes,
    horizons: Sequence[str],
    realized: Sequence[str],
    max_age_ns: int,
) -> pd.DataFrame:
    """One row per fill, indexed by fill_id, with the fill's own columns first and the metrics after."""
    sign = orders.sign[fills.order_index]
    # fills of a symbol in time order: every searchsorted below then walks the quotes forward
    groups = groups_of_codes(orders.symbol_code[fills.order_index], orders.symbol_names, fills.time_ns)
    t = fills.time_ns
    p = fills.price
    offsets = [0] + [parse_horizon(h) for h in horizons] + [parse_horizon(d) for d in realized]
    mid, *later = mids_at_offsets(quotes, groups, t, offsets, max_age_ns)
    with np.errstate(invalid="ignore", divide="ignore"):
        paid = sign * (p - mid) / mid * BPS
        columns: dict[str, np.ndarray] = {
            "mid": mid,
            "spread_paid_bps": paid,
            "effective_spread_bps": 2 * paid,
        }
        for horizon, at_h in zip(horizons, later[: len(horizons)], strict=True):
            columns[f"markout_bps_{horizon}"] = sign * (p - at_h) / mid * BPS
        for delta, at_d in zip(realized, later[len(horizons) :], strict=True):
            columns[f"realized_spread_bps_{delta}"] = 2 * sign * (p - at_d) / mid * BPS
            columns[f"price_impact_bps_{delta}"] = 2 * sign * (at_d - mid) / mid * BPS
    # text columns as categoricals / the caller's arrays: no per-row string conversion at 1M fills
    head = {
        "order_id": fills.frame["order_id"].array,
        "fill_id": fills.frame["fill_id"].array,
        "time": utc(t),
        "symbol": pd.Categorical.from_codes(orders.symbol_code[fills.order_index], orders.symbol_names),
        "side": pd.Categorical.from_codes((sign < 0).astype(np.int8), ["buy", "sell"]),
        "price": p,
        "quantity": fills.quantity,
        "fee": fills.fee,
        "liquidity": fills.liquidity,
    }
    if "venue" in fills.frame:
        head["venue"] = fills.frame["venue"].array
    return pd.DataFrame({**head, **columns}).set_index("fill_id")
