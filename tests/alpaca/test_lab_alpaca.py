"""``Lab(broker="alpaca")`` against the fake, set up from the settings as a user does: the quote stream
starts for the symbols given and for every symbol the session trades. The fake serves on a loop of its own
thread, as a remote broker would, so the Lab's synchronous calls can wait on it."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ntlab import Lab
from ntlab.brokers.alpaca import AlpacaBroker
from ntlab.brokers.alpaca.fake import FakeAlpaca
from ntlab.config import ExecutionConfig
from ntlab.market import sample_market


class Served:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        fake = FakeAlpaca(market=sample_market(symbols=["AAPL", "MSFT"]), rate_limit=None)
        self.fake: FakeAlpaca = self.run(fake.__aenter__())

    def run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(10)

    def close(self) -> None:
        self.run(self.fake.__aexit__(None, None, None))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    made = Served()
    monkeypatch.setenv("ALPACA_DATA_URL", made.fake.data_url or "")
    monkeypatch.setenv("ALPACA_DATA_STREAM_URL", made.fake.data_stream_url or "")
    try:
        yield made
    finally:
        made.close()


def _streams(served: Served, broker: AlpacaBroker, symbol: str) -> bool:
    """Whether ``symbol``'s quotes arrive on the stream as the fake's clock moves (bounded)."""
    book = broker.quotes
    for _ in range(200):
        before = book.received
        served.run(served.fake.advance(1))
        time.sleep(0.02)
        if symbol in book.watched and book.received > before and book.last(symbol) is not None:
            return True
    return False


def test_the_lab_streams_quotes_for_what_it_trades(served: Served, tmp_path: Path) -> None:
    fake = served.fake
    config = ExecutionConfig(
        broker="alpaca",
        broker_api_key=fake.key_id,
        broker_secret_key=fake.secret_key,
        broker_base_url=fake.base_url,
    )
    lab = Lab(config=config, journal=tmp_path / "session.sqlite", quotes=["MSFT"])
    try:
        broker = lab.broker
        assert isinstance(broker, AlpacaBroker)
        assert _streams(served, broker, "MSFT")  # given at the start
        assert "AAPL" not in broker.quotes.watched
        lab.buy("AAPL", 1)
        assert _streams(served, broker, "AAPL")  # traded: watched from then on
        assert set(broker.quotes.watched) == {"MSFT", "AAPL"}
    finally:
        lab.close()
