"""The blotter: a fixed-height scrolling table, newest first, a cancel control on each open row.

:class:`BlotterModel` turns the session's orders and parents into the rows to show: filtered (open only, one
symbol), an algo's children collapsed under their parent (which shows its progress), newest first, at most
``rows`` of them. It keeps each order's row text until the order changes, so a redraw of a 10,000-order
session formats only what changed (``python bench/lab.py`` measures it). :class:`Blotter` draws the rows into
a pool of row widgets that grows to the most rows shown at once (``rows`` at most), so the frontend holds
the same few widgets however long the session gets.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ntlab.core.records import Order
from ntlab.errors import NtlabError
from ntlab.lab.style import CSS, EXCHANGE_ZONE, GREY, RED, local_time, price, quantity, side_html, zone_name
from ntlab.lab.widgets import Coalescer, StaticFallback, message

if TYPE_CHECKING:
    from ntlab.algos import ParentSnapshot
    from ntlab.lab.session import Lab

BLOTTER_ROWS = 100
HEIGHT = "380px"
ALL = "all symbols"

STATUS_COLOURS = {
    "pending": "#5b7db1",
    "accepted": "#1f6feb",
    "running": "#1f6feb",
    "partially_filled": "#0f8b8d",
    "filled": "#1a7f37",
    "cancelled": "#6e7781",
    "rejected": "#cf222e",
    "expired": "#bc4c00",
    "stopped": "#cf222e",
    "pending_cancel": "#8250df",
    "pending_replace": "#8250df",
}
# (heading, width): one fixed layout for the header and every row, so columns line up across row widgets
COLUMNS = (
    ("order", 150),
    ("time", 64),
    ("symbol", 64),
    ("side", 36),
    ("type", 70),
    ("qty", 70),
    ("price", 90),
    ("filled", 120),
    ("avg", 84),
    ("status", 110),
    ("", 240),
)
ROW_CSS = (
    "<style>table.ntlab-row{border-collapse:collapse;table-layout:fixed;font:12px var(--jp-code-font-family,monospace)}"
    "table.ntlab-row td{padding:1px 6px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}"
    "table.ntlab-row td.n{text-align:right}.ntlab-status{color:white;padding:0 6px;border-radius:8px}"
    ".ntlab-child td:first-child{padding-left:18px}</style>"
)


def _cells(values: Sequence[str], numeric: Sequence[bool], cls: str = "") -> str:
    tds = "".join(
        f'<td class="{"n" if n else ""}" style="width:{w}px;max-width:{w}px">{v}</td>'
        for v, n, (_, w) in zip(values, numeric, COLUMNS, strict=True)
    )
    return f'<table class="ntlab-row {cls}"><tr>{tds}</tr></table>'


def _status(value: str) -> str:
    return f'<span class="ntlab-status" style="background:{STATUS_COLOURS.get(value, GREY)}">{value.replace("_", " ")}</span>'


NUMERIC = (False, False, False, False, False, True, True, True, True, False, False)


@dataclass(slots=True)
class Row:
    """One line of the blotter: an order, an algo parent, or a child shown under its parent."""

    key: str  # the order id, or the parent id
    html: str
    cancellable: bool
    parent: bool = False
    children: int = 0
    expanded: bool = False


class BlotterModel:
    """What the blotter shows, from plain snapshots; no widgets, so it is cheap to test and to bench."""

    def __init__(
        self,
        ticks: dict[str, Decimal] | None = None,
        lots: dict[str, Decimal] | None = None,
        zone: str = EXCHANGE_ZONE,
    ) -> None:
        self.ticks = ticks or {}
        self.lots = lots or {}
        self.zone = zone
        self.open_only = False
        self.symbol: str | None = None
        self.expanded: set[str] = set()
        self._rows: dict[str, tuple[Order, str]] = {}
        self.total = self.open = self.matching = 0

    def _order_html(self, order: Order, child: bool) -> str:
        cached = self._rows.get(order.order_id)
        if cached is not None and cached[0] is order:
            return cached[1]
        tick, lot = self.ticks.get(order.symbol), self.lots.get(order.symbol)
        limit = "" if order.limit_price is None else price(order.limit_price, tick)
        if order.stop_price is not None:
            limit = f"{limit} stop {price(order.stop_price, tick)}".strip()
        text = _cells(
            [
                html.escape(order.order_id),
                local_time(order.created_at, self.zone),
                html.escape(order.symbol),
                side_html(order.side.value),
                order.order_type.value.replace("_", " "),
                quantity(order.quantity, lot),
                limit,
                f"{quantity(order.filled_quantity, lot)}" if order.filled_quantity else "",
                "" if order.avg_fill_price is None else price(order.avg_fill_price, tick),
                _status(order.status.value),
                html.escape(order.reason or ""),
            ],
            NUMERIC,
            "ntlab-child" if child else "",
        )
        self._rows[order.order_id] = (order, text)
        return text

    def _parent_html(self, parent: ParentSnapshot, children: int, working: int) -> str:
        tick, lot = self.ticks.get(parent.symbol), self.lots.get(parent.symbol)
        progress = f"{parent.progress:.0%} done, {parent.schedule_progress:.0%} due · {children} children, {working} working"
        return _cells(
            [
                f"<b>{html.escape(parent.parent_id)}</b>",
                local_time(parent.start, self.zone),
                html.escape(parent.symbol),
                side_html(parent.side.value),
                f"<b>{parent.algo.upper()}</b>",
                quantity(parent.quantity, lot),
                "" if parent.limit_price is None else f"cap {price(parent.limit_price, tick)}",
                quantity(parent.filled_quantity, lot),
                "" if parent.avg_fill_price is None else price(parent.avg_fill_price, tick),
                _status(parent.status.value),
                html.escape(progress),
            ],
            NUMERIC,
        )

    def rows(
        self, orders: Sequence[Order], parents: Sequence[ParentSnapshot] = (), limit: int = BLOTTER_ROWS
    ) -> list[Row]:
        """The rows to show, newest first: each parent once, at its latest child, with its children under
        it when expanded."""
        by_parent = {p.parent_id: p for p in parents}
        children: dict[str, list[Order]] = {}
        self.total, self.open = len(orders), 0
        for order in orders:
            if order.status.is_open:
                self.open += 1
            if order.parent_id in by_parent:
                children.setdefault(order.parent_id, []).append(order)
        out: list[Row] = []
        seen: set[str] = set()
        matching = 0
        symbol, open_only = self.symbol, self.open_only
        for order in reversed(orders):
            if symbol is not None and order.symbol != symbol:
                continue
            pid = order.parent_id
            if pid in by_parent:
                if pid in seen:
                    continue
                seen.add(pid)
                parent = by_parent[pid]
                kids = children[pid]
                working = sum(1 for k in kids if k.status.is_open)
                if open_only and parent.status.is_final:
                    continue
                matching += 1
                if len(out) >= limit:
                    continue
                expanded = pid in self.expanded
                out.append(
                    Row(
                        pid,
                        self._parent_html(parent, len(kids), working),
                        not parent.status.is_final,
                        True,
                        len(kids),
                        expanded,
                    )
                )
                if expanded:
                    for kid in reversed(kids):
                        if (not open_only or kid.status.is_open) and len(out) < limit:
                            out.append(Row(kid.order_id, self._order_html(kid, True), kid.status.is_open))
                continue
            if open_only and not order.status.is_open:
                continue
            matching += 1
            if len(out) < limit:
                out.append(Row(order.order_id, self._order_html(order, False), order.status.is_open))
        for parent in parents:  # parents with no child yet (pending, or refused every child)
            if parent.parent_id not in seen and (symbol is None or parent.symbol == symbol):
                if open_only and parent.status.is_final:
                    continue
                matching += 1
                if len(out) < limit:
                    out.insert(
                        0,
                        Row(
                            parent.parent_id,
                            self._parent_html(parent, 0, 0),
                            not parent.status.is_final,
                            True,
                        ),
                    )
        self.matching = matching
        return out


class _RowWidget(widgets.HBox):
    """One pooled row: expand control (parents), cancel control (open rows), the row's cells."""

    def __init__(self, blotter: Blotter) -> None:
        self.key: str | None = None
        self.is_parent = False
        self.toggle = widgets.Button(
            description="▸", layout=widgets.Layout(width="28px", visibility="hidden")
        )
        self.cancel = widgets.Button(
            description="Cancel",
            button_style="warning",
            layout=widgets.Layout(width="64px", visibility="hidden"),
        )
        self.cells = widgets.HTML()
        super().__init__(
            [self.toggle, self.cancel, self.cells], layout=widgets.Layout(display="none", min_height="22px")
        )
        self.toggle.on_click(lambda _b: self.key is not None and blotter.toggle(self.key))
        self.cancel.on_click(lambda _b: self.key is not None and blotter.cancel(self.key, self.is_parent))

    def show(self, row: Row | None) -> None:
        if row is None:
            self.key = None
            self.layout.display = "none"
            return
        self.key, self.is_parent = row.key, row.parent
        self.cells.value = row.html
        self.cancel.layout.visibility = "visible" if row.cancellable else "hidden"
        self.cancel.tooltip = f"cancel {row.key}"
        self.toggle.layout.visibility = "visible" if row.parent and row.children else "hidden"
        self.toggle.description = "▾" if row.expanded else "▸"
        self.layout.display = "flex"


class Blotter(StaticFallback, widgets.VBox):
    """Orders newest first in a fixed-height scrolling box, with filters and a cancel control per open row."""

    def __init__(
        self, lab: Lab, rows: int = BLOTTER_ROWS, open_only: bool = False, symbol: str | None = None
    ) -> None:
        self.lab = lab
        self.limit = rows
        ticks, lots = {}, {}
        for name in lab.symbols():
            instrument = lab.instrument(name)
            ticks[name], lots[name] = instrument.tick_size, instrument.lot_size
        self.model = BlotterModel(ticks, lots, lab.zone)
        self.summary_line = widgets.HTML()
        self.open_only = widgets.ToggleButton(value=open_only, description="open only", icon="filter")
        self.symbol = widgets.Dropdown(
            options=[ALL, *lab.symbols()], value=symbol or ALL, description="Symbol"
        )
        self.message = widgets.HTML()
        head = _cells([h for h, _ in COLUMNS[:-1]] + ["reason / progress"], NUMERIC)
        self.heading = widgets.HTML(
            f"{ROW_CSS}<div style='margin-left:96px;font-weight:600'>{head}</div>"
            f"<div style='color:{GREY};font-size:11px'>times in {zone_name(lab.zone)}</div>"
        )
        self.pool: list[_RowWidget] = []  # grows to the most rows shown at once, up to ``rows``
        self.table = widgets.VBox(
            [], layout=widgets.Layout(height=HEIGHT, overflow="auto", flex_flow="column")
        )
        self.shown: list[Row] = []
        super().__init__(
            [
                widgets.HBox([self.summary_line, self.open_only, self.symbol]),
                self.heading,
                self.table,
                self.message,
            ]
        )
        self.open_only.observe(self._filter, names="value")
        self.symbol.observe(self._filter, names="value")
        self._filter()
        lab.run(self.redraw())
        self.refresher = Coalescer(lab, self.redraw)

    def _filter(self, _change: Any = None) -> None:
        self.model.open_only = self.open_only.value
        self.model.symbol = None if self.symbol.value == ALL else self.symbol.value
        if getattr(self, "refresher", None) is not None:
            self.refresher.now()

    async def redraw(self) -> None:
        orders = await self.lab.asnapshots()
        parents = await self.lab.algos.asnapshots()
        self.update(orders, parents)

    def update(self, orders: Sequence[Order], parents: Sequence[ParentSnapshot] = ()) -> None:
        """Set the widget values for these orders (the part ``bench/lab.py`` measures)."""
        self.shown = self.model.rows(orders, parents, self.limit)
        if len(self.pool) < len(self.shown):
            self.pool.extend(_RowWidget(self) for _ in range(len(self.shown) - len(self.pool)))
            self.table.children = tuple(self.pool)
        for index, widget in enumerate(self.pool):
            widget.show(self.shown[index] if index < len(self.shown) else None)
        m = self.model
        more = f", newest {len(self.shown)} of {m.matching:,} shown" if m.matching > len(self.shown) else ""
        self.summary_line.value = f"<b>Blotter</b> — {m.total:,} orders, {m.open:,} open{more}"

    def refresh(self) -> None:
        """Redraw now instead of at the next tick (code that reads the widget right after an order)."""
        self.refresher.now()

    def row(self, key: str) -> _RowWidget:
        """The row widget showing an order or a parent (for code and tests that click it)."""
        for widget in self.pool:
            if widget.key == key:
                return widget
        raise KeyError(f"{key} is not among the rows shown")

    def toggle(self, parent_id: str) -> None:
        """Show or hide a parent's children."""
        self.model.expanded ^= {parent_id}
        self.refresher.now()

    def cancel(self, key: str, parent: bool = False) -> None:
        """What a row's Cancel does (a parent cancels with all its children); the outcome shows below."""
        try:
            if parent:
                snapshot = self.lab.algos.cancel(key)
                self.message.value = message(f"{key}: {snapshot.status.value}", GREY)
            else:
                handle = self.lab.cancel(key)
                self.message.value = message(f"{key}: {handle.snapshot.status.value.replace('_', ' ')}", GREY)
        except NtlabError as error:
            self.message.value = message(str(error), RED)
        self.refresher.now()

    def static_html(self) -> str:
        rows = "".join(r.html for r in self.shown[:30])
        more = (
            ""
            if len(self.shown) <= 30
            else f"<div style='color:{GREY}'>… {len(self.shown) - 30} more rows</div>"
        )
        return f"{CSS}{ROW_CSS}<div>{self.summary_line.value}</div>{self.heading.value}{rows}{more}"

    def summary(self) -> str:
        return f"Blotter — {self.model.total} orders, {self.model.open} open"

    def stop(self) -> None:
        self.refresher.stop()
