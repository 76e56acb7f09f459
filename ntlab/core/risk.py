"""Pre-trade risk: limits checked after validation and before anything reaches a broker.

Each limit is optional (None = off). A breach raises :class:`RiskDenied` with a stable reason code. The kill
switch (``halt``) denies every new order while cancels keep passing, so a user can always get flat.
"""

from __future__ import annotations

import time
from collections import deque
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from ntlab.core.enums import OrderType, Side
from ntlab.core.models import OrderRequest
from ntlab.core.records import Quote
from ntlab.errors import Reason, RiskDenied


class RiskLimits(BaseModel):
    """Configurable pre-trade limits. Notional and position limits are in the instrument's currency/units."""

    model_config = ConfigDict(frozen=True)

    max_order_notional: Decimal | None = Decimal(1_000_000)
    max_position: Decimal | None = None
    price_band_bps: Decimal | None = Decimal(500)
    max_orders_per_second: int | None = None
    require_reference_price: bool = False


class RiskEngine:
    """Stateful checks: the order-rate window and the halt flag live here."""

    def __init__(self, limits: RiskLimits | None = None) -> None:
        self.limits = limits or RiskLimits()
        self.halted_reason: str | None = None
        self._recent: deque[float] = deque()

    @property
    def halted(self) -> bool:
        return self.halted_reason is not None

    def halt(self, reason: str = "kill switch engaged") -> None:
        self.halted_reason = reason

    def resume(self) -> None:
        self.halted_reason = None

    def check(self, request: OrderRequest, quote: Quote | None, position: Decimal) -> None:
        """Raise RiskDenied if the request breaks a limit; ``position`` is the current signed holding."""
        limits = self.limits
        if self.halted_reason is not None:
            raise RiskDenied(
                Reason.TRADING_HALTED,
                f"trading is halted ({self.halted_reason}); cancels still pass; resume() to trade again",
            )
        if limits.max_orders_per_second is not None:
            now = time.monotonic()
            window = self._recent
            while window and now - window[0] >= 1.0:
                window.popleft()
            if len(window) >= limits.max_orders_per_second:
                raise RiskDenied(
                    Reason.RATE_LIMIT,
                    f"more than {limits.max_orders_per_second} orders in one second; slow down or raise "
                    "RiskLimits.max_orders_per_second",
                )
            window.append(now)
        reference = self._reference_price(request, quote)
        if reference is None:
            if limits.require_reference_price:
                raise RiskDenied(
                    Reason.NO_REFERENCE_PRICE,
                    f"no quote for {request.symbol} to check the order against; wait for market data",
                )
        else:
            if limits.max_order_notional is not None:
                notional = request.quantity * reference
                if notional > limits.max_order_notional:
                    raise RiskDenied(
                        Reason.MAX_NOTIONAL,
                        f"order notional {notional:,.2f} exceeds the limit of {limits.max_order_notional:,.2f}; "
                        "reduce the quantity or raise RiskLimits.max_order_notional",
                    )
            if (
                limits.price_band_bps is not None
                and quote is not None
                and (request.limit_price is not None or request.stop_price is not None)
            ):
                self._check_band(request, quote.mid)
        if limits.max_position is not None:
            signed = request.quantity if request.side is Side.BUY else -request.quantity
            after = position + signed
            if abs(after) > limits.max_position and abs(after) > abs(position):
                raise RiskDenied(
                    Reason.MAX_POSITION,
                    f"{request.symbol} position would be {after} against a limit of ±{limits.max_position}; "
                    "reduce the quantity or raise RiskLimits.max_position",
                )

    def _check_band(self, request: OrderRequest, mid: Decimal) -> None:
        band = self.limits.price_band_bps
        assert band is not None
        for name in ("limit_price", "stop_price"):
            price: Decimal | None = getattr(request, name)
            if price is None or mid <= 0:
                continue
            away = abs(price - mid) / mid * Decimal(10_000)
            if away > band:
                raise RiskDenied(
                    Reason.PRICE_BAND,
                    f"{name} {price} is {away:.0f} bps from the mid {mid:f} (band {band} bps); "
                    "check for a typo or widen RiskLimits.price_band_bps",
                )

    @staticmethod
    def _reference_price(request: OrderRequest, quote: Quote | None) -> Decimal | None:
        """Price used for notional: the worse of limit and touch for buys-at-market, else the limit."""
        if quote is not None:
            touch = quote.ask if request.side is Side.BUY else quote.bid
            if request.order_type is OrderType.MARKET or request.limit_price is None:
                return touch
            return max(request.limit_price, touch) if request.side is Side.BUY else request.limit_price
        return request.limit_price or request.stop_price
