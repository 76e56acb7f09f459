"""Per-order metrics: implementation shortfall and its parts, benchmarks, impact, participation, pre-trade.

The unit is the parent order (:mod:`ntlab.analytics.units`): a parent's fills are its children's.
Conventions: s = +1 buy, −1 sell; every cost is positive when it costs money. With quantity X, filled Xf,
average price P̄, decision mid Pd, arrival mid P0, end mid PN and fees F (currency):

    is_cost     = s·(Σx·p − Xf·Pd) + s·(X−Xf)·(PN−Pd) + F
    delay       = s·X·(P0−Pd)       trading = s·Xf·(P̄−P0)       opportunity = s·(X−Xf)·(PN−P0)

so is_cost = delay + trading + opportunity + F, and each IS ``*_bps`` is over the paper notional X·Pd.
Benchmark slippage is s·(P̄ − B)/B (B = arrival mid, interval VWAP, TWAP); ``spread_paid_bps`` is
Σ s·x·(p − mid)/Σ x·mid over the order's fills.

Times: Pd at ``decision_time`` (arrival without one); PN at ``end_time``, the end of the opportunity
window (else the last fill); an order's life, over which VWAP, TWAP and market volume are taken, runs
from arrival to that end (a parent that completed early is best given its completion as its end).

Impact, in bps of P0, from the mid at the last fill PL and the mid ``impact_horizon`` later PH:

    timing_bps = s·(PL − P0)      the move while trading (the market's drift and our impact on the mid)
    reversion_bps = s·(PL − PH)   what came back after the last fill: the temporary impact
    permanent_impact_bps = s·(PH − P0) = timing − reversion: the move that stayed (drift included)

Participation is Xf over the tape's volume in the order's life; when the tape does not include the
session's own fills (a simulated venue's market) they are added to it: Xf / (tape + Xf).
Anything that cannot be computed is NaN and ``reason`` says why; a cost is never a silent 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ntlab.analytics.fills import FillSums
from ntlab.analytics.inputs import MISSING_NS, Fills, Orders, groups_of_codes
from ntlab.analytics.market import (
    Asked,
    MarketData,
    interval_pieces,
    interval_twap,
    interval_vwap,
    pretrade_inputs,
)
from ntlab.analytics.timeutil import BPS, utc
from ntlab.analytics.units import Units


def reasons(flags: Sequence[tuple[np.ndarray, str]], n: int) -> np.ndarray:
    """Per row, the messages whose flag is set, joined with "; " ("" when every metric was computed)."""
    bits = np.zeros(n, dtype=np.int64)
    for k, (flag, _) in enumerate(flags):
        bits |= flag.astype(np.int64) << k
    distinct, inverse = np.unique(bits, return_inverse=True)
    text = ["; ".join(msg for k, (_, msg) in enumerate(flags) if code >> k & 1) for code in distinct]
    return np.array(text, dtype=object)[inverse]


def _time_or_nat(ns: np.ndarray) -> pd.DatetimeIndex:
    return utc(np.where(ns == MISSING_NS, np.iinfo(np.int64).min, ns))


def order_tables(
    orders: Orders,
    units: Units,
    fill_sums: FillSums,
    market: MarketData,
    *,
    fill_venues: np.ndarray | None,
    has_trades: bool,
    max_age_ns: int,
    impact_coef: float,
    impact_horizon_ns: int,
    impact_horizon: str,
    tape_includes_fills: bool,
    session_minutes: float,
    sigma_bps: float | Mapping[str, float] | None,
    adv: float | Mapping[str, float] | None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(units: parents and stand-alone orders, children) as DataFrames indexed by order_id.

    ``fill_sums`` are per order row; they roll up into units here. ``fill_venues`` is each unit's main
    venue from its fills, for data whose orders carry no venue.
    """
    names = list(orders.symbol_names)
    n = len(units)
    sums = fill_sums.rolled_up(units.of_order, n)
    s, X = units.sign, units.quantity
    Xf, fees = sums.filled, sums.fees
    has_fill = Xf > 0
    rest = X - Xf
    has_rest = rest > 1e-12 * X  # a fully filled order has no opportunity leg, even if PN is unknown
    end_given = units.end_ns != MISSING_NS
    end_ns = np.where(end_given, units.end_ns, np.where(has_fill, sums.last_ns, MISSING_NS))
    life_end = end_ns
    has_life = life_end != MISSING_NS
    child_rows = np.flatnonzero(units.is_child)

    # every mid and interval this table needs, asked at once (one round trip on a cluster)
    arrival = units.arrival_ns
    asked_times = [
        arrival,
        units.decision_ns,
        np.where(end_ns != MISSING_NS, end_ns, arrival),
        np.where(has_fill, sums.last_ns, arrival),
        np.where(has_fill, sums.last_ns + impact_horizon_ns, arrival),
        np.where(has_life, life_end, arrival),
        orders.arrival_ns[child_rows],
    ]
    codes = np.concatenate([units.symbol_code] * 6 + [orders.symbol_code[child_rows]])
    groups = groups_of_codes(units.symbol_code, names)
    life_safe = np.where(has_life, life_end, arrival)
    twap_asked, trades_asked = interval_pieces(market, groups, arrival, life_safe)
    answered = market.answer(
        Asked(codes, names, np.concatenate(asked_times), max_age_ns, twap_asked, trades_asked)
    )
    P0, Pd, PN, PL, PH, P_life, child_P0 = np.split(answered.mid, np.cumsum([n] * 6))
    spread0 = answered.spread[:n]
    PN = np.where(end_ns != MISSING_NS, PN, np.nan)
    PL, PH = np.where(has_fill, PL, np.nan), np.where(has_fill, PH, np.nan)
    P_life = np.where(has_life, P_life, np.nan)
    vwap, volume = interval_vwap(groups, n, trades_asked, answered.trades)
    volume = np.where(has_life, volume, np.nan)
    vwap = np.where(has_life, vwap, np.nan)
    twap = interval_twap(groups, twap_asked, answered.twap, P0, P_life)
    twap = np.where(has_life, twap, np.nan)
    sigma_sym, adv_sym = pretrade_inputs(market, names, session_minutes, sigma_bps, adv)
    sigma, daily_volume = sigma_sym[units.symbol_code], adv_sym[units.symbol_code]

    with np.errstate(invalid="ignore", divide="ignore"):
        avg = np.where(has_fill, sums.notional / np.where(has_fill, Xf, 1), np.nan)
        is_cost = s * (sums.notional - Xf * Pd) + np.where(has_rest, s * rest * (PN - Pd), 0.0) + fees
        delay = s * X * (P0 - Pd)
        trading = np.where(has_fill, s * Xf * (avg - P0), 0.0)
        opportunity = np.where(has_rest, s * rest * (PN - P0), 0.0)
        paper = X * Pd
        own = 0.0 if tape_includes_fills else Xf
        tape = volume + own
        participation = np.where(tape > 0, Xf / tape, np.nan)
        arrival_spread_bps = spread0 / P0 * BPS
        pretrade = 0.5 * arrival_spread_bps + impact_coef * sigma * np.sqrt(X / daily_volume)
        is_bps = is_cost / paper * BPS
        spread_ok = has_fill & (sums.priced == sums.fills)
        columns: dict[str, object] = {
            "symbol": np.asarray(names, dtype=object)[units.symbol_code],
            "side": np.where(s > 0, "buy", "sell"),
            "quantity": X,
            "filled_quantity": Xf,
            "avg_price": avg,
            "fill_rate": Xf / X,
            "decision_mid": Pd,
            "arrival_mid": P0,
            "end_mid": PN,
            "notional": paper,
            "filled_notional": sums.notional,
            "is_cost": is_cost,
            "is_bps": is_bps,
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
            "spread_paid_bps": np.where(spread_ok, sums.spread_paid / sums.mid_notional * BPS, np.nan),
            "timing_bps": s * (PL - P0) / P0 * BPS,
            "reversion_bps": s * (PL - PH) / P0 * BPS,
            "permanent_impact_bps": s * (PH - P0) / P0 * BPS,
            "market_volume": volume,
            "participation": participation,
            "arrival_spread_bps": arrival_spread_bps,
            "sigma_bps": sigma,
            "adv": daily_volume,
            "pretrade_estimate_bps": pretrade,
            "is_vs_pretrade_bps": is_bps - pretrade,
        }
    decided_apart = units.decision_ns != arrival
    no_trades_msg = (
        "no trades given: no VWAP, participation or ADV"
        if not has_trades
        else ("no trades in the order's life: no VWAP")
    )
    flags = [
        (~np.isfinite(P0), "no fresh quote at arrival"),
        (decided_apart & ~np.isfinite(Pd), "no fresh quote at the decision time"),
        (~has_fill, "nothing filled: no average price, slippage or impact"),
        (has_rest & ~end_given & ~has_fill, "unfilled and no end_time: the opportunity window is unknown"),
        (
            has_rest & (end_ns != MISSING_NS) & ~np.isfinite(PN),
            "no fresh quote at the end: the unfilled rest is unpriced",
        ),
        (has_fill & ~np.isfinite(PL), "no fresh quote at the last fill: no timing or impact"),
        (
            has_fill & np.isfinite(PL) & ~np.isfinite(PH),
            f"no fresh quote {impact_horizon} after the last fill: no reversion",
        ),
        (has_fill & ~spread_ok, "a fill without a fresh quote: no spread paid"),
        (has_life & ~(volume > 0) if has_trades else np.ones(n, dtype=bool), no_trades_msg),
        (
            np.isfinite(P0) & ~np.isfinite(pretrade) & has_trades,
            "no σ or ADV for the symbol: no pre-trade estimate",
        ),
    ]
    frame = pd.DataFrame(_no_negative_zero(columns), index=units.ids)
    frame["arrival_time"] = utc(arrival)
    frame["end_time"] = _time_or_nat(end_ns)
    frame["last_fill_time"] = _time_or_nat(sums.last_ns)
    frame["children"] = units.children
    for key, values in units.extras.items():
        frame[key] = values
    if "venue" not in frame and fill_venues is not None:
        frame["venue"] = fill_venues
    frame["reason"] = reasons(flags, n)
    children = child_table(orders, units, fill_sums, child_rows, child_P0, P0, vwap, twap)
    return frame, children


def child_table(
    orders: Orders,
    units: Units,
    sums: FillSums,
    rows: np.ndarray,
    own_P0: np.ndarray,
    parent_P0: np.ndarray,
    parent_vwap: np.ndarray,
    parent_twap: np.ndarray,
) -> pd.DataFrame:
    """One row per child order: its own fills against its own arrival and against its parent's benchmarks."""
    unit = units.of_order[rows]
    s = orders.sign[rows]
    Xf = sums.filled[rows]
    has_fill = Xf > 0
    P0u = parent_P0[unit]
    with np.errstate(invalid="ignore", divide="ignore"):
        avg = np.where(has_fill, sums.notional[rows] / np.where(has_fill, Xf, 1), np.nan)
        spread_ok = has_fill & (sums.priced[rows] == sums.fills[rows])
        columns: dict[str, object] = {
            "parent_id": units.ids.to_numpy(dtype=object)[unit],
            "symbol": orders.symbol[rows],
            "side": np.where(s > 0, "buy", "sell"),
            "quantity": orders.quantity[rows],
            "filled_quantity": Xf,
            "avg_price": avg,
            "fill_rate": Xf / orders.quantity[rows],
            "filled_notional": sums.notional[rows],
            "fees": sums.fees[rows],
            "arrival_mid": own_P0,
            "arrival_slippage_bps": s * (avg - own_P0) / own_P0 * BPS,
            "parent_arrival_mid": P0u,
            "parent_arrival_slippage_bps": s * (avg - P0u) / P0u * BPS,
            "parent_vwap_slippage_bps": s * (avg - parent_vwap[unit]) / parent_vwap[unit] * BPS,
            "parent_twap_slippage_bps": s * (avg - parent_twap[unit]) / parent_twap[unit] * BPS,
            "spread_paid_bps": np.where(
                spread_ok, sums.spread_paid[rows] / sums.mid_notional[rows] * BPS, np.nan
            ),
        }
    frame = pd.DataFrame(_no_negative_zero(columns), index=orders.frame.index[rows])
    frame["arrival_time"] = utc(orders.arrival_ns[rows])
    frame["last_fill_time"] = _time_or_nat(sums.last_ns[rows])
    for key in ("algo", "venue"):
        if key in orders.frame:
            frame[key] = orders.frame[key].to_numpy(dtype=object)[rows]
    frame["reason"] = reasons(
        [
            (~has_fill, "nothing filled: no average price or slippage"),
            (~np.isfinite(own_P0), "no fresh quote at its arrival"),
            (~np.isfinite(P0u), "no fresh quote at the parent's arrival"),
            (has_fill & ~spread_ok, "a fill without a fresh quote: no spread paid"),
        ],
        len(rows),
    )
    return frame


def _no_negative_zero(columns: dict[str, object]) -> dict[str, object]:
    """x + 0.0 turns −0.0 (a sell's s·0) into 0.0 and leaves everything else, NaN included, alone."""
    return {
        k: v + 0.0 if isinstance(v, np.ndarray) and v.dtype.kind == "f" else v for k, v in columns.items()
    }


def main_venue(fills: Fills, unit_of_fill: np.ndarray, n: int) -> np.ndarray:
    """Per unit, the venue that filled most of it (NaN when unfilled), so ``by("venue")`` works on
    data whose venues are recorded per fill only."""
    venue = np.full(n, np.nan, dtype=object)
    if not len(fills.quantity):
        return venue
    table = pd.DataFrame({"order": unit_of_fill, "venue": fills.frame["venue"].array, "x": fills.quantity})
    per = table.groupby(["order", "venue"], observed=True, sort=False)["x"].sum().reset_index()
    top = per.sort_values("x", ascending=False, kind="stable").drop_duplicates("order")
    venue[top["order"].to_numpy()] = top["venue"].to_numpy()
    return venue
