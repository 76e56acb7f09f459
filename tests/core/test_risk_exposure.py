"""The exposure tracker alone: worst-case quantities, marks, the day's P&L and its roll, late fills."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from ntlab.core import Side
from ntlab.core.risk import ExposureTracker
from tests.core.risk_helpers import T0, quote

BUY, SELL = Side.BUY, Side.SELL


def test_worst_case_counts_open_buys_and_sells_separately():
    t = ExposureTracker()
    t.mark_quote(quote())  # mid 190
    t.working("b", "AAPL", BUY, Decimal(30), rests_at=Decimal("189.00"))
    t.working("s", "AAPL", SELL, Decimal(80), rests_at=Decimal("191.00"))
    t.filled("x", "AAPL", BUY, Decimal(20), Decimal("190.00"))  # a fill of an order never seen: position only
    aapl = t.symbols["AAPL"]
    assert aapl.worst == 60  # max(|20 + 30|, |20 - 80|)
    assert (t.gross, t.long_value, t.short_value) == (60 * 190, 50 * 190, -60 * 190)
    assert t.net == 60 * 190
    assert t.crossing("AAPL", True, Decimal("191.00")) == ["s"]
    assert t.crossing("AAPL", False, Decimal("189.50")) == []


def test_a_late_fill_after_the_order_finished_moves_only_the_position():
    t = ExposureTracker()
    t.mark_quote(quote())
    t.working("b", "AAPL", BUY, Decimal(10))
    t.finished("b")
    t.filled("b", "AAPL", BUY, Decimal(4), Decimal("190.00"))
    aapl = t.symbols["AAPL"]
    assert (aapl.position, aapl.open_buy, t.open_orders) == (4, 0, 0)
    t.finished("b")  # twice: no-op
    assert t.open_orders == 0


def test_partial_fills_then_the_rest_cancelled():
    t = ExposureTracker()
    t.mark_quote(quote())
    t.working("b", "AAPL", BUY, Decimal(10), rests_at=Decimal("189.00"))
    t.filled("b", "AAPL", BUY, Decimal(4), Decimal("189.00"))
    assert t.symbols["AAPL"].open_buy == 6 and t.symbols["AAPL"].bids == [(Decimal("189.00"), "b")]
    t.finished("b")
    assert t.symbols["AAPL"].open_buy == 0 and t.symbols["AAPL"].bids == []
    assert t.symbols["AAPL"].worst == 4


def test_marked_pnl_and_the_day_roll():
    t = ExposureTracker()
    t.mark_quote(quote())
    t.working("b", "AAPL", BUY, Decimal(100))
    t.filled("b", "AAPL", BUY, Decimal(100), Decimal("190.00"), fee=Decimal("1.00"), when=T0)
    assert t.pnl == Decimal("-1.00")
    t.mark_quote(quote("184.99", "185.01", at=T0 + timedelta(hours=1)))
    assert t.unrealized == -500 and t.pnl == Decimal("-501.00")
    t.working("s", "AAPL", SELL, Decimal(50))
    t.filled("s", "AAPL", SELL, Decimal(50), Decimal("186.00"), when=T0 + timedelta(hours=2))
    assert t.realized == Decimal("-201.00")  # 50 x -4 - 1
    tomorrow = T0 + timedelta(days=1)
    t.mark_quote(quote("179.99", "180.01", at=tomorrow))  # the day starts at this mark
    assert (t.realized, t.unrealized, t.pnl) == (0, 0, 0)
    t.mark_quote(quote("181.99", "182.01", at=tomorrow + timedelta(minutes=5)))
    assert t.pnl == 50 * 2


def test_exposure_without_any_price_is_unknown_never_zero():
    t = ExposureTracker()
    t.working("b", "ZZZZ", BUY, Decimal(10))
    assert not t.valued and t.gross == 0  # the total leaves it out and says so
    t.mark("ZZZZ", Decimal("5.00"))
    assert t.valued and t.gross == 50
