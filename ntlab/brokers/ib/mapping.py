"""IB's vocabulary to ntlab's and back: one table per direction, each row with a test.

- :data:`ORDER_STATUS`: every status an IB order (or ib_async's Trade) can have, its ntlab status and the
  report its news makes. IB has no partial status: ``Submitted`` with ``filled > 0`` is partially filled.
- :data:`ERRORS`: the error codes that matter, each mapped to what it means for the request it answers, or
  ignored on purpose. ib_async turns every non-warning error on an order into a local ``Cancelled``; the
  adapter reads the code instead, so a 201 becomes ntlab's ``rejected`` with TWS's text.
- :data:`REFUSAL_REASONS`: the reason code of a 201 by its text (TWS says why in words only).
- :data:`ORDER_TYPE`, :data:`TIME_IN_FORCE` (ntlab -> IB) and :data:`IB_ORDER_TYPE`, :data:`IB_TIME_IN_FORCE`
  (IB -> ntlab), :data:`SIDE`, :data:`EXECUTION_SIDE`, :data:`LIQUIDITY`.

Numbers: ib_async decodes the wire's decimal text into floats. ``repr`` of a float is the shortest text that
reads back as the same float, so ``Decimal(repr(x))`` recovers the wire's own digits for any value TWS
writes (at most 15 significant digits); that is how every price, quantity and fee enters ntlab here.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from ntlab.brokers.ib.contracts import ntlab_symbol
from ntlab.core.enums import Liquidity, OrderClass, OrderStatus, OrderType, Side, TimeInForce
from ntlab.core.records import Fill, Order, Position
from ntlab.core.reports import Accepted, Cancelled, OrderUpdate, PendingCancel, Rejected
from ntlab.errors import Reason

if TYPE_CHECKING:
    from ib_async import Contract, Trade
    from ib_async import Fill as IBFill
    from ib_async import Order as IBOrder
    from ib_async import Position as IBPosition

S = OrderStatus
VENUE = "ib"
UNSET_DOUBLE = 1.7976931348623157e308
UNSET_INTEGER = 2**31 - 1


class StatusMeaning(NamedTuple):
    """What an IB order status means in ntlab."""

    status: OrderStatus  # the order's ntlab status (accepted becomes partially_filled when filled > 0)
    report: type[OrderUpdate] | None  # the report its news makes; None: nothing to report on its own
    note: str


#: Every status of an IB order, from IB's documentation and ib_async's OrderStatus.
ORDER_STATUS: dict[str, StatusMeaning] = {
    "PendingSubmit": StatusMeaning(S.PENDING, None, "sent by the API; TWS has not confirmed it yet"),
    "ApiPending": StatusMeaning(S.PENDING, None, "TWS holds it and has not transmitted it"),
    "PreSubmitted": StatusMeaning(
        S.ACCEPTED, Accepted, "accepted and held: a stop awaiting its trigger, an order for the auction"
    ),
    "Submitted": StatusMeaning(S.ACCEPTED, Accepted, "working; partially filled when filled > 0"),
    "ApiUpdate": StatusMeaning(S.ACCEPTED, None, "an order update TWS has not confirmed yet; still working"),
    "PendingCancel": StatusMeaning(S.PENDING_CANCEL, PendingCancel, "a cancel was sent, not yet confirmed"),
    "ApiCancelled": StatusMeaning(S.CANCELLED, Cancelled, "cancelled before TWS transmitted it"),
    "Cancelled": StatusMeaning(
        S.CANCELLED, Cancelled, "cancelled; rejected instead when a refusal error (201...) came with it"
    ),
    "Inactive": StatusMeaning(
        S.REJECTED, Rejected, "refused or made inactive by IB; the error that came with it says why"
    ),
    "Filled": StatusMeaning(S.FILLED, None, "complete: the executions (execDetails) report it, fill by fill"),
    "ValidationError": StatusMeaning(
        S.ACCEPTED, None, "ib_async's own status after a warning (105, 110 on a change, 399 ...): still live"
    ),
}

ErrorKind = Literal[
    "refused",  # the request was refused: a new order is rejected, a change or cancel refused
    "cancelled",  # the order is cancelled
    "cancel_refused",  # the cancel was refused
    "replace_refused",  # the change was refused; the order goes on as it was
    "retry",  # nothing was placed and a fresh attempt can work: provably not arrived
    "rate_limited",  # refused for pacing: retry after a second
    "not_connected",  # TWS is not connected: provably not arrived
    "connectivity_lost",  # TWS lost IB's servers: news is held, requests wait
    "restored",  # connectivity is back, data maintained: reconcile
    "restored_data_lost",  # connectivity is back, subscriptions lost: resubscribe, reconcile
    "client_id_in_use",  # another connection has this client id
    "market_data",  # no quotes for this request
    "warning",  # the order stays live; logged
    "info",  # a notice; ignored on purpose
]


class ErrorMeaning(NamedTuple):
    kind: ErrorKind
    reason: Reason | None  # the ntlab reason code of a refusal (201's comes from its text)
    note: str


#: IB's error codes, each mapped to what it means or ignored on purpose (the rest: logged, no action).
ERRORS: dict[int, ErrorMeaning] = {
    100: ErrorMeaning("rate_limited", Reason.RATE_LIMIT, "Max rate of messages per second has been exceeded"),
    103: ErrorMeaning(
        "retry", Reason.DUPLICATE_ORDER_ID, "Duplicate order id: nothing placed; a fresh id works"
    ),
    104: ErrorMeaning("replace_refused", None, "Can't modify a filled order"),
    105: ErrorMeaning("replace_refused", None, "Order being modified does not match original order"),
    110: ErrorMeaning(
        "refused", Reason.OFF_TICK, "The price does not conform to the minimum price variation"
    ),
    111: ErrorMeaning("refused", Reason.TIF_NOT_ALLOWED, "The TIF and the order type are incompatible"),
    113: ErrorMeaning("refused", Reason.TIF_NOT_ALLOWED, "The TIF should be DAY for MOC and LOC orders"),
    135: ErrorMeaning("refused", None, "Can't find order with this id"),
    161: ErrorMeaning("cancel_refused", None, "Cancel attempted when order is not in a cancellable state"),
    200: ErrorMeaning("refused", Reason.UNKNOWN_SYMBOL, "No security definition has been found"),
    201: ErrorMeaning("refused", Reason.BROKER_REJECTED, "Order rejected; the reason is in the text"),
    202: ErrorMeaning("cancelled", None, "Order cancelled; the reason, if any, follows"),
    203: ErrorMeaning(
        "refused", Reason.NOT_ALLOWED, "The security is not available or allowed for this account"
    ),
    321: ErrorMeaning("refused", Reason.INVALID_FIELD, "Error validating request"),
    326: ErrorMeaning("client_id_in_use", None, "Unable to connect: the client id is already in use"),
    354: ErrorMeaning("market_data", None, "Requested market data is not subscribed"),
    387: ErrorMeaning(
        "refused", Reason.NOT_ALLOWED, "Unsupported order type for this exchange and security type"
    ),
    399: ErrorMeaning("warning", None, "Order message warning (e.g. held until the session opens)"),
    404: ErrorMeaning("warning", None, "Shares not available for short sale: held while IB locates them"),
    434: ErrorMeaning("refused", Reason.INVALID_QUANTITY, "The order size cannot be zero"),
    502: ErrorMeaning("not_connected", None, "Couldn't connect to TWS"),
    504: ErrorMeaning("not_connected", None, "Not connected"),
    1100: ErrorMeaning("connectivity_lost", None, "Connectivity between IB and TWS has been lost"),
    1101: ErrorMeaning("restored_data_lost", None, "Connectivity restored, data lost: resubscribe"),
    1102: ErrorMeaning("restored", None, "Connectivity restored, data maintained"),
    2103: ErrorMeaning("info", None, "A market data farm connection is broken"),
    2104: ErrorMeaning("info", None, "Market data farm connection is OK"),
    2105: ErrorMeaning("info", None, "A historical data farm connection is broken"),
    2106: ErrorMeaning("info", None, "A historical data farm connection is OK"),
    2107: ErrorMeaning("info", None, "A historical data farm connection is inactive"),
    2108: ErrorMeaning("info", None, "A market data farm connection is inactive"),
    2109: ErrorMeaning("warning", None, "Order event warning: outside-RTH attribute ignored"),
    2119: ErrorMeaning("info", None, "Market data farm is connecting"),
    2158: ErrorMeaning("info", None, "Sec-def data farm connection is OK"),
    10147: ErrorMeaning("cancel_refused", None, "OrderId that needs to be cancelled is not found"),
    10148: ErrorMeaning("cancel_refused", None, "OrderId that needs to be cancelled cannot be cancelled"),
    10167: ErrorMeaning("market_data", None, "Displaying delayed market data"),
    10197: ErrorMeaning("market_data", None, "No market data during competing live session"),
    10311: ErrorMeaning("warning", None, "This order will be directly routed"),
}

#: What a 201's text says, as an ntlab reason (first match wins; otherwise ``broker_rejected``).
REFUSAL_REASONS: list[tuple[re.Pattern[str], Reason]] = [
    (
        re.compile(r"EQUITY WITH LOAN|INITIAL MARGIN|INSUFFICIENT|AVAILABLE FUNDS|BUYING POWER", re.I),
        Reason.INSUFFICIENT_FUNDS,
    ),
    (re.compile(r"SHORT (SALE|STOCK)|NOT AVAILABLE FOR SHORT|NO SHARES", re.I), Reason.NO_LOCATE),
    (re.compile(r"PERMISSION|NOT ALLOWED|NOT PERMITTED|RESTRICTED", re.I), Reason.NOT_ALLOWED),
    (re.compile(r"CASH QUANTITY|CASHQTY", re.I), Reason.NOT_ALLOWED),
    (
        re.compile(r"MARKET (IS )?CLOSED|SESSION IS OVER|OUTSIDE (OF )?(REGULAR )?TRADING HOURS", re.I),
        Reason.NOT_ALLOWED,
    ),
]


def error_meaning(code: int) -> ErrorMeaning | None:
    """The table's row for a code; the 2100s not listed are notices like their neighbours."""
    found = ERRORS.get(code)
    if found is None and 2100 <= code < 2200:
        return ErrorMeaning("info", None, "a TWS notice")
    return found


def refusal_reason(code: int, text: str) -> str:
    """The ntlab reason code of a refusal: the code's own, or for a 201 what its text says."""
    meaning = ERRORS.get(code)
    if code == 201 or meaning is None or meaning.reason is None:
        for pattern, reason in REFUSAL_REASONS:
            if pattern.search(text):
                return reason.value
        return Reason.BROKER_REJECTED.value
    return meaning.reason.value


# --- ntlab -> IB --------------------------------------------------------------------------------------------

ORDER_TYPE: dict[OrderType, str] = {
    OrderType.MARKET: "MKT",
    OrderType.LIMIT: "LMT",
    OrderType.STOP: "STP",
    OrderType.STOP_LIMIT: "STP LMT",
    OrderType.TRAILING_STOP: "TRAIL",  # auxPrice: the trailing amount, or trailingPercent
}
#: IB has no "at the close" time in force: market and limit orders for the close are order types.
AT_CLOSE: dict[OrderType, str] = {OrderType.MARKET: "MOC", OrderType.LIMIT: "LOC"}
TIME_IN_FORCE: dict[TimeInForce, str] = {
    TimeInForce.DAY: "DAY",
    TimeInForce.GTC: "GTC",
    TimeInForce.IOC: "IOC",
    TimeInForce.FOK: "FOK",
    TimeInForce.OPG: "OPG",
    TimeInForce.CLS: "DAY",  # with order type MOC / LOC
}
SIDE: dict[Side, str] = {Side.BUY: "BUY", Side.SELL: "SELL"}
#: How an order's exits are sent: a bracket's and an oto's as children of the entry (``parentId``, the entry
#: and all but the last child sent with ``transmit`` off, so TWS takes them together); an oco's as two orders
#: in one OCA group that reduces the other by what fills (``ocaType`` 2, with overfill protection).
PARENT_CHILD = frozenset({OrderClass.BRACKET, OrderClass.OTO})
OCA_TYPE = 2

# --- IB -> ntlab --------------------------------------------------------------------------------------------

IB_ORDER_TYPE: dict[str, tuple[OrderType, TimeInForce | None]] = {
    "MKT": (OrderType.MARKET, None),
    "LMT": (OrderType.LIMIT, None),
    "STP": (OrderType.STOP, None),
    "STP LMT": (OrderType.STOP_LIMIT, None),
    "MOC": (OrderType.MARKET, TimeInForce.CLS),
    "LOC": (OrderType.LIMIT, TimeInForce.CLS),
    "TRAIL": (OrderType.TRAILING_STOP, None),  # its stop price is where the trail is now (trailStopPrice)
}
IB_TIME_IN_FORCE: dict[str, TimeInForce] = {
    "DAY": TimeInForce.DAY,
    "GTC": TimeInForce.GTC,
    "IOC": TimeInForce.IOC,
    "FOK": TimeInForce.FOK,
    "OPG": TimeInForce.OPG,
    "GTD": TimeInForce.GTC,  # good till a date: open past today, like gtc
}
IB_SIDE: dict[str, Side] = {"BUY": Side.BUY, "SELL": Side.SELL, "SSHORT": Side.SELL}
EXECUTION_SIDE: dict[str, Side] = {"BOT": Side.BUY, "SLD": Side.SELL}
#: IB's lastLiquidity: 1 added liquidity, 2 removed it, 3 routed out (took it elsewhere).
LIQUIDITY: dict[int, Liquidity | None] = {0: None, 1: Liquidity.MAKER, 2: Liquidity.TAKER, 3: Liquidity.TAKER}


def dec(value: float | int | str | Decimal | None) -> Decimal | None:
    """A number from ib_async as Decimal (None for unset, NaN or infinite)."""
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value) or value >= UNSET_DOUBLE:
            return None
        number = Decimal(repr(value))
    elif isinstance(value, int) and value == UNSET_INTEGER:
        return None
    else:
        number = Decimal(str(value))
    # 10.0 -> 10 and 190.10 -> 190.1, never an exponent (1E+3)
    return number.to_integral_value() if number == number.to_integral_value() else number.normalize()


def broker_id(order_id: int, perm_id: int) -> str:
    """ntlab's ``broker_order_id`` for an IB order: its (client-scoped) order id and its global permId."""
    return f"{order_id}/{perm_id}"


def parse_broker_id(value: str | None) -> tuple[int, int] | None:
    """(order id, permId) from a ``broker_order_id``; None when it is not one of ours."""
    if not value or "/" not in value:
        return None
    order_id, _, perm_id = value.partition("/")
    try:
        return int(order_id), int(perm_id)
    except ValueError:
        return None


def order_status(ib_status: str, filled: Decimal) -> OrderStatus:
    meaning = ORDER_STATUS.get(ib_status)
    if meaning is None:
        raise KeyError(f"IB order status {ib_status!r} is not in the table")
    status = meaning.status
    if status in (S.ACCEPTED, S.PENDING_CANCEL) and filled > 0:
        return S.PARTIALLY_FILLED if status is S.ACCEPTED else status
    return status


def ib_order_fields(order: Order, account: str) -> dict[str, Any]:
    """The fields of an ib_async ``Order`` for an ntlab order; ntlab's id travels as ``orderRef``."""
    kind = order.order_type
    at_close = order.time_in_force is TimeInForce.CLS
    order_type = AT_CLOSE[kind] if at_close else ORDER_TYPE[kind]
    fields: dict[str, Any] = {
        "action": SIDE[order.side],
        "totalQuantity": float(order.quantity),
        "orderType": order_type,
        "tif": TIME_IN_FORCE[order.time_in_force],
        "orderRef": order.order_id,
        "account": account,
        "transmit": True,
    }
    if kind in (OrderType.LIMIT, OrderType.STOP_LIMIT):
        fields["lmtPrice"] = float(order.limit_price) if order.limit_price is not None else None
    if kind in (OrderType.STOP, OrderType.STOP_LIMIT):
        fields["auxPrice"] = float(order.stop_price) if order.stop_price is not None else None
    if kind is OrderType.TRAILING_STOP:
        if order.trail_percent is not None:
            fields["trailingPercent"] = float(order.trail_percent)
        else:
            fields["auxPrice"] = float(order.trail_price) if order.trail_price is not None else None
    return fields


def linked_fields(order: Order, legs: list[Order], account: str, ids: list[int]) -> list[dict[str, Any]]:
    """The IB orders for an entry and its legs, in sending order, with ``ids`` as their order ids: the
    entry first, its children (``parentId``) after it, the last of them transmitting the lot; or an oco's
    take-profit and stop-loss in one OCA group."""
    sent = [ib_order_fields(order, account) | {"orderId": ids[0]}]
    for n, leg in enumerate(legs, start=1):
        sent.append(ib_order_fields(leg, account) | {"orderId": ids[n]})
    if order.order_class in PARENT_CHILD:
        for n, fields in enumerate(sent):
            fields["transmit"] = n == len(sent) - 1
            if n:
                fields["parentId"] = ids[0]
    elif order.order_class is OrderClass.OCO:
        for fields in sent:
            fields["ocaGroup"] = f"oco-{order.order_id}"
            fields["ocaType"] = OCA_TYPE
    return sent


# --- IB's records to ntlab's ---------------------------------------------------------------------------------


def symbol_of(contract: Contract) -> str:
    return ntlab_symbol(contract.secType, contract.symbol, contract.currency, contract.localSymbol)


def reference(order: IBOrder) -> str:
    """ntlab's id of an IB order: its orderRef, or for an order placed without one, ``ib-<permId>``."""
    return order.orderRef or f"ib-{order.permId}"


def _prices(order: IBOrder, kind: OrderType) -> tuple[Decimal | None, Decimal | None]:
    limit = dec(order.lmtPrice) if kind in (OrderType.LIMIT, OrderType.STOP_LIMIT) else None
    if kind is OrderType.TRAILING_STOP:
        stop = dec(order.trailStopPrice)
    else:
        stop = dec(order.auxPrice) if kind in (OrderType.STOP, OrderType.STOP_LIMIT) else None
    return limit, stop


def _trail(order: IBOrder, kind: OrderType) -> tuple[Decimal | None, Decimal | None]:
    """A trailing order's (trail_price, trail_percent): IB's auxPrice is the amount unless a percent is set."""
    if kind is not OrderType.TRAILING_STOP:
        return None, None
    percent = dec(order.trailingPercent)
    return (None, percent) if percent is not None else (dec(order.auxPrice), None)


def broker_order(trade: Trade, now: datetime, *, completed: bool = False) -> Order:
    """An IB order (an ib_async Trade from openOrder/orderStatus or completedOrder) as ntlab's record."""
    order, status = trade.order, trade.orderStatus
    kind, close_tif = IB_ORDER_TYPE.get(order.orderType, (OrderType.LIMIT, None))
    tif = close_tif or IB_TIME_IN_FORCE.get(order.tif, TimeInForce.DAY)
    limit, stop = _prices(order, kind)
    trail_price, trail_percent = _trail(order, kind)
    if completed:
        filled = dec(order.filledQuantity) or Decimal(0)
        avg = None
    else:
        filled = dec(status.filled) or Decimal(0)
        avg = dec(status.avgFillPrice) if filled else None
    quantity = dec(order.totalQuantity) or Decimal(0)
    ib_status = status.status or ("Filled" if completed and filled >= quantity > 0 else "Submitted")
    reason = "IB reports the order Inactive: refused" if ib_status == "Inactive" else None
    return Order(
        order_id=reference(order),
        symbol=symbol_of(trade.contract),
        side=IB_SIDE.get(order.action, Side.BUY),
        quantity=quantity,
        order_type=kind,
        time_in_force=tif,
        status=order_status(ib_status, filled),
        created_at=now,
        updated_at=now,
        limit_price=limit,
        stop_price=stop,
        filled_quantity=filled,
        avg_fill_price=avg,
        broker_order_id=broker_id(order.orderId, order.permId),
        reason=reason,
        venue=VENUE,
        trail_price=trail_price,
        trail_percent=trail_percent,
    )


def fill(ib_fill: IBFill, order_id: str, fee: Decimal) -> Fill:
    """An execution as ntlab's fill: IB's execId is the fill id, the commission report's amount its fee."""
    execution = ib_fill.execution
    when = execution.time if execution.time.tzinfo is not None else execution.time.replace(tzinfo=UTC)
    return Fill(
        fill_id=execution.execId,
        order_id=order_id,
        symbol=symbol_of(ib_fill.contract),
        side=EXECUTION_SIDE[execution.side],
        quantity=dec(execution.shares) or Decimal(0),
        price=dec(execution.price) or Decimal(0),
        time=when.astimezone(UTC),
        fee=fee,
        liquidity=LIQUIDITY.get(execution.lastLiquidity),
        venue=execution.exchange or VENUE,
    )


def position(item: IBPosition) -> Position:
    return Position(
        symbol=symbol_of(item.contract),
        quantity=dec(item.position) or Decimal(0),
        avg_cost=dec(item.avgCost),
    )
