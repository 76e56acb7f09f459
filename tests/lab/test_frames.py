"""tca_frames: the session's orders and fills in the shape ntlab.analytics.tca takes, with no Lab running."""

from decimal import Decimal

import pandas as pd
import pytest

from ntlab import Lab
from ntlab.core import load_session
from ntlab.errors import OrderDenied
from ntlab.lab.frames import tca_frames


def test_tca_frames_from_plain_snapshots(lab):
    market = lab.buy("AAPL", 100).snapshot
    resting = lab.sell("MSFT", 20, limit=lab.quote("MSFT").ask).snapshot
    with pytest.raises(OrderDenied):
        lab.buy("AAPL", 10, limit="1900.10")
    lab.advance("30min")
    orders, fills = tca_frames(lab.run(_orders(lab)), lab.run(_fills(lab)))

    assert list(orders.columns[:5]) == ["order_id", "symbol", "side", "quantity", "arrival_time"]
    assert list(orders["order_id"]) == [market.order_id, resting.order_id]  # the denied order never traded
    assert str(orders["arrival_time"].dtype) == "datetime64[ns, UTC]"
    assert orders["arrival_time"].iloc[0] == pd.Timestamp(market.created_at)
    assert orders["quantity"].dtype == "float64" and list(orders["side"]) == ["buy", "sell"]
    assert list(fills.columns[:5]) == ["order_id", "fill_id", "time", "price", "quantity"]
    assert set(fills["order_id"]) <= set(orders["order_id"])
    assert str(fills["time"].dtype) == "datetime64[ns, UTC]"
    assert fills["price"].dtype == "float64" and (fills["fee"] >= 0).all()
    assert fills.loc[fills["order_id"] == market.order_id, "price"].iloc[0] == float(market.avg_fill_price)


async def _fills(lab):
    return lab.manager.fills()


def test_tca_frames_of_nothing_are_empty_with_the_columns():
    orders, fills = tca_frames([], [])
    assert orders.empty and fills.empty
    assert {"order_id", "symbol", "side", "quantity", "arrival_time"} <= set(orders.columns)
    assert {"order_id", "fill_id", "time", "price", "quantity"} <= set(fills.columns)


def test_the_cli_can_build_them_from_a_journal_alone(tmp_path):
    path = tmp_path / "s.sqlite"
    with Lab(journal=path) as lab:
        lab.buy("NVDA", 10)
        lab.sell("NVDA", 5, limit=lab.quote("NVDA").bid - Decimal("0.01"))
        expected = tca_frames(lab.run(_orders(lab)), lab.run(_fills(lab)))

    # no broker and no manager: the journal is the record
    session = load_session(path)
    orders, fills = tca_frames(list(session.snapshots()), session.fills)
    pd.testing.assert_frame_equal(orders, expected[0])
    pd.testing.assert_frame_equal(fills, expected[1])


async def _orders(lab):
    return lab.manager.orders()
