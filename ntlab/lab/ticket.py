"""The order ticket: fields checked as they are typed, prices from the right side of the book, Enter submits.

- Limit and stop start at the passive touch for the side (the bid for a buy, the ask for a sell) and follow
  the side and the symbol until the user types a price of their own.
- Every field is read as it changes; a bad one is outlined in red with the reason beside it, and Submit
  refuses until the ticket reads right. "1,000" is a thousand; "25ab" is marked, not guessed at.
- A live line shows the notional and how far the limit is from the touch in basis points.
- Enter in any field submits; in a live session Submit (or Enter) asks for a confirmation that names side,
  quantity, symbol, type, prices, time in force and notional, and the result line says the same.
- Time in force follows the instrument (day for equities, gtc for crypto and FX) until the user picks one.

The ticket uses the Lab's public API only: ``symbols``, ``instrument``, ``quote``, ``place`` and their twins.
"""

from __future__ import annotations

import html
import warnings
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ntlab.core import OrderRequest
from ntlab.core.instruments import Instrument
from ntlab.errors import NtlabError
from ntlab.lab.args import DEFAULT_TIF
from ntlab.lab.style import BUY_COLOUR, GREY, RED, SELL_COLOUR, describe_order, money, number, price, quantity
from ntlab.lab.widgets import Coalescer, StaticFallback, message

if TYPE_CHECKING:
    from ntlab.core.records import Quote
    from ntlab.lab.session import Lab

BAD = "2px solid #cf222e"
TICKET_CSS = f"""<style>
.ntlab-side .widget-toggle-button {{font-weight:600}}
.ntlab-side-buy .widget-toggle-button.mod-active {{background:{BUY_COLOUR};color:white}}
.ntlab-side-sell .widget-toggle-button.mod-active {{background:{SELL_COLOUR};color:white}}
</style>"""
PRICED = {"limit": ("limit",), "stop": ("stop",), "stop_limit": ("limit", "stop"), "market": ()}


def read_number(text: str, what: str) -> Decimal:
    """A number as typed: ``1,000`` and ``1_000`` are a thousand; anything else unreadable is refused."""
    cleaned = text.strip().replace(",", "").replace("_", "")
    if not cleaned:
        raise ValueError(f"enter a {what}")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"{text.strip()!r} is not a number") from None
    if not value.is_finite():
        raise ValueError(f"{text.strip()!r} is not a number")
    if value <= 0:
        raise ValueError(f"{what} must be positive")
    return value


@dataclass(slots=True)
class Reading:
    """What the ticket's fields say now: a request when they all read right, else an error per field."""

    request: OrderRequest | None
    errors: dict[str, str]
    notional: Decimal | None = None
    distance_bps: float | None = None


class OrderTicket(StaticFallback, widgets.VBox):
    """Symbol with its quote, coloured buy/sell, quantity, type, limit/stop, time in force, Submit."""

    def __init__(self, lab: Lab, symbol: str | None = None) -> None:
        self.lab = lab
        symbols = lab.symbols()
        first = symbol.strip().upper() if symbol else (symbols[0] if symbols else "")
        self.style_tag = widgets.HTML(TICKET_CSS)
        mode = "LIVE" if lab.live else "paper"
        colour = RED if lab.live else GREY
        self.header = widgets.HTML(
            f'<b>Order ticket</b> — {html.escape(lab.venue)} <span style="color:{colour}">{mode}</span>'
        )
        self.symbol = widgets.Combobox(
            value=first, options=symbols, description="Symbol", ensure_option=False
        )
        self.quote_line = widgets.HTML()
        self.side = widgets.ToggleButtons(options=["buy", "sell"], value="buy", description="Side")
        self.side.add_class("ntlab-side")
        self.quantity = widgets.Text(value="100", description="Quantity", continuous_update=True)
        self.order_type = widgets.Dropdown(options=list(PRICED), value="market", description="Type")
        self.limit_price = widgets.Text(value="", description="Limit", disabled=True)
        self.stop_price = widgets.Text(value="", description="Stop", disabled=True)
        self.tif = widgets.Dropdown(
            options=["day", "gtc", "ioc", "fok", "opg", "cls"], value="day", description="TIF"
        )
        self.info = widgets.HTML()
        self.submit = widgets.Button(description="Submit", button_style="success", icon="paper-plane")
        self.message = widgets.HTML()
        self.confirm = widgets.Button(description="Confirm LIVE order", button_style="danger")
        self.abandon = widgets.Button(description="Cancel")
        self.confirm_row = widgets.HBox([self.confirm, self.abandon], layout=widgets.Layout(display="none"))
        self.placed: list[str] = []
        self._pending: OrderRequest | None = None
        self._typed: set[str] = set()  # price fields the user typed into: never overwritten
        self._tif_chosen = False
        self._filling = False
        self._instrument: Instrument | None = None
        self._quote: Quote | None = None
        super().__init__(
            [
                self.style_tag,
                self.header,
                widgets.HBox([self.symbol, self.quote_line]),
                self.side,
                self.quantity,
                self.order_type,
                widgets.HBox([self.limit_price, self.stop_price]),
                self.tif,
                self.info,
                self.submit,
                self.confirm_row,
                self.message,
            ]
        )
        self.order_type.observe(self._type_changed, names="value")
        self.symbol.observe(self._symbol_changed, names="value")
        self.side.observe(self._side_changed, names="value")
        self.tif.observe(self._tif_changed, names="value")
        for field in (self.quantity, self.limit_price, self.stop_price):
            field.observe(self._typed_into, names="value")
            with warnings.catch_warnings():  # Enter in a Text is still reported only through on_submit
                warnings.simplefilter("ignore", DeprecationWarning)
                field.on_submit(self._enter)
        self.submit.on_click(self._submit_clicked)
        self.confirm.on_click(self._confirm_clicked)
        self.abandon.on_click(self._abandon_clicked)
        self._symbol_changed()
        self.refresher = Coalescer(lab, self.redraw, always=True)

    # --- following the market ------------------------------------------------------------------------------
    async def redraw(self) -> None:
        """The quote line and the live check, on the core loop (the refresher's tick)."""
        symbol = self._symbol()
        try:
            self._quote = await self.lab.aquote(symbol) if symbol else None
        except NtlabError:
            self._quote = None
        self._show_quote()
        self._show_reading()

    def _show_quote(self) -> None:
        q, inst = self._quote, self._instrument
        if q is None or inst is None:
            self.quote_line.value = message("no quote", GREY)
            return
        tick, lot = inst.tick_size, inst.lot_size
        self.quote_line.value = (
            f'bid <b style="color:{BUY_COLOUR}">{price(q.bid, tick)}</b> × {quantity(q.bid_size, lot)} &nbsp; '
            f'ask <b style="color:{SELL_COLOUR}">{price(q.ask, tick)}</b> × {quantity(q.ask_size, lot)} &nbsp; '
            f'<span style="color:{GREY}">spread {(q.ask - q.bid) / tick:.0f} ticks</span>'
        )

    def _symbol(self) -> str:
        return (self.symbol.value or "").strip().upper()

    # --- reacting to the user --------------------------------------------------------------------------
    def _symbol_changed(self, _change: Any = None) -> None:
        symbol = self._symbol()
        try:
            self._instrument = self.lab.instrument(symbol) if symbol else None
            self._quote = self.lab.quote(symbol) if symbol else None
        except NtlabError:
            self._instrument, self._quote = None, None
        if self._instrument is not None and not self._tif_chosen:
            self._filling = True
            self.tif.value = DEFAULT_TIF[self._instrument.kind].value
            self._filling = False
        self._show_quote()
        self._prefill()  # a price from the previous symbol would be a fat finger
        self._show_reading()

    def _side_changed(self, change: dict[str, Any]) -> None:
        self.side.remove_class(f"ntlab-side-{change['old']}")
        self.side.add_class(f"ntlab-side-{change['new']}")
        self._prefill()
        self._show_reading()

    def _type_changed(self, change: dict[str, Any]) -> None:
        used = PRICED[change["new"]]
        self.limit_price.disabled = "limit" not in used
        self.stop_price.disabled = "stop" not in used
        self._prefill()
        self._show_reading()

    def _tif_changed(self, _change: Any) -> None:
        if not self._filling:
            self._tif_chosen = True
        self._show_reading()

    def _typed_into(self, change: dict[str, Any]) -> None:
        if not self._filling:
            owner = change["owner"]
            if owner is self.limit_price:
                self._typed.add("limit")
            elif owner is self.stop_price:
                self._typed.add("stop")
        self._show_reading()

    def _prefill(self) -> None:
        """Enabled price fields the user has not typed into take the passive touch: bid to buy, ask to sell."""
        quote, inst = self._quote, self._instrument
        if quote is None or inst is None:
            return
        touch = quote.bid if self.side.value == "buy" else quote.ask
        self._filling = True
        try:
            for name, field in (("limit", self.limit_price), ("stop", self.stop_price)):
                if not field.disabled and name not in self._typed:
                    field.value = price(touch, inst.tick_size).replace(",", "")
        finally:
            self._filling = False

    # --- reading the fields ----------------------------------------------------------------------------
    def reading(self) -> Reading:
        """The fields as a request, or what is wrong with each (without placing anything)."""
        errors: dict[str, str] = {}
        inst = self._instrument
        symbol = self._symbol()
        if inst is None:
            errors["symbol"] = (
                f"{symbol or 'symbol'}: not a tradable symbol here" if symbol else "enter a symbol"
            )
        values: dict[str, Decimal] = {}
        fields = [("quantity", self.quantity, "quantity")]
        used = PRICED[self.order_type.value]
        fields += [(name, getattr(self, f"{name}_price"), f"{name} price") for name in used]
        for name, field, what in fields:
            try:
                values[name] = read_number(field.value, what)
            except ValueError as error:
                errors[name] = str(error)
                continue
            if inst is None:
                continue
            step = inst.lot_size if name == "quantity" else inst.tick_size
            if values[name] % step:
                unit = "whole units" if step == 1 else f"steps of {step.normalize()}"
                errors[name] = (
                    f"{symbol} trades in {unit}" if name == "quantity" else f"off the {step.normalize()} tick"
                )
        request = None
        if not errors:
            try:
                request = OrderRequest(
                    symbol=symbol,
                    side=self.side.value,
                    quantity=values["quantity"],
                    order_type=self.order_type.value,
                    limit_price=values.get("limit"),
                    stop_price=values.get("stop"),
                    time_in_force=self.tif.value,
                )
            except NtlabError as error:
                errors["order"] = str(error)
        notional = distance = None
        quote = self._quote
        qty = values.get("quantity")
        if qty is not None and quote is not None:
            at = values.get("limit") or (quote.ask if self.side.value == "buy" else quote.bid)
            notional = qty * at
            if "limit" in values:
                touch = quote.bid if self.side.value == "buy" else quote.ask
                distance = float((values["limit"] - touch) / touch * 10_000)
                if self.side.value == "sell":
                    distance = -distance
        return Reading(request, errors, notional, distance)

    def _show_reading(self) -> Reading:
        reading = self.reading()
        for name, field in (
            ("symbol", self.symbol),
            ("quantity", self.quantity),
            ("limit", self.limit_price),
            ("stop", self.stop_price),
        ):
            bad = name in reading.errors
            field.layout.border = BAD if bad else None
            field.tooltip = reading.errors.get(name, "")
        parts = []
        currency = self._instrument.currency if self._instrument is not None else "USD"
        if reading.notional is not None:
            parts.append(f"notional <b>{money(reading.notional)}</b> {html.escape(currency)}")
        if reading.distance_bps is not None:
            where = "through the touch (crosses)" if reading.distance_bps > 0 else "from the touch"
            parts.append(f"{number(abs(reading.distance_bps), 1)} bps {where}")
        problems = "; ".join(f"{k}: {v}" for k, v in reading.errors.items())
        if problems:
            parts.append(f'<span style="color:{RED}">{html.escape(problems, quote=False)}</span>')
        self.info.value = " &nbsp;·&nbsp; ".join(parts)
        side = self.side.value
        self.submit.button_style = "success" if side == "buy" else "danger"
        label = reading.request
        self.submit.description = (
            f"{side.capitalize()} {quantity(label.quantity, self._instrument.lot_size if self._instrument else None)} "
            f"{label.symbol}"
            if label is not None
            else "Submit"
        )
        return reading

    def words(self, request: OrderRequest, notional: Decimal | None) -> str:
        """Side, quantity, symbol, type, prices, time in force and notional, as a trader reads them back."""
        inst = self._instrument
        tick = inst.tick_size if inst else None
        lot = inst.lot_size if inst else None
        kind = request.order_type.value.replace("_", " ")
        prices = ""
        if request.stop_price is not None:
            prices += f" stop {price(request.stop_price, tick)}"
        if request.limit_price is not None:
            word = " limit" if request.stop_price is not None else ""
            prices += f"{word} {price(request.limit_price, tick)}"
        worth = f", notional {money(notional)}" if notional is not None else ""
        return (
            f"{request.side.value} {quantity(request.quantity, lot)} {request.symbol} {kind}{prices} "
            f"{request.time_in_force.value}{worth}"
        )

    # --- sending -----------------------------------------------------------------------------------------
    def _enter(self, _field: Any) -> None:
        self._submit_clicked()

    def _submit_clicked(self, _button: Any = None) -> None:
        reading = self._show_reading()
        if reading.request is None:
            problems = "; ".join(f"{k}: {v}" for k, v in reading.errors.items())
            self.message.value = message(f"not sent — {problems}", RED)
            return
        if self.lab.live:
            self._pending = reading.request
            self.confirm_row.layout.display = "flex"
            self.message.value = message(
                f"LIVE: {self.words(reading.request, reading.notional)} — confirm?", "#bc4c00"
            )
            return
        self._place(reading.request, reading.notional)

    def _confirm_clicked(self, _button: Any = None) -> None:
        request, self._pending = self._pending, None
        self.confirm_row.layout.display = "none"
        if request is not None:
            self._place(request, self.reading().notional)

    def _abandon_clicked(self, _button: Any = None) -> None:
        self._pending = None
        self.confirm_row.layout.display = "none"
        self.message.value = message("not sent", GREY)

    def _place(self, request: OrderRequest, notional: Decimal | None) -> None:
        try:
            handle = self.lab.place(request)
        except NtlabError as error:
            self.message.value = message(f"{self.words(request, notional)}: refused — {error}", RED)
            return
        order = handle.snapshot
        self.placed.append(order.order_id)
        worth = f" · notional {money(notional)}" if notional is not None else ""
        colour = RED if order.status.value in ("rejected", "cancelled", "expired") else BUY_COLOUR
        self.message.value = message(describe_order(order, self._instrument) + worth, colour)

    # --- display -----------------------------------------------------------------------------------------
    def static_html(self) -> str:
        rows = [
            ("Symbol", html.escape(self._symbol())),
            ("Quote", self.quote_line.value),
            ("Side", html.escape(self.side.value)),
            ("Quantity", html.escape(self.quantity.value)),
            ("Type", html.escape(self.order_type.value)),
            ("Limit", html.escape(self.limit_price.value) if not self.limit_price.disabled else "—"),
            ("Stop", html.escape(self.stop_price.value) if not self.stop_price.disabled else "—"),
            ("TIF", html.escape(self.tif.value)),
        ]
        body = "".join(f'<tr><td class="t">{k}</td><td class="t">{v}</td></tr>' for k, v in rows)
        return (
            f'<div class="ntlab-static">{self.header.value}<table class="ntlab">{body}</table>'
            f"<div>{self.info.value}</div><div>{self.message.value}</div>"
            '<div style="color:#6e7781">(a picture of the ticket: run the notebook to use it)</div></div>'
        )

    def summary(self) -> str:
        return f"Order ticket — {self.lab.venue}: {self.side.value} {self.quantity.value} {self._symbol()}"

    def stop(self) -> None:
        self.refresher.stop()
