"""The fake Binance spot through its second client, unmodified ccxt, and over raw HTTP where ccxt would hide
what the wire says (signatures, timestamps, weights, bans)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import subprocess
import sys
import time
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import aiohttp
import ccxt.async_support as ccxt
import pytest

from ntlab.brokers.crypto.fake import _HANDLERS, WEIGHTS, FakeBinance
from ntlab.brokers.crypto.fake_account import ENGINE_TYPE
from ntlab.brokers.crypto.fake_limits import Limits
from tests.crypto.conftest import plain_ccxt

SYMBOL = "BTC/USDT"


async def test_markets_load_with_binance_filters(exchange: Any) -> None:
    markets = await exchange.load_markets()
    btc = markets[SYMBOL]
    assert btc["id"] == "BTCUSDT" and btc["active"] and btc["spot"]
    assert btc["precision"] == {"amount": 1e-05, "price": 0.01, "base": 1e-08, "quote": 1e-08}
    assert btc["limits"]["cost"]["min"] == 5.0 and btc["limits"]["amount"]["min"] == 1e-05
    assert "LIMIT_MAKER" in btc["info"]["orderTypes"]
    halted = [m for m in markets.values() if not m["active"]]
    assert halted and all(m["info"]["status"] == "BREAK" for m in halted)


async def test_ticker_and_book(exchange: Any) -> None:
    ticker = await exchange.fetch_ticker(SYMBOL)
    book = await exchange.fetch_order_book(SYMBOL)
    assert 0 < ticker["bid"] < ticker["ask"]
    assert book["bids"][0][0] == ticker["bid"] and book["asks"][0][0] == ticker["ask"]


async def test_a_market_order_fills_with_its_fee_in_bnb(exchange: Any) -> None:
    order = await exchange.create_order(SYMBOL, "market", "buy", 0.01, None, {"clientOrderId": "mine-1"})
    assert (order["clientOrderId"], order["status"], order["filled"]) == ("mine-1", "closed", 0.01)
    assert order["fee"]["currency"] == "BNB" and order["fee"]["cost"] > 0
    trades = await exchange.fetch_my_trades(SYMBOL)
    assert [t["order"] for t in trades] == [order["id"]]
    assert trades[0]["fee"]["currency"] == "BNB" and trades[0]["side"] == "buy"
    balance = await exchange.fetch_balance()
    assert balance["total"]["BTC"] == 0.01
    spent = Decimal(str(trades[0]["cost"]))
    assert Decimal(str(balance["total"]["USDT"])) == Decimal(100_000) - spent


async def test_without_bnb_the_fee_is_in_the_asset_received() -> None:
    async with FakeBinance(balances={"USDT": 100_000}, fees="bnb") as fake:
        exchange = plain_ccxt(fake)
        try:
            buy = await exchange.create_order(SYMBOL, "market", "buy", 0.01)
            sell = await exchange.create_order(SYMBOL, "market", "sell", 0.005)
            assert buy["fee"]["currency"] == "BTC" and buy["fee"]["cost"] == pytest.approx(0.00001)
            assert sell["fee"]["currency"] == "USDT"
            balance = await exchange.fetch_balance()
            assert Decimal(str(balance["total"]["BTC"])) == Decimal("0.01") - Decimal("0.00001") - Decimal(
                "0.005"
            )
        finally:
            await exchange.close()


async def test_limit_orders_rest_are_listed_and_cancel(exchange: Any) -> None:
    ticker = await exchange.fetch_ticker(SYMBOL)
    price = round(ticker["bid"] * 0.97, 2)
    order = await exchange.create_order(SYMBOL, "limit", "buy", 0.01, price, {"clientOrderId": "rest-1"})
    assert order["status"] == "open" and order["price"] == price
    assert [o["clientOrderId"] for o in await exchange.fetch_open_orders(SYMBOL)] == ["rest-1"]
    by_client = await exchange.fetch_order(None, SYMBOL, {"clientOrderId": "rest-1"})
    assert by_client["id"] == order["id"]
    balance = await exchange.fetch_balance()
    assert balance["used"]["USDT"] == pytest.approx(price * 0.01)
    cancelled = await exchange.cancel_order(order["id"], SYMBOL)
    assert cancelled["status"] == "canceled"
    assert (await exchange.fetch_order(order["id"], SYMBOL))["status"] == "canceled"
    assert await exchange.fetch_open_orders(SYMBOL) == []
    assert [o["id"] for o in await exchange.fetch_orders(SYMBOL)] == [order["id"]]


async def test_stop_limit_and_post_only(exchange: Any) -> None:
    ticker = await exchange.fetch_ticker(SYMBOL)
    above = round(ticker["ask"] * 1.02, 2)
    stop = await exchange.create_order(SYMBOL, "limit", "buy", 0.01, above, {"triggerPrice": above})
    assert stop["info"]["type"] == "STOP_LOSS_LIMIT" and stop["triggerPrice"] == above
    maker = await exchange.create_order(
        SYMBOL, "limit", "buy", 0.01, round(ticker["bid"] * 0.99, 2), {"postOnly": True}
    )
    assert maker["info"]["type"] == "LIMIT_MAKER" and maker["postOnly"]
    with pytest.raises(ccxt.OrderImmediatelyFillable):
        await exchange.create_order(
            SYMBOL, "limit", "buy", 0.01, round(ticker["ask"] * 1.01, 2), {"postOnly": True}
        )
    with pytest.raises(ccxt.InvalidOrder, match="would trigger immediately"):
        await exchange.create_order(
            SYMBOL, "limit", "buy", 0.01, above, {"triggerPrice": round(ticker["bid"] * 0.9, 2)}
        )
    cancelled = await exchange.cancel_all_orders(SYMBOL)
    assert len(cancelled) == 2


async def test_binance_refusals_become_ccxt_errors(exchange: Any) -> None:
    await exchange.create_order(SYMBOL, "limit", "buy", 0.01, 50_000, {"clientOrderId": "dup"})
    with pytest.raises(ccxt.InvalidOrder, match="Duplicate order sent"):  # -2010: ccxt leaves it general
        await exchange.create_order(SYMBOL, "limit", "buy", 0.01, 50_000, {"clientOrderId": "dup"})
    with pytest.raises(ccxt.InsufficientFunds):  # -2010
        await exchange.create_order(SYMBOL, "limit", "buy", 10, 50_000)
    with pytest.raises(ccxt.BadRequest, match="NOTIONAL"):  # -1013: under the minimum notional
        await exchange.create_order(SYMBOL, "limit", "buy", 0.00005, 50_000)
    with pytest.raises(ccxt.OrderNotFound):  # -2011
        await exchange.cancel_order("123", SYMBOL)
    with pytest.raises(ccxt.OrderNotFound):  # -2013
        await exchange.fetch_order("123", SYMBOL)
    with pytest.raises(ccxt.InvalidOrder, match="not allowed"):  # TAKE_PROFIT is not in orderTypes
        await exchange.create_order(SYMBOL, "market", "sell", 0.01, None, {"takeProfitPrice": 70_000})


async def test_a_wrong_secret_or_key_is_refused(fake: FakeBinance) -> None:
    for config, error in (
        ({"secret": "wrong"}, ccxt.AuthenticationError),
        ({"apiKey": "nobody"}, ccxt.AuthenticationError),
    ):
        exchange = plain_ccxt(fake, **config)
        try:
            with pytest.raises(error):
                await exchange.fetch_balance()
        finally:
            await exchange.close()


async def test_user_data_stream_through_watch_orders_and_watch_my_trades(exchange: Any) -> None:
    await exchange.load_markets()
    orders = asyncio.create_task(exchange.watch_orders())
    trades = asyncio.create_task(exchange.watch_my_trades())
    await asyncio.sleep(0.3)
    placed = await exchange.create_order(SYMBOL, "market", "buy", 0.01, None, {"clientOrderId": "ws-1"})
    got_orders = await asyncio.wait_for(orders, 5)
    got_trades = await asyncio.wait_for(trades, 5)
    assert [(o["clientOrderId"], o["status"]) for o in got_orders][-1] == ("ws-1", "closed")
    assert got_trades[0]["order"] == placed["id"] and got_trades[0]["fee"]["currency"] == "BNB"


# --- the wire, below ccxt ----------------------------------------------------------------------------------


def signed(fake: FakeBinance, params: dict[str, Any], *, secret: str | None = None) -> str:
    query = urlencode(params)
    signature = hmac.new((secret or fake.secret).encode(), query.encode(), hashlib.sha256).hexdigest()
    return f"{query}&signature={signature}"


async def get(fake: FakeBinance, path: str, query: str = "", key: str | None = None) -> tuple[int, Any, Any]:
    headers = {"X-MBX-APIKEY": key if key is not None else fake.api_key}
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{fake.api_url}/{path}?{query}", headers=headers) as r,
    ):
        return r.status, await r.json(), r.headers


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ("stale", -1021),
        ("future", -1021),
        ("secret", -1022),
        ("key", -2015),
        ("nokey", -2014),
        ("unsigned", -1102),
    ],
)
async def test_signature_and_timestamp_checks(fake: FakeBinance, change: str, code: int) -> None:
    now = int(time.time() * 1000)
    stamp = {"stale": now - 60_000, "future": now + 5_000}.get(change, now)
    query = signed(fake, {"timestamp": stamp}, secret="x" if change == "secret" else None)
    if change == "unsigned":
        query = f"timestamp={now}"
    key = {"key": "nobody", "nokey": ""}.get(change)
    status, body, _ = await get(fake, "account", query, key)
    assert body["code"] == code and status in (400, 401)


async def test_weight_and_order_count_headers(fake: FakeBinance) -> None:
    _, _, headers = await get(fake, "exchangeInfo")
    assert int(headers["X-MBX-USED-WEIGHT-1M"]) >= 20
    exchange = plain_ccxt(fake)
    try:
        await exchange.create_order(SYMBOL, "market", "buy", 0.01)
        assert exchange.last_response_headers["x-mbx-order-count-10s"] == "1"
    finally:
        await exchange.close()


async def test_over_the_weight_429_then_a_ban_418() -> None:
    async with FakeBinance(limits=Limits(weight_per_minute=50, strikes_before_ban=2, ban_seconds=60)) as fake:
        statuses = []
        for _ in range(6):
            status, body, headers = await get(fake, "exchangeInfo")
            statuses.append(status)
            if status in (429, 418):
                assert body["code"] == -1003 and int(headers["Retry-After"]) >= 1
        assert statuses[:2] == [200, 200] and 429 in statuses and statuses[-1] == 418
        exchange = plain_ccxt(fake)
        try:
            with pytest.raises(ccxt.DDoSProtection):
                await exchange.fetch_ticker(SYMBOL)
        finally:
            await exchange.close()


async def test_too_many_orders_is_minus_1015() -> None:
    async with FakeBinance(limits=Limits(orders_per_10s=2)) as fake:
        exchange = plain_ccxt(fake)
        try:
            await exchange.load_markets()
            with pytest.raises(ccxt.DDoSProtection, match="-1015"):
                for _ in range(3):
                    await exchange.create_order(SYMBOL, "market", "buy", 0.001)
        finally:
            await exchange.close()


def test_the_fake_runs_from_the_command_line() -> None:
    code = (
        "import asyncio, aiohttp, subprocess, sys\n"
        "from ntlab.brokers.crypto.fake import main\n"
        "main(['--port', '0', '--listed', '10'])\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert "fake Binance spot on http://127.0.0.1:" in line
    finally:
        proc.terminate()
        proc.wait(10)


async def test_a_trailing_stop_through_ccxt(exchange: Any) -> None:
    await exchange.create_order(SYMBOL, "market", "buy", 0.01)
    params = {"trailingPercent": 1, "stopLossOrTakeProfit": "stopLoss"}
    order = await exchange.create_order(SYMBOL, "market", "sell", 0.01, None, params)
    assert order["info"]["type"] == "STOP_LOSS" and order["status"] == "open"
    assert (await exchange.fetch_order(order["id"], SYMBOL))["info"]["trailingDelta"] == 100
    with pytest.raises(ccxt.BadRequest, match="TRAILING_DELTA"):
        await exchange.create_order(SYMBOL, "market", "sell", 0.01, None, params | {"trailingPercent": 50})


async def test_edit_order_is_cancel_replace(exchange: Any) -> None:
    order = await exchange.create_order(SYMBOL, "limit", "buy", 0.01, 50_000, {"clientOrderId": "e-1"})
    edited = await exchange.edit_order(
        order["id"], SYMBOL, "limit", "buy", 0.02, 50_001, {"clientOrderId": "e-1.r1"}
    )
    assert edited["id"] != order["id"] and edited["clientOrderId"] == "e-1.r1" and edited["amount"] == 0.02
    assert (await exchange.fetch_order(order["id"], SYMBOL))["status"] == "canceled"
    with pytest.raises(ccxt.ExchangeError, match="-2022"):  # the old one is gone: nothing done
        await exchange.edit_order(order["id"], SYMBOL, "limit", "buy", 0.02, 50_002)


async def test_a_cancel_streams_its_own_id_in_c_and_the_orders_in_big_c(exchange: Any) -> None:
    """Binance's executionReport of a cancel names the cancel request in ``c`` and the order in ``C``;
    ccxt reads ``C`` first, so the streamed order keeps its own client id."""
    await exchange.load_markets()
    order = await exchange.create_order(SYMBOL, "limit", "buy", 0.01, 50_000, {"clientOrderId": "cx-1"})
    watched = asyncio.create_task(exchange.watch_orders())
    await asyncio.sleep(0.3)
    cancelled = await exchange.cancel_order(order["id"], SYMBOL, {"newClientOrderId": "my-cancel"})
    assert (cancelled["clientOrderId"], cancelled["info"]["origClientOrderId"]) == ("my-cancel", "cx-1")
    got = (await asyncio.wait_for(watched, 5))[-1]
    assert (got["clientOrderId"], got["status"]) == ("cx-1", "canceled")
    assert (got["info"]["c"], got["info"]["C"]) == ("my-cancel", "cx-1")


@pytest.mark.parametrize(("route", "weight"), sorted(WEIGHTS.items()))
async def test_each_endpoint_charges_its_weight(
    fake: FakeBinance, route: tuple[str, str], weight: int
) -> None:
    """Weight is charged on arrival, before the signature is read (as Binance counts refused calls too)."""
    method, path = route
    query = "symbol=BTCUSDT" if path in ("openOrders", "ticker/24hr", "ticker/bookTicker") else ""
    async with (
        aiohttp.ClientSession() as session,
        session.request(
            method, f"{fake.api_url}/{path}?{query}", headers={"X-MBX-APIKEY": fake.api_key}
        ) as response,
    ):
        assert int(response.headers["X-MBX-USED-WEIGHT-1M"]) == weight


async def test_every_endpoint_has_a_weight_and_open_orders_across_symbols_costs_80(fake: FakeBinance) -> None:
    assert set(WEIGHTS) == set(_HANDLERS)
    _, _, headers = await get(fake, "openOrders", signed(fake, {"timestamp": int(time.time() * 1000)}))
    assert int(headers["X-MBX-USED-WEIGHT-1M"]) == 80
    _, _, headers = await get(fake, "ticker/24hr")  # every symbol: 80 more
    assert int(headers["X-MBX-USED-WEIGHT-1M"]) == 160


CCXT_ORDERS: dict[str, tuple[str, str, float, dict[str, Any]]] = {  # Binance type -> ccxt's call for it
    "MARKET": ("market", "buy", 0.0, {}),
    "LIMIT": ("limit", "buy", 0.97, {}),
    "LIMIT_MAKER": ("limit", "buy", 0.97, {"postOnly": True}),
    "STOP_LOSS": ("market", "sell", 0.0, {"triggerPrice": 0.9}),
    "STOP_LOSS_LIMIT": ("limit", "sell", 0.89, {"triggerPrice": 0.9}),
}


@pytest.mark.parametrize(("binance_type", "engine_type"), sorted(ENGINE_TYPE.items()))
async def test_each_binance_order_type_reaches_the_engine_as_its_row(
    fake: FakeBinance, exchange: Any, binance_type: str, engine_type: Any
) -> None:
    await exchange.create_order(SYMBOL, "market", "buy", 0.02)  # BTC to sell stops with
    bid = (await exchange.fetch_ticker(SYMBOL))["bid"]
    kind, side, at, params = CCXT_ORDERS[binance_type]
    if "triggerPrice" in params:
        params = params | {"triggerPrice": round(bid * params["triggerPrice"], 2)}
    price = round(bid * at, 2) if at else None
    placed = await exchange.create_order(SYMBOL, kind, side, 0.01, price, params)
    assert placed["info"]["type"] == binance_type
    engine_order = fake.engine.order(placed["id"])
    assert engine_order is not None and engine_order.order_type is engine_type


async def test_tickers_for_some_or_every_symbol(fake: FakeBinance, exchange: Any) -> None:
    markets = await exchange.load_markets()
    halted = next(s for s, m in markets.items() if not m["active"])
    some = await exchange.fetch_tickers([SYMBOL, halted])
    assert set(some) == {SYMBOL, halted} and 0 < some[SYMBOL]["bid"] < some[SYMBOL]["ask"]
    assert exchange.last_response_headers["x-mbx-used-weight-1m"] == str(20 + 2)  # exchangeInfo, 2 symbols
    every = await exchange.fetch_tickers()
    assert set(every) == set(markets)
    books = await exchange.fetch_bids_asks([SYMBOL])
    assert 0 < books[SYMBOL]["bid"] < books[SYMBOL]["ask"]
    status, body, _ = await get(fake, "ticker/24hr", "symbols=%5B%22NOPE%22%5D")
    assert (status, body["code"]) == (400, -1121)
    status, body, _ = await get(fake, "ticker/bookTicker", "symbols=BTCUSDT")
    assert (status, body["code"]) == (400, -1100)


async def test_the_other_reads_parse_in_ccxt(exchange: Any) -> None:
    """The reads the adapter makes besides the order calls, and ones a user reaches for."""
    await exchange.load_markets()
    assert abs(await exchange.fetch_time() - time.time() * 1000) < 60_000
    order = await exchange.create_order(SYMBOL, "market", "buy", 0.01)
    resting = await exchange.create_order(SYMBOL, "limit", "sell", 0.005, 90_000)
    exchange.options["warnOnFetchOpenOrdersWithoutSymbol"] = False
    assert [o["id"] for o in await exchange.fetch_open_orders()] == [resting["id"]]  # every symbol: weight 80
    assert [o["id"] for o in await exchange.fetch_closed_orders(SYMBOL)] == [order["id"]]
    (trade,) = await exchange.fetch_order_trades(order["id"], SYMBOL)
    assert trade["order"] == order["id"] and trade["fee"]["currency"] == "BNB"
    balance = await exchange.fetch_balance()
    assert balance["used"]["BTC"] == 0.005 and balance["free"]["BTC"] == 0.005
