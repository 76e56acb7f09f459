import asyncio
import logging
from decimal import Decimal

import pytest

from ntlab.core import OrderManager, OrderRequest, OrderStatus, RiskLimits, Side, read_events
from ntlab.errors import (
    BrokerTimeout,
    BrokerUnavailable,
    OrderNotCancelable,
    OrderRejected,
    RateLimited,
    Reason,
    RiskDenied,
    SessionClosed,
    UnknownOrder,
)
from tests.core.brokers import ScriptedVenue


def market(qty=10, side="buy", symbol="AAPL"):
    return OrderRequest(symbol=symbol, side=side, quantity=qty)


def limit(price="99.50", qty=10, side="buy"):
    return OrderRequest(symbol="AAPL", side=side, quantity=qty, order_type="limit", limit_price=price)


async def test_place_status_cancel_and_positions(tmp_path):
    venue = ScriptedVenue()
    async with OrderManager(venue, journal=tmp_path / "j.sqlite") as om:
        filled = await om.place_order(market(10))
        assert filled.status is OrderStatus.FILLED
        assert filled.avg_fill_price == Decimal("100.01")
        resting = await om.place_order(limit())
        assert await om.get_order_status(resting.order_id) is OrderStatus.ACCEPTED
        cancelled = await om.cancel_order(resting.order_id)
        assert cancelled.status is OrderStatus.CANCELLED
        with pytest.raises(OrderNotCancelable):
            await om.cancel_order(resting.order_id)
        with pytest.raises(UnknownOrder):
            await om.get_order_status("nope")
        [position] = om.positions()
        assert (position.symbol, position.quantity, position.avg_cost) == ("AAPL", 10, Decimal("100.01"))
        order = om.order(filled.order_id)
        assert order.arrival_mid == Decimal("100.00")
    assert venue.submits == {filled.order_id: 1, resting.order_id: 1}


async def test_many_concurrent_callers_each_get_their_own_answer():
    venue = ScriptedVenue()
    async with OrderManager(venue) as om:
        responses = await asyncio.gather(*(om.place_order(market(i + 1)) for i in range(300)))
        assert len({r.order_id for r in responses}) == 300
        assert [r.filled_quantity for r in responses] == [Decimal(i + 1) for i in range(300)]
        assert om.position("AAPL") == sum(range(1, 301))


async def test_denied_orders_never_reach_the_broker_but_are_recorded(tmp_path):
    venue = ScriptedVenue()
    limits = RiskLimits(
        max_order_notional=Decimal(5000), max_position=Decimal(30), price_band_bps=Decimal(100)
    )
    async with OrderManager(venue, journal=tmp_path / "j.sqlite", risk=limits) as om:
        cases = [
            (market(60), Reason.MAX_NOTIONAL),
            (limit("110.00"), Reason.PRICE_BAND),
            (OrderRequest(symbol="AAPL", side="buy", quantity="1.5"), Reason.FRACTIONAL_NOT_ALLOWED),
        ]
        for request, reason in cases:
            with pytest.raises(
                RiskDenied if reason is not Reason.FRACTIONAL_NOT_ALLOWED else Exception
            ) as caught:
                await om.place_order(request)
            assert caught.value.reason is reason
            assert om.order(caught.value.order_id).status is OrderStatus.REJECTED
        await om.place_order(market(25))
        with pytest.raises(RiskDenied) as caught:
            await om.place_order(market(10))
        assert caught.value.reason is Reason.MAX_POSITION
        await om.place_order(market(10, side="sell"))  # reducing is always allowed
    assert len(venue.submits) == 2
    kinds = [e.kind for e in read_events(tmp_path / "j.sqlite")]
    assert kinds.count("denied") == 4


async def test_kill_switch_denies_orders_but_not_cancels(tmp_path):
    venue = ScriptedVenue()
    async with OrderManager(venue, journal=tmp_path / "j.sqlite") as om:
        resting = await om.place_order(limit())
        await om.halt("desk limit breached")
        with pytest.raises(RiskDenied) as caught:
            await om.place_order(market())
        assert caught.value.reason is Reason.TRADING_HALTED
        assert "desk limit breached" in str(caught.value)
        assert (await om.cancel_order(resting.order_id)).status is OrderStatus.CANCELLED
    async with OrderManager(ScriptedVenue(), journal=tmp_path / "j.sqlite") as om:
        assert om.halted  # the halt survives a restart
        await om.resume()
        await om.place_order(market())


async def test_rate_limit_per_second():
    limits = RiskLimits(max_orders_per_second=5, duplicate_window=None)  # eight identical orders at once
    async with OrderManager(ScriptedVenue(), risk=limits) as om:
        results = await asyncio.gather(*(om.place_order(market()) for _ in range(8)), return_exceptions=True)
        denied = [r for r in results if isinstance(r, RiskDenied)]
        assert len(denied) == 3 and all(d.reason is Reason.RATE_LIMIT for d in denied)


async def test_broker_rejection_is_raised_and_recorded():
    venue = ScriptedVenue()
    venue.reject_symbols.add("MSFT")
    async with OrderManager(venue) as om:
        with pytest.raises(OrderRejected, match="symbol halted") as caught:
            await om.place_order(market(symbol="MSFT"))
        order = om.order(caught.value.order_id)
        assert order.status is OrderStatus.REJECTED and order.reason == "symbol halted"


async def test_journal_rebuilds_the_session(tmp_path):
    path = tmp_path / "j.sqlite"
    venue = ScriptedVenue()
    async with OrderManager(venue, journal=path) as om:
        a = await om.place_order(market(10))
        b = await om.place_order(limit(qty=50))
        await venue.fill_resting(b.order_id, "20", "99.50", "x1")
        await venue.fill_resting(b.order_id, "20", "99.50", "x1")  # replayed execution
        before_orders = om.orders()
        before_fills = om.fills()
        before_positions = om.positions()
        prefix = om.id_prefix
    async with OrderManager(venue, journal=path) as om:
        assert om.orders() == before_orders
        assert om.fills() == before_fills
        assert om.positions() == before_positions
        assert om.order(b.order_id).status is OrderStatus.PARTIALLY_FILLED
        c = await om.place_order(market(1))
        assert om.id_prefix == prefix
        assert c.order_id not in (a.order_id, b.order_id)


async def test_events_reach_iterators_and_callbacks():
    venue = ScriptedVenue()
    async with OrderManager(venue) as om:
        seen = []
        unsubscribe = om.on_event(seen.append)
        stream = om.events()
        collected = []

        async def collect():
            async for event in stream:
                collected.append(event)
                if event.kind == "fill":
                    return

        task = asyncio.create_task(collect())
        await asyncio.sleep(0)
        response = await om.place_order(market(5))
        await asyncio.wait_for(task, 2)
        unsubscribe()
        await om.place_order(market(6))
    assert [e.kind for e in seen] == ["order", "fill"]
    assert seen[1].fill.quantity == 5 and seen[1].order.order_id == response.order_id
    assert [e.kind for e in collected] == ["order", "fill"]


async def test_closed_manager_refuses_politely():
    om = OrderManager(ScriptedVenue())
    with pytest.raises(SessionClosed, match="not running"):
        await om.place_order(market())
    await om.start()
    await om.close()
    with pytest.raises(SessionClosed):
        await om.place_order(market())


# --- remote brokers: retries and ambiguous failures ---------------------------------------------------


async def test_retries_only_what_did_not_arrive():
    venue = ScriptedVenue(local=False)
    venue.fail_next = [BrokerUnavailable("502 bad gateway"), RateLimited("429", retry_after=0.01)]
    async with OrderManager(venue, retry_initial=0.001) as om:
        response = await om.place_order(market())
    assert response.status is OrderStatus.FILLED
    assert venue.submits[response.order_id] == 3
    assert len(venue.orders) == 1


async def test_gives_up_after_three_attempts():
    venue = ScriptedVenue(local=False)
    venue.fail_next = [BrokerUnavailable("connection refused")] * 3
    async with OrderManager(venue, retry_initial=0.001) as om:
        with pytest.raises(BrokerUnavailable, match="did not reach"):
            await om.place_order(market())
        [order] = om.orders()
        assert order.status is OrderStatus.REJECTED
    assert sum(venue.submits.values()) == 3


async def test_timeout_after_accept_is_looked_up_not_resubmitted():
    venue = ScriptedVenue(local=False)
    venue.timeout_after_accept = 1
    async with OrderManager(venue, retry_initial=0.001) as om:
        response = await om.place_order(limit())
        assert response.status is OrderStatus.ACCEPTED
    assert venue.submits[response.order_id] == 1


async def test_timeout_before_arrival_resubmits_with_the_same_id():
    venue = ScriptedVenue(local=False)
    venue.fail_next = [BrokerTimeout("read timeout")]
    async with OrderManager(venue, retry_initial=0.001) as om:
        response = await om.place_order(market())
    assert response.status is OrderStatus.FILLED
    assert venue.submits[response.order_id] == 2
    assert list(venue.orders) == [response.order_id]


async def test_restart_reconciles_with_the_broker(tmp_path, caplog):
    path = tmp_path / "j.sqlite"
    venue = ScriptedVenue()
    async with OrderManager(venue, journal=path) as om:
        resting = await om.place_order(limit(qty=50))
    # while the session was down: the resting order filled, and someone placed an order by hand
    venue.orders[resting.order_id] = venue.orders[resting.order_id]._replace(
        status=OrderStatus.FILLED, filled_quantity=Decimal(50)
    )
    from ntlab.core import Fill

    venue.made_fills.append(
        Fill(
            fill_id="late-1",
            order_id=resting.order_id,
            symbol="AAPL",
            side=Side.BUY,
            quantity=Decimal(50),
            price=Decimal("99.50"),
            time=venue.clock,
        )
    )
    outside = venue.orders[resting.order_id]._replace(
        order_id="manual-1", status=OrderStatus.ACCEPTED, filled_quantity=Decimal(0)
    )
    venue.orders["manual-1"] = outside
    with caplog.at_level(logging.INFO):
        async with OrderManager(venue, journal=path) as om:
            assert om.order(resting.order_id).status is OrderStatus.FILLED
            assert om.position("AAPL") == 50
            adopted = om.order("manual-1")
            assert adopted.external and adopted.status is OrderStatus.ACCEPTED
    async with OrderManager(venue, journal=path) as om:  # what reconcile learnt is journaled
        assert om.order("manual-1").external
        assert [f.fill_id for f in om.fills()] == ["late-1"]
