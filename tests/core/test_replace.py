"""Replacing a working order: through pending_replace to the new values, or back as it was when refused."""

from decimal import Decimal

import pytest

from ntlab.brokers.paper import PaperBroker
from ntlab.core import OrderManager, OrderRequest, OrderStatus, load_session, read_events
from ntlab.errors import InvalidOrder, OrderClosed, OrderRejected, Reason
from ntlab.market import sample_market
from tests.alpaca.conftest import make_broker, settle, wait_until

MARKET = sample_market(symbols=["AAPL"])
CENT = Decimal("0.01")


def resting_buy(broker, quantity: int = 100, below: str = "0.50") -> OrderRequest:
    quote = broker.last_quote("AAPL")
    return OrderRequest(
        symbol="AAPL",
        side="buy",
        quantity=quantity,
        order_type="limit",
        limit_price=quote.bid - Decimal(below),
    )


async def test_a_replace_changes_quantity_and_price_and_keeps_the_id(tmp_path):
    broker = PaperBroker(MARKET)
    journal = tmp_path / "j.sqlite"
    async with OrderManager(broker, journal=journal, id_prefix="r") as om:
        placed = await om.place_order(resting_buy(broker))
        events = []
        om.on_event(events.append)
        lower = broker.last_quote("AAPL").bid - Decimal("0.40")
        answer = await om.replace_order(placed.order_id, quantity=150, limit_price=lower)
        order = om.order(placed.order_id)
        assert answer.order_id == placed.order_id and answer.status is OrderStatus.ACCEPTED
        assert (order.quantity, order.limit_price) == (150, lower)
        assert [e.order.status for e in events] == [OrderStatus.PENDING_REPLACE, OrderStatus.ACCEPTED]
    kinds = [e.kind for e in read_events(journal) if e.order_id == placed.order_id]
    assert kinds == ["request", "accepted", "replace_request", "replaced"]
    replayed = load_session(journal).orders[placed.order_id].order
    assert (replayed.quantity, replayed.limit_price, replayed.status) == (150, lower, OrderStatus.ACCEPTED)


async def test_a_replace_that_crosses_the_market_fills_at_once():
    broker = PaperBroker(MARKET)
    async with OrderManager(broker, id_prefix="r") as om:
        placed = await om.place_order(resting_buy(broker))
        ask = broker.last_quote("AAPL").ask
        answer = await om.replace_order(placed.order_id, limit_price=ask)
        assert answer.status is OrderStatus.FILLED and answer.avg_fill_price == ask
        assert om.position("AAPL") == 100


async def test_refused_replaces_leave_the_order_as_it_was():
    broker = PaperBroker(MARKET)
    async with OrderManager(broker, id_prefix="r") as om:
        placed = await om.place_order(resting_buy(broker))
        before = om.order(placed.order_id)
        with pytest.raises(InvalidOrder) as off_tick:
            await om.replace_order(placed.order_id, limit_price=before.limit_price + CENT / 2)
        assert off_tick.value.reason is Reason.OFF_TICK
        with pytest.raises(InvalidOrder, match="stop_price"):
            await om.replace_order(placed.order_id, stop_price=before.limit_price)
        with pytest.raises(InvalidOrder, match="needs a new quantity"):
            await om.replace_order(placed.order_id)
        assert om.order(placed.order_id) == before  # nothing reached the broker, nothing changed
        await om.cancel_order(placed.order_id)
        with pytest.raises(OrderClosed):
            await om.replace_order(placed.order_id, quantity=50)


async def test_a_replace_the_venue_refuses_goes_back_with_its_reason():
    broker = PaperBroker(MARKET)
    async with OrderManager(broker, id_prefix="r") as om:
        placed = await om.place_order(resting_buy(broker))
        order = om.order(placed.order_id)
        await broker.cancel_order(order)  # the venue closed it behind the session's back
        with pytest.raises(OrderRejected, match="refused to replace"):
            await om.replace_order(placed.order_id, quantity=200)
        after = om.order(placed.order_id)
        assert after.quantity == 100 and "cannot replace" in after.reason
        assert after.status is OrderStatus.ACCEPTED  # as the session last knew it


async def test_alpaca_replace_makes_a_new_broker_order_under_the_same_ntlab_id(fake):
    broker = make_broker(fake)
    async with OrderManager(broker, id_prefix="a") as om:
        await settle(fake, om, broker)
        quote = await broker.fetch_quote("AAPL")
        placed = await om.place_order(
            OrderRequest(
                symbol="AAPL",
                side="buy",
                quantity=40,
                order_type="limit",
                limit_price=(quote.bid * Decimal("0.99")).quantize(CENT),
                time_in_force="gtc",
            )
        )
        first_id = om.order(placed.order_id).broker_order_id
        answer = await om.replace_order(placed.order_id, limit_price=quote.ask + 1)
        second_id = om.order(placed.order_id).broker_order_id
        assert answer.order_id == placed.order_id and second_id and second_id != first_id
        await fake.advance(2)
        await settle(fake, om, broker)
        await wait_until(lambda: om.order(placed.order_id).status is OrderStatus.FILLED)
        assert om.position("AAPL") == 40  # the new Alpaca order's fills booked on the one ntlab order
