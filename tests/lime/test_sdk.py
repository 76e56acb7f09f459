"""Lime's own SDK (lime-trader-sdk) as the fake's second client: the calls the adapter relies on and the
common ones a user makes parse in the SDK's own models.

lime-trader-sdk 0.4.1 builds each URL from the base URL's host alone and drops its port
(``ApiClient._get_url``), so it can only reach a server on port 80/443. The test hands the SDK's clients an
httpx transport that sends its requests to the fake's port; the SDK's requests, models and parsing are
its own.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from decimal import Decimal

import httpx
import pytest

pytest.importorskip("lime_trader")

from lime_trader.async_trader.async_client import AsyncLimeClient
from lime_trader.converters.cattr_converter import CAttrConverter
from lime_trader.exceptions.api_error import ApiError
from lime_trader.handlers.account_feed_handler import AccountFeedHandler
from lime_trader.models.accounts import AccountTrade, Credentials
from lime_trader.models.page import PageRequest
from lime_trader.models.trading import Order, OrderSide, OrderStatus, OrderType, TimeInForce

from ntlab.brokers.lime.fake import ACCOUNT, FakeLime


class ToPort(httpx.AsyncHTTPTransport):
    def __init__(self, port: int) -> None:
        super().__init__()
        self.port = port

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(port=self.port)
        return await super().handle_async_request(request)


def sdk_client(fake: FakeLime) -> AsyncLimeClient:
    c = fake.credentials
    client = AsyncLimeClient(
        base_url=fake.base_url,
        auth_url=fake.auth_url,
        credentials=Credentials(c.username, c.password, c.client_id, c.client_secret, "password"),
        logger=logging.getLogger("lime-sdk-test"),
    )
    client._api_client._http_client = httpx.AsyncClient(transport=ToPort(fake.port))
    client._auth_api_client._http_client = httpx.AsyncClient(transport=ToPort(fake.auth.port))
    return client


async def test_the_sdk_places_reads_and_cancels_on_the_fake(fake: FakeLime) -> None:
    client = sdk_client(fake)
    balances = await client.account.get_balances()
    assert balances[0].account_number == ACCOUNT and balances[0].cash == Decimal("1000000")
    order = Order(
        account_number=ACCOUNT, symbol="AAPL", quantity=Decimal(100), client_order_id="SDK1", tag="sdk"
    )
    assert (await client.trading.validate_order(order)).is_valid
    placed = await client.trading.place_order(order)
    assert placed.success
    details = await client.trading.get_order_details(placed.order_id)
    assert details.order_status is OrderStatus.FILLED and details.executed_quantity == 100
    assert (await client.trading.get_order_details_by_client_order_id("SDK1")).id == placed.order_id
    positions = await client.account.get_positions(ACCOUNT)
    assert positions[0].symbol == "AAPL" and positions[0].quantity == 100
    trades = await client.account.get_trades(ACCOUNT, fake.engine.now().date(), PageRequest(page=1, size=10))
    assert trades.total_elements == len(trades.data) >= 1 and trades.data[0].side.value == "buy"
    resting = Order(
        account_number=ACCOUNT,
        symbol="AAPL",
        quantity=Decimal(5),
        price=Decimal("150"),
        order_type=OrderType.LIMIT,
        time_in_force=TimeInForce.DAY,
        side=OrderSide.BUY,
    )
    rest_id = (await client.trading.place_order(resting)).order_id
    active = await client.trading.get_active_orders(ACCOUNT)
    assert [o.id for o in active] == [rest_id] and active[0].price == Decimal("150")
    assert (await client.trading.cancel_order(rest_id, message="sdk")).success
    assert (await client.trading.get_order_details(rest_id)).order_status is OrderStatus.CANCELED
    quote = await client.market.get_current_quote("AAPL")
    assert quote.bid < quote.ask and isinstance(quote.date, datetime.datetime)


async def test_the_sdk_reads_the_fakes_errors(fake: FakeLime) -> None:
    client = sdk_client(fake)
    with pytest.raises(ApiError) as missing:
        await client.trading.get_order_details("404")
    assert missing.value.error.code == "not_found" and missing.value.error.status_code == 404
    order = Order(account_number=ACCOUNT, symbol="AAPL", quantity=Decimal(1), client_order_id="DUP")
    await client.trading.place_order(order)
    with pytest.raises(ApiError) as duplicate:
        await client.trading.place_order(order)
    assert duplicate.value.error.code == "validation_error"
    broke = Credentials(fake.credentials.username, "wrong", fake.credentials.client_id, "x", "password")
    bad = sdk_client(fake)
    bad._token_storage._credentials = broke
    with pytest.raises(ApiError):
        await bad.account.get_balances()


async def test_the_feed_frames_parse_in_the_sdks_handler(fake: FakeLime) -> None:
    import websockets

    client = sdk_client(fake)
    await client.trading.place_order(Order(account_number=ACCOUNT, symbol="AAPL", quantity=Decimal(10)))
    token = await client._token_storage.get_token()
    seen: dict[str, list[object]] = {"orders": [], "trades": []}

    class Handler(AccountFeedHandler):
        def on_account_order_status_change(self, order: object) -> None:
            seen["orders"].append(order)

        def on_account_trade_execution(self, trade: AccountTrade) -> None:
            seen["trades"].append(trade)

        def on_stream_error(self, error: object) -> None:
            raise AssertionError(error)

    handler = Handler()
    converter = CAttrConverter()
    async with websockets.connect(
        fake.stream_url, additional_headers={"Authorization": f"Bearer {token.access_token}"}
    ) as ws:
        for action in ("subscribeOrders", "subscribeTrades"):
            await ws.send(f'{{"action": "{action}", "account": "{ACCOUNT}"}}')
        for _ in range(2):
            handler.on_message(converter, None, await asyncio.wait_for(ws.recv(), 5))
        await client.trading.place_order(Order(account_number=ACCOUNT, symbol="AAPL", quantity=Decimal(10)))
        for _ in range(3):  # the new order's frames, then its trade
            handler.on_message(converter, None, await asyncio.wait_for(ws.recv(), 5))
    assert len(seen["trades"]) >= 2 and all(t.trade_id for t in seen["trades"])  # type: ignore[attr-defined]
    assert {o.order_status for o in seen["orders"]} >= {OrderStatus.FILLED}  # type: ignore[attr-defined]
