"""The pre-trade rules as one table, in the order they run: reason code, setting, scope, what it checks.

The engine (:mod:`ntlab.core.risk.engine`) runs them in this order and refuses with the first rule's reason;
``print(risk_rules_table())`` shows the table with each setting's default taken from :class:`RiskLimits`, so
the table and the defaults cannot drift apart.
"""

from __future__ import annotations

import textwrap
from typing import NamedTuple

from ntlab.core.risk.limits import RiskLimits
from ntlab.errors import Reason


class Rule(NamedTuple):
    reason: Reason
    setting: str  # the RiskLimits field that sets it ("halt()" for the kill switch)
    scope: str  # order | symbol | account
    checks: str


RULES: tuple[Rule, ...] = (
    Rule(
        Reason.TRADING_HALTED,
        "halt()",
        "account",
        "the kill switch: every new order is refused until resume(); cancels pass",
    ),
    Rule(
        Reason.RESTRICTED_SYMBOL,
        "restricted",
        "symbol",
        "the symbol is on the restricted list (each entry with its reason): every order in it is refused",
    ),
    Rule(
        Reason.RATE_LIMIT,
        "max_orders_per_second",
        "account",
        "no more than this many accepted orders in any second of wall time",
    ),
    Rule(
        Reason.NO_REFERENCE_PRICE,
        "require_reference_price",
        "order",
        "a quote to check the order against; a broker without one is asked (QuoteSource.fetch_quote) "
        "before the order is checked, and the order is refused if none comes",
    ),
    Rule(
        Reason.PRICE_BAND,
        "price_band_bps",
        "order",
        "aggressive side only, as exchange banding does: a buy limit above mid + band or a sell limit below "
        "mid - band (a stop-limit's limit against its stop); passive prices, however far, pass",
    ),
    Rule(
        Reason.STOP_WOULD_TRIGGER,
        "check_stop_side",
        "order",
        "a buy stop at or under the ask, or a sell stop at or over the bid: it would trigger at once",
    ),
    Rule(
        Reason.MAX_NOTIONAL,
        "max_order_notional",
        "order",
        "quantity x reference price (a buy: the higher of limit and ask; a sell: its limit, else the bid); "
        "a notional order's notional",
    ),
    Rule(
        Reason.MAX_OPEN_ORDERS,
        "max_open_orders",
        "account",
        "working orders (sent and not finished), this one included",
    ),
    Rule(
        Reason.MAX_POSITION,
        "max_position",
        "symbol",
        "worst-case position in units, max(|position + open buys|, |position - open sells|), after the "
        "order; an order that does not raise it passes",
    ),
    Rule(
        Reason.MAX_GROSS_EXPOSURE,
        "max_gross_exposure",
        "account",
        "sum over symbols of worst-case |position| x mark; an order that does not raise it passes",
    ),
    Rule(
        Reason.MAX_NET_EXPOSURE,
        "max_net_exposure",
        "account",
        "worst-case |sum of position x mark| (every open buy filled, or every open sell); an order that "
        "does not raise it passes",
    ),
    Rule(
        Reason.DAILY_LOSS_LIMIT,
        "max_daily_loss",
        "account",
        "realized + marked unrealized P&L of the day (UTC), after fees, at or below -limit halts "
        "risk-increasing orders until the day ends; reduce-only orders pass",
    ),
    Rule(
        Reason.NO_LOCATE,
        "require_locate",
        "order",
        "a sale beyond the long position (counting open sells) needs the broker to say the symbol is "
        "shortable and easy to borrow (AssetSource), or the symbol in RiskLimits.locates",
    ),
    Rule(
        Reason.SELF_TRADE,
        "self_trade",
        "order",
        "the order would cross your own resting limit in the symbol: 'refuse' it, or 'cancel_resting' "
        "(the resting order is cancelled first); 'off' skips",
    ),
    Rule(
        Reason.DUPLICATE_ORDER,
        "duplicate_window",
        "order",
        "same symbol, side, quantity, type and prices as an order accepted this many seconds before "
        "(venue clock); a request with allow_duplicate=True passes",
    ),
)

SCOPES = (
    "Scope: 'order' and 'symbol' limits set in RiskLimits.symbols replace the account's for that symbol; "
    "'account' limits set there add a limit of the same kind measured on that symbol alone."
)
REDUCING = (
    "Reduce-only: an order that moves its symbol's position toward zero without crossing it, counting "
    "working orders. Cancels are never checked."
)


def default_of(rule: Rule) -> str:
    """The rule's default setting as text."""
    if rule.setting == "halt()":
        return "not engaged"
    value = RiskLimits.model_fields[rule.setting].get_default(call_default_factory=True)
    if value is None:
        return "off"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, dict):
        return "none" if not value else f"{len(value)} symbols"
    if rule.setting == "price_band_bps":
        return f"{value} bps"
    if rule.setting == "duplicate_window":
        return f"{value:g} s"
    if isinstance(value, (int, float)) or hasattr(value, "is_finite"):
        return f"{value:,}"
    return str(value)


def risk_rules_table(markdown: bool = False) -> str:
    """The rules in the order they run, one line each: reason code, setting, scope, default, what it checks.

    ``markdown=True`` gives the same table for a README.
    """
    rows = [
        (str(i), r.reason.value, r.setting, r.scope, default_of(r), r.checks) for i, r in enumerate(RULES, 1)
    ]
    head = ("#", "reason", "setting", "scope", "default", "checks")
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += [
            "| "
            + " | ".join(f"`{c}`" if k in (1, 2) else c.replace("|", "\\|") for k, c in enumerate(row))
            + " |"
            for row in rows
        ]
        return "\n".join(lines)
    widths = [max(len(row[k]) for row in (*rows, head)) for k in range(5)]
    indent = sum(widths) + 2 * 5
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=False)) + "  checks"]
    for row in rows:
        start = "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "  "
        wrapped = textwrap.wrap(row[5], width=max(40, 118 - indent))
        lines.append(start + wrapped[0])
        lines.extend(" " * indent + more for more in wrapped[1:])
    lines.append("")
    lines.extend(textwrap.wrap(SCOPES, 118))
    lines.extend(textwrap.wrap(REDUCING, 118))
    return "\n".join(lines)
