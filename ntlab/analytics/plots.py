"""The report's pictures, as matplotlib Figures (imported on first use so the package stays light)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

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
    from matplotlib.figure import Figure

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
    ax.legend()  # type: ignore[attr-defined]
    return figure


def cost_vs_participation(orders: pd.DataFrame, impact_coef: float) -> Figure:
    figure, ax = _figure()
    ok = orders[["participation", "is_bps"]].replace([np.inf, -np.inf], np.nan).dropna()
    ax.scatter(ok["participation"], ok["is_bps"], s=14, alpha=0.7, label="orders")  # type: ignore[attr-defined]
    estimate = orders["pretrade_estimate_bps"].to_numpy(dtype=float)
    if np.isfinite(estimate).any() and len(ok):
        # the square-root law against participation, scaled to the orders' median estimate
        x = np.linspace(0, max(float(ok["participation"].max()), 1e-6), 100)
        median_part = float(np.nanmedian(ok["participation"])) or 1e-6
        scale = float(np.nanmedian(estimate)) / np.sqrt(max(median_part, 1e-9))
        ax.plot(x, scale * np.sqrt(x), color="C3", label=f"pre-trade (square root, Y={impact_coef:g})")  # type: ignore[attr-defined]
    ax.axhline(0, color="black", linewidth=0.8)  # type: ignore[attr-defined]
    ax.set(xlabel="participation (filled / market volume)", ylabel="IS, bps", title="Cost vs participation")  # type: ignore[attr-defined]
    ax.legend()  # type: ignore[attr-defined]
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
    ax.legend()  # type: ignore[attr-defined]
    return figure


def cumulative_cost(orders: pd.DataFrame) -> Figure:
    figure, ax = _figure()
    ordered = orders.sort_values("end_time")
    ax.plot(ordered["end_time"], ordered["is_cost"].fillna(0).cumsum(), drawstyle="steps-post", marker=".")  # type: ignore[attr-defined]
    ax.set(xlabel="order end (UTC)", ylabel="cumulative IS, currency", title="Cumulative cost")  # type: ignore[attr-defined]
    figure.autofmt_xdate()
    return figure
