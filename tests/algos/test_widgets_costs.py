"""The progress widget follows its parent by having values set; the cost table compares runs."""

import ipywidgets
import pytest

from ntlab.algos import AlgoStatus, cost_table
from ntlab.algos.widgets import progress_widget
from ntlab.core import OrderRequest


@pytest.fixture(autouse=True)
def close_widgets():
    yield
    ipywidgets.Widget.close_all()


async def test_the_progress_widget_follows_its_parent(session):
    broker, _om, engine = session
    parent = await engine.twap("AAPL", 3_000, minutes=10)
    view = progress_widget(parent)
    assert isinstance(view.widget, ipywidgets.VBox)
    assert "running" in view.label.value and view.filled.value < 1
    await engine.run_until(broker.now_ns + 5 * 60 * 10**9)
    assert 0.3 < view.schedule.value < 0.7
    assert view.filled.value == pytest.approx(float(parent.filled) / 3_000)
    await engine.run()
    assert view.filled.value == 1.0 and view.filled.bar_style == "success"
    assert parent.snapshot().status is AlgoStatus.FILLED and "filled" in view.label.value
    view.close()
    assert view._unsubscribe is None


async def test_cost_table_puts_runs_side_by_side(session, market):
    _broker, om, engine = session
    market_order = await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=2_000))
    twap = await engine.twap("AAPL", 2_000, minutes=10)
    await engine.run()
    table = cost_table(om, market, {"market": market_order.order_id, "twap": twap})
    assert list(table.index) == ["market", "twap"]
    assert (table["filled"] == 2_000).all()
    assert table.loc["twap", "children"] == len(twap.children)
    assert table.loc["market", "minutes"] < table.loc["twap", "minutes"]
    assert table["arrival_slippage_bps"].notna().all() and (table["fees_bps"] > 0).all()
