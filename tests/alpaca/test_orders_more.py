"""What Alpaca adds to plain orders, through the manager and the adapter against the fake: order classes
with their legs as ntlab orders, trailing stops, fractional quantities, closing positions, the fees Alpaca
posts after the close, and quotes streamed into ``last_quote``."""

from __future__ import annotations

from decimal import Decimal

from ntlab.core import OrderManager, OrderRequest, OrderStatus
from ntlab.core.instruments import AssetKind, Instrument, InstrumentRegistry
from ntlab.core.records import Order

from .conftest import assert_invariants, make_broker, settle, wait_until

CENT = Decimal("0.01")


def legs(om: OrderManager, order_id: str) -> dict[str, Order]:
    return {o.order_id: o for o in om.orders() if o.linked_to == order_id}


async def test_a_bracket_goes_as_alpacas_and_its_legs_are_ntlab_orders(fake):
    broker = make_broker(fake)
    async with OrderManager(broker, id_prefix="b") as om:
        await settle(fake, om, broker)
        quote = fake.engine.quote("AAPL")
        placed = await om.place_order(
            OrderRequest(
                symbol="AAPL",
                side="buy",
                quantity=10,
                order_class="bracket",
                take_profit=quote.ask + 30,
                stop_loss=quote.bid - 30,
            )
        )
        record = fake.orders.by_client(placed.order_id)
        assert record.order_class == "bracket" and {leg.type for leg in record.legs} == {"limit", "stop"}
        await fake.advance(2)
        await settle(fake, om, broker)
        exits = legs(om, placed.order_id)
        assert set(exits) == {f"{placed.order_id}-tp", f"{placed.order_id}-sl"}
        assert om.order(placed.order_id).status is OrderStatus.FILLED
        assert all(o.status is OrderStatus.ACCEPTED for o in exits.values())
        assert exits[f"{placed.order_id}-tp"].broker_order_id == record.legs[0].id
        await om.cancel_order(f"{placed.order_id}-tp")  # one cancels the other at Alpaca
        await fake.advance(1)
        await settle(fake, om, broker)
        assert {o.status for o in legs(om, placed.order_id).values()} == {OrderStatus.CANCELLED}
        assert_invariants(fake, om)


async def test_an_oto_exit_fills_on_its_own_leg(fake):
    broker = make_broker(fake)
    async with OrderManager(broker, id_prefix="o") as om:
        await settle(fake, om, broker)
        quote = fake.engine.quote("AAPL")
        placed = await om.place_order(
            OrderRequest(
                symbol="AAPL",
                side="buy",
                quantity=5,
                order_class="oto",
                take_profit=(quote.ask * Decimal("1.0001")).quantize(CENT),
            )
        )
        for _ in range(60):
            await fake.advance(30)
            await settle(fake, om, broker)
            if om.order(f"{placed.order_id}-tp").status is OrderStatus.FILLED:
                break
        assert om.order(f"{placed.order_id}-tp").status is OrderStatus.FILLED
        assert fake.positions() == {} and {p.symbol: p.quantity for p in om.positions() if p.quantity} == {}
        assert_invariants(fake, om)


async def test_trailing_stop_and_fractional_orders(fake):
    broker = make_broker(fake)
    fractional = Instrument(symbol="AAPL", kind=AssetKind.EQUITY, tick_size=CENT, lot_size=Decimal("1e-9"))
    async with OrderManager(broker, id_prefix="t", instruments=InstrumentRegistry([fractional])) as om:
        await settle(fake, om, broker)
        part = await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=Decimal("2.5")))
        await fake.advance(1)
        await settle(fake, om, broker)
        assert om.order(part.order_id).filled_quantity == Decimal("2.5")
        trail = await om.place_order(
            OrderRequest(
                symbol="AAPL",
                side="sell",
                quantity=2,
                order_type="trailing_stop",
                trail_percent=Decimal("0.5"),
                time_in_force="gtc",
            )
        )
        record = fake.orders.by_client(trail.order_id)
        assert (record.type, record.trail_percent) == ("trailing_stop", Decimal("0.5"))
        await fake.advance(1)
        assert record.hwm is not None and record.stop_price == (record.hwm * Decimal("0.995")).quantize(CENT)
        found = await broker.lookup_order(trail.order_id)
        assert found is not None and found.trail_percent == Decimal("0.5")
        assert_invariants(fake, om)


async def test_close_position_and_flatten_are_alpacas(fake):
    broker = make_broker(fake)
    async with OrderManager(broker, id_prefix="c") as om:
        await settle(fake, om, broker)
        await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=10))
        await om.place_order(OrderRequest(symbol="MSFT", side="sell", quantity=4))
        await fake.advance(1)
        await settle(fake, om, broker)
        closing = await broker.close_position("AAPL", percentage=Decimal(50))
        assert closing.quantity == 5 and closing.side.value == "sell"
        await fake.advance(1)
        await settle(fake, om, broker)
        await om.reconcile()
        assert fake.positions() == {"AAPL": Decimal(5), "MSFT": Decimal(-4)}
        closed = await broker.flatten()
        assert {o.symbol for o in closed} == {"AAPL", "MSFT"}
        await fake.advance(1)
        await settle(fake, om, broker)
        await om.reconcile()
        await settle(fake, om, broker)
        assert fake.positions() == {}
        assert {p.symbol: p.quantity for p in om.positions() if p.quantity} == {}
        assert_invariants(fake, om)


async def test_fees_alpaca_posts_after_the_close_are_read_per_fill(fake):
    broker = make_broker(fake)
    async with OrderManager(broker, id_prefix="f") as om:
        await settle(fake, om, broker)
        bought = await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=100))
        await fake.advance(1)
        sold = await om.place_order(OrderRequest(symbol="AAPL", side="sell", quantity=100))
        await fake.advance(1)
        await settle(fake, om, broker)
        assert all(f.fee == 0 for f in om.fills())  # Alpaca has not posted them yet
        assert await broker.fill_fees() == {}
        assert fake.post_fees() > 0
        posted = await broker.fill_fees()
        by_order = {f.order_id: f.fill_id for f in om.fills()}
        assert set(posted) == set(by_order.values())
        # CAT on both sides; REG and TAF on the sale only
        assert posted[by_order[sold.order_id]] > posted[by_order[bought.order_id]] > 0
        assert sum(posted.values()) == fake.account.fees_posted_usd()
    # a session that starts after the posting books the executions with their fees
    later = make_broker(fake)
    async with OrderManager(later, id_prefix="g") as om:
        await settle(fake, om, later)
        fills = await later.fills_since(None)
        assert sum(f.fee for f in fills) == fake.account.fees_posted_usd()


async def test_streamed_quotes_feed_last_quote(fake):
    broker = make_broker(fake, quotes=["AAPL"])
    async with OrderManager(broker, id_prefix="q"):
        for _ in range(50):  # the data stream sends what the clock passes, once it has subscribed
            await fake.advance(1)
            if broker.quotes.received:
                break
        await wait_until(lambda: broker.quotes.received > 0)
        engine = fake.engine.quote("AAPL")
        await wait_until(lambda: broker.last_quote("AAPL") == engine)
        assert broker.last_quote("MSFT") is None  # not watched, not fetched


async def test_a_trailing_stops_trail_is_replaced_through_alpacas_patch(fake):
    broker = make_broker(fake)
    async with OrderManager(broker, id_prefix="r") as om:
        await settle(fake, om, broker)
        await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=10))
        await fake.advance(1)
        placed = await om.place_order(
            OrderRequest(
                symbol="AAPL",
                side="sell",
                quantity=10,
                order_type="trailing_stop",
                trail_price=Decimal("2.00"),
                time_in_force="gtc",
            )
        )
        await fake.advance(1)
        await settle(fake, om, broker)
        before = fake.orders.by_client(placed.order_id)
        assert before.hwm is not None and before.stop_price == before.hwm - 2
        answer = await om.replace_order(placed.order_id, trail="3.50")
        assert answer.status is OrderStatus.ACCEPTED
        order = om.order(placed.order_id)
        assert order.trail_price == Decimal("3.50") and order.trail_percent is None
        now = fake.orders.by_key[before.key]
        assert now is not before and now.replaces == before.id and now.trail_price == Decimal("3.50")
        assert now.stop_price == before.hwm - Decimal("3.50")  # the same mark, the stop further away
        assert order.broker_order_id == now.id
        seen = await broker.lookup_order(placed.order_id)
        assert seen is not None and seen.trail_price == Decimal("3.50")
        assert_invariants(fake, om)
