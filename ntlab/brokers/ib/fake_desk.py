"""The fake TWS's order desk: IB orders on the kit's matching engine, and the news TWS sends about them.

Each IB order (client id, order id, permId) is one engine order. What the engine reports becomes TWS's
messages, in TWS's order: openOrder and orderStatus for an accepted order, then for each execution
execDetails, orderStatus and commissionReport; error 202 and orderStatus Cancelled for a cancel; error 201 and
orderStatus Inactive for a refusal.

IB's own ways of tying orders together map onto the engine's: a trailing order (``TRAIL``) is the engine's
trailing stop; a bracket (a parent sent with ``transmit`` off, then a take-profit limit and a stop-loss with
``parentId``, the last one transmitting the lot) is the engine's bracket, its children the entry's legs
(held until the parent fills, one cutting the other). Orders that share an ``ocaGroup`` are the desk's own
bookkeeping on the engine's cancel and replace: a fill cancels the others (``ocaType`` 1) or reduces them
(2 and 3), as TWS does.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from ntlab.brokers.ib import fake_messages as msg
from ntlab.brokers.ib.fake_account import INITIAL, MAINTENANCE, Account
from ntlab.brokers.ib.fake_catalog import Catalog, ContractSpec
from ntlab.brokers.ib.fake_orders import PlaceOrder, TwsExecution, TwsOrder, order_commission
from ntlab.brokers.ib.fake_rules import (
    CANCELLED,
    CANNOT_MODIFY_FILLED,
    DUPLICATE_ID,
    ENGINE_TIF,
    ENGINE_TYPE,
    HELD_TYPES,
    MISMATCH,
    NEEDS_LIMIT,
    NEEDS_STOP,
    OFF_TICK,
    REJECTED,
    STOPS,
    ZERO_SIZE,
    Refusal,
    check_order,
    check_shape,
)
from ntlab.brokers.ib.fake_session import Session
from ntlab.brokers.ib.wire import text, tws_time
from ntlab.core.enums import Liquidity, OrderClass, OrderStatus, OrderType, Side, TimeInForce
from ntlab.core.instruments import AssetKind
from ntlab.core.legs import STOP_LOSS, TAKE_PROFIT, leg_id
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
BRACKET_SHAPE = (
    "this TWS takes a bracket of one take-profit limit and one stop-loss (stop or stop limit) on the other "
    "side, for the parent's quantity"
)


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
        self.by_key: dict[str, TwsOrder] = {}  # the engine's id -> order
        self.by_client: dict[tuple[int, int], int] = {}  # (clientId, orderId) -> permId
        self.max_ids: dict[int, int] = {}  # clientId -> highest order id it used
        self.executions: list[TwsExecution] = []
        self.oca_filled: dict[tuple[int, str], Decimal] = {}  # what each OCA group has executed so far
        self._perm_ids = itertools.count(1_604_102_001)
        self._exec_seq = itertools.count(0xE0D5_0001)
        # faults an IB client meets (see FakeTWS for how tests set them)
        self.execution_delay = 0.0
        self.duplicate_executions = 0
        self.withhold_commissions = 0
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

    def stop_of(self, order: TwsOrder) -> Decimal | None:
        """Where an order's stop is now (a trailing stop's moves with the market)."""
        if order.trailing:
            view = self.engine.order(order.key)
            return None if view is None else view.stop_price
        return order.aux_price

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
        parent = self.find(client_id, p.parent_id) if p.parent_id else None
        try:
            spec = check_order(p, self.catalog, self.account, self.mark, self.reject_next)
            if p.parent_id and (parent is None or parent.transmitted or parent.done):
                why = (
                    "the parent order was not found"
                    if parent is None
                    else "the parent is already transmitted"
                )
                raise Refusal(201, REJECTED + why)
        except Refusal as refusal:
            session.event(msg.error(p.order_id, refusal.code, refusal.text))
            if parent is not None and not parent.transmitted:
                self._refuse_group(parent, refusal.text)
            return
        if p.what_if:
            self._what_if(session, p, spec)
            return
        self.max_ids[client_id] = p.order_id
        order = self._record(client_id, p, spec)
        if parent is not None:
            parent.children.append(order.perm_id)
        if not p.transmit:
            return  # it waits in TWS until the last order of its bracket transmits the lot
        if parent is not None:
            self._transmit(parent)
        elif order.oca_group and not self._joins_group(order):
            return
        else:
            self._submit(order, self._engine_order(order))

    def _joins_group(self, order: TwsOrder) -> bool:
        """A late member of an OCA group that has executed is cut as the others were (or cancelled)."""
        done = self.oca_filled.get((order.client_id, order.oca_group), ZERO)
        if not done:
            return True
        if order.oca_type != 1 and order.quantity > done:
            order.quantity -= done
            return True
        order.status = "PreSubmitted"
        self._news(order)
        self._finish(order, "Cancelled", "its OCA group has already executed")
        return False

    def _record(self, client_id: int, p: PlaceOrder, spec: ContractSpec) -> TwsOrder:
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
            trailing_percent=p.trailing_percent,
            transmitted=p.transmit,
        )
        self.orders[order.perm_id] = order
        self.by_key[order.key] = order
        self.by_client[(client_id, order.order_id)] = order.perm_id
        return order

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
        """The last order of a bracket arrived with transmit set: the parent and its exits go to the engine
        as one bracket (or oto), the children as its legs."""
        children = [self.orders[perm] for perm in parent.children]
        take = [c for c in children if c.order_type == "LMT"]
        stop = [c for c in children if c.order_type in ("STP", "STP LMT")]
        shape_ok = (
            len(take) <= 1
            and len(stop) <= 1
            and len(take) + len(stop) == len(children)
            and all(c.action != parent.action and c.quantity == parent.quantity for c in children)
        )
        if not shape_ok:
            self._refuse_group(parent, REJECTED + BRACKET_SHAPE)
            return
        entry = self._engine_order(parent)
        kind = OrderClass.BRACKET if take and stop else OrderClass.OTO
        entry = entry._replace(
            order_class=kind,
            take_profit=take[0].lmt_price if take else None,
            stop_loss=stop[0].aux_price if stop else None,
            stop_loss_limit=stop[0].lmt_price if stop and stop[0].order_type == "STP LMT" else None,
        )
        parent.transmitted = True
        for child, leg in ((take[0] if take else None, TAKE_PROFIT), (stop[0] if stop else None, STOP_LOSS)):
            if child is not None:
                child.transmitted = True
                del self.by_key[child.key]
                child.engine_key = leg_id(parent.key, leg)
                self.by_key[child.key] = child
        self._submit(parent, entry)

    def _refuse_group(self, parent: TwsOrder, why: str) -> None:
        for order in [parent, *(self.orders[perm] for perm in parent.children)]:
            order.transmitted = True
            self.refuse(order, 201, why)

    def _engine_order(self, order: TwsOrder) -> Order:
        now = self.now()
        kind = ENGINE_TYPE[order.order_type]
        tif = TimeInForce.CLS if order.order_type in ("MOC", "LOC") else ENGINE_TIF[order.tif]
        trailing = kind is OrderType.TRAILING_STOP
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
            limit_price=order.lmt_price if kind in (OrderType.LIMIT, OrderType.STOP_LIMIT) else None,
            stop_price=order.aux_price if kind in (OrderType.STOP, OrderType.STOP_LIMIT) else None,
            trail_price=order.aux_price if trailing and not order.trailing_percent else None,
            trail_percent=order.trailing_percent if trailing else None,
        )

    def _submit(self, order: TwsOrder, engine_order: Order) -> None:
        for report in self.engine.submit(engine_order):
            self._on_report(report)

    # --- what the engine says ------------------------------------------------------------------------------
    def _on_report(self, report: OrderUpdate) -> None:
        order = self.by_key.get(report.order_id)
        if order is not None:
            self._apply(order, report)

    def _apply(self, order: TwsOrder, report: OrderUpdate) -> None:
        if isinstance(report, Accepted):
            if order.parent_id:
                order.status, order.why_held = "PreSubmitted", "child"
            else:
                held = order.order_type in HELD_TYPES or order.tif == "OPG"
                order.status = "PreSubmitted" if held else "Submitted"
            self._news(order)
        elif isinstance(report, Filled):
            self._fill(order, report.fill)
        elif isinstance(report, Replaced):
            if report.quantity is not None and report.quantity != order.quantity:
                order.quantity = report.quantity  # a bracket's exits follow their parent, or are cut
                self._news(order)
        elif isinstance(report, (Cancelled, Expired)):
            self._finish(order, "Cancelled", report.reason or "")
        elif isinstance(report, Rejected):
            self.refuse(order, 201, REJECTED + report.reason)

    def refresh(self, order: TwsOrder) -> TwsOrder:
        """Bring what only the engine knows up to date before the order is shown (a trail's stop now)."""
        if order.trailing and not order.done:
            order.trail_stop_price = self.stop_of(order)
        return order

    def _news(self, order: TwsOrder, *, with_open: bool = True) -> None:
        session = self._session(order.client_id)
        if session is None:
            return
        if with_open:
            session.event(msg.open_order(self.refresh(order)))
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
        order.why_held = ""
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
            withheld = self.withhold_commissions > 0
            if withheld:
                self.withhold_commissions -= 1
            if self.execution_delay > 0:
                for _ in range(copies):
                    session.later(self.execution_delay, details)
                if not withheld:
                    session.later(self.execution_delay, report)
                self._news(order, with_open=done)
            else:
                for _ in range(copies):
                    session.event(details)
                self._news(order, with_open=done)
                if not withheld:
                    session.event(report)
        self._changed(spec)
        if done:
            self._release_children(order)
        if order.oca_group:
            self._oca(order, fill.quantity)

    def _release_children(self, parent: TwsOrder) -> None:
        """The parent filled: the engine lets its exits work; TWS says so (limits Submitted, stops held)."""
        for perm in parent.children:
            child = self.orders[perm]
            if child.why_held == "child" and not child.done:
                child.why_held = ""
                child.status = "PreSubmitted" if child.order_type in STOPS else "Submitted"
                self._news(child, with_open=False)

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

    def refuse(self, order: TwsOrder, code: int, why: str) -> None:
        """TWS refused the order after giving it a permId: error ``code`` then orderStatus Inactive."""
        if order.done:
            return
        order.status = "Inactive"
        order.completed_time = tws_time(self.now())
        order.completed_status = why
        session = self._session(order.client_id)
        if session is not None:
            session.event(msg.error(order.order_id, code, why))
            session.event(msg.order_status(order))

    # --- cancels and changes -------------------------------------------------------------------------------
    def cancel(self, order: TwsOrder, *, requested: bool = True) -> None:
        """A cancel the engine decides (PendingCancel, then Cancelled or 161); untransmitted orders go at once."""
        if order.done:
            return
        if not order.transmitted:
            self._finish(order, "Cancelled", "", requested=requested)
            for perm in order.children:
                self._finish(self.orders[perm], "Cancelled", "", requested=requested)
            return
        previous = order.status
        order.status = "PendingCancel"
        self._news(order, with_open=False)
        for report in self.engine.cancel(order.key):
            target = self.by_key.get(report.order_id)
            if target is not order:
                if target is not None:  # a linked order the engine closed with it
                    self._apply(target, report)
                continue
            if isinstance(report, CancelRejected):
                order.status = previous
                session = self._session(order.client_id)
                if session is not None:
                    words = f"Cancel attempted when order is not in a cancellable state. Order permId ={order.perm_id}"
                    session.event(msg.error(order.order_id, 161, words))
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
        if not order.transmitted or change == ReplaceChange():
            self._take_change(order, p)
            self._news(order)
            return
        for report in self.engine.replace(order.key, change):
            target = self.by_key.get(report.order_id)
            if target is not order:
                if target is not None:
                    self._apply(target, report)
            elif isinstance(report, Replaced):
                self._take_change(order, p)
                self._news(order)
            elif isinstance(report, ReplaceRejected):
                code = 104 if order.status == "Filled" else 201
                words = CANNOT_MODIFY_FILLED if code == 104 else REJECTED + report.reason
                session.event(msg.error(order.order_id, code, words))
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
        check_shape(p)
        for price in (p.lmt_price, p.aux_price):
            if price is not None and price % order.spec.min_tick != 0:
                raise Refusal(110, OFF_TICK)
        if order.trailing and (p.aux_price, p.trailing_percent) != (order.aux_price, order.trailing_percent):
            raise Refusal(105, MISMATCH)  # the engine keeps a trailing stop's trail as placed
        quantity = p.quantity if p.quantity != order.quantity else None
        limit = p.lmt_price if p.order_type in NEEDS_LIMIT and p.lmt_price != order.lmt_price else None
        stop = p.aux_price if p.order_type in NEEDS_STOP and p.aux_price != order.aux_price else None
        return ReplaceChange(quantity, limit, stop)

    def _take_change(self, order: TwsOrder, p: PlaceOrder) -> None:
        order.quantity = p.quantity
        order.lmt_price = p.lmt_price
        if not order.trailing:
            order.aux_price = p.aux_price
        order.order_ref = p.order_ref or order.order_ref

    # --- after each clock step -----------------------------------------------------------------------------
    def step(self) -> None:
        """Stops the market has reached say Submitted (TWS holds a stop PreSubmitted until its trigger)."""
        for order in self.orders.values():
            if (
                order.done
                or order.why_held
                or order.status != "PreSubmitted"
                or order.order_type not in STOPS
            ):
                continue
            stop = self.stop_of(order)
            quote = self.engine.quote(order.spec.ntlab_symbol)
            if stop is None or quote is None:
                continue
            if (quote.ask >= stop) if order.action == "BUY" else (quote.bid <= stop):
                order.status = "Submitted"
                self._news(order, with_open=False)

    def _oca(self, order: TwsOrder, quantity: Decimal) -> None:
        """One fill in an OCA group cancels the others (``ocaType`` 1) or reduces each by what filled."""
        group = (order.client_id, order.oca_group)
        self.oca_filled[group] = self.oca_filled.get(group, ZERO) + quantity
        for other in list(self.orders.values()):
            if other is order or other.done or other.oca_group != order.oca_group:
                continue
            if other.client_id != order.client_id:
                continue
            if order.oca_type == 1:
                self.cancel(other, requested=False)
                continue
            left = other.quantity - quantity
            if left <= other.filled:
                self.cancel(other, requested=False)
            elif not other.transmitted:
                other.quantity = left
            else:
                for report in self.engine.replace(other.key, ReplaceChange(quantity=left)):
                    if isinstance(report, Replaced) and report.order_id == other.key:
                        other.quantity = left
                        self._news(other)
                    elif not isinstance(report, (Replaced, ReplaceRejected)):
                        self._on_report(report)


class _Detached:
    """The session of an API client that is not connected (an external app's order): news goes nowhere."""

    def __init__(self, client_id: int) -> None:
        self.client_id = client_id

    def event(self, fields: msg.Fields) -> None:
        pass

    def send(self, fields: msg.Fields) -> None:
        pass
