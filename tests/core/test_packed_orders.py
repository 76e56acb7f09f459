"""Finished orders are kept packed (exact tuples the collector does not track) and read back unchanged."""

import gc
from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from ntlab.brokers.paper import PaperBroker
from ntlab.core import OrderManager, OrderRequest, OrderStatus
from ntlab.core.enums import OrderClass, OrderType, Side, TimeInForce
from ntlab.core.fields import packer, unpacker
from ntlab.core.records import Fill, Order
from ntlab.core.reports import FeeCharged, Filled
from ntlab.market import sample_market

_pack, _unpack = packer(Order), unpacker(Order)

decimals = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(10**6), places=4)
times = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC))
orders = st.builds(
    Order,
    order_id=st.text(min_size=1, max_size=12),
    symbol=st.sampled_from(["AAPL", "MSFT", "BTC/USD"]),
    side=st.sampled_from(Side),
    quantity=decimals,
    order_type=st.sampled_from(OrderType),
    time_in_force=st.sampled_from(TimeInForce),
    status=st.sampled_from(OrderStatus),
    created_at=times,
    updated_at=times,
    limit_price=st.none() | decimals,
    avg_fill_price=st.none() | decimals,
    reason=st.none() | st.text(max_size=20),
    order_class=st.sampled_from(OrderClass),
    overfilled=st.booleans(),
)


@given(orders, st.lists(st.text(max_size=8), max_size=3))
def test_a_packed_order_reads_back_equal_and_is_not_tracked(order, extra):
    packed = _pack(order, *extra)
    assert type(packed) is tuple
    assert packed[len(Order._fields) :] == tuple(extra)
    back = _unpack(packed)
    assert back == order and type(back) is Order
    assert all(a is b for a, b in zip(back, order, strict=True) if isinstance(a, OrderStatus | Side))
    held = [packed]
    gc.collect()
    assert not gc.is_tracked(held[0])  # only plain values: the collector stopped walking it


def _live_orders() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is Order)


async def test_finished_orders_leave_the_collectors_heap_and_read_back(tmp_path):
    broker = PaperBroker(sample_market(symbols=["AAPL"]))
    async with OrderManager(broker, journal=tmp_path / "j.sqlite") as om:
        before = _live_orders()
        resting = await om.place_order(
            OrderRequest(symbol="AAPL", side="buy", quantity=1, order_type="limit", limit_price="1.00")
        )
        placed = []
        for i in range(300):
            placed.append(
                await om.place_order(
                    OrderRequest(
                        symbol="AAPL", side="buy" if i % 2 else "sell", quantity=1, allow_duplicate=True
                    )
                )
            )
            if i % 50 == 0:
                await broker.advance("1s")
        assert all(p.status is OrderStatus.FILLED for p in placed)
        # 301 orders held: the 300 filled ones are packed, the resting one (and a few just read) are records
        assert _live_orders() - before < 10
        listed = om.orders()
        assert [o.order_id for o in listed] == [resting.order_id, *(p.order_id for p in placed)]
        assert [o.order_id for o in om.orders(open_only=True)] == [resting.order_id]
        first = om.order(placed[0].order_id)
        assert (
            await om.get_order_status(placed[0].order_id) is OrderStatus.FILLED
        )  # read off the packed tuple
        assert await om.get_order_status(resting.order_id) is OrderStatus.ACCEPTED
        assert first.status is OrderStatus.FILLED and first.filled_quantity == 1 and first.broker_order_id
        assert sum(o.filled_quantity for o in listed) == 300
        journaled = {o.order_id: o for o in listed}
    async with OrderManager(
        PaperBroker(sample_market(symbols=["AAPL"])), journal=tmp_path / "j.sqlite"
    ) as again:
        # a restart replays the journal to the same orders, and packs the finished ones again
        assert {o.order_id: o for o in again.orders()} == journaled
        del journaled, listed, first
        assert _live_orders() - before < 10


async def test_news_about_a_packed_order_reopens_it(tmp_path):
    """A late fill, or a fee posted after the close, changes an order that was already packed."""
    broker = PaperBroker(sample_market(symbols=["AAPL"]))
    async with OrderManager(broker, journal=tmp_path / "j.sqlite") as om:
        done = await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=1))
        await om.place_order(OrderRequest(symbol="AAPL", side="sell", quantity=1))  # another batch since
        booked = om.order(done.order_id)
        (fill,) = [f for f in om.fills() if f.order_id == done.order_id]
        await om.handle_order_update(FeeCharged(done.order_id, fill.fill_id, Decimal("0.25"), fill.time))
        late = Fill(
            f"{done.order_id}.late", done.order_id, "AAPL", Side.BUY, Decimal(2), fill.price, fill.time
        )
        await om.handle_order_update(Filled(done.order_id, late))
        after = om.order(done.order_id)
        assert booked.fees and after.fees == Decimal("0.25")  # the fee posted replaces the one booked
        assert after.filled_quantity == 3 and after.overfilled and after.status is OrderStatus.FILLED
        assert om.position("AAPL") == 2  # bought 1, sold 1, then the late 2
        await om.handle_order_update(Filled(done.order_id, late))  # its fill ids came back with it
        assert om.order(done.order_id).filled_quantity == 3
    async with OrderManager(
        PaperBroker(sample_market(symbols=["AAPL"])), journal=tmp_path / "j.sqlite"
    ) as again:
        assert again.order(done.order_id) == after
        assert again.position("AAPL") == 2
