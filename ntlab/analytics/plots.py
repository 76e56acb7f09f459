"""The report's pictures, as matplotlib Figures (imported on first use so the package stays light).

Figures are built without pyplot (no global state, nothing left open); in IPython they display as PNG.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def png(figure: Figure, dpi: int = 110) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _show_in_notebooks(figure_type: type) -> None:
    """Let a returned Figure display as a picture in IPython without pyplot's global state."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        shell.display_formatter.formatters["image/png"].for_type(figure_type, png)


def _figure(width: float = 6.4, height: float = 3.6) -> tuple[Figure, object]:
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError("TCA plots need matplotlib: pip install 'ntlab[plots]'") from error

    _show_in_notebooks(Figure)
    figure = Figure(figsize=(width, height), layout="constrained")
    return figure, figure.add_subplot()


def slippage_distribution(orders: pd.DataFrame) -> Figure:
    figure, ax = _figure()
    for column, label in (
        ("is_bps", "implementation shortfall"),
        ("arrival_slippage_bps", "arrival slippage"),
    ):
        values = orders[column].to_numpy(dtype=float)
        values = values[np.isfinite(values)]
        if len(values):
            ax.hist(values, bins=min(40, max(5, len(values) // 3)), alpha=0.6, label=label)  # type: ignore[attr-defined]
    ax.axvline(0, color="black", linewidth=0.8)  # type: ignore[attr-defined]
    ax.set(xlabel="cost, bps (positive = cost)", ylabel="orders", title="Cost distribution")  # type: ignore[attr-defined]
    _legend(ax)
    return figure


def _median(column: pd.Series) -> float:
    values = column.to_numpy(dtype=float)
    values = values[np.isfinite(values)]
    return float(np.median(values)) if len(values) else float("nan")


def _legend(ax: Any) -> None:
    if ax.get_legend_handles_labels()[0]:
        ax.legend()


def cost_vs_participation(orders: pd.DataFrame, impact_coef: float) -> Figure:
    """Realised IS against participation, with the square-root law ½·spread + Y·σ·sqrt(rate) drawn from
    the orders' median spread and volatility (the pre-trade model with participation for Q/V)."""
    figure, ax = _figure()
    ok = orders[["participation", "is_bps"]].replace([np.inf, -np.inf], np.nan).dropna()
    ax.scatter(ok["participation"], ok["is_bps"], s=14, alpha=0.7, label="orders")  # type: ignore[attr-defined]
    half_spread = _median(orders["arrival_spread_bps"]) / 2
    sigma = _median(orders["sigma_bps"])
    if np.isfinite(half_spread) and np.isfinite(sigma) and len(ok):
        x = np.linspace(0, max(float(ok["participation"].max()), 1e-6), 200)
        label = f"pre-trade: {half_spread:.1f} + {impact_coef:g}·{sigma:.0f}·√rate"
        ax.plot(x, half_spread + impact_coef * sigma * np.sqrt(x), color="C3", label=label)  # type: ignore[attr-defined]
    ax.axhline(0, color="black", linewidth=0.8)  # type: ignore[attr-defined]
    ax.set(xlabel="participation (filled / market volume)", ylabel="IS, bps", title="Cost vs participation")  # type: ignore[attr-defined]
    _legend(ax)
    return figure


def markout_curves(fills: pd.DataFrame, horizons: list[str]) -> Figure:
    figure, ax = _figure()
    columns = [f"markout_bps_{h}" for h in horizons]
    groups = {"all fills": fills}
    if "liquidity" in fills:
        for kind in ("maker", "taker"):
            part = fills[fills["liquidity"] == kind]
            if len(part):
                groups[kind] = part
    x = np.arange(len(horizons))
    for label, part in groups.items():
        values = part[columns].to_numpy(dtype=float)
        finite = np.isfinite(values)
        count = finite.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(count > 0, np.where(finite, values, 0.0).sum(axis=0) / count, np.nan)
            squares = np.where(finite, (values - mean) ** 2, 0.0).sum(axis=0)
            sem = np.where(count > 1, np.sqrt(squares / np.maximum(count - 1, 1)) / np.sqrt(count), np.nan)
        ax.plot(x, mean, marker="o", label=label)  # type: ignore[attr-defined]
        ax.fill_between(x, mean - 1.96 * sem, mean + 1.96 * sem, alpha=0.2)  # type: ignore[attr-defined]
    ax.set_xticks(x, horizons)  # type: ignore[attr-defined]
    ax.axhline(0, color="black", linewidth=0.8)  # type: ignore[attr-defined]
    ax.set(
        xlabel="horizon after the fill", ylabel="markout, bps (positive = cost)", title="Markouts, 95% bands"
    )  # type: ignore[attr-defined]
    _legend(ax)
    return figure


def cumulative_cost(orders: pd.DataFrame) -> Figure:
    figure, ax = _figure()
    ordered = orders.sort_values("end_time")
    ax.plot(ordered["end_time"], ordered["is_cost"].fillna(0).cumsum(), drawstyle="steps-post", marker=".")  # type: ignore[attr-defined]
    ax.set(xlabel="order end (UTC)", ylabel="cumulative IS, currency", title="Cumulative cost")  # type: ignore[attr-defined]
    figure.autofmt_xdate()
    return figure
