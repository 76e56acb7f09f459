"""The pre-trade risk engine: the rules of :data:`~ntlab.core.risk.rules.RULES` over an exposure tracker.

Interface, in the order a manager uses it:

- ``await risk.prepare(request, cancel)`` before the order is queued: fetches what the check needs from a
  broker that is not local (a quote, the symbol's short-sale flags) and, with ``self_trade='cancel_resting'``,
  cancels your resting orders the new one would cross. Only needed when :attr:`RiskEngine.prepares`.
- ``risk.check(request, quote)`` raises :class:`~ntlab.errors.RiskDenied` with the first failing rule's
  reason, or returns None. It reads only what the tracker already holds (and marks the order's symbol).
- ``risk.accepted(order)`` once the order is taken (it counts toward rates, duplicates and exposure), then
  ``risk.filled(fill)`` and ``risk.finished(order_id)`` as the broker reports. Cancels are never checked.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

from ntlab.core.broker import AssetSource, Broker, NotionalOrders, QuoteSource
from ntlab.core.enums import OrderType, Side
from ntlab.core.models import OrderRequest
from ntlab.core.records import Fill, Order, Quote
from ntlab.core.risk.exposure import ZERO, ExposureTracker, SymbolExposure
from ntlab.core.risk.limits import Effective, RiskLimits, resolve
from ntlab.core.risk.usage import LimitUsage, usage_rows
from ntlab.errors import BrokerError, InvalidOrder, OrderNotCancelable, Reason, RiskDenied, UnknownOrder

log = logging.getLogger(__name__)

_ONE = Decimal(1)
BPS = Decimal(10_000)
_BUY, _LIMIT, _MARKET, _STOP_LIMIT = Side.BUY, OrderType.LIMIT, OrderType.MARKET, OrderType.STOP_LIMIT

DuplicateKey = tuple[str, Side, Decimal, OrderType, Decimal | None, Decimal | None]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


_NANO = Decimal("1e-9")


def _estimate(notional: Decimal, price: Decimal | None) -> Decimal | None:
    """What ``notional`` buys at ``price``, rounded down to 9 decimals; None without a price."""
    if price is None or price <= 0:
        return None
    try:
        return (notional / price).quantize(_NANO, ROUND_DOWN)
    except InvalidOperation:  # more digits than Decimal's precision holds: unrounded then
        return notional / price


class RiskEngine:
    """Pre-trade checks and the exposure they are measured on. Owned by one event loop (the manager's)."""

    def __init__(
        self,
        limits: RiskLimits | None = None,
        *,
        broker: Broker | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.tracker = ExposureTracker()
        self.halted_reason: str | None = None
        self._broker = broker
        self._assets = broker if isinstance(broker, AssetSource) else None
        self._quotes = broker if isinstance(broker, QuoteSource) else None  # protocol checks are slow: once
        self._notional = broker is None or isinstance(broker, NotionalOrders)
        self._clock = clock or (broker.now if broker is not None else _utc_now)
        self._window: deque[float] = deque()  # accepted orders' times (monotonic) in the last second
        self._now = 0.0  # when the last rate check ran: the accepted order's time
        self._key: DuplicateKey | None = None  # the last checked order's duplicate key
        self._symbol_windows: dict[str, deque[float]] = {}
        self._recent: dict[DuplicateKey, datetime] = {}  # duplicate guard: order key -> when it expires
        self._expiries: deque[tuple[datetime, DuplicateKey]] = deque()
        self._sized: Decimal | None = None  # what the last notional order checked buys at its reference
        self.limits = limits or RiskLimits()

    # --- limits ---------------------------------------------------------------------------------------------
    @property
    def limits(self) -> RiskLimits:
        return self._limits

    @limits.setter
    def limits(self, limits: RiskLimits) -> None:
        """Change the limits; they apply from the next order."""
        self._limits = limits
        self._account = resolve(limits)
        self._special = set(limits.symbols) | set(limits.restricted) | set(limits.locates)
        self._resolved: dict[str, Effective] = {}
        broker = self._broker
        cancels = limits.self_trade == "cancel_resting" or any(
            o.self_trade == "cancel_resting"
            for o in limits.symbols.values()
            if "self_trade" in o.model_fields_set
        )
        self.prepares = cancels or (broker is not None and not broker.local)

    def limits_for(self, symbol: str) -> Effective:
        """The limits in force for orders in ``symbol``."""
        found = self._resolved.get(symbol)
        if found is None:
            found = self._resolved[symbol] = (
                resolve(self._limits, symbol) if symbol in self._special else self._account
            )
        return found

    # --- kill switch ----------------------------------------------------------------------------------------
    @property
    def halted(self) -> bool:
        return self.halted_reason is not None

    def halt(self, reason: str = "kill switch engaged") -> None:
        self.halted_reason = reason

    def resume(self) -> None:
        self.halted_reason = None

    # --- before the check: what a remote broker must be asked first ---------------------------------------
    async def prepare(self, request: OrderRequest, cancel: Callable[[str], Awaitable[Any]]) -> None:
        """Fetch what :meth:`check` needs and cannot ask for itself (it does no I/O), and make room for
        the order under ``self_trade='cancel_resting'`` by cancelling what it would cross (with ``cancel``)."""
        symbol = request.symbol
        limits = self.limits_for(symbol)
        broker = self._broker
        if broker is not None and not broker.local:
            quotes = self._quotes
            if limits.reference and quotes is not None and broker.last_quote(symbol) is None:
                try:
                    await quotes.fetch_quote(symbol)
                except BrokerError as error:
                    log.warning("no reference price for %s: %s", symbol, error)
            assets = self._assets
            if (
                assets is not None
                and request.side is Side.SELL
                and limits.locate
                and not limits.located
                and self.tracker.position(symbol) - self._open_sell(symbol) - self._units(request) < 0
                and assets.asset_flags(symbol) is None
            ):
                try:
                    await assets.fetch_asset_flags(symbol)
                except BrokerError as error:
                    log.warning("no short-sale flags for %s: %s", symbol, error)
        if limits.self_trade == "cancel_resting" and request.order_type in (_LIMIT, _MARKET):
            buy = request.side is _BUY
            price = request.limit_price
            if price is None and broker is not None:
                quote = broker.last_quote(symbol)
                price = None if quote is None else (quote.ask if buy else quote.bid)
            for order_id in self.tracker.crossing(symbol, buy, price):
                try:
                    await cancel(order_id)
                except (OrderNotCancelable, UnknownOrder):
                    continue

    def _units(self, request: OrderRequest) -> Decimal:
        """The request's quantity; a notional one's at the broker's last quote (its whole notional's worth
        of units when there is none, so a sale is never thought smaller than it may be)."""
        if request.notional is None:
            return request.quantity
        quote = self._broker.last_quote(request.symbol) if self._broker is not None else None
        price = None if quote is None else quote.ask if request.side is _BUY else quote.bid
        return _estimate(request.notional, price) or request.notional

    def _open_sell(self, symbol: str) -> Decimal:
        found = self.tracker.symbols.get(symbol)
        return found.open_sell if found is not None else ZERO

    # --- the check --------------------------------------------------------------------------------------------
    def check(self, request: OrderRequest, quote: Quote | None) -> None:
        """Raise RiskDenied with the first rule (in table order) the request breaks; ``quote`` is the
        broker's latest for the symbol (None when it has none).

        This runs for every order, so it reads each field once and computes only what a rule that is on
        needs; the rules themselves read as the table lists them.
        """
        if self.halted_reason is not None:
            raise RiskDenied(
                Reason.TRADING_HALTED,
                f"trading is halted ({self.halted_reason}); cancels still pass; resume() to trade again",
            )
        fields = request.__dict__  # one dict read per field: attribute reads on pydantic models cost more
        symbol = fields["symbol"]
        limits = self._resolved.get(symbol) or self.limits_for(symbol)
        if limits.restricted is not None:
            raise RiskDenied(
                Reason.RESTRICTED_SYMBOL,
                f"{symbol} is restricted ({limits.restricted}); no order in it passes until it is taken off "
                "RiskLimits.restricted",
            )
        if limits.rate is not None or limits.symbol_rate is not None:
            self._check_rate(symbol, limits)
        tracker = self.tracker
        side = fields["side"]
        buy = side is _BUY
        kind = fields["order_type"]
        limit_price = fields["limit_price"]
        stop_price = fields["stop_price"]
        quantity = fields["quantity"]

        # reference price, band, stop side
        touch: Decimal | None
        if quote is not None:
            s = tracker.symbols.get(symbol)
            if s is None or s.quote is not quote:
                s = tracker.mark_quote(quote)
            touch = quote.ask if buy else quote.bid  # a buy stop triggers at the ask, a sell stop at the bid
            if limit_price is None:
                reference: Decimal | None = touch
            else:
                band = limits.band
                if band is not None:
                    anchor = stop_price if kind is _STOP_LIMIT else s.mark
                    if anchor is not None:
                        self._check_band(buy, kind, limit_price, anchor, band)
                reference = (limit_price if limit_price > touch else touch) if buy else limit_price
            if (
                stop_price is not None
                and limits.stop_side
                and (stop_price <= touch if buy else stop_price >= touch)
            ):
                self._stop_would_trigger(buy, stop_price, touch)
        else:
            if limits.reference:
                raise RiskDenied(
                    Reason.NO_REFERENCE_PRICE,
                    f"no quote for {symbol} to check the order against, and none could be fetched; wait for "
                    "market data, or set RiskLimits(require_reference_price=False) to send orders unchecked",
                )
            s = tracker.symbols.get(symbol)
            reference = limit_price or stop_price
            touch = None

        notional = fields["notional"]
        if notional is not None:  # an amount of money: checked by it, and by what it buys at the reference
            quantity = self._size_notional(symbol, notional, reference, limits)

        # order size and count
        if limits.notional is not None and reference is not None and quantity * reference > limits.notional:
            raise RiskDenied(
                Reason.MAX_NOTIONAL,
                f"order notional {_money(quantity * reference)} exceeds the limit of "
                f"{_money(limits.notional)}; reduce the quantity or raise RiskLimits.max_order_notional",
            )
        if limits.open_orders is not None and tracker.open_orders >= limits.open_orders:
            raise RiskDenied(
                Reason.MAX_OPEN_ORDERS,
                f"{tracker.open_orders} orders are working, the limit is {limits.open_orders}; cancel some "
                "or raise RiskLimits.max_open_orders",
            )
        if (
            limits.symbol_open_orders is not None
            and s is not None
            and s.open_orders >= limits.symbol_open_orders
        ):
            raise RiskDenied(
                Reason.MAX_OPEN_ORDERS,
                f"{s.open_orders} orders in {symbol} are working, its limit is {limits.symbol_open_orders}; "
                "cancel some or raise its max_open_orders",
            )

        # exposure, worst case: every open buy fills (high), or every open sell does (low)
        if limits.exposure:
            if s is not None:
                position = s.day.quantity
                high = position + s.open_buy
                low = position - s.open_sell
                mark = s.mark if s.mark is not None else reference
            else:
                high = low = ZERO
                mark = reference
            high_size, low_size = abs(high), abs(low)
            worst = high_size if high_size > low_size else low_size
            if buy:
                high_after = high + quantity
                after = abs(high_after)
                worst_after = after if after > low_size else low_size
                reducing = high_after <= 0
                short = False
            else:
                low_after = low - quantity
                after = abs(low_after)
                worst_after = high_size if high_size > after else after
                reducing = low_after >= 0
                short = low_after < 0
            if worst_after > worst:
                if limits.position is not None and worst_after > limits.position:
                    raise RiskDenied(
                        Reason.MAX_POSITION,
                        f"{symbol} worst-case position would be {worst_after} (held {tracker.position(symbol)}, "
                        f"counting working orders) against a limit of ±{limits.position}; reduce the quantity, "
                        "cancel working orders or raise RiskLimits.max_position",
                    )
                if limits.gross is not None or limits.symbol_gross is not None:
                    self._check_gross(symbol, limits, s, mark, worst_after)
            if limits.net is not None or limits.symbol_net is not None:
                self._check_net(symbol, limits, buy, quantity, mark, worst, worst_after)
            if not reducing and limits.loss:
                held = tracker.held
                if held and (len(held) > 1 or symbol not in held):
                    self._mark_held(symbol)
                floor = limits.loss_floor
                if floor is not None and (
                    tracker.loss_halt is not None or tracker.realized + tracker.unrealized <= floor
                ):
                    self._account_loss(limits)
                if limits.symbol_daily_loss is not None and s is not None:
                    self._symbol_loss(symbol, limits, s)
            if short and limits.locate and not limits.located:
                self._check_locate(symbol)

        # self-trade: a limit or market order against your own resting limit on the other side
        if limits.stp and s is not None and (kind is _LIMIT or kind is _MARKET):
            resting = s.asks if buy else s.bids
            if resting:
                best, resting_id = resting[0] if buy else resting[-1]
                price = limit_price if limit_price is not None else touch
                if price is None or (price >= best if buy else price <= best):
                    self._self_trade(side, best, resting_id, limits)

        # duplicates
        if limits.duplicate is not None:
            key = self._key = (symbol, side, quantity, kind, limit_price, stop_price)  # accepted() records it
            if fields["allow_duplicate"]:
                return
            expires = self._recent.get(key)
            if expires is not None and expires > self._clock():
                raise RiskDenied(
                    Reason.DUPLICATE_ORDER,
                    f"the same {side.value} {quantity} {symbol} {kind.value} order was accepted less than "
                    f"{limits.duplicate.total_seconds():g} s ago; send it with allow_duplicate=True if you "
                    "mean both",
                )

    def _size_notional(
        self, symbol: str, notional: Decimal, reference: Decimal | None, limits: Effective
    ) -> Decimal:
        """A notional order's size for the rules: its notional against the order limit, and the quantity it
        buys at the reference price (rounded down, so that quantity is never worth more than the notional)
        for the position and exposure rules. Without a price those rules cannot count it: refused."""
        if not self._notional:
            name = self._broker.name if self._broker is not None else "the broker"
            raise InvalidOrder(
                Reason.NOT_ALLOWED, f"{name} takes no notional orders here; give a quantity instead"
            )
        if limits.notional is not None and notional > limits.notional:
            raise RiskDenied(
                Reason.MAX_NOTIONAL,
                f"order notional {_money(notional)} exceeds the limit of {_money(limits.notional)}; reduce "
                "the notional or raise RiskLimits.max_order_notional",
            )
        self._sized = quantity = _estimate(notional, reference)
        if quantity is None:
            if limits.exposure:
                raise RiskDenied(
                    Reason.NO_REFERENCE_PRICE,
                    f"no price for {symbol} to tell what notional {notional} buys, which the position and "
                    "exposure limits need; wait for a quote, or give a quantity",
                )
            return ZERO
        return quantity

    # The rules' refusals, out of the hot path: each runs only when its rule is on and its numbers say so.
    def _check_band(self, buy: bool, kind: OrderType, price: Decimal, anchor: Decimal, band: Decimal) -> None:
        what = "stop" if kind is _STOP_LIMIT else "mid"
        bps = f"{(band * BPS).normalize():f}"
        if buy and price > anchor * (_ONE + band):
            raise RiskDenied(
                Reason.PRICE_BAND,
                f"buy limit_price {price} is {(price - anchor) / anchor * BPS:.0f} bps over the {what} "
                f"{anchor:f} (band {bps} bps, aggressive side); check for a typo or widen "
                "RiskLimits.price_band_bps",
            )
        if not buy and price < anchor * (_ONE - band):
            raise RiskDenied(
                Reason.PRICE_BAND,
                f"sell limit_price {price} is {(anchor - price) / anchor * BPS:.0f} bps under the {what} "
                f"{anchor:f} (band {bps} bps, aggressive side); check for a typo or widen "
                "RiskLimits.price_band_bps",
            )

    @staticmethod
    def _stop_would_trigger(buy: bool, stop: Decimal, touch: Decimal) -> None:
        if buy:
            raise RiskDenied(
                Reason.STOP_WOULD_TRIGGER,
                f"a buy stop at {stop} is at or under the ask {touch}: it would trigger at once; use a limit "
                "or market order to buy now, or a stop above the ask",
            )
        raise RiskDenied(
            Reason.STOP_WOULD_TRIGGER,
            f"a sell stop at {stop} is at or over the bid {touch}: it would trigger at once; use a limit "
            "or market order to sell now, or a stop under the bid",
        )

    def _check_rate(self, symbol: str, limits: Effective) -> None:
        now = self._now = time.monotonic()
        most = limits.rate
        if most is not None:
            window = self._window
            while window and now - window[0] >= 1.0:
                window.popleft()
            if len(window) >= most:
                raise RiskDenied(
                    Reason.RATE_LIMIT,
                    f"more than {most} orders in one second; slow down or raise RiskLimits.max_orders_per_second",
                )
        most = limits.symbol_rate
        if most is not None:
            window = self._symbol_windows.setdefault(symbol, deque())
            while window and now - window[0] >= 1.0:
                window.popleft()
            if len(window) >= most:
                raise RiskDenied(
                    Reason.RATE_LIMIT,
                    f"more than {most} orders in {symbol} in one second; slow down or raise its "
                    "max_orders_per_second",
                )

    def _check_gross(
        self, symbol: str, limits: Effective, s: SymbolExposure | None, mark: Decimal | None, worst: Decimal
    ) -> None:
        if mark is None:
            self._unvalued(symbol, "gross exposure")
        value = worst * mark  # type: ignore[operator]
        if limits.gross is not None:
            gross = self.tracker.gross - (s.gross if s is not None else ZERO) + value
            if gross > limits.gross:
                raise RiskDenied(
                    Reason.MAX_GROSS_EXPOSURE,
                    f"worst-case gross exposure would be {_money(gross)} against a limit of "
                    f"{_money(limits.gross)}; reduce the quantity or raise RiskLimits.max_gross_exposure",
                )
        if limits.symbol_gross is not None and value > limits.symbol_gross:
            raise RiskDenied(
                Reason.MAX_GROSS_EXPOSURE,
                f"{symbol} worst-case exposure would be {_money(value)} against its limit of "
                f"{_money(limits.symbol_gross)}; reduce the quantity or raise its max_gross_exposure",
            )

    def _check_net(
        self,
        symbol: str,
        limits: Effective,
        buy: bool,
        quantity: Decimal,
        mark: Decimal | None,
        worst: Decimal,
        worst_after: Decimal,
    ) -> None:
        if mark is None:
            self._unvalued(symbol, "net exposure")
        tracker = self.tracker
        most = limits.net
        if most is not None:
            high, low = tracker.long_value, tracker.short_value
            if buy:
                high_after = abs(high + quantity * mark)  # type: ignore[operator]
                low_after = abs(low)
            else:
                high_after = abs(high)
                low_after = abs(low - quantity * mark)  # type: ignore[operator]
            net_after = high_after if high_after > low_after else low_after
            if net_after > most and net_after > max(abs(high), abs(low)):
                raise RiskDenied(
                    Reason.MAX_NET_EXPOSURE,
                    f"worst-case net exposure would be {_money(net_after)} against a limit of {_money(most)}; "
                    "reduce the quantity, trade the other side or raise RiskLimits.max_net_exposure",
                )
        most = limits.symbol_net
        if most is not None and worst_after > worst and worst_after * mark > most:  # type: ignore[operator]
            raise RiskDenied(
                Reason.MAX_NET_EXPOSURE,
                f"{symbol} worst-case exposure would be {_money(worst_after * mark)} against its limit of "  # type: ignore[operator]
                f"{_money(most)}; reduce the quantity or raise its max_net_exposure",
            )

    def _self_trade(self, side: Side, best: Decimal, resting_id: str, limits: Effective) -> None:
        pending = (
            " (its cancel is pending: try again once it is cancelled)"
            if limits.self_trade == "cancel_resting"
            else "; cancel it first, or set RiskLimits(self_trade='cancel_resting')"
        )
        other = "sell" if side is _BUY else "buy"
        raise RiskDenied(
            Reason.SELF_TRADE,
            f"this {side.value} would cross your own resting {other} {resting_id} at {best}{pending}",
        )

    def _mark_held(self, symbol: str) -> None:
        """Mark every other held symbol at the broker's latest quote (kept by the broker, no I/O), so the
        day's P&L is marked to the market, not to the last order in each symbol."""
        broker = self._broker
        if broker is None:
            return
        tracker = self.tracker
        for held in tracker.held:
            if held != symbol:
                quote = broker.last_quote(held)
                if quote is not None and quote is not tracker.symbols[held].quote:
                    tracker.mark_quote(quote)

    def _account_loss(self, limits: Effective) -> None:
        tracker = self.tracker
        if tracker.loss_halt is None:
            tracker.loss_halt = (
                f"the day's P&L reached {_money(tracker.pnl)} against a loss limit of "
                f"{_money(limits.daily_loss)}"  # type: ignore[arg-type]
            )
        raise RiskDenied(
            Reason.DAILY_LOSS_LIMIT,
            f"{tracker.loss_halt}: only orders that reduce a position pass until the day ends",
        )

    def _symbol_loss(self, symbol: str, limits: Effective, s: SymbolExposure) -> None:
        most = limits.symbol_daily_loss
        assert most is not None
        if s.loss_halt is None and s.pnl <= -most:
            s.loss_halt = (
                f"{symbol}'s P&L today reached {_money(s.pnl)} against its loss limit of {_money(most)}"
            )
        if s.loss_halt is not None:
            raise RiskDenied(
                Reason.DAILY_LOSS_LIMIT,
                f"{s.loss_halt}: only orders that reduce the {symbol} position pass until the day ends",
            )

    def _check_locate(self, symbol: str) -> None:
        assets = self._assets
        flags = assets.asset_flags(symbol) if assets is not None else None
        if flags is None:
            raise RiskDenied(
                Reason.NO_LOCATE,
                f"this sale would leave you short {symbol}, and the broker has not said it can be borrowed; "
                "add it to RiskLimits.locates once you have a locate",
            )
        if not (flags.shortable and flags.easy_to_borrow):
            why = "not shortable" if not flags.shortable else "hard to borrow"
            raise RiskDenied(
                Reason.NO_LOCATE,
                f"this sale would leave you short {symbol}, which the broker says is {why}; sell no more than "
                "you hold, or add it to RiskLimits.locates once you have a locate",
            )

    def _unvalued(self, symbol: str, what: str) -> None:
        raise RiskDenied(
            Reason.NO_REFERENCE_PRICE,
            f"no price for {symbol} to value its {what} at; wait for a quote or give a limit price",
        )

    # --- feeding the tracker --------------------------------------------------------------------------------
    def accepted(self, order: Order) -> None:
        """The order passed :meth:`check` and is being sent: it counts toward rates, duplicates and exposure."""
        symbol = order.symbol
        limits = self._resolved.get(symbol) or self.limits_for(symbol)
        if limits.rate is not None or limits.symbol_rate is not None:
            now = self._now  # the time its check read
            self._window.append(now)
            if limits.symbol_rate is not None:
                self._symbol_windows.setdefault(symbol, deque()).append(now)
        if limits.duplicate is not None:
            now_dt = self._clock()
            expires = now_dt + limits.duplicate
            key = self._key  # the check just built it for this order
            if key is None or key[0] != symbol:
                key = (
                    symbol,
                    order.side,
                    order.quantity,
                    order.order_type,
                    order.limit_price,
                    order.stop_price,
                )
            self._key = None
            self._recent[key] = expires
            expiries = self._expiries
            expiries.append((expires, key))
            while expiries[0][0] <= now_dt:
                old, old_key = expiries.popleft()
                if self._recent.get(old_key) == old:
                    del self._recent[old_key]
        if order.quantity:
            self.working(order)
        else:  # a notional order, until its broker sizes it: what its check estimated
            self.working(order, self._sized)

    def working(self, order: Order, remaining: Decimal | None = None) -> None:
        """An order is working for ``remaining`` (all of it when None): one just accepted, adopted from the
        broker or restored from the journal."""
        kind = order.order_type
        self.tracker.working(
            order.order_id,
            order.symbol,
            order.side,
            order.quantity if remaining is None else remaining,
            order.limit_price if kind is _LIMIT else None,
            order.limit_price or order.stop_price,
        )

    def filled(self, fill: Fill) -> None:
        self.tracker.filled(
            fill.order_id, fill.symbol, fill.side, fill.quantity, fill.price, fill.fee, fill.time
        )

    def finished(self, order_id: str) -> None:
        self.tracker.finished(order_id)

    def mark(self, quote: Quote) -> None:
        self.tracker.mark_quote(quote)

    def restore(self, fills: Iterable[Fill], orders: Iterable[Any]) -> None:
        """Rebuild exposure after a restart: the session's fills (positions and the day's P&L), then its open
        orders with what remains of them (objects with the order fields plus ``status`` and
        ``filled_quantity``)."""
        for fill in fills:
            self.filled(fill)
        for order in orders:
            if order.status.is_open:
                self.working(order, order.quantity - order.filled_quantity)

    # --- what is used of each limit -------------------------------------------------------------------------
    def usage(self, quotes: Callable[[str], Quote | None] | None = None) -> list[LimitUsage]:
        """Every limit beside its current usage, account first, then per symbol (symbols with a position,
        working orders or limits of their own). ``quotes`` (``broker.last_quote``) re-marks them first."""
        if quotes is not None:
            for symbol in list(self.tracker.symbols):
                quote = quotes(symbol)
                if quote is not None:
                    self.tracker.mark_quote(quote)
        return usage_rows(self)

    def orders_last_second(self, symbol: str | None = None) -> int:
        """Accepted orders in the last second (of ``symbol``, when its own rate limit is set)."""
        window = self._window if symbol is None else self._symbol_windows.get(symbol, ())
        now = time.monotonic()
        return sum(1 for t in window if now - t < 1.0)
