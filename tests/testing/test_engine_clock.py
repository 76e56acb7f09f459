"""The fake engine tells its clock listeners each time simulated time moves, with the two times."""

from __future__ import annotations

from datetime import datetime, timedelta

from ntlab.market import sample_market
from ntlab.testing import FakeEngine


async def test_clock_listeners_hear_every_step_and_nothing_else():
    engine = await FakeEngine(sample_market(symbols=["AAPL"])).start()
    heard: list[tuple[datetime, datetime]] = []

    async def listener(before: datetime, after: datetime) -> None:
        heard.append((before, after))

    engine.on_clock(listener)
    start = engine.now()
    await engine.advance(2)
    await engine.advance_to(start + timedelta(seconds=5))
    await engine.advance_to(start)  # backwards: the clock does not move, nobody hears
    assert heard == [
        (start, start + timedelta(seconds=2)),
        (start + timedelta(seconds=2), start + timedelta(seconds=5)),
    ]
    await engine.close()


async def test_a_failing_listener_does_not_stop_the_clock():
    engine = await FakeEngine(sample_market(symbols=["AAPL"])).start()
    calls = []

    async def broken(before: datetime, after: datetime) -> None:
        raise RuntimeError("boom")

    async def fine(before: datetime, after: datetime) -> None:
        calls.append(after)

    engine.on_clock(broken)
    engine.on_clock(fine)
    await engine.advance(1)
    assert len(calls) == 1
    await engine.close()
