"""Execution-quality analytics (transaction-cost analysis) on plain DataFrames from any source.

``tca(orders, fills, quotes, trades=None, **options)`` → :class:`TCAReport`. Pure pandas/numpy; matplotlib
is imported only when a picture is asked for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from ntlab.analytics.fills import fill_metrics
from ntlab.analytics.inputs import read_fills, read_orders, read_quotes, read_trades
from ntlab.analytics.orders import order_metrics
from ntlab.analytics.report import TCAReport
from ntlab.analytics.timeutil import parse_horizon

DEFAULT_HORIZONS = ("-5s", "0s", "1s", "5s", "1m", "5m")
REALIZED = ("15s", "1m")

__all__ = ["DEFAULT_HORIZONS", "REALIZED", "TCAReport", "tca"]


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
    sigma_bps: float | Mapping[str, float] | None = None,
    adv: float | Mapping[str, float] | None = None,
    session_minutes: float = 390,
    resamples: int = 500,
    level: float = 0.95,
    seed: int = 0,
) -> TCAReport:
    """Transaction-cost analysis of ``orders`` and their ``fills`` against ``quotes`` (and ``trades``).

    - orders: ``order_id, symbol, side, quantity, arrival_time`` [+ ``decision_time, end_time, algo, venue``]
    - fills: ``order_id, fill_id, time, price, quantity`` [+ ``fee, venue, liquidity``]
    - quotes: ``symbol, time, bid, ask``; trades (for VWAP, participation, ADV): ``symbol, time, price, size``

    Sides are "buy"/"sell" (any case) or +1/−1; prices may be Decimal; naive times are UTC; ids compare as
    text. Quotes and trades must be in time order per symbol. Bad input raises ``DataError`` saying what to fix.

    Mids come from backward as-of joins: NaN (never a guess) with no quote at or before the time, a quote
    older than ``max_quote_age``, or a time after the symbol's last quote. The decision mid is the arrival
    mid without ``decision_time``; the end mid is at ``end_time``, else at the last fill (arrival if nothing
    filled); a missing (NaT) decision or end time takes the same default. Fees are currency (NaN = none).
    The pre-trade estimate is ½·arrival spread + ``impact_coef``·σ·sqrt(X/ADV) in bps, with σ (daily, bps)
    and ADV per symbol from the options (one number or a dict by symbol) or else estimated from the data
    (see :mod:`ntlab.analytics.market`; ``session_minutes`` is the length of a trading day, 1440 for 24h
    markets). ``horizons`` are the markout horizons, ``realized`` the Rule 605 realized-spread horizons.
    Aggregates are notional-weighted with a ``level`` bootstrap CI of ``resamples`` draws clustered by day,
    seeded by ``seed`` so the same input gives the same interval.
    """
    max_age_ns = parse_horizon(max_quote_age)
    order_data = read_orders(orders)
    fill_data = read_fills(fills, order_data)
    quote_data = read_quotes(quotes)
    trade_data = read_trades(trades)
    fill_frame = fill_metrics(fill_data, order_data, quote_data, horizons, realized, max_age_ns)
    order_frame = order_metrics(
        order_data,
        fill_data,
        fill_frame["mid"].to_numpy(),
        quote_data,
        trade_data,
        max_age_ns=max_age_ns,
        impact_coef=impact_coef,
        session_minutes=session_minutes,
        sigma_bps=sigma_bps,
        adv=adv,
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
