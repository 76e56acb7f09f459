"""Charts a desk expects: P&L and exposure over time, one order's fills over the quote, an algo's schedule.

Each chart is computed once as plain series (:class:`Chart`: lines and points over time, in the exchange's
zone) from the session's fills and the market's quotes, then drawn twice: with **plotly** for JupyterLab,
where zooming into a session and hovering over a fill is what helps, and with **matplotlib** as a PNG for
everything that cannot run JavaScript (HTML exports, GitHub, nbviewer, a saved notebook before it runs).
Plotly because its JupyterLab renderer ships inside the ``plotly`` wheel (nothing to build, no kernel
needed to show a saved figure) and a figure is plain JSON in the notebook; the PNG comes from matplotlib
because plotly's own static export needs a browser at run time. Without plotly installed only the PNG is
sent.

The series are pure functions of frames (:func:`pnl_frame`, :func:`exposure_frame`), usable without a
notebook.
"""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ntlab.lab.style import EXCHANGE_ZONE, zone_name

if TYPE_CHECKING:
    from ntlab.algos import ParentOrder
    from ntlab.lab.session import Lab
    from ntlab.market.frames import Market

POINTS = 240  # samples over a session: enough to see the shape, few enough to draw at once


@dataclass(slots=True)
class Series:
    name: str
    x: pd.DatetimeIndex
    y: np.ndarray
    kind: str = "line"  # line, step, points, level
    colour: str | None = None
    size: np.ndarray | None = None  # point sizes (fill quantities)


@dataclass(slots=True)
class Chart:
    """A titled set of series over time, drawn by plotly in JupyterLab and as a PNG elsewhere."""

    title: str
    ylabel: str
    series: list[Series] = field(default_factory=list)
    zone: str = EXCHANGE_ZONE

    def figure(self) -> Any:
        """The plotly figure (needs ``pip install 'ntlab[plots]'``)."""
        import plotly.graph_objects as go

        fig = go.Figure()
        for s in self.series:
            x = s.x.tz_convert(self.zone).tz_localize(None)
            line = {"color": s.colour} if s.colour else {}
            if s.kind == "points":
                size = None if s.size is None else 6 + 14 * np.sqrt(s.size / max(float(s.size.max()), 1e-12))
                fig.add_trace(
                    go.Scatter(
                        x=x, y=s.y, name=s.name, mode="markers", marker={"size": size, "color": s.colour}
                    )
                )
            else:
                shape = "hv" if s.kind in ("step", "level") else "linear"
                dash = "dash" if s.kind == "level" else None
                fig.add_trace(
                    go.Scatter(
                        x=x, y=s.y, name=s.name, mode="lines", line={**line, "shape": shape, "dash": dash}
                    )
                )
        fig.update_layout(
            title=self.title,
            yaxis_title=self.ylabel,
            xaxis_title=f"time, {zone_name(self.zone)}",
            template="plotly_white",
            height=360,
            margin={"l": 60, "r": 20, "t": 50, "b": 50},
            legend={"orientation": "h", "y": -0.25},
        )
        return fig

    def png(self) -> bytes:
        """The chart as a PNG, drawn with matplotlib (no display needed)."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        fig = Figure(figsize=(8, 3.4), dpi=100)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        for s in self.series:
            x = s.x.tz_convert(self.zone).tz_localize(None)
            if s.kind == "points":
                size = None if s.size is None else 10 + 90 * s.size / max(float(s.size.max()), 1e-12)
                ax.scatter(x, s.y, s=size, label=s.name, color=s.colour, zorder=3)
            elif s.kind == "step":
                ax.step(x, s.y, where="post", label=s.name, color=s.colour)
            elif s.kind == "level":
                ax.step(x, s.y, where="post", label=s.name, color=s.colour, linestyle="--")
            else:
                ax.plot(x, s.y, label=s.name, color=s.colour)
        ax.set_title(self.title)
        ax.set_ylabel(self.ylabel)
        ax.set_xlabel(f"time, {zone_name(self.zone)}")
        ax.grid(alpha=0.3)
        if self.series:
            ax.legend(loc="best", fontsize=8)
        fig.autofmt_xdate()
        fig.tight_layout()
        out = io.BytesIO()
        fig.savefig(out, format="png")
        return out.getvalue()

    def frame(self) -> pd.DataFrame:
        """The chart's lines as one DataFrame (UTC index), for analysis or export."""
        parts = {s.name: pd.Series(s.y, index=s.x) for s in self.series if s.kind != "points"}
        return pd.DataFrame(parts)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        data: dict[str, Any] = {"text/plain": f"<Chart {self.title}>", "image/png": self.png()}
        with contextlib.suppress(ImportError):  # without plotly, the PNG alone
            data["application/vnd.plotly.v1+json"] = json.loads(self.figure().to_json())
        return data


# --- series ------------------------------------------------------------------------------------------------
def _mids(market: Market, symbol: str, times: np.ndarray) -> np.ndarray:
    """The mid at each time (backward as-of: the last quote at or before it; NaN before the first)."""
    quotes = market.quote_arrays(symbol)
    at = np.searchsorted(quotes.time_ns, times, side="right") - 1
    mids = (quotes.bid + quotes.ask) / 2
    return np.where(at >= 0, mids[np.clip(at, 0, None)], np.nan)


def _grid(start_ns: int, end_ns: int, points: int = POINTS) -> np.ndarray:
    if end_ns <= start_ns:
        return np.array([start_ns], dtype="int64")
    return np.linspace(start_ns, end_ns, points).astype("int64")


def _positions_over(
    fills: pd.DataFrame, grid: np.ndarray
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per symbol, at each grid time: (signed quantity, average cost of the open part, realized P&L net of
    fees), by the average-cost method the core books positions with."""
    out = {}
    times = fills["time"].astype("int64").to_numpy() if len(fills) else np.array([], dtype="int64")
    for symbol in pd.unique(fills["symbol"].astype(str)) if len(fills) else []:
        mask = (fills["symbol"].astype(str) == symbol).to_numpy()
        t = times[mask]
        sides = np.where(fills["side"].astype(str).to_numpy()[mask] == "buy", 1.0, -1.0)
        qty, px, fee = (fills[c].to_numpy(dtype="float64")[mask] for c in ("quantity", "price", "fee"))
        q = avg = realized = 0.0
        after = []
        for signed, p, f in zip(sides * qty, px, fee, strict=True):
            realized -= f
            if q == 0 or (q > 0) == (signed > 0):
                avg = (avg * abs(q) + p * abs(signed)) / abs(q + signed)
                q += signed
            else:
                closing = min(abs(signed), abs(q))
                realized += (p - avg) * closing * (1 if q > 0 else -1)
                q += signed
                if q == 0:
                    avg = 0.0
                elif (q > 0) != (q - signed > 0):
                    avg = p
            after.append((q, avg, realized))
        state = np.array(after, dtype="float64").reshape(-1, 3)
        at = np.searchsorted(t, grid, side="right") - 1
        pick = np.clip(at, 0, None)
        known = at >= 0
        out[symbol] = tuple(np.where(known, state[pick, i], 0.0) for i in range(3))
    return out  # type: ignore[return-value]


def pnl_frame(
    fills: pd.DataFrame, market: Market, start: Any, end: Any, points: int = POINTS
) -> pd.DataFrame:
    """Realized (net of fees), unrealized and total P&L of the session over time, marked at the mid.

    ``fills`` is a fills frame (``lab.fills``: time, symbol, side, quantity, price, fee).
    """
    grid = _grid(pd.Timestamp(start).value, pd.Timestamp(end).value, points)
    realized = np.zeros(len(grid))
    unrealized = np.zeros(len(grid))
    for symbol, (q, avg, real) in _positions_over(fills, grid).items():
        mid = _mids(market, symbol, grid)
        realized += real
        unrealized += np.where(q != 0, (mid - avg) * q, 0.0)
    index = pd.DatetimeIndex(grid.view("datetime64[ns]")).tz_localize("UTC")
    return pd.DataFrame(
        {"realized": realized, "unrealized": unrealized, "total": realized + unrealized}, index=index
    )


def exposure_frame(
    fills: pd.DataFrame, market: Market, start: Any, end: Any, points: int = POINTS
) -> pd.DataFrame:
    """Market value per symbol over time (signed, at the mid), with gross and net totals."""
    grid = _grid(pd.Timestamp(start).value, pd.Timestamp(end).value, points)
    index = pd.DatetimeIndex(grid.view("datetime64[ns]")).tz_localize("UTC")
    values = {s: q * _mids(market, s, grid) for s, (q, _, _) in _positions_over(fills, grid).items()}
    frame = pd.DataFrame(values, index=index).fillna(0.0)
    frame["gross"] = frame.abs().sum(axis=1)
    frame["net"] = frame.drop(columns="gross").sum(axis=1)
    return frame


# --- the charts ----------------------------------------------------------------------------------------
def _session(lab: Lab) -> tuple[pd.DataFrame, Market, pd.Timestamp, pd.Timestamp]:
    from ntlab.core.broker import SimulatedVenue
    from ntlab.errors import DataError

    if not isinstance(lab.broker, SimulatedVenue):
        raise DataError("charts over time need the market's quotes; this broker has none")
    fills = lab.fills
    market = lab.broker.market
    start = fills["time"].min() if len(fills) else lab.now()
    return fills, market, pd.Timestamp(start), lab.now()


def pnl_chart(lab: Lab) -> Chart:
    """The session's P&L over time: realized (net of fees), unrealized, total."""
    fills, market, start, end = _session(lab)
    frame = pnl_frame(fills, market, start, end)
    colours = {"realized": "#1f6feb", "unrealized": "#bc4c00", "total": "#1a7f37"}
    return Chart(
        "P&L over time",
        "P&L (USD)",
        [Series(name, frame.index, frame[name].to_numpy(), colour=colours[name]) for name in frame.columns],
        lab.zone,
    )


def exposure_chart(lab: Lab) -> Chart:
    """Market value per symbol over time, with gross exposure."""
    fills, market, start, end = _session(lab)
    frame = exposure_frame(fills, market, start, end)
    series = [
        Series(name, frame.index, frame[name].to_numpy(), kind="step")
        for name in frame.columns
        if name != "net"
    ]
    return Chart("Positions and exposure over time", "market value (USD)", series, lab.zone)


def order_chart(lab: Lab, order: Any) -> Chart:
    """One order's fills over the bid and ask, with its arrival mid and the VWAP of its fills.

    A parent (an algo's id or ParentOrder) shows every child's fills.
    """
    from ntlab.algos import ParentOrder, ParentSnapshot
    from ntlab.lab import args

    fills, market, _, now = _session(lab)
    key = order.parent_id if isinstance(order, ParentOrder | ParentSnapshot) else args.order_id(order)
    orders = lab.orders
    children = orders["parent_id"] == key
    ids = list(orders.index[children]) if children.any() else [lab.snapshot(key).order_id]
    mine = fills[fills["order_id"].isin(ids)]
    first = orders.loc[ids[0]]
    symbol = str(first["symbol"])
    t0 = pd.Timestamp(orders.loc[ids, "created_at"].min())
    t1 = max(
        pd.Timestamp(mine["time"].max()) if len(mine) else t0,
        pd.Timestamp(orders.loc[ids, "updated_at"].max()),
    )
    pad = max(pd.Timedelta(seconds=30), (t1 - t0) * 0.05)
    quotes = market.quotes_for(symbol)
    window = quotes[(quotes["time"] >= t0 - pad) & (quotes["time"] <= min(t1 + pad, now))]
    times = pd.DatetimeIndex(window["time"])
    series = [
        Series("bid", times, window["bid"].to_numpy(dtype="float64"), kind="step", colour="#1a7f37"),
        Series("ask", times, window["ask"].to_numpy(dtype="float64"), kind="step", colour="#cf222e"),
    ]
    arrival = float(first["arrival_mid"])
    edges = pd.DatetimeIndex([times[0], times[-1]]) if len(times) else pd.DatetimeIndex([t0, t1])
    if not np.isnan(arrival):
        series.append(
            Series("arrival mid", edges, np.array([arrival, arrival]), kind="level", colour="#6e7781")
        )
    if len(mine):
        q = mine["quantity"].to_numpy(dtype="float64")
        vwap = float((mine["price"].to_numpy(dtype="float64") * q).sum() / q.sum())
        series.append(Series("VWAP of fills", edges, np.array([vwap, vwap]), kind="level", colour="#8250df"))
        series.append(
            Series(
                "fills",
                pd.DatetimeIndex(mine["time"]),
                mine["price"].to_numpy(dtype="float64"),
                kind="points",
                colour="#1f6feb",
                size=q,
            )
        )
    return Chart(f"{key}: fills over the quote ({symbol})", "price", series, lab.zone)


def schedule_chart(lab: Lab, parent: ParentOrder) -> Chart:
    """An algo's schedule (what was due at each wake) against what it had filled."""
    history = parent.history
    times = pd.DatetimeIndex(pd.to_datetime([p.time_ns for p in history], utc=True))
    return Chart(
        f"{parent.parent_id}: schedule against filled ({parent.params.symbol})",
        "quantity",
        [
            Series(
                "schedule", times, np.array([float(p.target) for p in history]), kind="step", colour="#6e7781"
            ),
            Series(
                "filled", times, np.array([float(p.filled) for p in history]), kind="step", colour="#1a7f37"
            ),
        ],
        lab.zone,
    )


class Charts:
    """``lab.charts``: ``pnl()``, ``exposure()``, ``order(order_or_parent)``, ``schedule(parent)``."""

    def __init__(self, lab: Lab) -> None:
        self._lab = lab

    def pnl(self) -> Chart:
        return pnl_chart(self._lab)

    def exposure(self) -> Chart:
        return exposure_chart(self._lab)

    def order(self, order: Any) -> Chart:
        return order_chart(self._lab, order)

    def schedule(self, parent: Any) -> Chart:
        return schedule_chart(self._lab, self._lab.algos.parent(parent))

    def __repr__(self) -> str:
        return "<charts: pnl(), exposure(), order(o), schedule(parent)>"


class PnLView:
    """The dashboard's P&L tab: the P&L chart as an image, redrawn every few seconds when orders changed."""

    def __new__(cls, lab: Lab) -> Any:
        import ipywidgets as widgets

        from ntlab.lab.widgets import Coalescer

        image = widgets.Image(format="png", layout=widgets.Layout(max_width="820px"))

        async def redraw() -> None:
            try:
                image.value = await _pnl_png(lab)
            except Exception:  # no market (a real broker): leave the tab empty
                image.value = b""

        box = widgets.VBox([image])
        lab.run(redraw())
        refresher = Coalescer(lab, redraw, hz=0.5)
        box.stop = refresher.stop  # type: ignore[attr-defined]
        return box


async def _pnl_png(lab: Lab) -> bytes:
    from ntlab.core.broker import SimulatedVenue

    if not isinstance(lab.broker, SimulatedVenue):
        return b""
    fills = await lab.afills()
    now = await lab.anow()
    start = fills["time"].min() if len(fills) else now
    frame = pnl_frame(fills, lab.broker.market, start, now)
    chart = Chart(
        "P&L over time",
        "P&L (USD)",
        [Series(n, frame.index, frame[n].to_numpy()) for n in frame.columns],
        lab.zone,
    )
    return chart.png()
