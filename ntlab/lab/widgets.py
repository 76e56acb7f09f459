"""ipywidgets for the Lab: an order ticket, a live blotter, fills and positions, and a tabbed dashboard.

Widgets change only by having values set, and every redraw runs on the core thread (the refresher's, or
one asked for from a click), so a widget's values are never set from two threads at once. Refreshes are
coalesced: order events mark a view dirty, and a task on the core loop redraws dirty views at most
``REFRESH_HZ`` times a second, so a burst of thousands of fills costs a handful of redraws.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ntlab.core import Order, OrderRequest, OrderStatus
from ntlab.core.broker import SimulatedVenue
from ntlab.errors import NtlabError
from ntlab.lab.views import positions_frame

if TYPE_CHECKING:
    from ntlab.lab.session import Lab

log = logging.getLogger(__name__)

REFRESH_HZ = 4
BLOTTER_ROWS = 200
CANCEL_BUTTONS = 50

STATUS_COLOURS = {
    OrderStatus.PENDING: "#5b7db1",
    OrderStatus.ACCEPTED: "#1f6feb",
    OrderStatus.PARTIALLY_FILLED: "#0f8b8d",
    OrderStatus.FILLED: "#1a7f37",
    OrderStatus.CANCELLED: "#6e7781",
    OrderStatus.REJECTED: "#cf222e",
    OrderStatus.EXPIRED: "#bc4c00",
    OrderStatus.PENDING_CANCEL: "#8250df",
    OrderStatus.PENDING_REPLACE: "#8250df",
}


class Coalescer:
    """Calls ``redraw`` on the core loop at most ``hz`` times a second, and only after an order event.

    ``always=True`` redraws on every tick instead, for views that follow the market (quotes, marks) and
    change without any order event; a redraw that sets an unchanged value sends nothing to the frontend.
    """

    def __init__(
        self, lab: Lab, redraw: Callable[[], None], hz: float = REFRESH_HZ, *, always: bool = False
    ) -> None:
        self.lab = lab
        self.redraw = redraw
        self.interval = 1.0 / hz
        self.always = always
        self.dirty = False
        self.redraws = 0
        self._unsubscribe = lab._core.call(lab.manager.on_event, self._mark)
        self._task: asyncio.Future[None] = lab._core.submit(self._loop())  # type: ignore[assignment]

    def _mark(self, _event: object) -> None:
        self.dirty = True

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            if self.dirty or self.always:
                self.dirty = False
                self.flush()

    def flush(self) -> None:
        self.redraws += 1
        try:
            self.redraw()
        except Exception:  # a broken redraw must not kill the refresher
            log.exception("widget refresh failed")

    def now(self) -> None:
        """Redraw at once (after a click), on the core thread like every other redraw."""
        _on_core(self.lab, self.flush)

    def stop(self) -> None:
        self._unsubscribe()
        self._task.cancel()


def _on_core(lab: Lab, function: Callable[..., Any], *args: Any) -> Any:
    """Read session state consistently whether we are on the core thread or the kernel's."""
    return function(*args) if lab._core.in_core_thread() else lab._core.call(function, *args)


def _message(text: str, colour: str) -> str:
    return f'<span style="color:{colour}">{html.escape(text)}</span>'


class OrderTicket(widgets.VBox):
    """Symbol with live quote, side, quantity, type, limit/stop (enabled by type), time in force, Submit.

    Errors show in place in words; when the session is live a second click confirms the order.
    """

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        symbols = list(lab.broker.market.symbols) if isinstance(lab.broker, SimulatedVenue) else []
        self.symbol = widgets.Combobox(
            value=symbols[0] if symbols else "", options=symbols, description="Symbol", ensure_option=False
        )
        self.quote_line = widgets.HTML()
        self.side = widgets.ToggleButtons(options=["buy", "sell"], value="buy", description="Side")
        self.quantity = widgets.Text(value="100", description="Quantity")
        self.order_type = widgets.Dropdown(
            options=["market", "limit", "stop", "stop_limit"], value="market", description="Type"
        )
        self.limit_price = widgets.Text(value="", description="Limit", disabled=True)
        self.stop_price = widgets.Text(value="", description="Stop", disabled=True)
        self.tif = widgets.Dropdown(
            options=["day", "gtc", "ioc", "fok", "opg", "cls"], value="day", description="TIF"
        )
        self.submit = widgets.Button(description="Submit", button_style="primary", icon="paper-plane")
        self.message = widgets.HTML()
        self.confirm = widgets.Button(description="Confirm LIVE order", button_style="danger")
        self.abandon = widgets.Button(description="Cancel")
        self.confirm_row = widgets.HBox([self.confirm, self.abandon], layout=widgets.Layout(display="none"))
        self.placed: list[str] = []
        self._pending: OrderRequest | None = None
        mode = "LIVE" if lab.live else "paper"
        header = widgets.HTML(f"<b>Order ticket</b> — {mode} ({html.escape(lab.broker.name)})")
        super().__init__(
            [
                header,
                widgets.HBox([self.symbol, self.quote_line]),
                self.side,
                self.quantity,
                self.order_type,
                widgets.HBox([self.limit_price, self.stop_price]),
                self.tif,
                self.submit,
                self.confirm_row,
                self.message,
            ]
        )
        self.order_type.observe(self._type_changed, names="value")
        self.symbol.observe(self._symbol_changed, names="value")
        self.submit.on_click(self._submit_clicked)
        self.confirm.on_click(self._confirm_clicked)
        self.abandon.on_click(self._abandon_clicked)
        self.show_quote()
        self.refresher = Coalescer(lab, self.show_quote, always=True)

    def _type_changed(self, change: dict[str, Any]) -> None:
        kind = change["new"]
        self.limit_price.disabled = kind not in ("limit", "stop_limit")
        self.stop_price.disabled = kind not in ("stop", "stop_limit")
        if kind in ("limit", "stop_limit") and not self.limit_price.value:
            self._prefill_limit()

    def _symbol_changed(self, _change: dict[str, Any]) -> None:
        self.refresher.now()
        if not self.limit_price.disabled:
            self._prefill_limit()  # a price from the previous symbol would be a fat finger

    def _prefill_limit(self) -> None:
        """Start the limit at the passive touch: the bid for a buy, the ask for a sell."""
        quote = self._quote()
        if quote is not None:
            self.limit_price.value = str(quote.bid if self.side.value == "buy" else quote.ask)

    def _quote(self) -> Any:
        symbol = (self.symbol.value or "").strip().upper()
        return _on_core(self.lab, self.lab.broker.last_quote, symbol) if symbol else None

    def show_quote(self) -> None:
        quote = self._quote()
        if quote is None:
            self.quote_line.value = _message("no quote", "#6e7781")
            return
        self.quote_line.value = (
            f"bid <b>{quote.bid}</b> × {quote.bid_size.normalize():f} &nbsp; "
            f"ask <b>{quote.ask}</b> × {quote.ask_size.normalize():f}"
        )

    def request(self) -> OrderRequest:
        """The ticket's fields as an OrderRequest (raises the core's InvalidOrder on bad input)."""
        kind = self.order_type.value

        def price(field: widgets.Text, used: bool) -> Any:
            text = field.value.strip()
            if not used or not text:
                return None
            try:
                return Decimal(text)
            except InvalidOperation:
                return text  # let OrderRequest explain

        return OrderRequest(
            symbol=self.symbol.value,
            side=self.side.value,
            quantity=self.quantity.value.strip() or "0",
            order_type=kind,
            limit_price=price(self.limit_price, kind in ("limit", "stop_limit")),
            stop_price=price(self.stop_price, kind in ("stop", "stop_limit")),
            time_in_force=self.tif.value,
        )

    def _submit_clicked(self, _button: Any = None) -> None:
        try:
            request = self.request()
        except NtlabError as error:
            self.message.value = _message(str(error), "#cf222e")
            return
        if self.lab.live:
            self._pending = request
            self.confirm_row.layout.display = "flex"
            self.message.value = _message(
                f"LIVE: {request.side.value} {request.quantity} {request.symbol} {request.order_type.value} — confirm?",
                "#bc4c00",
            )
            return
        self._place(request)

    def _confirm_clicked(self, _button: Any = None) -> None:
        request, self._pending = self._pending, None
        self.confirm_row.layout.display = "none"
        if request is not None:
            self._place(request)

    def _abandon_clicked(self, _button: Any = None) -> None:
        self._pending = None
        self.confirm_row.layout.display = "none"
        self.message.value = _message("not sent", "#6e7781")

    def _place(self, request: OrderRequest) -> None:
        try:
            handle = self.lab.place(request)
        except NtlabError as error:
            self.message.value = _message(str(error), "#cf222e")
            return
        order = handle.snapshot
        self.placed.append(order.order_id)
        text = f"{order.order_id}: {order.side.value} {order.quantity} {order.symbol} {order.order_type.value} — {order.status.value}"
        if order.filled_quantity:
            text += f", filled {order.filled_quantity} @ {order.avg_fill_price:.6g}"
        self.message.value = _message(text, "#1a7f37")

    def stop(self) -> None:
        self.refresher.stop()


def _orders_table(orders: list[Order], limit: int = BLOTTER_ROWS) -> str:
    rows = []
    for o in orders[-limit:][::-1]:
        colour = STATUS_COLOURS[o.status]
        price = "" if o.limit_price is None else str(o.limit_price)
        stop = "" if o.stop_price is None else str(o.stop_price)
        avg = "" if o.avg_fill_price is None else f"{o.avg_fill_price:.6g}"
        rows.append(
            f"<tr><td>{html.escape(o.order_id)}</td><td>{o.created_at:%H:%M:%S}</td><td>{html.escape(o.symbol)}</td>"
            f"<td>{o.side.value}</td><td>{o.order_type.value}</td><td style='text-align:right'>{o.quantity}</td>"
            f"<td style='text-align:right'>{price}</td><td style='text-align:right'>{stop}</td>"
            f"<td style='text-align:right'>{o.filled_quantity}</td><td style='text-align:right'>{avg}</td>"
            f"<td><span class='ntlab-status' style='color:white;background:{colour};padding:1px 6px;border-radius:8px'>"
            f"{o.status.value}</span></td><td>{html.escape(o.reason or '')}</td></tr>"
        )
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "order",
            "time",
            "symbol",
            "side",
            "type",
            "qty",
            "limit",
            "stop",
            "filled",
            "avg",
            "status",
            "reason",
        )
    )
    return (
        "<table class='ntlab-blotter' style='border-collapse:collapse;font-size:12px'>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


class Blotter(widgets.VBox):
    """Orders with status colours (newest first) and a cancel button per open order."""

    def __init__(self, lab: Lab, rows: int = BLOTTER_ROWS) -> None:
        self.lab = lab
        self.rows = rows
        self.summary = widgets.HTML()
        self.table = widgets.HTML()
        self.open_orders = widgets.VBox()
        self.message = widgets.HTML()
        self._buttons: dict[str, widgets.HBox] = {}
        super().__init__([self.summary, self.open_orders, self.message, self.table])
        self.redraw()
        self.refresher = Coalescer(lab, self.redraw)

    def redraw(self) -> None:
        orders: list[Order] = _on_core(self.lab, self.lab.manager.orders)
        self.update(orders)

    def update(self, orders: list[Order]) -> None:
        """Set the widget values for these orders (the expensive part, measured by bench/lab.py)."""
        open_orders = [o for o in orders if o.status.is_open]
        self.summary.value = f"<b>Blotter</b> — {len(orders)} orders, {len(open_orders)} open"
        self.table.value = _orders_table(orders, self.rows)
        shown = open_orders[-CANCEL_BUTTONS:]
        rows = []
        for o in shown:
            row = self._buttons.get(o.order_id)
            if row is None:
                button = widgets.Button(
                    description="Cancel", button_style="warning", tooltip=f"cancel {o.order_id}"
                )
                button.on_click(lambda _b, oid=o.order_id: self.cancel(oid))
                label = widgets.HTML()
                row = self._buttons[o.order_id] = widgets.HBox([button, label])
            label_widget = row.children[1]
            label_widget.value = (
                f"{html.escape(o.order_id)} {o.side.value} {o.remaining_quantity} {html.escape(o.symbol)} "
                f"{o.order_type.value} <span style='color:{STATUS_COLOURS[o.status]}'>{o.status.value}</span>"
            )
            rows.append(row)
        for order_id in list(self._buttons):
            if all(o.order_id != order_id for o in shown):
                self._buttons.pop(order_id).close()
        self.open_orders.children = tuple(rows)

    def refresh(self) -> None:
        """Redraw now instead of at the next tick (code that reads the widget right after an order)."""
        self.refresher.now()

    def cancel(self, order_id: str) -> None:
        """What an open order's Cancel button does; the outcome shows in ``message``."""
        try:
            handle = self.lab.cancel(order_id)
            self.message.value = _message(f"{order_id}: {handle.snapshot.status.value}", "#6e7781")
        except NtlabError as error:
            self.message.value = _message(str(error), "#cf222e")
        self.refresher.now()

    def stop(self) -> None:
        self.refresher.stop()


class FrameView(widgets.VBox):
    """A DataFrame view (fills or positions) redrawn when orders change."""

    def __init__(
        self,
        lab: Lab,
        title: str,
        frame: Callable[[], Any],
        rows: int = BLOTTER_ROWS,
        *,
        hz: float = REFRESH_HZ,
        always: bool = False,
    ) -> None:
        self.lab = lab
        self.heading = title
        self.frame = frame
        self.rows = rows
        self.table = widgets.HTML()
        super().__init__([self.table])
        self.redraw()
        self.refresher = Coalescer(lab, self.redraw, hz, always=always)

    def redraw(self) -> None:
        frame = self.frame()
        shown = frame.tail(self.rows)
        self.table.value = f"<b>{html.escape(self.heading)}</b> ({len(frame)})" + shown.to_html(
            float_format=lambda x: f"{x:,.6g}", na_rep="", classes="ntlab-frame"
        )

    def stop(self) -> None:
        self.refresher.stop()


def fills_view(lab: Lab) -> FrameView:
    return FrameView(lab, "Fills", lambda: _on_core(lab, lab._fill_columns).frame())


def positions_view(lab: Lab) -> FrameView:
    """Positions marked to the market: redrawn once a second as marks move, even with no order events."""
    return FrameView(
        lab,
        "Positions",
        lambda: positions_frame(*_on_core(lab, lab._marked_positions)),
        hz=1,
        always=True,
    )


class Dashboard(widgets.Tab):
    """Ticket, blotter, fills and positions in tabs: what ``display(lab)`` shows."""

    def __init__(self, lab: Lab) -> None:
        self.ticket = OrderTicket(lab)
        self.blotter = Blotter(lab)
        self.fills = fills_view(lab)
        self.positions = positions_view(lab)
        super().__init__(children=[self.ticket, self.blotter, self.fills, self.positions])
        for index, title in enumerate(("Ticket", "Blotter", "Fills", "Positions")):
            self.set_title(index, title)

    def stop(self) -> None:
        for part in (self.ticket, self.blotter, self.fills, self.positions):
            part.stop()
