"""The journal's codec: a record encoded, through JSON and back, is the record it was."""

from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ntlab.core import fields
from ntlab.core.enums import Liquidity, OrderClass, OrderStatus, OrderType, Side, TimeInForce
from ntlab.core.records import Fill, Order
from ntlab.core.reports import Filled

decimals = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(10**6), places=4)
times = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC))
# every money field finite (an order never holds NaN), the rest as given below
money = {
    spec.name: (st.none() | decimals) if spec.optional else decimals
    for spec in fields.specs(Order)
    if spec.kind is fields.Kind.DECIMAL
}
orders = st.builds(
    Order,
    **money,
    order_id=st.text(min_size=1, max_size=12),
    symbol=st.sampled_from(["AAPL", "MSFT", "BTC/USD"]),
    side=st.sampled_from(Side),
    order_type=st.sampled_from(OrderType),
    time_in_force=st.sampled_from(TimeInForce),
    status=st.sampled_from(OrderStatus),
    created_at=times,
    updated_at=times,
    reason=st.none() | st.text(max_size=20),
    order_class=st.sampled_from(OrderClass),
    overfilled=st.booleans(),
    external=st.booleans(),
)
fills = st.builds(
    Fill,
    fill_id=st.text(min_size=1, max_size=12),
    order_id=st.text(min_size=1, max_size=12),
    symbol=st.sampled_from(["AAPL", "BTC/USD"]),
    side=st.sampled_from(Side),
    quantity=decimals,
    price=decimals,
    time=times,
    fee=decimals,
    liquidity=st.none() | st.sampled_from(Liquidity),
    venue=st.none() | st.text(max_size=8),
)


def _through_json(record):
    return orjson.loads(orjson.dumps(fields.encode(record)))


@given(orders)
def test_an_order_comes_back_equal_with_its_enums(order):
    back = fields.decode(Order, _through_json(order))
    assert back == order and type(back) is Order
    assert back.status is order.status and back.side is order.side and back.order_class is order.order_class


@given(fills)
def test_a_fill_inside_a_report_comes_back_equal(fill):
    back = fields.decode(Filled, _through_json(Filled(fill.order_id, fill)))
    assert back == Filled(fill.order_id, fill) and type(back.fill) is Fill
    assert back.fill.liquidity is fill.liquidity


def test_missing_fields_take_defaults_unknown_ones_are_ignored_a_required_one_is_named():
    data = {"fill_id": "f", "order_id": "o", "symbol": "AAPL", "side": "buy", "quantity": "2", "price": "10"}
    data |= {"time": "2026-03-02T14:30:00+00:00", "from_a_later_version": 1}
    fill = fields.decode(Fill, data)
    assert fill.fee == 0 and fill.liquidity is None and fill.quantity == Decimal(2)
    with pytest.raises(KeyError, match="a Fill record needs 'price'"):
        fields.decode(Fill, {k: v for k, v in data.items() if k != "price"})
    with pytest.raises(ValueError, match="'sideways' is not a valid Side"):
        fields.decode(Fill, data | {"side": "sideways"})
