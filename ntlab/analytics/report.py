"""TCAReport: per-order and per-fill tables, aggregates, pictures, notebook display and HTML export."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ntlab.analytics import aggregate, plots

if TYPE_CHECKING:
    from matplotlib.figure import Figure

SUMMARY_METRICS = [
    "is_bps",
    "delay_bps",
    "trading_bps",
    "opportunity_bps",
    "fees_bps",
    "arrival_slippage_bps",
    "vwap_slippage_bps",
    "twap_slippage_bps",
    "spread_paid_bps",
    "pretrade_estimate_bps",
]
WORST_COLUMNS = [
    "symbol",
    "side",
    "quantity",
    "filled_quantity",
    "avg_price",
    "arrival_mid",
    "is_bps",
    "delay_bps",
    "trading_bps",
    "opportunity_bps",
    "fees_bps",
    "participation",
]


class TCAReport:
    """Execution quality of a set of orders; every cost in bps is positive when it cost money.

    ``orders`` (indexed by order_id) and ``fills`` (indexed by fill_id) are the metric tables; ``summary``,
    ``by(...)`` and ``markouts`` aggregate them; ``plot_*`` draw them; ``to_html`` writes them all to a file.
    """

    def __init__(
        self,
        orders: pd.DataFrame,
        fills: pd.DataFrame,
        *,
        horizons: Sequence[str],
        impact_coef: float,
        resamples: int = 500,
        level: float = 0.95,
        seed: int = 0,
    ) -> None:
        self.orders = orders
        self.fills = fills
        self.horizons = list(horizons)
        self.impact_coef = impact_coef
        self.level = level
        self._options = {"resamples": resamples, "level": level, "seed": seed}

    def _frame(self) -> pd.DataFrame:
        frame = self.orders.copy()
        frame["day"] = frame["arrival_time"].dt.strftime("%Y-%m-%d")
        return frame

    @cached_property
    def summary(self) -> pd.DataFrame:
        """Headline figures for all orders, one row per metric: IS and its parts, slippage, pre-trade."""
        frame = self._frame()
        rows = {metric: aggregate.summarise(frame, metric, **self._options) for metric in SUMMARY_METRICS}  # type: ignore[arg-type]
        table = pd.DataFrame(rows, index=aggregate.STAT_COLUMNS).T
        table["count"] = table["count"].astype(int)
        return table

    def by(self, keys: str | Sequence[str], metric: str = "is_bps") -> pd.DataFrame:
        """Aggregate ``metric`` by "symbol", "side", "algo", "venue", "day" (UTC, of arrival) or a list of them."""
        return aggregate.by(self._frame(), keys, metric, **self._options)

    @cached_property
    def markouts(self) -> pd.DataFrame:
        """Mean markout per horizon (bps, weighted by fill notional) for all fills, makers and takers."""
        columns = [f"markout_bps_{h}" for h in self.horizons]
        groups = {"all": self.fills}
        if "liquidity" in self.fills:
            groups |= {kind: self.fills[self.fills["liquidity"] == kind] for kind in ("maker", "taker")}
        rows = {}
        for label, part in groups.items():
            if not len(part):
                continue
            weight = (part["quantity"] * part["price"]).to_numpy(dtype=float)
            values = part[columns].to_numpy(dtype=float)
            ok = np.isfinite(values)
            total = np.where(ok, weight[:, None], 0.0).sum(axis=0)
            with np.errstate(invalid="ignore", divide="ignore"):
                rows[label] = np.where(ok, values * weight[:, None], 0.0).sum(axis=0) / total
        table = pd.DataFrame(rows, index=self.horizons).T
        table.columns.name = "horizon"
        return table

    def worst(self, n: int = 10) -> pd.DataFrame:
        """The ``n`` orders with the highest implementation shortfall in bps."""
        return self.orders.sort_values("is_bps", ascending=False)[WORST_COLUMNS].head(n)

    # --- pictures (matplotlib Figures; need the "plots" extra) ---------------------------------------
    def plot_slippage(self) -> Figure:
        return plots.slippage_distribution(self.orders)

    def plot_cost_vs_participation(self) -> Figure:
        return plots.cost_vs_participation(self.orders, self.impact_coef)

    def plot_markouts(self) -> Figure:
        return plots.markout_curves(self.fills, self.horizons)

    def plot_cumulative_cost(self) -> Figure:
        return plots.cumulative_cost(self.orders)

    def figures(self) -> dict[str, Figure]:
        return {
            "Cost distribution": self.plot_slippage(),
            "Cost vs participation": self.plot_cost_vs_participation(),
            "Markouts": self.plot_markouts(),
            "Cumulative cost": self.plot_cumulative_cost(),
        }

    # --- display and export ---------------------------------------------------------------------------
    def _repr_html_(self) -> str:
        from ntlab.analytics import html

        return html.summary_html(self)

    def to_html(self, path: str | Path) -> Path:
        """Write one self-contained HTML file (tables, and plots embedded as PNG) and return its path."""
        from ntlab.analytics import html

        target = Path(path)
        target.write_text(html.page(self), encoding="utf-8")
        return target

    def __repr__(self) -> str:
        s = self.summary.loc["is_bps"]
        return (
            f"TCAReport({len(self.orders)} orders, {len(self.fills)} fills; IS {s['mean_bps']:.2f} bps "
            f"[{s['ci_low_bps']:.2f}, {s['ci_high_bps']:.2f}] on {s['notional']:,.0f} notional)"
        )
