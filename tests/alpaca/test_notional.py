"""Notional orders on Alpaca: the adapter sends ``notional``, Alpaca leaves ``qty`` null and fills a
fractional quantity, and ntlab's order learns its quantity from the ``fill`` event (or, after a restart,
from the order Alpaca reports)."""

from __future__ import annotations

from decimal import Decimal

from ntlab.brokers.alpaca.fake import FakeAlpaca
from ntlab.core import OrderManager, OrderRequest, OrderStatus, RiskLimits
from ntlab.market import sample_market

from .conftest import assert_invariants, make_broker, settle

S = OrderStatus
WIDE = RiskLimits(max_order_notional=Decimal(10_000_000), price_band_bps=None)


async def test_a_notional_order_is_sent_as_alpacas_and_sized_when_filled(fake):
    broker = make_broker(fake)
    async with OrderManager(broker, id_prefix="n") as om:
        await settle(fake, om, broker)
        placed = await om.place_order(OrderRequest(symbol="AAPL", side="buy", notional="1000.50"))
        record = fake.orders.by_client(placed.order_id)
        assert record.notional == Decimal("1000.50") and record.qty is None
        assert record.json()["qty"] is None and record.json()["notional"] == "1000.5"
        await fake.advance(1)
        await settle(fake, om, broker)
        order = om.order(placed.order_id)
        assert order.status is S.FILLED and order.notional == Decimal("1000.50")
        assert order.quantity == order.filled_quantity == record.filled_qty
        assert order.quantity != order.quantity.to_integral_value()  # fractional, as Alpaca fills it
        assert order.quantity * order.avg_fill_price <= Decimal("1000.50")  # type: ignore[operator]
        seen = await broker.lookup_order(placed.order_id)
        assert seen is not None and seen.notional == Decimal("1000.50") and seen.quantity == order.quantity
        assert_invariants(fake, om)


async def test_partial_fills_of_a_notional_order_wait_for_alpacas_last_fill():
    market = sample_market(symbols=["AAPL"])
    async with FakeAlpaca(market=market, rate_limit=None, cash=10_000_000) as fake:
        broker = make_broker(fake)
        async with OrderManager(broker, id_prefix="p", risk=WIDE) as om:
            await settle(fake, om, broker)
            placed = await om.place_order(OrderRequest(symbol="AAPL", side="buy", notional=400_000))
            seen = set()
            for _ in range(60):
                await fake.advance(1)
                await settle(fake, om, broker)
                order = om.order(placed.order_id)
                seen.add(order.status)
                if order.status.is_final:
                    break
                assert order.quantity == 0 and not order.overfilled  # not sized until Alpaca is done
            assert S.PARTIALLY_FILLED in seen and order.status is S.FILLED
            assert (
                order.quantity == order.filled_quantity == fake.orders.by_client(placed.order_id).filled_qty
            )
            assert len([f for f in om.fills() if f.order_id == placed.order_id]) > 1
            assert_invariants(fake, om)


async def test_a_notional_order_filled_while_ntlab_was_down_is_sized_on_restart(fake, tmp_path):
    journal = tmp_path / "session.sqlite"
    async with OrderManager(make_broker(fake), journal=journal, id_prefix="r") as om:
        placed = await om.place_order(OrderRequest(symbol="MSFT", side="buy", notional=2500))
        assert om.order(placed.order_id).quantity == 0
    await fake.advance(3)
    broker = make_broker(fake)
    async with OrderManager(broker, journal=journal, id_prefix="r") as om:
        await settle(fake, om, broker)
        order = om.order(placed.order_id)
        assert order.status is S.FILLED and order.quantity == order.filled_quantity > 0
        assert order.notional == 2500 and not order.overfilled
        assert_invariants(fake, om)
