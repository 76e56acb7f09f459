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
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from ntlab.analytics.asof import mids_at_offsets
from ntlab.analytics.inputs import MISSING_NS, Fills, Orders, Quotes, groups_of_codes
from ntlab.analytics.timeutil import BPS, parse_horizon, utc


def fill_offsets(horizons: Sequence[str], realized: Sequence[str]) -> list[int]:
    """Every offset a fill's mid is looked up at: the fill itself, the markouts, the realized spreads."""
    return [0] + [parse_horizon(h) for h in horizons] + [parse_horizon(d) for d in realized]


def fill_metrics(
    fills: Fills,
    orders: Orders,
    quotes: Quotes,
    horizons: Sequence[str],
    realized: Sequence[str],
    max_age_ns: int,
    parents: np.ndarray | None = None,
) -> pd.DataFrame:
    """One row per fill, indexed by fill_id, with the fill's own columns first and the metrics after.

    ``parents`` (per order row: its parent id, "" for none) adds a ``parent_id`` column.
    """
    sign = orders.sign[fills.order_index]
    # fills of a symbol in time order: every searchsorted below then walks the quotes forward
    groups = groups_of_codes(orders.symbol_code[fills.order_index], orders.symbol_names, fills.time_ns)
    t = fills.time_ns
    p = fills.price
    offsets = fill_offsets(horizons, realized)
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
        **({} if parents is None else {"parent_id": _parent_column(parents[fills.order_index])}),
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


def _parent_column(parents: np.ndarray) -> pd.Series:
    return pd.Series(parents, dtype=object).replace("", None)


@dataclass(frozen=True, slots=True)
class FillSums:
    """Per order row, what its fills add up to (the inputs of every per-order metric)."""

    filled: np.ndarray
    notional: np.ndarray  # Σ x·p
    fees: np.ndarray
    mid_notional: np.ndarray  # Σ x·mid over fills with a mid
    spread_paid: np.ndarray  # Σ s·x·(p − mid) over fills with a mid, currency
    fills: np.ndarray  # count
    priced: np.ndarray  # fills with a mid
    last_ns: np.ndarray  # MISSING_NS without fills

    @staticmethod
    def of(fills: Fills, sign: np.ndarray, mid: np.ndarray, size: int) -> FillSums:
        idx = fills.order_index
        x, p = fills.quantity, fills.price
        has_mid = np.isfinite(mid)
        last = np.full(size, MISSING_NS)
        np.maximum.at(last, idx, fills.time_ns)

        def total(values: np.ndarray) -> np.ndarray:
            return np.bincount(idx, weights=values, minlength=size)

        return FillSums(
            filled=total(x),
            notional=total(x * p),
            fees=total(fills.fee),
            mid_notional=total(np.where(has_mid, x * mid, 0.0)),
            spread_paid=total(np.where(has_mid, sign[idx] * x * (p - mid), 0.0)),
            fills=np.bincount(idx, minlength=size).astype(float),
            priced=total(has_mid.astype(float)),
            last_ns=last,
        )

    def rolled_up(self, groups: np.ndarray, size: int) -> FillSums:
        """The sums per group (unit) of the rows: ``groups[row]`` is the group of each row."""
        out = {}
        for f in fields(self):
            values = getattr(self, f.name)
            if f.name == "last_ns":
                last = np.full(size, MISSING_NS)
                np.maximum.at(last, groups, values)
                out[f.name] = last
            else:
                out[f.name] = np.bincount(groups, weights=values, minlength=size)
        return FillSums(**out)

    def sparse(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """(rows with fills, their sums): what a partition sends back instead of every row."""
        rows = np.flatnonzero(self.fills > 0)
        return rows, {f.name: getattr(self, f.name)[rows] for f in fields(self)}

    @staticmethod
    def from_sparse(parts: Sequence[tuple[np.ndarray, dict[str, np.ndarray]]], size: int) -> FillSums:
        rows = np.concatenate([r for r, _ in parts]) if parts else np.array([], dtype=np.int64)
        out = {}
        for f in fields(FillSums):
            values = np.concatenate([v[f.name] for _, v in parts]) if parts else np.array([])
            if f.name == "last_ns":
                last = np.full(size, MISSING_NS)
                np.maximum.at(last, rows, values.astype(np.int64))
                out[f.name] = last
            else:
                out[f.name] = np.bincount(rows, weights=values, minlength=size)
        return FillSums(**out)
