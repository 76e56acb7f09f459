"""Small builders for the risk tests: quotes, requests, an engine on a settable clock, a venue that says
which symbols can be borrowed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from ntlab.core import OrderRequest, Quote
from ntlab.core.broker import AssetFlags
from ntlab.core.risk import RiskEngine, RiskLimits

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def quote(bid: str = "189.99", ask: str = "190.01", symbol: str = "AAPL", at: datetime = T0) -> Quote:
    return Quote(symbol=symbol, time=at, bid=Decimal(bid), ask=Decimal(ask), bid_size=500, ask_size=500)


def req(side: str = "buy", qty: Any = 100, symbol: str = "AAPL", **fields: Any) -> OrderRequest:
    if "limit_price" in fields and "order_type" not in fields:
        fields["order_type"] = "stop_limit" if "stop_price" in fields else "limit"
    elif "stop_price" in fields and "order_type" not in fields:
        fields["order_type"] = "stop"
    return OrderRequest(symbol=symbol, side=side, quantity=qty, **fields)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def step(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Borrow:
    """A broker's word on short sales (the AssetSource capability), as a paper venue or Alpaca gives it."""

    local = True
    name = "borrow"

    def __init__(self, everything: bool = True, **flags: tuple[bool, bool]) -> None:
        """Every symbol easy to borrow (``everything``), except those given as (shortable, easy_to_borrow)."""
        self.everything = everything
        self.flags = {s: AssetFlags(s, True, short, easy, False) for s, (short, easy) in flags.items()}
        self.quotes: dict[str, Quote] = {}

    def asset_flags(self, symbol: str) -> AssetFlags | None:
        found = self.flags.get(symbol)
        if found is None and self.everything:
            return AssetFlags(symbol, True, True, True, False)
        return found

    async def fetch_asset_flags(self, symbol: str) -> AssetFlags | None:
        return self.asset_flags(symbol)

    def now(self) -> datetime:
        return T0

    def last_quote(self, symbol: str) -> Quote | None:
        return self.quotes.get(symbol)


def engine(broker: Any = None, clock: Clock | None = None, **limits: Any) -> RiskEngine:
    """An engine whose broker lends every symbol unless told otherwise."""
    return RiskEngine(RiskLimits(**limits), broker=broker or Borrow(), clock=clock or Clock())


class Desk:
    """An engine plus the calls a manager makes: place (check + accepted), fill, cancel, with order ids."""

    def __init__(self, risk: RiskEngine) -> None:
        self.risk = risk
        self.count = 0
        self.orders: dict[str, OrderRequest] = {}

    def place(self, request: OrderRequest, q: Quote | None = None) -> str:
        """Check and accept; returns the order id (RiskDenied propagates)."""
        self.risk.check(request, q if q is not None else quote(symbol=request.symbol))
        self.count += 1
        order_id = f"o{self.count}"
        self.risk.accepted(_Ticket(order_id, request))
        self.orders[order_id] = request
        return order_id

    def fill(self, order_id: str, qty: Any, price: Any, at: datetime = T0, fee: Any = 0) -> None:
        from ntlab.core import Fill

        r = self.orders[order_id]
        self.risk.filled(
            Fill(
                fill_id=f"{order_id}-{qty}-{price}",
                order_id=order_id,
                symbol=r.symbol,
                side=r.side,
                quantity=Decimal(qty),
                price=Decimal(price),
                time=at,
                fee=Decimal(fee),
            )
        )

    def cancel(self, order_id: str) -> None:
        self.risk.finished(order_id)


class _Ticket:
    """What the manager hands ``accepted``: the order's fields with its id."""

    def __init__(self, order_id: str, request: OrderRequest) -> None:
        self.order_id = order_id
        self.symbol = request.symbol
        self.side = request.side
        self.quantity = request.quantity
        self.order_type = request.order_type
        self.time_in_force = request.time_in_force
        self.limit_price = request.limit_price
        self.stop_price = request.stop_price
