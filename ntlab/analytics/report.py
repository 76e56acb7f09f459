"""TCAReport: per-parent, per-child and per-fill tables, aggregates, pictures, display and HTML/PDF export."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
    "timing_bps",
    "reversion_bps",
    "permanent_impact_bps",
    "pretrade_estimate_bps",
    "is_vs_pretrade_bps",
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
    "reason",
]
MARKOUT_STATS = ["w", "wv", "w2", "w2v", "w2v2", "n"]


@dataclass(frozen=True, slots=True)
class Conventions:
    """How the numbers were made: shown in the report's header and used to label its pictures."""

    horizons: tuple[str, ...]
    realized: tuple[str, ...]
    max_quote_age: str
    impact_horizon: str
    tape_includes_fills: bool
    impact_coef: float
    resamples: int
    level: float
    seed: int
    session: str | None = None
    market_source: str | None = None

    @property
    def participation_note(self) -> str:
        if self.tape_includes_fills:
            return "participation = filled / tape volume over the order's life (the tape includes our fills)"
        return (
            "participation = filled / (tape volume + filled): the tape does not include this session's "
            "fills, so they are added to it"
        )


def markout_stats(fills: pd.DataFrame, horizons: Sequence[str]) -> pd.DataFrame:
    """Additive sums behind the markout table and bands, per (group, horizon), weights = fill notional.

    Sums add across partitions, so a cluster computes them per partition and adds them up.
    """
    columns = [f"markout_bps_{h}" for h in horizons]
    groups = {"all": np.ones(len(fills), dtype=bool)}
    if "liquidity" in fills:
        liquidity = fills["liquidity"].astype(str).to_numpy()
        groups |= {kind: liquidity == kind for kind in ("maker", "taker")}
    weight = (fills["quantity"] * fills["price"]).to_numpy(dtype=float)
    values = fills[columns].to_numpy(dtype=float)
    rows = []
    for label, mask in groups.items():
        v = values[mask]
        w = np.where(np.isfinite(v), weight[mask][:, None], 0.0)
        v = np.where(np.isfinite(v), v, 0.0)
        sums = [
            w.sum(0),
            (w * v).sum(0),
            (w**2).sum(0),
            (w**2 * v).sum(0),
            (w**2 * v**2).sum(0),
            (w > 0).sum(0),
        ]
        for j, horizon in enumerate(horizons):
            rows.append(
                {
                    "group": label,
                    "horizon": horizon,
                    **{k: float(s[j]) for k, s in zip(MARKOUT_STATS, sums, strict=True)},
                }
            )
    return pd.DataFrame(rows, columns=["group", "horizon", *MARKOUT_STATS])


class TCAReport:
    """Execution quality of a set of orders; every cost in bps is positive when it cost money.

    ``orders`` (indexed by order_id) holds the units of implementation shortfall: parents and stand-alone
    orders; ``children`` the child orders of parents; ``fills`` (indexed by fill_id) every fill. On a
    Dask cluster ``fills`` is a lazy Dask DataFrame. ``summary``, ``by(...)`` and ``markouts`` aggregate
    them; ``plot_*`` draw them; ``to_html`` / ``to_pdf`` write them all to a file.
    """

    def __init__(
        self,
        orders: pd.DataFrame,
        fills: Any,
        children: pd.DataFrame,
        conventions: Conventions,
        fill_stats: pd.DataFrame | None = None,
    ) -> None:
        self.orders = orders
        self.fills = fills
        self.children = children
        self.conventions = conventions
        self.horizons = list(conventions.horizons)
        self.impact_coef = conventions.impact_coef
        self.level = conventions.level
        self._options = {
            "resamples": conventions.resamples,
            "level": conventions.level,
            "seed": conventions.seed,
        }
        self._fill_stats = fill_stats

    @cached_property
    def _frame(self) -> pd.DataFrame:
        frame = self.orders.copy()
        frame["day"] = frame["arrival_time"].dt.strftime("%Y-%m-%d")
        return frame

    @cached_property
    def summary(self) -> pd.DataFrame:
        """Headline figures for all units, one row per metric: IS and its parts, benchmarks, impact, pre-trade."""
        return aggregate.summarise_many(self._frame, SUMMARY_METRICS, **self._options)  # type: ignore[arg-type]

    def by(self, keys: str | Sequence[str], metric: str = "is_bps") -> pd.DataFrame:
        """Aggregate ``metric`` by "symbol", "side", "algo", "venue", "day" (UTC, of arrival) or a list of them."""
        return aggregate.by(self._frame, keys, metric, **self._options)

    @cached_property
    def fill_stats(self) -> pd.DataFrame:
        if self._fill_stats is None:
            self._fill_stats = markout_stats(self.fills, self.horizons)
        return self._fill_stats

    @cached_property
    def markouts(self) -> pd.DataFrame:
        """Mean markout per horizon (bps, weighted by fill notional) for all fills, makers and takers."""
        stats = self.fill_stats[self.fill_stats["n"] > 0]
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = stats["wv"] / stats["w"]
        table = pd.DataFrame({"group": stats["group"], "horizon": stats["horizon"], "mean": mean})
        table = table.pivot(index="group", columns="horizon", values="mean")
        order = [g for g in ("all", "maker", "taker") if g in table.index]
        table = table.loc[order, [h for h in self.horizons if h in table.columns]]
        table.index.name, table.columns.name = None, "horizon"
        return table + 0.0

    def worst(self, n: int = 10) -> pd.DataFrame:
        """The ``n`` units with the highest implementation shortfall in bps."""
        return self.orders.sort_values("is_bps", ascending=False)[WORST_COLUMNS].head(n)

    @cached_property
    def header(self) -> dict[str, str]:
        """What the report is about and how its numbers were made."""
        c = self.conventions
        times = pd.concat(
            [self.orders["arrival_time"], self.orders["end_time"], self.orders["last_fill_time"]]
        )
        first, last = times.min(), times.max()
        parents = int((self.orders["children"] > 0).sum())
        span = "—" if pd.isna(first) else f"{first:%Y-%m-%d %H:%M:%S} to {last:%Y-%m-%d %H:%M:%S} UTC"
        return {
            "session": c.session or "(not named)",
            "time range": span,
            "market source": c.market_source or "(not named)",
            "orders": f"{len(self.orders):,} units ({parents:,} parent{'' if parents == 1 else 's'}, "
            f"{len(self.orders) - parents:,} stand-alone), {len(self.children):,} children, {self.fill_count:,} fills",
            "conventions": "s = +1 buy, −1 sell; every cost positive = cost, in bps; IS = delay + trading + "
            "opportunity + fees over the paper notional X·Pd (decision mid; arrival mid when no decision "
            "time); children roll up into their parents (arrival at the parent's start, opportunity to its "
            f"end); slippage against arrival mid, interval VWAP and TWAP over the order's life; mids are "
            f"backward as-of joins, NaN when older than {c.max_quote_age}",
            "impact": f"timing = move of the mid from arrival to the last fill; reversion = its move back "
            f"over {c.impact_horizon} after; permanent impact = timing − reversion",
            "participation": c.participation_note,
            "aggregates": f"notional-weighted; {c.level:.0%} bootstrap intervals over days (over orders within "
            f"one day), {c.resamples} resamples, seed {c.seed}",
        }

    @property
    def fill_count(self) -> int:
        return (
            int(self.fill_stats.loc[self.fill_stats["group"] == "all", "n"].max())
            if len(self.fill_stats)
            else 0
        )

    # --- pictures (matplotlib Figures; need the "plots" extra) ---------------------------------------
    def plot_slippage(self) -> Figure:
        return plots.slippage_distribution(self.orders, self.summary)

    def plot_cost_vs_participation(self) -> Figure:
        return plots.cost_vs_participation(
            self.orders, self.impact_coef, self.conventions.tape_includes_fills
        )

    def plot_markouts(self) -> Figure:
        return plots.markout_curves(self.fill_stats, self.horizons)

    def plot_cumulative_cost(self) -> Figure:
        return plots.cumulative_cost(self.orders)

    def plot_pretrade(self) -> Figure:
        return plots.realised_vs_pretrade(self.orders)

    def plot_by(self, key: str = "algo", metric: str = "is_bps") -> Figure:
        return plots.by_group(self.by(key, metric), key, metric, self.level)

    def figures(self) -> dict[str, Figure]:
        key = next(
            (k for k in ("algo", "symbol") if k in self.orders and self.orders[k].nunique() > 1), "side"
        )
        return {
            "Cost distribution": self.plot_slippage(),
            f"Cost by {key}": self.plot_by(key),
            "Cost vs participation": self.plot_cost_vs_participation(),
            "Realised vs pre-trade estimate": self.plot_pretrade(),
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

    def to_pdf(self, path: str | Path) -> Path:
        """Write the report as a PDF (header and tables first, then one picture a page)."""
        from ntlab.analytics import pdf

        return pdf.write(self, Path(path))

    def __repr__(self) -> str:
        from ntlab.analytics.formatting import number

        s = self.summary.loc["is_bps"]
        return (
            f"TCAReport({len(self.orders)} orders ({len(self.children)} children), {self.fill_count} fills; "
            f"IS {number(s['mean_bps'])} bps [{number(s['ci_low_bps'])}, {number(s['ci_high_bps'])}] on "
            f"{number(s['notional'], 0)} notional)"
        )
