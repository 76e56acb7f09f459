"""The order vocabulary. Values are the lower-case spellings users type ("buy", "limit", "gtc")."""

from __future__ import annotations

from enum import StrEnum


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        """+1 for buys, -1 for sells: the s of every TCA formula."""
        return 1 if self is Side.BUY else -1


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

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATUSES

    @property
    def is_open(self) -> bool:
        return self not in FINAL_STATUSES


FINAL_STATUSES = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
)


class Liquidity(StrEnum):
    """Whether a fill added liquidity (resting order hit) or took it (crossed the spread)."""

    MAKER = "maker"
    TAKER = "taker"
