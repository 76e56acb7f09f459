"""Questrade's vocabulary to ntlab's and back: one table per direction, a test per row.

Questrade sends numbers as JSON numbers (``"limitPrice": 190.1``); ntlab reads them from the wire's text as
``Decimal`` (``parse_json``), never through a float. Times are ISO 8601 with an offset.

Questrade has no client order id. An order ntlab placed is known by the Questrade id it got back (kept in
the adapter's order map, :mod:`ntlab.brokers.questrade.orders`); an order placed elsewhere is named
``questrade-<id>`` in ntlab.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from ntlab.core.enums import OrderStatus, OrderType, Side, TimeInForce
from ntlab.core.records import Fill, Order, Position
from ntlab.errors import Reason

S = OrderStatus
VENUE = "questrade"
EXTERNAL_PREFIX = "questrade-"

#: Every order state Questrade reports, and what it means in ntlab.
ORDER_STATE: dict[str, OrderStatus] = {
    "Pending": S.PENDING,
    "Queued": S.PENDING,
    "PendingRiskReview": S.PENDING,
    "Accepted": S.ACCEPTED,
    "Activated": S.ACCEPTED,  # a stop that triggered, now working
    "Triggered": S.ACCEPTED,
    "ContingentOrder": S.ACCEPTED,  # waits for another order
    "Stopped": S.ACCEPTED,
    "Suspended": S.ACCEPTED,  # not eligible for trading now, still open
    "Partial": S.PARTIALLY_FILLED,
    "Executed": S.FILLED,
    "Canceled": S.CANCELLED,
    "PartialCanceled": S.CANCELLED,  # partly filled, the rest cancelled
    "CancelPending": S.PENDING_CANCEL,
    "ReplacePending": S.PENDING_REPLACE,
    "Replaced": S.CANCELLED,  # this id is closed; the replacement is a new Questrade order id
    "Rejected": S.REJECTED,
    "Failed": S.REJECTED,
    "Expired": S.EXPIRED,
}

#: ntlab's order types as Questrade spells them (``orderType``).
ORDER_TYPE: dict[OrderType, str] = {
    OrderType.MARKET: "Market",
    OrderType.LIMIT: "Limit",
    OrderType.STOP: "Stop",
    OrderType.STOP_LIMIT: "StopLimit",
}
ORDER_TYPE_BACK: dict[str, OrderType] = {wire: ours for ours, wire in ORDER_TYPE.items()}

#: ntlab's times in force as Questrade spells them (``timeInForce``); opening/closing orders have none.
TIME_IN_FORCE: dict[TimeInForce, str] = {
    TimeInForce.DAY: "Day",
    TimeInForce.GTC: "GoodTillCanceled",
    TimeInForce.IOC: "ImmediateOrCancel",
    TimeInForce.FOK: "FillOrKill",
}
TIME_IN_FORCE_BACK: dict[str, TimeInForce] = {
    **{wire: ours for ours, wire in TIME_IN_FORCE.items()},
    "GoodTillExtendedDay": TimeInForce.DAY,
    "GoodTillDate": TimeInForce.GTC,
}

#: The sides Questrade reports on orders and executions (``side``); ``action`` on a new order is Buy/Sell.
SIDE: dict[str, Side] = {
    "Buy": Side.BUY,
    "Sell": Side.SELL,
    "Short": Side.SELL,  # sell short
    "Cov": Side.BUY,  # buy to cover
    "BTO": Side.BUY,
    "STC": Side.SELL,
    "STO": Side.SELL,
    "BTC": Side.BUY,
}
ACTION: dict[Side, str] = {Side.BUY: "Buy", Side.SELL: "Sell"}

#: Questrade error codes (the ``code`` of an error body) that refuse an order, as ntlab reasons. Codes not
#: listed are ``broker_rejected`` with Questrade's own message.
REJECT_REASON: dict[int, Reason] = {
    1002: Reason.INVALID_FIELD,  # invalid or malformed argument
    1003: Reason.INVALID_FIELD,  # argument length exceeds the limit
    1004: Reason.INVALID_FIELD,  # missing required argument
    1019: Reason.NOT_ALLOWED,  # the application has no trading permission (read-only personal app)
    3139: Reason.BROKER_REJECTED,  # invalid route (Questrade's own documented example)
    3014: Reason.INSUFFICIENT_FUNDS,  # insufficient buying power
    3015: Reason.INSUFFICIENT_POSITION,  # not enough shares to sell
    3016: Reason.UNKNOWN_SYMBOL,  # symbol not found or not tradable
    3017: Reason.TRADING_HALTED,  # the market or symbol is halted or closed
}

#: What each error code tells the adapter about a call, beyond an order's refusal.
#: ``auth``: the access token is dead (refresh and send again: the call never ran);
#: ``rate``: over a limit (wait until ``X-RateLimit-Reset``); ``missing``: no such object;
#: ``forbidden``: the token's app may not make this call (trading needs a partner app).
ERROR_KIND: dict[int, str] = {
    1014: "auth",  # missing authorization header
    1017: "auth",  # access token is invalid (expired or revoked)
    1006: "rate",  # too many requests
    1019: "forbidden",
    1020: "missing",  # object not found (an order or account that does not exist)
}

#: HTTP status -> what the adapter makes of it when the body carries no code it knows.
HTTP_KIND: dict[int, str] = {
    400: "refused",
    401: "auth",
    403: "forbidden",
    404: "missing",
    429: "rate",
}


def parse_json(raw: bytes) -> Any:
    """Questrade's JSON with every non-integer number as ``Decimal`` from its own digits."""
    return json.loads(raw, parse_float=Decimal)


def dec(value: Any) -> Decimal | None:
    """A wire number as ``Decimal`` (ints and Decimals from :func:`parse_json`); None stays None."""
    if value is None:
        return None
    if isinstance(value, float):  # never from parse_json; a caller's float is read by its shortest repr
        return Decimal(repr(value))
    return Decimal(value) if not isinstance(value, Decimal) else value


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value)


def stamp(when: datetime) -> str:
    """A time as Questrade wants it in queries: ISO 8601 with the offset."""
    return when.isoformat(timespec="microseconds")


def order_status(data: dict[str, Any]) -> OrderStatus:
    """The ntlab status of a Questrade order; an unknown state keeps the order open, never closes it."""
    return ORDER_STATE.get(str(data.get("state")), S.ACCEPTED)


def reject_reason(code: int | None, message: str) -> str:
    """The ntlab reason code for an order refusal with this Questrade error code."""
    if code is not None and code in REJECT_REASON:
        return REJECT_REASON[code].value
    text = message.lower()
    if "buying power" in text or "insufficient funds" in text:
        return Reason.INSUFFICIENT_FUNDS.value
    return Reason.BROKER_REJECTED.value


def order_body(
    order: Order, account_number: str, symbol_id: int, change: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The JSON body of ``POST v1/accounts/{id}/orders`` (and of a replace, with ``change``)."""
    limit = order.limit_price
    stop = order.stop_price
    quantity = order.quantity
    if change:
        limit = change.get("limit_price", limit)
        stop = change.get("stop_price", stop)
        quantity = change.get("quantity", quantity)
    if quantity != quantity.to_integral_value():
        raise ValueError(f"Questrade trades whole shares; {quantity} is fractional")
    body: dict[str, Any] = {
        "accountNumber": account_number,
        "symbolId": symbol_id,
        "quantity": int(quantity),
        "isAllOrNone": False,
        "isAnonymous": False,
        "orderType": ORDER_TYPE[order.order_type],
        "timeInForce": TIME_IN_FORCE[order.time_in_force],
        "action": ACTION[order.side],
        "primaryRoute": "AUTO",
        "secondaryRoute": "AUTO",
    }
    if limit is not None:
        body["limitPrice"] = limit
    if stop is not None:
        body["stopPrice"] = stop
    return body


def broker_order(data: dict[str, Any], order_id: str) -> Order:
    """A Questrade order record as ntlab's order (``order_id``: ntlab's id for it)."""
    created = parse_time(data.get("creationTime"))
    updated = parse_time(data.get("updateTime")) or created
    assert created is not None and updated is not None, "a Questrade order always has a creationTime"
    filled = dec(data.get("filledQuantity")) or Decimal(0)
    status = order_status(data)
    if status is S.ACCEPTED and filled > 0:
        status = S.PARTIALLY_FILLED
    avg = dec(data.get("avgExecPrice"))
    return Order(
        order_id=order_id,
        symbol=str(data["symbol"]),
        side=SIDE[str(data["side"])],
        quantity=dec(data.get("totalQuantity")) or Decimal(0),
        order_type=ORDER_TYPE_BACK.get(str(data.get("orderType")), OrderType.LIMIT),
        time_in_force=TIME_IN_FORCE_BACK.get(str(data.get("timeInForce")), TimeInForce.DAY),
        status=status,
        created_at=created,
        updated_at=updated,
        limit_price=dec(data.get("limitPrice")),
        stop_price=dec(data.get("stopPrice")),
        filled_quantity=filled,
        avg_fill_price=avg if filled > 0 else None,
        fees=dec(data.get("comissionCharged")) or Decimal(0),
        broker_order_id=str(data["id"]),
        reason=data.get("clientReasonStr") or None,
        venue=VENUE,
        external=order_id.startswith(EXTERNAL_PREFIX),
    )


def fill(data: dict[str, Any], order_id: str) -> Fill:
    """A Questrade execution as ntlab's fill; its ``id`` is the fill id. Fees: commission plus the
    execution, SEC and other per-execution fees Questrade itemises."""
    fee = Decimal(0)
    for key in ("commission", "executionFee", "secFee", "canadianExecutionFee"):
        fee += dec(data.get(key)) or Decimal(0)
    when = parse_time(data.get("timestamp"))
    assert when is not None, "a Questrade execution always has a timestamp"
    return Fill(
        fill_id=str(data["id"]),
        order_id=order_id,
        symbol=str(data["symbol"]),
        side=SIDE[str(data["side"])],
        quantity=dec(data["quantity"]) or Decimal(0),
        price=dec(data["price"]) or Decimal(0),
        time=when,
        fee=fee,
        venue=data.get("venue") or VENUE,
    )


def position(data: dict[str, Any]) -> Position:
    """``openQuantity`` is signed (negative = short); ``averageEntryPrice`` the open part's cost."""
    return Position(
        symbol=str(data["symbol"]),
        quantity=dec(data.get("openQuantity")) or Decimal(0),
        avg_cost=dec(data.get("averageEntryPrice")),
        realized_pnl=dec(data.get("closedPnl")) or Decimal(0),
    )
