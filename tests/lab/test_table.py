"""The orders table a Lab keeps: the same frame as building one from the snapshots, however it got there."""

from decimal import Decimal

import pandas as pd

from ntlab.lab.table import FillTable, OrderTable
from ntlab.lab.views import fills_frame, orders_frame


async def _orders(lab):
    return lab.manager.orders()


async def _fills(lab):
    return lab.manager.fills()


def _session(lab):
    lab.buy("AAPL", 100)
    lab.buy("MSFT", 50, limit=lab.quote("MSFT").bid - Decimal("0.5"))
    lab.sell("NVDA", 40, stop=lab.quote("NVDA").bid - Decimal("0.3"))
    lab.sell("BTC/USD", "0.25", tif="gtc")


def test_the_lab_view_matches_the_snapshots_through_every_change(lab):
    _session(lab)
    pd.testing.assert_frame_equal(lab.orders, orders_frame(lab.run(_orders(lab))))
    lab.advance("20min")  # fills and triggers change rows in place
    lab.buy("SPY", 5, limit=lab.quote("SPY").bid - Decimal("1"))
    lab.cancel_all()
    pd.testing.assert_frame_equal(lab.orders, orders_frame(lab.run(_orders(lab))))


def test_sync_converts_changed_snapshots_without_events(lab):
    _session(lab)
    before = lab.run(_orders(lab))
    table = OrderTable(before)
    lab.advance("20min")
    lab.cancel_all()
    lab.buy("SPY", 5)
    after = lab.run(_orders(lab))
    assert table.sync(after) is table and len(table) == len(after)
    pd.testing.assert_frame_equal(table.frame(), orders_frame(after))
    # a list that is not a continuation (another session's) starts the table again
    pd.testing.assert_frame_equal(table.sync(after[2:]).frame(), orders_frame(after[2:]))


def test_no_orders_is_an_empty_frame_with_the_dtypes(lab):
    frame = lab.orders
    assert frame.empty and frame.index.name == "order_id"
    assert str(frame["created_at"].dtype) == "datetime64[ns, UTC]"
    assert isinstance(frame["status"].dtype, pd.CategoricalDtype)
    assert frame["slippage_bps"].dtype == "float64"


def test_fills_view_converts_only_new_fills_and_matches_the_snapshots(lab):
    _session(lab)
    first = lab.fills
    pd.testing.assert_frame_equal(first, fills_frame(lab.run(_fills(lab))))
    lab.advance("20min")
    lab.buy("SPY", 5)
    fills = lab.run(_fills(lab))
    assert len(fills) > len(first)
    pd.testing.assert_frame_equal(lab.fills, fills_frame(fills))
    table = FillTable(fills[:2])
    pd.testing.assert_frame_equal(table.sync(fills).frame(), fills_frame(fills))
    pd.testing.assert_frame_equal(table.sync(fills[1:]).frame(), fills_frame(fills[1:]))


def test_string_columns_are_the_same_without_arrow(lab, monkeypatch):
    import ntlab.tabular as table

    _session(lab)
    orders, fills = lab.run(_orders(lab)), lab.run(_fills(lab))
    with_arrow = orders_frame(orders), fills_frame(fills)
    monkeypatch.setattr(table, "_ARROW_STRINGS", False)
    pd.testing.assert_frame_equal(orders_frame(orders), with_arrow[0])
    pd.testing.assert_frame_equal(fills_frame(fills), with_arrow[1])
