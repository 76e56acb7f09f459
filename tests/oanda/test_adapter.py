"""OandaBroker against the fake over real HTTP and its chunked streams: units and Decimal prices end to end,
a replace that keeps ntlab's id, refusals with their reasons, a submit whose answer is lost (looked up by
``@<id>``, placed once), catch-up from ``sinceid`` after a dropped stream, the gate and the token."""

from __future__ import annotations

import asyncio
import json
import logging
from decimal import Decimal
from pathlib import Path

import httpx
import orjson
import pytest

from ntlab.brokers.oanda import LIVE_URL, PRACTICE_URL, OandaBroker
from ntlab.brokers.oanda.fake import FAKE_TOKEN, FakeOanda
from ntlab.config import ExecutionConfig
from ntlab.core import OrderStatus
from ntlab.core.reports import Rejected
from ntlab.errors import AuthenticationError, ConfigError, LiveTradingError, OrderRejected
from tests.oanda.conftest import broker_for, eurusd, manager, settle

S = OrderStatus


async def test_a_market_order_fills_in_units_at_a_decimal_price(fake: FakeOanda) -> None:
    broker = broker_for(fake)
    om = await manager(fake, broker)
    try:
        placed = await om.place_order(eurusd(side="sell", quantity=25_000))
        await settle(fake, broker)
        done = om.order(placed.order_id)
        assert done.status is S.FILLED and done.filled_quantity == Decimal(25_000)
        (fill,) = om.fills()
        assert isinstance(fill.price, Decimal) and fill.price.as_tuple().exponent == -5  # EUR/USD's precision
        (wire,) = fake.fills()
        assert fill.fill_id == wire["id"] and str(fill.price) == wire["price"]
        assert {p.symbol: p.quantity for p in await broker.positions()} == {"EUR/USD": Decimal(-25_000)}
        assert fake.client_ids() == [placed.order_id]  # ntlab's id rode in clientExtensions.id
        summary = await broker.oanda_account()
        assert summary.currency == "USD" and isinstance(summary.nav, Decimal)
    finally:
        await om.close()


async def test_a_replace_keeps_ntlabs_id_and_records_the_new_v20_order(fake: FakeOanda) -> None:
    broker = broker_for(fake)
    om = await manager(fake, broker)
    try:
        quote = await broker.fetch_quote("EUR/USD")
        assert quote is not None and quote.bid < quote.ask
        far = (quote.bid * Decimal("0.97")).quantize(Decimal("0.00001"))
        placed = await om.place_order(eurusd(order_type="limit", limit_price=far, time_in_force="gtc"))
        await settle(fake, broker)
        first = om.order(placed.order_id).broker_order_id
        lower = far - Decimal("0.00100")
        await om.replace_order(placed.order_id, limit_price=lower)
        await settle(fake, broker)
        now = om.order(placed.order_id)
        assert now.status is S.ACCEPTED and now.limit_price == lower
        assert now.broker_order_id != first  # v20 cancelled the order and created its replacement
        found = await broker.lookup_order(placed.order_id)
        assert found is not None and found.broker_order_id == now.broker_order_id
        assert found.limit_price == lower
        await om.cancel_order(placed.order_id)
        await settle(fake, broker)
        assert om.order(placed.order_id).status is S.CANCELLED
        assert await broker.open_orders() == []
    finally:
        await om.close()


async def test_refusals_carry_v20s_reason(fake: FakeOanda) -> None:
    broker = broker_for(fake)
    om = await manager(fake, broker)
    try:
        with pytest.raises(OrderRejected, match="INSUFFICIENT_MARGIN") as refused:
            await om.place_order(eurusd(quantity=90_000_000))  # more than the margin carries
        refusal = om.order(refused.value.order_id or "")
        assert refusal.status is S.REJECTED and refusal.reason_code == "insufficient_funds"
        # an instrument OANDA does not list: the manager's risk checks stop it first, so ask the adapter
        unknown = refusal._replace(order_id="unknown-1", symbol="XAU/XYZ", status=S.PENDING, reason=None)
        (report,) = await broker.submit_order(unknown)
        assert isinstance(report, Rejected) and report.code == "unknown_symbol"
    finally:
        await om.close()


@pytest.mark.parametrize("fault", ["stall", "reset after", "server error"])
async def test_a_submit_whose_answer_is_lost_is_looked_up_and_placed_once(
    fake: FakeOanda, fault: str
) -> None:
    where = {"method": "POST", "path": f"/v3/accounts/{fake.account_id}/orders"}
    if fault == "stall":
        fake.faults.stall_next(1, seconds=3.0, after_processing=True, **where)
    elif fault == "reset after":
        fake.faults.reset_next(1, after_processing=True, **where)
    else:
        fake.faults.fail_next(1, 503, after_processing=True, **where)
    broker = broker_for(fake, timeout=1.0)
    om = await manager(fake, broker)
    try:
        placed = await om.place_order(eurusd())
        await settle(fake, broker)
        assert om.order(placed.order_id).status is S.FILLED
        assert fake.client_ids() == [placed.order_id] and len(fake.fills()) == 1
        assert broker.stats["lookups"] >= 1  # found by GET .../orders/@<id>
        assert sum(fake.faults.hits.values()) == 1
    finally:
        await om.close()


async def test_a_dropped_stream_catches_up_from_sinceid_and_reconciles(fake: FakeOanda) -> None:
    broker = broker_for(fake)
    om = await manager(fake, broker)
    try:
        quote = await broker.fetch_quote("EUR/USD")
        assert quote is not None
        through = (quote.ask * Decimal("1.0005")).quantize(Decimal("0.00001"))
        big = await om.place_order(
            eurusd(quantity=5_000_000, order_type="limit", limit_price=through, time_in_force="gtc")
        )
        await settle(fake, broker)
        before = om.order(big.order_id).filled_quantity
        catch_ups, sweeps = broker.feed.catch_ups, broker.stats["sweeps"]
        assert fake.drop_streams() == 1
        await fake.advance(30)  # fills meanwhile, streamed to nobody
        await settle(fake, broker)
        for _ in range(100):
            if broker.stats["sweeps"] > sweeps:
                break
            await asyncio.sleep(0.02)
        assert broker.feed.catch_ups > catch_ups and broker.stats["sweeps"] > sweeps
        after = om.order(big.order_id)
        assert after.filled_quantity > before
        assert {f.fill_id for f in om.fills()} == {t["id"] for t in fake.fills()}
        assert broker.feed.applied == fake.last_transaction_id
    finally:
        await om.close()


async def test_the_transaction_stream_is_chunked_json_lines_with_heartbeats(fake: FakeOanda) -> None:
    path = f"/v3/accounts/{fake.account_id}/transactions/stream"
    headers = {"Authorization": f"Bearer {FAKE_TOKEN}"}
    lines: list[dict[str, object]] = []
    client = httpx.AsyncClient(base_url=fake.base_url, headers=headers, timeout=5)
    async with client, client.stream("GET", path) as response:
        assert response.status_code == 200
        assert response.headers.get("Transfer-Encoding") == "chunked"
        fake.place({"type": "MARKET", "instrument": "EUR_USD", "units": "1000"})
        async for line in response.aiter_lines():
            if line:
                lines.append(orjson.loads(line))
            kinds = {item["type"] for item in lines}
            if "HEARTBEAT" in kinds and "ORDER_FILL" in kinds:
                break
    heartbeat = next(item for item in lines if item["type"] == "HEARTBEAT")
    assert heartbeat["lastTransactionID"] and heartbeat["time"]
    fill = next(item for item in lines if item["type"] == "ORDER_FILL")
    assert isinstance(fill["units"], str) and isinstance(fill["price"], str)


async def test_the_pricing_stream_feeds_last_quote(fake: FakeOanda) -> None:
    broker = broker_for(fake, quotes=["EUR/USD"])
    om = await manager(fake, broker)
    try:
        for _ in range(100):
            if broker.last_quote("EUR/USD") is not None:
                break
            await fake.advance(1)
            await asyncio.sleep(0.02)
        quote = broker.last_quote("EUR/USD")
        assert quote is not None and isinstance(quote.bid, Decimal) and quote.bid < quote.ask
        assert broker.pips("EUR/USD", quote.ask - quote.bid) > 0
    finally:
        await om.close()


# --- the gate and the token ---------------------------------------------------------------------------------


def test_practice_by_default_and_live_only_behind_the_gate() -> None:
    assert OandaBroker("t").base_url == PRACTICE_URL
    with pytest.raises(LiveTradingError, match="ENABLE_LIVE_TRADING"):
        OandaBroker("t", base_url=LIVE_URL)
    with pytest.raises(LiveTradingError):
        OandaBroker("t", stream_url="https://stream-fxtrade.oanda.com")
    half = ExecutionConfig(enable_live_trading=True, paper_trading=True, broker="oanda")
    with pytest.raises(LiveTradingError):
        OandaBroker("t", base_url=LIVE_URL, config=half)
    live = ExecutionConfig(enable_live_trading=True, paper_trading=False, broker="oanda")
    opened = OandaBroker("t", config=live)
    assert opened.live and opened.base_url == LIVE_URL


def test_from_config_needs_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OANDA_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="OANDA_TOKEN"):
        OandaBroker.from_config(ExecutionConfig(broker="oanda"))
    with pytest.raises(ConfigError, match="token"):
        OandaBroker("")
    monkeypatch.setenv("OANDA_TOKEN", "from-the-env-secret")
    monkeypatch.setenv("OANDA_ACCOUNT_ID", "101-001-1-001")
    broker = OandaBroker.from_config(ExecutionConfig(broker="oanda"))
    assert broker.account_id == "101-001-1-001" and broker.base_url == PRACTICE_URL


async def test_a_wrong_token_says_so(fake: FakeOanda) -> None:
    broker = OandaBroker("not-the-token", fake.account_id, base_url=fake.base_url, timeout=2.0)
    with pytest.raises(AuthenticationError, match="token") as raised:
        await broker.oanda_account()
    assert "not-the-token" not in str(raised.value)
    await broker.close()


async def test_the_token_is_never_shown(fake: FakeOanda, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    fake.faults.fail_next(1, 503, method="POST", path=f"/v3/accounts/{fake.account_id}/orders")
    broker = broker_for(fake)
    om = await manager(fake, broker)
    try:
        await om.place_order(eurusd())
        await settle(fake, broker)
        shown = [repr(broker), str(broker), repr(broker.rest), repr(ExecutionConfig(oanda_token=FAKE_TOKEN))]
        shown += [r.getMessage() for r in caplog.records]
        shown += [repr(o) for o in om.orders()] + [repr(f) for f in om.fills()]
        assert all(FAKE_TOKEN not in text for text in shown)
        assert "token='***'" in repr(broker)
    finally:
        await om.close()


def test_the_saved_notebook_never_shows_the_token() -> None:
    saved = (Path(__file__).parents[2] / "notebooks" / "07_fx_oanda.ipynb").read_text()
    outputs = [o for c in json.loads(saved)["cells"] for o in c.get("outputs", [])]
    assert outputs and "token='***'" in saved  # saved executed, the adapter's repr masked
    assert FAKE_TOKEN not in json.dumps(outputs)
