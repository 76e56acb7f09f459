"""``Lab(broker="oanda")`` (``BROKER=oanda``) built from the settings and trading against the fake, from
synchronous notebook-style code: the fake serves on a loop of its own thread, as a remote broker would."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from ntlab.brokers.oanda import OandaBroker
from ntlab.brokers.oanda.fake import FAKE_TOKEN, FakeOanda
from ntlab.config import ExecutionConfig
from ntlab.core import OrderStatus
from ntlab.lab import Lab


@pytest.fixture
def served() -> Iterator[FakeOanda]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    fake = asyncio.run_coroutine_threadsafe(FakeOanda(cash=1_000_000, heartbeat=0.5).start(), loop).result(10)
    try:
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def test_lab_trades_fx_on_oanda_from_the_settings(served: FakeOanda, tmp_path: Path) -> None:
    config = ExecutionConfig(
        broker="oanda",
        oanda_token=FAKE_TOKEN,
        oanda_account_id=served.account_id,
        broker_base_url=served.base_url,
    )
    lab = Lab(config=config, journal=tmp_path / "session.sqlite")
    try:
        assert isinstance(lab.broker, OandaBroker) and not lab.broker.live
        answer = lab.buy("EUR/USD", 10_000)  # Lab's FX default, gtc, goes out as v20's FOK market order
        assert lab.order(answer.order_id).status is OrderStatus.FILLED
        assert served.positions() == {"EUR/USD": Decimal(10_000)}
        assert served.client_ids() == [answer.order_id]
    finally:
        lab.close()
