"""One display style for every ntlab table and one-line description: numbers as a trader reads them.

Prices to the instrument's tick, quantities to its lot, money to cents, basis points to one decimal, P&L
green or red, times in the exchange's zone with the zone named. Values in DataFrames stay as they are (UTC
times, float64 numbers); only what is shown is formatted. A frame carries what its style needs in
``frame.attrs["ntlab"]`` (set by :func:`mark`), and the notebook's HTML formatter draws such frames with
:func:`frame_html`; pandas keeps ``attrs`` through selections, ``round`` and ``head``.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pandas as pd

from ntlab.core.instruments import Instrument, InstrumentRegistry
from ntlab.core.records import Order, Quote

EXCHANGE_ZONE = "America/New_York"  # the sample market's and US equities' zone
GREEN, RED, GREY = "#1a7f37", "#cf222e", "#6e7781"
BUY_COLOUR, SELL_COLOUR = "#1a7f37", "#cf222e"
MAX_ROWS = 60

PRICE_COLUMNS = frozenset(
    {
        "limit_price",
        "stop_price",
        "avg_fill_price",
        "arrival_bid",
        "arrival_ask",
        "arrival_mid",
        "price",
        "avg_cost",
        "mark",
        "avg_price",
        "bid",
        "ask",
        "mid",
    }
)
QUANTITY_COLUMNS = frozenset(
    {"quantity", "filled_quantity", "remaining_quantity", "working_quantity", "target_quantity", "filled"}
)
MONEY_COLUMNS = frozenset(
    {"notional", "fee", "fees", "market_value", "cash", "equity", "buying_power", "margin_used"}
)
PNL_COLUMNS = frozenset({"realized_pnl", "unrealized_pnl", "total_pnl", "day_pnl", "pnl"})

CSS = """
<style>
table.ntlab{border-collapse:collapse;font:12px/1.35 var(--jp-code-font-family,ui-monospace,monospace);
  color:var(--jp-content-font-color1,#1f2328)}
table.ntlab th{position:sticky;top:0;background:var(--jp-layout-color2,#f6f8fa);text-align:right;
  padding:3px 8px;border-bottom:1px solid var(--jp-border-color1,#d0d7de);font-weight:600;white-space:nowrap}
table.ntlab td{padding:2px 8px;text-align:right;white-space:nowrap;border-bottom:1px solid var(--jp-border-color3,#eaeef2)}
table.ntlab td.t,table.ntlab th.t{text-align:left}
table.ntlab tr.total td{font-weight:600;border-top:2px solid var(--jp-border-color1,#d0d7de)}
table.ntlab caption{caption-side:bottom;text-align:left;color:#6e7781;padding-top:3px}
.ntlab-buy{color:#1a7f37;font-weight:600}.ntlab-sell{color:#cf222e;font-weight:600}
</style>
"""


# --- numbers -----------------------------------------------------------------------------------------------
def places(step: Decimal | None, default: int = 2) -> int:
    """Decimal places of a tick or lot (0.01 -> 2, 0.0001 -> 4, 1 -> 0)."""
    if step is None:
        return default
    exponent = step.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else default


def number(value: Any, decimals: int, *, sign: bool = False) -> str:
    """``1234.5`` -> ``"1,234.50"``; NaN and None -> ``""`` (an empty cell, never a 0)."""
    if value is None:
        return ""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return html.escape(str(value))
    if math.isnan(x):
        return ""
    text = f"{x:+,.{decimals}f}" if sign else f"{x:,.{decimals}f}"
    return text.replace("-", "−")


def price(value: Any, tick: Decimal | None) -> str:
    return number(value, places(tick))


def quantity(value: Any, lot: Decimal | None) -> str:
    return number(value, places(lot, 0))


def money(value: Any) -> str:
    return number(value, 2)


def pnl_html(value: Any) -> str:
    """Signed money, green when made and red when lost."""
    text = number(value, 2, sign=True)
    if not text:
        return ""
    x = float(value)
    colour = GREEN if x > 0 else RED if x < 0 else GREY
    return f'<span style="color:{colour}">{text}</span>'


def local_time(value: Any, zone: str = EXCHANGE_ZONE, with_date: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return ""
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    stamp = stamp.tz_convert(zone)
    return stamp.strftime("%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S")


def zone_name(zone: str = EXCHANGE_ZONE, when: Any = None) -> str:
    """The zone as a header names it: "New York (EST)"."""
    city = zone.split("/")[-1].replace("_", " ")
    stamp = pd.Timestamp(when if when is not None else "2026-01-02", tz="UTC").tz_convert(zone)
    return f"{city} ({stamp.tzname()})"


# --- one-line descriptions -------------------------------------------------------------------------------
def side_html(side: str) -> str:
    return f'<span class="ntlab-{side}">{side}</span>'


def describe_quote(quote: Quote, instrument: Instrument | None, zone: str = EXCHANGE_ZONE) -> str:
    """``AAPL 189.95 × 600 / 189.98 × 200 (spread 3 ticks, 09:30:00 New York)``."""
    tick = instrument.tick_size if instrument is not None else None
    lot = instrument.lot_size if instrument is not None else None
    spread = ""
    if tick:
        spread = f"spread {(quote.ask - quote.bid) / tick:.0f} ticks, "
    return (
        f"{quote.symbol} {price(quote.bid, tick)} × {quantity(quote.bid_size, lot)} / "
        f"{price(quote.ask, tick)} × {quantity(quote.ask_size, lot)} "
        f"({spread}{local_time(quote.time, zone)} {zone.split('/')[-1].replace('_', ' ')})"
    )


def describe_order(order: Order, instrument: Instrument | None) -> str:
    """``sim-000002: buy 50 MSFT limit 409.90 day — filled 50 @ 409.90`` (as a trader would say it)."""
    tick = instrument.tick_size if instrument is not None else None
    lot = instrument.lot_size if instrument is not None else None
    kind = order.order_type.value.replace("_", " ")
    prices = ""
    if order.stop_price is not None:
        prices += f" stop {price(order.stop_price, tick)}"
    if order.limit_price is not None:
        prices += (
            f" limit {price(order.limit_price, tick)}"
            if order.stop_price is not None
            else f" {price(order.limit_price, tick)}"
        )
    state = order.status.value.replace("_", " ")
    if order.filled_quantity and order.avg_fill_price is not None:
        done = f"{quantity(order.filled_quantity, lot)} @ {price(order.avg_fill_price, tick)}"
        state = f"filled {done}" if order.status.value == "filled" else f"{state}, filled {done}"
    reason = f" ({order.reason})" if order.reason else ""
    size = quantity(order.quantity, lot)
    if order.notional is not None:  # an amount of money: what it bought once the broker says
        worth = f"{order.notional.normalize():f}"
        size = f"{worth} worth of" if not order.quantity else f"{size} ({worth} worth)"
    return (
        f"{order.order_id}: {order.side.value} {size} {order.symbol} {kind}{prices} "
        f"{order.time_in_force.value} — {state}{reason}"
    )


# --- tables ----------------------------------------------------------------------------------------------
@dataclass(slots=True)
class Style:
    """What a frame's style needs: each symbol's tick and lot, the exchange's zone, and whether to total."""

    ticks: dict[str, Decimal] = field(default_factory=dict)
    lots: dict[str, Decimal] = field(default_factory=dict)
    zone: str = EXCHANGE_ZONE
    totals: tuple[str, ...] = ()


def mark(
    frame: pd.DataFrame,
    instruments: Iterable[Instrument] = (),
    *,
    zone: str = EXCHANGE_ZONE,
    totals: Iterable[str] = (),
) -> pd.DataFrame:
    """Attach the ntlab style to ``frame`` (in place) and return it."""
    style = Style(zone=zone, totals=tuple(totals))
    for instrument in instruments:
        style.ticks[instrument.symbol] = instrument.tick_size
        style.lots[instrument.symbol] = instrument.lot_size
    frame.attrs["ntlab"] = style
    return frame


def styled(frame: Any) -> bool:
    return isinstance(frame, pd.DataFrame) and isinstance(frame.attrs.get("ntlab"), Style)


def _kind(name: str, dtype: Any) -> str:
    if name in PRICE_COLUMNS:
        return "price"
    if name in QUANTITY_COLUMNS:
        return "quantity"
    if name in PNL_COLUMNS:
        return "pnl"
    if name in MONEY_COLUMNS:
        return "money"
    if name.endswith("_bps") or name == "slippage_bps":
        return "bps"
    if isinstance(dtype, pd.DatetimeTZDtype):
        return "time"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    return "text"


def _cell(kind: str, value: Any, symbol: str | None, style: Style) -> str:
    if kind == "price":
        return price(value, style.ticks.get(symbol or ""))
    if kind == "quantity":
        return quantity(value, style.lots.get(symbol or "", Decimal(1) if symbol is None else None))
    if kind == "money":
        return money(value)
    if kind == "pnl":
        return pnl_html(value)
    if kind == "bps":
        return number(value, 1)
    if kind == "time":
        return local_time(value, style.zone)
    if kind == "float":
        return number(value, 4)
    if kind == "int":
        return number(value, 0)
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    text = html.escape(str(value))
    return side_html(text) if text in ("buy", "sell") else text


def frame_html(frame: pd.DataFrame, caption: str | None = None, max_rows: int = MAX_ROWS) -> str:
    """An ntlab-styled HTML table of ``frame`` (the first and last rows when it is long)."""
    style: Style = frame.attrs.get("ntlab") or Style()
    columns = list(frame.columns)
    kinds = [_kind(str(c), frame[c].dtype) for c in columns]
    index_is_symbol = frame.index.name == "symbol"
    symbols: list[Any]
    if "symbol" in frame.columns:
        symbols = list(frame["symbol"])
    elif index_is_symbol:
        symbols = list(frame.index)
    else:
        symbols = [None] * len(frame)
    rows = range(len(frame))
    shown = list(rows) if len(frame) <= max_rows else [*rows[: max_rows // 2], -1, *rows[-max_rows // 2 :]]
    head = "".join(
        f'<th class="{"t" if k == "text" else ""}">{html.escape(str(c))}{" (" + zone_name(style.zone) + ")" if k == "time" else ""}</th>'
        for c, k in zip(columns, kinds, strict=True)
    )
    index_name = html.escape(str(frame.index.name or ""))
    body = []
    values = [frame[c].tolist() for c in columns]
    index = frame.index.tolist()
    for row in shown:
        if row == -1:
            body.append(
                f'<tr><td class="t">…</td><td colspan="{len(columns)}" class="t">{len(frame) - max_rows:,} more rows</td></tr>'
            )
            continue
        symbol = symbols[row] if isinstance(symbols[row], str) else None
        cells = "".join(
            f'<td class="{"t" if k == "text" else ""}">{_cell(k, values[i][row], symbol, style)}</td>'
            for i, k in enumerate(kinds)
        )
        body.append(f'<tr><td class="t"><b>{html.escape(str(index[row]))}</b></td>{cells}</tr>')
    if style.totals and len(frame):
        cells = "".join(
            f"<td>{_cell(k, frame[c].sum(), None, style) if c in style.totals else ''}</td>"
            for c, k in zip(columns, kinds, strict=True)
        )
        body.append(f'<tr class="total"><td class="t">total</td>{cells}</tr>')
    note = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return (
        f'{CSS}<table class="ntlab">{note}<thead><tr><th class="t">{index_name}</th>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def account_html(account: Any) -> str:
    """The account as one line: cash, equity, buying power, margin used, day P&L."""
    if account is None:
        return f'<span style="color:{GREY}">account: not reported by this broker</span>'
    parts = [
        ("cash", money(account.cash)),
        ("equity", money(account.equity)),
        ("buying power", money(account.buying_power) or "n/a"),
        ("margin used", money(account.margin_used) or "n/a"),
        ("day P&amp;L", pnl_html(account.day_pnl) or "n/a"),
    ]
    cells = " &nbsp;·&nbsp; ".join(f"{name} <b>{value}</b>" for name, value in parts)
    return f'<div class="ntlab-account">{html.escape(account.broker)} account ({html.escape(account.currency)}): {cells}</div>'


def algos_table(snapshots: list[Any], zone: str = EXCHANGE_ZONE) -> str:
    """Parents as an ntlab table: one row each, with progress against schedule."""
    if not snapshots:
        return '<span style="color:#6e7781">no execution algorithms in this session</span>'
    frame = pd.DataFrame(
        {
            "algo": [s.algo for s in snapshots],
            "symbol": [s.symbol for s in snapshots],
            "side": [s.side.value for s in snapshots],
            "quantity": [float(s.quantity) for s in snapshots],
            "filled_quantity": [float(s.filled_quantity) for s in snapshots],
            "avg_fill_price": [
                float(s.avg_fill_price) if s.avg_fill_price is not None else math.nan for s in snapshots
            ],
            "progress": [f"{s.progress:.0%} of {s.schedule_progress:.0%} due" for s in snapshots],
            "status": [s.status.value for s in snapshots],
            "children": [s.children for s in snapshots],
        },
        index=pd.Index([s.parent_id for s in snapshots], name="parent_id"),
    )
    return frame_html(mark(frame, zone=zone))


def install_formatter() -> bool:
    """Draw ntlab-marked DataFrames in the ntlab style in the running IPython; others as pandas does."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    formatter = shell.display_formatter.formatters["text/html"]

    def draw(frame: pd.DataFrame) -> str | None:
        return frame_html(frame) if styled(frame) else frame._repr_html_()

    formatter.for_type(pd.DataFrame, draw)
    conventions = InstrumentRegistry()
    text = shell.display_formatter.formatters["text/plain"]
    text.for_type(
        Quote, lambda q, p, cycle: p.text(f"<Quote {describe_quote(q, conventions.get(q.symbol))}>")
    )
    text.for_type(
        Order, lambda o, p, cycle: p.text(f"<Order {describe_order(o, conventions.get(o.symbol))}>")
    )
    return True
