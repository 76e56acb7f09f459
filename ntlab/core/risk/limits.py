"""The limits pre-trade risk enforces: one model for the account, the same fields again per symbol.

:class:`RiskLimits` is what a user passes (``OrderManager(risk=RiskLimits(...))``); ``None`` turns a limit
off. ``RiskLimits.symbols`` overrides any limit for one symbol with a :class:`SymbolLimits` naming only the
fields it changes. Limits on one order or one symbol (notional, band, position, ...) are replaced for that
symbol; account-wide limits (gross and net exposure, open orders, daily loss, order rate) get a second limit
of the same kind measured on that symbol alone, checked beside the account's.

Inside the engine the limits in force for a symbol are resolved once into a slotted :class:`Effective`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

SelfTradeMode = Literal["refuse", "cancel_resting", "off"]

BPS = Decimal(10_000)

# Account-wide limits: a per-symbol value adds a limit on the symbol's own share instead of replacing them.
ACCOUNT_LIMITS = (
    "max_gross_exposure",
    "max_net_exposure",
    "max_open_orders",
    "max_daily_loss",
    "max_orders_per_second",
)


class LimitFields(BaseModel):
    """The limits that can be set for the account and overridden per symbol."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_orders_per_second: int | None = Field(default=None, gt=0)
    require_reference_price: bool = True
    price_band_bps: Decimal | None = Field(default=Decimal(500), gt=0)
    check_stop_side: bool = True
    max_order_notional: Decimal | None = Field(default=Decimal(1_000_000), gt=0)
    max_open_orders: int | None = Field(default=None, gt=0)
    max_position: Decimal | None = Field(default=None, gt=0)
    max_gross_exposure: Decimal | None = Field(default=None, gt=0)
    max_net_exposure: Decimal | None = Field(default=None, gt=0)
    max_daily_loss: Decimal | None = Field(default=None, gt=0)
    require_locate: bool = True
    self_trade: SelfTradeMode = "refuse"
    duplicate_window: float | None = Field(default=2.0, gt=0)


class SymbolLimits(LimitFields):
    """Overrides for one symbol: only the fields given here change (``None`` turns a limit off for it)."""


def _symbol_key(symbol: Any) -> str:
    if not isinstance(symbol, str) or not symbol.strip().isascii():
        raise ValueError(f"symbol {symbol!r} must be plain ASCII text")
    return symbol.strip().upper()


class RiskLimits(LimitFields):
    """Configurable pre-trade limits (``print(risk_rules_table())`` lists them in the order they run).

    Notional, exposure and loss limits are in the instrument's currency, positions in units. Besides the
    limits: ``restricted`` (symbol -> why it may not be traded; a list of symbols is accepted too),
    ``locates`` (symbols you may sell short whatever the broker says, e.g. after a locate), and
    ``symbols`` (per-symbol overrides).
    """

    restricted: dict[str, str] = Field(default_factory=dict)
    locates: frozenset[str] = frozenset()
    symbols: dict[str, SymbolLimits] = Field(default_factory=dict)

    @field_validator("restricted", mode="before")
    @classmethod
    def _restricted(cls, value: Any) -> Any:
        if isinstance(value, (list, tuple, set, frozenset)):
            return {_symbol_key(s): "on the restricted list" for s in value}
        if isinstance(value, dict):
            return {_symbol_key(k): v for k, v in value.items()}
        return value

    @field_validator("locates", mode="before")
    @classmethod
    def _locates(cls, value: Any) -> Any:
        if isinstance(value, (list, tuple, set, frozenset)):
            return frozenset(_symbol_key(s) for s in value)
        return value

    @field_validator("symbols", mode="before")
    @classmethod
    def _symbols(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {_symbol_key(k): v for k, v in value.items()}
        return value


@dataclass(slots=True)
class Effective:
    """The limits in force for orders in one symbol, resolved once (the check reads only this)."""

    rate: int | None
    reference: bool
    band: Decimal | None  # as a fraction: 500 bps -> 0.05
    stop_side: bool
    notional: Decimal | None
    open_orders: int | None
    position: Decimal | None
    gross: Decimal | None
    net: Decimal | None
    daily_loss: Decimal | None
    locate: bool
    self_trade: SelfTradeMode
    duplicate: timedelta | None
    # account-wide kinds measured on this symbol alone (per-symbol overrides of them)
    symbol_rate: int | None = None
    symbol_gross: Decimal | None = None
    symbol_net: Decimal | None = None
    symbol_open_orders: int | None = None
    symbol_daily_loss: Decimal | None = None
    restricted: str | None = None
    located: bool = False
    exposure: bool = True  # whether any rule needs the worst-case figures (set by resolve)
    loss: bool = False  # a daily loss limit of the account's or the symbol's is on
    loss_floor: Decimal | None = None  # -max_daily_loss: the day's P&L at or under it halts
    stp: bool = True  # self-trade prevention is on


def resolve(limits: RiskLimits, symbol: str | None = None) -> Effective:
    """The limits in force for ``symbol`` (the account's when None or without overrides)."""
    values = {name: getattr(limits, name) for name in LimitFields.model_fields}
    extra: dict[str, Any] = {}
    if symbol is not None:
        override = limits.symbols.get(symbol)
        if override is not None:
            for name in override.model_fields_set:
                value = getattr(override, name)
                if name in ACCOUNT_LIMITS:
                    extra[name] = value
                else:
                    values[name] = value
    band = values["price_band_bps"]
    window = values["duplicate_window"]
    measured = ("max_position", "max_gross_exposure", "max_net_exposure", "max_daily_loss")
    exposure = values["require_locate"] or any(
        values[name] is not None or extra.get(name) is not None for name in measured
    )
    return Effective(
        rate=values["max_orders_per_second"],
        reference=values["require_reference_price"],
        band=None if band is None else band / BPS,
        stop_side=values["check_stop_side"],
        notional=values["max_order_notional"],
        open_orders=values["max_open_orders"],
        position=values["max_position"],
        gross=values["max_gross_exposure"],
        net=values["max_net_exposure"],
        daily_loss=values["max_daily_loss"],
        locate=values["require_locate"],
        self_trade=values["self_trade"],
        duplicate=None if window is None else timedelta(seconds=window),
        symbol_rate=extra.get("max_orders_per_second"),
        symbol_gross=extra.get("max_gross_exposure"),
        symbol_net=extra.get("max_net_exposure"),
        symbol_open_orders=extra.get("max_open_orders"),
        symbol_daily_loss=extra.get("max_daily_loss"),
        restricted=None if symbol is None else limits.restricted.get(symbol),
        located=symbol is not None and symbol in limits.locates,
        exposure=exposure,
        loss=values["max_daily_loss"] is not None or extra.get("max_daily_loss") is not None,
        loss_floor=None if values["max_daily_loss"] is None else -values["max_daily_loss"],
        stp=values["self_trade"] != "off",
    )
