"""What the fake TWS refuses before an order reaches the engine, in TWS's own codes and words.

Contract (200), order type (387), size (434), time in force (111, 113), missing prices (321), prices off the
contract's tick (110), IB's crypto rules (limit orders; market orders only IOC, market buys only by cash
quantity), and the account's margin (201 with TWS's "YOUR ORDER IS NOT ACCEPTED" text).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from ntlab.brokers.ib.fake_account import Account
from ntlab.brokers.ib.fake_catalog import Catalog, ContractSpec
from ntlab.brokers.ib.fake_orders import PlaceOrder
from ntlab.core.enums import OrderType, Side, TimeInForce
from ntlab.core.instruments import AssetKind

ZERO = Decimal(0)

#: IB order types the fake takes, and the engine order type each becomes.
ENGINE_TYPE: dict[str, OrderType] = {
    "MKT": OrderType.MARKET,
    "LMT": OrderType.LIMIT,
    "STP": OrderType.STOP,
    "STP LMT": OrderType.STOP_LIMIT,
    "TRAIL": OrderType.TRAILING_STOP,
    "MOC": OrderType.MARKET,
    "LOC": OrderType.LIMIT,
}
ENGINE_TIF: dict[str, TimeInForce] = {
    "DAY": TimeInForce.DAY,
    "GTC": TimeInForce.GTC,
    "IOC": TimeInForce.IOC,
    "FOK": TimeInForce.FOK,
    "OPG": TimeInForce.OPG,
}
NEEDS_LIMIT = frozenset({"LMT", "STP LMT", "LOC"})
NEEDS_STOP = frozenset({"STP", "STP LMT"})
STOPS = frozenset({"STP", "STP LMT", "TRAIL"})
HELD_TYPES = frozenset({*STOPS, "MOC", "LOC"})  # PreSubmitted until they can trade
CRYPTO_TYPES = frozenset({"MKT", "LMT"})

DUPLICATE_ID = "Duplicate order id"
CANNOT_MODIFY_FILLED = "Can't modify a filled order."
MISMATCH = "Order being modified does not match original order."
OFF_TICK = "The price does not conform to the minimum price variation for this contract."
TIF_MISMATCH = "The TIF (Tif type) and the order type are incompatible."
DAY_FOR_CLOSE = "The Tif option should be set to DAY for MOC and LOC orders."
NO_SECURITY = "No security definition has been found for the request"
ZERO_SIZE = "The order size cannot be zero."
UNSUPPORTED_TYPE = "Unsupported order type for this exchange and security type."
REJECTED = "Order rejected - reason:"
CANCELLED = "Order Canceled - reason:"


def validating(cause: str) -> str:
    return f"Error validating request.-'bW' : cause - {cause}"


class Refusal(Exception):
    """An order TWS refuses: the error code and text it sends."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


def check_order(
    p: PlaceOrder,
    catalog: Catalog,
    account: Account,
    mark: Callable[[ContractSpec], Decimal | None],
    planned: list[tuple[int, str]],
) -> ContractSpec:
    """The order's contract, or the Refusal TWS answers it with (``planned``: refusals a test queued)."""
    spec = catalog.find(p.con_id, p.symbol, p.sec_type, p.currency)
    if spec is None:
        raise Refusal(200, NO_SECURITY)
    if p.conditions:
        raise Refusal(201, REJECTED + "conditional orders are not taken by this TWS")
    if p.action not in ("BUY", "SELL"):
        raise Refusal(321, validating(f"invalid action {p.action!r}"))
    if p.order_type not in ENGINE_TYPE:
        raise Refusal(387, UNSUPPORTED_TYPE)
    if p.quantity <= 0 and not p.cash_qty:
        raise Refusal(434, ZERO_SIZE)
    check_shape(p)
    for price in (p.lmt_price, p.aux_price):  # a trailing amount is in ticks too
        if price is not None and price % spec.min_tick != 0:
            raise Refusal(110, OFF_TICK)
    if spec.kind is AssetKind.CRYPTO:
        if p.order_type not in CRYPTO_TYPES:
            raise Refusal(387, UNSUPPORTED_TYPE)
        if p.order_type == "MKT" and p.tif != "IOC":
            raise Refusal(111, TIF_MISMATCH)
        if p.order_type == "MKT" and p.action == "BUY" and not p.cash_qty:
            raise Refusal(201, REJECTED + "crypto market buys must be sized by cash quantity (cashQty)")
    if planned:
        code, text = planned.pop(0)
        raise Refusal(code, text)
    price = p.lmt_price or (p.aux_price if p.order_type in NEEDS_STOP else None) or mark(spec)
    if price is not None:
        side = Side.BUY if p.action == "BUY" else Side.SELL
        quantity = p.quantity or (p.cash_qty or ZERO) / price
        text = account.margin_refusal(spec, side, quantity, price, mark)
        if text is not None:
            raise Refusal(201, text)
    return spec


def check_shape(p: PlaceOrder) -> None:
    """Time in force and prices the order type needs (for a new order and for a change alike)."""
    if p.tif not in ENGINE_TIF:
        raise Refusal(111, TIF_MISMATCH)
    if p.order_type in ("MOC", "LOC") and p.tif != "DAY":
        raise Refusal(113, DAY_FOR_CLOSE)
    if p.tif == "OPG" and p.order_type not in ("MKT", "LMT"):
        raise Refusal(111, TIF_MISMATCH)
    if p.order_type in STOPS and p.tif in ("IOC", "FOK"):
        raise Refusal(111, TIF_MISMATCH)
    if p.order_type in NEEDS_LIMIT and p.lmt_price is None:
        raise Refusal(321, validating("the limit price is missing"))
    if p.order_type in NEEDS_STOP and p.aux_price is None:
        raise Refusal(321, validating("the stop price is missing"))
    if p.order_type == "TRAIL" and p.aux_price is None and p.trailing_percent is None:
        raise Refusal(321, validating("a trailing order needs a trailing amount or percent"))
