"""Risk wired into the OrderManager: the tracker follows the manager's orders and fills, survives a restart,
counts orders placed elsewhere, and self-trade prevention can cancel the resting order first."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ntlab.brokers.paper import PaperBroker, PaperConfig
from ntlab.core import OrderManager, OrderRequest, OrderStatus, RiskLimits
from ntlab.core.risk import SymbolLimits
from ntlab.errors import Reason, RiskDenied
from tests.core.brokers import ScriptedVenue


def limit(side: str, qty: int, price: str, symbol: str = "AAPL", **more) -> OrderRequest:
    return OrderRequest(symbol=symbol, side=side, quantity=qty, order_type="limit", limit_price=price, **more)


async def test_the_tracker_follows_orders_fills_and_cancels():
    venue = ScriptedVenue()
    async with OrderManager(venue, risk=RiskLimits(require_locate=False)) as om:
        tracker = om.risk.tracker
        await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=30))  # fills at 100.01
        resting = await om.place_order(limit("buy", 20, "99.50"))
        sell = await om.place_order(limit("sell", 50, "100.50"))
        aapl = tracker.symbols["AAPL"]
        assert (aapl.position, aapl.open_buy, aapl.open_sell, tracker.open_orders) == (30, 20, 50, 2)
        assert aapl.worst == 50  # max(|30 + 20|, |30 - 50|)
        await venue.fill_resting(resting.order_id, "5", "99.50", "x1")
        assert (aapl.position, aapl.open_buy) == (35, 15)
        await om.cancel_order(resting.order_id)
        await om.cancel_order(sell.order_id)
        assert (aapl.open_buy, aapl.open_sell, tracker.open_orders) == (0, 0, 0)
        assert aapl.bids == [] and aapl.asks == []
        assert tracker.gross == 35 * Decimal("100.00")  # marked at the mid


async def test_exposure_is_rebuilt_from_the_journal_after_a_restart(tmp_path):
    path = tmp_path / "j.sqlite"
    venue = ScriptedVenue()
    limits = RiskLimits(max_position=100, duplicate_window=None)
    async with OrderManager(venue, journal=path, risk=limits) as om:
        await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=40))
        resting = await om.place_order(limit("buy", 50, "99.00"))
        await venue.fill_resting(resting.order_id, "10", "99.00", "x1")
    async with OrderManager(venue, journal=path, risk=limits) as om:
        aapl = om.risk.tracker.symbols["AAPL"]
        assert (aapl.position, aapl.open_buy) == (50, 40)  # 40 + 10 filled, 40 of the resting buy left
        with pytest.raises(RiskDenied) as caught:
            await om.place_order(limit("buy", 11, "98.00"))  # 50 + 40 + 11 = 101
        assert caught.value.reason is Reason.MAX_POSITION
        await om.place_order(limit("buy", 10, "98.00"))


async def test_orders_placed_elsewhere_count_once_adopted():
    venue = ScriptedVenue()
    async with OrderManager(venue, risk=RiskLimits(max_open_orders=2)) as om:
        from ntlab.core.broker import BrokerOrder
        from tests.core.brokers import START

        venue.orders["ext-1"] = BrokerOrder(
            order_id="ext-1",
            symbol="AAPL",
            side="buy",
            quantity=Decimal(10),
            order_type="limit",
            time_in_force="day",
            status=OrderStatus.ACCEPTED,
            limit_price=Decimal("95.00"),
            created_at=START,
            updated_at=START,
        )
        report = await om.reconcile()
        assert report["adopted"] == 1
        assert om.risk.tracker.open_orders == 1
        await om.place_order(limit("buy", 1, "95.00"))
        with pytest.raises(RiskDenied) as caught:
            await om.place_order(limit("buy", 2, "95.00"))
        assert caught.value.reason is Reason.MAX_OPEN_ORDERS


async def test_self_trade_cancel_resting_on_the_paper_venue():
    broker = PaperBroker()
    async with OrderManager(broker, risk=RiskLimits(self_trade="cancel_resting")) as om:
        q = broker.last_quote("AAPL")
        ask = await om.place_order(limit("sell", 10, str(q.ask + 1)))
        assert ask.status is OrderStatus.ACCEPTED
        crossing = await om.place_order(limit("buy", 10, str(q.ask + 1)))
        assert om.order(ask.order_id).status is OrderStatus.CANCELLED  # cancelled before the buy went
        assert crossing.status is OrderStatus.FILLED  # a marketable buy: it took the market's ask
    async with OrderManager(PaperBroker(), risk=RiskLimits()) as om:
        resting = await om.place_order(limit("sell", 10, str(q.ask + 1)))
        with pytest.raises(RiskDenied) as caught:
            await om.place_order(limit("buy", 10, str(q.ask + 1)))
        assert caught.value.reason is Reason.SELF_TRADE and resting.order_id in str(caught.value)


async def test_the_paper_venues_locate_list():
    broker = PaperBroker(config=PaperConfig(locates=frozenset({"AAPL"})))
    async with OrderManager(broker) as om:
        await om.place_order(OrderRequest(symbol="AAPL", side="sell", quantity=10))
        with pytest.raises(RiskDenied) as caught:
            await om.place_order(OrderRequest(symbol="MSFT", side="sell", quantity=10))
        assert caught.value.reason is Reason.NO_LOCATE


async def test_a_limit_per_symbol_through_the_manager():
    limits = RiskLimits(symbols={"NVDA": SymbolLimits(max_order_notional=1_000)})
    broker = PaperBroker()
    async with OrderManager(broker, risk=limits) as om:
        await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=10))
        with pytest.raises(RiskDenied) as caught:
            await om.place_order(OrderRequest(symbol="NVDA", side="buy", quantity=10))
        assert caught.value.reason is Reason.MAX_NOTIONAL


async def test_usage_shows_each_limit_beside_what_is_used():
    limits = RiskLimits(max_position=100, max_gross_exposure=50_000, max_open_orders=5, max_daily_loss=1_000)
    venue = ScriptedVenue()
    async with OrderManager(venue, risk=limits) as om:
        await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=30))
        await om.place_order(limit("buy", 20, "99.00"))
        rows = {(r.reason, r.symbol): r for r in om.risk.usage(venue.last_quote)}
    assert rows[("max_open_orders", None)].usage == 1 and rows[("max_open_orders", None)].limit == 5
    assert rows[("max_position", "AAPL")].usage == 50 and rows[("max_position", "AAPL")].status == "ok"
    assert rows[("max_gross_exposure", None)].usage == 50 * Decimal("100.00")
    assert rows[("daily_loss_limit", None)].usage == Decimal("0.30")  # bought 30 at 100.01, marked 100.00
    assert rows[("price_band", None)].usage is None and rows[("price_band", None)].status == "on"
    assert rows[("max_net_exposure", None)].status == "off"
    assert rows[("trading_halted", None)].status == "ok"
