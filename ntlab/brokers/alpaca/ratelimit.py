"""Client-side request budget: stay under Alpaca's limit instead of learning it from 429s.

A token bucket sized so that no 60-second window can exceed ``per_minute`` (burst + refill over a minute
equals the budget), plus a pause that any response can impose: a 429's Retry-After, or an exhausted
``X-Ratelimit-Remaining`` until ``X-Ratelimit-Reset``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping


class RateLimiter:
    """``await limiter.acquire()`` before each request; ``limiter.observe(status, headers)`` after."""

    def __init__(
        self,
        per_minute: int | None = 200,
        *,
        burst: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.per_minute = per_minute
        self._clock, self._sleep = clock, sleep
        if per_minute is not None:
            self.burst = burst if burst is not None else max(1, per_minute // 10)
            self.rate = max(per_minute - self.burst, 1) / 60.0
        else:
            self.burst, self.rate = 0, 0.0
        self._tokens = float(self.burst)
        self._stamp = clock()
        self._paused_until = 0.0
        self._lock = asyncio.Lock()
        self.waited = 0.0
        self.pauses: list[float] = []

    def pause(self, seconds: float) -> None:
        """Send nothing for ``seconds`` (a Retry-After)."""
        self.pauses.append(seconds)
        self._paused_until = max(self._paused_until, self._clock() + max(seconds, 0.0))

    async def acquire(self) -> None:
        if self.per_minute is None and self._paused_until == 0.0:
            return
        async with self._lock:
            while True:
                now = self._clock()
                wait = self._paused_until - now
                if wait <= 0 and self.per_minute is None:
                    self._paused_until = 0.0
                    return
                if wait <= 0:
                    self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
                    self._stamp = now
                    if self._tokens >= 1 - 1e-9:  # float dust must not make us spin
                        self._tokens -= 1
                        return
                    wait = (1 - self._tokens) / self.rate
                self.waited += wait
                await self._sleep(wait)

    def observe(self, status: int, headers: Mapping[str, str]) -> float | None:
        """Learn from a response; returns the pause imposed (seconds) if any."""
        if status == 429:
            delay = retry_after(headers)
            self.pause(delay)
            return delay
        if headers.get("x-ratelimit-remaining") == "0":
            reset = headers.get("x-ratelimit-reset")
            if reset is not None:
                try:
                    delay = max(float(reset) - time.time(), 0.0)
                except ValueError:
                    return None
                self.pause(min(delay, 60.0))
                return delay
        return None


def retry_after(headers: Mapping[str, str], default: float = 1.0) -> float:
    """Seconds to wait after a 429: Retry-After if sent, else until X-Ratelimit-Reset, else ``default``."""
    value = headers.get("retry-after")
    if value is not None:
        try:
            return max(float(value), 0.0)
        except ValueError:
            pass
    reset = headers.get("x-ratelimit-reset")
    if reset is not None:
        try:
            return min(max(float(reset) - time.time(), 0.0), 60.0)
        except ValueError:
            pass
    return default
