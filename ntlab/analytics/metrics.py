"""Per-fill and per-order execution metrics, vectorised over numpy arrays.

Conventions: s = +1 for buys, −1 for sells; every cost is positive when it costs money. Per order, with
quantity X, filled Xf, average price P̄, decision mid Pd, arrival mid P0, end mid PN and fees F:

    is_cost     = s·(Σx·p − Xf·Pd) + s·(X−Xf)·(PN−Pd) + F
    delay       = s·X·(P0−Pd)       trading = s·Xf·(P̄−P0)       opportunity = s·(X−Xf)·(PN−P0)

so is_cost = delay + trading + opportunity + F, and each ``*_bps`` is over the paper notional X·Pd.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ntlab.analytics.asof import quote_at
from ntlab.analytics.inputs import Fills, Orders, Quotes, Trades, groups_of_codes

BPS = 1e4
NS = 1_000_000_000
SESSION_MINUTES = 390


def utc(ns: np.ndarray) -> pd.DatetimeIndex:
    """int64 nanoseconds as tz-aware UTC timestamps, without a trip through Python objects."""
    return pd.DatetimeIndex(np.asarray(ns, dtype="int64").view("datetime64[ns]")).tz_localize("UTC")


def parse_horizon(horizon: str) -> int:
    """'-5s', '0s', '1m', '5m' → nanoseconds ('m' means minutes here, as traders write it)."""
    text = horizon.strip().lower()
    if text.endswith("m") and not text.endswith("ms"):
        text = text[:-1] + "min"
    return int(pd.Timedelta(text).value)


def fill_metrics(
    fills: Fills,
    orders: Orders,
    quotes: Quotes,
    horizons: Sequence[str],
    realized: Sequence[str],
    max_age_ns: int,
) -> pd.DataFrame:
    """mid, spread paid, effective spread, markouts and Rule 605 realized spreads for every fill."""
    sign = orders.sign[fills.order_index]
    symbols = orders.symbol[fills.order_index]
    groups = groups_of_codes(orders.symbol_code[fills.order_index], orders.symbol_names, fills.time_ns)
    t = fills.time_ns
    p = fills.price
    mid, _ = quote_at(quotes, groups, t, max_age_ns)
    columns: dict[str, np.ndarray] = {
        "mid": mid,
        "spread_paid_bps": sign * (p - mid) / mid * BPS,
        "effective_spread_bps": 2 * sign * (p - mid) / mid * BPS,
    }
    for horizon in horizons:
        later, _ = quote_at(quotes, groups, t + parse_horizon(horizon), max_age_ns)
        columns[f"markout_bps_{horizon}"] = sign * (p - later) / mid * BPS
    for delta in realized:
        later, _ = quote_at(quotes, groups, t + parse_horizon(delta), max_age_ns)
        columns[f"realized_spread_bps_{delta}"] = 2 * sign * (p - later) / mid * BPS
        columns[f"price_impact_bps_{delta}"] = 2 * sign * (later - mid) / mid * BPS
    frame = pd.DataFrame(columns, index=fills.frame.index)
    frame.insert(0, "order_id", fills.frame["order_id"].to_numpy())
    frame.insert(1, "fill_id", fills.frame["fill_id"].to_numpy())
    frame.insert(2, "time", utc(t))
    frame.insert(3, "symbol", symbols)
    frame.insert(4, "side", np.where(sign > 0, "buy", "sell"))
    frame.insert(5, "price", p)
    frame.insert(6, "quantity", fills.quantity)
    frame.insert(7, "fee", fills.fee)
    frame.insert(8, "liquidity", fills.liquidity)
    for extra in ("venue",):
        if extra in fills.frame:
            frame[extra] = fills.frame[extra].to_numpy()
    return frame.set_index("fill_id")


def _per_order(values: np.ndarray, index: np.ndarray, size: int) -> np.ndarray:
    return np.bincount(index, weights=values, minlength=size)


def _interval(
    series: dict[str, tuple[np.ndarray, ...]],
    groups: list[tuple[str, np.ndarray]],
    start: np.ndarray,
    end: np.ndarray,
) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """For each symbol: the order rows and the [start, end] index ranges into that symbol's series."""
    out = []
    for symbol, rows in groups:
        found = series.get(symbol)
        if found is None:
            continue
        times = found[0]
        lo = np.searchsorted(times, start[rows], side="left")
        hi = np.searchsorted(times, end[rows], side="right")
        out.append((symbol, rows, lo, hi))
    return out


def market_context(
    orders: Orders, trades: Trades, quotes: Quotes, end_ns: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Interval VWAP and volume from trades, and TWAP of mids, over each order's life."""
    n = len(orders.quantity)
    vwap = np.full(n, np.nan)
    volume = np.full(n, np.nan)
    twap = np.full(n, np.nan)
    groups = groups_of_codes(orders.symbol_code, orders.symbol_names)
    for symbol, rows, lo, hi in _interval(trades.by_symbol, groups, orders.arrival_ns, end_ns):
        _, price, size = trades.by_symbol[symbol]
        notional = np.concatenate(([0.0], np.cumsum(price * size)))
        shares = np.concatenate(([0.0], np.cumsum(size)))
        traded = shares[hi] - shares[lo]
        volume[rows] = traded
        with np.errstate(invalid="ignore", divide="ignore"):
            vwap[rows] = np.where(traded > 0, (notional[hi] - notional[lo]) / traded, np.nan)
    for symbol, rows, lo, hi in _interval(quotes.by_symbol, groups, orders.arrival_ns, end_ns):
        _, mid, _ = quotes.by_symbol[symbol]
        cumulative = np.concatenate(([0.0], np.cumsum(mid)))
        count = hi - lo
        with np.errstate(invalid="ignore", divide="ignore"):
            twap[rows] = np.where(count > 0, (cumulative[hi] - cumulative[lo]) / np.maximum(count, 1), np.nan)
    return vwap, volume, twap


def daily_stats(quotes: Quotes, trades: Trades, symbols: Sequence[str]) -> dict[str, tuple[float, float]]:
    """Per symbol: daily volatility in bps (from 1-minute mid returns) and average daily volume."""
    stats = {}
    for symbol in symbols:
        if symbol not in quotes.by_symbol:
            continue
        times, mid, _ = quotes.by_symbol[symbol]
        minute = times // (60 * NS)
        last_of_minute = np.flatnonzero(np.append(np.diff(minute) != 0, True))
        returns = np.diff(np.log(mid[last_of_minute]))
        sigma = float(np.std(returns) * np.sqrt(SESSION_MINUTES) * BPS) if len(returns) > 1 else np.nan
        days = max(1, len(np.unique(times // (86_400 * NS))))
        traded = trades.by_symbol.get(symbol)
        adv = float(traded[2].sum() / days) if traded is not None and len(traded[2]) else np.nan
        stats[symbol] = (sigma, adv)
    return stats


def order_metrics(
    orders: Orders,
    fills: Fills,
    fill_frame: pd.DataFrame,
    quotes: Quotes,
    trades: Trades,
    max_age_ns: int,
    impact_coef: float,
    sigma_bps: dict[str, float] | None,
    adv: dict[str, float] | None,
) -> pd.DataFrame:
    n = len(orders.quantity)
    s = orders.sign
    X = orders.quantity
    idx = fills.order_index
    Xf = _per_order(fills.quantity, idx, n)
    notional = _per_order(fills.quantity * fills.price, idx, n)
    fees = _per_order(fills.fee, idx, n)
    last_fill = np.full(n, np.iinfo(np.int64).min)
    np.maximum.at(last_fill, idx, fills.time_ns)
    if orders.end_ns is not None:
        end_ns = orders.end_ns
    else:
        end_ns = np.where(last_fill > np.iinfo(np.int64).min, last_fill, orders.arrival_ns)
    groups = groups_of_codes(orders.symbol_code, orders.symbol_names)
    P0, spread0 = quote_at(quotes, groups, orders.arrival_ns, max_age_ns)
    Pd, _ = quote_at(quotes, groups, orders.decision_ns, max_age_ns)
    PN, _ = quote_at(quotes, groups, end_ns, max_age_ns)
    with np.errstate(invalid="ignore", divide="ignore"):
        avg = np.where(Xf > 0, notional / np.where(Xf > 0, Xf, 1), np.nan)
        unfilled = X - Xf
        opportunity_leg = np.where(unfilled > 0, s * unfilled * (PN - Pd), 0.0)
        is_cost = s * (notional - Xf * Pd) + opportunity_leg + fees
        delay = s * X * (P0 - Pd)
        trading = np.where(Xf > 0, s * Xf * (avg - P0), 0.0)
        opportunity = np.where(unfilled > 0, s * unfilled * (PN - P0), 0.0)
        paper = X * Pd
        fill_mid_notional = _per_order(fills.quantity * fill_frame["mid"].to_numpy(), idx, n)
        spread_paid = _per_order(
            np.nan_to_num(s[idx] * fills.quantity * (fills.price - fill_frame["mid"].to_numpy())), idx, n
        )
        vwap, volume, twap = market_context(orders, trades, quotes, end_ns)
        stats = daily_stats(quotes, trades, orders.symbol_names)
        sigma = np.array(
            [(sigma_bps or {}).get(sym, stats.get(sym, (np.nan, np.nan))[0]) for sym in orders.symbol]
        )
        daily_volume = np.array(
            [(adv or {}).get(sym, stats.get(sym, (np.nan, np.nan))[1]) for sym in orders.symbol]
        )
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
                "is_cost": is_cost,
                "is_bps": is_cost / paper * BPS,
                "delay_bps": delay / paper * BPS,
                "trading_bps": trading / paper * BPS,
                "opportunity_bps": opportunity / paper * BPS,
                "fees": fees,
                "fees_bps": fees / paper * BPS,
                "arrival_slippage_bps": s * (avg - P0) / P0 * BPS,
                "vwap_slippage_bps": s * (avg - vwap) / vwap * BPS,
                "twap_slippage_bps": s * (avg - twap) / twap * BPS,
                "spread_paid_bps": np.where(Xf > 0, spread_paid / fill_mid_notional * BPS, np.nan),
                "participation": np.where(volume > 0, Xf / volume, np.nan),
                "pretrade_estimate_bps": 0.5 * spread0 / P0 * BPS
                + impact_coef * sigma * np.sqrt(X / daily_volume),
                "arrival_time": utc(orders.arrival_ns),
                "end_time": utc(end_ns),
            },
            index=orders.frame.index,
        )
    for extra in ("algo", "venue"):
        if extra in orders.frame:
            frame[extra] = orders.frame[extra].to_numpy()
    return frame
