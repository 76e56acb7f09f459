"""What a broker reports about an order: one small immutable record per kind of news.

Adapters translate their broker's messages into these (each adapter's mapping is one table); the order
lifecycle matches on them. ``order_id`` is always ntlab's id, the client order id sent to the broker.
``OrderUpdate`` names any of them.

The records are NamedTuples: cheap to build on the order path. Compare reports by type as well as value
(``type(a) is type(b) and a == b``): two kinds with the same fields compare equal as tuples.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from ntlab.core.records import Fill


class Accepted(NamedTuple):
    """The broker holds the order (an ack); ``broker_order_id`` is its own id for it."""

    order_id: str
    time: datetime
    broker_order_id: str | None = None


class Rejected(NamedTuple):
    """The broker refused the order. ``reason`` is the broker's own words; ``code`` an ntlab reason code."""

    order_id: str
    time: datetime
    reason: str
    code: str = "broker_rejected"


class Filled(NamedTuple):
    """An execution: partial or complete, the cumulative quantity follows from the fills booked."""

    order_id: str
    fill: Fill


class Triggered(NamedTuple):
    """A stop order's trigger price was reached; it now works as a market or limit order."""

    order_id: str
    time: datetime


class PendingCancel(NamedTuple):
    """The broker took a cancel request and has not decided yet."""

    order_id: str
    time: datetime


class Cancelled(NamedTuple):
    """The order is cancelled (by request, by the venue, or an IOC/FOK remainder)."""

    order_id: str
    time: datetime
    reason: str | None = None


class CancelRejected(NamedTuple):
    """The broker refused a cancel request; the order goes on as its executions say."""

    order_id: str
    time: datetime
    reason: str


class Replaced(NamedTuple):
    """A replace took effect: the order's new quantity and prices (None = unchanged); ``trail`` a trailing
    stop's new distance (a price or a percentage, as the order trails).

    Brokers that replace by creating a new order (Alpaca, OANDA) give its id as ``broker_order_id``. A
    broker that sizes a notional order reports the quantity it came to the same way.
    """

    order_id: str
    time: datetime
    quantity: Decimal | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    broker_order_id: str | None = None
    trail: Decimal | None = None


class ReplaceRejected(NamedTuple):
    """The broker refused a replace; the order goes on unchanged."""

    order_id: str
    time: datetime
    reason: str


class Expired(NamedTuple):
    """The order's time in force ran out (a day order at the close, an unfilled opening order)."""

    order_id: str
    time: datetime
    reason: str | None = None


class FeeCharged(NamedTuple):
    """The broker charged ``fee`` (the whole fee, not an addition) for an execution already booked: a fee it
    posts later than the fill (Alpaca's regulatory fees, after the close). The fill, its order's fees and
    the position's fees take the new figure; a repeat of the same fee changes nothing."""

    order_id: str
    fill_id: str
    fee: Decimal
    time: datetime


OrderUpdate = (
    Accepted
    | Rejected
    | Filled
    | Triggered
    | PendingCancel
    | Cancelled
    | CancelRejected
    | Replaced
    | ReplaceRejected
    | Expired
    | FeeCharged
)


def report_time(report: OrderUpdate) -> datetime:
    """When the news happened (a fill's own time for executions)."""
    return report.fill.time if isinstance(report, Filled) else report.time


KINDS: dict[type[OrderUpdate], str] = {
    Accepted: "accepted",
    Rejected: "rejected",
    Filled: "filled",
    Triggered: "triggered",
    PendingCancel: "pending_cancel",
    Cancelled: "cancelled",
    CancelRejected: "cancel_rejected",
    Replaced: "replaced",
    ReplaceRejected: "replace_rejected",
    Expired: "expired",
    FeeCharged: "fee_charged",
}
"""The journal's name for each kind of report."""

BY_KIND: dict[str, type[OrderUpdate]] = {kind: cls for cls, kind in KINDS.items()}
