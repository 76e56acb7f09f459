"""Property tests: random sequences of orders, fills and cancels against the engine, checked against a
brute-force model that recomputes every exposure from scratch.

- worst-case exposure (position, gross, net) never passes a limit;
- the tracker's incremental figures always equal the model's;
- an order that raises no exposure always passes the exposure rules, and a reduce-only order always passes
  the position, gross and daily-loss rules (closing a hedge may still raise net exposure: see
  test_risk_rules.test_11);
- cancels always pass: through the OrderManager, whatever the limits, the loss halt or the kill switch.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ntlab.core import OrderManager, OrderRequest
from ntlab.core.risk import RiskLimits
from ntlab.errors import OrderDenied, Reason, RiskDenied
from tests.core.brokers import ScriptedVenue
from tests.core.risk_helpers import Desk, engine, quote, req

MARKS = {"AAA": Decimal(100), "BBB": Decimal(50)}
QUOTES = {s: quote(str(m - Decimal("0.01")), str(m + Decimal("0.01")), s) for s, m in MARKS.items()}
LIMITS = {
    "max_position": Decimal(100),
    "max_gross_exposure": Decimal(9_000),
    "max_net_exposure": Decimal(6_000),
    "max_daily_loss": Decimal(150),
    "max_order_notional": None,
    "price_band_bps": None,
    "duplicate_window": None,
    "self_trade": "off",
}
EXPOSURE = {Reason.MAX_POSITION, Reason.MAX_GROSS_EXPOSURE, Reason.MAX_NET_EXPOSURE}
REDUCING_PASSES = {Reason.MAX_POSITION, Reason.MAX_GROSS_EXPOSURE, Reason.DAILY_LOSS_LIMIT}


@dataclass
class Model:
    """What the book holds, recomputed from scratch every time it is asked."""

    position: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(MARKS, Decimal(0)))
    working: dict[str, tuple[str, bool, Decimal]] = field(
        default_factory=dict
    )  # id -> symbol, buy, remaining

    def open(self, symbol: str, buy: bool) -> Decimal:
        return sum((q for s, b, q in self.working.values() if s == symbol and b == buy), Decimal(0))

    def worst(self, symbol: str, extra: tuple[bool, Decimal] | None = None) -> Decimal:
        high = self.position[symbol] + self.open(symbol, True)
        low = self.position[symbol] - self.open(symbol, False)
        if extra is not None:
            buy, q = extra
            high, low = (high + q, low) if buy else (high, low - q)
        return max(abs(high), abs(low))

    def gross(self, order: tuple[str, bool, Decimal] | None = None) -> Decimal:
        return sum(
            (
                self.worst(s, (order[1], order[2]) if order and order[0] == s else None) * MARKS[s]
                for s in MARKS
            ),
            Decimal(0),
        )

    def net(self, order: tuple[str, bool, Decimal] | None = None) -> Decimal:
        high = low = Decimal(0)
        for s, mark in MARKS.items():
            h = self.position[s] + self.open(s, True)
            lo = self.position[s] - self.open(s, False)
            if order and order[0] == s:
                h, lo = (h + order[2], lo) if order[1] else (h, lo - order[2])
            high += h * mark
            low += lo * mark
        return max(abs(high), abs(low))

    def reduce_only(self, symbol: str, buy: bool, q: Decimal) -> bool:
        if buy:
            return self.position[symbol] + self.open(symbol, True) + q <= 0
        return self.position[symbol] - self.open(symbol, False) - q >= 0


symbols = st.sampled_from(sorted(MARKS))
steps = st.lists(
    st.one_of(
        st.tuples(st.just("place"), symbols, st.booleans(), st.integers(1, 70)),
        st.tuples(st.just("reduce"), symbols, st.floats(0.1, 1.0)),
        st.tuples(st.just("fill"), st.integers(0, 50), st.floats(0.1, 1.0), st.integers(-8, 8)),
        st.tuples(st.just("cancel"), st.integers(0, 50)),
    ),
    max_size=60,
)


def _place(desk: Desk, model: Model, symbol: str, buy: bool, q: Decimal) -> None:
    order = (symbol, buy, q)
    before = (model.worst(symbol), model.gross(), model.net())
    after = (model.worst(symbol, (buy, q)), model.gross(order), model.net(order))
    raises = any(a > b for a, b in zip(after, before, strict=True))
    reducing = model.reduce_only(symbol, buy, q)
    try:
        order_id = desk.place(req("buy" if buy else "sell", q, symbol), QUOTES[symbol])
    except RiskDenied as denial:
        if not raises:
            assert denial.reason not in EXPOSURE, (denial, before, after)
        if reducing:
            assert denial.reason not in REDUCING_PASSES, denial
        return
    model.working[order_id] = order


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_random_orders_fills_and_cancels_keep_every_limit(ops):
    desk = Desk(engine(**LIMITS))
    tracker = desk.risk.tracker
    model = Model()
    for op in ops:
        if op[0] == "place":
            _, symbol, buy, qty = op
            _place(desk, model, symbol, buy, Decimal(qty))
        elif op[0] == "reduce":
            _, symbol, share = op
            held = model.position[symbol]
            room = held - model.open(symbol, False) if held > 0 else -(held + model.open(symbol, True))
            q = Decimal(int(room * Decimal(share)))
            if q > 0:
                _place(desk, model, symbol, held < 0, q)
        elif op[0] == "fill" and model.working:
            _, pick, share, offset = op
            order_id = sorted(model.working)[pick % len(model.working)]
            symbol, buy, remaining = model.working[order_id]
            q = max(Decimal(1), Decimal(int(remaining * Decimal(share))))
            desk.fill(order_id, q, MARKS[symbol] + offset)  # fills off the mark make real P&L
            model.position[symbol] += q if buy else -q
            if q == remaining:
                del model.working[order_id]
            else:
                model.working[order_id] = (symbol, buy, remaining - q)
        elif op[0] == "cancel" and model.working:
            order_id = sorted(model.working)[op[1] % len(model.working)]
            before = (model.gross(), model.net())
            desk.cancel(order_id)
            del model.working[order_id]
            assert model.gross() <= before[0] and model.net() <= before[1]  # a cancel never adds risk
        for symbol in MARKS:
            assert model.worst(symbol) <= LIMITS["max_position"]
            assert tracker.symbols.get(symbol) is None or tracker.symbols[symbol].worst == model.worst(symbol)
        assert model.gross() <= LIMITS["max_gross_exposure"] and tracker.gross == model.gross()
        assert model.net() <= LIMITS["max_net_exposure"] and tracker.net == model.net()
        assert tracker.open_orders == len(model.working)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("rest"), st.booleans(), st.integers(1, 40)),
            st.tuples(st.just("market"), st.booleans(), st.integers(1, 40)),
            st.tuples(st.just("fill"), st.integers(0, 20), st.integers(1, 40)),
            st.tuples(st.just("cancel"), st.integers(0, 20)),
            st.tuples(st.just("halt"), st.booleans()),
        ),
        max_size=25,
    )
)
async def test_cancels_always_pass_through_the_manager(ops):
    venue = ScriptedVenue()
    limits = RiskLimits(
        max_position=60, max_open_orders=4, max_daily_loss=50, require_locate=False, duplicate_window=None
    )
    async with OrderManager(venue, risk=limits) as om:
        fills = 0
        for op in ops:
            if op[0] in ("rest", "market"):
                side = "buy" if op[1] else "sell"
                fields = {"order_type": "limit", "limit_price": "99.00" if op[1] else "101.00"}
                with contextlib.suppress(OrderDenied):
                    await om.place_order(
                        OrderRequest(
                            symbol="AAPL", side=side, quantity=op[2], **(fields if op[0] == "rest" else {})
                        )
                    )
            elif op[0] == "fill":
                open_ = om.orders(open_only=True)
                if open_:
                    order = open_[op[1] % len(open_)]
                    q = min(op[2], order.remaining_quantity)
                    fills += 1
                    await venue.fill_resting(
                        order.order_id, str(q), "90.00" if order.side == "buy" else "110.00", f"x{fills}"
                    )
            elif op[0] == "cancel":
                open_ = om.orders(open_only=True)
                if open_:
                    await om.cancel_order(open_[op[1] % len(open_)].order_id)  # never OrderDenied
            elif op[1]:
                await om.halt("property test")
            else:
                await om.resume()
        await om.halt("the end")
        for response in await om.cancel_all():
            assert response.status.is_final
        assert om.orders(open_only=True) == []
        assert om.risk.tracker.open_orders == 0
