"""Pictures of odds: how each bookmaker's implied probability moved over the snapshots (matplotlib)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from ntlab.errors import DataError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def plot_movement(
    history: pd.DataFrame,
    event_id: str,
    *,
    market: str = "h2h",
    outcome: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Implied probability over time of one event's ``outcome`` (default: the first listed), one line per
    bookmaker, from :func:`~ntlab.odds.odds_history`; drawn on ``ax`` or a new pyplot figure."""
    part = history[(history["event_id"] == event_id) & (history["market"] == market)]
    if part.empty:
        raise DataError(f"no {market} prices for event {event_id} in the history")
    chosen = outcome or str(part["outcome"].iloc[0])
    part = part[part["outcome"] == chosen]
    if part.empty:
        raise DataError(
            f"no prices for outcome {chosen!r}; the event has {sorted(map(str, history['outcome'].unique()))}"
        )
    if ax is None:
        import matplotlib.pyplot as plt

        figure, ax = plt.subplots(figsize=(9, 4), layout="constrained")
    else:
        figure = ax.figure  # type: ignore[assignment]
    for bookmaker, line in part.groupby("bookmaker", observed=True, sort=True):
        ax.plot(
            line["last_update"],
            line["implied"] * 100,
            drawstyle="steps-post",
            marker=".",
            label=str(bookmaker),
        )
    first = part.iloc[0]
    teams: Any = f"{first['away_team']} at {first['home_team']}" if "home_team" in part else event_id
    ax.set(title=f"{teams}: {chosen} ({market})", xlabel="last update (UTC)", ylabel="implied probability, %")
    ax.legend(fontsize=7, ncol=2)
    figure.autofmt_xdate()
    return figure  # type: ignore[return-value]
