"""Pre-trade risk on a real broker, against the local Alpaca fake over real HTTP: the check fetches what it
needs (a quote, the asset's short-sale flags) or refuses; it never lets an order through unchecked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest

from ntlab.brokers.alpaca import AlpacaBroker, mapping
from ntlab.brokers.alpaca.fake import FakeAlpaca
from ntlab.core import OrderManager, OrderRequest, OrderStatus, RiskLimits
from ntlab.core.broker import AssetFlags, AssetSource
from ntlab.errors import OrderRejected, Reason, RiskDenied
from ntlab.market import sample_market

# The fields alpaca-py's Asset model requires (alpaca/trading/models.py), plus the optional ones the fake sends.
ASSET_REQUIRED = {
    "id",
    "class",
    "exchange",
    "symbol",
    "status",
    "tradable",
    "marginable",
    "shortable",
    "fractionable",
}


@pytest.fixture
async def fake() -> AsyncIterator[FakeAlpaca]:
    market = sample_market(symbols=["AAPL", "NVDA", "SPY", "BTC/USD"])
    async with FakeAlpaca(market=market, rate_limit=None) as server:
        yield server


def adapter(fake: FakeAlpaca) -> AlpacaBroker:
    return AlpacaBroker(
        fake.key_id,
        fake.secret_key,
        base_url=fake.base_url,
        stream_url=fake.stream_url,
        data_url=fake.data_url,
        requests_per_minute=None,
        timeout=2.0,
        retry_initial=0.01,
    )


async def test_the_fake_serves_assets_as_alpaca_spells_them(fake):
    headers = {"APCA-API-KEY-ID": fake.key_id, "APCA-API-SECRET-KEY": fake.secret_key}
    async with httpx.AsyncClient(base_url=fake.base_url, headers=headers) as client:
        aapl = (await client.get("/v2/assets/AAPL")).json()
        assert set(aapl) >= ASSET_REQUIRED
        assert (aapl["class"], aapl["shortable"], aapl["easy_to_borrow"], aapl["borrow_status"]) == (
            "us_equity",
            True,
            True,
            "easy_to_borrow",
        )
        btc = (await client.get("/v2/assets/BTC%2FUSD")).json()
        assert (btc["class"], btc["exchange"], btc["shortable"]) == ("crypto", "CRYPTO", False)
        assert "borrow_status" not in btc  # omitted for assets other than US equities
        missing = await client.get("/v2/assets/ZZZZ")
        assert missing.status_code == 404
        assert missing.json() == {"code": 40410000, "message": "asset not found for ZZZZ"}
        fake.asset_overrides["SPY"] = {"easy_to_borrow": False}
        gme = (await client.get("/v2/assets/SPY")).json()
        assert (gme["shortable"], gme["easy_to_borrow"], gme["borrow_status"]) == (
            True,
            False,
            "hard_to_borrow",
        )


async def test_the_adapter_reads_the_flags_and_remembers_them(fake):
    broker = adapter(fake)
    try:
        assert isinstance(broker, AssetSource)
        assert broker.asset_flags("AAPL") is None  # nothing asked yet: no I/O from here
        assert await broker.fetch_asset_flags("AAPL") == AssetFlags("AAPL", True, True, True, True)
        assert broker.asset_flags("AAPL") == AssetFlags("AAPL", True, True, True, True)
        assert (await broker.fetch_asset_flags("BTC/USD")).shortable is False
        assert await broker.fetch_asset_flags("ZZZZ") is None
    finally:
        await broker.close()


def test_borrow_status_is_the_newer_word_and_wins():
    assert not mapping.asset_flags(
        "X", {"shortable": True, "easy_to_borrow": True, "borrow_status": "hard_to_borrow"}
    ).easy_to_borrow
    assert mapping.asset_flags("X", {"shortable": True, "easy_to_borrow": True}).easy_to_borrow
    assert not mapping.asset_flags("X", {}).shortable  # missing flags never read as yes


async def test_without_a_quote_the_manager_fetches_one_and_the_fat_finger_is_caught(fake):
    broker = adapter(fake)
    async with OrderManager(broker) as om:
        assert broker.last_quote("AAPL") is None  # nothing streamed in: before, no price check ran at all
        with pytest.raises(RiskDenied) as caught:
            await om.place_order(OrderRequest(symbol="AAPL", side="sell", quantity=1_000_000))
        assert caught.value.reason is Reason.MAX_NOTIONAL
        assert broker.last_quote("AAPL") is not None
        assert om.order(caught.value.order_id).status is OrderStatus.REJECTED
    assert fake.accepted_client_ids() == []  # it never reached the broker


async def test_no_quote_to_be_had_refuses_unless_turned_off(fake):
    broker = adapter(fake)
    async with OrderManager(broker) as om:
        with pytest.raises(RiskDenied) as caught:
            await om.place_order(OrderRequest(symbol="ZZZZ", side="buy", quantity=1))
        assert caught.value.reason is Reason.NO_REFERENCE_PRICE
    assert fake.accepted_client_ids() == []
    broker = adapter(fake)
    limits = RiskLimits(require_reference_price=False)
    async with OrderManager(broker, risk=limits) as om:
        with pytest.raises(OrderRejected, match="not found"):  # sent unchecked, as asked: Alpaca answered
            await om.place_order(OrderRequest(symbol="ZZZZ", side="buy", quantity=1))


async def test_short_sales_follow_alpacas_asset_flags(fake):
    fake.asset_overrides["SPY"] = {"easy_to_borrow": False}
    broker = adapter(fake)
    async with OrderManager(broker) as om:
        shorted = await om.place_order(OrderRequest(symbol="NVDA", side="sell", quantity=Decimal(10)))
        assert shorted.status is OrderStatus.ACCEPTED
        with pytest.raises(RiskDenied) as caught:
            await om.place_order(OrderRequest(symbol="SPY", side="sell", quantity=Decimal(10)))
        assert caught.value.reason is Reason.NO_LOCATE and "hard to borrow" in str(caught.value)
    assert fake.accepted_client_ids() == [shorted.order_id]
    broker = adapter(fake)
    async with OrderManager(broker, risk=RiskLimits(locates=["SPY"])) as om:
        located = await om.place_order(OrderRequest(symbol="SPY", side="sell", quantity=Decimal(10)))
        assert located.status is OrderStatus.ACCEPTED
