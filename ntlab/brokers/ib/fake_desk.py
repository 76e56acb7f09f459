"""The fake TWS's order desk: IB orders on the kit's matching engine, and the news TWS sends about them.

Each IB order (client id, order id, permId) is one engine order keyed by its permId. What the engine reports
becomes TWS's messages, in TWS's order: openOrder and orderStatus for an accepted order, then for each
execution execDetails, orderStatus and commissionReport; error 202 and orderStatus Cancelled for a cancel;
error 201 and orderStatus Inactive for a refusal. What the engine has no notion of is the desk's: trailing
stops (a stop whose price the desk moves after the market), orders held until transmitted, bracket children
held until their parent fills, and OCA groups (one fill cancels or reduces the others).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from ntlab.brokers.ib import fake_messages as msg
from ntlab.brokers.ib.fake_account import INITIAL, MAINTENANCE, Account
from ntlab.brokers.ib.fake_catalog import Catalog, ContractSpec
from ntlab.brokers.ib.fake_orders import PlaceOrder, TwsExecution, TwsOrder, order_commission
from ntlab.brokers.ib.fake_session import Session
from ntlab.brokers.ib.wire import text, tws_time
from ntlab.core.enums import Liquidity, OrderStatus, OrderType, Side, TimeInForce
from ntlab.core.instruments import AssetKind
from ntlab.core.lifecycle import ReplaceChange
from ntlab.core.records import Fill, Order
from ntlab.core.reports import (
    Accepted,
    Cancelled,
    CancelRejected,
    Expired,
    Filled,
    OrderUpdate,
    Rejected,
    Replaced,
    ReplaceRejected,
)
from ntlab.testing.engine import FakeEngine

log = logging.getLogger(__name__)

ZERO = Decimal(0)
AVG_PLACES = Decimal("0.0000000001")

#: IB order types the desk takes, and the engine order each becomes.
ENGINE_TYPE: dict[str, OrderType] = {
    "MKT": OrderType.MARKET,
    "LMT": OrderType.LIMIT,
    "STP": OrderType.STOP,
    "STP LMT": OrderType.STOP_LIMIT,
    "TRAIL": OrderType.STOP,
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
HELD_TYPES = frozenset({"STP", "STP LMT", "TRAIL", "MOC", "LOC"})  # PreSubmitted until they can trade
CRYPTO_TYPES = frozenset({"MKT", "LMT"})

# TWS's own words
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


class OrderDesk:
    """Every order of the fake TWS, its executions and the account they move."""

    def __init__(
        self,
        engine: FakeEngine,
        catalog: Catalog,
        account: Account,
        sessions: Callable[[int], Session | None],
        changed: Callable[[ContractSpec], None],
    ) -> None:
        self.engine = engine
        self.catalog = catalog
        self.account = account
        self._session = sessions
        self._changed = changed
        self.orders: dict[int, TwsOrder] = {}  # permId -> order
        self.by_client: dict[tuple[int, int], int] = {}  # (clientId, orderId) -> permId
        self.max_ids: dict[int, int] = {}  # clientId -> highest order id it used
        self.executions: list[TwsExecution] = []
        self._perm_ids = itertools.count(1_604_102_001)
        self._exec_seq = itertools.count(0xE0D5_0001)
        # faults an IB client meets (see FakeTWS for how tests set them)
        self.execution_delay = 0.0
        self.duplicate_executions = 0
        self.reject_next: list[tuple[int, str]] = []
        engine.on_report(self._on_report)

    # --- reading -----------------------------------------------------------------------------------------
    def now(self) -> datetime:
        return self.engine.now()

    def next_id(self, client_id: int) -> int:
        return self.max_ids.get(client_id, 0) + 1

    def find(self, client_id: int, order_id: int) -> TwsOrder | None:
        perm = self.by_client.get((client_id, order_id))
        return None if perm is None else self.orders[perm]

    def mark(self, spec: ContractSpec) -> Decimal | None:
        quote = self.engine.quote(spec.ntlab_symbol)
        return None if quote is None else quote.mid

    # --- new orders ----------------------------------------------------------------------------------------
    def place(self, session: Session, p: PlaceOrder) -> None:
        """A placeOrder: a new order, or a change to a working one with the same (client, order) id."""
        client_id = session.client_id or 0
        existing = self.find(client_id, p.order_id)
        if existing is not None:
            self.modify(session, existing, p)
            return
        if p.order_id <= self.max_ids.get(client_id, 0):
            session.event(msg.error(p.order_id, 103, DUPLICATE_ID))
            return
        try:
            spec = self._validate(p)
        except Refusal as refusal:
            session.event(msg.error(p.order_id, refusal.code, refusal.text))
            return
        if p.what_if:
            self._what_if(session, p, spec)
            return
        self.max_ids[client_id] = p.order_id
        order = TwsOrder(
            perm_id=next(self._perm_ids),
            client_id=client_id,
            order_id=p.order_id,
            spec=spec,
            action=p.action,
            quantity=p.quantity,
            order_type=p.order_type,
            lmt_price=p.lmt_price,
            aux_price=p.aux_price,
            tif=p.tif,
            account=p.account or self.account.name,
            order_ref=p.order_ref,
            created=self.now(),
            oca_group=p.oca_group,
            oca_type=p.oca_type,
            parent_id=p.parent_id,
            outside_rth=p.outside_rth,
            good_till_date=p.good_till_date,
            trail_stop_price=p.trail_stop_price,
            trailing_percent=p.trailing_percent,
            transmitted=p.transmit,
        )
        self.orders[order.perm_id] = order
        self.by_client[(client_id, order.order_id)] = order.perm_id
        parent = self.find(client_id, p.parent_id) if p.parent_id else None
        if parent is not None:
            parent.children.append(order.perm_id)
        if not p.transmit:
            return  # it waits in TWS until an order of its group is transmitted
        if parent is not None and not parent.transmitted:
            self._transmit(parent)
            return
        self._open(order, parent)

    def place_external(
        self, symbol: str, side: str, quantity: Decimal, *, client_id: int, order_ref: str
    ) -> TwsOrder:
        """A market order from another API client (another app on the same account)."""
        spec = self.catalog.by_symbol[symbol]
        order_id = self.next_id(client_id)
        p = PlaceOrder(
            order_id=order_id,
            con_id=spec.con_id,
            symbol=spec.symbol,
            sec_type=spec.sec_type,
            exchange=spec.exchange,
            currency=spec.currency,
            action="BUY" if side == "buy" else "SELL",
            quantity=quantity,
            order_type="MKT",
            lmt_price=None,
            aux_price=None,
            tif="DAY" if spec.kind is not AssetKind.CRYPTO else "IOC",
            oca_group="",
            account=self.account.name,
            order_ref=order_ref,
            transmit=True,
            parent_id=0,
            outside_rth=False,
            good_till_date="",
            oca_type=0,
            trail_stop_price=None,
            trailing_percent=None,
            what_if=False,
            conditions=0,
            cash_qty=None,
        )
        self.place(_Detached(client_id), p)  # type: ignore[arg-type]
        return self.orders[self.by_client[(client_id, order_id)]]

    def _validate(self, p: PlaceOrder) -> ContractSpec:
        spec = self.catalog.find(p.con_id, p.symbol, p.sec_type, p.currency)
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
        if p.tif not in ENGINE_TIF:
            raise Refusal(111, TIF_MISMATCH)
        if p.order_type in ("MOC", "LOC") and p.tif != "DAY":
            raise Refusal(113, DAY_FOR_CLOSE)
        if p.tif == "OPG" and p.order_type not in ("MKT", "LMT"):
            raise Refusal(111, TIF_MISMATCH)
        if p.order_type in HELD_TYPES - {"MOC", "LOC"} and p.tif in ("IOC", "FOK"):
            raise Refusal(111, TIF_MISMATCH)
        if p.order_type in NEEDS_LIMIT and p.lmt_price is None:
            raise Refusal(321, validating("the limit price is missing"))
        if p.order_type in NEEDS_STOP and p.aux_price is None:
            raise Refusal(321, validating("the stop price is missing"))
        if p.order_type == "TRAIL" and p.aux_price is None and p.trailing_percent is None:
            raise Refusal(321, validating("a trailing order needs a trailing amount or percent"))
        for price in (p.lmt_price, p.aux_price, p.trail_stop_price):
            if price is not None and price % spec.min_tick != 0:
                raise Refusal(110, OFF_TICK)
        if spec.kind is AssetKind.CRYPTO:
            if p.order_type not in CRYPTO_TYPES:
                raise Refusal(387, UNSUPPORTED_TYPE)
            if p.order_type == "MKT" and p.tif != "IOC":
                raise Refusal(111, TIF_MISMATCH)
            if p.order_type == "MKT" and p.action == "BUY" and not p.cash_qty:
                raise Refusal(201, REJECTED + "crypto market buys must be sized by cash quantity (cashQty)")
        if self.reject_next:
            code, text = self.reject_next.pop(0)
            raise Refusal(code, text)
        price = p.lmt_price or p.aux_price or self.mark(spec)
        if price is not None:
            side = Side.BUY if p.action == "BUY" else Side.SELL
            quantity = p.quantity or (p.cash_qty or ZERO) / price
            text = self.account.margin_refusal(spec, side, quantity, price, self.mark)
            if text is not None:
                raise Refusal(201, text)
        return spec

    def _what_if(self, session: Session, p: PlaceOrder, spec: ContractSpec) -> None:
        """A what-if order: the margin and commission it would take, nothing placed."""
        price = p.lmt_price or p.aux_price or self.mark(spec) or ZERO
        value = p.quantity * price
        probe = TwsOrder(
            perm_id=0,
            client_id=session.client_id or 0,
            order_id=p.order_id,
            spec=spec,
            action=p.action,
            quantity=p.quantity,
            order_type=p.order_type,
            lmt_price=p.lmt_price,
            aux_price=p.aux_price,
            tif=p.tif,
            account=p.account or self.account.name,
            order_ref=p.order_ref,
            created=self.now(),
            status="PreSubmitted",
        )
        figures = (
            value * INITIAL[spec.kind],
            value * MAINTENANCE[spec.kind],
            order_commission(spec, p.quantity, value),
        )
        session.send(msg.open_order(probe, what_if=figures))

    def _transmit(self, parent: TwsOrder) -> None:
        """The last order of a bracket arrived with transmit set: the parent and its children go live."""
        parent.transmitted = True
        self._open(parent, None)
        for perm in parent.children:
            child = self.orders[perm]
            child.transmitted = True
            if not child.done:
                self._open(child, parent)

    def _open(self, order: TwsOrder, parent: TwsOrder | None) -> None:
        """Give the order to the engine, or hold it as a child until its parent has filled."""
        if parent is not None and parent.status != "Filled":
            order.status, order.why_held = "PreSubmitted", "child"
            self._news(order)
            return
        order.why_held = ""
        if order.trailing:
            order.trail_stop_price = self._trail_stop(order, order.trail_stop_price)
        for report in self.engine.submit(self._engine_order(order)):
            self._apply(order, report)

    def _engine_order(self, order: TwsOrder) -> Order:
        now = self.now()
        kind = ENGINE_TYPE[order.order_type]
        tif = TimeInForce.CLS if order.order_type in ("MOC", "LOC") else ENGINE_TIF[order.tif]
        limit = order.lmt_price if kind in (OrderType.LIMIT, OrderType.STOP_LIMIT) else None
        stop = order.trail_stop_price if order.trailing else order.aux_price
        return Order(
            order_id=order.key,
            symbol=order.spec.ntlab_symbol,
            side=Side.BUY if order.action == "BUY" else Side.SELL,
            quantity=order.quantity,
            order_type=kind,
            time_in_force=tif,
            status=OrderStatus.PENDING,
            created_at=now,
            updated_at=now,
            limit_price=limit,
            stop_price=stop if kind in (OrderType.STOP, OrderType.STOP_LIMIT) else None,
        )

    # --- what the engine says ------------------------------------------------------------------------------
    def _on_report(self, report: OrderUpdate) -> None:
        order = self.orders.get(int(report.order_id)) if report.order_id.isdigit() else None
        if order is not None:
            self._apply(order, report)

    def _apply(self, order: TwsOrder, report: OrderUpdate) -> None:
        if isinstance(report, Accepted):
            held = order.order_type in HELD_TYPES or order.tif == "OPG"
            order.status = "PreSubmitted" if held else "Submitted"
            self._news(order)
        elif isinstance(report, Filled):
            self._fill(order, report.fill)
        elif isinstance(report, (Cancelled, Expired)):
            self._finish(order, "Cancelled", report.reason or "")
        elif isinstance(report, Rejected):
            self.refuse(order, 201, REJECTED + report.reason)

    def _news(self, order: TwsOrder, *, with_open: bool = True) -> None:
        session = self._session(order.client_id)
        if session is None:
            return
        if with_open:
            session.event(msg.open_order(order))
        session.event(msg.order_status(order))

    def _fill(self, order: TwsOrder, fill: Fill) -> None:
        spec = order.spec
        before = order.avg_price * order.filled
        order.filled += fill.quantity
        value = before + fill.price * fill.quantity
        order.avg_price = (value / order.filled).quantize(AVG_PLACES).normalize()
        order.last_fill_price = fill.price
        commission = order_commission(spec, order.filled, value) - order.commission
        order.commission += commission
        realized = self.account.book(spec, fill.side, fill.quantity, fill.price, commission)
        execution = TwsExecution(
            exec_id=f"{next(self._exec_seq):08x}.{order.perm_id & 0xFFFFFFFF:08x}.01.01",
            perm_id=order.perm_id,
            client_id=order.client_id,
            order_id=order.order_id,
            order_ref=order.order_ref,
            spec=spec,
            side="BOT" if fill.side is Side.BUY else "SLD",
            shares=fill.quantity,
            price=fill.price,
            time=fill.time,
            cum_qty=order.filled,
            avg_price=order.avg_price,
            liquidity=1 if fill.liquidity is Liquidity.MAKER else 2,
            commission=commission,
            realized_pnl=realized - commission if realized else None,
        )
        self.executions.append(execution)
        done = order.remaining == 0
        order.status = "Filled" if done else "Submitted"
        if done:
            order.completed_time = tws_time(self.now())
            order.completed_status = f"Filled Size: {text(order.filled)}"
        session = self._session(order.client_id)
        if session is not None:
            details = msg.exec_details(-1, execution, order.account)
            report = msg.commission_report(execution)
            copies = 1
            if self.duplicate_executions > 0:
                self.duplicate_executions -= 1
                copies = 2
            if self.execution_delay > 0:
                for _ in range(copies):
                    session.later(self.execution_delay, details)
                session.later(self.execution_delay, report)
                self._news(order, with_open=done)
            else:
                for _ in range(copies):
                    session.event(details)
                self._news(order, with_open=done)
                session.event(report)
        self._changed(spec)
        if done:
            self._children_go(order)
        self._oca(order, fill.quantity)

    def _finish(self, order: TwsOrder, status: str, reason: str, *, requested: bool = False) -> None:
        if order.done:
            return
        order.status = status
        order.completed_time = tws_time(self.now())
        order.completed_status = "Cancelled by Trader" if requested else (reason or "Cancelled")
        session = self._session(order.client_id)
        if session is not None:
            if requested:
                session.event(msg.error(order.order_id, 202, CANCELLED))
            session.event(msg.order_status(order))
        for perm in order.children:  # attached orders go with their parent
            self.cancel(self.orders[perm], requested=requested)

    def refuse(self, order: TwsOrder, code: int, text: str) -> None:
        """TWS refused the order after giving it a permId: error ``code`` then orderStatus Inactive."""
        order.status = "Inactive"
        order.completed_time = tws_time(self.now())
        order.completed_status = text
        session = self._session(order.client_id)
        if session is not None:
            session.event(msg.error(order.order_id, code, text))
            session.event(msg.order_status(order))

    # --- cancels and changes -------------------------------------------------------------------------------
    def cancel(self, order: TwsOrder, *, requested: bool = True) -> None:
        """A cancel the engine decides (PendingCancel, then Cancelled or 161); held orders go at once."""
        if order.done:
            return
        if not order.transmitted or order.why_held == "child":
            self._finish(order, "Cancelled", "", requested=requested)
            return
        previous = order.status
        order.status = "PendingCancel"
        self._news(order, with_open=False)
        for report in self.engine.cancel(order.key):
            if isinstance(report, CancelRejected):
                order.status = previous
                session = self._session(order.client_id)
                if session is not None:
                    text = f"Cancel attempted when order is not in a cancellable state. Order permId ={order.perm_id}"
                    session.event(msg.error(order.order_id, 161, text))
                    session.event(msg.order_status(order))
            elif isinstance(report, Cancelled):
                self._finish(order, "Cancelled", report.reason or "", requested=requested)
            else:
                self._apply(order, report)

    def modify(self, session: Session, order: TwsOrder, p: PlaceOrder) -> None:
        """A placeOrder for a working order's id: change its quantity and prices in place."""
        try:
            change = self._change(order, p)
        except Refusal as refusal:
            session.event(msg.error(order.order_id, refusal.code, refusal.text))
            return
        if not order.transmitted or order.why_held == "child" or change == ReplaceChange():
            self._take_change(order, p)
            self._news(order)
            return
        for report in self.engine.replace(order.key, change):
            if isinstance(report, Replaced):
                self._take_change(order, p)
                self._news(order)
            elif isinstance(report, ReplaceRejected):
                code = 104 if order.status == "Filled" else 201
                text = CANNOT_MODIFY_FILLED if code == 104 else REJECTED + report.reason
                session.event(msg.error(order.order_id, code, text))
            else:
                self._apply(order, report)

    def _change(self, order: TwsOrder, p: PlaceOrder) -> ReplaceChange:
        if order.status == "Filled":
            raise Refusal(104, CANNOT_MODIFY_FILLED)
        if order.done:
            raise Refusal(103, DUPLICATE_ID)
        same = (p.action, p.order_type) == (order.action, order.order_type)
        if not same or (p.con_id and p.con_id != order.spec.con_id):
            raise Refusal(105, MISMATCH)
        if p.quantity <= 0:
            raise Refusal(434, ZERO_SIZE)
        for price in (p.lmt_price, p.aux_price):
            if price is not None and price % order.spec.min_tick != 0:
                raise Refusal(110, OFF_TICK)
        quantity = p.quantity if p.quantity != order.quantity else None
        limit = p.lmt_price if p.order_type in NEEDS_LIMIT and p.lmt_price != order.lmt_price else None
        stop = None
        if p.order_type in NEEDS_STOP and p.aux_price != order.aux_price:
            stop = p.aux_price
        if order.trailing and (p.aux_price, p.trailing_percent) != (order.aux_price, order.trailing_percent):
            stop = self._trail_stop(_with_trail(order, p), None)
        return ReplaceChange(quantity, limit, stop)

    def _take_change(self, order: TwsOrder, p: PlaceOrder) -> None:
        order.quantity = p.quantity
        order.lmt_price = p.lmt_price
        if order.trailing:
            if (p.aux_price, p.trailing_percent) != (order.aux_price, order.trailing_percent):
                order.aux_price, order.trailing_percent = p.aux_price, p.trailing_percent
                order.trail_stop_price = self._trail_stop(order, None)
        else:
            order.aux_price = p.aux_price
        order.order_ref = p.order_ref or order.order_ref

    # --- what the engine cannot know -------------------------------------------------------------------------
    def _trail_stop(self, order: TwsOrder, current: Decimal | None) -> Decimal | None:
        """The trailing stop's price for the market now: never loosened once set."""
        quote = self.engine.quote(order.spec.ntlab_symbol)
        if quote is None:
            return current
        tick = order.spec.min_tick
        if order.action == "SELL":
            base = quote.bid
            offset = (
                base * order.trailing_percent / 100 if order.trailing_percent else order.aux_price or ZERO
            )
            price = ((base - offset) / tick).to_integral_value(ROUND_FLOOR) * tick
            return price if current is None else max(current, price)
        base = quote.ask
        offset = base * order.trailing_percent / 100 if order.trailing_percent else order.aux_price or ZERO
        price = ((base + offset) / tick).to_integral_value(ROUND_CEILING) * tick
        return price if current is None else min(current, price)

    def step(self) -> None:
        """After each clock step: trailing stops follow the market; stops the market reached say Submitted."""
        for order in list(self.orders.values()):
            if order.done or not order.transmitted or order.why_held:
                continue
            if order.trailing and order.status == "PreSubmitted":
                moved = self._trail_stop(order, order.trail_stop_price)
                if moved is not None and moved != order.trail_stop_price:
                    order.trail_stop_price = moved
                    for report in self.engine.replace(order.key, ReplaceChange(stop_price=moved)):
                        if not isinstance(report, (Replaced, ReplaceRejected)):
                            self._apply(order, report)
            if order.status == "PreSubmitted" and order.order_type in ("STP", "STP LMT", "TRAIL"):
                stop = order.trail_stop_price if order.trailing else order.aux_price
                quote = self.engine.quote(order.spec.ntlab_symbol)
                if stop is not None and quote is not None:
                    reached = quote.ask >= stop if order.action == "BUY" else quote.bid <= stop
                    if reached:
                        order.status = "Submitted"
                        self._news(order, with_open=False)

    def _children_go(self, parent: TwsOrder) -> None:
        for perm in parent.children:
            child = self.orders[perm]
            if child.why_held == "child" and not child.done:
                self._open(child, parent)

    def _oca(self, order: TwsOrder, quantity: Decimal) -> None:
        """One fill in an OCA group (or among a bracket's children) cancels or reduces the others."""
        peers = [
            other
            for other in self.orders.values()
            if other is not order
            and not other.done
            and (
                (order.oca_group and other.oca_group == order.oca_group)
                or (
                    order.parent_id
                    and other.parent_id == order.parent_id
                    and other.client_id == order.client_id
                )
            )
        ]
        for other in peers:
            if order.oca_group and order.oca_type == 1:
                self.cancel(other, requested=False)
                continue
            left = other.quantity - quantity
            if left <= other.filled:
                self.cancel(other, requested=False)
            elif other.why_held == "child" or not other.transmitted:
                other.quantity = left
            else:
                for report in self.engine.replace(other.key, ReplaceChange(quantity=left)):
                    if isinstance(report, Replaced):
                        other.quantity = left
                        self._news(other)
                    elif not isinstance(report, ReplaceRejected):
                        self._apply(other, report)


def _with_trail(order: TwsOrder, p: PlaceOrder) -> TwsOrder:
    """A copy of a trailing order with the trail a change asks for (to price its new stop)."""
    from dataclasses import replace

    return replace(order, aux_price=p.aux_price, trailing_percent=p.trailing_percent, children=[])


class _Detached:
    """The session of an API client that is not connected (an external app's order): news goes nowhere."""

    def __init__(self, client_id: int) -> None:
        self.client_id = client_id

    def event(self, fields: msg.Fields) -> None:
        pass

    def send(self, fields: msg.Fields) -> None:
        pass
