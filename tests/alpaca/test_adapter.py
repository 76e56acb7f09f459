"""AlpacaBroker against the fake: every REST call, the gate, the budget, and secrets kept out of sight."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import SecretStr

from ntlab.brokers.alpaca import LIVE_URL, PAPER_URL, AlpacaBroker
from ntlab.brokers.alpaca.ratelimit import RateLimiter
from ntlab.config import ExecutionConfig
from ntlab.core import (
    Accepted,
    Cancelled,
    Filled,
    Order,
    OrderManager,
    OrderRequest,
    OrderStatus,
    OrderType,
    OrderUpdate,
    Rejected,
    Replaced,
    ReplaceRejected,
    Side,
    TimeInForce,
)
from ntlab.core.broker import Broker
from ntlab.core.lifecycle import ReplaceChange
from ntlab.errors import AuthenticationError, BrokerTimeout, LiveTradingError

from .conftest import make_broker, wait_until

NOW = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
KEY, SECRET = "PKGATETESTKEY0000001", "gate-test-secret-value-000000000001"


def new_order(order_id: str, **over) -> Order:
    data = dict(
        order_id=order_id,
        symbol="AAPL",
        side=Side.BUY,
        quantity=Decimal(10),
        order_type=OrderType.MARKET,
        time_in_force=TimeInForce.DAY,
        status=OrderStatus.PENDING,
        created_at=NOW,
        updated_at=NOW,
    )
    data.update(over)
    return Order(**data)


class Sink:
    def __init__(self) -> None:
        self.updates: list[OrderUpdate] = []

    async def handle_order_update(self, update: OrderUpdate) -> None:
        self.updates.append(update)

    async def handle_order_updates(self, updates) -> None:
        self.updates.extend(updates)


def test_it_is_a_broker(broker):
    assert isinstance(broker, Broker)
    assert broker.local is False and broker.name == "alpaca"


async def test_round_trip_of_every_call(fake, broker):
    sink = Sink()
    await broker.connect(sink)
    acct = await broker.alpaca_account()
    assert acct.status == "ACTIVE" and acct.cash == Decimal(100_000)
    [ack] = await broker.submit_order(new_order("t-000001"))
    assert isinstance(ack, Accepted) and ack.broker_order_id
    limit = new_order(
        "t-000002", order_type=OrderType.LIMIT, limit_price=Decimal("100"), time_in_force=TimeInForce.GTC
    )
    await broker.submit_order(limit)
    found = await broker.lookup_order("t-000002")
    assert found is not None and found.status is OrderStatus.ACCEPTED and found.limit_price == 100
    assert await broker.lookup_order("never-sent") is None
    assert {o.order_id for o in await broker.open_orders()} == {"t-000001", "t-000002"}
    await fake.advance(1)
    await wait_until(lambda: any(isinstance(u, Filled) for u in sink.updates))
    [fill] = await broker.fills_since(None)
    assert fill.order_id == "t-000001" and fill.quantity == 10
    assert [p.quantity for p in await broker.positions()] == [Decimal(10)]
    [replaced] = await broker.replace_order(limit, ReplaceChange(limit_price=Decimal("101")))
    assert isinstance(replaced, Replaced) and replaced.order_id == "t-000002" and replaced.limit_price == 101
    new = await broker.lookup_order("t-000002")
    assert new.broker_order_id == replaced.broker_order_id and new.limit_price == 101
    assert await broker.cancel_order(limit) == []
    assert (await broker.lookup_order("t-000002")).status is OrderStatus.CANCELLED
    again = await broker.cancel_order(limit)
    assert any(isinstance(u, Cancelled) for u in again)
    assert [o.order_id for o in await broker.closed_orders()] == ["t-000001", "t-000002", "t-000002"]
    await wait_until(lambda: any(isinstance(u, Cancelled) for u in sink.updates))
    await broker.close()
    await broker.close()


async def test_broker_refusals_become_rejections(fake, broker):
    [rejected] = await broker.submit_order(new_order("t-000009", quantity=Decimal(10_000)))
    assert isinstance(rejected, Rejected)
    assert "40310000" in rejected.reason and "insufficient buying power" in rejected.reason
    [bad] = await broker.submit_order(new_order("t-000010", symbol="NOPE"))
    assert isinstance(bad, Rejected) and "422" in bad.reason
    [refused] = await broker.replace_order(new_order("t-000011"), ReplaceChange(quantity=Decimal(5)))
    assert isinstance(refused, ReplaceRejected)


async def test_bad_keys_are_an_authentication_error(fake):
    adapter = AlpacaBroker(
        fake.key_id, "wrong-secret-value", base_url=fake.base_url, requests_per_minute=None
    )
    with pytest.raises(AuthenticationError) as caught:
        await adapter.connect(Sink())
    assert "wrong-secret-value" not in str(caught.value)
    await adapter.close()


def test_live_host_needs_the_gate():
    # keys as long as real ones: they are registered for redaction, and a one-letter key would mask every
    # "k" other tests print
    with pytest.raises(LiveTradingError):
        AlpacaBroker(KEY, SECRET, base_url=LIVE_URL)
    paper = ExecutionConfig(broker="alpaca", broker_api_key=KEY, broker_secret_key=SECRET)
    assert AlpacaBroker.from_config(paper).base_url == PAPER_URL
    half = ExecutionConfig(
        broker="alpaca", enable_live_trading=True, broker_api_key=KEY, broker_secret_key=SECRET
    )
    assert AlpacaBroker.from_config(half).base_url == PAPER_URL
    with pytest.raises(LiveTradingError):
        AlpacaBroker.from_config(half, base_url=LIVE_URL)
    live = ExecutionConfig(
        broker="alpaca",
        enable_live_trading=True,
        paper_trading=False,
        broker_api_key=KEY,
        broker_secret_key=SECRET,
    )
    broker = AlpacaBroker.from_config(live)
    assert broker.base_url == LIVE_URL and broker.live
    assert broker.stream_url == "wss://api.alpaca.markets/stream"


async def test_secrets_stay_out_of_reprs_logs_and_errors(fake, caplog):
    secret = fake.secret_key
    caplog.set_level(logging.DEBUG)
    broker = make_broker(fake)
    text = repr(broker) + str(broker)
    sink = Sink()
    await broker.connect(sink)
    await broker.submit_order(new_order("s-000001"))
    fake.faults.fail_next(1, path="/v2/account")
    fake.faults.fail_next(3, path="/v2/positions")
    await broker.account()
    try:
        await broker.positions()
    except Exception as error:
        text += repr(error) + str(error)
    await fake.advance(1)
    await wait_until(lambda: len(sink.updates) >= 2)
    await broker.close()
    text += caplog.text + repr(broker.stream)
    assert secret not in text and SecretStr(secret).get_secret_value() not in text
    assert "fake-paper-secret" not in caplog.text


async def test_retry_after_is_honoured(fake, broker):
    fake.faults.rate_limit_next(2, retry_after=1, path="/v2/orders")
    async with OrderManager(broker, id_prefix="r", retry_initial=0.01) as om:
        placed = await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=10))
    assert placed.status is OrderStatus.ACCEPTED
    assert broker.limiter.pauses == [1.0, 1.0]
    assert fake.accepted_client_ids() == ["r-000001"]
    assert fake.orders.attempts == ["r-000001"]  # the two 429s never reached the book


async def test_budget_keeps_every_minute_under_the_limit():
    clock = [0.0]
    sent: list[float] = []

    async def sleep(seconds: float) -> None:
        clock[0] += seconds

    limiter = RateLimiter(200, clock=lambda: clock[0], sleep=sleep)
    for _ in range(1000):
        await limiter.acquire()
        sent.append(clock[0])
    for i, start in enumerate(sent):
        in_window = sum(1 for t in sent[i:] if t < start + 60)
        assert in_window <= 200
    assert sent[-1] < 60 * 1000 / 180 + 1  # and it does not dawdle: ~180/min after the burst
    limiter.pause(5)
    before = clock[0]
    await limiter.acquire()
    assert clock[0] - before >= 5


async def test_unlimited_budget_never_waits():
    limiter = RateLimiter(None)
    for _ in range(10):
        await limiter.acquire()
    assert limiter.waited == 0


async def test_a_submit_answered_with_5xx_is_looked_up_not_sent_again(fake, broker):
    """503 after Alpaca took the order: the manager asks for its client id and takes in what it finds."""
    fake.faults.fail_next(1, 503, method="POST", path="/v2/orders", after_processing=True)
    async with OrderManager(broker, id_prefix="dup", retry_initial=0.01) as om:
        placed = await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=10))
        assert placed.status is OrderStatus.ACCEPTED and placed.broker_order_id
    assert fake.orders.attempts == ["dup-000001"] and fake.accepted_client_ids() == ["dup-000001"]
    assert broker.stats["lookups"] == 1


async def test_when_the_lookup_fails_too_the_order_waits_for_the_stream(fake, broker):
    """No answer and no lookup: it may be live, so it is not sent again; the stream settles it."""
    fake.faults.fail_next(1, 503, method="POST", path="/v2/orders", after_processing=True)
    fake.faults.fail_next(3, 500, method="GET", path="/v2/orders:by_client_order_id")
    async with OrderManager(broker, id_prefix="dup", retry_initial=0.01) as om:
        await wait_until(lambda: broker.stream is not None and broker.stream.listening.is_set())
        with pytest.raises(BrokerTimeout, match="may or may not be live"):
            await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=10))
        assert om.order("dup-000001").status in (OrderStatus.PENDING, OrderStatus.ACCEPTED)
        await wait_until(lambda: om.order("dup-000001").status is not OrderStatus.PENDING)
        assert om.order("dup-000001").broker_order_id
    assert fake.orders.attempts == ["dup-000001"]


async def test_a_submit_that_never_arrived_is_sent_again_with_the_same_id(fake, broker):
    """Resets before Alpaca took it: looked up (404), then sent again with the same id, 3 sends at most."""
    fake.faults.reset_next(2, method="POST", path="/v2/orders")
    async with OrderManager(broker, id_prefix="lost", retry_initial=0.01) as om:
        placed = await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=10))
    assert placed.status is OrderStatus.ACCEPTED
    assert fake.orders.attempts == ["lost-000001"] and broker.stats["lookups"] == 2


async def test_at_most_three_sends_in_all(fake, broker):
    fake.faults.reset_next(5, method="POST", path="/v2/orders")
    async with OrderManager(broker, id_prefix="gone", retry_initial=0.01) as om:
        with pytest.raises(Exception, match="did not reach alpaca after retries"):
            await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=10))
        assert om.order("gone-000001").status is OrderStatus.REJECTED
    assert fake.faults.hits["reset"] == 3 and fake.orders.attempts == []


async def test_latest_quote_feeds_last_quote(fake, broker):
    assert broker.last_quote("AAPL") is None
    quote = await broker.fetch_quote("AAPL")
    engine = fake.engine.quote("AAPL")
    assert quote is not None and (quote.bid, quote.ask, quote.bid_size, quote.ask_size) == (
        engine.bid,
        engine.ask,
        engine.bid_size,
        engine.ask_size,
    )
    assert broker.last_quote("AAPL") == quote
    assert await broker.fetch_quote("ZZZZ") is None
    assert await broker.fetch_quote("BTC/USD") is None  # the stock data API has no crypto
