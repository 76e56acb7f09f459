"""Fixtures: a fake Alpaca on a free loopback port and an adapter pointed at it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import pytest

from ntlab.brokers.alpaca import AlpacaBroker
from ntlab.brokers.alpaca.fake import FakeAlpaca
from ntlab.brokers.alpaca.fake_feed import SyntheticFeed
from ntlab.core import OrderManager


@pytest.fixture
async def fake() -> AsyncIterator[FakeAlpaca]:
    """A fake with its own seeded prices, so these tests do not move when the sample market changes."""
    async with FakeAlpaca(feed=SyntheticFeed(), rate_limit=None) as server:
        yield server


def make_broker(fake: FakeAlpaca, **options: Any) -> AlpacaBroker:
    options.setdefault("requests_per_minute", None)
    options.setdefault("timeout", 2.0)
    options.setdefault("retry_initial", 0.01)
    return AlpacaBroker(
        fake.key_id, fake.secret_key, base_url=fake.base_url, stream_url=fake.stream_url, **options
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
        await asyncio.sleep(0.02)
        await broker.wait_idle()


def assert_invariants(fake: FakeAlpaca, om: OrderManager) -> None:
    """Nothing lost, nothing doubled: the fake and ntlab agree on orders, fills and positions."""
    accepted = fake.accepted_client_ids()
    assert len(accepted) == len(set(accepted)), "an order was placed twice"
    ours = {o.order_id for o in om.orders()}
    assert set(accepted) <= ours | {o for o in accepted if "~r" in o}
    made = {(f["order_id"], f["cum_qty"]) for f in fake.fills()}
    booked = {tuple(f.fill_id.rsplit(":", 1)) for f in om.fills()}
    assert made == booked, f"fills differ: fake only {made - booked}, ntlab only {booked - made}"
    fake_positions = {s: Decimal(q) for s, q in fake.positions().items()}
    ours_positions = {p.symbol: p.quantity for p in om.positions() if p.quantity}
    assert ours_positions == fake_positions
    for order in om.orders():
        chain = [o for cid, o in fake.book.by_client_id.items() if cid.split("~r")[0] == order.order_id]
        if chain:
            assert order.filled_quantity == sum(o.filled_qty for o in chain), order.order_id
