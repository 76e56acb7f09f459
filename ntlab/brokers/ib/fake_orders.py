"""The fake TWS's order records and how it reads a client's placeOrder.

A placeOrder message is positional: ib_async writes 150-odd fields in IB's order (the order id, the
contract's twelve fields, then the order's own fields, some only present when an earlier one says so).
:func:`read_place_order` walks them with a cursor the same way, as far as the fields the fake acts on
(through ``cashQty``), and keeps what it read in a :class:`PlaceOrder`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from ntlab.brokers.ib.fake_catalog import ContractSpec
from ntlab.brokers.ib.wire import UNSET_DOUBLE, parse_number
from ntlab.core.instruments import AssetKind

CENT = Decimal("0.01")


class Cursor:
    """Reads a message's fields in order."""

    def __init__(self, fields: list[str], start: int = 0) -> None:
        self.fields = fields
        self.at = start

    def next(self) -> str:
        if self.at >= len(self.fields):
            raise ValueError(f"the message ended after {len(self.fields)} fields")
        value = self.fields[self.at]
        self.at += 1
        return value

    def skip(self, n: int) -> None:
        for _ in range(n):
            self.next()

    def int(self) -> int:
        value = self.next()
        return int(value) if value else 0

    def number(self) -> Decimal | None:
        return parse_number(self.next())

    def flag(self) -> bool:
        value = self.next()
        return bool(value) and value not in ("0", "false", "False")


@dataclass(slots=True)
class PlaceOrder:
    """What a client's placeOrder asks for, in IB's words."""

    order_id: int
    con_id: int
    symbol: str
    sec_type: str
    exchange: str
    currency: str
    action: str
    quantity: Decimal
    order_type: str
    lmt_price: Decimal | None
    aux_price: Decimal | None
    tif: str
    oca_group: str
    account: str
    order_ref: str
    transmit: bool
    parent_id: int
    outside_rth: bool
    good_till_date: str
    oca_type: int
    trail_stop_price: Decimal | None
    trailing_percent: Decimal | None
    what_if: bool
    conditions: int
    cash_qty: Decimal | None


def read_place_order(fields: list[str], server_version: int) -> PlaceOrder:
    """Read a placeOrder (message 3) as ib_async writes it for a non-combo contract."""
    c = Cursor(fields, 1)
    order_id = c.int()
    con_id = c.int()
    symbol, sec_type = c.next(), c.next()
    c.skip(4)  # lastTradeDateOrContractMonth, strike, right, multiplier
    exchange = c.next()
    c.next()  # primaryExchange
    currency = c.next()
    c.skip(2)  # localSymbol, tradingClass
    if sec_type == "BAG":
        raise ValueError("combo (BAG) orders are not supported by the fake TWS")
    c.skip(2)  # secIdType, secId
    action = c.next()
    quantity = c.number() or Decimal(0)
    order_type = c.next()
    lmt_price, aux_price = c.number(), c.number()
    tif, oca_group, account = c.next(), c.next(), c.next()
    c.skip(2)  # openClose, origin
    order_ref = c.next()
    transmit = c.flag()
    parent_id = c.int()
    c.skip(4)  # blockOrder, sweepToFill, displaySize, triggerMethod
    outside_rth = c.flag()
    c.next()  # hidden
    c.skip(3)  # "" (shares allocation), discretionaryAmt, goodAfterTime
    good_till_date = c.next()
    c.skip(3)  # faGroup, faMethod, faPercentage
    if server_version < 177:
        c.next()  # faProfile
    c.skip(4)  # modelCode, shortSaleSlot, designatedLocation, exemptCode
    oca_type = c.int()
    c.skip(15)  # rule80A .. overridePercentageConstraints
    c.skip(2)  # volatility, volatilityType
    delta_neutral_type = c.next()
    c.next()  # deltaNeutralAuxPrice
    if delta_neutral_type:
        c.skip(8)
    c.skip(2)  # continuousUpdate, referencePriceType
    trail_stop_price, trailing_percent = c.number(), c.number()
    c.skip(2)  # scaleInitLevelSize, scaleSubsLevelSize
    increment = c.number()
    if increment is not None and increment > 0:
        c.skip(7)
    c.skip(3)  # scaleTable, activeStartTime, activeStopTime
    if c.next():  # hedgeType
        c.next()
    c.skip(4)  # optOutSmartRouting, clearingAccount, clearingIntent, notHeld
    if c.flag():  # deltaNeutralContract
        c.skip(3)
    if c.next():  # algoStrategy
        c.skip(2 * c.int())
    c.next()  # algoId
    what_if = c.flag()
    c.skip(4)  # orderMiscOptions, solicited, randomizeSize, randomizePrice
    if order_type in ("PEG BENCH", "PEGBENCH"):
        c.skip(5)
    conditions = c.int()
    cash_qty = None
    if not conditions:
        c.skip(10)  # adjustedOrderType .. extOperator, softDollarTier.name, softDollarTier.val
        cash_qty = c.number()
    return PlaceOrder(
        order_id=order_id,
        con_id=con_id,
        symbol=symbol,
        sec_type=sec_type,
        exchange=exchange,
        currency=currency,
        action=action,
        quantity=quantity,
        order_type=order_type,
        lmt_price=lmt_price,
        aux_price=aux_price,
        tif=tif or "DAY",
        oca_group=oca_group,
        account=account,
        order_ref=order_ref,
        transmit=transmit,
        parent_id=parent_id,
        outside_rth=outside_rth,
        good_till_date=good_till_date,
        oca_type=oca_type,
        trail_stop_price=trail_stop_price,
        trailing_percent=trailing_percent,
        what_if=what_if,
        conditions=conditions,
        cash_qty=cash_qty,
    )


@dataclass(slots=True)
class TwsOrder:
    """One order as the fake TWS holds it (the engine holds its book position under ``key``)."""

    perm_id: int
    client_id: int
    order_id: int
    spec: ContractSpec
    action: str
    quantity: Decimal
    order_type: str
    lmt_price: Decimal | None
    aux_price: Decimal | None
    tif: str
    account: str
    order_ref: str
    created: datetime
    oca_group: str = ""
    oca_type: int = 0
    parent_id: int = 0
    outside_rth: bool = False
    good_till_date: str = ""
    trail_stop_price: Decimal | None = None
    trailing_percent: Decimal | None = None
    status: str = "PendingSubmit"
    filled: Decimal = Decimal(0)
    avg_price: Decimal = Decimal(0)
    last_fill_price: Decimal = Decimal(0)
    why_held: str = ""
    commission: Decimal = Decimal(0)
    completed_time: str = ""
    completed_status: str = ""
    transmitted: bool = True
    children: list[int] = field(default_factory=list)
    engine_key: str | None = None  # a bracket child's is its parent's leg id (<parent>-tp, <parent>-sl)

    @property
    def key(self) -> str:
        """The engine's id for this order."""
        return self.engine_key or str(self.perm_id)

    @property
    def remaining(self) -> Decimal:
        return max(self.quantity - self.filled, Decimal(0))

    @property
    def done(self) -> bool:
        return self.status in ("Filled", "Cancelled", "ApiCancelled", "Inactive")

    @property
    def trailing(self) -> bool:
        return self.order_type == "TRAIL"


@dataclass(frozen=True, slots=True)
class TwsExecution:
    """One execution with its commission report's figures."""

    exec_id: str
    perm_id: int
    client_id: int
    order_id: int
    order_ref: str
    spec: ContractSpec
    side: str  # BOT or SLD
    shares: Decimal
    price: Decimal
    time: datetime
    cum_qty: Decimal
    avg_price: Decimal
    liquidity: int  # 1 added, 2 removed (IB's lastLiquidity)
    commission: Decimal
    realized_pnl: Decimal | None


def order_commission(spec: ContractSpec, quantity: Decimal, value: Decimal) -> Decimal:
    """IB's fixed-rate commission for an order that has traded ``quantity`` worth ``value`` so far.

    US stocks: USD 0.005 a share, at least USD 1.00, at most 1% of the trade value. FX (IDEALPRO): 0.20
    basis points of the value, at least USD 2.00. Crypto (PAXOS): 0.18% of the value, at least USD 1.75.
    """
    if quantity <= 0:
        return Decimal(0)
    if spec.kind is AssetKind.EQUITY:
        fee = max(Decimal("0.005") * quantity, Decimal("1.00"))
        fee = min(fee, value * Decimal("0.01"))
    elif spec.kind is AssetKind.FX:
        fee = max(value * Decimal("0.00002"), Decimal("2.00"))
    else:
        fee = max(value * Decimal("0.0018"), Decimal("1.75"))
    return fee.quantize(CENT, ROUND_HALF_UP)


def unset(value: Decimal | None) -> Decimal | str:
    """A double TWS leaves unset is written as the max-double sentinel."""
    return UNSET_DOUBLE if value is None else value
