"""The fake Binance spot account: orders as Binance keeps them, trades with commissions, balances.

Matching is the kit's engine (:class:`~ntlab.testing.FakeEngine`): each Binance order becomes an engine order
keyed by its ``orderId``; the engine's reports become Binance order states, trades and ``executionReport``
events. Balances follow from the fills (``free`` = total less what open orders lock), so they cannot drift.

Commissions are Binance's default 0.1% of the trade. With ``fees="bnb"`` (BNB burn on, the default) they are
charged in BNB at a 25% discount, at a fixed reference price of BNB (the fake has no BNB market), whenever the
account holds enough BNB; otherwise, as on Binance, in the asset received (the base on a buy, the quote on a
sell).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Literal

from ntlab.brokers.crypto.fake_market import Listing
from ntlab.core.enums import OrderStatus, OrderType, Side, TimeInForce
from ntlab.core.records import Fill, Order
from ntlab.core.reports import Accepted, Cancelled, Expired, Filled, OrderUpdate, Rejected
from ntlab.testing import FakeEngine

EIGHT = Decimal("0.00000001")
ZERO = Decimal(0)
FEE_RATE = Decimal("0.001")
BNB_DISCOUNT = Decimal("0.75")
OPEN = frozenset({"NEW", "PARTIALLY_FILLED", "PENDING_NEW"})

#: Binance order type -> (engine order type, whether it rests on a stop price).
ENGINE_TYPE: dict[str, OrderType] = {
    "MARKET": OrderType.MARKET,
    "LIMIT": OrderType.LIMIT,
    "LIMIT_MAKER": OrderType.LIMIT,
    "STOP_LOSS": OrderType.STOP,
    "STOP_LOSS_LIMIT": OrderType.STOP_LIMIT,
}
ENGINE_TIF = {"GTC": TimeInForce.GTC, "IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK}


class BinanceError(Exception):
    """An error Binance answers with: HTTP status and the ``{"code", "msg"}`` body."""

    def __init__(self, status: int, code: int, msg: str, data: dict[str, Any] | None = None) -> None:
        super().__init__(msg)
        self.status, self.code, self.msg, self.data = status, code, msg, data


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


def wire(value: Decimal) -> str:
    return f"{value.quantize(EIGHT):f}"


@dataclass
class BinanceOrder:
    listing: Listing
    order_id: int
    client_id: str
    side: str
    type: str
    time_in_force: str
    quantity: Decimal
    price: Decimal
    stop_price: Decimal
    time: int
    update_time: int
    status: str = "NEW"
    executed: Decimal = ZERO
    quote_executed: Decimal = ZERO
    working: bool = True
    reference: Decimal = ZERO  # what a market buy's lock is priced at
    trailing_delta: int | None = None  # basis points a trailing STOP_LOSS follows the market by
    cancel_id: str = ""  # the client id of the request that cancelled it (Binance's ``c`` on that event)

    def locks(self) -> tuple[str, Decimal]:
        """The asset and amount this order holds back while open."""
        rest = self.quantity - self.executed
        if self.side == "SELL":
            return self.listing.base, rest
        price = self.price if self.price > 0 else self.reference
        return self.listing.quote, rest * price

    def view(self) -> dict[str, Any]:
        """``GET /api/v3/order``'s fields."""
        return {
            "symbol": self.listing.symbol,
            "orderId": self.order_id,
            "orderListId": -1,
            "clientOrderId": self.client_id,
            "price": wire(self.price),
            "origQty": wire(self.quantity),
            "executedQty": wire(self.executed),
            "cummulativeQuoteQty": wire(self.quote_executed),
            "status": self.status,
            "timeInForce": self.time_in_force,
            "type": self.type,
            "side": self.side,
            "stopPrice": wire(self.stop_price),
            "icebergQty": wire(ZERO),
            "time": self.time,
            "updateTime": self.update_time,
            "isWorking": self.working,
            "workingTime": self.time if self.working else -1,
            "origQuoteOrderQty": wire(ZERO),
            "selfTradePreventionMode": "EXPIRE_MAKER",
        } | ({"trailingDelta": self.trailing_delta, "trailingTime": -1} if self.trailing_delta else {})


@dataclass
class Trade:
    order: BinanceOrder
    trade_id: int
    price: Decimal
    quantity: Decimal
    commission: Decimal
    commission_asset: str
    time: int
    maker: bool

    def view(self) -> dict[str, Any]:
        """``GET /api/v3/myTrades``'s fields."""
        return {
            "symbol": self.order.listing.symbol,
            "id": self.trade_id,
            "orderId": self.order.order_id,
            "orderListId": -1,
            "price": wire(self.price),
            "qty": wire(self.quantity),
            "quoteQty": wire(self.price * self.quantity),
            "commission": wire(self.commission),
            "commissionAsset": self.commission_asset,
            "time": self.time,
            "isBuyer": self.order.side == "BUY",
            "isMaker": self.maker,
            "isBestMatch": True,
        }

    def fill(self) -> dict[str, Any]:
        """An entry of a FULL order reply's ``fills``."""
        return {
            "price": wire(self.price),
            "qty": wire(self.quantity),
            "commission": wire(self.commission),
            "commissionAsset": self.commission_asset,
            "tradeId": self.trade_id,
        }


@dataclass
class Account:
    """One Binance spot account on the engine."""

    engine: FakeEngine
    listings: dict[str, Listing]
    initial: dict[str, Decimal]
    fees: Literal["bnb", "received"] = "bnb"
    bnb_price: Decimal = Decimal("600")
    orders: dict[int, BinanceOrder] = field(default_factory=dict)
    trades: list[Trade] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)  # executionReports waiting to be sent
    _next_order: int = 1_000_000
    _next_trade: int = 500_000

    def __post_init__(self) -> None:
        self._by_engine = {lst.engine_symbol: lst for lst in self.listings.values() if lst.engine_symbol}
        self._totals: dict[str, Decimal] = dict(self.initial)
        self._locked: dict[str, Decimal] = {}
        self._held: dict[int, tuple[str, Decimal]] = {}  # what each open order locks
        self._open_clients: dict[tuple[str, str], int] = {}  # (symbol, client id) -> open order id
        self.engine.on_report(self._later)

    # --- balances (kept as orders and trades change, so a busy book stays cheap) ------------------------
    def totals(self) -> dict[str, Decimal]:
        return dict(self._totals)

    def locked(self) -> dict[str, Decimal]:
        return {asset: amount for asset, amount in self._locked.items() if amount}

    def _relock(self, order: BinanceOrder) -> None:
        """Bring what the order locks (and the open client-id index) in line with its state."""
        old = self._held.pop(order.order_id, None)
        if old is not None:
            self._locked[old[0]] -= old[1]
        key = (order.listing.symbol, order.client_id)
        if order.status in OPEN:
            asset, amount = order.locks()
            self._held[order.order_id] = (asset, amount)
            self._locked[asset] = self._locked.get(asset, ZERO) + amount
            self._open_clients[key] = order.order_id
        elif self._open_clients.get(key) == order.order_id:
            del self._open_clients[key]

    def balances(self) -> list[dict[str, str]]:
        totals, locked = self.totals(), self.locked()
        assets = sorted(set(totals) | set(locked))
        return [
            {
                "asset": a,
                "free": wire(totals.get(a, ZERO) - locked.get(a, ZERO)),
                "locked": wire(locked.get(a, ZERO)),
            }
            for a in assets
        ]

    def transfer(self, asset: str, amount: Decimal | int | str) -> None:
        """Move ``amount`` of ``asset`` into the spot wallet (negative: out of it), as a deposit or a
        transfer to another wallet would."""
        change = Decimal(str(amount))
        self.initial[asset] = self.initial.get(asset, ZERO) + change
        self._totals[asset] = self._totals.get(asset, ZERO) + change

    def free(self, asset: str) -> Decimal:
        return self._totals.get(asset, ZERO) - self._locked.get(asset, ZERO)

    # --- orders -----------------------------------------------------------------------------------------
    def find(self, listing: Listing, order_id: int | None, client_id: str | None) -> BinanceOrder | None:
        if order_id is not None:
            found = self.orders.get(order_id)
            return found if found is not None and found.listing is listing else None
        open_id = self._open_clients.get((listing.symbol, client_id or ""))
        if open_id is not None:
            return self.orders[open_id]
        matches = [o for o in self.orders.values() if o.listing is listing and o.client_id == client_id]
        return matches[-1] if matches else None

    def place(self, listing: Listing, p: dict[str, str], now: int) -> tuple[BinanceOrder, list[Trade]]:
        """Check the order as Binance does (filters, then balance), hand it to the engine, book the answer."""
        side, kind = p["side"], p["type"]
        quantity = _decimal(p, "quantity")
        price = _decimal(p, "price") if "price" in p else ZERO
        stop = _decimal(p, "stopPrice") if "stopPrice" in p else ZERO
        tif = p.get("timeInForce", "GTC" if kind in ("LIMIT_MAKER",) else "")
        client_id = p.get("newClientOrderId") or f"fake{self._next_order}"
        quote = self.engine.quote(listing.engine_symbol or "")
        if listing.status != "TRADING" or quote is None:
            raise BinanceError(400, -1013, "Market is closed.")
        if (listing.symbol, client_id) in self._open_clients:
            raise BinanceError(400, -2010, "Duplicate order sent.")
        reference = quote.ask if side == "BUY" else quote.bid
        _check_filters(listing, kind, quantity, price, reference)
        delta = int(p["trailingDelta"]) if p.get("trailingDelta") else None
        if delta is not None:
            if kind != "STOP_LOSS" or stop:
                raise BinanceError(
                    400, -1013, "This fake trails STOP_LOSS orders without an activation price only."
                )
            if not listing.min_trailing <= delta <= listing.max_trailing:
                raise BinanceError(400, -1013, "Filter failure: TRAILING_DELTA")
        elif kind in ("STOP_LOSS", "STOP_LOSS_LIMIT") and (
            (side == "BUY" and stop <= quote.ask) or (side == "SELL" and stop >= quote.bid)
        ):
            raise BinanceError(400, -2010, "Order would trigger immediately.")
        if kind == "LIMIT_MAKER" and (
            (side == "BUY" and price >= quote.ask) or (side == "SELL" and price <= quote.bid)
        ):
            raise BinanceError(400, -2010, "Order would immediately match and take.")
        self._next_order += 1
        order = BinanceOrder(
            listing,
            self._next_order,
            client_id,
            side,
            kind,
            tif,
            quantity,
            price,
            stop,
            now,
            now,
            working=kind not in ("STOP_LOSS", "STOP_LOSS_LIMIT"),
            reference=reference,
            trailing_delta=delta,
        )
        asset, amount = order.locks()
        if self.free(asset) < amount:
            self._next_order -= 1
            raise BinanceError(400, -2010, "Account has insufficient balance for requested action.")
        self.orders[order.order_id] = order
        self._relock(order)
        before = len(self.trades)
        self._apply(order, self.engine.submit(self._engine_order(order)), now, immediate=True)
        return order, self.trades[before:]

    def cancel(self, order: BinanceOrder, now: int, request_id: str = "") -> None:
        """Cancel an open order; ``request_id`` is the cancel's own ``newClientOrderId`` (generated if
        empty), which its CANCELED report carries in ``c`` beside the order's own id in ``C``."""
        order.cancel_id = request_id or f"cancel{order.order_id}"
        self._apply(order, self.engine.cancel(str(order.order_id)), now, immediate=True, requested=True)

    def _engine_order(self, order: BinanceOrder) -> Order:
        when = self.engine.now()
        kind = OrderType.TRAILING_STOP if order.trailing_delta else ENGINE_TYPE[order.type]
        market_like = order.type in ("MARKET", "STOP_LOSS")
        return Order(
            order_id=str(order.order_id),
            symbol=order.listing.engine_symbol or "",
            side=Side.BUY if order.side == "BUY" else Side.SELL,
            quantity=order.quantity,
            order_type=kind,
            # a market order keeps taking the touch as it refreshes (the engine's book has no depth to walk)
            time_in_force=TimeInForce.GTC
            if market_like
            else ENGINE_TIF.get(order.time_in_force, TimeInForce.GTC),
            status=OrderStatus.PENDING,
            created_at=when,
            updated_at=when,
            limit_price=order.price if kind in (OrderType.LIMIT, OrderType.STOP_LIMIT) else None,
            stop_price=order.stop_price if kind in (OrderType.STOP, OrderType.STOP_LIMIT) else None,
            post_only=order.type == "LIMIT_MAKER",
            trail_percent=Decimal(order.trailing_delta) / 100 if order.trailing_delta else None,
        )

    # --- the engine's reports -----------------------------------------------------------------------------
    def _later(self, report: OrderUpdate) -> None:
        order = self.orders.get(int(report.order_id)) if report.order_id.isdigit() else None
        if order is not None:
            self._apply(order, [report], wall_ms(), immediate=False)

    def _apply(
        self,
        order: BinanceOrder,
        reports: list[OrderUpdate],
        now: int,
        *,
        immediate: bool,
        requested: bool = False,
    ) -> None:
        for report in reports:
            if isinstance(report, Accepted):
                self._event(order, "NEW", now)
            elif isinstance(report, Filled):
                self._trade(order, report.fill, now)
            elif isinstance(report, Cancelled):
                if order.status not in OPEN:
                    continue
                # a user's cancel is CANCELED; the engine dropping an IOC/FOK/market rest is EXPIRED
                order.status = "CANCELED" if requested else "EXPIRED"
                order.update_time = now
                self._event(order, order.status, now)
            elif isinstance(report, Expired):
                if order.status in OPEN:
                    order.status, order.update_time = "EXPIRED", now
                    self._event(order, "EXPIRED", now)
            elif isinstance(report, Rejected) and order.status in OPEN:
                order.status, order.update_time = "REJECTED", now
                self._event(order, "REJECTED", now, reject=report.reason)
            if not order.working and isinstance(report, Filled):
                order.working = True
            self._relock(order)

    def _trade(self, order: BinanceOrder, fill: Fill, now: int) -> None:
        qty, price = fill.quantity, fill.price
        notional = qty * price
        commission, asset = self._commission(order, qty, notional)
        self._next_trade += 1
        trade = Trade(order, self._next_trade, price, qty, commission, asset, now, fill.liquidity == "maker")
        self.trades.append(trade)
        listing, sign = order.listing, 1 if order.side == "BUY" else -1
        held = self._totals
        held[listing.base] = held.get(listing.base, ZERO) + sign * qty
        held[listing.quote] = held.get(listing.quote, ZERO) - sign * notional
        held[asset] = held.get(asset, ZERO) - commission
        order.executed += qty
        order.quote_executed += notional
        order.status = "FILLED" if order.executed >= order.quantity else "PARTIALLY_FILLED"
        order.update_time = now
        order.working = True
        self._event(order, "TRADE", now, trade=trade)

    def _commission(self, order: BinanceOrder, qty: Decimal, notional: Decimal) -> tuple[Decimal, str]:
        if self.fees == "bnb":
            in_bnb = (notional * FEE_RATE * BNB_DISCOUNT / self.bnb_price).quantize(EIGHT, ROUND_HALF_EVEN)
            if self.free("BNB") >= in_bnb:
                return in_bnb, "BNB"
        if order.side == "BUY":
            return (qty * FEE_RATE).quantize(EIGHT, ROUND_HALF_EVEN), order.listing.base
        return (notional * FEE_RATE).quantize(EIGHT, ROUND_HALF_EVEN), order.listing.quote

    def _event(
        self,
        order: BinanceOrder,
        execution: str,
        now: int,
        *,
        trade: Trade | None = None,
        reject: str | None = None,
    ) -> None:
        """An ``executionReport`` as the user data stream sends it."""
        self.events.append(
            {
                "e": "executionReport",
                "E": now,
                "s": order.listing.symbol,
                # a cancel's report carries the cancel request's own id in c and the order's in C
                "c": order.cancel_id if execution == "CANCELED" else order.client_id,
                "S": order.side,
                "o": order.type,
                "f": order.time_in_force or "GTC",
                "q": wire(order.quantity),
                "p": wire(order.price),
                "P": wire(order.stop_price),
                "F": wire(ZERO),
                "g": -1,
                "C": order.client_id if execution == "CANCELED" else "",
                "x": execution,
                "X": order.status,
                "r": "INSUFFICIENT_BALANCES" if reject else "NONE",
                "i": order.order_id,
                "l": wire(trade.quantity if trade else ZERO),
                "z": wire(order.executed),
                "L": wire(trade.price if trade else ZERO),
                "n": wire(trade.commission) if trade else "0",
                "N": trade.commission_asset if trade else None,
                "T": now,
                "t": trade.trade_id if trade else -1,
                "v": 0,
                "I": order.order_id * 2,
                "w": order.working and order.status in OPEN,
                "m": trade.maker if trade else False,
                "M": False,
                "O": order.time,
                "Z": wire(order.quote_executed),
                "Y": wire(trade.price * trade.quantity if trade else ZERO),
                "Q": wire(ZERO),
                "W": order.time,
                "V": "EXPIRE_MAKER",
            }
        )


def _decimal(p: dict[str, str], name: str) -> Decimal:
    try:
        value = Decimal(p[name])
    except KeyError:
        raise BinanceError(
            400, -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
        ) from None
    except ArithmeticError:
        raise BinanceError(
            400,
            -1100,
            f"Illegal characters found in parameter '{name}'; legal range is '^([0-9]{{1,20}})(\\.[0-9]{{1,20}})?$'.",
        ) from None
    if not value.is_finite():
        raise BinanceError(400, -1100, f"Illegal characters found in parameter '{name}'.")
    return value


def _check_filters(listing: Listing, kind: str, qty: Decimal, price: Decimal, reference: Decimal) -> None:
    """Binance's filter checks, in its order, each failure a -1013 naming the filter."""
    priced = kind not in ("MARKET", "STOP_LOSS")
    if priced and (price < listing.min_price or price > listing.max_price or price % listing.tick != 0):
        raise BinanceError(400, -1013, "Filter failure: PRICE_FILTER")
    if qty < listing.min_qty or qty > listing.max_qty or (qty - listing.min_qty) % listing.step != 0:
        raise BinanceError(400, -1013, "Filter failure: LOT_SIZE")
    if kind in ("MARKET", "STOP_LOSS") and qty > listing.market_max_qty:
        raise BinanceError(400, -1013, "Filter failure: MARKET_LOT_SIZE")
    notional = qty * (price if price > 0 else reference)
    if notional < listing.min_notional or (kind != "MARKET" and notional > listing.max_notional):
        raise BinanceError(400, -1013, "Filter failure: NOTIONAL")
