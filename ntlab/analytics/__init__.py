"""Execution-quality analytics (transaction-cost analysis) on plain DataFrames from any source."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ntlab.analytics.inputs import read_fills, read_orders, read_quotes, read_trades
from ntlab.analytics.metrics import fill_metrics, order_metrics, parse_horizon
from ntlab.analytics.report import TCAReport

DEFAULT_HORIZONS = ("-5s", "0s", "1s", "5s", "1m", "5m")
REALIZED = ("15s", "1m")

__all__ = ["DEFAULT_HORIZONS", "TCAReport", "tca"]


def tca(
    orders: pd.DataFrame,
    fills: pd.DataFrame,
    quotes: pd.DataFrame,
    trades: pd.DataFrame | None = None,
    *,
    horizons: Sequence[str] = DEFAULT_HORIZONS,
    realized: Sequence[str] = REALIZED,
    max_quote_age: str = "60s",
    impact_coef: float = 1.0,
    sigma_bps: dict[str, float] | None = None,
    adv: dict[str, float] | None = None,
    resamples: int = 500,
    level: float = 0.95,
    seed: int = 0,
) -> TCAReport:
    """Transaction-cost analysis of ``orders`` and their ``fills`` against ``quotes`` (and ``trades``).

    - orders: ``order_id, symbol, side, quantity, arrival_time`` [+ ``decision_time, end_time, algo, venue``]
    - fills: ``order_id, fill_id, time, price, quantity`` [+ ``fee, venue, liquidity``]
    - quotes: ``symbol, time, bid, ask``; trades (for VWAP, participation, ADV): ``symbol, time, price, size``

    Mids come from backward as-of joins; a quote older than ``max_quote_age`` or a time past the data gives NaN.
    The decision mid is the arrival mid without ``decision_time``; the end mid is at ``end_time``, else at the
    last fill (or arrival if nothing filled). The pre-trade estimate is ½·spread + impact_coef·σ·sqrt(X/ADV),
    with σ (daily, bps) and ADV from the data unless ``sigma_bps`` / ``adv`` give them per symbol.
    Aggregates are notional-weighted with a bootstrap CI clustered by day (seeded: the same input gives the
    same interval).
    """
    max_age_ns = parse_horizon(max_quote_age)
    order_data = read_orders(orders)
    fill_data = read_fills(fills, order_data)
    quote_data = read_quotes(quotes)
    trade_data = read_trades(trades)
    fill_frame = fill_metrics(fill_data, order_data, quote_data, horizons, realized, max_age_ns)
    order_frame = order_metrics(
        order_data, fill_data, fill_frame, quote_data, trade_data, max_age_ns, impact_coef, sigma_bps, adv
    )
    return TCAReport(
        order_frame,
        fill_frame,
        horizons=horizons,
        impact_coef=impact_coef,
        resamples=resamples,
        level=level,
        seed=seed,
    )
