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


def _robust_limits(
    values: np.ndarray, *, include: float | None = 0.0, pad: float = 0.08
) -> tuple[float, float]:
    """Axis limits from the data's 1st to 99th percentile (a few outliers do not flatten the rest)."""
    finite = values[np.isfinite(values)]
    if not len(finite):
        return -1.0, 1.0
    low, high = np.percentile(finite, [1, 99]) if len(finite) >= 20 else (finite.min(), finite.max())
    if include is not None:
        low, high = min(low, include), max(high, include)
    width = high - low or max(abs(high), 1.0)
    return float(low - pad * width), float(high + pad * width)


def slippage_distribution(orders: pd.DataFrame, summary: pd.DataFrame) -> Figure:
    """Histograms of IS and arrival slippage with each weighted mean and its confidence band."""
    figure, ax = _figure()
    columns = (
        ("is_bps", "implementation shortfall", "C0"),
        ("arrival_slippage_bps", "arrival slippage", "C1"),
    )
    both = np.concatenate([orders[c].to_numpy(dtype=float) for c, _, _ in columns])
    low, high = _robust_limits(both)
    for column, label, color in columns:
        values = orders[column].to_numpy(dtype=float)
        values = values[np.isfinite(values)]
        if not len(values):
            continue
        inside = np.clip(values, low, high)
        ax.hist(
            inside,
            bins=min(40, max(5, len(values) // 3)),
            range=(low, high),
            alpha=0.5,
            color=color,
            label=label,
        )  # type: ignore[attr-defined]
        row = summary.loc[column]
        if np.isfinite(row["mean_bps"]):
            ax.axvline(row["mean_bps"], color=color, linewidth=1.5)  # type: ignore[attr-defined]
        if np.isfinite(row["ci_low_bps"]):
            ax.axvspan(row["ci_low_bps"], row["ci_high_bps"], color=color, alpha=0.15)  # type: ignore[attr-defined]
    ax.axvline(0, color="black", linewidth=0.8)  # type: ignore[attr-defined]
    ax.set_xlim(low, high)  # type: ignore[attr-defined]
    ax.set(
        xlabel="cost, bps (positive = cost); lines: weighted mean, bands: its confidence interval",
        ylabel="orders",
        title="Cost distribution",
    )  # type: ignore[attr-defined]
    _legend(ax)
    return figure


def _median(column: pd.Series) -> float:
    values = column.to_numpy(dtype=float)
    values = values[np.isfinite(values)]
    return float(np.median(values)) if len(values) else float("nan")


def _legend(ax: Any) -> None:
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="small")


def cost_vs_participation(orders: pd.DataFrame, impact_coef: float, tape_includes_fills: bool) -> Figure:
    """Realised IS against participation (in %), with the square-root law ½·spread + Y·σ·sqrt(rate) drawn
    from the orders' median spread and volatility over the participation the orders had. Both axes are
    scaled to the orders, not to the curve."""
    figure, ax = _figure()
    ok = orders[["participation", "is_bps"]].replace([np.inf, -np.inf], np.nan).dropna()
    x = ok["participation"].to_numpy(dtype=float) * 100
    y = ok["is_bps"].to_numpy(dtype=float)
    ax.scatter(x, y, s=14, alpha=0.7, label="orders")  # type: ignore[attr-defined]
    low, high = _robust_limits(y)
    x_high = max(float(x.max()) * 1.08, 1e-3) if len(x) else 1.0
    half_spread = _median(orders["arrival_spread_bps"]) / 2
    sigma = _median(orders["sigma_bps"])
    if np.isfinite(half_spread) and np.isfinite(sigma) and len(ok):
        grid = np.linspace(0, x_high, 200)
        label = f"pre-trade: {half_spread:.1f} + {impact_coef:g}·{sigma:.0f}·√rate"
        ax.plot(grid, half_spread + impact_coef * sigma * np.sqrt(grid / 100), color="C3", label=label)  # type: ignore[attr-defined]
    ax.axhline(0, color="black", linewidth=0.8)  # type: ignore[attr-defined]
    ax.set_xlim(0, x_high)  # type: ignore[attr-defined]
    ax.set_ylim(low, high)  # type: ignore[attr-defined]
    tape = "tape includes our fills" if tape_includes_fills else "our fills added to the tape"
    ax.set(
        xlabel=f"participation, % of market volume ({tape})", ylabel="IS, bps", title="Cost vs participation"
    )  # type: ignore[attr-defined]
    _legend(ax)
    return figure


def realised_vs_pretrade(orders: pd.DataFrame) -> Figure:
    """Each unit's IS against its pre-trade estimate; above the diagonal it cost more than expected."""
    figure, ax = _figure()
    ok = orders[["pretrade_estimate_bps", "is_bps"]].replace([np.inf, -np.inf], np.nan).dropna()
    x, y = ok["pretrade_estimate_bps"].to_numpy(dtype=float), ok["is_bps"].to_numpy(dtype=float)
    ax.scatter(x, y, s=14, alpha=0.7, label="orders")  # type: ignore[attr-defined]
    low, high = _robust_limits(np.concatenate([x, y]))
    ax.plot([low, high], [low, high], color="C3", linewidth=1, label="IS = estimate")  # type: ignore[attr-defined]
    ax.set_xlim(low, high)  # type: ignore[attr-defined]
    ax.set_ylim(low, high)  # type: ignore[attr-defined]
    ax.set(
        xlabel="pre-trade estimate, bps", ylabel="realised IS, bps", title="Realised vs pre-trade estimate"
    )  # type: ignore[attr-defined]
    _legend(ax)
    return figure


def by_group(table: pd.DataFrame, key: str, metric: str, level: float) -> Figure:
    """Weighted mean of ``metric`` per group with its bootstrap confidence interval."""
    figure, ax = _figure(height=max(2.4, 0.5 * len(table) + 1.2))
    labels = [str(k) for k in table.index]
    y = np.arange(len(table))
    mean = table["mean_bps"].to_numpy(dtype=float)
    low = table["ci_low_bps"].to_numpy(dtype=float)
    high = table["ci_high_bps"].to_numpy(dtype=float)
    has_ci = np.isfinite(low) & np.isfinite(high)
    errors = np.vstack([np.where(has_ci, mean - low, 0), np.where(has_ci, high - mean, 0)])
    ax.errorbar(mean, y, xerr=errors, fmt="o", capsize=4)  # type: ignore[attr-defined]
    ax.set_yticks(y, [f"{label} (n={n})" for label, n in zip(labels, table["count"], strict=True)])  # type: ignore[attr-defined]
    ax.axvline(0, color="black", linewidth=0.8)  # type: ignore[attr-defined]
    ax.set(xlabel=f"{metric}, weighted mean with {level:.0%} interval", title=f"Cost by {key}")  # type: ignore[attr-defined]
    return figure


def markout_curves(stats: pd.DataFrame, horizons: list[str]) -> Figure:
    """Notional-weighted mean markout per horizon with a 95% band (±1.96 standard errors)."""
    figure, ax = _figure()
    x = np.arange(len(horizons))
    labels = {"all": "all fills", "maker": "maker", "taker": "taker"}
    for group, label in labels.items():
        part = stats[(stats["group"] == group)].set_index("horizon").reindex(horizons)
        if not (part["n"] > 0).any():
            continue
        with np.errstate(invalid="ignore", divide="ignore"):
            w = part["w"].to_numpy(dtype=float)
            mean = part["wv"].to_numpy(dtype=float) / w
            spread = part["w2v2"] - 2 * mean * part["w2v"] + mean**2 * part["w2"]
            se = np.sqrt(np.maximum(spread.to_numpy(dtype=float), 0)) / w
            se = np.where(part["n"].to_numpy() > 1, se, np.nan)
        ax.plot(x, mean, marker="o", label=label)  # type: ignore[attr-defined]
        ax.fill_between(x, mean - 1.96 * se, mean + 1.96 * se, alpha=0.2)  # type: ignore[attr-defined]
    ax.set_xticks(x, horizons)  # type: ignore[attr-defined]
    ax.axhline(0, color="black", linewidth=0.8)  # type: ignore[attr-defined]
    ax.set(
        xlabel="horizon after the fill", ylabel="markout, bps (positive = cost)", title="Markouts, 95% bands"
    )  # type: ignore[attr-defined]
    _legend(ax)
    return figure


def cumulative_cost(orders: pd.DataFrame) -> Figure:
    """Running total of IS in currency by order end (orders whose IS is unknown are left out, not zeroed)."""
    figure, ax = _figure()
    known = orders[orders["is_cost"].notna()]
    ends = known["end_time"].fillna(known["arrival_time"])
    order = np.argsort(ends.to_numpy(), kind="stable")
    ax.plot(ends.iloc[order], known["is_cost"].iloc[order].cumsum(), drawstyle="steps-post", marker=".")  # type: ignore[attr-defined]
    ax.set(xlabel="order end (UTC)", ylabel="cumulative IS, currency", title="Cumulative cost")  # type: ignore[attr-defined]
    figure.autofmt_xdate()
    return figure
