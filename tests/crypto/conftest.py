"""Fixtures: a fake Binance spot on a free loopback port, plain ccxt and the adapter pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import ccxt.pro as ccxtpro
import pytest

from ntlab.brokers.crypto import CcxtBroker
from ntlab.brokers.crypto.fake import FakeBinance


@pytest.fixture
async def fake() -> AsyncIterator[FakeBinance]:
    async with FakeBinance(balances={"USDT": 100_000, "BNB": 10}) as server:
        yield server


def plain_ccxt(fake: FakeBinance, **config: Any) -> Any:
    """Unmodified ccxt pro binance pointed at the fake through its URL override, as a user would."""
    options = {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False, "fetchMargins": False}
    exchange = ccxtpro.binance(
        {"apiKey": fake.api_key, "secret": fake.secret, "options": options, "enableRateLimit": False} | config
    )
    exchange.urls["api"] = exchange.urls["api"] | fake.ccxt_urls()
    return exchange


@pytest.fixture
async def exchange(fake: FakeBinance) -> AsyncIterator[Any]:
    made = plain_ccxt(fake)
    yield made
    await made.close()


def make_broker(fake: FakeBinance, **options: Any) -> CcxtBroker:
    options.setdefault("timeout", 2.0)
    options.setdefault("rate_limit", False)
    options.setdefault("symbols", ["BTC/USDT"])
    return CcxtBroker("binance", fake.api_key, fake.secret, urls=fake.ccxt_urls(), **options)


@pytest.fixture
async def broker(fake: FakeBinance) -> AsyncIterator[CcxtBroker]:
    adapter = make_broker(fake)
    yield adapter
    await adapter.close()
