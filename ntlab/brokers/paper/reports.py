"""What the paper venue says about its orders: updates for the manager and snapshots for lookups.

Built with ``trusted`` because every value here comes from the venue's own checked state and these run on
the order path.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from ntlab.brokers.paper.book import VenueOrder
from ntlab.core.broker import BrokerOrder
from ntlab.core.enums import OrderStatus
from ntlab.core.models import Fill, OrderUpdate, trusted
from ntlab.times import from_ns


def update(
    order_id: str,
    status: OrderStatus | None,
    now: datetime,
    *,
    fill: Fill | None = None,
    broker_order_id: str | None = None,
    reason: str | None = None,
) -> OrderUpdate:
    return trusted(
        OrderUpdate,
        {
            "order_id": order_id,
            "status": status,
            "fill": fill,
            "broker_order_id": broker_order_id,
            "reason": reason,
            "cancel_rejected": False,
            "time": now,
        },
    )


def cancel_refused(order_id: str, now: datetime, reason: str) -> OrderUpdate:
    """A cancel the venue cannot honour: the order is unknown or already final."""
    return trusted(
        OrderUpdate,
        {
            "order_id": order_id,
            "status": None,
            "fill": None,
            "broker_order_id": None,
            "reason": reason,
            "cancel_rejected": True,
            "time": now,
        },
    )


def snapshot(order: VenueOrder, venue: str) -> BrokerOrder:
    """The venue's view of an order, as lookups and reconciliation report it."""
    return trusted(
        BrokerOrder,
        {
            "order_id": order.order_id,
            "symbol": order.symbol,
            "side": order.side,
            "quantity": order.quantity,
            "order_type": order.order_type,
            "time_in_force": order.time_in_force,
            "status": order.status,
            "limit_price": order.limit_price,
            "stop_price": order.stop_price,
            "filled_quantity": order.filled,
            "avg_fill_price": order.notional / order.filled if order.filled else None,
            "fees": Decimal(0),
            "broker_order_id": order.broker_order_id,
            "created_at": from_ns(order.created_ns),
            "updated_at": from_ns(order.updated_ns),
            "reason_code": None,
            "reason": order.reason,
            "arrival_bid": None,
            "arrival_ask": None,
            "parent_id": None,
            "tag": None,
            "venue": venue,
            "external": False,
        },
    )
