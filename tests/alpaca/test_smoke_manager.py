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


async def test_secrets_never_reach_the_journal(fake, tmp_path):
    journal = tmp_path / "s.sqlite"
    broker = make_broker(fake)
    async with OrderManager(broker, journal=journal) as om:
        await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=Decimal(10)))
        fake.faults.fail_next(1, path="/v2/orders")  # an error path journals a reason too
        await om.place_order(OrderRequest(symbol="MSFT", side="buy", quantity=Decimal(5)))
        await fake.advance(2)
        await settle(fake, om, broker)
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("s.sqlite"))
    assert b"AAPL" in stored  # the journal is readable as bytes, so a leaked key would show
    assert fake.secret_key.encode() not in stored and fake.key_id.encode() not in stored
