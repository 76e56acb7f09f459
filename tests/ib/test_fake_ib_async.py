"""Unmodified ib_async against the fake TWS: it connects (every startup request answered), places each order
type, changes and cancels orders, and hears openOrder, orderStatus, execDetails, commissionReport, position and
error messages as TWS sends them."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from ib_async import (
    IB,
    Contract,
    Crypto,
    ExecutionFilter,
    Forex,
    LimitOrder,
    MarketOrder,
    Order,
    Stock,
    StopLimitOrder,
    StopOrder,
)

from ntlab.brokers.ib.fake import FakeTWS
from tests.ib.conftest import wait_until


def errors_of(ib: IB) -> list[tuple[int, int, str]]:
    seen: list[tuple[int, int, str]] = []
    ib.errorEvent += lambda req_id, code, text, contract: seen.append((req_id, code, text))
    return seen


async def aapl(ib: IB) -> Contract:
    contract = Stock("AAPL", "SMART", "USD")
    await ib.qualifyContractsAsync(contract)
    return contract


async def test_connect_hears_the_handshake_accounts_ids_and_farm_notices(fake: FakeTWS) -> None:
    ib = IB()
    seen = errors_of(ib)
    await ib.connectAsync("127.0.0.1", fake.port, clientId=3, timeout=3, raiseSyncErrors=True)
    try:
        assert ib.client.serverVersion() == 178
        assert ib.managedAccounts() == ["DU123456"]
        assert ib.client.getReqId() >= 1
        assert [code for _, code, _ in seen] == [2104, 2106, 2158]
        assert {v.tag for v in ib.accountValues()} >= {"NetLiquidation", "TotalCashValue", "BuyingPower"}
        assert ib.client.isReady()
    finally:
        ib.disconnect()


async def test_a_taken_client_id_is_refused_with_326(fake: FakeTWS, ib: IB) -> None:
    second = IB()
    seen = errors_of(second)
    with pytest.raises((ConnectionError, TimeoutError)):
        await second.connectAsync("127.0.0.1", fake.port, clientId=7, timeout=1)
    assert (-1, 326) in [(r, c) for r, c, _ in seen]
    assert ib.client.isReady()  # the first connection is untouched


@pytest.mark.parametrize(
    ("contract", "sec_type", "con_id"),
    [
        (Stock("AAPL", "SMART", "USD"), "STK", 265598),
        (Stock("BRK B", "SMART", "USD"), "STK", 72063691),
        (Forex("EURUSD"), "CASH", 12087792),
        (Crypto("BTC", "PAXOS", "USD"), "CRYPTO", 479624278),
    ],
)
async def test_contracts_qualify(ib: IB, contract: Contract, sec_type: str, con_id: int) -> None:
    (qualified,) = await ib.qualifyContractsAsync(contract)
    assert qualified is not None and (qualified.secType, qualified.conId) == (sec_type, con_id)


async def test_an_unknown_contract_is_error_200(ib: IB) -> None:
    seen = errors_of(ib)
    assert await ib.qualifyContractsAsync(Stock("ZZZZ", "SMART", "USD")) == [None]
    assert 200 in [code for _, code, _ in seen]


async def test_a_market_order_fills_with_execution_commission_and_position(fake: FakeTWS, ib: IB) -> None:
    contract = await aapl(ib)
    heard: dict[str, list[Any]] = {"open": [], "exec": [], "commission": [], "position": []}
    ib.openOrderEvent += lambda trade: heard["open"].append(trade)
    ib.execDetailsEvent += lambda trade, fill: heard["exec"].append(fill)
    ib.commissionReportEvent += lambda trade, fill, report: heard["commission"].append(report)
    ib.positionEvent += lambda position: heard["position"].append(position)
    trade = ib.placeOrder(contract, MarketOrder("BUY", 100, orderRef="ext-1"))
    await wait_until(lambda: trade.orderStatus.status == "Filled" and heard["commission"])
    (fill,) = trade.fills
    assert (
        fill.execution.orderRef == "ext-1" and fill.execution.side == "BOT" and fill.execution.shares == 100
    )
    assert fill.execution.execId == fake.executions[0].exec_id
    assert trade.order.permId == fake.executions[0].perm_id
    assert heard["commission"][0].commission == 1.0 and heard["commission"][0].currency == "USD"
    assert fill.commissionReport.commission == 1.0  # joined to its execution by execId
    assert heard["open"] and heard["exec"]
    await wait_until(lambda: bool(ib.positions()))
    (position,) = ib.positions()
    assert position.position == 100 and position.contract.conId == 265598


async def test_limit_orders_change_and_cancel(fake: FakeTWS, ib: IB) -> None:
    contract = await aapl(ib)
    seen = errors_of(ib)
    trade = ib.placeOrder(contract, LimitOrder("BUY", 10, 150.0, tif="GTC", orderRef="ext-2"))
    await wait_until(lambda: trade.orderStatus.status == "Submitted")
    trade.order.lmtPrice = 151.0
    trade.order.totalQuantity = 20
    ib.placeOrder(contract, trade.order)
    held = fake.orders[trade.order.permId]
    await wait_until(lambda: trade.orderStatus.remaining == 20)  # TWS's orderStatus after the change
    assert (held.lmt_price, held.quantity) == (Decimal("151.0"), Decimal(20))
    assert "Modify" in [entry.message for entry in trade.log]
    ib.cancelOrder(trade.order)
    await wait_until(lambda: trade.orderStatus.status == "Cancelled")
    assert (trade.order.orderId, 202) in [(r, c) for r, c, _ in seen]
    assert held.status == "Cancelled"


async def test_stops_wait_presubmitted_then_fill_once_reached(fake: FakeTWS, ib: IB) -> None:
    contract = await aapl(ib)
    (ticker,) = await ib.reqTickersAsync(contract)
    above = round(ticker.ask + 0.05, 2)
    stop = ib.placeOrder(contract, StopOrder("BUY", 10, above, orderRef="ext-3"))
    stop_limit = ib.placeOrder(contract, StopLimitOrder("BUY", 10, above + 1, above, orderRef="ext-4"))
    await wait_until(lambda: stop.orderStatus.status == stop_limit.orderStatus.status == "PreSubmitted")
    for _ in range(120):
        if stop.orderStatus.status == "Filled":
            break
        await fake.advance(5)
        await asyncio.sleep(0.01)
    assert stop.orderStatus.status == "Filled" and stop.fills
    assert stop_limit.orderStatus.status in ("Submitted", "Filled")


async def test_a_trailing_stop_follows_the_market(fake: FakeTWS, ib: IB) -> None:
    contract = await aapl(ib)
    ib.placeOrder(contract, MarketOrder("BUY", 10))
    trail = ib.placeOrder(contract, Order(action="SELL", totalQuantity=10, orderType="TRAIL", auxPrice=0.25))
    await wait_until(lambda: trail.orderStatus.status == "PreSubmitted")
    held = fake.orders[trail.order.permId]
    first = fake.desk.stop_of(held)
    assert first is not None
    for _ in range(200):
        await fake.advance(5)
        if trail.orderStatus.status == "Filled":
            break
        assert fake.desk.stop_of(held) >= first  # a sell's trail never loosens
    assert trail.orderStatus.status == "Filled"


async def test_refusals_come_as_the_codes_tws_sends(fake: FakeTWS, ib: IB) -> None:
    contract = await aapl(ib)
    seen = errors_of(ib)
    fake.reject_next()
    rejected = ib.placeOrder(contract, MarketOrder("BUY", 10))
    await wait_until(lambda: rejected.orderStatus.status in ("Cancelled", "Inactive"))
    off_tick = ib.placeOrder(contract, LimitOrder("BUY", 10, 150.123))
    too_big = ib.placeOrder(contract, MarketOrder("BUY", 1_000_000))
    filled = ib.placeOrder(contract, MarketOrder("BUY", 10))
    await wait_until(lambda: filled.orderStatus.status == "Filled")
    ib.cancelOrder(filled.order)  # already filled
    ib.cancelOrder(Order(orderId=9999, clientId=7))  # never placed
    reused = ib.placeOrder(contract, MarketOrder("BUY", 1, orderId=1))  # below the ids TWS has seen
    await wait_until(lambda: len({c for _, c, _ in seen} & {201, 110, 10148, 10147, 103}) == 5)
    codes = {(r, c) for r, c, _ in seen}
    assert (rejected.order.orderId, 201) in codes
    assert (off_tick.order.orderId, 110) in codes
    assert (too_big.order.orderId, 201) in codes
    assert (filled.order.orderId, 10148) in codes and (9999, 10147) in codes
    assert (reused.order.orderId, 103) in codes
    margin = next(t for r, c, t in seen if r == too_big.order.orderId)
    assert "EQUITY WITH LOAN VALUE" in margin and "INITIAL MARGIN" in margin
    assert rejected.log[-1].errorCode in (0, 201)  # ib_async marks it Cancelled; TWS then says Inactive


async def test_modifying_a_filled_order_is_104(ib: IB) -> None:
    contract = await aapl(ib)
    seen = errors_of(ib)
    filled = ib.placeOrder(contract, MarketOrder("BUY", 5))
    await wait_until(lambda: filled.orderStatus.status == "Filled")
    changed = Order(orderId=filled.order.orderId, action="BUY", totalQuantity=6, orderType="MKT")
    ib.client.placeOrder(changed.orderId, contract, changed)  # ib_async refuses to modify a done Trade itself
    await wait_until(lambda: (filled.order.orderId, 104) in [(r, c) for r, c, _ in seen])


async def test_requests_ib_async_makes(fake: FakeTWS, ib: IB) -> None:
    contract = await aapl(ib)
    done = ib.placeOrder(contract, MarketOrder("BUY", 10, orderRef="ext-5"))
    working = ib.placeOrder(contract, LimitOrder("BUY", 10, 150.0, orderRef="ext-6"))
    await wait_until(
        lambda: done.orderStatus.status == "Filled" and working.orderStatus.status == "Submitted"
    )
    fake.place_external("MSFT", "buy", Decimal(3), "elsewhere-1")
    assert [t.order.orderRef for t in await ib.reqOpenOrdersAsync()] == ["ext-6"]
    assert {t.order.orderRef for t in await ib.reqAllOpenOrdersAsync()} == {"ext-6"}  # MSFT filled at once
    completed = {t.order.orderRef: t for t in await ib.reqCompletedOrdersAsync(False)}
    assert completed["ext-5"].orderStatus.status == "Filled" and completed["ext-5"].order.filledQuantity == 10
    assert "elsewhere-1" in completed
    fills = await ib.reqExecutionsAsync()
    assert {f.execution.orderRef for f in fills} == {"ext-5", "elsewhere-1"}
    mine = await ib.reqExecutionsAsync(ExecutionFilter(clientId=7))
    assert [f.execution.orderRef for f in mine] == ["ext-5"]
    positions = {p.contract.symbol: p.position for p in await ib.reqPositionsAsync()}
    assert positions == {"AAPL": 10.0, "MSFT": 3.0}
    summary = {v.tag: v.value for v in await ib.accountSummaryAsync()}
    assert Decimal(summary["NetLiquidation"]) > 0 and "BuyingPower" in summary
    pnl = ib.reqPnL("DU123456")
    await wait_until(lambda: pnl.dailyPnL == pnl.dailyPnL)  # not NaN
    (ticker,) = await ib.reqTickersAsync(contract)
    quote = fake.engine.quote("AAPL")
    assert quote is not None and (ticker.bid, ticker.ask) == (float(quote.bid), float(quote.ask))
    state = await ib.whatIfOrderAsync(contract, MarketOrder("BUY", 100))
    assert float(state.initMarginChange) > 0 and state.commission == 1.0
    when = await ib.reqCurrentTimeAsync()
    assert abs((when - fake.engine.now()).total_seconds()) < 1


async def test_a_bracket_and_an_oca_group(fake: FakeTWS, ib: IB) -> None:
    contract = await aapl(ib)
    (ticker,) = await ib.reqTickersAsync(contract)
    bracket = ib.bracketOrder(
        "BUY", 100, round(ticker.ask, 2), round(ticker.ask + 0.3, 2), round(ticker.ask - 0.5, 2)
    )
    parent, take, stop = (ib.placeOrder(contract, o) for o in bracket)
    await wait_until(lambda: parent.orderStatus.status == "Filled")
    await wait_until(lambda: take.orderStatus.status in ("Submitted", "Filled"))
    assert stop.orderStatus.status in ("PreSubmitted", "Submitted", "Filled")
    for _ in range(200):
        if take.isDone() and stop.isDone():
            break
        await fake.advance(5)
        await asyncio.sleep(0.01)
    assert {take.orderStatus.status, stop.orderStatus.status} == {"Filled", "Cancelled"}
    oca = ib.oneCancelsAll(
        [LimitOrder("BUY", 10, round(ticker.bid - 1, 2)), LimitOrder("BUY", 10, round(ticker.ask + 1, 2))],
        "g1",
        1,
    )
    first, second = (ib.placeOrder(contract, o) for o in oca)
    await wait_until(
        lambda: second.orderStatus.status == "Filled" and first.orderStatus.status == "Cancelled"
    )


async def test_delayed_and_duplicated_executions(fake: FakeTWS, ib: IB) -> None:
    contract = await aapl(ib)
    fake.execution_delay = 0.2
    fake.duplicate_executions(1)
    trade = ib.placeOrder(contract, MarketOrder("BUY", 10))
    await wait_until(lambda: trade.orderStatus.status == "Filled")
    assert not trade.fills  # the status came first
    await wait_until(lambda: bool(trade.fills) and trade.fills[0].commissionReport.execId != "")
    await asyncio.sleep(0.1)
    assert len(trade.fills) == 1  # ib_async drops the duplicate by execId


async def test_a_dropped_connection_says_1100_and_1102_on_the_way_back(fake: FakeTWS) -> None:
    ib = IB()
    seen = errors_of(ib)
    await ib.connectAsync("127.0.0.1", fake.port, clientId=4, timeout=3)
    gone = asyncio.Event()
    ib.disconnectedEvent += gone.set
    fake.drop_connections()
    await asyncio.wait_for(gone.wait(), 2)
    assert 1100 in [c for _, c, _ in seen]
    await ib.connectAsync("127.0.0.1", fake.port, clientId=4, timeout=3)
    try:
        await wait_until(lambda: 1102 in [c for _, c, _ in seen])
    finally:
        ib.disconnect()


async def test_a_cancel_racing_a_fill_is_refused_once_the_order_filled(fake: FakeTWS, ib: IB) -> None:
    contract = await aapl(ib)
    seen = errors_of(ib)
    big = ib.placeOrder(contract, MarketOrder("BUY", 2000))
    await wait_until(lambda: big.orderStatus.status == "Submitted" and big.orderStatus.filled > 0)
    fake.cancel_races = 1
    ib.cancelOrder(big.order)
    await wait_until(lambda: (big.order.orderId, 10148) in [(r, c) for r, c, _ in seen])
    assert fake.orders[big.order.permId].status == "Filled"
    await wait_until(lambda: sum(f.execution.shares for f in big.fills) == 2000)
