"""Faults between the adapter and TWS: a dropped connection (1100, then 1102 on the way back), TWS losing IB
(1100 ... 1102 without a drop), pacing (100), a taken order id (103), a taken client id (326), refused and
reset connections, stalls; after each, nothing placed twice and every fill booked."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from ib_async import IB, MarketOrder, Stock

from ntlab.brokers.ib import IBBroker
from ntlab.brokers.ib.fake import FakeTWS
from ntlab.core import OrderManager, OrderRequest, OrderStatus, RiskLimits
from ntlab.errors import BrokerUnavailable
from tests.ib.conftest import assert_agree, make_broker, run_until, settle, wait_until

S = OrderStatus
RISK = RiskLimits(price_band_bps=None, max_order_notional=None, duplicate_window=None, require_locate=False)


@pytest.fixture
async def om(fake: FakeTWS, broker: IBBroker) -> AsyncIterator[OrderManager]:
    manager = OrderManager(broker, risk=RISK, submit_timeout=2.0, retry_initial=0.01)
    await manager.start()
    yield manager
    await manager.close()


def resting(**fields: object) -> OrderRequest:
    return OrderRequest(
        **(
            {"symbol": "AAPL", "side": "buy", "quantity": 10, "order_type": "limit", "limit_price": "150.00"}
            | fields
        )
    )


async def test_a_dropped_connection_reconnects_and_recovers_what_it_missed(
    fake: FakeTWS, broker: IBBroker, om: OrderManager
) -> None:
    seen: list[int] = []
    broker.ib.errorEvent += lambda req_id, code, text, contract: seen.append(code)
    quiet = await om.place_order(resting())
    big = await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=2000))
    await settle(fake, broker)
    before = len(om.fills())
    fake.drop_connections()
    await fake.advance(30)  # the big order fills while nobody listens
    await wait_until(lambda: broker.conn.reconnects >= 1 and broker.connected)
    await run_until(lambda: om.order(big.order_id).status is S.FILLED, fake, broker, step=0)
    assert len(om.fills()) > before  # the missed fills came back through reconciliation
    assert om.order(quiet.order_id).status is S.ACCEPTED
    assert 1100 in seen and 1102 in seen and seen.index(1100) < seen.index(1102)
    assert fake.connections[1] == 2
    assert_agree(fake, om)


async def test_a_cancel_sent_as_the_connection_drops_is_sent_again(
    fake: FakeTWS, broker: IBBroker, om: OrderManager
) -> None:
    placed = await om.place_order(resting())
    await settle(fake, broker)
    fake.drop_connections()
    await om.cancel_order(placed.order_id)  # written to a socket that is going away, or waits for the next
    await run_until(lambda: om.order(placed.order_id).status is S.CANCELLED, fake, broker, step=0, rounds=200)
    assert next(iter(fake.orders.values())).status == "Cancelled"


async def test_tws_losing_ib_holds_requests_until_it_is_back(
    fake: FakeTWS, broker: IBBroker, om: OrderManager
) -> None:
    await om.place_order(resting())
    await settle(fake, broker)
    outage = asyncio.get_running_loop().create_task(fake.interrupt(0.5))
    await wait_until(lambda: not broker.connected)  # 1100
    placed = await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=10))  # waits for 1102
    await outage
    await run_until(lambda: om.order(placed.order_id).status is S.FILLED, fake, broker, step=0)
    assert fake.connections[1] == 1  # the socket never dropped
    assert_agree(fake, om)


async def test_data_lost_resubscribes_quotes(fake: FakeTWS, broker: IBBroker, om: OrderManager) -> None:
    await broker.fetch_quote("AAPL")
    await fake.interrupt(0.1, data_lost=True)  # 1101: subscriptions are gone
    await wait_until(lambda: broker.connected)
    await fake.advance(20)
    await settle(fake, broker)
    quote, market = broker.last_quote("AAPL"), fake.engine.quote("AAPL")
    assert quote is not None and market is not None and (quote.bid, quote.ask) == (market.bid, market.ask)


async def test_pacing_error_100_is_retried_after_a_second(
    fake: FakeTWS, broker: IBBroker, om: OrderManager
) -> None:
    fake.faults.rate_limit_next(1, path="placeOrder")
    placed = await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=10))
    await run_until(lambda: om.order(placed.order_id).status is S.FILLED, fake, broker, step=0)
    assert fake.faults.hits["rate_limit"] == 1 and fake.order_refs() == [placed.order_id]


async def test_tws_pacing_refuses_a_burst_beyond_it_with_error_100_and_places_none_of_that() -> None:
    async with FakeTWS(max_rate=50) as fake:
        client = IB()
        await client.connectAsync("127.0.0.1", fake.port, clientId=7, timeout=3)
        client.client.MaxRequests = 0  # ib_async's own throttle off: everything goes at once
        try:
            (contract,) = await client.qualifyContractsAsync(Stock("AAPL", "SMART", "USD"))
            refused: set[int] = set()
            client.errorEvent += lambda req_id, code, text, c: refused.add(req_id) if code == 100 else None
            trades = [client.placeOrder(contract, MarketOrder("BUY", 1)) for _ in range(120)]
            await wait_until(lambda: len(fake.orders) + len(refused) == 120)
            assert fake.paced == len(refused) > 0
            assert {t.order.orderId for t in trades} == refused | {o.order_id for o in fake.orders.values()}
            assert not refused & {o.order_id for o in fake.orders.values()}  # refused: never placed
        finally:
            client.disconnect()


async def test_orders_refused_for_pacing_are_placed_once_after_all() -> None:
    """The adapter with its pacing off, a burst beyond TWS's limit: the 100s are retried by the manager."""
    async with FakeTWS(max_rate=50) as fake:
        broker = make_broker(fake, max_requests=None)
        manager = OrderManager(broker, risk=RISK, submit_timeout=3.0, retry_initial=0.01)
        await manager.start()
        try:
            placed = await asyncio.gather(
                *(manager.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=1)) for _ in range(70))
            )
            assert all(p.status in (S.ACCEPTED, S.FILLED) for p in placed)
            assert fake.paced > 0  # some were refused on the way ...
            assert sorted(fake.order_refs()) == sorted(p.order_id for p in placed)  # ... and placed once
            await run_until(
                lambda: all(manager.order(p.order_id).status is S.FILLED for p in placed), fake, broker
            )
            assert_agree(fake, manager)
        finally:
            await manager.close()
            await broker.close()


async def test_a_burst_in_a_new_symbol_asks_tws_for_its_contract_once(
    fake: FakeTWS, om: OrderManager
) -> None:
    placed = await asyncio.gather(
        *(om.place_order(OrderRequest(symbol="NVDA", side="buy", quantity=1)) for _ in range(20))
    )
    assert all(p.status in (S.ACCEPTED, S.FILLED) for p in placed)
    assert fake.received["reqContractDetails"] == 1 and fake.received["placeOrder"] == 20


async def test_a_taken_order_id_103_is_retried_with_a_fresh_one(
    fake: FakeTWS, broker: IBBroker, om: OrderManager
) -> None:
    fake.reject_next(code=103, text="Duplicate order id")
    placed = await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=10))
    await run_until(lambda: om.order(placed.order_id).status is S.FILLED, fake, broker, step=0)
    assert fake.order_refs() == [placed.order_id]


@pytest.mark.parametrize("after", [False, True])
async def test_tws_losing_ib_mid_submit_is_settled_by_a_lookup(
    fake: FakeTWS, broker: IBBroker, om: OrderManager, after: bool
) -> None:
    fake.faults.fail_next(1, path="placeOrder", after_processing=after)
    placed = await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=10))
    await run_until(lambda: om.order(placed.order_id).status is S.FILLED, fake, broker, step=0)
    assert fake.order_refs() == [placed.order_id]  # looked up before sending again: placed once
    assert_agree(fake, om)


async def test_a_stalled_answer_is_settled_by_a_lookup(fake: FakeTWS, om: OrderManager) -> None:
    broker = om.broker
    assert isinstance(broker, IBBroker)
    broker.ack_timeout = 0.3
    fake.faults.stall_next(1, seconds=1.0, path="placeOrder")
    placed = await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=10))
    assert placed.status in (S.ACCEPTED, S.FILLED)
    await run_until(lambda: om.order(placed.order_id).status is S.FILLED, fake, broker, step=0)
    assert fake.order_refs() == [placed.order_id]
    assert_agree(fake, om)


async def test_refused_reconnects_back_off_until_tws_takes_them(
    fake: FakeTWS, broker: IBBroker, om: OrderManager
) -> None:
    fake.faults.refuse_stream = 3
    fake.drop_connections()
    await wait_until(lambda: broker.connected and broker.conn.reconnects == 1, rounds=500)
    assert fake.faults.hits["refuse"] == 3
    placed = await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=10))
    await run_until(lambda: om.order(placed.order_id).status is S.FILLED, fake, broker, step=0)


async def test_a_taken_client_id_is_said_at_once(fake: FakeTWS) -> None:
    other = IB()
    await other.connectAsync("127.0.0.1", fake.port, clientId=1, timeout=3)
    adapter = make_broker(fake, timeout=5.0)
    try:
        started = asyncio.get_running_loop().time()
        with pytest.raises(BrokerUnavailable, match="326"):
            await adapter.connect(OrderManager(adapter))
        assert asyncio.get_running_loop().time() - started < 4  # not ib_async's whole timeout
    finally:
        other.disconnect()
        await adapter.close()


async def test_no_tws_is_said_with_what_to_start() -> None:
    adapter = IBBroker(port=1, timeout=1.0)  # nothing listens on port 1
    with pytest.raises(BrokerUnavailable, match="API enabled"):
        await adapter.connect(OrderManager(adapter))
    await adapter.close()
