"""OANDA's own account, position and trade figures, as plain records with v20's meanings (money in the
account's home currency, Decimal from v20's strings).

ntlab's :class:`~ntlab.core.records.Position` nets an instrument to one signed quantity; an FX trader also
wants what OANDA reports beside it: the long and short sides, unrealized P&L at the closeout prices,
financing paid or collected, margin used, and the individual trades a netting account closes first in,
first out. ``pandas.DataFrame(broker_records)`` turns any list of them into a table.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from ntlab.brokers.oanda.wire import decimal, parse_time, symbol_of
from ntlab.core.records import ZERO


def _d(data: dict[str, Any], key: str) -> Decimal:
    value = decimal(data.get(key))
    return ZERO if value is None else value


class OandaAccount(NamedTuple):
    """``GET /v3/accounts/{id}/summary``: the balance and what open trades and margin make of it."""

    id: str
    currency: str
    balance: Decimal
    nav: Decimal
    unrealized_pl: Decimal
    pl: Decimal
    financing: Decimal
    commission: Decimal
    margin_rate: Decimal | None
    margin_used: Decimal
    margin_available: Decimal
    position_value: Decimal
    margin_closeout_percent: Decimal
    open_trade_count: int
    open_position_count: int
    pending_order_count: int
    hedging_enabled: bool
    last_transaction_id: str

    @classmethod
    def from_v20(cls, data: dict[str, Any]) -> OandaAccount:
        return cls(
            id=data["id"],
            currency=data.get("currency", "USD"),
            balance=_d(data, "balance"),
            nav=_d(data, "NAV"),
            unrealized_pl=_d(data, "unrealizedPL"),
            pl=_d(data, "pl"),
            financing=_d(data, "financing"),
            commission=_d(data, "commission"),
            margin_rate=decimal(data.get("marginRate")),
            margin_used=_d(data, "marginUsed"),
            margin_available=_d(data, "marginAvailable"),
            position_value=_d(data, "positionValue"),
            margin_closeout_percent=_d(data, "marginCloseoutPercent"),
            open_trade_count=int(data.get("openTradeCount", 0)),
            open_position_count=int(data.get("openPositionCount", 0)),
            pending_order_count=int(data.get("pendingOrderCount", 0)),
            hedging_enabled=bool(data.get("hedgingEnabled", False)),
            last_transaction_id=str(data.get("lastTransactionID", "")),
        )


class OandaPosition(NamedTuple):
    """One instrument's position: both sides, and P&L, financing and margin in the home currency."""

    symbol: str
    units: Decimal  # long + short: the net, signed
    long_units: Decimal
    short_units: Decimal  # negative or zero
    average_price: Decimal | None  # of the side that is open (the long one if both are)
    unrealized_pl: Decimal
    pl: Decimal  # realized over the account's life
    financing: Decimal
    commission: Decimal
    margin_used: Decimal

    @classmethod
    def from_v20(cls, data: dict[str, Any]) -> OandaPosition:
        long, short = data.get("long") or {}, data.get("short") or {}
        long_units, short_units = _d(long, "units"), _d(short, "units")
        side = long if long_units else short if short_units else {}
        return cls(
            symbol=symbol_of(data["instrument"]),
            units=long_units + short_units,
            long_units=long_units,
            short_units=short_units,
            average_price=decimal(side.get("averagePrice")),
            unrealized_pl=_d(data, "unrealizedPL"),
            pl=_d(data, "pl"),
            financing=_d(data, "financing"),
            commission=_d(data, "commission"),
            margin_used=_d(data, "marginUsed"),
        )


class OandaTrade(NamedTuple):
    """One trade: the units a fill opened, reduced by later fills on the other side, first in first out."""

    id: str
    symbol: str
    units: Decimal  # currentUnits, signed
    initial_units: Decimal
    price: Decimal
    open_time: datetime | None
    state: str
    realized_pl: Decimal
    unrealized_pl: Decimal
    financing: Decimal
    margin_used: Decimal
    take_profit_order_id: str | None
    stop_loss_order_id: str | None
    trailing_stop_loss_order_id: str | None

    @classmethod
    def from_v20(cls, data: dict[str, Any]) -> OandaTrade:
        def dependent(key: str) -> str | None:
            found = data.get(f"{key}ID")
            if found is None and isinstance(data.get(key), dict):
                found = data[key].get("id")
            return found

        return cls(
            id=data["id"],
            symbol=symbol_of(data["instrument"]),
            units=_d(data, "currentUnits"),
            initial_units=_d(data, "initialUnits"),
            price=_d(data, "price"),
            open_time=parse_time(data.get("openTime")),
            state=data.get("state", "OPEN"),
            realized_pl=_d(data, "realizedPL"),
            unrealized_pl=_d(data, "unrealizedPL"),
            financing=_d(data, "financing"),
            margin_used=_d(data, "marginUsed"),
            take_profit_order_id=dependent("takeProfitOrder"),
            stop_loss_order_id=dependent("stopLossOrder"),
            trailing_stop_loss_order_id=dependent("trailingStopLossOrder"),
        )
