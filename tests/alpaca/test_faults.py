"""Faults with nothing lost: after each, the fake placed every order once, and ntlab holds every fill the
fake made and the same positions. Real HTTP and websocket traffic on 127.0.0.1, the real OrderManager."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from ntlab.brokers.alpaca import mapping
from ntlab.brokers.alpaca.fake import FakeAlpaca
from ntlab.core import OrderManager, OrderRequest, OrderStatus

from .conftest import assert_invariants, make_broker, settle

Setup = Callable[[FakeAlpaca], Any]


def requests() -> list[OrderRequest]:
    """A mix: market buys and sells that fill over a few seconds, limits that rest, one that crosses."""
    out = []
    for i in range(4):
        out.append(OrderRequest(symbol="AAPL", side="buy", quantity=Decimal(20 + i)))
        out.append(OrderRequest(symbol="NVDA", side="sell", quantity=Decimal(150 + 100 * i)))
        out.append(
            OrderRequest(
                symbol="MSFT",
                side="buy",
                quantity=Decimal(5),
                order_type="limit",
                limit_price=Decimal("400.00"),
                time_in_force="gtc",
                allow_duplicate=True,
            )
        )
    out.append(
        OrderRequest(
            symbol="SPY",
            side="buy",
            quantity=Decimal(30),
            order_type="limit",
            limit_price=Decimal("520.00"),
            time_in_force="day",
        )
    )
    return out


async def session(fake: FakeAlpaca, om: OrderManager, broker: Any, during: Setup | None = None) -> None:
    responses = await asyncio.gather(*(om.place_order(r) for r in requests()))
    assert all(r.status is not OrderStatus.REJECTED for r in responses), responses
    for step in range(6):
        if during is not None and step == 1:
            during(fake)
        await fake.advance(1)
        await asyncio.sleep(0.01)
    await settle(fake, om, broker)
    await om.cancel_all()
    await fake.advance(1)
    await settle(fake, om, broker)


def check_statuses(fake: FakeAlpaca, om: OrderManager) -> None:
    for order in om.orders():
        held = fake.orders.by_client_id[order.order_id]
        assert order.status is mapping.order_status(held.status, held.filled_qty), order.order_id


HTTP_FAULTS: dict[str, Setup] = {
    "500 before acceptance": lambda f: f.faults.fail_next(3, 500, method="POST", path="/v2/orders"),
    "503 after acceptance": lambda f: f.faults.fail_next(
        3, 503, method="POST", path="/v2/orders", after_processing=True
    ),
    "429 with Retry-After": lambda f: f.faults.rate_limit_next(3, retry_after=1, method="POST"),
    "read timeout after acceptance": lambda f: f.faults.stall_next(3, 1.5, method="POST", path="/v2/orders"),
    "connection reset before acceptance": lambda f: f.faults.reset_next(3, method="POST", path="/v2/orders"),
    "connection reset after acceptance": lambda f: f.faults.reset_next(
        3, method="POST", path="/v2/orders", after_processing=True
    ),
    "5xx on cancel and lookups": lambda f: (
        f.faults.fail_next(2, 502, method="DELETE"),
        f.faults.fail_next(2, 500, method="GET"),
    ),
}


@pytest.mark.parametrize("fault", list(HTTP_FAULTS), ids=list(HTTP_FAULTS))
async def test_http_faults_lose_nothing(fake, tmp_path, fault):
    broker = make_broker(fake, timeout=0.4)
    async with OrderManager(broker, journal=tmp_path / "j.sqlite") as om:
        HTTP_FAULTS[fault](fake)
        await session(fake, om, broker)
        assert sum(fake.faults.hits.values()) > 0, "the fault never fired"
        assert_invariants(fake, om)
        check_statuses(fake, om)
        assert not om.orders(open_only=True)


STREAM_FAULTS: dict[str, Setup] = {
    "websocket dropped mid-stream": lambda f: setattr(f.faults, "drop_stream_after", 3),
    "duplicated events": lambda f: setattr(f.faults, "duplicate_events", 40),
    "out-of-order events": lambda f: setattr(f.faults, "reorder_events", 20),
    "dropped and kept down while fills happen": lambda f: (
        setattr(f.faults, "refuse_stream", 3),
        f.drop_streams(),
    ),
}


@pytest.mark.parametrize("fault", list(STREAM_FAULTS), ids=list(STREAM_FAULTS))
async def test_stream_faults_lose_nothing(fake, tmp_path, fault):
    broker = make_broker(fake)
    async with OrderManager(broker, journal=tmp_path / "j.sqlite") as om:
        await session(fake, om, broker, during=STREAM_FAULTS[fault])
        assert_invariants(fake, om)
        check_statuses(fake, om)
        faults = fake.faults
        assert faults.drop_stream_after is None and faults.refuse_stream == 0
        assert faults.duplicate_events < 40 or fault != "duplicated events"
        assert faults.reorder_events < 20 or fault != "out-of-order events"
        if "dropped" in fault:
            assert broker.stream is not None and broker.stream.reconnects >= 1
            assert broker.stats["sweeps"] >= 1


async def test_every_fault_at_once(fake, tmp_path):
    broker = make_broker(fake, timeout=0.4)
    async with OrderManager(broker, journal=tmp_path / "j.sqlite") as om:
        for setup in HTTP_FAULTS.values():
            setup(fake)
        fake.faults.duplicate_events = 10
        fake.faults.reorder_events = 10

        def drop(f: FakeAlpaca) -> None:
            f.faults.refuse_stream = 1
            f.drop_streams()

        await session(fake, om, broker, during=drop)
        assert_invariants(fake, om)
        check_statuses(fake, om)
