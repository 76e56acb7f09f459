"""Per-order metrics: implementation shortfall and its parts, benchmark slippage, participation, pre-trade.

Conventions: s = +1 buy, −1 sell; every cost is positive when it costs money. With quantity X, filled Xf,
average price P̄, decision mid Pd, arrival mid P0, end mid PN and fees F (currency):

    is_cost     = s·(Σx·p − Xf·Pd) + s·(X−Xf)·(PN−Pd) + F
    delay       = s·X·(P0−Pd)       trading = s·Xf·(P̄−P0)       opportunity = s·(X−Xf)·(PN−P0)

so is_cost = delay + trading + opportunity + F, and each IS ``*_bps`` is over the paper notional X·Pd.
Benchmark slippage is s·(P̄ − B)/B (B = arrival mid, interval VWAP, TWAP); ``spread_paid_bps`` is
Σ s·x·(p − mid)/Σ x·mid over the order's fills. Times: Pd at ``decision_time`` (arrival without one), PN at
``end_time`` (else the last fill, or arrival when nothing filled).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ntlab.analytics.asof import quote_at
from ntlab.analytics.inputs import MISSING_NS, Fills, Orders, Quotes, Trades
from ntlab.analytics.market import interval_twap, interval_vwap, order_groups, pretrade_inputs
from ntlab.analytics.timeutil import BPS, utc


def _sum_by_order(values: np.ndarray, index: np.ndarray, size: int) -> np.ndarray:
    return np.bincount(index, weights=values, minlength=size)


def end_times(orders: Orders, fills: Fills) -> np.ndarray:
    """The given end time, else the last fill, else arrival (nothing filled: no time passed)."""
    last_fill = np.full(len(orders.quantity), MISSING_NS)
    np.maximum.at(last_fill, fills.order_index, fills.time_ns)
    default = np.where(last_fill != MISSING_NS, last_fill, orders.arrival_ns)
    return np.where(orders.end_ns != MISSING_NS, orders.end_ns, default)


def order_metrics(
    orders: Orders,
    fills: Fills,
    fill_mid: np.ndarray,
    quotes: Quotes,
    trades: Trades,
    *,
    max_age_ns: int,
    impact_coef: float,
    session_minutes: float,
    sigma_bps: float | Mapping[str, float] | None,
    adv: float | Mapping[str, float] | None,
) -> pd.DataFrame:
    """One row per order, indexed by order_id; ``fill_mid`` is the mid at each fill (from the fill table)."""
    n = len(orders.quantity)
    s, X, idx = orders.sign, orders.quantity, fills.order_index
    Xf = _sum_by_order(fills.quantity, idx, n)
    filled_notional = _sum_by_order(fills.quantity * fills.price, idx, n)
    fees = _sum_by_order(fills.fee, idx, n)
    end_ns = end_times(orders, fills)
    groups = order_groups(orders)
    P0, spread0 = quote_at(quotes, groups, orders.arrival_ns, max_age_ns)
    Pd, _ = quote_at(quotes, groups, orders.decision_ns, max_age_ns)
    PN, _ = quote_at(quotes, groups, end_ns, max_age_ns)
    vwap, volume = interval_vwap(trades, groups, orders.arrival_ns, end_ns)
    twap = interval_twap(quotes, groups, orders.arrival_ns, end_ns, max_age_ns)
    sigma, daily_volume = pretrade_inputs(orders, quotes, trades, session_minutes, sigma_bps, adv)
    with np.errstate(invalid="ignore", divide="ignore"):
        avg = np.where(Xf > 0, filled_notional / np.where(Xf > 0, Xf, 1), np.nan)
        unfilled = X - Xf
        has_rest = unfilled > 1e-12 * X  # a fully filled order has no opportunity leg, even if PN is unknown
        is_cost = s * (filled_notional - Xf * Pd) + np.where(has_rest, s * unfilled * (PN - Pd), 0.0) + fees
        delay = s * X * (P0 - Pd)
        trading = np.where(Xf > 0, s * Xf * (avg - P0), 0.0)
        opportunity = np.where(has_rest, s * unfilled * (PN - P0), 0.0)
        paper = X * Pd
        mid_notional = _sum_by_order(np.nan_to_num(fills.quantity * fill_mid), idx, n)
        priced = _sum_by_order(np.isfinite(fill_mid).astype(float), idx, n) == np.bincount(idx, minlength=n)
        spread_paid = _sum_by_order(np.nan_to_num(s[idx] * fills.quantity * (fills.price - fill_mid)), idx, n)
        arrival_spread_bps = spread0 / P0 * BPS
        frame = pd.DataFrame(
            {
                "symbol": orders.symbol,
                "side": np.where(s > 0, "buy", "sell"),
                "quantity": X,
                "filled_quantity": Xf,
                "avg_price": avg,
                "fill_rate": Xf / X,
                "decision_mid": Pd,
                "arrival_mid": P0,
                "end_mid": PN,
                "notional": paper,
                "filled_notional": filled_notional,
                "is_cost": is_cost,
                "is_bps": is_cost / paper * BPS,
                "delay_bps": delay / paper * BPS,
                "trading_bps": trading / paper * BPS,
                "opportunity_bps": opportunity / paper * BPS,
                "fees": fees,
                "fees_bps": fees / paper * BPS,
                "arrival_slippage_bps": s * (avg - P0) / P0 * BPS,
                "vwap": vwap,
                "vwap_slippage_bps": s * (avg - vwap) / vwap * BPS,
                "twap": twap,
                "twap_slippage_bps": s * (avg - twap) / twap * BPS,
                "spread_paid_bps": np.where((Xf > 0) & priced, spread_paid / mid_notional * BPS, np.nan),
                "market_volume": volume,
                "participation": np.where(volume > 0, Xf / volume, np.nan),
                "arrival_spread_bps": arrival_spread_bps,
                "sigma_bps": sigma,
                "adv": daily_volume,
                "pretrade_estimate_bps": 0.5 * arrival_spread_bps
                + impact_coef * sigma * np.sqrt(X / daily_volume),
                "arrival_time": utc(orders.arrival_ns),
                "end_time": utc(end_ns),
            },
            index=orders.frame.index,
        )
    for extra in ("algo", "venue"):
        if extra in orders.frame:
            frame[extra] = orders.frame[extra].to_numpy()
    if "venue" not in frame and "venue" in fills.frame:
        frame["venue"] = main_venue(fills, n)
    return frame


def main_venue(fills: Fills, n: int) -> np.ndarray:
    """Per order, the venue that filled most of it (NaN when unfilled), so ``by("venue")`` works on
    data whose venues are recorded per fill only."""
    venue = np.full(n, np.nan, dtype=object)
    if not len(fills.quantity):
        return venue
    table = pd.DataFrame(
        {"order": fills.order_index, "venue": fills.frame["venue"].array, "x": fills.quantity}
    )
    per = table.groupby(["order", "venue"], observed=True, sort=False)["x"].sum().reset_index()
    top = per.sort_values("x", ascending=False, kind="stable").drop_duplicates("order")
    venue[top["order"].to_numpy()] = top["venue"].to_numpy()
    return venue
