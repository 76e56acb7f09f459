"""TCAReport: per-order and per-fill tables, aggregates, pictures, notebook display and HTML export."""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ntlab.analytics import aggregate, plots

ORDER_SUMMARY_COLUMNS = [
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
    """Execution quality of a set of orders. ``orders`` and ``fills`` are DataFrames; costs positive = cost."""

    def __init__(
        self,
        orders: pd.DataFrame,
        fills: pd.DataFrame,
        *,
        horizons: Sequence[str],
        impact_coef: float,
        resamples: int,
        level: float,
        seed: int,
    ) -> None:
        self.orders = orders
        self.fills = fills
        self.horizons = list(horizons)
        self.impact_coef = impact_coef
        self._options = {"resamples": resamples, "level": level, "seed": seed}

    def _frame(self) -> pd.DataFrame:
        frame = self.orders.copy()
        frame["day"] = frame["arrival_time"].dt.strftime("%Y-%m-%d")
        return frame

    @property
    def summary(self) -> pd.DataFrame:
        """Headline figures for all orders: IS and its parts, notional-weighted, with a CI for IS."""
        frame = self._frame()
        rows = {}
        for metric in (
            "is_bps",
            "delay_bps",
            "trading_bps",
            "opportunity_bps",
            "fees_bps",
            "arrival_slippage_bps",
        ):
            rows[metric] = aggregate.summarise(frame, metric, **self._options)  # type: ignore[arg-type]
        table = pd.DataFrame(rows).T
        table["count"] = table["count"].astype(int)
        return table

    def by(self, keys: str | Sequence[str], metric: str = "is_bps") -> pd.DataFrame:
        """Aggregate ``metric`` by "symbol", "side", "algo", "venue", "day" or a list of them."""
        return aggregate.by(self._frame(), keys, metric, **self._options)

    def worst(self, n: int = 10) -> pd.DataFrame:
        return self.orders.sort_values("is_bps", ascending=False)[ORDER_SUMMARY_COLUMNS].head(n)

    # --- pictures --------------------------------------------------------------------------------------
    def plot_slippage(self) -> Any:
        return plots.slippage_distribution(self.orders)

    def plot_cost_vs_participation(self) -> Any:
        return plots.cost_vs_participation(self.orders, self.impact_coef)

    def plot_markouts(self) -> Any:
        return plots.markout_curves(self.fills, self.horizons)

    def plot_cumulative_cost(self) -> Any:
        return plots.cumulative_cost(self.orders)

    def figures(self) -> dict[str, Any]:
        return {
            "Cost distribution": self.plot_slippage(),
            "Cost vs participation": self.plot_cost_vs_participation(),
            "Markouts": self.plot_markouts(),
            "Cumulative cost": self.plot_cumulative_cost(),
        }

    # --- display and export ----------------------------------------------------------------------------
    def _tables_html(self) -> str:
        fmt = {"float_format": lambda x: f"{x:,.2f}", "na_rep": "", "border": 0}
        parts = [
            "<h3>Summary (bps, notional-weighted)</h3>",
            self.summary.to_html(**fmt),
            "<h3>By symbol (IS, bps)</h3>",
            self.by("symbol").to_html(**fmt),
            "<h3>By side (IS, bps)</h3>",
            self.by("side").to_html(**fmt),
        ]
        for key in ("algo", "venue"):
            if key in self.orders and self.orders[key].nunique() > 1:
                parts += [f"<h3>By {key} (IS, bps)</h3>", self.by(key).to_html(**fmt)]
        parts += ["<h3>Worst orders</h3>", self.worst().to_html(**fmt)]
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        head = f"<h2>Execution quality: {len(self.orders)} orders, {len(self.fills)} fills</h2>"
        return head + self._tables_html()

    def to_html(self, path: str | Path) -> Path:
        """Write one self-contained HTML file (plots embedded as PNG) and return its path."""
        images = []
        for title, figure in self.figures().items():
            encoded = base64.b64encode(plots.png(figure)).decode()
            images.append(
                f'<h3>{html.escape(title)}</h3><img alt="{html.escape(title)}" src="data:image/png;base64,{encoded}">'
            )
        page = (
            "<!doctype html><html><head><meta charset='utf-8'><title>ntlab execution quality</title>"
            "<style>body{font-family:sans-serif;margin:2em;max-width:1100px}"
            "table{border-collapse:collapse;font-size:13px}td,th{padding:2px 8px;text-align:right}</style></head><body>"
            + self._repr_html_()
            + "<h2>Pictures</h2>"
            + "\n".join(images)
            + "<p>Costs in basis points, positive = cost. IS = delay + trading + opportunity + fees, over the "
            "paper notional (quantity × decision mid).</p></body></html>"
        )
        target = Path(path)
        target.write_text(page, encoding="utf-8")
        return target

    def __repr__(self) -> str:
        s = self.summary.loc["is_bps"]
        return (
            f"TCAReport({len(self.orders)} orders, {len(self.fills)} fills; IS {s['mean_bps']:.2f} bps "
            f"[{s['ci_low_bps']:.2f}, {s['ci_high_bps']:.2f}] on {s['notional']:,.0f} notional)"
        )
