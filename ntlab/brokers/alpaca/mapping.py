"""Alpaca's vocabulary to ntlab's and back: the status tables, order bodies, orders, fills, positions.

One table per direction, so a reviewer can read every case in one place and a test covers each row.

Fill ids: Alpaca names an execution ``execution_id`` on the stream and ``<time>::<uuid>`` in the FILL
activities, and does not document that the two agree. Both sources do carry the order id and the order's
cumulative filled quantity after the execution, which is unique per execution of an order, so ntlab's fill
id is ``<alpaca order id>:<cum_qty>``: a fill seen on the stream and again in a REST sweep is the same fill.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ntlab.core.broker import AssetFlags
from ntlab.core.enums import OrderClass, OrderStatus, OrderType, Side, TimeInForce
from ntlab.core.legs import STOP_LOSS, TAKE_PROFIT, leg_id
from ntlab.core.records import Fill, Order, Position
from ntlab.core.reports import (
    Accepted,
    Cancelled,
    CancelRejected,
    Expired,
    Filled,
    OrderUpdate,
    PendingCancel,
    Rejected,
    Replaced,
    ReplaceRejected,
)
from ntlab.errors import Reason

log = logging.getLogger(__name__)

S = OrderStatus
VENUE = "alpaca"

#: Every status an Alpaca order can have, and what it means in ntlab. Rows marked open in Alpaca's sense
#: but not filled-or-final (new, accepted, held, ...) map to ``accepted``; ``order_status`` then says
#: ``partially_filled`` when the order already has executions.
ORDER_STATUS: dict[str, OrderStatus] = {
    "new": S.ACCEPTED,
    "accepted": S.ACCEPTED,
    "pending_new": S.ACCEPTED,
    "accepted_for_bidding": S.ACCEPTED,
    "partially_filled": S.PARTIALLY_FILLED,
    "filled": S.FILLED,
    "done_for_day": S.ACCEPTED,  # no more executions today; still open (a gtc order resumes tomorrow)
    "canceled": S.CANCELLED,
    "expired": S.EXPIRED,
    "replaced": S.CANCELLED,  # this Alpaca order is closed; ntlab follows ``replaced_by`` to its successor
    "pending_cancel": S.PENDING_CANCEL,
    "pending_replace": S.PENDING_REPLACE,
    "stopped": S.ACCEPTED,  # a fill is guaranteed but not yet made
    "rejected": S.REJECTED,
    "suspended": S.ACCEPTED,  # not eligible for trading right now, still open
    "calculated": S.ACCEPTED,  # done for the day, settlement pending; executions say how much filled
    "held": S.ACCEPTED,  # a bracket leg waiting for its parent
    "pending_review": S.ACCEPTED,
}

#: What each trade_updates event reports to ntlab. ``None``: nothing to report (the event only informs,
#: or its news arrives another way: a ``replaced`` order's successor comes as the replace's answer).
EVENT_REPORT: dict[str, type[OrderUpdate] | None] = {
    "new": Accepted,
    "accepted": Accepted,
    "pending_new": Accepted,
    "fill": Filled,
    "partial_fill": Filled,
    "canceled": Cancelled,
    "expired": Expired,
    "done_for_day": None,
    "replaced": None,
    "rejected": Rejected,
    "pending_cancel": PendingCancel,
    "pending_replace": None,
    "stopped": None,
    "calculated": None,
    "suspended": None,
    "restated": Replaced,  # Alpaca changed the order in place (a leg cut to what is left to close)
    "order_cancel_rejected": CancelRejected,
    "order_replace_rejected": ReplaceRejected,
}

FILL_EVENTS = frozenset({"fill", "partial_fill"})

ORDER_TYPE_OUT: dict[OrderType, str] = {
    OrderType.MARKET: "market",
    OrderType.LIMIT: "limit",
    OrderType.STOP: "stop",
    OrderType.STOP_LIMIT: "stop_limit",
    OrderType.TRAILING_STOP: "trailing_stop",
}
ORDER_TYPE_IN: dict[str, OrderType] = {alpaca: ntlab for ntlab, alpaca in ORDER_TYPE_OUT.items()}

#: ntlab's order classes and Alpaca's (which spells a simple order "" as well as "simple").
ORDER_CLASS_OUT: dict[OrderClass, str] = {
    OrderClass.SIMPLE: "simple",
    OrderClass.BRACKET: "bracket",
    OrderClass.OTO: "oto",
    OrderClass.OCO: "oco",
}
ORDER_CLASS_IN: dict[str, OrderClass] = {"": OrderClass.SIMPLE} | {
    alpaca: ntlab for ntlab, alpaca in ORDER_CLASS_OUT.items()
}

#: Which of an entry's legs an Alpaca leg order is, by its type: the take-profit is a limit, the
#: stop-loss a stop or stop-limit (an oco order is itself the take-profit; its one leg is the stop-loss).
LEG_ROLE: dict[str, str] = {"limit": TAKE_PROFIT, "stop": STOP_LOSS, "stop_limit": STOP_LOSS}

#: Replacements get a client order id derived from the original, so any session can map them back.
_REPLACEMENT = re.compile(r"^(?P<base>.+)~r(?P<n>\d+)$")


def order_status(status: str, filled_qty: Decimal = Decimal(0)) -> OrderStatus:
    """ntlab's status for an Alpaca order snapshot."""
    mapped = ORDER_STATUS.get(status)
    if mapped is None:
        log.warning("unknown Alpaca order status %r; treating the order as open", status)
        mapped = S.ACCEPTED
    if mapped is S.ACCEPTED and filled_qty > 0:
        return S.PARTIALLY_FILLED
    return mapped


def replacement_client_id(order_id: str, n: int) -> str:
    """The client order id of the ``n``-th replacement of ntlab order ``order_id`` (max 48 chars)."""
    suffix = f"~r{n}"
    if len(order_id) + len(suffix) > 48:
        raise ValueError(f"order id {order_id!r} is too long to derive a replacement client id")
    return order_id + suffix


def ntlab_id(client_order_id: str) -> str:
    """The ntlab order id behind an Alpaca client order id (replacements map to their original)."""
    found = _REPLACEMENT.match(client_order_id)
    return found.group("base") if found else client_order_id


def order_body(order: Order, client_order_id: str | None = None) -> dict[str, Any]:
    """The POST /v2/orders body for an ntlab order; ntlab's id is the client order id.

    A bracket, oto or oco order goes as one order with Alpaca's ``order_class`` and its ``take_profit`` /
    ``stop_loss`` objects; an oco's take-profit is the order's own limit price.
    """
    body: dict[str, Any] = {
        "symbol": order.symbol,
        "side": order.side.value,
        "type": ORDER_TYPE_OUT[order.order_type],
        "time_in_force": order.time_in_force.value,
        "client_order_id": client_order_id or order.order_id,
    }
    if order.notional is not None:
        body["notional"] = _text(order.notional)  # Alpaca works out the (fractional) quantity
    else:
        body["qty"] = _text(order.quantity)
    for name in ("limit_price", "stop_price", "trail_price", "trail_percent"):
        value = getattr(order, name)
        if value is not None:
            body[name] = _text(value)
    kind = order.order_class
    if kind is not OrderClass.SIMPLE:
        body["order_class"] = ORDER_CLASS_OUT[kind]
        take = order.limit_price if kind is OrderClass.OCO else order.take_profit
        if take is not None:
            body["take_profit"] = {"limit_price": _text(take)}
        if order.stop_loss is not None:
            loss = {"stop_price": _text(order.stop_loss)}
            if order.stop_loss_limit is not None:
                loss["limit_price"] = _text(order.stop_loss_limit)
            body["stop_loss"] = loss
    return body


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _dec(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    return Decimal(str(value))


def _text(value: Decimal) -> str:
    return format(value, "f")


def broker_order(data: dict[str, Any], order_id: str | None = None, linked_to: str | None = None) -> Order:
    """An Alpaca order as ntlab sees it: ``order_id`` is ntlab's id (from the client order id unless given:
    a leg's is its entry's id and role), ``broker_order_id`` Alpaca's.

    A notional order's quantity is what it has filled once it is done, and what it may still buy is not
    known before: until then its quantity is its filled quantity (never a made-up one)."""
    filled = _dec(data.get("filled_qty")) or Decimal(0)
    created = parse_time(data.get("created_at")) or datetime.now(UTC)
    kind = data.get("type") or data.get("order_type") or "market"
    tif = data.get("time_in_force") or "day"
    status = data.get("status", "new")
    mapped = order_status(status, filled)
    order_class = ORDER_CLASS_IN.get(data.get("order_class") or "", OrderClass.SIMPLE)
    take = stop = stop_limit = None
    if linked_to is None and order_class is not OrderClass.SIMPLE:
        for leg in data.get("legs") or ():
            if LEG_ROLE.get(leg.get("type") or "") == TAKE_PROFIT:
                take = _dec(leg.get("limit_price"))
            else:
                stop, stop_limit = _dec(leg.get("stop_price")), _dec(leg.get("limit_price"))
    quantity = _dec(data.get("qty"))
    return Order(
        order_id=order_id or ntlab_id(data["client_order_id"]),
        symbol=ntlab_symbol(data.get("symbol") or "", data.get("asset_class")),
        side=Side(data.get("side") or "buy"),
        quantity=quantity if quantity is not None else filled,
        order_type=ORDER_TYPE_IN.get(kind, OrderType.MARKET),
        time_in_force=TimeInForce(tif) if tif in TimeInForce._value2member_map_ else TimeInForce.DAY,
        status=mapped,
        created_at=created,
        updated_at=parse_time(data.get("updated_at")) or created,
        limit_price=_dec(data.get("limit_price")),
        stop_price=_dec(data.get("stop_price")),
        filled_quantity=filled,
        avg_fill_price=_dec(data.get("filled_avg_price")) if filled else None,
        broker_order_id=data.get("id"),
        reason=None if mapped is not S.REJECTED else f"alpaca status {status}",
        venue=VENUE,
        trail_price=_dec(data.get("trail_price")),
        trail_percent=_dec(data.get("trail_percent")),
        order_class=order_class,
        take_profit=take,
        stop_loss=stop,
        stop_loss_limit=stop_limit,
        linked_to=linked_to,
        notional=_dec(data.get("notional")),
    )


def legs_of(data: dict[str, Any], entry_id: str) -> list[tuple[str, dict[str, Any]]]:
    """An Alpaca entry's leg orders (its ``legs`` array) with the ntlab id each is known by."""
    return [
        (leg_id(entry_id, LEG_ROLE.get(leg.get("type") or "", STOP_LOSS)), leg)
        for leg in data.get("legs") or ()
        if leg.get("id")
    ]


#: The quote currencies Alpaca's crypto pairs end in, longest first (``BTCUSDT`` is BTC/USDT, not BTCUSD/T).
CRYPTO_QUOTES = ("USDT", "USDC", "USD", "BTC")


def ntlab_symbol(symbol: str, asset_class: str | None = None) -> str:
    """ntlab's spelling of an Alpaca symbol: positions and activities name crypto without the slash."""
    if "/" in symbol or asset_class not in ("crypto", None) or asset_class is None:
        return symbol
    for quote in CRYPTO_QUOTES:
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return f"{symbol[: -len(quote)]}/{quote}"
    return symbol


def fill_id(alpaca_order_id: str, cum_qty: Any) -> str:
    return f"{alpaca_order_id}:{_text(Decimal(str(cum_qty)).normalize())}"


def fill_from_event(data: dict[str, Any], order_id: str | None = None) -> Fill | None:
    """The execution a fill/partial_fill event reports (``price``/``qty`` are this execution's)."""
    order = data["order"]
    qty, price = _dec(data.get("qty")), _dec(data.get("price"))
    if qty is None or price is None:
        return None
    return Fill(
        fill_id=fill_id(order["id"], order["filled_qty"]),
        order_id=order_id or ntlab_id(order["client_order_id"]),
        symbol=ntlab_symbol(order["symbol"], order.get("asset_class")),
        side=Side(order["side"]),
        quantity=qty,
        price=price,
        time=parse_time(data.get("timestamp")) or datetime.now(UTC),
        venue=VENUE,
    )


def fill_from_activity(activity: dict[str, Any], order_id: str) -> Fill:
    """A FILL account activity as an ntlab fill (the caller resolves which ntlab order it is)."""
    return Fill(
        fill_id=fill_id(activity["order_id"], activity["cum_qty"]),
        order_id=order_id,
        symbol=ntlab_symbol(activity["symbol"], "crypto" if "/" in activity["symbol"] else None),
        side=Side(activity["side"]),
        quantity=Decimal(str(activity["qty"])),
        price=Decimal(str(activity["price"])),
        time=parse_time(activity.get("transaction_time")) or datetime.now(UTC),
        venue=VENUE,
    )


def update_from_event(data: dict[str, Any], order_id: str | None = None) -> OrderUpdate | None:
    """One trade_updates message as an ntlab report, or None for events that report nothing. ``order_id``
    is the ntlab order the message is about when its client order id does not say (a leg's)."""
    event = data.get("event", "")
    order = data.get("order") or {}
    if "client_order_id" not in order:
        return None
    order_id = order_id or ntlab_id(order["client_order_id"])
    when = parse_time(data.get("timestamp")) or parse_time(order.get("updated_at")) or datetime.now(UTC)
    if event not in EVENT_REPORT:
        log.warning("unknown trade_updates event %r for %s ignored", event, order_id)
        return None
    kind = EVENT_REPORT[event]
    if kind is None:
        return None
    if kind is Filled:
        fill = fill_from_event(data, order_id)
        return None if fill is None else Filled(order_id, fill)
    if kind is Replaced:
        return Replaced(
            order_id,
            when,
            _dec(order.get("qty")),
            _dec(order.get("limit_price")),
            _dec(order.get("stop_price")),
        )
    if kind is Accepted:
        return Accepted(order_id, when, order.get("id"))
    if kind is PendingCancel:
        return PendingCancel(order_id, when)
    if kind is CancelRejected:
        return CancelRejected(order_id, when, "alpaca refused the cancel")
    if kind is ReplaceRejected:
        return ReplaceRejected(order_id, when, "alpaca refused the replace")
    closing: type[Rejected | Cancelled | Expired] = kind  # type: ignore[assignment]
    return closing(order_id, when, f"alpaca: {event}")


def sized_by_event(data: dict[str, Any], order_id: str) -> Replaced | None:
    """The quantity a notional order came to, from its ``fill`` event: Alpaca leaves ``qty`` null on a
    notional order, and the order is done at the ``filled_qty`` that event carries. None for any other
    event (a ``partial_fill`` says nothing of how much more the notional buys)."""
    order = data.get("order") or {}
    if data.get("event") != "fill" or not order.get("notional"):
        return None
    filled = _dec(order.get("filled_qty"))
    if not filled:
        return None
    when = parse_time(data.get("timestamp")) or parse_time(order.get("updated_at")) or datetime.now(UTC)
    return Replaced(order_id, when, filled)


def ack(data: dict[str, Any], order_id: str | None = None) -> list[OrderUpdate]:
    """What a submit's answer reports, straight from the JSON (the hot path: no snapshot): the order's ack
    and its legs' (each under its ntlab leg id). Fills come as executions on the stream; an order that is
    already closed says so after its ack."""
    order_id = order_id or ntlab_id(data["client_order_id"])
    when = parse_time(data.get("updated_at")) or datetime.now(UTC)
    status = data.get("status")
    if status == "rejected":
        return [Rejected(order_id, when, "alpaca status rejected")]
    reports: list[OrderUpdate] = [Accepted(order_id, when, data.get("id"))]
    if status == "canceled":
        reports.append(Cancelled(order_id, when, "alpaca: canceled"))
    elif status == "expired":
        reports.append(Expired(order_id, when, "alpaca: expired"))
    if data.get("legs"):
        for leg_order_id, leg in legs_of(data, order_id):
            reports.extend(ack(leg, leg_order_id))
    return reports


def position(data: dict[str, Any]) -> Position:
    qty = abs(Decimal(str(data["qty"])))
    if data.get("side") == "short":
        qty = -qty
    return Position(
        ntlab_symbol(data["symbol"], data.get("asset_class")), qty, _dec(data.get("avg_entry_price"))
    )


def asset_flags(symbol: str, data: dict[str, Any]) -> AssetFlags:
    """``GET /v2/assets/{symbol}`` as the flags pre-trade risk reads. ``borrow_status`` (``easy_to_borrow`` or
    ``hard_to_borrow``) is the newer spelling of ``easy_to_borrow``: it wins when present."""
    borrow = data.get("borrow_status")
    easy = borrow == "easy_to_borrow" if borrow is not None else data.get("easy_to_borrow") is True
    return AssetFlags(
        symbol=symbol,
        tradable=data.get("tradable") is True,
        shortable=data.get("shortable") is True,
        easy_to_borrow=easy,
        fractionable=data.get("fractionable") is True,
    )


#: Alpaca's refusal codes, as ntlab reasons (a refusal not listed is ``broker_rejected``).
REJECT_REASONS: dict[int, Reason] = {
    40310000: Reason.INSUFFICIENT_FUNDS,  # insufficient buying power (or, with its message, quantity)
    40410000: Reason.UNKNOWN_SYMBOL,
    42210000: Reason.NOT_ALLOWED,
}


def reject_reason(answer: Any) -> str:
    """The ntlab reason of an Alpaca refusal: its code through ``REJECT_REASONS``, the message for the
    two meanings of 40310000 (buying power, or a quantity the account does not hold)."""
    body = answer.data if isinstance(answer.data, dict) else {}
    code = body.get("code")
    if code == 40310000 and "qty" in str(body.get("message", "")):
        return Reason.INSUFFICIENT_POSITION.value
    reason = REJECT_REASONS.get(code) if isinstance(code, int) else None
    return (reason or Reason.BROKER_REJECTED).value
