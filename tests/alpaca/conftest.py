"""Fixtures: a fake Alpaca on free loopback ports and an adapter pointed at it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import pytest

from ntlab.brokers.alpaca import AlpacaBroker
from ntlab.brokers.alpaca.fake import FakeAlpaca
from ntlab.core import OrderManager
from ntlab.market import sample_market

SYMBOLS = ["AAPL", "MSFT", "NVDA", "SPY", "BTC/USD", "EUR/USD"]


@pytest.fixture
async def fake() -> AsyncIterator[FakeAlpaca]:
    """A fake on the sample market (its FX pair is one Alpaca does not trade)."""
    async with FakeAlpaca(market=sample_market(symbols=SYMBOLS), rate_limit=None) as server:
        yield server


def make_broker(fake: FakeAlpaca, **options: Any) -> AlpacaBroker:
    options.setdefault("requests_per_minute", None)
    options.setdefault("timeout", 2.0)
    options.setdefault("retry_initial", 0.01)
    return AlpacaBroker(
        fake.key_id,
        fake.secret_key,
        base_url=fake.base_url,
        stream_url=fake.stream_url,
        data_url=fake.data_url,
        data_stream_url=fake.data_stream_url,
        **options,
    )


@pytest.fixture
async def broker(fake: FakeAlpaca) -> AsyncIterator[AlpacaBroker]:
    adapter = make_broker(fake)
    yield adapter
    await adapter.close()


async def wait_until(condition: Callable[[], bool], *, rounds: int = 500, pause: float = 0.01) -> None:
    """Poll a condition a bounded number of times; fail with a clear message if it never holds."""
    for _ in range(rounds):
        if condition():
            return
        await asyncio.sleep(pause)
    raise AssertionError("condition never held")


async def settle(fake: FakeAlpaca, om: OrderManager, broker: AlpacaBroker) -> None:
    """Let the stream deliver everything the fake has sent and the manager apply it."""
    await wait_until(lambda: broker.stream is not None and broker.stream.listening.is_set())
    for _ in range(3):
        await fake.hub.drain()
        await asyncio.sleep(0.02)
        await broker.wait_idle()


def assert_invariants(fake: FakeAlpaca, om: OrderManager) -> None:
    """Nothing lost, nothing doubled: the fake and ntlab agree on orders, fills and positions."""
    accepted = fake.accepted_client_ids()
    assert len(accepted) == len(set(accepted)), "an order was placed twice"
    assert set(accepted) <= {o.order_id for o in om.orders()}
    made = {(f["order_id"], f["cum_qty"]) for f in fake.fills()}
    booked = {tuple(f.fill_id.rsplit(":", 1)) for f in om.fills()}
    assert made == booked, f"fills differ: fake only {made - booked}, ntlab only {booked - made}"
    ours = {p.symbol: p.quantity for p in om.positions() if p.quantity}
    assert ours == fake.positions()
    for order in om.orders():
        engine_order = (
            fake.engine.order(fake.orders.by_client(order.order_id).key)
            if order.order_id in fake.orders.by_client_id
            else None
        )
        if engine_order is not None:
            assert order.filled_quantity == engine_order.filled_quantity, order.order_id


def alpaca_status(fake: FakeAlpaca, order_id: str) -> tuple[str, Decimal]:
    """The status and filled quantity the fake shows for the live incarnation of an ntlab order."""
    record = fake.orders.by_key[fake.orders.by_client(order_id).key]
    return record.status, record.filled_qty
