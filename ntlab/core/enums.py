"""The order vocabulary. Values are the lower-case spellings users type ("buy", "limit", "gtc").

Python 3.11 answers ``OrderStatus.FILLED`` through ``EnumType.__getattr__`` (about 130 ns a read, against
20 for a module-level name), so the order path binds the members it reads for every order to module names
(``_FILLED = OrderStatus.FILLED``). For the same reason the flags read per order (``is_final``,
``is_open``, ``sign``) are plain attributes of each member, set below, not properties.
"""

from __future__ import annotations

from enum import StrEnum


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    sign: int
    """+1 for buys, -1 for sells: the s of every TCA formula."""


Side.BUY.sign, Side.SELL.sign = 1, -1


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"
    TRAILING_STOP = "trailing_stop"  # a stop that follows the market by trail_price or trail_percent


class OrderClass(StrEnum):
    """How an order comes with exits (legs) of its own.

    - ``simple``: no legs.
    - ``bracket``: an entry with a take-profit limit and a stop-loss; both exits go live when the entry
      fills, and the first of them to fill cancels the other.
    - ``oto`` (one triggers other): an entry with one exit, live when the entry fills.
    - ``oco`` (one cancels other): no entry; a take-profit limit (the order itself) and a stop-loss leg,
      both live at once, the first to fill cancelling the other.
    """

    SIMPLE = "simple"
    BRACKET = "bracket"
    OTO = "oto"
    OCO = "oco"


class TimeInForce(StrEnum):
    DAY = "day"
    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"
    OPG = "opg"
    CLS = "cls"


class OrderStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    PENDING_CANCEL = "pending_cancel"
    PENDING_REPLACE = "pending_replace"

    is_final: bool
    """Filled, cancelled, rejected or expired: nothing more happens to the order but late news."""
    is_open: bool


FINAL_STATUSES = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
)
for _status in OrderStatus:
    _status.is_final = _status in FINAL_STATUSES
    _status.is_open = not _status.is_final


class Liquidity(StrEnum):
    """Whether a fill added liquidity (resting order hit) or took it (crossed the spread)."""

    MAKER = "maker"
    TAKER = "taker"
