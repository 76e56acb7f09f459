"""CcxtBroker against the fake Binance over real HTTP and websockets, through the OrderManager."""

from __future__ import annotations

import asyncio
import socket
from decimal import Decimal

import pytest

from ntlab.brokers.crypto import CcxtBroker
from ntlab.brokers.crypto.fake import FakeBinance
from ntlab.config import ExecutionConfig
from ntlab.core import OrderManager, OrderRequest, OrderStatus
from ntlab.errors import (
    AuthenticationError,
    BrokerUnavailable,
    InvalidOrder,
    LiveTradingError,
    OrderRejected,
    Reason,
)
from tests.crypto import kraken_markets
from tests.crypto.conftest import make_broker

SYMBOL = "BTC/USDT"
S = OrderStatus


def buy(**fields: object) -> OrderRequest:
    base: dict[str, object] = {
        "symbol": SYMBOL,
        "side": "buy",
        "quantity": Decimal("0.01"),
        "time_in_force": "gtc",
    }
    return OrderRequest(**(base | fields))


async def settle(broker: CcxtBroker) -> None:
    for _ in range(5):
        await asyncio.sleep(0.03)
        await broker.wait_idle()


async def test_markets_become_the_managers_instruments(fake: FakeBinance, broker: CcxtBroker) -> None:
    async with OrderManager(broker) as om:
        btc = om.instruments.get(SYMBOL)
        assert btc is not None
        assert (btc.tick_size, btc.lot_size, btc.min_notional) == (
            Decimal("0.01"),
            Decimal("0.00001"),
            Decimal(5),
        )
        with pytest.raises(InvalidOrder) as small:  # 0.00005 BTC is about 3 USDT: under NOTIONAL's 5
            await om.place_order(buy(quantity=Decimal("0.00005")))
        assert small.value.reason is Reason.MIN_NOTIONAL
        with pytest.raises(InvalidOrder) as off_lot:
            await om.place_order(buy(quantity=Decimal("0.000015")))
        assert off_lot.value.reason is Reason.INVALID_QUANTITY
        assert fake.account.orders == {}  # refused before anything was sent
    assert len(broker.venue_instruments()) == len(fake.listings)


async def test_a_market_order_fills_with_its_fee_in_bnb(fake: FakeBinance, broker: CcxtBroker) -> None:
    async with OrderManager(broker) as om:
        placed = await om.place_order(buy())
        await settle(broker)
        order = om.order(placed.order_id)
        assert order.status is S.FILLED and order.broker_order_id is not None
        (fill,) = om.fills()
        assert fill.fee_currency == "BNB" and fill.fee > 0
        assert fake.account.orders[int(order.broker_order_id)].client_id == placed.order_id
        positions = await broker.positions()
        assert [(p.symbol, p.quantity) for p in positions] == [(SYMBOL, Decimal("0.01"))]
        account = await broker.account()
        assert account.currency == "USDT" and account.cash < 100_000 < account.equity + 1_000


async def test_fees_in_the_asset_received_without_bnb() -> None:
    async with FakeBinance(balances={"USDT": 100_000}) as fake:
        broker = make_broker(fake)
        async with OrderManager(broker) as om:
            await om.place_order(buy())
            await om.place_order(buy(side="sell", quantity=Decimal("0.005")))
            await settle(broker)
            assert [(f.side, f.fee_currency) for f in om.fills()] == [("buy", "BTC"), ("sell", "USDT")]
        await broker.close()


async def test_post_only_that_would_take_is_refused(fake: FakeBinance, broker: CcxtBroker) -> None:
    async with OrderManager(broker) as om:
        quote = await broker.fetch_quote(SYMBOL)
        assert quote is not None
        crossing = (quote.ask * Decimal("1.01")).quantize(Decimal("0.01"))
        with pytest.raises(OrderRejected):
            await om.place_order(buy(order_type="limit", limit_price=crossing, post_only=True))
        assert om.orders()[-1].reason_code == Reason.WOULD_TAKE
        passive = (quote.bid * Decimal("0.99")).quantize(Decimal("0.01"))
        resting = await om.place_order(buy(order_type="limit", limit_price=passive, post_only=True))
        assert resting.status is S.ACCEPTED
        assert next(iter(fake.account.orders.values())).type == "LIMIT_MAKER"


async def test_a_refused_connection_provably_did_not_arrive() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/api/v3"
    broker = CcxtBroker(
        "binance", "k", "s", urls={"public": url, "private": url}, rate_limit=False, timeout=1
    )
    broker.exchange.set_markets([_btc_market()])  # never connected: the submit itself is what fails
    from ntlab.core import Order, OrderType, Side, TimeInForce

    now = broker.now()
    order = Order(
        order_id="c-1",
        symbol=SYMBOL,
        side=Side.BUY,
        quantity=Decimal("0.01"),
        order_type=OrderType.MARKET,
        time_in_force=TimeInForce.GTC,
        status=S.PENDING,
        created_at=now,
        updated_at=now,
    )
    with pytest.raises(BrokerUnavailable):
        await broker.submit_order(order)
    await broker.close()


async def test_polling_where_there_is_no_stream() -> None:
    fake = await FakeBinance(balances={"USDT": 1_000_000}).start()
    broker = make_broker(fake, stream=False, poll_interval=0.05)
    assert broker.streaming == "poll"
    async with OrderManager(broker) as om:
        quote = await broker.fetch_quote(SYMBOL)
        assert quote is not None
        placed = await om.place_order(buy(quantity=Decimal(5)))  # more than the touch: fills over time
        for _ in range(60):
            if om.order(placed.order_id).status is S.FILLED:
                break
            await fake.advance(1)
            await asyncio.sleep(0.06)
        assert om.order(placed.order_id).status is S.FILLED
        assert broker.stats["polls"] > 0
        assert {f.fill_id for f in om.fills()} == {f"{SYMBOL}#{t.trade_id}" for t in fake.account.trades}
    await broker.close()
    await fake.stop()


async def test_the_same_adapter_loads_a_second_exchange(fake: FakeBinance) -> None:
    """kraken through ccxt, on the fake's market data in Kraken's spelling: the instruments come out in
    Kraken's increments from the same adapter code."""
    runner, url = await kraken_markets.serve(fake)
    broker = CcxtBroker("kraken", "key", "c2VjcmV0", urls={"public": url, "private": url}, rate_limit=False)
    try:
        instruments = {i.symbol: i for i in await broker.load_markets()}
        btc = instruments[SYMBOL]
        assert (btc.tick_size, btc.lot_size, btc.min_quantity, btc.min_notional) == (
            Decimal("0.1"),
            Decimal("1E-8"),
            Decimal("0.00005"),
            Decimal("0.5"),
        )
        assert broker.streaming == "watch"  # ccxt pro watches kraken's orders too
    finally:
        await broker.close()
        await runner.cleanup()


# --- the gate and secrets ------------------------------------------------------------------------------------


async def test_the_sandbox_by_default() -> None:
    broker = CcxtBroker("binance", "key", "secret")
    assert broker.exchange.urls["api"]["private"].startswith("https://testnet.binance.vision")
    assert not broker.live
    await broker.close()


async def test_live_urls_need_the_gate() -> None:
    live = {"public": "https://api.binance.com/api/v3", "private": "https://api.binance.com/api/v3"}
    with pytest.raises(LiveTradingError):
        CcxtBroker("binance", "key", "secret", urls=live)
    with pytest.raises(LiveTradingError, match="no sandbox"):
        CcxtBroker("kraken", "key", "secret")
    gate = ExecutionConfig(enable_live_trading=True, paper_trading=False, broker="crypto")
    broker = CcxtBroker("binance", "key", "secret", config=gate)
    assert broker.live and broker.exchange.urls["api"]["private"] == "https://api.binance.com/api/v3"
    await broker.close()


async def test_secrets_never_show(fake: FakeBinance, caplog: pytest.LogCaptureFixture) -> None:
    secret = "s3cr3t-do-not-show"
    broker = CcxtBroker("binance", "k-visible", secret, urls=fake.ccxt_urls(), rate_limit=False)
    assert secret not in repr(broker) and secret not in str(broker)
    with caplog.at_level("DEBUG"), pytest.raises(AuthenticationError) as refused:
        async with OrderManager(broker):
            pass
    assert secret not in str(refused.value)
    assert "check the API key" in str(refused.value)
    assert caplog.records and not [r for r in caplog.records if secret in r.getMessage()]
    await broker.close()


def _btc_market() -> dict[str, object]:
    return {
        "id": "BTCUSDT",
        "symbol": SYMBOL,
        "base": "BTC",
        "quote": "USDT",
        "baseId": "BTC",
        "quoteId": "USDT",
        "type": "spot",
        "spot": True,
        "active": True,
        "contract": False,
        "linear": None,
        "inverse": None,
        "precision": {"amount": 1e-05, "price": 0.01},
        "limits": {"amount": {"min": 1e-05}, "cost": {"min": 5}},
        "info": {"orderTypes": ["LIMIT", "MARKET"]},
    }


async def test_lab_broker_crypto_from_the_environment(
    fake: FakeBinance, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ntlab.lab import Lab

    monkeypatch.setenv("BROKER", "crypto")
    monkeypatch.setenv("BROKER_API_KEY", fake.api_key)
    monkeypatch.setenv("BROKER_SECRET_KEY", fake.secret)
    monkeypatch.setenv("BROKER_BASE_URL", fake.base_url)
    lab = await asyncio.to_thread(Lab, journal=None)
    try:
        assert isinstance(lab.broker, CcxtBroker) and lab.broker.name == "binance" and not lab.live
        await asyncio.to_thread(lab.buy, SYMBOL, Decimal("0.01"))  # gtc: the crypto default
        (order,) = lab.manager.orders()
        assert order.time_in_force == "gtc" and order.status in (S.FILLED, S.ACCEPTED)
    finally:
        await asyncio.to_thread(lab.close)


async def test_a_trailing_stop_goes_out_as_binance_trailing_delta(
    fake: FakeBinance, broker: CcxtBroker
) -> None:
    async with OrderManager(broker) as om:
        await om.place_order(buy())
        trailing = await om.place_order(
            buy(
                side="sell",
                order_type="trailing_stop",
                trail_percent=Decimal("0.1"),
                quantity=Decimal("0.01"),
            )
        )
        assert trailing.status is S.ACCEPTED
        sent = fake.account.orders[int(trailing.broker_order_id or 0)]
        assert (sent.type, sent.trailing_delta, sent.side) == ("STOP_LOSS", 10, "SELL")
        for _ in range(200):  # the market moves; a 0.1% pullback from the best bid triggers it
            if om.order(trailing.order_id).status is S.FILLED:
                break
            await fake.advance(5)
            await settle(broker)
        assert om.order(trailing.order_id).status is S.FILLED


async def test_order_classes_are_refused_before_the_exchange(fake: FakeBinance, broker: CcxtBroker) -> None:
    async with OrderManager(broker) as om:
        quote = await broker.fetch_quote(SYMBOL)
        assert quote is not None
        with pytest.raises(OrderRejected):
            await om.place_order(
                buy(
                    order_class="bracket",
                    take_profit=(quote.ask * Decimal("1.05")).quantize(Decimal("0.01")),
                    stop_loss=(quote.bid * Decimal("0.95")).quantize(Decimal("0.01")),
                )
            )
        entry = next(o for o in om.orders() if o.order_class == "bracket")
        assert entry.reason_code == Reason.NOT_ALLOWED
        assert fake.account.orders == {}


async def _resting(om: OrderManager, broker: CcxtBroker, quantity: str = "0.01") -> tuple[str, Decimal]:
    quote = await broker.fetch_quote(SYMBOL)
    assert quote is not None
    price = (quote.bid * Decimal("0.97")).quantize(Decimal("0.01"))
    placed = await om.place_order(buy(order_type="limit", limit_price=price, quantity=Decimal(quantity)))
    return placed.order_id, price


async def test_a_replace_is_binance_cancel_replace_and_survives_a_restart(fake: FakeBinance) -> None:
    broker = make_broker(fake)
    async with OrderManager(broker) as om:
        order_id, price = await _resting(om, broker)
        first = om.order(order_id).broker_order_id
        await om.replace_order(order_id, quantity=Decimal("0.03"), limit_price=price - 1)
        await settle(broker)
        after = om.order(order_id)
        assert (after.status, after.quantity, after.limit_price) == (S.ACCEPTED, Decimal("0.03"), price - 1)
        assert after.broker_order_id != first
        old, new = fake.account.orders[int(first or 0)], fake.account.orders[int(after.broker_order_id or 0)]
        assert (old.status, new.client_id, new.quantity) == ("CANCELED", f"{order_id}.r1", Decimal("0.03"))
    await broker.close()
    restarted = make_broker(fake)  # a new session knows only ntlab's id: it follows .r1 from the original
    try:
        found = await restarted.lookup_order(order_id)
        assert found is not None and found.order_id == order_id and found.status is S.ACCEPTED
        assert found.broker_order_id == after.broker_order_id
    finally:
        await restarted.close()


async def test_a_replace_the_exchange_half_does_is_read_back(fake: FakeBinance, broker: CcxtBroker) -> None:
    """Binance cancels the old order, then refuses the new one (-2021): ntlab's order is cancelled."""
    async with OrderManager(broker) as om:
        order_id, _ = await _resting(om, broker)
        await om.replace_order(order_id, quantity=Decimal(2))  # 2 BTC: more USDT than the account holds
        await settle(broker)
        order = om.order(order_id)
        assert order.status is S.CANCELLED and "refused its replacement" in (order.reason or "")


async def test_exchange_ids() -> None:
    from ntlab.errors import ConfigError

    with pytest.raises(ConfigError, match="no exchange"):
        CcxtBroker("nosuchexchange", "k", "s")
    url = "http://127.0.0.1:9/api"
    rest_only = CcxtBroker("bigone", "k", "s", urls={"public": url, "private": url})  # no ccxt pro
    assert rest_only.streaming == "poll"
    await rest_only.close()


async def test_markets_are_loaded_once_per_adapter(fake: FakeBinance, broker: CcxtBroker) -> None:
    async with OrderManager(broker) as om:
        await broker.load_markets()
        for _ in range(100):  # a reconnect and its reconciliation do not load them again
            if fake.drop_streams():
                break
            await asyncio.sleep(0.02)
        for _ in range(100):
            if broker.stats["reconnects"] and fake.calls[("GET", "openOrders")]:
                break
            await asyncio.sleep(0.05)
        await om.place_order(buy())
        assert broker.stats["reconnects"] >= 1 and fake.calls[("GET", "openOrders")] >= 1
        assert fake.calls[("GET", "exchangeInfo")] == 1


async def test_polling_backs_off_on_errors_and_recovers(caplog: pytest.LogCaptureFixture) -> None:
    async with FakeBinance(balances={"USDT": 1_000_000}) as fake:
        broker = make_broker(fake, stream=False, poll_interval=0.05)
        async with OrderManager(broker) as om:
            fake.faults.fail_next(3, 503, method="GET", path="/api/v3/openOrders")
            with caplog.at_level("WARNING", logger="ntlab.brokers.crypto.stream"):
                placed = await om.place_order(buy(quantity=Decimal(2)))  # fills over the next quotes
                for _ in range(100):
                    if om.order(placed.order_id).status is S.FILLED:
                        break
                    await fake.advance(1)
                    await asyncio.sleep(0.05)
            waits = [
                r.getMessage().rsplit("next in ", 1)[1] for r in caplog.records if "poll failed" in r.message
            ]
            assert waits == ["0.1s", "0.2s", "0.4s"]  # doubling from poll_interval, then back to it
            assert om.order(placed.order_id).status is S.FILLED
            assert {f.fill_id for f in om.fills()} == {f"{SYMBOL}#{t.trade_id}" for t in fake.account.trades}
        await broker.close()
