"""What the conformance suite needs from each (adapter, fake) pair: one ``Subject`` per broker.

A new adapter joins the suite by adding one factory to ``SUBJECTS`` in ``subjects.py``. Its ``Capabilities``
say what the broker supports: a scenario the broker cannot run is skipped with the capability named in the
reason, never silently, and ``test_capabilities_are_declared`` lists what each subject lacks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from ntlab.core import OrderManager, OrderType, TimeInForce
from ntlab.core.broker import Broker
from ntlab.testing import Faults


@dataclass(frozen=True)
class Capabilities:
    """What a broker supports, as the suite exercises it."""

    symbol: str  # the symbol the scenarios trade (liquid: a small market order fills at the touch)
    quantity: Decimal  # a size that fills at once
    big: Decimal  # a size the touch cannot fill at once: partial fills, then the rest later
    order_types: frozenset[OrderType]
    time_in_force: frozenset[TimeInForce]
    replace: bool = True
    stream: bool = True  # the broker pushes news over a stream that can drop
    request_faults: bool = True  # 5xx, 429 with Retry-After, resets and stalls can be injected
    restart: bool = True  # the broker remembers orders across sessions (restart and reconcile)
    external_orders: bool = True  # orders can be placed at the broker by another app
    refusal: str | None = "insufficient_funds"  # a refusal the suite can provoke, by its ntlab reason
    resting_tif: TimeInForce = TimeInForce.GTC  # the time in force of the orders scenarios leave resting
    defaults: dict[str, Any] = field(default_factory=dict)  # request fields every order takes (crypto: gtc)
    # the request faults' target that picks out order submits (an HTTP method and path, or for a socket
    # protocol the message's name: see ntlab.testing.faults)
    submit_request: dict[str, str] = field(default_factory=lambda: {"method": "POST"})
    # a market order too big for the touch keeps working; when off (OANDA's market orders are FOK or IOC),
    # the scenarios work the big order as a GTC limit a little through the touch instead
    resting_market: bool = True
    notional: bool = False  # orders for an amount of money, sized by the broker (NotionalOrders)
    notes: dict[str, str] = field(default_factory=dict)  # why a capability is off, for the listing


class Subject(Protocol):
    """One broker's adapter and its fake, as the scenarios drive them."""

    name: str
    caps: Capabilities
    faults: Faults | None

    def broker(self) -> Broker:
        """A new adapter pointed at the fake (a restart makes a second one)."""
        ...

    def manager_options(self) -> dict[str, Any]:
        """Keyword arguments for the OrderManager (short timeouts and backoff against a fake)."""
        ...

    async def advance(self, seconds: float) -> None:
        """Move the fake's market on: resting orders meet it, their news goes out."""
        ...

    async def settle(self, om: OrderManager) -> None:
        """Wait (bounded) until everything the fake sent has reached the manager."""
        ...

    def placed(self) -> list[str]:
        """The client order id of every order the broker took (one entry per order it holds)."""
        ...

    def fill_ids(self) -> set[str]:
        """Every fill the fake made, under the fill id the adapter gives it in ntlab."""
        ...

    def positions(self) -> dict[str, Decimal]:
        """The broker's positions (zero ones left out), in ntlab's symbols."""
        ...

    def drop_stream(self) -> None:
        """Cut the stream without a goodbye."""
        ...

    async def place_external(self, symbol: str, side: str, quantity: Decimal) -> str:
        """Place an order at the broker from "another app"; returns its client id."""
        ...

    def refuse(self) -> dict[str, Any]:
        """OrderRequest fields the broker refuses with ``caps.refusal`` (e.g. more than the cash buys)."""
        ...


SubjectFactory = Callable[[], AbstractAsyncContextManager[Subject]]
SubjectContext = Callable[[], AsyncIterator[Subject]]
