"""Clocks for the paper venue: simulated time that code steps, or a replay of the market in real time."""

from __future__ import annotations

import functools
import time
from datetime import UTC, datetime, timedelta

import pandas as pd

from ntlab.errors import ConfigError


def to_ns(value: datetime | pd.Timestamp | str) -> int:
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return int(stamp.tz_convert("UTC").as_unit("ns").value)


def duration_ns(value: timedelta | pd.Timedelta | str | float | int) -> int:
    """A step as nanoseconds: a timedelta, a pandas string like "5min" or "30s", or seconds."""
    if isinstance(value, str):
        return _parsed_duration_ns(value)  # steps repeat ("1s" in a loop): parse each spelling once
    return _duration_ns(value)


@functools.lru_cache(maxsize=256)
def _parsed_duration_ns(text: str) -> int:
    return _duration_ns(text)


def _duration_ns(value: timedelta | pd.Timedelta | str | float | int) -> int:
    try:
        step = pd.Timedelta(seconds=value) if isinstance(value, int | float) else pd.Timedelta(value)
    except ValueError as error:
        raise ConfigError(f"cannot read {value!r} as a duration; use e.g. '30s', '5min', '1h'") from error
    if step < pd.Timedelta(0):
        raise ConfigError(f"the clock only moves forward; got {value!r}")
    return int(step.as_unit("ns").value)


def from_ns(ns: int) -> datetime:
    return datetime.fromtimestamp(ns // 1_000_000_000, tz=UTC) + timedelta(
        microseconds=(ns % 1_000_000_000) // 1000
    )


class SimClock:
    """Simulated time that moves only when code advances it: deterministic for tests and notebooks.

    ``start`` None means the venue's session open. The venue owns stepping and keeps ``now_ns`` current, so
    a clock shared with other code reads the same time as the venue it drives.
    """

    realtime = False

    def __init__(self, start: datetime | str | None = None) -> None:
        self.start_ns: int | None = None if start is None else to_ns(start)
        self.now_ns: int | None = self.start_ns

    def now(self) -> datetime:
        """Current simulated time, tz-aware UTC (the start until a venue has set it)."""
        if self.now_ns is None:
            raise RuntimeError("this clock has no time yet: give it a start or attach it to a PaperBroker")
        return from_ns(self.now_ns)

    def target_ns(self, now_ns: int) -> int:
        return now_ns


class RealTimeClock(SimClock):
    """Replays the market ``speed`` times faster than the wall clock (1 = real time, 60 = a minute a second)."""

    realtime = True

    def __init__(self, start: datetime | str | None = None, speed: float = 1.0) -> None:
        if not speed > 0:
            raise ConfigError(f"speed must be positive, got {speed}")
        super().__init__(start)
        self.speed = float(speed)
        self._anchor: tuple[float, int] | None = None

    def target_ns(self, now_ns: int) -> int:
        """Where simulated time should be now, given the wall time elapsed since the first call."""
        wall = time.monotonic()
        if self._anchor is None:
            self._anchor = (wall, now_ns)
        started_wall, started_sim = self._anchor
        return max(now_ns, started_sim + int((wall - started_wall) * self.speed * 1e9))
