from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from ntlab.brokers.oanda import OandaBroker
from ntlab.brokers.oanda.fake import FAKE_TOKEN, FakeOanda
from ntlab.core import OrderManager, OrderRequest
from tests.conformance.conftest import RISK


@pytest.fixture
async def fake() -> AsyncIterator[FakeOanda]:
    async with FakeOanda(cash=1_000_000, heartbeat=0.2) as served:
        yield served


def broker_for(fake: FakeOanda, **options: Any) -> OandaBroker:
    """The adapter pointed at the fake, with short waits (the fake answers at once)."""
    options.setdefault("timeout", 2.0)
    options.setdefault("retry_initial", 0.01)
    options.setdefault("gap_wait", 0.05)
    options.setdefault("idle_timeout", 3.0)
    return OandaBroker(FAKE_TOKEN, fake.account_id, base_url=fake.base_url, **options)


async def settle(fake: FakeOanda, broker: OandaBroker) -> None:
    """Until the adapter's feed has applied every transaction the fake has made (bounded)."""
    for _ in range(300):
        stream = broker.transactions
        listening = stream is None or stream.listening.is_set()
        if listening and broker.feed.applied >= fake.last_transaction_id:
            break
        await asyncio.sleep(0.01)
    await fake.hub.drain()
    await asyncio.sleep(0.02)


def eurusd(**fields: object) -> OrderRequest:
    """An EUR/USD request: a 10,000-unit market buy unless ``fields`` say otherwise."""
    base: dict[str, object] = {"symbol": "EUR/USD", "side": "buy", "quantity": 10_000}
    return OrderRequest(**(base | fields))  # type: ignore[arg-type]


async def manager(fake: FakeOanda, broker: OandaBroker) -> OrderManager:
    """A started manager on the adapter, with short waits, once it has read the fake's log."""
    om = OrderManager(broker, risk=RISK, submit_timeout=1.5, retry_initial=0.01)
    await om.start()
    await settle(fake, broker)
    return om
