"""OANDA's own ``v20`` library as the fake's second client: the calls the adapter relies on and the common
ones a user makes parse in v20's models, with decimals kept as strings (``decimal_number_as_float=False``).

The library is synchronous (requests); its calls run in a thread while the fake serves on the test's loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

v20 = pytest.importorskip("v20")

from ntlab.brokers.oanda.fake import FAKE_TOKEN, FakeOanda  # noqa: E402


def context(fake: FakeOanda) -> Any:
    return v20.Context("127.0.0.1", fake.port, ssl=False, token=FAKE_TOKEN, decimal_number_as_float=False)


async def call(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return await asyncio.to_thread(function, *args, **kwargs)


async def test_accounts_instruments_and_summary(fake: FakeOanda) -> None:
    api = context(fake)
    listed = await call(api.account.list)
    assert listed.status == 200 and [a.id for a in listed.get("accounts", 200)] == [fake.account_id]
    summary = (await call(api.account.summary, fake.account_id)).get("account", 200)
    assert summary.currency == "USD" and isinstance(summary.balance, str)
    assert Decimal(summary.balance) == Decimal(1_000_000)
    instruments = (await call(api.account.instruments, fake.account_id)).get("instruments", 200)
    eurusd = next(i for i in instruments if i.name == "EUR_USD")
    assert eurusd.pipLocation == -4 and eurusd.displayPrecision == 5
    pricing = await call(api.pricing.get, fake.account_id, instruments="EUR_USD")
    (price,) = pricing.get("prices", 200)
    assert isinstance(price.bids[0].price, str) and Decimal(price.bids[0].price) < Decimal(
        price.asks[0].price
    )


async def test_a_market_order_fills_and_shows_in_trades_positions_and_transactions(fake: FakeOanda) -> None:
    api = context(fake)
    account = fake.account_id
    placed = await call(
        api.order.market, account, instrument="EUR_USD", units="-2500", clientExtensions={"id": "sdk-1"}
    )
    assert placed.status == 201
    created = placed.get("orderCreateTransaction", 201)
    filled = placed.get("orderFillTransaction", 201)
    assert created.type == "MARKET_ORDER" and created.clientExtensions.id == "sdk-1"
    assert filled.type == "ORDER_FILL" and filled.units == "-2500" and isinstance(filled.price, str)
    assert filled.tradeOpened is not None and filled.tradeOpened.units == "-2500"
    looked = (await call(api.order.get, account, "@sdk-1")).get("order", 200)
    assert looked.state == "FILLED" and looked.id == created.id
    (trade,) = (await call(api.trade.list_open, account)).get("trades", 200)
    assert trade.instrument == "EUR_USD" and trade.currentUnits == "-2500"
    (position,) = (await call(api.position.list_open, account)).get("positions", 200)
    assert position.short.units == "-2500" and position.long.units == "0"
    since = await call(api.transaction.since, account, id=created.id)
    kinds = [t.type for t in since.get("transactions", 200)]
    assert "ORDER_FILL" in kinds and since.get("lastTransactionID", 200) == str(fake.last_transaction_id)
    closed = await call(api.trade.close, account, trade.id, units="ALL")
    assert closed.get("orderFillTransaction", 200).tradesClosed[0].tradeID == trade.id
    assert fake.positions() == {}


async def test_limit_replace_and_cancel(fake: FakeOanda) -> None:
    api = context(fake)
    account = fake.account_id
    order = {
        "type": "LIMIT",
        "instrument": "EUR_USD",
        "units": "1000",
        "price": "0.90000",
        "timeInForce": "GTC",
        "clientExtensions": {"id": "sdk-limit"},
    }
    created = (await call(api.order.create, account, order=order)).get("orderCreateTransaction", 201)
    (pending,) = (await call(api.order.list_pending, account)).get("orders", 200)
    assert pending.id == created.id and pending.price == "0.90000" and pending.state == "PENDING"
    changed = order | {"price": "0.89000", "clientExtensions": {"id": "sdk-limit~r1"}}
    replaced = await call(api.order.replace, account, created.id, order=changed)
    assert replaced.status == 201
    cancel = replaced.get("orderCancelTransaction", 201)
    successor = replaced.get("orderCreateTransaction", 201)
    assert cancel.reason == "CLIENT_REQUEST_REPLACED" and successor.replacesOrderID == created.id
    cancelled = await call(api.order.cancel, account, successor.id)
    assert cancelled.get("orderCancelTransaction", 200).reason == "CLIENT_REQUEST"
    assert (await call(api.order.list_pending, account)).get("orders", 200) == []


async def test_error_bodies_parse_as_v20_says(fake: FakeOanda) -> None:
    api = context(fake)
    account = fake.account_id
    refused = await call(api.order.market, account, instrument="EUR_USD", units="0.5")
    assert refused.status == 400
    assert refused.get("errorCode", 400) and refused.get("errorMessage", 400)
    assert refused.get("orderRejectTransaction", 400).type == "MARKET_ORDER_REJECT"
    missing = await call(api.order.get, account, "@nobody")
    assert missing.status == 404 and missing.get("errorMessage", 404)
    wrong = v20.Context("127.0.0.1", fake.port, ssl=False, token="wrong", decimal_number_as_float=False)
    unauthorized = await call(wrong.account.list)
    assert unauthorized.status == 401 and unauthorized.get("errorMessage", 401)


async def test_the_transaction_stream_parses_in_the_sdk(fake: FakeOanda) -> None:
    api = context(fake)
    api.set_stream_timeout(5)
    api.set_stream_chunk_size(64)

    def read() -> list[tuple[str, Any]]:
        response = api.transaction.stream(fake.account_id)
        seen: list[tuple[str, Any]] = []
        for name, message in response.parts():
            seen.append((name, message))
            kinds = {m.type for _, m in seen}
            if "HEARTBEAT" in kinds and "ORDER_FILL" in kinds:
                break
        return seen

    reading = asyncio.create_task(asyncio.to_thread(read))
    await asyncio.sleep(0.3)
    fake.place({"type": "MARKET", "instrument": "EUR_USD", "units": "1000"})
    seen = await asyncio.wait_for(reading, 10)
    heartbeat = next(m for n, m in seen if n == "transaction.TransactionHeartbeat")
    assert heartbeat.lastTransactionID and heartbeat.time
    fill = next(m for n, m in seen if n == "transaction.Transaction" and m.type == "ORDER_FILL")
    assert type(fill).__name__ == "OrderFillTransaction"
    assert fill.units == "1000" and isinstance(fill.price, str)


async def test_the_pricing_stream_parses_in_the_sdk(fake: FakeOanda) -> None:
    api = context(fake)
    api.set_stream_timeout(5)
    api.set_stream_chunk_size(64)

    def read() -> list[tuple[str, Any]]:
        response = api.pricing.stream(fake.account_id, instruments="EUR_USD", snapshot=True)
        seen: list[tuple[str, Any]] = []
        for name, message in response.parts():
            seen.append((name, message))
            if {"pricing.ClientPrice", "pricing.PricingHeartbeat"} <= {n for n, _ in seen}:
                break
        return seen

    seen = await asyncio.wait_for(asyncio.to_thread(read), 10)
    price = next(m for n, m in seen if n == "pricing.ClientPrice")
    assert price.instrument == "EUR_USD" and isinstance(price.bids[0].price, str)
    assert Decimal(price.bids[0].price) < Decimal(price.asks[0].price)


async def test_on_fill_orders_are_the_trades_orders_in_the_sdk(fake: FakeOanda) -> None:
    """A market order with take-profit, stop-loss and trailing stop-loss on fill: the trade's three orders
    parse as v20's TakeProfitOrder, StopLossOrder and TrailingStopLossOrder; the one that fills closes the
    trade and the others are cancelled LINKED_TRADE_CLOSED."""
    api = context(fake)
    account = fake.account_id
    price = (await call(api.pricing.get, account, instruments="EUR_USD")).get("prices", 200)[0]
    ask = Decimal(price.asks[0].price)
    take, stop = str(ask + Decimal("0.00040")), str(ask - Decimal("0.01000"))
    placed = await call(
        api.order.market,
        account,
        instrument="EUR_USD",
        units="3000",
        clientExtensions={"id": "sdk-b"},
        takeProfitOnFill={"price": take, "clientExtensions": {"id": "sdk-b-tp"}},
        stopLossOnFill={"price": stop, "clientExtensions": {"id": "sdk-b-sl"}},
        trailingStopLossOnFill={"distance": "0.02000", "clientExtensions": {"id": "sdk-b-ts"}},
    )
    assert placed.status == 201
    fill = placed.get("orderFillTransaction", 201)
    assert placed.get("orderCreateTransaction", 201).takeProfitOnFill.price == take
    trade_id = fill.tradeOpened.tradeID
    trade = (await call(api.trade.get, account, trade_id)).get("trade", 200)
    assert trade.takeProfitOrder.type == "TAKE_PROFIT" and trade.takeProfitOrder.price == take
    assert trade.stopLossOrder.price == stop and trade.stopLossOrder.tradeID == trade_id
    assert trade.trailingStopLossOrder.distance == "0.02000"
    assert trade.takeProfitOrder.clientExtensions.id == "sdk-b-tp"
    looked = (await call(api.order.get, account, "@sdk-b-sl")).get("order", 200)
    assert looked.type == "STOP_LOSS" and looked.state == "PENDING" and looked.tradeID == trade_id
    made = (await call(api.transaction.since, account, id=fill.id)).get("transactions", 200)
    assert [(t.type, t.reason) for t in made] == [
        ("TAKE_PROFIT_ORDER", "ON_FILL"),
        ("STOP_LOSS_ORDER", "ON_FILL"),
        ("TRAILING_STOP_LOSS_ORDER", "ON_FILL"),
    ]
    assert all(t.orderFillTransactionID == fill.id and t.tradeID == trade_id for t in made)
    for _ in range(400):
        if not any(o.pending for o in fake.account.orders.values()):
            break
        await fake.advance(10)
    after = (await call(api.transaction.since, account, id=made[-1].id)).get("transactions", 200)
    closing = after[0]
    assert closing.type == "ORDER_FILL" and closing.reason == "TAKE_PROFIT_ORDER"
    assert closing.tradesClosed[0].tradeID == trade_id and closing.units == "-3000"
    cancels = {t.clientOrderID: t.reason for t in after if t.type == "ORDER_CANCEL"}
    assert cancels == {"sdk-b-sl": "LINKED_TRADE_CLOSED", "sdk-b-ts": "LINKED_TRADE_CLOSED"}
    closed = (await call(api.trade.get, account, trade_id)).get("trade", 200)
    assert closed.state == "CLOSED" and closed.takeProfitOrder.state == "FILLED"
    assert fake.positions() == {}


@pytest.mark.parametrize(
    ("details", "reason"),
    [
        ({"takeProfitOnFill": {"timeInForce": "GTC"}}, "TAKE_PROFIT_ON_FILL_PRICE_MISSING"),
        ({"takeProfitOnFill": {"price": "1.1234567"}}, "TAKE_PROFIT_ON_FILL_PRICE_PRECISION_EXCEEDED"),
        (
            {"stopLossOnFill": {"price": "1.00000", "distance": "0.01000"}},
            "STOP_LOSS_ON_FILL_PRICE_AND_DISTANCE_BOTH_SPECIFIED",
        ),
        (
            {"stopLossOnFill": {"price": "1.00000", "timeInForce": "FOK"}},
            "STOP_LOSS_ON_FILL_TIME_IN_FORCE_INVALID",
        ),
        ({"trailingStopLossOnFill": {}}, "TRAILING_STOP_LOSS_ON_FILL_PRICE_DISTANCE_MISSING"),
        (
            {
                "takeProfitOnFill": {"price": "1.20000", "clientExtensions": {"id": "same"}},
                "stopLossOnFill": {"price": "1.00000", "clientExtensions": {"id": "same"}},
            },
            "ORDERS_ON_FILL_DUPLICATE_CLIENT_ORDER_IDS",
        ),
    ],
)
async def test_on_fill_details_v20_refuses(fake: FakeOanda, details: dict[str, Any], reason: str) -> None:
    api = context(fake)
    refused = await call(api.order.market, fake.account_id, instrument="EUR_USD", units="1000", **details)
    assert refused.status == 400 and refused.get("errorCode", 400) == reason
    assert refused.get("orderRejectTransaction", 400).rejectReason == reason
    assert fake.fills() == []
