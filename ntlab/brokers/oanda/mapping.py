"""OANDA v20's vocabulary to ntlab's and back: one table per direction, a test per row.

- ntlab order types and times in force to v20's (``ORDER_TYPE_OUT``, ``TIME_IN_FORCE_OUT``); what has no v20
  equivalent maps to None and is refused before anything is sent.
- v20 order types, states and times in force to ntlab's (``ORDER_TYPE_IN``, ``ORDER_STATE``,
  ``TIME_IN_FORCE_IN``), for lookups and orders placed elsewhere.
- transaction types to the report they carry (``TRANSACTION_REPORT``), order cancel reasons to the report
  and reason they mean (``CANCEL_REASONS``), reject reasons to ntlab reasons (``REJECT_REASONS``).

ntlab's order id rides in ``clientExtensions.id``. v20 replaces an order by cancelling it and creating a new
one with a new id, so a replacement carries ``<ntlab id>~r<n>`` and maps back to the same ntlab order.
Orders without a client id (placed by hand on OANDA's platforms) are ``oanda-<order id>`` in ntlab.

Fill ids are the ORDER_FILL transaction's id: unique in the account, the same on the stream, in a submit's
answer and in the transaction history.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from ntlab.brokers.oanda.wire import decimal, parse_time, side_of, signed_units, symbol_of, text
from ntlab.core.enums import OrderClass, OrderStatus, OrderType, TimeInForce
from ntlab.core.legs import STOP_LOSS, TAKE_PROFIT, legs
from ntlab.core.records import ZERO, Fill, Order, Position
from ntlab.core.reports import (
    Accepted,
    Cancelled,
    CancelRejected,
    Expired,
    Filled,
    OrderUpdate,
    Rejected,
    Replaced,
)
from ntlab.errors import Reason

log = logging.getLogger(__name__)

S = OrderStatus
VENUE = "oanda"
EXTERNAL_PREFIX = "oanda-"

#: ntlab order type -> v20 order type. v20 has no stop-limit: its STOP order's ``priceBound`` cancels a
#: triggered stop that cannot fill within the bound instead of resting it as a limit, so ntlab refuses
#: stop_limit for OANDA rather than send something that behaves otherwise.
ORDER_TYPE_OUT: dict[OrderType, str | None] = {
    OrderType.MARKET: "MARKET",
    OrderType.LIMIT: "LIMIT",
    OrderType.STOP: "STOP",
    OrderType.STOP_LIMIT: None,
    OrderType.TRAILING_STOP: None,  # v20 trails only as a trade's trailingStopLossOnFill, not as an entry
}

#: ntlab order class -> whether v20 can carry it. Bracket and oto exits ride on the entry as its on-fill
#: details (``ON_FILL_OUT``): when the entry fills, OANDA creates the trade's TAKE_PROFIT / STOP_LOSS orders,
#: which close the trade and are cancelled (LINKED_TRADE_CLOSED) when it closes. v20 has no free-standing
#: one-cancels-other group (an oco is an exit of a position held already, and v20's exits belong to one trade,
#: for all its units), so oco is refused before anything is sent.
ORDER_CLASS_OUT: dict[OrderClass, bool] = {
    OrderClass.SIMPLE: True,
    OrderClass.BRACKET: True,
    OrderClass.OTO: True,
    OrderClass.OCO: False,
}

#: an ntlab leg (``<id>-tp``, ``<id>-sl``) -> the entry's v20 on-fill details that create it; the leg's id
#: rides in the details' ``clientExtensions.id``, so the dependent order's news maps back to the leg.
ON_FILL_OUT: dict[str, str] = {TAKE_PROFIT: "takeProfitOnFill", STOP_LOSS: "stopLossOnFill"}

#: the entry's time in force -> its exits' (v20's dependent orders are GTC, GFD or GTD)
LEG_TIME_IN_FORCE_OUT: dict[TimeInForce, str] = {TimeInForce.DAY: "GFD", TimeInForce.GTC: "GTC"}

#: (ntlab order type, ntlab time in force) -> v20 timeInForce; a pair not listed has no equivalent.
#: v20 market orders are FOK or IOC only; ntlab's day and gtc market orders (gtc is what ``Lab`` gives FX by
#: default) are OANDA's default, FOK: filled whole at the price or cancelled (INSUFFICIENT_LIQUIDITY), never
#: left working. GFD ("good for day") ends at 5pm New York, OANDA's trading day; ntlab's opening and closing
#: auctions have no equivalent.
TIME_IN_FORCE_OUT: dict[tuple[OrderType, TimeInForce], str] = {
    (OrderType.MARKET, TimeInForce.DAY): "FOK",
    (OrderType.MARKET, TimeInForce.GTC): "FOK",
    (OrderType.MARKET, TimeInForce.FOK): "FOK",
    (OrderType.MARKET, TimeInForce.IOC): "IOC",
    (OrderType.LIMIT, TimeInForce.DAY): "GFD",
    (OrderType.LIMIT, TimeInForce.GTC): "GTC",
    (OrderType.LIMIT, TimeInForce.IOC): "IOC",
    (OrderType.LIMIT, TimeInForce.FOK): "FOK",
    (OrderType.STOP, TimeInForce.DAY): "GFD",
    (OrderType.STOP, TimeInForce.GTC): "GTC",
}

#: v20 order type -> ntlab order type, for orders ntlab did not place. A market-if-touched order waits on
#: the same side and price as a limit (it then fills at market); take-profit, stop-loss and trailing
#: stop-loss orders close a trade and are adopted as the limit or stop they act as.
ORDER_TYPE_IN: dict[str, OrderType] = {
    "MARKET": OrderType.MARKET,
    "LIMIT": OrderType.LIMIT,
    "STOP": OrderType.STOP,
    "MARKET_IF_TOUCHED": OrderType.LIMIT,
    "TAKE_PROFIT": OrderType.LIMIT,
    "STOP_LOSS": OrderType.STOP,
    "GUARANTEED_STOP_LOSS": OrderType.STOP,
    "TRAILING_STOP_LOSS": OrderType.STOP,
    "FIXED_PRICE": OrderType.MARKET,
}

#: v20 timeInForce -> ntlab. GTD orders (good until a date) have no ntlab spelling: they are shown as gtc and
#: their expiry arrives as an ``Expired`` report at the date.
TIME_IN_FORCE_IN: dict[str, TimeInForce] = {
    "GTC": TimeInForce.GTC,
    "GTD": TimeInForce.GTC,
    "GFD": TimeInForce.DAY,
    "FOK": TimeInForce.FOK,
    "IOC": TimeInForce.IOC,
}

#: v20 order state -> ntlab status. PENDING (and TRIGGERED, a stop that fired and waits to fill) are open:
#: ``order_status`` makes them partially_filled when fills are known. A CANCELLED order's reason decides
#: between cancelled, expired and rejected (``CANCEL_REASONS``).
ORDER_STATE: dict[str, OrderStatus] = {
    "PENDING": S.ACCEPTED,
    "TRIGGERED": S.ACCEPTED,
    "FILLED": S.FILLED,
    "CANCELLED": S.CANCELLED,
}


class CancelMeaning(NamedTuple):
    """What an ORDER_CANCEL means in ntlab: the report it becomes, and the reason code of a refusal."""

    report: type[Cancelled] | type[Expired] | type[Rejected] | None
    code: Reason | None = None


_REFUSED = Rejected

#: v20 OrderCancelReason -> what it means. A refusal (``Rejected``) of an order that has already filled in
#: part is reported as ``Cancelled`` with the same words (its fills stand). ``None``: the news arrives
#: another way (a replaced order's successor comes with the replace's answer). Reasons not listed are
#: cancellations by OANDA: ``Cancelled`` with the reason's name.
CANCEL_REASONS: dict[str, CancelMeaning] = {
    "CLIENT_REQUEST": CancelMeaning(Cancelled),
    "CLIENT_REQUEST_REPLACED": CancelMeaning(None),
    "TIME_IN_FORCE_EXPIRED": CancelMeaning(Expired),
    "INSUFFICIENT_LIQUIDITY": CancelMeaning(Cancelled),  # an IOC/FOK remainder: nothing at that price now
    "BOUNDS_VIOLATION": CancelMeaning(Cancelled),  # the market moved past the order's priceBound
    "LINKED_TRADE_CLOSED": CancelMeaning(Cancelled),  # a take-profit/stop-loss whose trade closed
    "MIGRATION": CancelMeaning(Cancelled),
    "INTERNAL_SERVER_ERROR": CancelMeaning(Cancelled),
    "INSUFFICIENT_MARGIN": CancelMeaning(_REFUSED, Reason.INSUFFICIENT_FUNDS),
    "MARKET_HALTED": CancelMeaning(_REFUSED, Reason.MARKET_CLOSED),
    "INSTRUMENT_BID_HALTED": CancelMeaning(_REFUSED, Reason.MARKET_CLOSED),
    "INSTRUMENT_ASK_HALTED": CancelMeaning(_REFUSED, Reason.MARKET_CLOSED),
    "INSTRUMENT_BID_REDUCE_ONLY": CancelMeaning(_REFUSED, Reason.NOT_ALLOWED),
    "INSTRUMENT_ASK_REDUCE_ONLY": CancelMeaning(_REFUSED, Reason.NOT_ALLOWED),
    "FIFO_VIOLATION": CancelMeaning(_REFUSED, Reason.NOT_ALLOWED),
    "ACCOUNT_LOCKED": CancelMeaning(_REFUSED, Reason.NOT_ALLOWED),
    "ACCOUNT_NEW_POSITIONS_LOCKED": CancelMeaning(_REFUSED, Reason.NOT_ALLOWED),
    "ACCOUNT_ORDER_CREATION_LOCKED": CancelMeaning(_REFUSED, Reason.NOT_ALLOWED),
    "ACCOUNT_ORDER_FILL_LOCKED": CancelMeaning(_REFUSED, Reason.NOT_ALLOWED),
    "POSITION_SIZE_EXCEEDED": CancelMeaning(_REFUSED, Reason.MAX_POSITION),
    "ACCOUNT_POSITION_VALUE_LIMIT_EXCEEDED": CancelMeaning(_REFUSED, Reason.MAX_POSITION),
    "OPEN_TRADES_ALLOWED_EXCEEDED": CancelMeaning(_REFUSED, Reason.MAX_POSITION),
    "PENDING_ORDERS_ALLOWED_EXCEEDED": CancelMeaning(_REFUSED, Reason.MAX_OPEN_ORDERS),
    "CLIENT_TRADE_ID_ALREADY_EXISTS": CancelMeaning(_REFUSED, Reason.DUPLICATE_ORDER_ID),
    "HEDGING_GSLO_VIOLATION": CancelMeaning(_REFUSED, Reason.NOT_ALLOWED),
}

#: v20 TransactionRejectReason -> ntlab reason (a reason not listed is ``broker_rejected``).
REJECT_REASONS: dict[str, Reason] = {
    "INSUFFICIENT_MARGIN": Reason.INSUFFICIENT_FUNDS,
    "INSUFFICIENT_FUNDS": Reason.INSUFFICIENT_FUNDS,
    "INSTRUMENT_UNKNOWN": Reason.UNKNOWN_SYMBOL,
    "INSTRUMENT_MISSING": Reason.INVALID_SYMBOL,
    "INSTRUMENT_PRICE_UNKNOWN": Reason.NO_REFERENCE_PRICE,
    "INSTRUMENT_NOT_TRADEABLE": Reason.NOT_ALLOWED,
    "ACCOUNT_NOT_ACTIVE": Reason.NOT_ALLOWED,
    "ACCOUNT_LOCKED": Reason.NOT_ALLOWED,
    "ACCOUNT_ORDER_CREATION_LOCKED": Reason.NOT_ALLOWED,
    "PENDING_ORDERS_ALLOWED_EXCEEDED": Reason.MAX_OPEN_ORDERS,
    "UNITS_MISSING": Reason.INVALID_QUANTITY,
    "UNITS_INVALID": Reason.INVALID_QUANTITY,
    "UNITS_PRECISION_EXCEEDED": Reason.FRACTIONAL_NOT_ALLOWED,
    "UNITS_LIMIT_EXCEEDED": Reason.INVALID_QUANTITY,
    "UNITS_MIMIMUM_NOT_MET": Reason.INVALID_QUANTITY,  # sic: v20's own spelling
    "PRICE_MISSING": Reason.INVALID_PRICE,
    "PRICE_INVALID": Reason.INVALID_PRICE,
    "PRICE_PRECISION_EXCEEDED": Reason.OFF_TICK,
    "PRICE_BOUND_INVALID": Reason.INVALID_PRICE,
    "PRICE_BOUND_PRECISION_EXCEEDED": Reason.OFF_TICK,
    "TIME_IN_FORCE_MISSING": Reason.TIF_NOT_ALLOWED,
    "TIME_IN_FORCE_INVALID": Reason.TIF_NOT_ALLOWED,
    "TIME_IN_FORCE_GTD_TIMESTAMP_MISSING": Reason.TIF_NOT_ALLOWED,
    "TIME_IN_FORCE_GTD_TIMESTAMP_IN_PAST": Reason.TIF_NOT_ALLOWED,
    "CLIENT_ORDER_ID_ALREADY_EXISTS": Reason.DUPLICATE_ORDER_ID,
    "CLIENT_ORDER_ID_INVALID": Reason.INVALID_FIELD,
    "CLIENT_ORDER_TAG_INVALID": Reason.INVALID_FIELD,
    "CLIENT_ORDER_COMMENT_INVALID": Reason.INVALID_FIELD,
    "ORDER_FILL_POSITION_ACTION_INVALID": Reason.INVALID_FIELD,
    "ORDER_FILL_POSITION_ACTION_MISSING": Reason.INVALID_FIELD,
    "TRIGGER_CONDITION_INVALID": Reason.INVALID_FIELD,
    "TAKE_PROFIT_ON_FILL_PRICE_INVALID": Reason.INVALID_PRICE,
    "TAKE_PROFIT_ON_FILL_PRICE_PRECISION_EXCEEDED": Reason.OFF_TICK,
    "TAKE_PROFIT_ON_FILL_LOSS": Reason.INVALID_PRICE,
    "TAKE_PROFIT_ON_FILL_TIME_IN_FORCE_INVALID": Reason.TIF_NOT_ALLOWED,
    "TAKE_PROFIT_ON_FILL_CLIENT_ORDER_ID_ALREADY_EXISTS": Reason.DUPLICATE_ORDER_ID,
    "STOP_LOSS_ON_FILL_PRICE_INVALID": Reason.INVALID_PRICE,
    "STOP_LOSS_ON_FILL_PRICE_PRECISION_EXCEEDED": Reason.OFF_TICK,
    "STOP_LOSS_ON_FILL_LOSS": Reason.INVALID_PRICE,
    "STOP_LOSS_ON_FILL_TIME_IN_FORCE_INVALID": Reason.TIF_NOT_ALLOWED,
    "STOP_LOSS_ON_FILL_CLIENT_ORDER_ID_ALREADY_EXISTS": Reason.DUPLICATE_ORDER_ID,
    "ORDERS_ON_FILL_DUPLICATE_CLIENT_ORDER_IDS": Reason.DUPLICATE_ORDER_ID,
    "ORDER_DOESNT_EXIST": Reason.BROKER_REJECTED,
}

#: v20 transaction type -> the ntlab report it carries, or None for account news that concerns no order
#: (funding, financing, margin calls, configuration). Order creations ack the order (a replacement's
#: creation is its replace); ORDER_CANCEL's meaning is in ``CANCEL_REASONS``.
TRANSACTION_REPORT: dict[str, type[OrderUpdate] | None] = {
    "MARKET_ORDER": Accepted,
    "FIXED_PRICE_ORDER": Accepted,
    "LIMIT_ORDER": Accepted,
    "STOP_ORDER": Accepted,
    "MARKET_IF_TOUCHED_ORDER": Accepted,
    "TAKE_PROFIT_ORDER": Accepted,
    "STOP_LOSS_ORDER": Accepted,
    "GUARANTEED_STOP_LOSS_ORDER": Accepted,
    "TRAILING_STOP_LOSS_ORDER": Accepted,
    "MARKET_ORDER_REJECT": Rejected,
    "LIMIT_ORDER_REJECT": Rejected,
    "STOP_ORDER_REJECT": Rejected,
    "MARKET_IF_TOUCHED_ORDER_REJECT": Rejected,
    "TAKE_PROFIT_ORDER_REJECT": Rejected,
    "STOP_LOSS_ORDER_REJECT": Rejected,
    "GUARANTEED_STOP_LOSS_ORDER_REJECT": Rejected,
    "TRAILING_STOP_LOSS_ORDER_REJECT": Rejected,
    "ORDER_FILL": Filled,
    "ORDER_CANCEL": Cancelled,
    "ORDER_CANCEL_REJECT": CancelRejected,
    "ORDER_CLIENT_EXTENSIONS_MODIFY": None,
    "ORDER_CLIENT_EXTENSIONS_MODIFY_REJECT": None,
    "TRADE_CLIENT_EXTENSIONS_MODIFY": None,
    "TRADE_CLIENT_EXTENSIONS_MODIFY_REJECT": None,
    "CREATE": None,
    "CLOSE": None,
    "REOPEN": None,
    "CLIENT_CONFIGURE": None,
    "CLIENT_CONFIGURE_REJECT": None,
    "TRANSFER_FUNDS": None,
    "TRANSFER_FUNDS_REJECT": None,
    "MARGIN_CALL_ENTER": None,
    "MARGIN_CALL_EXTEND": None,
    "MARGIN_CALL_EXIT": None,
    "DELAYED_TRADE_CLOSURE": None,
    "DAILY_FINANCING": None,
    "DIVIDEND_ADJUSTMENT": None,
    "RESET_RESETTABLE_PL": None,
}

_REPLACEMENT = re.compile(r"^(?P<base>.+)~r(?P<n>\d+)$")
CLIENT_ID_LIMIT = 128


# --- ids ------------------------------------------------------------------------------------------------


def replacement_client_id(order_id: str, n: int) -> str:
    """The client id of the ``n``-th replacement of ntlab order ``order_id``."""
    return f"{order_id}~r{n}"


def ntlab_id(client_id: str | None, oanda_id: str | None = None) -> str:
    """The ntlab order behind a v20 order: its client id (replacements map to their original), else
    ``oanda-<order id>`` for an order placed without one."""
    if client_id:
        found = _REPLACEMENT.match(client_id)
        return found.group("base") if found else client_id
    return f"{EXTERNAL_PREFIX}{oanda_id}"


def order_specifier(order_id: str) -> str:
    """The v20 order specifier that finds an ntlab order: ``@<client id>``, or the id of an external one."""
    if order_id.startswith(EXTERNAL_PREFIX) and order_id[len(EXTERNAL_PREFIX) :].isdigit():
        return order_id[len(EXTERNAL_PREFIX) :]
    return f"@{order_id}"


def _client_id(data: dict[str, Any]) -> str | None:
    ext = data.get("clientExtensions") or {}
    return ext.get("id") or data.get("clientOrderID")


# --- outbound ---------------------------------------------------------------------------------------------


class Unsupported(NamedTuple):
    """Why an ntlab order cannot be sent to OANDA as it stands (refused before anything is sent)."""

    reason: str
    code: Reason


def order_request(
    order: Order, client_id: str | None = None, units: Decimal | None = None
) -> dict[str, Any] | Unsupported:
    """The ``order`` object of ``POST /v3/accounts/{id}/orders`` for an ntlab order, or why there is none.

    ``units`` overrides the quantity (a replacement asks for what is left to fill).
    """
    if not ORDER_CLASS_OUT.get(order.order_class, False):
        return Unsupported(
            f"OANDA has no {order.order_class.value} order: its take-profit and stop-loss orders close one "
            "trade and come with the order that opens it; use order_class='bracket' or 'oto'",
            Reason.NOT_ALLOWED,
        )
    if order.stop_loss_limit is not None:
        return Unsupported(
            "OANDA's stop-loss closes its trade at market once triggered and takes no limit; "
            "leave out stop_loss_limit",
            Reason.NOT_ALLOWED,
        )
    kind = ORDER_TYPE_OUT.get(order.order_type)
    if kind is None:
        why = {
            OrderType.STOP_LIMIT: "v20's STOP with priceBound cancels instead of resting",
            OrderType.TRAILING_STOP: "v20 trails only a trade's stop-loss",
        }.get(order.order_type, "no v20 equivalent")
        return Unsupported(
            f"OANDA has no {order.order_type.value} order ({why}); use stop or limit",
            Reason.NOT_ALLOWED,
        )
    tif = TIME_IN_FORCE_OUT.get((order.order_type, order.time_in_force))
    if tif is None:
        allowed = sorted(t.value for (k, t) in TIME_IN_FORCE_OUT if k is order.order_type)
        return Unsupported(
            f"OANDA has no {order.order_type.value} order with time_in_force={order.time_in_force.value}; "
            f"use one of: {', '.join(allowed)}",
            Reason.TIF_NOT_ALLOWED,
        )
    client_id = client_id or order.order_id
    if len(client_id) > CLIENT_ID_LIMIT:
        return Unsupported(f"order id {client_id!r} is longer than OANDA's client ids", Reason.INVALID_FIELD)
    body: dict[str, Any] = {
        "type": kind,
        "instrument": order.symbol.replace("/", "_"),
        "units": signed_units(order.side, order.quantity if units is None else units),
        "timeInForce": tif,
        "positionFill": "DEFAULT",
        "clientExtensions": {"id": client_id},
    }
    if order.tag:
        body["clientExtensions"]["tag"] = order.tag
    price = order.limit_price if order.order_type is OrderType.LIMIT else order.stop_price
    if price is not None:
        body["price"] = text(price)
    for leg in legs(order):
        kind = leg.order_id.rsplit("-", 1)[1]
        exit_price = leg.limit_price if kind == TAKE_PROFIT else leg.stop_price
        body[ON_FILL_OUT[kind]] = {
            "price": text(exit_price),
            "timeInForce": LEG_TIME_IN_FORCE_OUT[order.time_in_force],
            "clientExtensions": {"id": leg.order_id},
        }
    return body


# --- inbound: orders ---------------------------------------------------------------------------------------


def order_status(state: str, filled: Decimal = ZERO, cancel_reason: str | None = None) -> OrderStatus:
    """ntlab's status for a v20 order in ``state``, given what it filled and, if cancelled, why."""
    mapped = ORDER_STATE.get(state)
    if mapped is None:
        log.warning("unknown v20 order state %r; treating the order as open", state)
        mapped = S.ACCEPTED
    if mapped is S.ACCEPTED and filled > 0:
        return S.PARTIALLY_FILLED
    if mapped is S.CANCELLED and cancel_reason is not None:
        meaning = CANCEL_REASONS.get(cancel_reason, CancelMeaning(Cancelled))
        if meaning.report is Expired:
            return S.EXPIRED
        if meaning.report is Rejected and filled == 0:
            return S.REJECTED
    return mapped


def broker_order(
    data: dict[str, Any],
    *,
    filled: Decimal = ZERO,
    earlier_fills: Decimal = ZERO,
    avg_price: Decimal | None = None,
    cancel_reason: str | None = None,
    units: Decimal | None = None,
    order_id: str | None = None,
) -> Order:
    """A v20 order as ntlab sees it.

    v20 orders say nothing of partial fills: ``filled`` is what this v20 order's fills add up to and
    ``earlier_fills`` what the orders it replaced had filled (the ntlab order's quantity spans them all).
    ``units`` stands in for orders without their own (a take-profit closes its trade's units).
    """
    signed = decimal(data.get("units")) if units is None else units
    signed = signed if signed is not None else ZERO
    if data.get("state") == "FILLED" and filled == 0:
        filled = abs(signed)  # one ORDER_FILL took it all (how OANDA fills)
    created = parse_time(data.get("createTime")) or datetime.now(UTC)
    updated = parse_time(data.get("filledTime")) or parse_time(data.get("cancelledTime")) or created
    kind = data.get("type", "MARKET")
    order_type = ORDER_TYPE_IN.get(kind, OrderType.MARKET)
    price = decimal(data.get("price"))
    total_filled = earlier_fills + filled
    status = order_status(data.get("state", "PENDING"), total_filled, cancel_reason)
    return Order(
        order_id=order_id or ntlab_id(_client_id(data), data.get("id")),
        symbol=symbol_of(data.get("instrument", "")),
        side=side_of(signed),
        quantity=earlier_fills + abs(signed),
        order_type=order_type,
        time_in_force=TIME_IN_FORCE_IN.get(data.get("timeInForce", "GTC"), TimeInForce.GTC),
        status=status,
        created_at=created,
        updated_at=updated,
        limit_price=price if order_type is OrderType.LIMIT else None,
        stop_price=price if order_type is OrderType.STOP else None,
        filled_quantity=total_filled,
        avg_fill_price=avg_price if total_filled else None,
        broker_order_id=data.get("id"),
        reason=None if cancel_reason is None else f"oanda: {cancel_reason}",
        reason_code=_refusal_code(cancel_reason) if status is S.REJECTED else None,
        tag=(data.get("clientExtensions") or {}).get("tag"),
        venue=VENUE,
    )


def _refusal_code(cancel_reason: str | None) -> str:
    meaning = CANCEL_REASONS.get(cancel_reason or "")
    code = meaning.code if meaning is not None else None
    return (code or Reason.BROKER_REJECTED).value


# --- inbound: transactions ---------------------------------------------------------------------------------


def fill_of(txn: dict[str, Any]) -> Fill | None:
    """An ORDER_FILL transaction as an ntlab fill (its id is the transaction id)."""
    units, price = decimal(txn.get("units")), decimal(txn.get("price"))
    if not units or price is None:
        return None
    fee = (decimal(txn.get("commission")) or ZERO) + (decimal(txn.get("guaranteedExecutionFee")) or ZERO)
    return Fill(
        fill_id=txn["id"],
        order_id=ntlab_id(txn.get("clientOrderID"), txn.get("orderID")),
        symbol=symbol_of(txn["instrument"]),
        side=side_of(units),
        quantity=abs(units),
        price=price,
        time=parse_time(txn.get("time")) or datetime.now(UTC),
        fee=fee,
        venue=VENUE,
    )


def reject_code(reject_reason: str | None) -> str:
    return REJECT_REASONS.get(reject_reason or "", Reason.BROKER_REJECTED).value


def report_of(txn: dict[str, Any], filled_before: bool = False) -> OrderUpdate | None:
    """One v20 transaction as an ntlab report, or None when it reports nothing about an order.

    ``filled_before`` says whether the cancelled order has fills already: a refusal then reads as a
    cancellation (its fills stand).
    """
    kind = txn.get("type", "")
    if kind not in TRANSACTION_REPORT:
        log.warning("unknown v20 transaction type %r (id %s) ignored", kind, txn.get("id"))
        return None
    report = TRANSACTION_REPORT[kind]
    if report is None:
        return None
    when = parse_time(txn.get("time")) or datetime.now(UTC)
    if report is Filled:
        fill = fill_of(txn)
        return None if fill is None else Filled(fill.order_id, fill)
    client = _client_id(txn)
    if report is Accepted:
        if not client:
            return None  # a trade's own take-profit/stop-loss, or an order from elsewhere: reconciliation adopts it
        order_id = ntlab_id(client)
        if txn.get("reason") == "REPLACEMENT":
            return Replaced(order_id, when, broker_order_id=txn.get("id"), **_prices(txn))
        return Accepted(order_id, when, txn.get("id"))
    if report is Rejected:
        if not client:
            return None
        reason = txn.get("rejectReason") or "rejected"
        return Rejected(ntlab_id(client), when, f"oanda: {reason}", reject_code(reason))
    order_id = ntlab_id(txn.get("clientOrderID"), txn.get("orderID"))
    if report is CancelRejected:
        return CancelRejected(order_id, when, f"oanda: {txn.get('rejectReason') or 'cancel refused'}")
    reason = txn.get("reason") or "CLIENT_REQUEST"
    meaning = CANCEL_REASONS.get(reason, CancelMeaning(Cancelled))
    if meaning.report is None:
        return None
    words = f"oanda: {reason}"
    if meaning.report is Rejected and not filled_before:
        return Rejected(order_id, when, words, (meaning.code or Reason.BROKER_REJECTED).value)
    if meaning.report is Expired:
        return Expired(order_id, when, words)
    return Cancelled(order_id, when, words)


def _prices(txn: dict[str, Any]) -> dict[str, Decimal | None]:
    price = decimal(txn.get("price"))
    if txn.get("type") == "STOP_ORDER":
        return {"stop_price": price}
    return {"limit_price": price}


def position_of(data: dict[str, Any]) -> Position:
    """A v20 position (long and short sides) as ntlab's net position in the instrument.

    A netting account holds one side at a time; a hedging account's two sides net to their sum.
    """
    long, short = data.get("long") or {}, data.get("short") or {}
    long_units = decimal(long.get("units")) or ZERO
    short_units = decimal(short.get("units")) or ZERO  # negative
    net = long_units + short_units
    if net > 0:
        avg = decimal(long.get("averagePrice"))
    elif net < 0:
        avg = decimal(short.get("averagePrice"))
    else:
        avg = None
    return Position(
        symbol=symbol_of(data["instrument"]),
        quantity=net,
        avg_cost=avg,
        realized_pnl=decimal(data.get("pl")) or ZERO,
        fees=decimal(data.get("commission")) or ZERO,
    )
