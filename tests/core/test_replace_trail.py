"""Replacing a trailing stop's trail: on the paper venue the stop moves to the new distance from the same
high mark; a non-trailing order, or a broker that cannot change a trail, refuses before anything is sent."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ntlab.brokers.paper import PaperBroker
from ntlab.core import OrderManager, OrderRequest, OrderStatus
from ntlab.errors import InvalidOrder, Reason
from ntlab.market import sample_market
from tests.core.brokers import ScriptedVenue


def _trailing(**trail: str) -> OrderRequest:
    return OrderRequest(
        symbol="AAPL", side="sell", quantity=10, order_type="trailing_stop", time_in_force="gtc", **trail
    )


@pytest.mark.parametrize(("given", "new"), [({"trail_price": "2.00"}, "3.00"), ({"trail_percent": "1"}, "2")])
async def test_the_paper_venue_moves_the_stop_to_the_new_trail(given: dict, new: str) -> None:
    venue = PaperBroker(sample_market(symbols=["AAPL"]))
    async with OrderManager(broker=venue) as om:
        await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=10))
        placed = await om.place_order(_trailing(**given))
        await venue.advance("30s")
        before = await venue.lookup_order(placed.order_id)
        assert before is not None and before.stop_price is not None
        old = next(iter(given.values()))
        if "trail_price" in given:
            mark = before.stop_price + Decimal(old)
            wanted = mark - Decimal(new)
        else:
            mark = before.stop_price / (1 - Decimal(old) / 100)
            wanted = mark * (1 - Decimal(new) / 100)
        answer = await om.replace_order(placed.order_id, trail=new)
        assert answer.status is OrderStatus.ACCEPTED
        order = om.order(placed.order_id)
        name = next(iter(given))
        assert getattr(order, name) == Decimal(new)
        after = await venue.lookup_order(placed.order_id)
        assert after is not None and getattr(after, name) == Decimal(new)
        assert abs(after.stop_price - wanted) < Decimal("0.0001")  # type: ignore[operator]


async def test_a_trail_for_an_order_that_does_not_trail_is_refused() -> None:
    venue = PaperBroker(sample_market(symbols=["AAPL"]))
    async with OrderManager(broker=venue) as om:
        quote = venue.last_quote("AAPL")
        assert quote is not None
        resting = await om.place_order(
            OrderRequest(symbol="AAPL", side="buy", quantity=1, order_type="limit", limit_price=quote.bid - 5)
        )
        with pytest.raises(InvalidOrder) as refused:
            await om.replace_order(resting.order_id, trail="1")
        assert refused.value.reason is Reason.STOP_PRICE_NOT_ALLOWED and "trailing stops" in str(
            refused.value
        )
        with pytest.raises(InvalidOrder):
            await om.replace_order(resting.order_id, trail="-1")


async def test_a_broker_that_cannot_change_a_trail_refuses_before_sending() -> None:
    venue = ScriptedVenue()
    async with OrderManager(broker=venue) as om:
        with pytest.raises(InvalidOrder) as refused:
            await om.replace_order("any", trail="1")
        assert refused.value.reason is Reason.NOT_ALLOWED and "cancel the order" in str(refused.value)
