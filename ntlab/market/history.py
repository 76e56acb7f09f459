"""Recent bars for a symbol, counted in trading days back from a moment: what ``lab.history(...)`` shows.

``history("AAPL", "5min", days=5, end=now)`` is the last five NYSE sessions' bars up to ``end`` and no further,
so a replay on a simulated clock never sees bars from its own future. ``plot_bars`` draws them as candles over
volume, sessions side by side with the nights left out, times in New York.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ntlab.errors import DataError
from ntlab.market import calendar
from ntlab.market.providers import DataProvider, get_provider
from ntlab.market.providers.base import is_equity, regular_hours

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def history(
    symbol: str,
    interval: str = "5min",
    days: int = 5,
    *,
    end: Any = None,
    provider: str | DataProvider | None = None,
    extended_hours: bool = False,
) -> pd.DataFrame:
    """Bars of the last ``days`` trading days up to ``end`` (default now), from ``provider`` (default: sample)."""
    if days < 1:
        raise DataError(f"days must be at least 1, not {days}")
    source = get_provider(provider or "sample")
    stop = pd.Timestamp.now(tz="UTC") if end is None else pd.Timestamp(end)
    stop = stop.tz_localize("UTC") if stop.tzinfo is None else stop.tz_convert("UTC")
    last = calendar.exchange_day(stop)
    if is_equity(symbol):
        first = calendar.previous_trading_days(last, days)[0]
    else:
        first = last - pd.Timedelta(days=days - 1)
    bars = source.bars(symbol, calendar.day_start(first), stop, interval)
    return bars if extended_hours else regular_hours(bars)


def plot_bars(bars: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Candles (green up, red down) over volume bars, one column per bar: nights and weekends take no room."""
    import matplotlib.pyplot as plt

    if bars.empty:
        raise DataError("no bars to draw")
    local = pd.DatetimeIndex(bars["time"]).tz_convert(calendar.EXCHANGE_TZ)
    x = np.arange(len(bars))
    up = (bars["close"] >= bars["open"]).to_numpy()
    colour = np.where(up, "#2a9d8f", "#e76f51")
    figure, (prices, volume) = plt.subplots(
        2, 1, sharex=True, figsize=(10, 5), gridspec_kw={"height_ratios": [3, 1]}, layout="constrained"
    )
    prices.vlines(x, bars["low"], bars["high"], colors=colour, linewidth=0.8)
    body_low = np.minimum(bars["open"], bars["close"])
    body = np.maximum(np.abs(bars["close"] - bars["open"]), 1e-9)
    prices.bar(x, body, bottom=body_low, color=colour, width=0.7)
    volume.bar(x, bars["volume"], color=colour, width=0.7)
    starts = np.flatnonzero(np.r_[True, local.date[1:] != local.date[:-1]])
    for start in starts[1:]:
        prices.axvline(start - 0.5, color="#999", linewidth=0.5)
        volume.axvline(start - 0.5, color="#999", linewidth=0.5)
    volume.set_xticks(starts, [f"{local[i]:%a %d %b}" for i in starts])
    symbol = str(bars["symbol"].iloc[0]) if "symbol" in bars else ""
    prices.set_title(title or f"{symbol} ({local[0]:%Y-%m-%d} to {local[-1]:%Y-%m-%d}, New York time)")
    prices.set_ylabel("price")
    volume.set_ylabel("volume")
    return figure
