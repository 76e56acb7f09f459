"""Position accounting from fills: signed quantity, average cost of the open part, realized P&L.

Average-cost method: adding to a position re-averages the cost; reducing it realizes
``(price - avg_cost) * closed`` (sign-adjusted for shorts); crossing through zero opens the remainder at the
fill price. Fees are tracked apart so gross and net P&L are both visible.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ntlab.core.enums import Side
from ntlab.core.records import Fill, Position

ZERO = Decimal(0)
_LONG, _SHORT = Decimal(1), Decimal(-1)
_BUY = Side.BUY  # read per fill (see ntlab.core.enums)


@dataclass(slots=True)
class PositionState:
    symbol: str
    quantity: Decimal = ZERO
    avg_cost: Decimal | None = None
    realized_pnl: Decimal = ZERO
    fees: Decimal = ZERO

    def apply(self, side: Side, quantity: Decimal, price: Decimal, fee: Decimal = ZERO) -> None:
        signed = quantity if side == _BUY else -quantity
        if fee:
            self.fees += fee
        current = self.quantity
        # opening, the cost is the price; signs compared with ZERO, not 0 (no int to convert)
        if not current and quantity:
            self.avg_cost, self.quantity = price, signed
            return
        long = current > ZERO
        if long is (signed > ZERO):
            total = current + signed
            assert self.avg_cost is not None
            self.avg_cost = (self.avg_cost * abs(current) + price * quantity) / abs(total)
            self.quantity = total
            return
        closing = min(abs(quantity), abs(current))
        assert self.avg_cost is not None
        self.realized_pnl += (price - self.avg_cost) * closing * (_LONG if long else _SHORT)
        self.quantity = total = current + signed
        if not total:
            self.avg_cost = None
        elif (total > ZERO) is not long:
            self.avg_cost = price

    def unrealized(self, mark: Decimal) -> Decimal:
        if self.avg_cost is None:
            return ZERO
        return (mark - self.avg_cost) * self.quantity

    def snapshot(self) -> Position:
        return Position(self.symbol, self.quantity, self.avg_cost, self.realized_pnl, self.fees)


class PositionBook:
    """Positions by symbol, updated fill by fill."""

    def __init__(self) -> None:
        self._positions: dict[str, PositionState] = {}

    def apply(self, fill: Fill) -> PositionState:
        symbol = fill.symbol
        state = self._positions.get(symbol)
        if state is None:
            state = self._positions[symbol] = PositionState(symbol)
        state.apply(fill.side, fill.quantity, fill.price, fill.fee)
        return state

    def charge(self, symbol: str, fee: Decimal) -> None:
        """A fee charged after the fill it belongs to (a posted fee's change to what was booked)."""
        state = self._positions.get(symbol)
        if state is None:
            state = self._positions[symbol] = PositionState(symbol)
        state.fees += fee

    def quantity(self, symbol: str) -> Decimal:
        state = self._positions.get(symbol)
        return state.quantity if state is not None else ZERO

    def get(self, symbol: str) -> PositionState | None:
        return self._positions.get(symbol)

    def snapshot(self) -> list[Position]:
        return [p.snapshot() for p in self._positions.values()]
