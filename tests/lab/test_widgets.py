import time
from decimal import Decimal

import pytest

from ntlab import Lab
from ntlab.config import ExecutionConfig
from ntlab.core import OrderStatus
from ntlab.lab.blotter import Blotter, BlotterModel
from ntlab.lab.ticket import OrderTicket
from ntlab.lab.widgets import Coalescer, Dashboard


def test_ticket_places_an_order_and_says_it_all(lab):
    ticket = lab.ticket()
    assert "bid <b" in ticket.quote_line.value and "spread" in ticket.quote_line.value
    ticket.symbol.value = "MSFT"
    ticket.side.value = "sell"
    ticket.quantity.value = "25"
    assert ticket.submit.description == "Sell 25 MSFT" and ticket.submit.button_style == "danger"
    ticket.submit.click()
    [order_id] = ticket.placed
    order = lab.order(order_id)
    assert (order.symbol, order.side, order.quantity) == ("MSFT", "sell", 25)
    words = ticket.message.value
    assert f"{order_id}: sell 25 MSFT market day — filled 25 @" in words and "notional" in words


def test_limit_follows_the_side_and_symbol_until_typed(lab):
    ticket = lab.ticket()
    ticket.order_type.value = "limit"
    quote = lab.quote("AAPL")
    assert Decimal(ticket.limit_price.value) == quote.bid  # buy: the bid
    ticket.side.value = "sell"
    assert Decimal(ticket.limit_price.value) == quote.ask  # sell: the ask, never the bid
    assert "ntlab-side-sell" in ticket.side._dom_classes
    ticket.symbol.value = "NVDA"
    assert Decimal(ticket.limit_price.value) == lab.quote("NVDA").ask
    ticket.limit_price.value = "120.00"  # typed by the user: kept from now on
    ticket.side.value = "buy"
    assert ticket.limit_price.value == "120.00"
    assert "bps" in ticket.info.value and "notional" in ticket.info.value
    ticket.order_type.value = "stop"
    assert ticket.limit_price.disabled and not ticket.stop_price.disabled


def test_time_in_force_follows_the_instrument_until_chosen(lab):
    ticket = lab.ticket()
    assert ticket.tif.value == "day"
    ticket.symbol.value = "BTC/USD"
    assert ticket.tif.value == "gtc"
    ticket.quantity.value = "0.5"
    ticket.submit.click()
    assert lab.order(ticket.placed[0]).time_in_force == "gtc"
    ticket.tif.value = "ioc"
    ticket.symbol.value = "AAPL"
    assert ticket.tif.value == "ioc"  # the user's choice stands


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"quantity": "25ab"}, "quantity", "'25ab' is not a number"),
        ({"quantity": ""}, "quantity", "enter a quantity"),
        ({"quantity": "-5"}, "quantity", "positive"),
        ({"quantity": "1.5"}, "quantity", "whole units"),
        ({"symbol": "not a symbol"}, "symbol", "not a tradable symbol"),
        ({"order_type": "limit", "limit_price": "12x"}, "limit_price", "not a number"),
        ({"order_type": "limit", "limit_price": "190.001"}, "limit_price", "tick"),
        ({"order_type": "stop", "stop_price": ""}, "stop_price", "enter a stop price"),
    ],
)
def test_bad_fields_are_marked_as_typed(lab, fields, field, words):
    ticket = lab.ticket()
    for name, value in fields.items():
        getattr(ticket, name).value = value
    assert getattr(ticket, field).layout.border  # marked before any click
    assert words in ticket.info.value
    ticket.submit.click()
    assert ticket.placed == [] and "not sent" in ticket.message.value and words in ticket.message.value


def test_thousands_separators_are_read(lab):
    ticket = lab.ticket()
    ticket.quantity.value = "1,000"
    assert not ticket.quantity.layout.border
    assert ticket.reading().request.quantity == 1000


def test_a_risk_refusal_names_the_order(lab):
    ticket = lab.ticket()
    ticket.order_type.value = "limit"
    ticket.limit_price.value = "250.00"  # a buy far over the ask: the band guards the aggressive side
    ticket.submit.click()
    assert "buy 100 AAPL limit 250.00 day" in ticket.message.value and "price_band" in ticket.message.value


def test_enter_submits(lab):
    ticket = lab.ticket()
    ticket.quantity.value = "7"
    ticket.quantity._handle_msg(
        {"content": {"data": {"method": "custom", "content": {"event": "submit"}}}, "buffers": []}
    )
    assert len(ticket.placed) == 1 and lab.order(ticket.placed[0]).quantity == 7


def test_live_sessions_ask_for_confirmation(monkeypatch):
    with Lab(journal=None) as lab:
        monkeypatch.setattr(type(lab), "live", property(lambda self: True))
        ticket = OrderTicket(lab)
        assert "LIVE" in ticket.header.value
        ticket.order_type.value = "limit"
        ticket.submit.click()
        assert ticket.placed == [] and "confirm" in ticket.message.value
        assert "buy 100 AAPL limit" in ticket.message.value and "notional" in ticket.message.value
        assert ticket.confirm_row.layout.display == "flex"
        ticket.abandon.click()
        assert ticket.placed == [] and "not sent" in ticket.message.value
        ticket.quantity._handle_msg(
            {"content": {"data": {"method": "custom", "content": {"event": "submit"}}}, "buffers": []}
        )
        assert ticket.placed == [] and ticket.confirm_row.layout.display == "flex"  # Enter asks too
        ticket.confirm.click()
        assert len(ticket.placed) == 1
        ticket.stop()
    assert not ExecutionConfig().live


def test_blotter_rows_have_their_own_cancel(lab):
    blotter = lab.blotter()
    lab.buy("AAPL", 10)
    resting = lab.buy("AAPL", 10, limit=lab.quote("AAPL").bid - Decimal("1"))
    blotter.refresh()
    assert "2 orders, 1 open" in blotter.summary_line.value
    assert [r.key for r in blotter.shown] == [resting.order_id, "sim-000001"]  # newest first
    row = blotter.row(resting.order_id)
    assert row.cancel.layout.visibility == "visible"
    assert blotter.row("sim-000001").cancel.layout.visibility == "hidden"
    row.cancel.click()
    assert resting.status is OrderStatus.CANCELLED
    assert "0 open" in blotter.summary_line.value and "cancelled" in blotter.message.value


def test_blotter_filters_and_groups_children_under_their_parent(lab):
    blotter = lab.blotter()
    lab.buy("MSFT", 5)
    parent = lab.algos.twap("AAPL", 2000, minutes=10)
    lab.advance("3min")
    lab.buy("SPY", 1, limit=lab.quote("SPY").bid - Decimal("1"))
    blotter.refresh()
    keys = [r.key for r in blotter.shown]
    assert keys == ["sim-000002", parent.parent_id, "sim-000001"] or keys[:2] == [keys[0], parent.parent_id]
    assert not any(k.startswith(f"{parent.parent_id}-") for k in keys)  # children collapsed
    row = blotter.row(parent.parent_id)
    assert "% done" in row.cells.value and "children" in row.cells.value
    row.toggle.click()
    children = [r.key for r in blotter.shown if r.key.startswith(f"{parent.parent_id}-")]
    assert len(children) == len(parent.children) > 1
    blotter.open_only.value = True
    assert all(r.cancellable for r in blotter.shown)
    blotter.symbol.value = "SPY"
    assert (
        [r.key for r in blotter.shown] == ["sim-000002"]
        if False
        else all("SPY" in r.html for r in blotter.shown)
    )
    blotter.open_only.value = False
    blotter.symbol.value = "all symbols"
    blotter.row(parent.parent_id).cancel.click()  # a parent's cancel takes its working children with it
    assert lab.algos.parent(parent.parent_id).status.value == "cancelled"


def test_blotter_shows_a_fixed_number_of_rows_however_many_orders(lab):
    for _ in range(150):
        lab.buy("SPY", 1, allow_duplicate=True)
    blotter = Blotter(lab, rows=40)
    assert len(blotter.pool) == 40 and len(blotter.shown) == 40
    for _ in range(100):
        lab.buy("SPY", 1, allow_duplicate=True)
    blotter.refresh()
    assert len(blotter.pool) == 40  # the same row widgets, redrawn
    assert "newest 40 of 250 shown" in blotter.summary_line.value
    assert blotter.table.layout.height and blotter.table.layout.overflow == "auto"
    blotter.stop()


def test_the_model_reuses_rows_of_unchanged_orders(lab):
    for _ in range(20):
        lab.buy("SPY", 1, allow_duplicate=True)
    orders = lab.snapshots()
    model = BlotterModel()
    first = model.rows(orders)
    again = model.rows(orders)
    assert all(a.html is b.html for a, b in zip(first, again, strict=True))


def test_refreshes_are_coalesced(lab):
    blotter = Blotter(lab)
    start = blotter.refresher.redraws
    for _ in range(200):
        lab.buy("SPY", 1, allow_duplicate=True)
    deadline = time.monotonic() + 10  # the first redraw of 100 rows makes their widgets
    while "200 orders" not in blotter.summary_line.value and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "200 orders" in blotter.summary_line.value
    redraws = blotter.refresher.redraws - start
    assert 1 <= redraws <= 12  # 200 orders and 400 events, a few redraws
    blotter.stop()


def test_coalescer_redraws_only_when_something_happened(lab):
    calls = []

    async def redraw():
        calls.append(1)

    coalescer = Coalescer(lab, redraw, hz=50)
    time.sleep(0.1)
    assert calls == []
    lab.buy("AAPL", 1)
    time.sleep(0.1)
    assert len(calls) == 1
    coalescer.stop()


def test_dashboard_has_the_account_and_all_views(lab):
    lab.buy("AAPL", 10)
    dashboard = Dashboard(lab)
    assert dashboard.titles == ("Ticket", "Blotter", "Fills", "Positions", "P&L")
    assert "AAPL" in dashboard.positions.table.value and "sim-000001.1" in dashboard.fills.table.value
    assert "total" in dashboard.positions.table.value
    for words in ("cash", "equity", "buying power", "margin used", "day P&amp;L"):
        assert words in dashboard.account.value
    assert dashboard.pnl.children[0].value[:4] == b"\x89PNG"
    dashboard.stop()


def test_the_ticket_quote_follows_the_market_without_any_order(lab):
    ticket = lab.ticket()
    before = ticket.quote_line.value
    lab.advance("30min")  # quotes move; no order event happens
    deadline = time.monotonic() + 5
    while ticket.quote_line.value == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert f">{lab.quote('AAPL').bid}</b>" in ticket.quote_line.value


def test_every_redraw_runs_on_the_core_thread(lab):
    import threading

    blotter = lab.blotter()
    threads = []
    update = blotter.update
    blotter.update = lambda orders, parents=(): (
        threads.append(threading.current_thread()),
        update(orders, parents),
    )
    resting = lab.buy("AAPL", 10, limit=lab.quote("AAPL").bid - Decimal("1"))
    time.sleep(0.6)  # the refresher's redraw
    blotter.row(resting.order_id).cancel.click()  # the click's redraw
    assert resting.status is OrderStatus.CANCELLED and "0 open" in blotter.summary_line.value
    assert len(threads) >= 2 and {t.name for t in threads} == {"ntlab-core"}


def test_widgets_carry_a_static_picture_for_saved_notebooks(lab):
    lab.buy("AAPL", 10)
    for widget in (lab.ticket(), lab.blotter(), lab.dashboard()):
        data = widget._repr_mimebundle_()
        assert "application/vnd.jupyter.widget-view+json" in data
        assert "children=" not in data["text/plain"] and "\n" not in data["text/plain"]
        assert "<table" in data["text/html"] or "ntlab" in data["text/html"]
