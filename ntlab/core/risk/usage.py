"""Each limit beside what is used of it now, as plain rows (the Lab turns them into a DataFrame).

Account-wide rows first, in the rules' order, then one block per symbol that holds or works something or
has limits of its own. ``usage`` is None for rules checked order by order (a band, a notional cap), and
also for an exposure that has no price to be valued at, which the note then says: never a silent 0.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, NamedTuple

from ntlab.core.risk.limits import ACCOUNT_LIMITS, BPS
from ntlab.core.risk.rules import RULES
from ntlab.errors import Reason

if TYPE_CHECKING:
    from ntlab.core.risk.engine import RiskEngine

_SETTING = {rule.reason: rule.setting for rule in RULES}
_REASON = {rule.setting: rule.reason for rule in RULES}
ZERO = Decimal(0)


class LimitUsage(NamedTuple):
    """One limit beside what is used of it now (``usage`` None: checked per order, or unknown)."""

    rule: str
    reason: str
    symbol: str | None
    limit: Decimal | None
    usage: Decimal | None
    status: str  # ok | breached | halted | unknown | on | off
    setting: str
    note: str = ""


def _number(value: Decimal | int | None, money: bool = False) -> str:
    if value is None:
        return "off"
    return f"{value:,.2f}" if money else f"{value:,}"


def _switch(on: bool) -> str:
    return "on" if on else "off"


class _Rows:
    def __init__(self) -> None:
        self.rows: list[LimitUsage] = []

    def add(
        self,
        reason: Reason,
        symbol: str | None,
        limit: Decimal | int | None,
        usage: Decimal | int | None,
        setting: str,
        note: str = "",
        status: str | None = None,
    ) -> None:
        if status is None:
            if limit is None:
                status = "off"
            elif usage is None:
                status = "on"
            else:
                status = "breached" if usage > limit else "ok"
        self.rows.append(
            LimitUsage(
                _SETTING[reason],
                reason.value,
                symbol,
                None if limit is None else Decimal(limit),
                None if usage is None else Decimal(usage),
                status,
                setting,
                note,
            )
        )


def usage_rows(engine: RiskEngine) -> list[LimitUsage]:
    """The account's limits, then each symbol's, with what is used of each."""
    limits = engine.limits
    account = engine.limits_for("")  # no symbol: the account's own limits
    tracker = engine.tracker
    out = _Rows()
    halted = engine.halted_reason
    out.add(
        Reason.TRADING_HALTED,
        None,
        None,
        None,
        "engaged" if halted else "not engaged",
        halted or "",
        "halted" if halted else "ok",
    )
    restricted = limits.restricted
    out.add(
        Reason.RESTRICTED_SYMBOL,
        None,
        None,
        None,
        ", ".join(sorted(restricted)) or "none",
        "; ".join(f"{s}: {why}" for s, why in sorted(restricted.items())),
        _switch(bool(restricted)),
    )
    rate = account.rate
    out.add(Reason.RATE_LIMIT, None, rate, engine.orders_last_second() if rate else None, _number(rate))
    out.add(
        Reason.NO_REFERENCE_PRICE,
        None,
        None,
        None,
        _switch(account.reference),
        status=_switch(account.reference),
    )
    band = None if account.band is None else (account.band * BPS).normalize()
    out.add(Reason.PRICE_BAND, None, band, None, "off" if band is None else f"{band:f} bps", "per order")
    out.add(
        Reason.STOP_WOULD_TRIGGER,
        None,
        None,
        None,
        _switch(account.stop_side),
        status=_switch(account.stop_side),
    )
    out.add(Reason.MAX_NOTIONAL, None, account.notional, None, _number(account.notional, True), "per order")
    out.add(
        Reason.MAX_OPEN_ORDERS, None, account.open_orders, tracker.open_orders, _number(account.open_orders)
    )
    valued = tracker.valued
    for reason, limit, used in (
        (Reason.MAX_GROSS_EXPOSURE, account.gross, tracker.gross),
        (Reason.MAX_NET_EXPOSURE, account.net, tracker.net),
    ):
        if valued:
            out.add(reason, None, limit, used, _number(limit, True))
        else:
            unknown = "off" if limit is None else "unknown"
            out.add(
                reason, None, limit, None, _number(limit, True), "some exposure has no price yet", unknown
            )
    out.add(
        Reason.DAILY_LOSS_LIMIT,
        None,
        account.daily_loss,
        max(-tracker.pnl, ZERO),  # a profit uses none of it
        _number(account.daily_loss, True),
        tracker.loss_halt or f"P&L today {tracker.pnl:,.2f}",
        "halted" if tracker.loss_halt else None,
    )
    locates = ", ".join(sorted(limits.locates))
    out.add(
        Reason.NO_LOCATE,
        None,
        None,
        None,
        _switch(account.locate),
        f"locates: {locates}" if locates else "",
        _switch(account.locate),
    )
    out.add(
        Reason.SELF_TRADE, None, None, None, account.self_trade, status=_switch(account.self_trade != "off")
    )
    window = account.duplicate
    out.add(
        Reason.DUPLICATE_ORDER,
        None,
        None,
        None,
        "off" if window is None else f"{window.total_seconds():g} s",
        status=_switch(window is not None),
    )
    shown = [symbol for symbol, s in tracker.symbols.items() if s.day.quantity or s.open_orders]
    shown += sorted(set(limits.symbols) - set(shown))
    for symbol in shown:
        _symbol_rows(engine, symbol, out)
    return out.rows


def _symbol_rows(engine: RiskEngine, symbol: str, out: _Rows) -> None:
    limits = engine.limits_for(symbol)
    s = engine.tracker.symbols.get(symbol)
    held, buys, sells = (s.day.quantity, s.open_buy, s.open_sell) if s is not None else (ZERO, ZERO, ZERO)
    worst = max(abs(held + buys), abs(held - sells))
    note = f"position {held}, working buys {buys}, sells {sells}"
    out.add(Reason.MAX_POSITION, symbol, limits.position, worst, _number(limits.position), note)
    override = engine.limits.symbols.get(symbol)
    if override is None:
        return
    for name in sorted(override.model_fields_set - set(ACCOUNT_LIMITS) - {"max_position"}):
        out.add(_REASON[name], symbol, None, None, str(getattr(override, name)), "for this symbol", "on")
    value = None if s is None or s.mark is None else s.gross
    if limits.symbol_gross is not None:
        out.add(
            Reason.MAX_GROSS_EXPOSURE, symbol, limits.symbol_gross, value, _number(limits.symbol_gross, True)
        )
    if limits.symbol_net is not None:
        out.add(Reason.MAX_NET_EXPOSURE, symbol, limits.symbol_net, value, _number(limits.symbol_net, True))
    if limits.symbol_open_orders is not None:
        count = s.open_orders if s is not None else 0
        out.add(
            Reason.MAX_OPEN_ORDERS,
            symbol,
            limits.symbol_open_orders,
            count,
            _number(limits.symbol_open_orders),
        )
    if limits.symbol_daily_loss is not None:
        halt = s.loss_halt if s is not None else None
        out.add(
            Reason.DAILY_LOSS_LIMIT,
            symbol,
            limits.symbol_daily_loss,
            max(-s.pnl, ZERO) if s is not None else ZERO,
            _number(limits.symbol_daily_loss, True),
            halt or "",
            "halted" if halt else None,
        )
    if limits.symbol_rate is not None:
        out.add(
            Reason.RATE_LIMIT,
            symbol,
            limits.symbol_rate,
            engine.orders_last_second(symbol),
            _number(limits.symbol_rate),
        )
