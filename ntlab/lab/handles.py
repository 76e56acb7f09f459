"""Order handles: what Lab.buy/sell/place return. They always show the order's current state."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ntlab.core import Order, OrderStatus

if TYPE_CHECKING:
    from ntlab.lab.session import Lab


class OrderHandle:
    """A live view of one order: attributes read the session's current state on every access.

    Its calls are the Lab's twins for this order: ``cancel``/``acancel``, ``wait``/``await_status``.
    """

    __slots__ = ("_lab", "order_id")

    def __init__(self, lab: Lab, order_id: str) -> None:
        self._lab = lab
        self.order_id = order_id

    @property
    def snapshot(self) -> Order:
        """The order as it is now (an immutable copy)."""
        return self._lab.snapshot(self.order_id)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.snapshot, name)

    def cancel(self) -> OrderHandle:
        return self._lab.cancel(self.order_id)

    async def acancel(self) -> OrderHandle:
        return await self._lab.acancel(self.order_id)

    def wait(
        self, status: str | OrderStatus | Iterable[str | OrderStatus] = "filled", timeout: float = 10.0
    ) -> Order:
        """Block until the order reaches ``status`` (or any final status); TimeoutError after ``timeout`` s.

        On a simulated clock nothing moves while you wait: call ``lab.advance(...)`` instead.
        """
        return self._lab.wait_for(self.order_id, status, timeout)

    async def await_status(
        self, status: str | OrderStatus | Iterable[str | OrderStatus] = "filled", timeout: float = 10.0
    ) -> Order:
        return await self._lab.await_for(self.order_id, status, timeout)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OrderHandle) and other.order_id == self.order_id

    def __hash__(self) -> int:
        return hash(self.order_id)

    def __repr__(self) -> str:
        from ntlab.lab.style import describe_order

        order = self.snapshot
        return f"<Order {describe_order(order, self._lab.instrument(order.symbol))}>"
