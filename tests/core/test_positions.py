from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from ntlab.core import Side
from ntlab.core.positions import PositionState

trades = st.lists(
    st.tuples(
        st.sampled_from([Side.BUY, Side.SELL]),
        st.integers(1, 500).map(Decimal),
        st.integers(9_000, 11_000).map(lambda c: Decimal(c) / 100),
    ),
    max_size=40,
)


def test_long_round_trip_realizes_the_difference():
    p = PositionState("AAPL")
    p.apply(Side.BUY, Decimal(100), Decimal("10.00"))
    p.apply(Side.BUY, Decimal(100), Decimal("12.00"))
    assert p.avg_cost == Decimal("11.00")
    p.apply(Side.SELL, Decimal(150), Decimal("13.00"))
    assert p.realized_pnl == Decimal("300.00")
    assert p.quantity == 50 and p.avg_cost == Decimal("11.00")


def test_flip_through_zero_opens_at_the_fill_price():
    p = PositionState("AAPL")
    p.apply(Side.BUY, Decimal(100), Decimal("10.00"))
    p.apply(Side.SELL, Decimal(150), Decimal("9.00"))
    assert p.realized_pnl == Decimal("-100.00")
    assert p.quantity == -50 and p.avg_cost == Decimal("9.00")
    assert p.unrealized(Decimal("8.00")) == Decimal("50.00")


@given(trades, st.integers(9_000, 11_000).map(lambda c: Decimal(c) / 100))
def test_pnl_equals_cash_flows_plus_marked_holding(sequence, mark):
    p = PositionState("AAPL")
    cash = Decimal(0)
    for side, quantity, price in sequence:
        p.apply(side, quantity, price, fee=Decimal("0.01"))
        cash += -quantity * price if side is Side.BUY else quantity * price
    expected_quantity = sum((q if s is Side.BUY else -q for s, q, _ in sequence), Decimal(0))
    assert p.quantity == expected_quantity
    # equal up to Decimal's 28 significant digits (average cost is a quotient)
    assert abs(p.realized_pnl + p.unrealized(mark) - (cash + p.quantity * mark)) < Decimal("1e-15")
    assert p.fees == Decimal("0.01") * len(sequence)
    assert (p.avg_cost is None) == (p.quantity == 0)
