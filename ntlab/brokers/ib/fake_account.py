"""The fake TWS's account: cash, positions at average cost, and the margin figures TWS reports.

Margin follows IB's margin account in outline: Reg T initial margin on stocks (50%, maintenance 25%),
about 3% on FX, crypto paid in full; available funds are net liquidation less initial margin, buying power
four times the available funds. A new order is refused (error 201) when the initial margin it adds is more
than the available funds, in TWS's own words.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal

from ntlab.brokers.ib.fake_catalog import ContractSpec
from ntlab.core.enums import Side
from ntlab.core.instruments import AssetKind
from ntlab.core.positions import PositionState

ZERO = Decimal(0)
CENT = Decimal("0.01")

INITIAL = {AssetKind.EQUITY: Decimal("0.5"), AssetKind.FX: Decimal("0.03"), AssetKind.CRYPTO: Decimal(1)}
MAINTENANCE = {
    AssetKind.EQUITY: Decimal("0.25"),
    AssetKind.FX: Decimal("0.025"),
    AssetKind.CRYPTO: Decimal(1),
}

Mark = Callable[[ContractSpec], Decimal | None]


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


class Account:
    """One account's books, from its executions."""

    def __init__(self, name: str, cash: Decimal, currency: str = "USD") -> None:
        self.name = name
        self.currency = currency
        self.start = cash
        self.cash = cash
        self.commissions = ZERO
        self.positions: dict[str, PositionState] = {}
        self.specs: dict[str, ContractSpec] = {}

    def book(
        self, spec: ContractSpec, side: Side, quantity: Decimal, price: Decimal, fee: Decimal
    ) -> Decimal:
        """Book an execution; returns the P&L it realized (net of its commission), zero if it opened."""
        state = self.positions.get(spec.ntlab_symbol)
        if state is None:
            state = self.positions[spec.ntlab_symbol] = PositionState(spec.ntlab_symbol)
            self.specs[spec.ntlab_symbol] = spec
        before = state.realized_pnl
        state.apply(side, quantity, price)
        notional = quantity * price
        self.cash += -notional if side is Side.BUY else notional
        self.cash -= fee
        self.commissions += fee
        return state.realized_pnl - before

    def quantity(self, spec: ContractSpec) -> Decimal:
        state = self.positions.get(spec.ntlab_symbol)
        return state.quantity if state is not None else ZERO

    def values(self, mark: Mark) -> dict[str, Decimal]:
        """The figures TWS reports for the account, by IB's tag names."""
        gross = net = initial = maintenance = unrealized = realized = ZERO
        for symbol, state in self.positions.items():
            spec = self.specs[symbol]
            price = mark(spec) or state.avg_cost or ZERO
            value = state.quantity * price
            net += value
            gross += abs(value)
            initial += abs(value) * INITIAL[spec.kind]
            maintenance += abs(value) * MAINTENANCE[spec.kind]
            unrealized += state.unrealized(price)
            realized += state.realized_pnl
        netliq = self.cash + net
        available = netliq - initial
        excess = netliq - maintenance
        return {
            "NetLiquidation": money(netliq),
            "TotalCashValue": money(self.cash),
            "SettledCash": money(self.cash),
            "CashBalance": money(self.cash),
            "AccruedCash": ZERO,
            "EquityWithLoanValue": money(netliq),
            "GrossPositionValue": money(gross),
            "InitMarginReq": money(initial),
            "MaintMarginReq": money(maintenance),
            "FullInitMarginReq": money(initial),
            "FullMaintMarginReq": money(maintenance),
            "AvailableFunds": money(available),
            "FullAvailableFunds": money(available),
            "ExcessLiquidity": money(excess),
            "FullExcessLiquidity": money(excess),
            "BuyingPower": money(max(available, ZERO) * 4),
            "Cushion": (excess / netliq).quantize(Decimal("0.000001")) if netliq else ZERO,
            "UnrealizedPnL": money(unrealized),
            "RealizedPnL": money(realized - self.commissions),
            "DayPnL": money(netliq - self.start),
        }

    def margin_refusal(
        self, spec: ContractSpec, side: Side, quantity: Decimal, price: Decimal, mark: Mark
    ) -> str | None:
        """TWS's refusal text when the order needs more initial margin than the account has free."""
        held = self.quantity(spec)
        signed = quantity if side is Side.BUY else -quantity
        added = max(abs(held + signed) - abs(held), ZERO)  # only what grows the position needs margin
        if added == 0:
            return None
        values = self.values(mark)
        needed = values["InitMarginReq"] + added * price * INITIAL[spec.kind]
        if added * price * INITIAL[spec.kind] <= values["AvailableFunds"]:
            return None
        return (
            "Order rejected - reason:YOUR ORDER IS NOT ACCEPTED. IN ORDER TO OBTAIN THE DESIRED POSITION YOUR "
            f"EQUITY WITH LOAN VALUE [{values['EquityWithLoanValue']} {self.currency}] MUST EXCEED THE INITIAL "
            f"MARGIN [{money(needed)} {self.currency}]"
        )
