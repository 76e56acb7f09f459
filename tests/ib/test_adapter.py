"""IBBroker under the OrderManager against the fake TWS over real TCP: orders of every kind, fills with their
commissions, refusals with TWS's words, cancels, changes, positions, the account and quotes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from ntlab.brokers.ib import IBBroker
from ntlab.brokers.ib.fake import FakeTWS
from ntlab.core import OrderManager, OrderRequest, OrderStatus, RiskLimits
from ntlab.errors import OrderRejected
from tests.ib.conftest import assert_agree, make_broker, run_until, settle

S = OrderStatus
RISK = RiskLimits(
    price_band_bps=None,
    max_order_notional=None,
    duplicate_window=None,
    require_locate=False,
    require_reference_price=False,
)


@pytest.fixture
async def om(fake: FakeTWS, broker: IBBroker) -> AsyncIterator[OrderManager]:
    manager = OrderManager(broker, risk=RISK, submit_timeout=3.0, retry_initial=0.01)
    await manager.start()
    yield manager
    await manager.close()


async def test_a_market_order_fills_with_its_commission(
    fake: FakeTWS, broker: IBBroker, om: OrderManager
) -> None:
    placed = await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=100))
    await run_until(lambda: om.order(placed.order_id).status is S.FILLED, fake, broker)
    (fill,) = om.fills()
    (execution,) = fake.executions
    assert fill.fill_id == execution.exec_id and fill.fee == Decimal("1.00") == execution.commission
    assert fill.venue == "ISLAND" and fill.price == execution.price
    (held,) = fake.orders.values()
    assert held.order_ref == placed.order_id  # ntlab's id travels as orderRef
    assert om.order(placed.order_id).broker_order_id == f"{held.order_id}/{held.perm_id}"
    assert om.order(placed.order_id).fees == Decimal("1.00")
    assert_agree(fake, om)


@pytest.mark.parametrize(
    ("fields", "ib_type", "ib_tif"),
    [
        ({"order_type": "limit", "limit_price": "150.00", "time_in_force": "gtc"}, "LMT", "GTC"),
        ({"order_type": "stop", "stop_price": "250.00"}, "STP", "DAY"),
        ({"order_type": "stop_limit", "stop_price": "250.00", "limit_price": "251.00"}, "STP LMT", "DAY"),
        ({"order_type": "trailing_stop", "trail_price": "0.50", "side": "sell"}, "TRAIL", "DAY"),
        (
            {"order_type": "trailing_stop", "trail_percent": "1.5", "side": "sell", "time_in_force": "gtc"},
            "TRAIL",
            "GTC",
        ),
        ({"order_type": "limit", "limit_price": "150.00", "time_in_force": "cls"}, "LOC", "DAY"),
        ({"order_type": "market", "time_in_force": "cls"}, "MOC", "DAY"),
    ],
)
async def test_order_types_and_times_in_force_reach_tws_as_ib_spells_them(
    fake: FakeTWS, broker: IBBroker, om: OrderManager, fields: dict[str, str], ib_type: str, ib_tif: str
) -> None:
    request = {"symbol": "AAPL", "side": "buy", "quantity": 10} | fields
    placed = await om.place_order(OrderRequest(**request))
    await settle(fake, broker)
    (held,) = fake.orders.values()
    assert (held.order_type, held.tif, held.order_ref) == (ib_type, ib_tif, placed.order_id)
    assert om.order(placed.order_id).status is S.ACCEPTED
    if ib_type == "TRAIL":
        assert (held.aux_price, held.trailing_percent) in ((Decimal("0.50"), None), (None, Decimal("1.5")))
        assert held.status == "PreSubmitted" and fake.desk.stop_of(held) is not None


async def test_an_opening_order_after_the_open_is_refused_by_ib(fake: FakeTWS, om: OrderManager) -> None:
    opening = await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=10, time_in_force="opg"))
    assert next(iter(fake.orders.values())).tif == "OPG" and opening.status is not S.REJECTED
    await fake.advance(60)
    with pytest.raises(OrderRejected, match="IB error 201"):
        await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=10, time_in_force="opg"))


async def test_error_201_is_rejected_with_tws_s_words_and_a_reason(fake: FakeTWS, om: OrderManager) -> None:
    with pytest.raises(OrderRejected) as refused:
        await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=1_000_000))
    order = om.order(refused.value.order_id or "")
    assert order.status is S.REJECTED and order.reason_code == "insufficient_funds"
    assert "IB error 201" in (order.reason or "") and "MUST EXCEED THE INITIAL MARGIN" in (order.reason or "")
    assert fake.orders == {} and fake.executions == []


@pytest.mark.parametrize(
    ("code", "text", "reason"),
    [
        (201, "Order rejected - reason:No trading permissions for this exchange", "not_allowed"),
        (110, "The price does not conform to the minimum price variation for this contract.", "off_tick"),
        (203, "The security AAPL is not available or allowed for this account.", "not_allowed"),
        (201, "Order rejected - reason:Something unforeseen", "broker_rejected"),
    ],
)
async def test_refusal_codes_become_reasons(
    fake: FakeTWS, om: OrderManager, code: int, text: str, reason: str
) -> None:
    fake.reject_next(code=code, text=text)
    with pytest.raises(OrderRejected, match=f"IB error {code}"):
        await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=10))
    assert om.orders()[-1].reason_code == reason


async def test_a_symbol_ib_has_no_contract_for(fake: FakeTWS, om: OrderManager) -> None:
    with pytest.raises(OrderRejected, match="no contract"):
        await om.place_order(OrderRequest(symbol="ZZZZ", side="buy", quantity=10))
    assert om.orders()[-1].reason_code == "unknown_symbol"


async def test_fx_on_idealpro(fake: FakeTWS, broker: IBBroker, om: OrderManager) -> None:
    placed = await om.place_order(OrderRequest(symbol="EUR/USD", side="buy", quantity=25000))
    await run_until(lambda: om.order(placed.order_id).status is S.FILLED, fake, broker)
    (held,) = fake.orders.values()
    assert (held.spec.sec_type, held.spec.exchange, held.spec.local_symbol) == ("CASH", "IDEALPRO", "EUR.USD")
    assert om.position("EUR/USD") == 25000 and om.fills()[0].fee == Decimal("2.00")  # IB's FX minimum
    assert_agree(fake, om)


async def test_crypto_on_paxos_as_ib_takes_it(fake: FakeTWS, broker: IBBroker, om: OrderManager) -> None:
    quote = await broker.fetch_quote("BTC/USD")
    assert quote is not None
    bought = await om.place_order(
        OrderRequest(
            symbol="BTC/USD",
            side="buy",
            quantity="0.01",
            order_type="limit",
            limit_price=quote.ask,
            time_in_force="gtc",
        )
    )
    await run_until(lambda: om.order(bought.order_id).status is S.FILLED, fake, broker)
    with pytest.raises(OrderRejected, match="cash amount"):
        await om.place_order(OrderRequest(symbol="BTC/USD", side="buy", quantity="0.01", time_in_force="ioc"))
    sold = await om.place_order(
        OrderRequest(symbol="BTC/USD", side="sell", quantity="0.01", time_in_force="ioc")
    )
    await run_until(lambda: om.order(sold.order_id).status is S.FILLED, fake, broker)
    assert [o.tif for o in fake.orders.values()] == ["GTC", "IOC"]
    assert [o.spec.exchange for o in fake.orders.values()] == ["PAXOS", "PAXOS"]
    assert om.position("BTC/USD") == 0
    assert_agree(fake, om)


async def test_cancel(fake: FakeTWS, broker: IBBroker, om: OrderManager) -> None:
    placed = await om.place_order(
        OrderRequest(symbol="AAPL", side="buy", quantity=10, order_type="limit", limit_price="150.00")
    )
    answer = await om.cancel_order(placed.order_id)
    assert answer.status in (S.PENDING_CANCEL, S.CANCELLED)
    await run_until(lambda: om.order(placed.order_id).status is S.CANCELLED, fake, broker)
    assert next(iter(fake.orders.values())).status == "Cancelled"


async def test_a_cancel_that_races_a_fill_is_refused_and_the_fills_stand(
    fake: FakeTWS, broker: IBBroker, om: OrderManager
) -> None:
    placed = await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=2000))
    await settle(fake, broker)
    assert 0 < om.order(placed.order_id).filled_quantity < 2000
    fake.cancel_races = 1  # the market runs on while the cancel travels: the order fills meanwhile
    await om.cancel_order(placed.order_id)
    await run_until(lambda: om.order(placed.order_id).status is S.FILLED, fake, broker)
    assert om.order(placed.order_id).filled_quantity == 2000
    assert_agree(fake, om)


async def test_replace_changes_the_order_in_place(fake: FakeTWS, broker: IBBroker, om: OrderManager) -> None:
    placed = await om.place_order(
        OrderRequest(symbol="AAPL", side="buy", quantity=10, order_type="limit", limit_price="150.00")
    )
    await settle(fake, broker)
    changed = await om.replace_order(placed.order_id, quantity=Decimal(30), limit_price=Decimal("151.00"))
    assert changed.status is S.ACCEPTED
    (held,) = fake.orders.values()
    assert (held.quantity, held.lmt_price) == (Decimal(30), Decimal("151.00"))
    order = om.order(placed.order_id)
    assert (order.quantity, order.limit_price, order.broker_order_id) == (
        Decimal(30),
        Decimal("151.00"),
        f"{held.order_id}/{held.perm_id}",
    )


async def test_replacing_an_order_ib_has_filled_is_refused(
    fake: FakeTWS, broker: IBBroker, om: OrderManager
) -> None:
    fake.execution_delay = 3.0  # the executions are slow; the order is already filled at IB
    placed = await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=2000))
    await fake.advance(30)
    await settle(fake, broker)
    assert om.order(placed.order_id).status is not S.FILLED
    with pytest.raises(OrderRejected, match="IB reports the order filled"):
        await om.replace_order(placed.order_id, quantity=Decimal(2500))
    fake.execution_delay = 0
    await run_until(lambda: om.order(placed.order_id).status is S.FILLED, fake, broker, rounds=200, step=0)
    assert om.order(placed.order_id).quantity == 2000
    assert_agree(fake, om)


async def test_commissions_reach_the_fills_however_they_travel(
    fake: FakeTWS, broker: IBBroker, om: OrderManager
) -> None:
    fake.execution_delay = 0.2
    fake.duplicate_executions(2)
    fake.faults.reorder_events = 6
    big = await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=2000))
    await run_until(lambda: om.order(big.order_id).status is S.FILLED, fake, broker)
    fake.execution_delay = 0
    fake.withhold_commissions(1)  # never sent live: the adapter asks reqExecutions for it
    small = await om.place_order(OrderRequest(symbol="MSFT", side="buy", quantity=10))
    await run_until(lambda: om.order(small.order_id).status is S.FILLED, fake, broker)
    fees = {f.fill_id: f.fee for f in om.fills()}
    assert fees == {e.exec_id: e.commission for e in fake.executions}
    assert broker.events.stats["late_commissions"] >= 1 and broker.events.stats["fees_missing"] == 0
    assert om.order(big.order_id).fees == sum(
        e.commission for e in fake.executions if e.order_ref == big.order_id
    )
    assert_agree(fake, om)


async def test_positions_account_and_quotes(fake: FakeTWS, broker: IBBroker, om: OrderManager) -> None:
    placed = await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=100))
    short = await om.place_order(OrderRequest(symbol="MSFT", side="sell", quantity=20))
    await run_until(
        lambda: all(om.order(p.order_id).status is S.FILLED for p in (placed, short)), fake, broker
    )
    assert {p.symbol: p.quantity for p in await broker.positions()} == {"AAPL": 100, "MSFT": -20}
    account = await broker.account()
    values = fake.account.values(fake.desk.mark)
    assert (account.cash, account.currency) == (values["TotalCashValue"], "USD")
    assert account.buying_power is not None and account.margin_used is not None and account.margin_used > 0
    assert account.day_pnl is not None
    quote = await broker.fetch_quote("AAPL")
    market = fake.engine.quote("AAPL")
    assert quote is not None and market is not None and (quote.bid, quote.ask) == (market.bid, market.ask)
    await fake.advance(30)
    await settle(fake, broker)
    later, market = broker.last_quote("AAPL"), fake.engine.quote("AAPL")
    assert later is not None and market is not None and (later.bid, later.ask) == (market.bid, market.ask)


async def test_a_restarted_adapter_finds_orders_by_order_ref(
    fake: FakeTWS, broker: IBBroker, om: OrderManager
) -> None:
    resting = await om.place_order(
        OrderRequest(symbol="AAPL", side="buy", quantity=10, order_type="limit", limit_price="150.00")
    )
    filled = await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=10))
    await run_until(lambda: om.order(filled.order_id).status is S.FILLED, fake, broker)
    await om.close()
    again = make_broker(fake)
    await again.connect(om)  # a new process: nothing known but what TWS says
    try:
        found = await again.lookup_order(resting.order_id)
        assert found is not None and found.status is S.ACCEPTED
        assert found.broker_order_id == om.order(resting.order_id).broker_order_id
        done = await again.lookup_order(filled.order_id)
        assert done is not None and done.status is S.FILLED and done.filled_quantity == 10
        assert await again.lookup_order("never-placed") is None
        assert [o.order_id for o in await again.open_orders()] == [resting.order_id]
        assert {f.order_id for f in await again.fills_since(None)} == {filled.order_id}
        assert await again.cancel_order(om.order(resting.order_id)) == []
        await settle(fake, again)
        assert next(o for o in fake.orders.values() if o.order_ref == resting.order_id).status == "Cancelled"
    finally:
        await again.close()


async def test_a_bracket_goes_as_parent_and_children(
    fake: FakeTWS, broker: IBBroker, om: OrderManager
) -> None:
    quote = await broker.fetch_quote("AAPL")
    assert quote is not None
    entry = await om.place_order(
        OrderRequest(
            symbol="AAPL",
            side="buy",
            quantity=100,
            order_type="limit",
            limit_price=quote.ask,
            order_class="bracket",
            take_profit=quote.ask + Decimal("0.30"),
            stop_loss=quote.ask - Decimal("0.50"),
        )
    )
    tp, sl = f"{entry.order_id}-tp", f"{entry.order_id}-sl"
    await settle(fake, broker)
    parent, take, stop = fake.orders.values()
    assert (take.parent_id, stop.parent_id) == (parent.order_id, parent.order_id)
    assert (parent.order_ref, take.order_ref, stop.order_ref) == (entry.order_id, tp, sl)
    assert (take.order_type, stop.order_type) == ("LMT", "STP")
    await run_until(
        lambda: om.order(tp).status.is_final and om.order(sl).status.is_final, fake, broker, step=5
    )
    assert {om.order(tp).status, om.order(sl).status} == {S.FILLED, S.CANCELLED}
    assert om.position("AAPL") == 0
    assert_agree(fake, om)


async def test_an_oco_goes_as_an_oca_group(fake: FakeTWS, broker: IBBroker, om: OrderManager) -> None:
    bought = await om.place_order(OrderRequest(symbol="NVDA", side="buy", quantity=10))
    await run_until(lambda: om.order(bought.order_id).status is S.FILLED, fake, broker)
    quote = await broker.fetch_quote("NVDA")
    assert quote is not None
    oco = await om.place_order(
        OrderRequest(
            symbol="NVDA",
            side="sell",
            quantity=10,
            order_type="limit",
            limit_price=quote.bid + Decimal("2.00"),
            order_class="oco",
            stop_loss=quote.bid - Decimal("2.00"),
        )
    )
    await settle(fake, broker)
    _, take, stop = fake.orders.values()
    assert take.oca_group == stop.oca_group == f"oco-{oco.order_id}" and take.oca_type == 2
    assert om.order(f"{oco.order_id}-sl").status is S.ACCEPTED
    await om.cancel_order(f"{oco.order_id}-sl")  # one cancelled: the group goes
    await run_until(
        lambda: (
            om.order(oco.order_id).status is S.CANCELLED
            and om.order(f"{oco.order_id}-sl").status is S.CANCELLED
        ),
        fake,
        broker,
        step=0,
    )


async def test_ib_s_own_resize_reaches_the_order(fake: FakeTWS, broker: IBBroker, om: OrderManager) -> None:
    """Two orders in one reducing OCA group: a fill on one cuts the other, and ntlab hears the new size."""
    await om.place_order(OrderRequest(symbol="NVDA", side="buy", quantity=10))
    quote = await broker.fetch_quote("NVDA")
    assert quote is not None
    oco = await om.place_order(
        OrderRequest(
            symbol="NVDA",
            side="sell",
            quantity=10,
            order_type="limit",
            limit_price=quote.bid,  # marketable: fills at once
            order_class="oco",
            stop_loss=quote.bid - Decimal("5.00"),
        )
    )
    await run_until(lambda: om.order(f"{oco.order_id}-sl").status.is_final, fake, broker, step=0)
    assert om.order(oco.order_id).status is S.FILLED
    assert om.order(f"{oco.order_id}-sl").status is S.CANCELLED
    assert_agree(fake, om)
