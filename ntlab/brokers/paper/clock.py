"""Clocks for the paper venue: simulated time that code steps, or a replay of the market in real time."""

from __future__ import annotations

import time
from datetime import datetime

from ntlab.errors import ConfigError
from ntlab.times import from_ns, to_ns


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
            raise ConfigError("this clock has no time yet: give it a start or attach it to a PaperBroker")
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
