"""ccxt's unified vocabulary to ntlab's and back: statuses, order types, errors, markets, orders and trades.

One table per direction, each row tested. ccxt hands unified numbers as Python floats; every amount, price
and fee is turned back into the exchange's decimal through ``repr`` (:func:`dec`), which is exact for any
wire value of 15 significant digits or fewer (an IEEE double round-trips 15): prices on a tick, amounts on
a lot and commissions all are. Nothing is computed in floats.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, NamedTuple

import ccxt.async_support as ccxt
from ccxt.base.decimal_to_precision import DECIMAL_PLACES, SIGNIFICANT_DIGITS, TICK_SIZE

from ntlab.core.enums import Liquidity, OrderStatus, OrderType, Side, TimeInForce
from ntlab.core.instruments import AssetKind, Instrument, classify_symbol
from ntlab.core.records import Fill, Order
from ntlab.core.reports import Accepted, Cancelled, Expired, OrderUpdate, PendingCancel, Rejected
from ntlab.errors import Reason

log = logging.getLogger(__name__)

S = OrderStatus
T = OrderType
TIF = TimeInForce

#: ccxt's unified order status -> ntlab's. ``open`` with executions is ``partially_filled``; ``expired`` of an
#: IOC, FOK or market order is its unfilled rest being dropped, which ntlab calls cancelled (see
#: :func:`order_status`).
ORDER_STATUS: dict[str, OrderStatus] = {
    "open": S.ACCEPTED,
    "closed": S.FILLED,
    "canceled": S.CANCELLED,
    "canceling": S.PENDING_CANCEL,
    "expired": S.EXPIRED,
    "rejected": S.REJECTED,
}

#: ntlab order type -> (ccxt type, whether ``triggerPrice`` is sent). ccxt turns a triggered market or limit
#: into the exchange's stop type (Binance spot: STOP_LOSS, STOP_LOSS_LIMIT); a trailing stop is a market
#: order with ccxt's ``trailingPercent`` (Binance: STOP_LOSS with a trailingDelta in basis points) or
#: ``trailingAmount`` (exchanges that trail by a price distance).
ORDER_TYPE_OUT: dict[OrderType, tuple[str, bool]] = {
    T.MARKET: ("market", False),
    T.LIMIT: ("limit", False),
    T.STOP: ("market", True),
    T.STOP_LIMIT: ("limit", True),
    T.TRAILING_STOP: ("market", False),
}

#: (ccxt type, has a trigger price) -> ntlab order type.
ORDER_TYPE_IN: dict[tuple[str, bool], OrderType] = {
    ("market", False): T.MARKET,
    ("limit", False): T.LIMIT,
    ("market", True): T.STOP,
    ("limit", True): T.STOP_LIMIT,
}

#: ntlab time in force -> ccxt's unified ``timeInForce``. Market orders are sent without one: an exchange
#: market order takes what the book has at once (Binance refuses a timeInForce on MARKET), so ntlab's
#: ioc/fok on a market order add nothing the exchange would honour. ``day`` is no crypto time in force
#: (ntlab's validation refuses it for crypto symbols).
TIME_IN_FORCE_OUT: dict[TimeInForce, str] = {TIF.GTC: "GTC", TIF.IOC: "IOC", TIF.FOK: "FOK"}

#: ccxt's unified ``timeInForce`` -> ntlab's; ``PO`` (post only) is a GTC order that only adds liquidity.
TIME_IN_FORCE_IN: dict[str, TimeInForce] = {"GTC": TIF.GTC, "IOC": TIF.IOC, "FOK": TIF.FOK, "PO": TIF.GTC}

SIDE_IN: dict[str, Side] = {"buy": Side.BUY, "sell": Side.SELL}
LIQUIDITY_IN: dict[str, Liquidity] = {"maker": Liquidity.MAKER, "taker": Liquidity.TAKER}


# --- errors -------------------------------------------------------------------------------------------------


class ErrorRule(NamedTuple):
    """What one ccxt error means for an order sent to the exchange.

    ``outcome``: ``rejected`` (the exchange refused it: a Rejected report with ``reason``), ``unavailable``
    (it provably did not arrive: BrokerUnavailable, the manager may send again), ``rate_limited`` (refused
    for rate before processing: RateLimited), ``timeout`` (it may have arrived: BrokerTimeout, the manager
    looks it up by client id first), ``auth`` (the keys were refused: AuthenticationError).
    """

    error: type[Exception]
    outcome: str
    reason: Reason | None
    arrived: str


#: ccxt errors, most specific first (the first row whose class matches wins). ``arrived`` says, per row,
#: whether the order can have reached the book. ccxt's own retries stay off (``maxRetriesOnFailure`` 0), so
#: each row is one send.
ERRORS: tuple[ErrorRule, ...] = (
    ErrorRule(ccxt.DuplicateOrderId, "timeout", None, "yes: an earlier send with this client id is there"),
    ErrorRule(ccxt.InsufficientFunds, "rejected", Reason.INSUFFICIENT_FUNDS, "refused: nothing placed"),
    ErrorRule(ccxt.OrderImmediatelyFillable, "rejected", Reason.WOULD_TAKE, "refused: nothing placed"),
    ErrorRule(ccxt.OrderNotFillable, "rejected", Reason.BROKER_REJECTED, "refused: nothing placed"),
    ErrorRule(ccxt.BadSymbol, "rejected", Reason.UNKNOWN_SYMBOL, "refused: nothing placed"),
    ErrorRule(ccxt.InvalidOrder, "rejected", Reason.BROKER_REJECTED, "refused: nothing placed"),
    ErrorRule(ccxt.MarketClosed, "rejected", Reason.TRADING_HALTED, "refused: nothing placed"),
    ErrorRule(ccxt.NotSupported, "rejected", Reason.NOT_ALLOWED, "refused before sending"),
    ErrorRule(ccxt.ArgumentsRequired, "rejected", Reason.NOT_ALLOWED, "refused before sending"),
    ErrorRule(ccxt.BadRequest, "rejected", Reason.BROKER_REJECTED, "refused: nothing placed"),
    ErrorRule(ccxt.AuthenticationError, "auth", None, "refused: keys, signature or permissions"),
    ErrorRule(ccxt.RateLimitExceeded, "rate_limited", None, "no: refused for rate before processing"),
    ErrorRule(ccxt.DDoSProtection, "rate_limited", None, "no: 429/418 refuse before processing"),
    ErrorRule(ccxt.InvalidNonce, "unavailable", None, "no: the timestamp was refused (-1021)"),
    ErrorRule(ccxt.RequestTimeout, "timeout", None, "maybe: no answer in time"),
    ErrorRule(
        ccxt.ExchangeNotAvailable, "timeout", None, "maybe: ccxt folds unmapped 5xx/4xx and resets here"
    ),
    ErrorRule(ccxt.NetworkError, "timeout", None, "maybe: never retried blind"),
    ErrorRule(ccxt.BadResponse, "timeout", None, "yes or maybe: an answer came but could not be read"),
    ErrorRule(ccxt.OperationFailed, "timeout", None, "maybe: execution status unknown (-1000, -1006)"),
    ErrorRule(ccxt.ExchangeError, "rejected", Reason.BROKER_REJECTED, "refused: the exchange said no"),
)

#: Messages ccxt leaves under a general class that mean something specific, refined by their text
#: (Binance: a duplicate client id comes as -2010 NEW_ORDER_REJECTED, which ccxt maps to InvalidOrder).
REFINED_MESSAGES: dict[str, type[Exception]] = {"Duplicate order sent.": ccxt.DuplicateOrderId}


def error_rule(error: BaseException) -> ErrorRule | None:
    """The table's row for a ccxt error (None: not a ccxt error)."""
    for text, refined in REFINED_MESSAGES.items():
        if text in str(error):
            return next(rule for rule in ERRORS if rule.error is refined)
    for rule in ERRORS:
        if isinstance(error, rule.error):
            if rule.error is ccxt.ExchangeNotAvailable and _never_connected(error):
                return ErrorRule(ccxt.ExchangeNotAvailable, "unavailable", None, "no: no connection was made")
            return rule
    return None


def _never_connected(error: BaseException) -> bool:
    """ccxt raises ExchangeNotAvailable for a refused connection too; its cause says the order never left."""
    import aiohttp

    return isinstance(error.__cause__, aiohttp.ClientConnectorError)


# --- numbers and times --------------------------------------------------------------------------------------


def dec(value: Any) -> Decimal | None:
    """A ccxt number (float, int or numeric string) as the Decimal the exchange sent; None stays None."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(str(value))


def ms_time(value: Any) -> datetime | None:
    """A ccxt millisecond timestamp as an aware UTC datetime."""
    if value is None:
        return None
    return datetime.fromtimestamp(int(value) / 1000, tz=UTC)


def text(value: Decimal) -> str:
    """A Decimal as the plain string an exchange wants (no exponent)."""
    return format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")


# --- markets -> instruments -------------------------------------------------------------------------------


def step(precision: Any, mode: int) -> Decimal | None:
    """A market precision as a step: ccxt gives a tick size, a number of decimals or of significant digits."""
    if precision is None:
        return None
    value = dec(precision)
    assert value is not None
    if mode == TICK_SIZE:
        return value
    if mode == DECIMAL_PLACES:
        return Decimal(1).scaleb(-int(value))
    if mode == SIGNIFICANT_DIGITS:
        return None  # a step that depends on the price: leave it to the exchange
    return None


def instrument(market: Mapping[str, Any], precision_mode: int) -> Instrument | None:
    """The ntlab instrument of a ccxt spot market, or None (not spot, or a symbol ntlab cannot name)."""
    if not market.get("spot"):
        return None
    symbol = market["symbol"]
    kind = classify_symbol(symbol)
    if kind is None:
        return None
    precision = market.get("precision") or {}
    limits = market.get("limits") or {}
    tick = step(precision.get("price"), precision_mode)
    lot = step(precision.get("amount"), precision_mode)
    amount = limits.get("amount") or {}
    cost = limits.get("cost") or {}
    defaults = {"tick_size": Decimal("0.00000001"), "lot_size": Decimal("0.00000001")}
    return Instrument(
        symbol=symbol,
        kind=kind if kind is not AssetKind.EQUITY else AssetKind.CRYPTO,
        tick_size=tick if tick else defaults["tick_size"],
        lot_size=lot if lot else defaults["lot_size"],
        currency=market.get("quote") or symbol.split("/")[1],
        min_quantity=_positive(amount.get("min")),
        min_notional=_positive(cost.get("min")),
    )


def _positive(value: Any) -> Decimal | None:
    number = dec(value)
    return number if number is not None and number > 0 else None


# --- orders -------------------------------------------------------------------------------------------------


def order_status(raw: Mapping[str, Any]) -> OrderStatus:
    """ntlab's status for a ccxt order."""
    status = raw.get("status")
    mapped = ORDER_STATUS.get(status or "")
    if mapped is None:
        log.warning("unknown ccxt order status %r; treating the order as open", status)
        mapped = S.ACCEPTED
    filled = dec(raw.get("filled")) or Decimal(0)
    if mapped is S.ACCEPTED and filled > 0:
        return S.PARTIALLY_FILLED
    if mapped is S.EXPIRED and _immediate(raw):
        return S.CANCELLED
    return mapped


def _immediate(raw: Mapping[str, Any]) -> bool:
    return raw.get("type") == "market" or raw.get("timeInForce") in ("IOC", "FOK")


def order_type(raw: Mapping[str, Any]) -> OrderType:
    triggered = raw.get("triggerPrice") is not None
    return ORDER_TYPE_IN.get((raw.get("type") or "limit", triggered), T.LIMIT)


def replacement_id(order_id: str, n: int) -> str:
    """The client order id of the ``n``-th replacement of ntlab order ``order_id`` (a cancel-and-new edit
    makes a new order at the exchange; its id derives from ntlab's, so any session can map it back)."""
    return f"{order_id}.r{n}"


def ntlab_id(client_order_id: str) -> str:
    """The ntlab order id behind an exchange client order id (replacements map to their original)."""
    found = _REPLACEMENT.match(client_order_id)
    return found.group("base") if found else client_order_id


_REPLACEMENT = re.compile(r"^(?P<base>.+)\.r(?P<n>\d+)$")


def order(raw: Mapping[str, Any], venue: str, client_id: str | None = None) -> Order:
    """A ccxt order as ntlab's order record; its ntlab id is the client order id."""
    created = ms_time(raw.get("timestamp")) or datetime.now(UTC)
    updated = ms_time(raw.get("lastUpdateTimestamp") or raw.get("lastTradeTimestamp")) or created
    kind = order_type(raw)
    tif = TIME_IN_FORCE_IN.get(raw.get("timeInForce") or "", TIF.GTC)
    filled = dec(raw.get("filled")) or Decimal(0)
    average = dec(raw.get("average")) if filled > 0 else None
    fee = raw.get("fee") or {}
    status = order_status(raw)
    return Order(
        order_id=client_id or ntlab_id(raw.get("clientOrderId") or str(raw["id"])),
        symbol=raw["symbol"],
        side=SIDE_IN[raw["side"]],
        quantity=dec(raw.get("amount")) or filled,
        order_type=kind,
        time_in_force=tif,
        status=status,
        created_at=created,
        updated_at=updated,
        limit_price=dec(raw.get("price")) if kind in (T.LIMIT, T.STOP_LIMIT) else None,
        stop_price=dec(raw.get("triggerPrice")),
        filled_quantity=filled,
        avg_fill_price=average,
        fees=dec(fee.get("cost")) or Decimal(0),
        broker_order_id=str(raw["id"]),
        reason=f"{venue} reports the order {raw.get('status')}" if status.is_final else None,
        venue=venue,
        post_only=bool(raw.get("postOnly")),
    )


def order_report(raw: Mapping[str, Any], client_id: str, venue: str) -> OrderUpdate | None:
    """What a streamed order update tells ntlab beyond its executions (those come as trades)."""
    status = order_status(raw)
    when = ms_time(raw.get("lastUpdateTimestamp") or raw.get("timestamp")) or datetime.now(UTC)
    if status is S.ACCEPTED:
        return Accepted(client_id, when, str(raw["id"]))
    if status is S.CANCELLED:
        return Cancelled(client_id, when, f"{venue}: {raw.get('status')}")
    if status is S.EXPIRED:
        return Expired(client_id, when, f"{venue}: expired")
    if status is S.REJECTED:
        return Rejected(client_id, when, f"{venue} rejected the order", Reason.BROKER_REJECTED.value)
    if status is S.PENDING_CANCEL:
        return PendingCancel(client_id, when)
    return None  # partially filled, filled: the trades say it


def fill_id(trade: Mapping[str, Any]) -> str:
    """ntlab's id of an execution: the exchange's trade id, unique within its market."""
    return f"{trade['symbol']}#{trade['id']}"


def fill(trade: Mapping[str, Any], client_id: str, venue: str, side: Side | None = None) -> Fill:
    """A ccxt trade of ours as an ntlab fill, its fee in the currency the exchange charged it in.

    ``side``: the order's, for trades that do not carry one (the fills of an order's own reply)."""
    fee = trade.get("fee") or {}
    liquidity = LIQUIDITY_IN.get(trade.get("takerOrMaker") or "")
    return Fill(
        fill_id=fill_id(trade),
        order_id=client_id,
        symbol=trade["symbol"],
        side=SIDE_IN.get(trade.get("side") or "") or side or Side.BUY,
        quantity=dec(trade["amount"]) or Decimal(0),
        price=dec(trade["price"]) or Decimal(0),
        time=ms_time(trade.get("timestamp")) or datetime.now(UTC),
        fee=dec(fee.get("cost")) or Decimal(0),
        liquidity=liquidity,
        venue=venue,
        fee_currency=fee.get("currency"),
    )


def order_params(order: Order) -> tuple[str, str, float, float | None, dict[str, Any]]:
    """``create_order``'s arguments for an ntlab order: type, side, amount, price and unified params.

    Amounts and prices go as floats because that is ccxt's signature; ccxt formats them back to the market's
    precision, so a value on the tick and lot comes out as the same decimal.
    """
    kind, triggered = ORDER_TYPE_OUT[order.order_type]
    params: dict[str, Any] = {"clientOrderId": order.order_id}
    if kind != "market":
        params["timeInForce"] = TIME_IN_FORCE_OUT.get(order.time_in_force, "GTC")
    if triggered:
        assert order.stop_price is not None
        params["triggerPrice"] = float(order.stop_price)
    if order.order_type is T.TRAILING_STOP:
        params["stopLossOrTakeProfit"] = "stopLoss"  # which way it trails (ccxt binance asks; others ignore)
        if order.trail_percent is not None:
            params["trailingPercent"] = float(order.trail_percent)
        if order.trail_price is not None:
            params["trailingAmount"] = float(order.trail_price)
    if order.post_only:
        params["postOnly"] = True
    price = float(order.limit_price) if order.limit_price is not None else None
    return kind, order.side.value, float(order.quantity), price, params
