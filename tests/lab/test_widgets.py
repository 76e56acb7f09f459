import time
from decimal import Decimal

import pytest

from ntlab import Lab
from ntlab.config import ExecutionConfig
from ntlab.core import OrderStatus
from ntlab.lab.widgets import Blotter, Coalescer, Dashboard, OrderTicket


def test_ticket_places_an_order_and_says_so(lab):
    ticket = lab.ticket()
    assert "bid <b>" in ticket.quote_line.value
    ticket.symbol.value = "MSFT"
    ticket.side.value = "sell"
    ticket.quantity.value = "25"
    ticket.submit.click()
    [order_id] = ticket.placed
    order = lab.order(order_id)
    assert (order.symbol, order.side, order.quantity) == ("MSFT", "sell", 25)
    assert order_id in ticket.message.value and "filled" in ticket.message.value


def test_price_fields_follow_the_order_type(lab):
    ticket = lab.ticket()
    assert ticket.limit_price.disabled and ticket.stop_price.disabled
    ticket.order_type.value = "limit"
    assert not ticket.limit_price.disabled and ticket.stop_price.disabled
    assert Decimal(ticket.limit_price.value) == lab.quote("AAPL").bid  # prefilled at the touch
    ticket.order_type.value = "stop_limit"
    assert not ticket.limit_price.disabled and not ticket.stop_price.disabled
    ticket.symbol.value = "NVDA"  # the limit follows the new symbol's touch
    assert Decimal(ticket.limit_price.value) == lab.quote("NVDA").bid
    ticket.order_type.value = "stop"
    assert ticket.limit_price.disabled and not ticket.stop_price.disabled


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"quantity": "abc"}, "quantity"),
        ({"quantity": "-5"}, "positive"),
        ({"quantity": "1.5"}, "whole units"),
        ({"symbol": "not a symbol"}, "symbol"),
        ({"order_type": "limit", "limit_price": "12x"}, "limit_price"),
        ({"order_type": "limit", "limit_price": "250.00"}, "price_band"),  # a buy far over the ask
        ({"order_type": "stop", "stop_price": ""}, "stop_price"),
    ],
)
def test_bad_input_shows_a_readable_message_in_place(lab, fields, words):
    ticket = lab.ticket()
    for name, value in fields.items():
        getattr(ticket, name).value = value
    ticket.submit.click()
    assert words in ticket.message.value
    assert "Traceback" not in ticket.message.value
    assert "#cf222e" in ticket.message.value


def test_live_sessions_ask_for_confirmation(monkeypatch):
    with Lab(journal=None) as lab:
        monkeypatch.setattr(type(lab), "live", property(lambda self: True))
        ticket = OrderTicket(lab)
        assert "LIVE" in ticket.children[0].value
        ticket.submit.click()
        assert ticket.placed == [] and "confirm" in ticket.message.value
        assert ticket.confirm_row.layout.display == "flex"
        ticket.abandon.click()
        assert ticket.placed == [] and "not sent" in ticket.message.value
        ticket.submit.click()
        ticket.confirm.click()
        assert len(ticket.placed) == 1
        ticket.stop()
    assert not ExecutionConfig().live


def test_blotter_lists_orders_and_cancels_open_ones(lab):
    blotter = lab.blotter()
    lab.buy("AAPL", 10)
    resting = lab.buy("AAPL", 10, limit=lab.quote("AAPL").bid - Decimal("1"))
    blotter.redraw()
    assert "2 orders, 1 open" in blotter.summary.value
    assert resting.order_id in blotter.table.value and "ntlab-status" in blotter.table.value
    [row] = blotter.open_orders.children
    row.children[0].click()
    assert resting.status is OrderStatus.CANCELLED
    assert "0 open" in blotter.summary.value and blotter.open_orders.children == ()


def test_refreshes_are_coalesced(lab):
    blotter = Blotter(lab)
    start = blotter.refresher.redraws
    for _ in range(200):
        lab.buy("SPY", 1, allow_duplicate=True)
    time.sleep(0.6)
    redraws = blotter.refresher.redraws - start
    assert 1 <= redraws <= 4  # 200 orders and 400 events, a few redraws
    assert "200 orders" in blotter.summary.value
    blotter.stop()


def test_coalescer_redraws_only_when_something_happened(lab):
    calls = []
    coalescer = Coalescer(lab, lambda: calls.append(1), hz=50)
    time.sleep(0.1)
    assert calls == []
    lab.buy("AAPL", 1)
    time.sleep(0.1)
    assert len(calls) == 1
    coalescer.stop()


def test_dashboard_has_all_views(lab):
    lab.buy("AAPL", 10)
    dashboard = Dashboard(lab)
    assert dashboard.titles == ("Ticket", "Blotter", "Fills", "Positions")
    assert "AAPL" in dashboard.positions.table.value and "sim-000001.1" in dashboard.fills.table.value
    dashboard.stop()


def test_the_ticket_quote_follows_the_market_without_any_order(lab):
    ticket = lab.ticket()
    before = ticket.quote_line.value
    lab.advance("30min")  # quotes move; no order event happens
    deadline = time.monotonic() + 5
    while ticket.quote_line.value == before and time.monotonic() < deadline:
        time.sleep(0.05)
    quote = lab.quote("AAPL")
    assert f"bid <b>{quote.bid}</b>" in ticket.quote_line.value


def test_every_redraw_runs_on_the_core_thread(lab):
    import threading

    blotter = lab.blotter()
    threads = []
    update = blotter.update
    blotter.update = lambda orders: (threads.append(threading.current_thread()), update(orders))
    resting = lab.buy("AAPL", 10, limit=lab.quote("AAPL").bid - Decimal("1"))
    time.sleep(0.6)  # the refresher's redraw
    blotter.open_orders.children[0].children[0].click()  # the click's redraw
    assert resting.status is OrderStatus.CANCELLED and "0 open" in blotter.summary.value
    assert len(threads) >= 2 and {t.name for t in threads} == {"ntlab-core"}
