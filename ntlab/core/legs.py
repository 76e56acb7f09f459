"""The exits an order brings with it (bracket, oto, oco): ntlab orders of their own, linked to it.

An entry with ``take_profit`` / ``stop_loss`` is sent to the broker as one order; its legs are recorded
beside it as orders with ids of their own (``<id>-tp``, ``<id>-sl``) and ``linked_to`` the entry, so the
broker's news about each leg (its ack, its fills, its cancel when the other leg filled) lands on that leg.
Adapters send the legs the way their broker takes them (Alpaca's order_class and legs, IB's parent ids and
OCA groups, OANDA's on-fill orders); the paper venue works them itself.
"""

from __future__ import annotations

from ntlab.core.enums import OrderClass, OrderStatus, OrderType, Side
from ntlab.core.records import Order

TAKE_PROFIT = "tp"
STOP_LOSS = "sl"


def leg_id(order_id: str, leg: str) -> str:
    """The id of an order's take-profit (``tp``) or stop-loss (``sl``) leg."""
    return f"{order_id}-{leg}"


def legs(order: Order) -> list[Order]:
    """The leg orders of an order (none for a simple one), pending until the broker has them.

    Bracket and oto legs exit what the entry buys or sells, so they take the other side, for the entry's
    quantity; an oco order is itself the take-profit, and its stop-loss leg is on the same side.
    """
    kind = order.order_class
    if kind is OrderClass.SIMPLE:
        return []
    side = order.side if kind is OrderClass.OCO else (Side.SELL if order.side is Side.BUY else Side.BUY)
    base = Order(
        order_id=order.order_id,
        symbol=order.symbol,
        side=side,
        quantity=order.quantity,
        order_type=OrderType.LIMIT,
        time_in_force=order.time_in_force,
        status=OrderStatus.PENDING,
        created_at=order.created_at,
        updated_at=order.created_at,
        linked_to=order.order_id,
        parent_id=order.parent_id,
        tag=order.tag,
        venue=order.venue,
    )
    found: list[Order] = []
    if kind is not OrderClass.OCO and order.take_profit is not None:
        found.append(
            base._replace(order_id=leg_id(order.order_id, TAKE_PROFIT), limit_price=order.take_profit)
        )
    if order.stop_loss is not None:
        found.append(
            base._replace(
                order_id=leg_id(order.order_id, STOP_LOSS),
                order_type=OrderType.STOP if order.stop_loss_limit is None else OrderType.STOP_LIMIT,
                stop_price=order.stop_loss,
                limit_price=order.stop_loss_limit,
            )
        )
    return found
