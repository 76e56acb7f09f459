"""Binance's request-weight and order-count limits, as the fake enforces them.

Weight is counted per wall-clock minute, new orders per 10 seconds and per day. Over a cap the answer is
HTTP 429 with ``Retry-After`` (-1003 for weight, -1015 for orders); a client that keeps sending while refused
is banned with HTTP 418 (-1003 "IP banned until ...") for ``ban_seconds``, as Binance bans IPs that ignore
429s.
"""

from __future__ import annotations

from dataclasses import dataclass

from ntlab.brokers.crypto.fake_account import BinanceError


@dataclass(frozen=True)
class Limits:
    weight_per_minute: int = 6000
    orders_per_10s: int = 100
    orders_per_day: int = 200_000
    strikes_before_ban: int = 3  # requests sent while refused before the ban
    ban_seconds: int = 120


class WeightMeter:
    """The counters behind the ``X-MBX-USED-WEIGHT-1M`` and ``X-MBX-ORDER-COUNT-*`` headers."""

    def __init__(self, limits: Limits | None) -> None:
        self.limits = limits
        self.used_weight = 0
        self.orders_10s = 0
        self.orders_day = 0
        self._minute = -1
        self._ten = -1
        self._day = -1
        self._refused_until = 0
        self._banned_until = 0
        self._strikes = 0

    def charge(self, weight: int, order: bool, *, now_ms: int) -> tuple[BinanceError, int] | None:
        """Count a request; the error and Retry-After seconds when it is refused for rate."""
        minute, ten, day = now_ms // 60_000, now_ms // 10_000, now_ms // 86_400_000
        if minute != self._minute:
            self._minute, self.used_weight = minute, 0
        if ten != self._ten:
            self._ten, self.orders_10s = ten, 0
        if day != self._day:
            self._day, self.orders_day = day, 0
        limits = self.limits
        if limits is None:
            self.used_weight += weight
            self.orders_10s += order
            self.orders_day += order
            return None
        if now_ms < self._banned_until:
            return self._ban(now_ms)
        if now_ms < self._refused_until:
            self._strikes += 1
            if self._strikes >= limits.strikes_before_ban:
                self._banned_until = now_ms + limits.ban_seconds * 1000
                return self._ban(now_ms)
        else:
            self._strikes = 0
        if self.used_weight + weight > limits.weight_per_minute:
            return self._refuse(
                now_ms,
                (minute + 1) * 60_000,
                BinanceError(
                    429,
                    -1003,
                    f"Too much request weight used; current limit is {limits.weight_per_minute} request "
                    "weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling "
                    "the API.",
                ),
            )
        if order and self.orders_10s + 1 > limits.orders_per_10s:
            return self._refuse(
                now_ms,
                (ten + 1) * 10_000,
                BinanceError(
                    429,
                    -1015,
                    f"Too many new orders; current limit is {limits.orders_per_10s} orders per 10 SECOND.",
                ),
            )
        if order and self.orders_day + 1 > limits.orders_per_day:
            return self._refuse(
                now_ms,
                (day + 1) * 86_400_000,
                BinanceError(
                    429,
                    -1015,
                    f"Too many new orders; current limit is {limits.orders_per_day} orders per DAY.",
                ),
            )
        self.used_weight += weight
        self.orders_10s += order
        self.orders_day += order
        return None

    def _refuse(self, now_ms: int, until_ms: int, error: BinanceError) -> tuple[BinanceError, int]:
        self._refused_until = until_ms
        return error, max(1, -(-(until_ms - now_ms) // 1000))

    def _ban(self, now_ms: int) -> tuple[BinanceError, int]:
        error = BinanceError(
            418,
            -1003,
            f"Way too much request weight used; IP banned until {self._banned_until}. Please use WebSocket "
            "Streams for live updates to avoid bans.",
        )
        return error, max(1, -(-(self._banned_until - now_ms) // 1000))
