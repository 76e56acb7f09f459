import asyncio
import threading
from decimal import Decimal

import pandas as pd
import pytest

from ntlab import Lab
from ntlab.core import OrderStatus
from ntlab.errors import InvalidArgument, InvalidOrder, NtlabError, RiskDenied, SessionClosed, UnknownOrder


def test_orders_from_cells_and_live_handles(lab):
    market = lab.buy("AAPL", 100)
    assert market.status is OrderStatus.FILLED and market.filled_quantity == 100
    bid = lab.quote("MSFT").bid
    resting = lab.buy("MSFT", 50, limit=bid)
    assert resting.order_type == "limit" and resting.status is OrderStatus.ACCEPTED
    lab.advance("5min")
    assert resting.status is OrderStatus.FILLED  # the same handle shows the new state
    assert "filled 50 @" in repr(resting)
    stop = lab.sell("NVDA", 10, stop=lab.quote("NVDA").bid - Decimal("5.00"))
    assert stop.order_type == "stop"
    assert lab.cancel(stop).status is OrderStatus.CANCELLED
    assert lab.order(market.order_id) == market
    with pytest.raises(UnknownOrder):
        lab.order("nope")


def test_bad_input_raises_the_core_error_with_a_short_traceback(lab):
    with pytest.raises(InvalidOrder, match="fractional") as caught:
        lab.buy("AAPL", "1.5")
    frames = []
    tb = caught.value.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame.f_code.co_filename)
        tb = tb.tb_next
    assert not any("ntlab/core" in f for f in frames)  # no journey through the core's internals
    with pytest.raises(RiskDenied, match="price_band"):
        lab.buy("AAPL", 1, limit="1900.00")
    with pytest.raises(InvalidOrder, match="symbol"):
        lab.sell("not a symbol", 1)
    with pytest.raises(NtlabError, match="no quote"):
        lab.quote("ZZZZ")


def test_views_have_analysis_dtypes(lab):
    lab.buy("AAPL", 100)
    lab.sell("BTC/USD", "0.5", tif="gtc")
    lab.buy("SPY", 10, limit=lab.quote("SPY").bid)
    orders = lab.orders
    assert orders.index.name == "order_id"
    assert str(orders["created_at"].dtype) == "datetime64[ns, UTC]"
    assert orders["quantity"].dtype == "float64" and orders["slippage_bps"].dtype == "float64"
    assert isinstance(orders["side"].dtype, pd.CategoricalDtype)
    assert isinstance(orders["status"].dtype, pd.CategoricalDtype)
    aapl = orders.iloc[0]
    assert aapl["arrival_mid"] == pytest.approx((aapl["arrival_bid"] + aapl["arrival_ask"]) / 2)
    # a buy at the ask pays half the spread: positive slippage, in bps of the arrival mid
    half_spread = (aapl["arrival_ask"] - aapl["arrival_mid"]) / aapl["arrival_mid"] * 1e4
    assert aapl["slippage_bps"] == pytest.approx(half_spread)
    fills = lab.fills
    assert fills.index.name == "fill_id" and set(fills["liquidity"]) == {"taker"}
    assert (fills["fee"] > 0).all() and fills["notional"].iloc[0] == pytest.approx(
        100 * fills["price"].iloc[0]
    )
    positions = lab.positions
    assert positions.loc["AAPL", "quantity"] == 100 and positions.loc["BTC/USD", "quantity"] == -0.5
    row = positions.loc["AAPL"]
    assert row["unrealized_pnl"] == pytest.approx((row["mark"] - row["avg_cost"]) * 100)


def test_flatten_and_cancel_all(lab):
    lab.buy("AAPL", 100)
    lab.sell("MSFT", 20)
    lab.buy("NVDA", 10, limit=lab.quote("NVDA").bid - Decimal("1"))
    orders = lab.flatten()
    assert {o.symbol for o in orders} == {"AAPL", "MSFT"}
    lab.advance("1min")
    assert (lab.positions["quantity"] == 0).all()
    assert lab.orders["status"].isin(["filled", "cancelled"]).all()
    lab.buy("SPY", 1, limit=lab.quote("SPY").bid - Decimal("1"))
    assert lab.cancel_all() == 1


def test_wait_for_a_status(lab):
    resting = lab.buy("AAPL", 10, limit=lab.quote("AAPL").bid)
    with pytest.raises(TimeoutError, match="still accepted"):
        resting.wait("filled", timeout=0.2)  # the simulated clock does not move by itself
    threading.Timer(0.1, lambda: lab.advance("10min")).start()
    assert resting.wait("filled", timeout=5).status is OrderStatus.FILLED


def test_async_twins(lab):
    async def cell():
        order = await lab.abuy("AAPL", 5)
        quote = await lab.aquote("AAPL")
        resting = await lab.asell("AAPL", 5, limit=quote.ask + Decimal("0.05"))
        await lab.acancel(resting)
        await lab.aadvance("1s")
        return order, resting

    order, resting = asyncio.run(cell())
    assert order.status is OrderStatus.FILLED and resting.status is OrderStatus.CANCELLED


def test_events_reach_the_callers_loop(lab):
    seen = []

    async def cell():
        loop_thread = threading.get_ident()
        lab.on_event(lambda event: seen.append((event.kind, threading.get_ident() == loop_thread)))
        await lab.abuy("AAPL", 3)
        await asyncio.sleep(0.05)

    asyncio.run(cell())
    assert seen == [("order", True), ("fill", True)]


def test_sync_call_from_the_core_thread_refuses(lab):
    errors = []

    def callback(event):
        try:
            lab.buy("AAPL", 1)
        except NtlabError as error:
            errors.append(str(error))

    lab.on_event(callback)  # no running loop here: the callback runs on the core thread
    lab.buy("AAPL", 1)
    assert errors and "async twin" in errors[0]


def test_reopening_the_journal_restores_the_session(tmp_path):
    path = tmp_path / "s.sqlite"
    with Lab(journal=path) as lab:
        first = lab.buy("AAPL", 100).order_id
        lab.buy("MSFT", 10, limit=lab.quote("MSFT").bid - Decimal("1"))
        before = lab.orders
    with Lab(journal=path) as lab:
        pd.testing.assert_frame_equal(
            lab.orders.drop(columns="updated_at"), before.drop(columns="updated_at")
        )
        assert lab.order(first).status is OrderStatus.FILLED
        assert lab.buy("AAPL", 1).order_id not in before.index
    with pytest.raises(SessionClosed):
        lab.buy("AAPL", 1)


def test_realtime_replay_fills_while_you_watch():
    with Lab(journal=None, speed=600) as lab:
        resting = lab.buy("AAPL", 10, limit=lab.quote("AAPL").bid)
        assert resting.wait("filled", timeout=20).status is OrderStatus.FILLED
        with pytest.raises(NtlabError, match="real time"):
            lab.advance("1min")


def test_keyboard_interrupt_cancels_the_call(lab):
    async def forever():
        await asyncio.sleep(3600)

    timer = threading.Timer(0.1, lambda: _interrupt_main())
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        lab.run(forever(), timeout=10)
    assert lab.buy("AAPL", 1).status is OrderStatus.FILLED  # the core is fine afterwards


def _interrupt_main():
    import _thread

    _thread.interrupt_main()


def test_a_reopened_paper_session_keeps_resting_orders_and_its_clock(tmp_path):
    path = tmp_path / "s.sqlite"
    with Lab(journal=path) as lab:
        resting = lab.buy("MSFT", 10, limit=lab.quote("MSFT").bid - Decimal("1")).order_id
        stopped_at = lab.advance("1min")
        assert lab.order(resting).status is OrderStatus.ACCEPTED
    assert (tmp_path / "s.paper.sqlite").exists()  # the venue's ledger beside the journal
    with Lab(journal=path) as lab:
        assert lab.now() == stopped_at  # simulated time resumes; the day does not start again
        assert lab.order(resting).status is OrderStatus.ACCEPTED
        lab.advance("6h")  # the venue still holds the order: it fills or expires at the close
        assert lab.order(resting).status in (OrderStatus.FILLED, OrderStatus.EXPIRED)


def test_a_malformed_request_reads_as_one_error_from_the_cell(lab):
    for call in (
        lambda: lab.buy("AAPL", -5),
        lambda: lab.place(symbol="AAPL", side="buy", quantity=1, order_type="limit"),
    ):
        with pytest.raises(InvalidOrder) as caught:
            call()
        files = []
        tb = caught.value.__traceback__
        while tb is not None:
            files.append(tb.tb_frame.f_code.co_filename)
            tb = tb.tb_next
        assert not any("pydantic" in f or "ntlab/core" in f for f in files)
        assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_async_views(lab):
    async def cell():
        await lab.abuy("AAPL", 5)
        return await lab.aorders(), await lab.afills(), await lab.apositions()

    orders, fills, positions = asyncio.run(cell())
    pd.testing.assert_frame_equal(orders, lab.orders)
    pd.testing.assert_frame_equal(fills, lab.fills)
    assert positions.loc["AAPL", "quantity"] == 5


def test_import_ntlab_stays_light():
    import subprocess
    import sys

    code = (
        "import sys, ntlab\n"
        "assert 'ntlab.lab' not in sys.modules and 'pandas' not in sys.modules\n"
        "ntlab.Lab\n"
        "assert 'ipywidgets' not in sys.modules, 'widgets load with the first ticket, not with Lab'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_buy_and_sell_take_a_notional_instead_of_a_quantity(lab):
    ask = lab.quote("AAPL").ask
    bought = lab.buy("AAPL", notional=1000)
    order = bought.snapshot
    assert order.notional == 1000 and order.quantity == order.filled_quantity == Decimal(1000) // ask
    assert "1000 worth" in repr(bought)
    frame = lab.orders
    assert frame.loc[bought.order_id, "notional"] == 1000.0
    bid = lab.quote("AAPL").bid
    sold = lab.sell("AAPL", notional=400)
    assert sold.snapshot.notional == 400 and sold.snapshot.filled_quantity == Decimal(400) // bid


def test_buy_without_a_quantity_or_notional_says_what_to_give(lab):
    with pytest.raises(InvalidArgument, match="notional="):
        lab.buy("AAPL")
