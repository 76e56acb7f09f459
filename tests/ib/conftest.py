"""Fixtures: a fake TWS on a free loopback port, an IBBroker on it, and ib_async's own client beside them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from ib_async import IB

from ntlab.brokers.ib import IBBroker
from ntlab.brokers.ib.fake import FakeTWS
from ntlab.core import OrderManager


@pytest.fixture
async def fake() -> AsyncIterator[FakeTWS]:
    async with FakeTWS() as server:
        yield server


def make_broker(fake: FakeTWS, **options: Any) -> IBBroker:
    options.setdefault("timeout", 2.0)
    options.setdefault("reconnect_initial", 0.02)
    options.setdefault("reconnect_max", 0.2)
    options.setdefault("commission_wait", 0.5)
    return IBBroker(port=fake.port, **options)


@pytest.fixture
async def broker(fake: FakeTWS) -> AsyncIterator[IBBroker]:
    adapter = make_broker(fake)
    yield adapter
    await adapter.close()


@pytest.fixture
async def ib(fake: FakeTWS) -> AsyncIterator[IB]:
    """Unmodified ib_async, connected as client 7, with every startup request made and answered."""
    client = IB()
    await client.connectAsync("127.0.0.1", fake.port, clientId=7, timeout=3, raiseSyncErrors=True)
    yield client
    client.disconnect()


async def wait_until(condition: Callable[[], bool], *, rounds: int = 300, pause: float = 0.01) -> None:
    """Poll a condition a bounded number of times; fail with a clear message if it never holds."""
    for _ in range(rounds):
        if condition():
            return
        await asyncio.sleep(pause)
    raise AssertionError("condition never held")


async def settle(fake: FakeTWS, broker: IBBroker) -> None:
    """Let every message the fake sent reach the adapter and every report the manager."""
    await wait_until(lambda: broker.connected)
    for _ in range(3):
        await asyncio.sleep(0.02)
        for session in list(fake.sessions.values()):
            await session.hub.drain()
        await broker.wait_idle()


async def run_until(
    condition: Callable[[], bool], fake: FakeTWS, broker: IBBroker, *, step: float = 2.0, rounds: int = 60
) -> None:
    """Move the fake's market until ``condition()`` holds (bounded)."""
    for _ in range(rounds):
        await settle(fake, broker)
        if condition():
            return
        await fake.advance(step)
    raise AssertionError("the condition never held")


def assert_agree(fake: FakeTWS, om: OrderManager) -> None:
    """Nothing lost, nothing doubled: the fake TWS and ntlab agree on orders, fills and positions."""
    refs = fake.order_refs()
    assert len(refs) == len(set(refs)), f"an order was placed twice: {refs}"
    assert {e.exec_id for e in fake.executions} == {f.fill_id for f in om.fills()}
    assert {p.symbol: p.quantity for p in om.positions() if p.quantity} == fake.positions()
