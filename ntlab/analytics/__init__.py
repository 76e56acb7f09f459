"""Execution-quality analytics (transaction-cost analysis) on plain DataFrames from any source.

``tca(orders, fills, quotes, trades=None, **options)`` → :class:`TCAReport`. Pure pandas/numpy; matplotlib
is imported only when a picture is asked for; Dask DataFrames (partitioned Parquet) run on a cluster
through :mod:`ntlab.analytics.distributed` and give the same numbers.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ntlab.analytics.fills import FillSums, fill_metrics
from ntlab.analytics.inputs import read_fills, read_orders, read_quotes, read_trades
from ntlab.analytics.market import LocalMarket
from ntlab.analytics.orders import main_venue, order_tables
from ntlab.analytics.report import Conventions, TCAReport
from ntlab.analytics.timeutil import parse_horizon
from ntlab.analytics.units import Units, resolve_units
from ntlab.errors import DataError

DEFAULT_HORIZONS = ("-5s", "0s", "1s", "5s", "1m", "5m")
REALIZED = ("15s", "1m")

__all__ = ["DEFAULT_HORIZONS", "REALIZED", "Conventions", "TCAReport", "tca"]


def tca(
    orders: Any,
    fills: Any,
    quotes: Any,
    trades: Any = None,
    *,
    horizons: Sequence[str] = DEFAULT_HORIZONS,
    realized: Sequence[str] = REALIZED,
    max_quote_age: str = "60s",
    impact_horizon: str = "5m",
    tape_includes_fills: bool = True,
    impact_coef: float = 1.0,
    sigma_bps: float | Mapping[str, float] | None = None,
    adv: float | Mapping[str, float] | None = None,
    session_minutes: float = 390,
    resamples: int = 500,
    level: float = 0.95,
    seed: int = 0,
    session: str | None = None,
    market_source: str | None = None,
) -> TCAReport:
    """Transaction-cost analysis of ``orders`` and their ``fills`` against ``quotes`` (and ``trades``).

    - orders: ``order_id, symbol, side, quantity, arrival_time``
      [+ ``decision_time, end_time, parent_id, algo, venue``]
    - fills: ``order_id, fill_id, time, price, quantity`` [+ ``fee, venue, liquidity``]
    - quotes: ``symbol, time, bid, ask``; trades (for VWAP, participation, ADV): ``symbol, time, price, size``

    **Parents first**: an order whose ``parent_id`` names another rolls up into it (see
    :mod:`ntlab.analytics.units`): ``report.orders`` holds parents and stand-alone orders, the units of
    implementation shortfall, and ``report.children`` the children, each against its own arrival and its
    parent's benchmarks. A parent is a row of ``orders`` (quantity, ``arrival_time`` = start, ``end_time``
    = end of its window) or, without one, derived from its children.

    Sides are "buy"/"sell" (any case) or +1/−1; prices may be Decimal; naive times are UTC; ids compare as
    text. Quotes and trades must be in time order per symbol. Bad input raises ``DataError`` saying what to fix.

    Mids come from backward as-of joins: NaN (never a guess) with no quote at or before the time, a quote
    older than ``max_quote_age``, or a time after the symbol's last quote. The decision mid is the arrival
    mid without ``decision_time``; the end mid is at ``end_time``, else at the last fill; an unfilled order
    without an end has no opportunity window, so its IS is NaN (``reason`` says so). Fees are currency
    (NaN = none). ``impact_horizon`` is how long after the last fill the mid is read for reversion and
    permanent impact. ``tape_includes_fills`` says whether the trades include the session's own fills (a
    real market's tape does; a simulated venue's sample market does not, and then the fills are added to
    the tape's volume for participation); the report shows which.
    The pre-trade estimate is ½·arrival spread + ``impact_coef``·σ·sqrt(X/ADV) in bps, with σ (daily, bps)
    and ADV per symbol from the options (one number or a dict by symbol) or else estimated from the data
    (see :mod:`ntlab.analytics.market`; ``session_minutes`` is the length of a trading day, 1440 for 24h
    markets). ``horizons`` are the markout horizons, ``realized`` the Rule 605 realized-spread horizons.
    Aggregates are notional-weighted with a ``level`` bootstrap CI of ``resamples`` draws clustered by day,
    seeded by ``seed`` so the same input gives the same interval. ``session`` and ``market_source`` name
    the data in the report's header.
    """
    conventions = Conventions(
        horizons=tuple(horizons),
        realized=tuple(realized),
        max_quote_age=max_quote_age,
        impact_horizon=impact_horizon,
        tape_includes_fills=tape_includes_fills,
        impact_coef=impact_coef,
        resamples=resamples,
        level=level,
        seed=seed,
        session=session,
        market_source=market_source,
    )
    options = {
        "session_minutes": session_minutes,
        "sigma_bps": sigma_bps,
        "adv": adv,
    }
    if _is_dask(orders, fills, quotes, trades):
        from ntlab.analytics.distributed import tca_dask

        return tca_dask(orders, fills, quotes, trades, conventions, **options)  # type: ignore[arg-type]
    order_data = read_orders(orders)
    fill_data = read_fills(fills, order_data)
    quote_data = read_quotes(quotes)
    trade_data = read_trades(trades)
    units = resolve_units(order_data)
    parents = order_data.parent if units.is_child.any() or "parent_id" in order_data.frame else None
    fill_frame = fill_metrics(
        fill_data, order_data, quote_data, horizons, realized, parse_horizon(max_quote_age), parents
    )
    sums = FillSums.of(fill_data, order_data.sign, fill_frame["mid"].to_numpy(), len(order_data.quantity))
    check_unit_fills(units, sums.filled)
    venues = None
    if "venue" not in order_data.frame and "venue" in fill_data.frame:
        venues = main_venue(fill_data, units.of_order[fill_data.order_index], len(units))
    order_frame, children = order_tables(
        order_data,
        units,
        sums,
        LocalMarket(quote_data, trade_data),
        fill_venues=venues,
        has_trades=trades is not None,
        **unit_options(conventions),
        **options,  # type: ignore[arg-type]
    )
    return TCAReport(order_frame, fill_frame, children, conventions)


def unit_options(conventions: Conventions) -> dict[str, Any]:
    return {
        "max_age_ns": parse_horizon(conventions.max_quote_age),
        "impact_coef": conventions.impact_coef,
        "impact_horizon_ns": parse_horizon(conventions.impact_horizon),
        "impact_horizon": conventions.impact_horizon,
        "tape_includes_fills": conventions.tape_includes_fills,
    }


def check_unit_fills(units: Units, filled_by_order: np.ndarray) -> None:
    """A parent cannot be filled beyond its quantity, whatever its children say."""
    if not units.is_child.any():
        return
    filled = np.bincount(units.of_order, weights=filled_by_order, minlength=len(units))
    over = filled > units.quantity * (1 + 1e-9)
    if over.any():
        k = int(np.flatnonzero(over)[0])
        raise DataError(
            f"fills: parent {units.ids[k]!r} has {filled[k]:g} filled of {units.quantity[k]:g} across its "
            "children; fix the parent's quantity or its children's fills"
        )


def _is_dask(*frames: object) -> bool:
    """Dask collections run on the cluster; checked by type, and only once dask has been imported."""
    if "dask.dataframe" not in sys.modules:
        return False
    import dask.dataframe as dd

    return any(isinstance(f, dd.DataFrame) for f in frames)
