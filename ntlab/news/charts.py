"""Headlines next to prices and fills: did a fill sit just before a headline, and how did it mark out?

- :func:`fills_before_headlines`: for every fill, the first headline about its symbol published within a
  window after it (a table, no plotting);
- :func:`mark_headlines`: vertical markers for headlines on any matplotlib Axes with a time axis;
- :func:`price_with_headlines`: mid price, fills and headlines of one symbol;
- :func:`markouts_with_headlines`: TCA markouts of fills shortly before a headline against all others.

They take plain frames (quotes ``symbol, time, bid, ask``; fills ``time, symbol, side, price`` with the TCA
report's ``markout_bps_<h>`` columns for the markout chart) or a TCA report (its ``fills`` and ``horizons``),
and draw with matplotlib (the ``plots`` extra): a new figure through pyplot, or on the ``ax`` you pass.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ntlab.errors import DataError
from ntlab.news.symbols import has_symbol

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

MARKOUT_PREFIX = "markout_bps_"


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError("headline charts need matplotlib: pip install 'ntlab[plots]'") from error
    return plt


def _axes(ax: Axes | None, size: tuple[float, float] = (9, 4)) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax  # type: ignore[return-value]
    figure, axes = _pyplot().subplots(figsize=size, layout="constrained")
    return figure, axes


def _need(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(
            f"{what} needs the columns {', '.join(missing)}; it has {', '.join(map(str, frame.columns))}"
        )


def _utc(values: pd.Series) -> pd.Series:
    times = pd.to_datetime(values, utc=True)
    return times.dt.as_unit("ns")


def headlines_by_symbol(headlines: pd.DataFrame) -> pd.DataFrame:
    """One row per (headline, tagged symbol): the long form joins and plots use."""
    _need(headlines, ["published_at", "title", "symbols"], "a headlines frame")
    long = headlines.assign(symbol=headlines["symbols"].fillna("").str.split(",")).explode("symbol")
    long = long[long["symbol"].astype(str) != ""].copy()
    long["published_at"] = _utc(long["published_at"])
    return long.reset_index(drop=True)


def fills_before_headlines(fills: Any, headlines: pd.DataFrame, *, within: str = "5min") -> pd.DataFrame:
    """Every fill with the first headline about its symbol published within ``within`` at or after it.

    One row per fill (same index), with ``headline_time``, ``seconds_to_headline``, ``headline`` and
    ``headline_source``; NaT/NaN/<NA> where no headline followed in the window. ``fills`` is a frame or a TCA
    report. Fills of a symbol the headlines never mention simply find none.
    """
    frame = _fills_of(fills)
    _need(frame, ["time", "symbol"], "the fills frame")
    window = pd.Timedelta(within)
    long = headlines_by_symbol(headlines).sort_values("published_at", kind="stable")
    left = frame.assign(
        _time=_utc(frame["time"]), _symbol=frame["symbol"].astype(str), _row=np.arange(len(frame))
    )
    right = long.rename(
        columns={"published_at": "headline_time", "title": "headline", "source": "headline_source"}
    )
    right = right.assign(_symbol=right["symbol"].astype(str))[
        ["_symbol", "headline_time", "headline", "headline_source"]
    ]
    joined = pd.merge_asof(
        left.sort_values("_time", kind="stable"),
        right,
        left_on="_time",
        right_on="headline_time",
        by="_symbol",
        direction="forward",
        tolerance=window,
        allow_exact_matches=True,
    ).sort_values("_row")
    joined.index = frame.index
    joined["seconds_to_headline"] = (joined["headline_time"] - joined["_time"]).dt.total_seconds()
    return joined.drop(columns=["_time", "_symbol", "_row"])


def mark_headlines(
    ax: Axes, headlines: pd.DataFrame, *, max_labels: int = 10, color: str = "C3", width: int = 38
) -> int:
    """Dashed vertical lines at each headline's time on ``ax`` (a time axis, its data drawn first), up to
    ``max_labels`` titles written beside them (a title is skipped when it would overlap the previous one);
    returns how many lines were drawn."""
    times = _utc(headlines["published_at"]) if len(headlines) else pd.Series([], dtype="datetime64[ns, UTC]")
    titles = headlines["title"].fillna("").astype(str).tolist() if len(headlines) else []
    low, high = ax.get_ylim()
    from matplotlib.dates import date2num

    xmin, xmax = ax.get_xlim()
    spacing = (xmax - xmin) * 0.015 if xmax > xmin else 0.0  # labels closer than this would overlap
    drawn, labelled, last = 0, 0, None
    for when, title in zip(times, titles, strict=True):
        if pd.isna(when):
            continue
        ax.axvline(
            when,
            color=color,
            linestyle="--",
            linewidth=0.9,
            alpha=0.8,
            label="headline" if drawn == 0 else None,
        )
        x = float(date2num(when.to_pydatetime()))
        if labelled < max_labels and (last is None or x - last >= spacing):
            short = title if len(title) <= width else title[: width - 1] + "…"
            ax.text(when, high, f" {short}", rotation=90, va="top", ha="right", fontsize=7, color=color)
            labelled, last = labelled + 1, x
        drawn += 1
    ax.set_ylim(low, high)
    return drawn


def price_with_headlines(
    quotes: pd.DataFrame,
    headlines: pd.DataFrame,
    symbol: str,
    *,
    fills: pd.DataFrame | None = None,
    start: Any = None,
    end: Any = None,
    ax: Axes | None = None,
) -> Figure:
    """The mid of ``symbol`` from ``quotes``, its ``fills`` (▲ buys, ▼ sells) and the headlines tagged with
    it, over ``start``..``end`` (default: the fills' span with a margin, else every quote)."""
    _need(quotes, ["symbol", "time", "bid", "ask"], "the quotes frame")
    key = symbol.strip().upper()
    book = quotes[quotes["symbol"].astype(str) == key]
    if book.empty:
        raise DataError(
            f"no quotes for {symbol!r}; the frame has {', '.join(sorted(map(str, quotes['symbol'].unique())))}"
        )
    mine = None
    if fills is not None and len(fills):
        _need(fills, ["time", "symbol", "side", "price"], "the fills frame")
        mine = fills[fills["symbol"].astype(str) == key]
    times = _utc(book["time"])
    if start is None and mine is not None and len(mine):
        start = _utc(mine["time"]).min() - pd.Timedelta("10min")
    if end is None and mine is not None and len(mine):
        end = _utc(mine["time"]).max() + pd.Timedelta("20min")
    lo = times.min() if start is None else pd.Timestamp(start)
    hi = times.max() if end is None else pd.Timestamp(end)
    window = (times >= lo) & (times <= hi)
    figure, axes = _axes(ax)
    mid = (book["bid"].astype(float) + book["ask"].astype(float)) / 2
    axes.plot(times[window], mid[window], drawstyle="steps-post", linewidth=0.9, color="C0", label="mid")
    if mine is not None and len(mine):
        for side, marker, color in (("buy", "^", "C2"), ("sell", "v", "C1")):
            part = mine[mine["side"].astype(str).str.lower() == side]
            if len(part):
                axes.scatter(
                    _utc(part["time"]),
                    part["price"].astype(float),
                    marker=marker,
                    color=color,
                    s=36,
                    zorder=3,
                    label=f"{side} fills",
                )
    tagged = headlines[has_symbol(headlines, key)] if len(headlines) else headlines
    if len(tagged):
        at = _utc(tagged["published_at"])
        tagged = tagged[(at >= lo) & (at <= hi)]
    mark_headlines(axes, tagged)
    axes.set(title=f"{key}: mid, fills and headlines", xlabel="time (UTC)", ylabel="price")
    axes.legend(loc="lower left", fontsize=8)
    figure.autofmt_xdate()
    return figure


def _fills_of(source: Any) -> pd.DataFrame:
    """A TCA report's fills, or the frame itself."""
    if isinstance(source, pd.DataFrame):
        return source
    fills = getattr(source, "fills", None)
    if not isinstance(fills, pd.DataFrame):
        raise DataError("pass a fills frame or a TCA report (ntlab.analytics.tca(...) or lab.tca())")
    return fills


def _horizons(source: Any, fills: pd.DataFrame) -> list[str]:
    given = getattr(source, "horizons", None)
    if given:
        return [str(h) for h in given]
    found = [c.removeprefix(MARKOUT_PREFIX) for c in fills.columns if str(c).startswith(MARKOUT_PREFIX)]
    if not found:
        raise DataError("the fills have no markout_bps_<horizon> columns: pass a TCA report or its fills")
    return found


def markouts_with_headlines(
    report: Any, headlines: pd.DataFrame, *, within: str = "5min", horizon: str | None = None
) -> Figure:
    """TCA markouts split by whether a headline about the symbol came within ``within`` after the fill.

    Left: the mean markout curve (bps, positive = cost) of fills just before a headline against all other
    fills. Right: each fill's markout at ``horizon`` (default the longest) over time, the headlines marked,
    so a costly fill right before news stands out.
    """
    fills = _fills_of(report)
    horizons = _horizons(report, fills)
    horizon = horizon or horizons[-1]
    if horizon not in horizons:
        raise DataError(f"horizon {horizon!r} is not in the report's horizons {horizons}")
    near = fills_before_headlines(fills, headlines, within=within)["headline_time"].notna().to_numpy()
    plt = _pyplot()
    figure, (left, right) = plt.subplots(
        1, 2, figsize=(11, 4), layout="constrained", gridspec_kw={"width_ratios": [1, 1.4]}
    )
    x = np.arange(len(horizons))
    columns = [f"{MARKOUT_PREFIX}{h}" for h in horizons]
    for mask, label, color in ((near, f"≤ {within} before a headline", "C3"), (~near, "other fills", "C0")):
        values = fills.loc[mask, columns].to_numpy(dtype=float)
        if not len(values):
            continue
        with np.errstate(invalid="ignore"):
            finite = np.isfinite(values)
            count = finite.sum(axis=0)
            mean = np.where(count > 0, np.where(finite, values, 0).sum(axis=0) / np.maximum(count, 1), np.nan)
        left.plot(x, mean, marker="o", color=color, label=f"{label} ({int(mask.sum())})")
    left.axhline(0, color="black", linewidth=0.8)
    left.set_xticks(x, horizons)
    left.set(xlabel="horizon after the fill", ylabel="markout, bps (positive = cost)", title="Markouts")
    if left.get_legend_handles_labels()[0]:
        left.legend(fontsize=8)
    times = _utc(fills["time"])
    values = fills[f"{MARKOUT_PREFIX}{horizon}"].to_numpy(dtype=float)
    right.scatter(times[~near], values[~near], s=12, color="C0", alpha=0.6, label="other fills")
    right.scatter(times[near], values[near], s=28, color="C3", label=f"≤ {within} before a headline")
    right.axhline(0, color="black", linewidth=0.8)
    symbols = set(fills["symbol"].astype(str))
    long = headlines_by_symbol(headlines)
    shown = long[long["symbol"].isin(symbols)].drop_duplicates("published_at")
    if len(times):
        shown = shown[
            (shown["published_at"] >= times.min() - pd.Timedelta(within))
            & (shown["published_at"] <= times.max() + pd.Timedelta(within))
        ]
    mark_headlines(right, shown, max_labels=6)
    right.set(xlabel="fill time (UTC)", ylabel=f"markout at {horizon}, bps", title="Fills and headlines")
    right.legend(fontsize=8, loc="lower left")
    right.tick_params(axis="x", labelrotation=30)
    return figure
