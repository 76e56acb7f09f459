"""alpaca-py as the fake's second client: every answer parses in the SDK's own models.

``TradingClient`` (requests, synchronous: run in a thread beside the fake's loop) and ``TradingStream``
(``url_override`` to the fake) make the calls the adapter relies on and the common ones a user would.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

import pytest

pytest.importorskip("alpaca")

from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import (
    AssetClass,
    OrderClass,
    OrderSide,
    OrderStatus,
    QueryOrderStatus,
    TimeInForce,
)
from alpaca.trading.models import Order, Position, TradeAccount
from alpaca.trading.requests import (
    ClosePositionRequest,
    GetAssetsRequest,
    GetOrdersRequest,
    LimitOrderRequest,
    MarketOrderRequest,
    ReplaceOrderRequest,
    StopLossRequest,
    TakeProfitRequest,
    TrailingStopOrderRequest,
)
from alpaca.trading.stream import TradingStream

from tests.alpaca.conftest import wait_until

T = TypeVar("T")


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def sdk(fake) -> TradingClient:
    return TradingClient(fake.key_id, fake.secret_key, paper=True, url_override=fake.base_url)


async def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """A blocking SDK call off the loop the fake serves on."""
    return await asyncio.to_thread(fn, *args, **kwargs)


def quote(fake, symbol: str = "AAPL"):
    return fake.engine.quote(symbol)


async def test_account_positions_and_closing_parse(fake):
    client = sdk(fake)
    account = await call(client.get_account)
    assert isinstance(account, TradeAccount) and account.cash == "100000"
    assert account.buying_power is not None and account.status.value == "ACTIVE"
    bought = await call(
        client.submit_order,
        MarketOrderRequest(symbol="AAPL", qty=10, side=OrderSide.BUY, time_in_force=TimeInForce.DAY),
    )
    assert isinstance(bought, Order) and bought.status is OrderStatus.PENDING_NEW
    await fake.advance(2)
    [position] = await call(client.get_all_positions)
    assert isinstance(position, Position) and isinstance(position.asset_id, uuid.UUID)
    assert position.symbol == "AAPL" and position.qty == "10" and position.asset_class is AssetClass.US_EQUITY
    assert position.market_value is not None and position.unrealized_pl is not None
    assert (await call(client.get_open_position, "AAPL")).qty == "10"
    assert (await call(client.get_open_position, position.asset_id)).symbol == "AAPL"
    half = await call(client.close_position, "AAPL", ClosePositionRequest(percentage="50"))
    assert isinstance(half, Order) and half.side is OrderSide.SELL and half.qty == "5"
    await fake.advance(2)
    assert fake.positions() == {"AAPL": Decimal(5)}
    closed = await call(client.close_all_positions, cancel_orders=True)
    assert [c.symbol for c in closed] == ["AAPL"] and closed[0].status == 200
    await fake.advance(2)
    assert fake.positions() == {}
    with pytest.raises(APIError) as missing:
        await call(client.get_open_position, "AAPL")
    assert missing.value.status_code == 404


async def test_orders_of_every_kind_parse(fake):
    client = sdk(fake)
    bid = quote(fake).bid
    limit = await call(
        client.submit_order,
        LimitOrderRequest(
            symbol="AAPL",
            qty=1,
            side=OrderSide.BUY,
            time_in_force=TimeInForce.GTC,
            limit_price=float(bid - 5),
            client_order_id="sdk-limit",
        ),
    )
    notional = await call(
        client.submit_order,
        MarketOrderRequest(symbol="AAPL", notional=500, side=OrderSide.BUY, time_in_force=TimeInForce.DAY),
    )
    assert notional.notional == "500" and notional.qty is None
    fractional = await call(
        client.submit_order,
        MarketOrderRequest(symbol="AAPL", qty=0.5, side=OrderSide.BUY, time_in_force=TimeInForce.DAY),
    )
    assert fractional.qty == "0.5"
    trailing = await call(
        client.submit_order,
        TrailingStopOrderRequest(
            symbol="AAPL", qty=1, side=OrderSide.SELL, time_in_force=TimeInForce.GTC, trail_percent=1.0
        ),
    )
    assert trailing.trail_percent == "1" and trailing.limit_price is None
    bracket = await call(
        client.submit_order,
        MarketOrderRequest(
            symbol="AAPL",
            qty=2,
            side=OrderSide.BUY,
            time_in_force=TimeInForce.DAY,
            order_class=OrderClass.BRACKET,
            take_profit=TakeProfitRequest(limit_price=float(bid + 20)),
            stop_loss=StopLossRequest(stop_price=float(bid - 20)),
        ),
    )
    assert bracket.order_class is OrderClass.BRACKET and len(bracket.legs or []) == 2
    assert {leg.status for leg in bracket.legs or []} == {OrderStatus.HELD}
    opening = await call(
        client.submit_order,
        LimitOrderRequest(
            symbol="MSFT", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.CLS, limit_price=1000.0
        ),
    )
    await fake.advance(2)
    # a market-on-close order waits for the closing auction
    assert (await call(client.get_order_by_id, opening.id)).status is OrderStatus.ACCEPTED
    trailed = await call(client.get_order_by_id, trailing.id)
    assert trailed.status is OrderStatus.NEW and trailed.hwm is not None  # it trails from its high mark
    assert Decimal(trailed.stop_price) == (Decimal(trailed.hwm) * Decimal("0.99")).quantize(Decimal("0.01"))
    retrailed = await call(client.replace_order_by_id, trailing.id, ReplaceOrderRequest(trail=2.0))
    assert retrailed.replaces == trailing.id and retrailed.trail_percent == "2"
    assert retrailed.hwm == trailed.hwm  # the same high mark, the stop twice as far under it
    assert Decimal(retrailed.stop_price) == (Decimal(trailed.hwm) * Decimal("0.98")).quantize(Decimal("0.01"))
    legs = (await call(client.get_order_by_id, bracket.id)).legs or []
    assert {leg.status for leg in legs} == {OrderStatus.NEW}  # the entry filled: its exits work
    assert (await call(client.get_order_by_client_id, "sdk-limit")).id == limit.id
    moved = await call(client.replace_order_by_id, limit.id, ReplaceOrderRequest(limit_price=float(bid - 4)))
    assert moved.replaces == limit.id
    everything = await call(client.get_orders, GetOrdersRequest(status=QueryOrderStatus.ALL, limit=500))
    assert len(everything) >= 7
    sells = await call(client.get_orders, GetOrdersRequest(status=QueryOrderStatus.ALL, side=OrderSide.SELL))
    assert sells and all(o.side is OrderSide.SELL for o in sells)
    nested = await call(client.get_orders, GetOrdersRequest(status=QueryOrderStatus.OPEN, nested=True))
    assert all(o.legs is None or o.order_class is OrderClass.BRACKET for o in nested)
    await call(client.cancel_order_by_id, moved.id)
    cancelled = await call(client.cancel_orders)
    assert all(c.status == 200 for c in cancelled)
    await fake.advance(1)
    assert await call(client.get_orders, GetOrdersRequest(status=QueryOrderStatus.OPEN)) == []


async def test_refusals_are_alpacas_errors(fake):
    client = sdk(fake)
    with pytest.raises(APIError) as broke:
        await call(
            client.submit_order,
            MarketOrderRequest(symbol="AAPL", qty=100_000, side=OrderSide.BUY, time_in_force=TimeInForce.DAY),
        )
    assert broke.value.status_code == 403 and broke.value.code == 40310000
    with pytest.raises(APIError) as unknown:
        await call(
            client.submit_order,
            MarketOrderRequest(symbol="ZZZZ", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY),
        )
    assert unknown.value.status_code == 422


async def test_clock_and_assets_parse(fake):
    client = sdk(fake)
    clock = await call(client.get_clock)
    assert clock.is_open and clock.next_close > clock.timestamp
    assets = await call(client.get_all_assets, GetAssetsRequest(asset_class=AssetClass.US_EQUITY))
    assert {"AAPL", "MSFT"} <= {a.symbol for a in assets}
    assert (await call(client.get_asset, "AAPL")).tradable


async def test_trading_stream_delivers_trade_updates(fake):
    stream = TradingStream(fake.key_id, fake.secret_key, paper=True, url_override=fake.stream_url)
    seen: list[Any] = []

    async def on_update(update: Any) -> None:
        seen.append(update)

    stream.subscribe_trade_updates(on_update)
    running = asyncio.create_task(stream._run_forever())
    try:
        await wait_until(lambda: fake.stream_connections >= 1)
        await asyncio.sleep(0.2)  # its listen request
        client = sdk(fake)
        placed = await call(
            client.submit_order,
            MarketOrderRequest(symbol="AAPL", qty=10, side=OrderSide.BUY, time_in_force=TimeInForce.DAY),
        )
        await fake.advance(2)
        await wait_until(lambda: any(u.event == "fill" for u in seen))
        events = [u.event for u in seen if u.order.id == placed.id]
        assert events[0] == "new" and events[-1] == "fill"
        fill = next(u for u in seen if u.event == "fill")
        assert fill.price is not None and fill.qty is not None and fill.order.filled_qty == "10"
    finally:
        await stream.stop_ws()
        await stream.close()
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
