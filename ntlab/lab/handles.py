"""Order handles: what Lab.buy/sell/place return. They always show the order's current state."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ntlab.core import Order, OrderStatus

if TYPE_CHECKING:
    from ntlab.lab.session import Lab


def _statuses(status: str | OrderStatus | Iterable[str | OrderStatus]) -> set[OrderStatus]:
    if isinstance(status, str | OrderStatus):
        return {OrderStatus(status)}
    return {OrderStatus(s) for s in status}


class OrderHandle:
    """A live view of one order: attributes read the session's current state on every access."""

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
        return self._lab.wait_for(self.order_id, _statuses(status), timeout)

    async def await_status(
        self, status: str | OrderStatus | Iterable[str | OrderStatus] = "filled", timeout: float = 10.0
    ) -> Order:
        return await self._lab.await_for(self.order_id, _statuses(status), timeout)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OrderHandle) and other.order_id == self.order_id

    def __hash__(self) -> int:
        return hash(self.order_id)

    def __repr__(self) -> str:
        o = self.snapshot
        price = "" if o.limit_price is None else f" @ {o.limit_price}"
        stop = "" if o.stop_price is None else f" stop {o.stop_price}"
        filled = ""
        if o.filled_quantity:
            filled = f", filled {o.filled_quantity} @ {o.avg_fill_price:.6g}"
        reason = f" ({o.reason})" if o.reason else ""
        return (
            f"<Order {o.order_id}: {o.side.value} {o.quantity} {o.symbol} {o.order_type.value}{price}{stop} "
            f"{o.time_in_force.value} — {o.status.value}{filled}{reason}>"
        )
