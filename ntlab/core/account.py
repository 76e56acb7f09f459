"""A broker account's money, and the capability of reporting it.

``Account`` is what a desk reads before sizing an order: cash, equity, buying power, margin in use and the
day's P&L. A broker that can report it implements :class:`AccountSource`; callers check the capability with
``isinstance``. A figure the broker does not report is None, never a made-up zero.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import NamedTuple, Protocol, runtime_checkable


class Account(NamedTuple):
    """An account at a moment. Money is Decimal in ``currency``; None where the broker reports nothing."""

    broker: str
    currency: str
    cash: Decimal
    equity: Decimal
    buying_power: Decimal | None
    margin_used: Decimal | None
    day_pnl: Decimal | None
    time: datetime | None = None


@runtime_checkable
class AccountSource(Protocol):
    """A broker that reports its account (the paper venue from its own fills and marks, Alpaca from
    ``GET /v2/account``)."""

    async def account(self) -> Account: ...
