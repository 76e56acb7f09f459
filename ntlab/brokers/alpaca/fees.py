"""Alpaca's fees, from its account activities, on ntlab's fills.

Stock trades at Alpaca are commission-free but pay regulatory fees: the SEC's (REG) and FINRA's TAF on
sales, the CAT fee on every trade. Crypto trades pay a percentage, charged in what the trade brings in:
the coin on a buy (``qty`` negative in the coin, ``price`` to value it), dollars on a sale. Alpaca accrues
them through the day and posts them after it as ``FEE`` and ``CFEE`` activities that name a symbol and a
date, not an order. So each posted fee is shared among that day's fills of that symbol it can belong to
(sales for REG and TAF, buys for a crypto fee in the coin, sales for one in dollars, every fill for CAT),
in proportion to what the fee is levied on: the shares for TAF and CAT, the notional for the others. A fee
charged at one rate on every fill of the day is then each fill's own fee exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from ntlab.brokers.alpaca.mapping import ntlab_symbol
from ntlab.core.enums import Side
from ntlab.core.records import Fill

FEE_ACTIVITIES = ("FEE", "CFEE")
EXCHANGE_TZ = ZoneInfo("America/New_York")
PLACES = Decimal("0.000001")
ZERO = Decimal(0)

#: Which fills a posted fee falls on, by the words of its description: (side or None for both, by shares).
FEE_RULES: dict[str, tuple[Side | None, bool]] = {
    "REG": (Side.SELL, False),  # SEC fee: a rate on the notional sold
    "TAF": (Side.SELL, True),  # FINRA trading activity fee: per share sold
    "CAT": (None, True),  # consolidated audit trail: per share traded
    "(Non USD)": (Side.BUY, False),  # a crypto fee taken in the coin bought
    "(USD)": (Side.SELL, False),  # a crypto fee taken in the dollars a sale brings
}


def fee_amount(activity: dict[str, Any]) -> Decimal:
    """What a fee activity costs in dollars (positive): its net amount, or a coin fee at its price."""
    net = Decimal(str(activity.get("net_amount") or 0))
    if net:
        return -net
    qty, price = activity.get("qty"), activity.get("price")
    if qty is not None and price is not None:
        return abs(Decimal(str(qty)) * Decimal(str(price)))
    return ZERO


def fee_rule(activity: dict[str, Any]) -> tuple[Side | None, bool]:
    description = str(activity.get("description") or "")
    for words, rule in FEE_RULES.items():
        if words in description:
            return rule
    return None, False


def trading_day(fill: Fill) -> date:
    return fill.time.astimezone(EXCHANGE_TZ).date()


def attribute(activities: Iterable[dict[str, Any]], fills: Iterable[Fill]) -> dict[str, Decimal]:
    """Each fill's share of the posted fees, by fill id (fills no fee falls on are left out)."""
    by_day: dict[tuple[str, date], list[Fill]] = {}
    for fill in fills:
        by_day.setdefault((fill.symbol, trading_day(fill)), []).append(fill)
    shares: dict[str, Decimal] = {}
    for activity in activities:
        if (
            activity.get("activity_type") not in FEE_ACTIVITIES
            or activity.get("status", "executed") != "executed"
        ):
            continue
        amount = fee_amount(activity)
        symbol = ntlab_symbol(
            str(activity.get("symbol") or ""), "crypto" if activity.get("activity_type") == "CFEE" else None
        )
        day = date.fromisoformat(str(activity.get("date"))[:10])
        side, per_share = fee_rule(activity)
        chosen = [f for f in by_day.get((symbol, day), ()) if side is None or f.side is side]
        weights = [f.quantity if per_share else f.quantity * f.price for f in chosen]
        total = sum(weights, ZERO)
        if not amount or not total:
            continue
        for fill, weight in zip(chosen, weights, strict=True):
            shares[fill.fill_id] = shares.get(fill.fill_id, ZERO) + amount * weight / total
    return {fill_id: fee.quantize(PLACES) for fill_id, fee in shares.items()}
