"""Request budgets per API key: one token bucket shared by every call made with that key.

Two notebooks cells, a script and a background refresh that use the same Polygon key all draw from one
bucket, so together they stay under the plan's limit. A rate-limit answer pauses the bucket for everyone,
not just the call that received it. The arithmetic is under a thread lock and the waiting is an
``asyncio.sleep`` outside it, so one bucket serves calls from any thread and any event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import Awaitable, Callable


class TokenBucket:
    """``per_minute`` requests a minute with bursts of ``burst``; ``None`` means no client-side limit."""

    def __init__(
        self,
        per_minute: float | None,
        *,
        burst: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.configure(per_minute, burst=burst)
        self._sleep = sleep
        self._stamp = clock()
        self._paused_until = 0.0
        self.waited = 0.0  # seconds spent waiting, for tests and progress lines
        self.pauses: list[float] = []

    def configure(self, per_minute: float | None, *, burst: int | None = None) -> None:
        """Set the limit (a full bucket to start with)."""
        with self._lock:
            self.per_minute = per_minute
            self.burst = max(1, burst if burst is not None else int((per_minute or 0) // 10) or 1)
            self.rate = (per_minute or 0.0) / 60.0
            self._tokens = float(self.burst)

    def pause(self, seconds: float) -> None:
        """Send nothing for ``seconds``: what a 429 (or a vendor's "slow down" note) asks of every caller."""
        with self._lock:
            self.pauses.append(seconds)
            self._paused_until = max(self._paused_until, self._clock() + max(seconds, 0.0))

    def _reserve(self) -> float:
        """Take a token if one is free (0.0), else the seconds to wait before asking again."""
        with self._lock:
            now = self._clock()
            if now < self._paused_until:
                return self._paused_until - now
            if self.per_minute is None:
                return 0.0
            self._tokens = min(float(self.burst), self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            if self._tokens >= 1.0 - 1e-9:
                self._tokens -= 1.0
                return 0.0
            return (1.0 - self._tokens) / self.rate

    async def acquire(self) -> None:
        """Wait until this key may send one more request."""
        while (wait := self._reserve()) > 0:
            self.waited += wait
            await self._sleep(wait)


_BUCKETS: dict[tuple[str, str], TokenBucket] = {}
_BUCKETS_LOCK = threading.Lock()


def bucket_for(provider: str, key: str, per_minute: float | None, *, burst: int | None = None) -> TokenBucket:
    """The process-wide bucket of ``provider``'s ``key``, made on first use with ``per_minute`` and ``burst``.

    The key is stored only as a hash. The limit belongs to the key: asking again with another limit changes it
    for every caller of that key (the plan changed), asking with the same one shares the bucket as it is.
    """
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    with _BUCKETS_LOCK:
        bucket = _BUCKETS.get((provider, digest))
        if bucket is None:
            bucket = _BUCKETS[(provider, digest)] = TokenBucket(per_minute, burst=burst)
        elif bucket.per_minute != per_minute or (burst is not None and bucket.burst != burst):
            bucket.configure(per_minute, burst=burst)
        return bucket
