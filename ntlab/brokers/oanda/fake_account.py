"""The fake v20 account: its transaction log, its orders, and v20's rules for them, on the kit's engine.

Every change to the account is a transaction with the next id ("1", "2", ...): the account's creation and
funding, each order's creation or rejection, fills, cancels, financing. Orders are matched by the kit's
:class:`~ntlab.testing.FakeEngine` (the paper venue's book on the sample market) under their v20 order id,
which is the id of the transaction that created them, as on OANDA. How a v20 order becomes an engine order:

- MARKET (FOK or IOC only) is a market order; with ``priceBound`` a limit at the bound with the same time in
  force, so it never fills worse (a miss is cancelled BOUNDS_VIOLATION, a thin touch INSUFFICIENT_LIQUIDITY).
- LIMIT is a limit; STOP a stop (with ``priceBound``, a stop-limit at the bound: OANDA would cancel a
  triggered stop it cannot fill within the bound; the engine leaves it resting); MARKET_IF_TOUCHED a limit
  at its price (it fills at the price or better where OANDA fills at market once touched).
- GTC and GTD rest (GTD orders are cancelled TIME_IN_FORCE_EXPIRED when the clock passes ``gtdTime``), GFD
  rests for the day (the sample market's close stands for 5pm New York), FOK and IOC do not rest.

Where the engine fills a large order over several quotes, the order gets one ORDER_FILL per execution and
stays PENDING until it is filled: OANDA fills an order whole at the VWAP of its price buckets.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from ntlab.brokers.oanda.fake_dependents import (
    ON_FILL,
    TRADE_FIELD,
    OnFillRefusal,
    check_on_fill,
    checked_number,
)
from ntlab.brokers.oanda.fake_ledger import ZERO, Ledger, Marks, Trade, money
from ntlab.brokers.oanda.wire import (
    InstrumentSpec,
    format_time,
    instrument_name,
    parse_time,
    symbol_of,
    text,
)
from ntlab.core.enums import OrderStatus, OrderType, Side, TimeInForce
from ntlab.core.instruments import AssetKind
from ntlab.core.lifecycle import ReplaceChange
from ntlab.core.records import Order
from ntlab.core.reports import Cancelled, Expired, Filled, OrderUpdate, Rejected
from ntlab.testing import FakeEngine

ORDER_TYPES = ("MARKET", "LIMIT", "STOP", "MARKET_IF_TOUCHED")
CREATE_TYPE = {kind: f"{kind}_ORDER" for kind in ORDER_TYPES}
DEPENDENT_TYPES = tuple(ON_FILL.values())  # a trade's own orders, created by a fill's on-fill details
FILL_REASON = {kind: f"{kind}_ORDER" for kind in (*ORDER_TYPES, *DEPENDENT_TYPES)}
TIME_IN_FORCE = {
    "MARKET": ("FOK", "IOC"),
    "LIMIT": ("GTC", "GTD", "GFD", "FOK", "IOC"),
    "STOP": ("GTC", "GTD", "GFD"),
    "MARKET_IF_TOUCHED": ("GTC", "GTD", "GFD"),
}
DEFAULT_TIME_IN_FORCE = {"MARKET": "FOK", "LIMIT": "GTC", "STOP": "GTC", "MARKET_IF_TOUCHED": "GTC"}
ENGINE_TIF = {
    "GTC": TimeInForce.GTC,
    "GTD": TimeInForce.GTC,
    "GFD": TimeInForce.DAY,
    "FOK": TimeInForce.FOK,
    "IOC": TimeInForce.IOC,
}
POSITION_FILLS = ("DEFAULT", "REDUCE_FIRST", "REDUCE_ONLY", "OPEN_ONLY")
TRIGGER_CONDITIONS = ("DEFAULT", "INVERSE", "BID", "ASK", "MID")
#: v20's words for each refusal the fake makes (errorMessage), keyed by rejectReason (errorCode).
MESSAGES = {
    "INSTRUMENT_MISSING": "The Order instrument was not specified",
    "INSTRUMENT_UNKNOWN": "The instrument specified is unknown",
    "UNITS_MISSING": "The Order units were not specified",
    "UNITS_INVALID": "The units specified are invalid",
    "UNITS_PRECISION_EXCEEDED": "The units specified contain more precision than is allowed for the Order's instrument",
    "UNITS_MIMIMUM_NOT_MET": "The units specified is less than the minimum allowed for the Order's instrument",
    "UNITS_LIMIT_EXCEEDED": "The units specified exceeds the maximum number of units allowed",
    "PRICE_MISSING": "The Order price was not specified",
    "PRICE_INVALID": "The price specified is invalid",
    "PRICE_PRECISION_EXCEEDED": "The price specified contains more precision than is allowed for the Order's instrument",
    "PRICE_BOUND_INVALID": "The price bound specified is invalid",
    "PRICE_BOUND_PRECISION_EXCEEDED": "The price bound contains more precision than is allowed for the Order's instrument",
    "TIME_IN_FORCE_INVALID": "The time-in-force specified is invalid for the Order type",
    "TIME_IN_FORCE_GTD_TIMESTAMP_MISSING": "The GTD time was not specified for a GTD Order",
    "TIME_IN_FORCE_GTD_TIMESTAMP_IN_PAST": "The GTD time specified is in the past",
    "CLIENT_ORDER_ID_ALREADY_EXISTS": "The client Order ID specified is already assigned to another pending Order",
    "CLIENT_ORDER_ID_INVALID": "The client Order ID specified is invalid",
    "ORDER_FILL_POSITION_ACTION_INVALID": "The position fill specified is invalid",
    "TRIGGER_CONDITION_INVALID": "The trigger condition specified is invalid",
    "ORDER_DOESNT_EXIST": "The Order specified does not exist",
}


class Refusal(Exception):
    """A request v20 refuses; ``reason`` is the rejectReason/errorCode."""

    def __init__(self, reason: str, message: str | None = None) -> None:
        super().__init__(message or MESSAGES.get(reason, reason.replace("_", " ").capitalize()))
        self.reason = reason


@dataclass
class FakeOrder:
    """One v20 order: its JSON as v20 shows it, and what the fake needs besides."""

    data: dict[str, Any]
    symbol: str
    units: Decimal
    filled: Decimal = ZERO
    close_trade: str | None = None  # a trade close's market order closes this trade first
    trade_extensions: dict[str, str] | None = None
    gtd: datetime | None = None
    fill_reason: str | None = None  # a trade or position close fills as MARKET_ORDER_TRADE_CLOSE, ...
    trade_opened: str | None = None  # the trade this order's first fill opened (later fills join it)

    @property
    def id(self) -> str:
        return str(self.data["id"])

    @property
    def pending(self) -> bool:
        return self.data["state"] in ("PENDING", "TRIGGERED")


@dataclass
class Batch:
    """The transactions one request (or one clock step) made; v20 gives them one batchID."""

    request_id: str
    ids: list[str] = field(default_factory=list)


class V20Account:
    """A netting v20 account in ``currency`` funded with ``cash``, trading the engine market's FX pairs."""

    def __init__(
        self,
        engine: FakeEngine,
        *,
        account_id: str,
        currency: str = "USD",
        cash: Decimal = Decimal(100_000),
        margin_rate: Decimal = Decimal("0.02"),
        financing: dict[str, tuple[Decimal, Decimal]] | None = None,
        user_id: int = 1234567,
        alias: str = "ntlab fake",
    ) -> None:
        self.engine = engine
        self.id = account_id
        self.currency = currency
        self.user_id = user_id
        self.alias = alias
        self.margin_rate = margin_rate
        self.financing_rates = financing or {}
        self.specs = self._instruments(margin_rate)
        self.ledger = Ledger(currency, ZERO, self.specs)
        self.transactions: list[dict[str, Any]] = []
        self.orders: dict[str, FakeOrder] = {}  # every order, oldest first (ids increase)
        self.by_client: dict[str, str] = {}
        self._pending: dict[str, FakeOrder] = {}  # the pending ones, oldest first
        self._expiries: list[tuple[datetime, int, FakeOrder]] = []  # a heap of orders with a gtdTime
        self.listeners: list[Callable[[dict[str, Any]], None]] = []
        self._requests = itertools.count(1)
        self.created = engine.now()
        batch = self.batch()
        site, division, user, number = (int(part) for part in account_id.split("-"))
        self.record(
            batch,
            "CREATE",
            divisionID=division,
            siteID=site,
            accountUserID=user,
            accountNumber=number,
            homeCurrency=currency,
        )
        self.record(batch, "CLIENT_CONFIGURE", alias=alias, marginRate=text(margin_rate))
        self.fund(cash, batch)
        engine.on_report(self._engine_report)

    def _instruments(self, margin_rate: Decimal) -> dict[str, InstrumentSpec]:
        """The market's FX pairs whose quote currency converts to the home currency."""
        specs = {}
        market = self.engine.market
        names = {instrument_name(s) for s, i in market.instruments.items() if i.kind is AssetKind.FX}
        for symbol, instrument in market.instruments.items():
            if instrument.kind is not AssetKind.FX:
                continue
            name = instrument_name(symbol)
            quote = name.split("_")[1]
            if (
                quote != self.currency
                and f"{quote}_{self.currency}" not in names
                and f"{self.currency}_{quote}" not in names
            ):
                continue
            precision = -int(instrument.tick_size.normalize().as_tuple().exponent)
            specs[name] = InstrumentSpec(
                name=name,
                type="CURRENCY",
                display_name=symbol,
                pip_location=-2 if quote == "JPY" else -4,
                display_precision=precision,
                trade_units_precision=0,
                minimum_trade_size=Decimal(1),
                maximum_order_units=Decimal(100_000_000),
                maximum_position_size=ZERO,
                margin_rate=margin_rate,
            )
        return specs

    # --- the log ---------------------------------------------------------------------------------------
    @property
    def last_id(self) -> str:
        return str(len(self.transactions))

    def batch(self) -> Batch:
        return Batch(f"{next(self._requests):018d}")

    def record(self, batch: Batch, kind: str, **fields: Any) -> dict[str, Any]:
        """Add a transaction with the next id; it goes out on the transaction stream."""
        number = str(len(self.transactions) + 1)
        batch.ids.append(number)
        txn = {
            "id": number,
            "time": format_time(self.engine.now()),
            "userID": self.user_id,
            "accountID": self.id,
            "batchID": batch.ids[0],
            "requestID": batch.request_id,
            "type": kind,
            **{k: v for k, v in fields.items() if v is not None},
        }
        self.transactions.append(txn)
        for listener in self.listeners:
            listener(txn)
        return txn

    def transaction(self, txn_id: str) -> dict[str, Any] | None:
        try:
            number = int(txn_id)
        except ValueError:
            return None
        return self.transactions[number - 1] if 1 <= number <= len(self.transactions) else None

    def fund(self, amount: Decimal, batch: Batch | None = None) -> dict[str, Any]:
        self.ledger.balance += amount
        return self.record(
            batch or self.batch(),
            "TRANSFER_FUNDS",
            amount=money(amount),
            fundingReason="CLIENT_FUNDING",
            accountBalance=money(self.ledger.balance),
        )

    # --- prices ------------------------------------------------------------------------------------------
    def marks(self) -> Marks:
        prices = {}
        for name in self.specs:
            quote = self.engine.quote(symbol_of(name))
            if quote is not None:
                prices[name] = (quote.bid, quote.ask)
        return Marks(self.currency, prices)

    def tradeable(self) -> bool:
        return self.engine.now() < self.engine.venue.session_close

    def price_json(self, name: str, marks: Marks | None = None) -> dict[str, Any] | None:
        """The ClientPrice v20 gives for an instrument now (top of book as one bucket a side)."""
        quote = self.engine.quote(symbol_of(name))
        if quote is None:
            return None
        marks = marks or self.marks()
        spec = self.specs[name]
        tradeable = self.tradeable()
        factor = marks.factor(name)
        return {
            "type": "PRICE",
            "instrument": name,
            "time": format_time(quote.time),
            "status": "tradeable" if tradeable else "non-tradeable",
            "tradeable": tradeable,
            "bids": [{"price": spec.price_text(quote.bid), "liquidity": int(quote.bid_size)}],
            "asks": [{"price": spec.price_text(quote.ask), "liquidity": int(quote.ask_size)}],
            "closeoutBid": spec.price_text(quote.bid),
            "closeoutAsk": spec.price_text(quote.ask),
            "quoteHomeConversionFactors": {
                "positiveUnits": text(factor.quantize(Decimal("0.00001"))),
                "negativeUnits": text(factor.quantize(Decimal("0.00001"))),
            },
        }

    def home_conversions(self, names: Iterable[str], marks: Marks) -> list[dict[str, Any]]:
        currencies = dict.fromkeys(c for n in names for c in n.split("_"))
        out = []
        for currency in currencies:
            factor = marks.to_home(currency)
            if factor is None:
                continue
            value = text(factor.quantize(Decimal("0.00001")))
            out.append(
                {"currency": currency, "accountGain": value, "accountLoss": value, "positionValue": value}
            )
        return out

    # --- orders: checking a request ---------------------------------------------------------------------
    def _check(self, spec: dict[str, Any], *, replacing: FakeOrder | None = None) -> tuple[str, Decimal]:
        """Validate an order request as v20 does; returns its type and signed units."""
        kind = spec.get("type")
        if kind not in ORDER_TYPES:
            raise Refusal("INVALID_ORDER_TYPE", f"Invalid value specified for 'order.type': {kind!r}")
        name = spec.get("instrument")
        if not name:
            raise Refusal("INSTRUMENT_MISSING")
        if name not in self.specs:
            raise Refusal("INSTRUMENT_UNKNOWN")
        instrument = self.specs[name]
        raw_units = spec.get("units")
        if raw_units is None:
            raise Refusal("UNITS_MISSING")
        try:
            units = Decimal(str(raw_units))
        except InvalidOperation:
            raise Refusal("UNITS_INVALID") from None
        if not units.is_finite() or units == 0:
            raise Refusal("UNITS_INVALID")
        if -units.normalize().as_tuple().exponent > instrument.trade_units_precision:  # type: ignore[operator]
            raise Refusal("UNITS_PRECISION_EXCEEDED")
        if abs(units) < instrument.minimum_trade_size:
            raise Refusal("UNITS_MIMIMUM_NOT_MET")
        if abs(units) > instrument.maximum_order_units:
            raise Refusal("UNITS_LIMIT_EXCEEDED")
        if kind != "MARKET":
            self._price(spec.get("price"), instrument, "PRICE")
        elif "price" in spec:
            raise Refusal("PRICE_INVALID", "A Market Order takes no price; use priceBound")
        if spec.get("priceBound") is not None:
            if kind == "LIMIT":
                raise Refusal("PRICE_BOUND_INVALID", "A Limit Order takes no priceBound")
            self._price(spec["priceBound"], instrument, "PRICE_BOUND")
        tif = spec.get("timeInForce", DEFAULT_TIME_IN_FORCE[kind])
        if tif not in TIME_IN_FORCE[kind]:
            raise Refusal("TIME_IN_FORCE_INVALID")
        if tif == "GTD":
            gtd = spec.get("gtdTime")
            if not gtd:
                raise Refusal("TIME_IN_FORCE_GTD_TIMESTAMP_MISSING")
            when = parse_time(gtd)
            if when is None or when <= self.engine.now():
                raise Refusal("TIME_IN_FORCE_GTD_TIMESTAMP_IN_PAST")
        fill = spec.get("positionFill", "DEFAULT")
        if fill not in POSITION_FILLS or fill == "OPEN_ONLY":  # OPEN_ONLY needs a hedging account
            raise Refusal("ORDER_FILL_POSITION_ACTION_INVALID")
        if fill == "REDUCE_ONLY":
            net = self.ledger.net_units(name)
            if net == 0 or (net > 0) == (units > 0) or abs(units) > abs(net):
                raise Refusal(
                    "ORDER_FILL_POSITION_ACTION_INVALID", "A REDUCE_ONLY Order must reduce the Position"
                )
        if spec.get("triggerCondition", "DEFAULT") not in TRIGGER_CONDITIONS:
            raise Refusal("TRIGGER_CONDITION_INVALID")
        client = (spec.get("clientExtensions") or {}).get("id")
        if client is not None:
            if not isinstance(client, str) or not client or len(client) > 128:
                raise Refusal("CLIENT_ORDER_ID_INVALID")
            holder = self.by_client.get(client)
            if holder is not None and (replacing is None or holder != replacing.id):
                raise Refusal("CLIENT_ORDER_ID_ALREADY_EXISTS")
        try:
            check_on_fill(spec, instrument, lambda client: client in self.by_client)
        except OnFillRefusal as refusal:
            raise Refusal(refusal.reason, str(refusal)) from None
        return kind, units

    @staticmethod
    def _price(value: Any, instrument: InstrumentSpec, field_name: str) -> Decimal:
        try:
            return checked_number(value, instrument, field_name)
        except OnFillRefusal as refusal:
            raise Refusal(refusal.reason) from None

    # --- orders: creating, cancelling, replacing ---------------------------------------------------------
    def create(
        self,
        spec: dict[str, Any],
        batch: Batch,
        *,
        replaces: FakeOrder | None = None,
        reason: str = "CLIENT_ORDER",
        extra: dict[str, Any] | None = None,
        close_trade: str | None = None,
    ) -> tuple[dict[str, Any], dict[str, Any] | None, dict[str, Any] | None]:
        """Create an order from a checked request and let it meet the market.

        Returns its creation transaction, and the fill and cancel transactions that happened at once.
        """
        kind, units = self._check(spec, replacing=replaces)
        name = spec["instrument"]
        tif = spec.get("timeInForce", DEFAULT_TIME_IN_FORCE[kind])
        fields: dict[str, Any] = {
            "instrument": name,
            "units": text(units),
            "timeInForce": tif,
            "positionFill": spec.get("positionFill", "DEFAULT"),
        }
        for key in ("price", "priceBound", "gtdTime"):
            if spec.get(key) is not None:
                fields[key] = spec[key]
        if kind != "MARKET":
            fields["triggerCondition"] = spec.get("triggerCondition", "DEFAULT")
        for key in (
            "clientExtensions",
            "tradeClientExtensions",
            "takeProfitOnFill",
            "stopLossOnFill",
            "trailingStopLossOnFill",
        ):
            if spec.get(key):
                fields[key] = spec[key]
        fields["reason"] = reason
        if replaces is not None:
            fields["replacesOrderID"] = replaces.id
            fields["cancellingTransactionID"] = replaces.data.get("cancellingTransactionID")
        created = self.record(batch, CREATE_TYPE[kind], **fields, **(extra or {}))
        data = {
            "id": created["id"],
            "createTime": created["time"],
            "state": "PENDING",
            "type": kind,
            **{k: v for k, v in fields.items() if k not in ("reason", "cancellingTransactionID")},
        }
        order = FakeOrder(
            data,
            symbol_of(name),
            units,
            close_trade=close_trade,
            trade_extensions=spec.get("tradeClientExtensions"),
            gtd=parse_time(spec.get("gtdTime")),
            fill_reason=f"MARKET_ORDER_{reason}" if reason in ("TRADE_CLOSE", "POSITION_CLOSEOUT") else None,
        )
        self._track(order)
        client = (spec.get("clientExtensions") or {}).get("id")
        if client:
            self.by_client[client] = order.id
        fill = cancel = None
        if kind == "MARKET" and not self.tradeable():
            cancel = self._cancelled(order, "MARKET_HALTED", batch)
        elif kind == "MARKET" and self._margin_short(name, units):
            cancel = self._cancelled(order, "INSUFFICIENT_MARGIN", batch)
        else:
            for report in self.engine.submit(self._engine_order(order)):
                made = self._apply(order, report, batch)
                if made is not None and made["type"] == "ORDER_FILL" and fill is None:
                    fill = made
                elif made is not None and made["type"] == "ORDER_CANCEL":
                    cancel = made
        return created, fill, cancel

    def _margin_short(self, name: str, units: Decimal) -> bool:
        marks = self.marks()
        if name not in marks.prices:
            return False
        net = self.ledger.net_units(name)
        more = self.ledger.margin_for(name, net + units, marks) - self.ledger.margin_for(name, net, marks)
        return more > 0 and more > self.margin_available(marks)

    def _engine_order(self, order: FakeOrder) -> Order:
        data = order.data
        kind, tif = data["type"], data["timeInForce"]
        price = Decimal(data["price"]) if "price" in data else None
        bound = Decimal(data["priceBound"]) if "priceBound" in data else None
        limit = stop = None
        if kind == "MARKET":
            order_type = OrderType.MARKET if bound is None else OrderType.LIMIT
            limit = bound
        elif kind in ("LIMIT", "MARKET_IF_TOUCHED", "TAKE_PROFIT"):
            order_type, limit = OrderType.LIMIT, price
        elif kind == "TRAILING_STOP_LOSS":
            order_type = OrderType.TRAILING_STOP
        else:
            order_type, stop = (OrderType.STOP, price) if bound is None else (OrderType.STOP_LIMIT, price)
            limit = bound
        now = self.engine.now()
        return Order(
            order_id=order.id,
            symbol=order.symbol,
            side=Side.BUY if order.units > 0 else Side.SELL,
            quantity=abs(order.units),
            order_type=order_type,
            time_in_force=ENGINE_TIF[tif],
            status=OrderStatus.PENDING,
            created_at=now,
            updated_at=now,
            limit_price=limit,
            stop_price=stop,
            trail_price=Decimal(data["distance"]) if kind == "TRAILING_STOP_LOSS" else None,
        )

    def _apply(self, order: FakeOrder, report: OrderUpdate, batch: Batch) -> dict[str, Any] | None:
        """What an engine report about ``order`` makes in v20: a fill or a cancel transaction."""
        if isinstance(report, Filled):
            return self._filled(order, report.fill.quantity, report.fill.price, batch)
        if isinstance(report, Expired):
            return self._cancelled(order, "TIME_IN_FORCE_EXPIRED", batch)
        if isinstance(report, Cancelled):
            data = order.data
            bound = data.get("priceBound")
            reason = "INSUFFICIENT_LIQUIDITY"
            if data["type"] == "MARKET" and bound is not None and order.filled == 0:
                quote = self.engine.quote(order.symbol)
                touch = None if quote is None else (quote.ask if order.units > 0 else quote.bid)
                if touch is not None and (
                    touch > Decimal(bound) if order.units > 0 else touch < Decimal(bound)
                ):
                    reason = "BOUNDS_VIOLATION"
            return self._cancelled(order, reason, batch)
        if isinstance(report, Rejected):
            return self._cancelled(order, "MARKET_HALTED", batch)
        return None

    def _engine_report(self, report: OrderUpdate) -> None:
        """News from the engine as its clock moves (resting orders filling, day orders expiring)."""
        order = self.orders.get(report.order_id)
        if order is None or not order.pending:
            return
        self._apply(order, report, self.batch())

    def _filled(self, order: FakeOrder, quantity: Decimal, price: Decimal, batch: Batch) -> dict[str, Any]:
        units = quantity if order.units > 0 else -quantity
        name = instrument_name(order.symbol)
        marks = self.marks()
        fill_id = str(len(self.transactions) + 1)
        when = self.engine.now()
        booked = self.ledger.fill(
            fill_id,
            name,
            units,
            price,
            when,
            marks,
            close_first=order.close_trade,
            trade_extensions=order.trade_extensions,
            add_to=order.trade_opened,
        )
        full = self.price_json(name, marks) or {}
        full_price = {
            k: full[k] for k in ("type", "time", "bids", "asks", "closeoutBid", "closeoutAsk") if k in full
        }
        client = (order.data.get("clientExtensions") or {}).get("id")
        txn = self.record(
            batch,
            "ORDER_FILL",
            orderID=order.id,
            clientOrderID=client,
            instrument=name,
            units=text(units),
            price=text(price),
            fullVWAP=text(price),
            fullPrice=full_price,
            reason=self._fill_reason(order),
            **booked,
        )
        order.filled += quantity
        if order.filled >= abs(order.units):
            data = order.data
            data["state"] = "FILLED"
            self._pending.pop(order.id, None)
            data["fillingTransactionID"] = txn["id"]
            data["filledTime"] = txn["time"]
            if "tradeOpened" in booked:
                data["tradeOpenedID"] = booked["tradeOpened"]["tradeID"]
            if "tradeReduced" in booked:
                data["tradeReducedID"] = booked["tradeReduced"]["tradeID"]
            if "tradesClosed" in booked:
                data["tradeClosedIDs"] = [t["tradeID"] for t in booked["tradesClosed"]]
        self._after_fill(order, booked, txn["id"], batch)
        return txn

    # --- a trade's dependent orders ---------------------------------------------------------------------
    def _after_fill(self, order: FakeOrder, booked: dict[str, Any], fill_id: str, batch: Batch) -> None:
        """What a fill does to trades' own orders: a trade it closed takes them along (LINKED_TRADE_CLOSED),
        one it reduced or added to has them cover its units now, one it opened gets the order's on-fill
        orders (TAKE_PROFIT_ORDER, STOP_LOSS_ORDER, TRAILING_STOP_LOSS_ORDER, in that order)."""
        trades = self.ledger.trades
        for closed in booked.get("tradesClosed", ()):
            self._trade_closed(trades[closed["tradeID"]], batch)
        if "tradeReduced" in booked:
            self._cover(trades[booked["tradeReduced"]["tradeID"]])
        opened = booked.get("tradeOpened")
        if opened is None:
            return
        trade = trades[opened["tradeID"]]
        if order.trade_opened is None:
            order.trade_opened = trade.id
        if trade.dependents:
            self._cover(trade)
            return
        for key, kind in ON_FILL.items():
            details = order.data.get(key)
            if details and trade.open:
                self._dependent(kind, details, trade, fill_id, batch)

    def _dependent(
        self, kind: str, details: dict[str, Any], trade: Trade, fill_id: str, batch: Batch
    ) -> FakeOrder:
        spec = self.specs[trade.instrument]
        fields: dict[str, Any] = {
            "tradeID": trade.id,
            "clientTradeID": (trade.client_extensions or {}).get("id"),
        }
        if kind == "TRAILING_STOP_LOSS":
            fields["distance"] = details["distance"]
        elif kind == "STOP_LOSS" and details.get("price") is None:
            distance = Decimal(str(details["distance"]))
            price = trade.price - distance if trade.units > 0 else trade.price + distance
            fields["price"] = spec.price_text(price)  # from the trade's open price, as v20 places it
            fields["distance"] = details["distance"]
        else:
            fields["price"] = details["price"]
        fields |= {
            "timeInForce": details.get("timeInForce", "GTC"),
            "gtdTime": details.get("gtdTime"),
            "triggerCondition": "DEFAULT",
        }
        extensions = details.get("clientExtensions")
        created = self.record(
            batch,
            f"{kind}_ORDER",
            **fields,
            reason="ON_FILL",
            clientExtensions=extensions,
            orderFillTransactionID=fill_id,
        )
        data: dict[str, Any] = {
            "id": created["id"],
            "createTime": created["time"],
            "state": "PENDING",
            "type": kind,
            **{k: v for k, v in fields.items() if v is not None},
        }
        if extensions:
            data["clientExtensions"] = extensions
        if kind == "TRAILING_STOP_LOSS":
            quote = self.engine.quote(symbol_of(trade.instrument))
            if quote is not None:
                distance = Decimal(str(details["distance"]))
                value = quote.bid - distance if trade.units > 0 else quote.ask + distance
                data["trailingStopValue"] = spec.price_text(value)
        order = FakeOrder(
            data,
            symbol_of(trade.instrument),
            -trade.units,
            close_trade=trade.id,
            gtd=parse_time(details.get("gtdTime")),
        )
        self._track(order)
        client = (extensions or {}).get("id")
        if client:
            self.by_client[client] = order.id
        trade.dependents[TRADE_FIELD[kind]] = order.id
        for report in self.engine.submit(self._engine_order(order)):
            if order.pending:
                self._apply(order, report, batch)
        return order

    def _trade_closed(self, trade: Trade, batch: Batch) -> None:
        for order_id in trade.dependents.values():
            dependent = self.orders[order_id]
            if dependent.pending:
                self.engine.cancel(dependent.id)
                self._cancelled(dependent, "LINKED_TRADE_CLOSED", batch)

    def _cover(self, trade: Trade) -> None:
        """A trade's pending orders close what it holds now (the engine's orders resized to match)."""
        for order_id in trade.dependents.values():
            dependent = self.orders[order_id]
            want = dependent.filled + abs(trade.units)
            if not dependent.pending or want == abs(dependent.units) or not trade.open:
                continue
            dependent.units = want if dependent.units > 0 else -want
            self.engine.replace(dependent.id, ReplaceChange(quantity=want))

    @staticmethod
    def _fill_reason(order: FakeOrder) -> str:
        return order.fill_reason or FILL_REASON.get(order.data["type"], "MARKET_ORDER")

    def _cancelled(
        self, order: FakeOrder, reason: str, batch: Batch, *, replaced_by: str | None = None
    ) -> dict[str, Any]:
        client = (order.data.get("clientExtensions") or {}).get("id")
        txn = self.record(
            batch,
            "ORDER_CANCEL",
            orderID=order.id,
            clientOrderID=client,
            reason=reason,
            replacedByOrderID=replaced_by,
        )
        data = order.data
        data["state"] = "CANCELLED"
        self._pending.pop(order.id, None)
        data["cancellingTransactionID"] = txn["id"]
        data["cancelledTime"] = txn["time"]
        if replaced_by is not None:
            data["replacedByOrderID"] = replaced_by
        return txn

    def _track(self, order: FakeOrder) -> None:
        """Hold a new (pending) order: by id, among the pending, and in expiry order if it has a gtdTime.
        It leaves the pending when it fills or is cancelled (``_filled``, ``_cancelled``)."""
        self.orders[order.id] = order
        self._pending[order.id] = order
        if order.gtd is not None:
            heapq.heappush(self._expiries, (order.gtd, int(order.id), order))

    def find_order(self, specifier: str) -> FakeOrder | None:
        if specifier.startswith("@"):
            found = self.by_client.get(specifier[1:])
            return None if found is None else self.orders.get(found)
        return self.orders.get(specifier)

    def cancel_reject(self, specifier: str, batch: Batch) -> dict[str, Any]:
        order = self.find_order(specifier)
        return self.record(
            batch,
            "ORDER_CANCEL_REJECT",
            orderID=None if order is None else order.id,
            clientOrderID=specifier[1:] if specifier.startswith("@") else None,
            rejectReason="ORDER_DOESNT_EXIST",
        )

    def cancel(self, order: FakeOrder, batch: Batch) -> dict[str, Any]:
        """Cancel a pending order at the client's request."""
        self.engine.cancel(order.id)
        return self._cancelled(order, "CLIENT_REQUEST", batch)

    def replace(self, old: FakeOrder, spec: dict[str, Any], batch: Batch) -> dict[str, Any]:
        """v20's replace: cancel the order and create its replacement, in one batch."""
        self._check(spec, replacing=old)
        self.engine.cancel(old.id)
        next_id = str(len(self.transactions) + 2)
        cancel = self._cancelled(old, "CLIENT_REQUEST_REPLACED", batch, replaced_by=next_id)
        created, fill, rest = self.create(spec, batch, replaces=old, reason="REPLACEMENT")
        answer = {"orderCancelTransaction": cancel, "orderCreateTransaction": created}
        if fill is not None:
            answer["orderFillTransaction"] = fill
        if rest is not None:
            answer["replacingOrderCancelTransaction"] = rest
        return answer

    def expire_due(self) -> None:
        """Cancel GTD orders whose time has come (the clock moved)."""
        now = self.engine.now()
        due = []
        while self._expiries and self._expiries[0][0] <= now:
            order = heapq.heappop(self._expiries)[2]
            if order.pending:
                due.append(order)
        due.sort(key=lambda o: int(o.id))  # oldest first, as they were created
        for order in due:
            self.engine.cancel(order.id)
            self._cancelled(order, "TIME_IN_FORCE_EXPIRED", self.batch())

    def rollover(self) -> dict[str, Any] | None:
        """The day's financing of open trades, as a DAILY_FINANCING transaction (None if nothing is open)."""
        marks = self.marks()
        positions = self.ledger.finance(marks, self.financing_rates)
        if not positions:
            return None
        total = sum((Decimal(p["financing"]) for p in positions), ZERO)
        return self.record(
            self.batch(),
            "DAILY_FINANCING",
            financing=money(total),
            accountBalance=money(self.ledger.balance),
            accountFinancingMode="DAILY",
            positionFinancings=positions,
        )

    # --- closing trades and positions ---------------------------------------------------------------------
    def close_units(
        self,
        name: str,
        units: Decimal,
        batch: Batch,
        *,
        extra: dict[str, Any],
        close_trade: str | None = None,
    ) -> tuple[dict[str, Any], dict[str, Any] | None, dict[str, Any] | None]:
        """A market order (FOK) that closes ``units`` (signed: the order's side) of trades or a position."""
        spec = {
            "type": "MARKET",
            "instrument": name,
            "units": text(units),
            "timeInForce": "FOK",
            "positionFill": "REDUCE_ONLY",
        }
        reason = "TRADE_CLOSE" if close_trade is not None else "POSITION_CLOSEOUT"
        return self.create(spec, batch, reason=reason, extra=extra, close_trade=close_trade)

    # --- what the account looks like -------------------------------------------------------------------
    def margin_available(self, marks: Marks | None = None) -> Decimal:
        totals = self.ledger.totals(marks or self.marks())
        return max(totals["nav"] - totals["margin_used"], ZERO)

    @staticmethod
    def order_json(order: FakeOrder) -> dict[str, Any]:
        return dict(order.data)

    def pending_orders(self) -> list[FakeOrder]:
        """The pending orders, newest first."""
        return list(reversed(self._pending.values()))

    def summary(self) -> dict[str, Any]:
        marks = self.marks()
        totals = self.ledger.totals(marks)
        nav, used = totals["nav"], totals["margin_used"]
        ratio = Decimal("0.00001")
        closeout = (used / 2 / nav).quantize(ratio) if nav > 0 else Decimal(0)
        call = (used / nav).quantize(ratio) if nav > 0 else Decimal(0)
        ledger = self.ledger
        open_positions = sum(1 for name in ledger.books if ledger.net_units(name) != 0)
        data = {
            "id": self.id,
            "alias": self.alias,
            "currency": self.currency,
            "balance": money(ledger.balance),
            "createdByUserID": self.user_id,
            "createdTime": format_time(self.created),
            "guaranteedStopLossOrderMode": "DISABLED",
            "pl": money(ledger.pl),
            "resettablePL": money(ledger.pl),
            "resettablePLTime": "0",
            "financing": money(ledger.financing),
            "commission": money(ledger.commission),
            "guaranteedExecutionFees": money(ZERO),
            "marginRate": text(self.margin_rate),
            "openTradeCount": len(ledger.open),
            "openPositionCount": open_positions,
            "pendingOrderCount": len(self._pending),
            "hedgingEnabled": False,
            "unrealizedPL": money(totals["unrealized"]),
            "NAV": money(nav),
            "marginUsed": money(used),
            "marginAvailable": money(max(nav - used, ZERO)),
            "positionValue": money(totals["position_value"]),
            "marginCloseoutUnrealizedPL": money(totals["unrealized"]),
            "marginCloseoutNAV": money(nav),
            "marginCloseoutMarginUsed": money(used),
            "marginCloseoutPercent": text(closeout),
            "marginCloseoutPositionValue": money(totals["position_value"]),
            "withdrawalLimit": money(max(nav - used, ZERO)),
            "marginCallMarginUsed": money(used),
            "marginCallPercent": text(call),
            "lastTransactionID": self.last_id,
        }
        if ledger.last_fill_time is not None:
            data["lastOrderFillTimestamp"] = format_time(ledger.last_fill_time)
        return data

    def trade_jsons(
        self, trades: Iterable[Trade], marks: Marks | None = None, *, summary: bool = False
    ) -> list[dict[str, Any]]:
        marks = marks or self.marks()
        trades = list(trades)
        full = None
        if not summary:  # the trades' own orders, in full
            held = (self.orders.get(i) for t in trades for i in t.dependents.values())
            full = {o.id: self.order_json(o) for o in held if o is not None}
        return [self.ledger.trade_json(t, marks, full) for t in trades]

    def positions_json(self, *, open_only: bool) -> list[dict[str, Any]]:
        marks = self.marks()
        names = [n for n in self.ledger.books if not open_only or self.ledger.net_units(n) != 0]
        return [self.ledger.position_json(n, marks) for n in names]

    def find_trade(self, specifier: str) -> Trade | None:
        if specifier.startswith("@"):
            return self.ledger.by_client(specifier[1:])
        return self.ledger.trades.get(specifier)
