from __future__ import annotations

from decimal import Decimal

from ntlab.core import OrderManager, OrderRequest, OrderStatus

from .conftest import assert_invariants, make_broker, settle


async def test_market_order_fills_through_the_stream(fake, tmp_path):
    broker = make_broker(fake)
    async with OrderManager(broker, journal=tmp_path / "s.sqlite") as om:
        r = await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=Decimal(100)))
        assert r.status is OrderStatus.ACCEPTED
        await fake.advance(2)
        await settle(fake, om, broker)
        assert om.order(r.order_id).status is OrderStatus.FILLED
        assert_invariants(fake, om)
