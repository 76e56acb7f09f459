"""Notional orders in the core: the request, the state machine, pre-trade risk, the journal, the refusal
for a broker that cannot take them."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from ntlab.brokers.paper import PaperBroker
from ntlab.core import (
    Accepted,
    CancelRejected,
    Fill,
    Filled,
    Order,
    OrderManager,
    OrderRequest,
    OrderStatus,
    OrderType,
    PendingCancel,
    Replaced,
    Side,
    TimeInForce,
)
from ntlab.core.lifecycle import OrderState, apply
from ntlab.core.risk import RiskEngine, RiskLimits
from ntlab.core.session import load_session
from ntlab.errors import InvalidOrder, OrderRejected, Reason, RiskDenied
from ntlab.market import sample_market
from tests.core.brokers import ScriptedVenue
from tests.core.risk_helpers import T0, quote

S = OrderStatus


# --- the request -------------------------------------------------------------------------------------------


def test_a_notional_request_has_no_quantity() -> None:
    request = OrderRequest(symbol="AAPL", side="buy", notional="500")
    assert request.notional == Decimal(500) and request.quantity == 0
    assert request.order_type is OrderType.MARKET


@pytest.mark.parametrize(
    ("fields", "reason", "says"),
    [
        ({"quantity": 5, "notional": 500}, Reason.INVALID_QUANTITY, "not both"),
        ({}, Reason.INVALID_QUANTITY, "notional="),
        ({"notional": 0}, Reason.INVALID_QUANTITY, "positive amount"),
        ({"notional": "-5"}, Reason.INVALID_QUANTITY, "positive amount"),
        ({"notional": "NaN"}, Reason.INVALID_QUANTITY, "finite"),
        ({"notional": 500, "order_type": "limit", "limit_price": 190}, Reason.INVALID_FIELD, "market"),
        (
            {"notional": 500, "order_class": "bracket", "take_profit": 200, "stop_loss": 180},
            Reason.INVALID_FIELD,
            "bracket",
        ),
        ({"notional": 500, "time_in_force": "cls"}, Reason.TIF_NOT_ALLOWED, "cls"),
        ({"notional": 500, "time_in_force": "opg"}, Reason.TIF_NOT_ALLOWED, "give a quantity"),
        ({"notional": 500, "post_only": True}, Reason.INVALID_FIELD, "post_only"),
    ],
)
def test_a_bad_notional_request_says_what_to_do(fields: dict, reason: Reason, says: str) -> None:
    with pytest.raises(InvalidOrder) as refused:
        OrderRequest(symbol="AAPL", side="buy", **fields)
    assert refused.value.reason is reason and says in str(refused.value)


@pytest.mark.parametrize("tif", ["day", "gtc", "ioc", "fok"])
def test_a_notional_market_order_takes_the_usual_times_in_force(tif: str) -> None:
    assert OrderRequest(symbol="AAPL", side="sell", notional=500, time_in_force=tif).notional == 500


# --- the state machine -------------------------------------------------------------------------------------


def _unsized() -> OrderState:
    return OrderState(
        Order(
            order_id="n1",
            symbol="AAPL",
            side=Side.BUY,
            quantity=Decimal(0),
            order_type=OrderType.MARKET,
            time_in_force=TimeInForce.DAY,
            status=S.PENDING,
            created_at=T0,
            updated_at=T0,
            notional=Decimal(1000),
        )
    )


def _fill(fill_id: str, quantity: str, price: str = "190") -> Filled:
    return Filled(
        "n1", Fill(fill_id, "n1", "AAPL", Side.BUY, Decimal(quantity), Decimal(price), T0, Decimal("0.01"))
    )


def test_fills_before_the_size_leave_a_notional_order_partially_filled() -> None:
    state = _unsized()
    apply(state, Accepted("n1", T0, "b1"))
    outcome = apply(state, _fill("f1", "2.5"))
    assert outcome.fill is not None and not outcome.overfill
    order = state.order
    assert order.status is S.PARTIALLY_FILLED and order.filled_quantity == Decimal("2.5")
    assert not order.overfilled and order.fees == Decimal("0.01")
    apply(state, _fill("f2", "2.5", "192"))
    assert state.order.status is S.PARTIALLY_FILLED and state.order.avg_fill_price == Decimal(191)
    apply(state, Replaced("n1", T0, Decimal(5)))  # the broker says what the notional came to
    assert state.order.status is S.FILLED and state.order.quantity == 5 and not state.order.overfilled


def test_a_size_before_the_fills_makes_it_an_order_like_any() -> None:
    state = _unsized()
    apply(state, Accepted("n1", T0, "b1"))
    apply(state, Replaced("n1", T0, Decimal(5)))
    assert state.order.status is S.ACCEPTED and state.order.remaining_quantity == 5
    apply(state, _fill("f1", "5"))
    assert state.order.status is S.FILLED
    apply(state, _fill("f2", "1"))
    assert state.order.overfilled  # past its size now: an overfill as for any order


def test_a_refused_cancel_does_not_call_an_unsized_order_filled() -> None:
    state = _unsized()
    apply(state, Accepted("n1", T0, "b1"))
    apply(state, _fill("f1", "2"))
    apply(state, PendingCancel("n1", T0))
    apply(state, CancelRejected("n1", T0, "too late"))
    assert state.order.status is S.PARTIALLY_FILLED


# --- pre-trade risk ----------------------------------------------------------------------------------------


def _engine(**limits: object) -> RiskEngine:
    return RiskEngine(RiskLimits(**limits), clock=lambda: T0)  # type: ignore[arg-type]


def _notional(amount: str, side: str = "buy") -> OrderRequest:
    return OrderRequest(symbol="AAPL", side=side, notional=amount)


def test_max_notional_checks_the_notional_itself() -> None:
    engine = _engine(max_order_notional=Decimal(1000))
    engine.check(_notional("1000"), quote())
    with pytest.raises(RiskDenied) as denied:
        engine.check(_notional("1000.01"), quote())
    assert denied.value.reason is Reason.MAX_NOTIONAL and "reduce the notional" in str(denied.value)


def test_max_notional_needs_no_quote_for_a_notional_order() -> None:
    engine = _engine(max_order_notional=Decimal(1000), require_reference_price=False)
    with pytest.raises(RiskDenied) as denied:
        engine.check(_notional("5000"), None)
    assert denied.value.reason is Reason.MAX_NOTIONAL


def test_position_limits_count_what_the_notional_buys_at_the_reference() -> None:
    engine = _engine(max_position=Decimal(10))
    engine.check(_notional("1900"), quote(ask="190.00"))  # 10 shares at the ask: at the limit
    with pytest.raises(RiskDenied) as denied:
        engine.check(_notional("1900.01", "buy"), quote(ask="190.00"))
    assert denied.value.reason is Reason.MAX_POSITION
    with pytest.raises(RiskDenied):  # a sale is sized at the bid
        engine.check(_notional("1900", "sell"), quote(bid="189.00"))


def test_a_notional_order_without_a_price_is_refused_when_a_position_limit_needs_one() -> None:
    engine = _engine(max_position=Decimal(10), require_reference_price=False)
    with pytest.raises(RiskDenied) as denied:
        engine.check(_notional("500"), None)
    assert denied.value.reason is Reason.NO_REFERENCE_PRICE and "give a quantity" in str(denied.value)


def test_a_working_notional_order_counts_toward_exposure_until_it_is_sized() -> None:
    engine = _engine(max_position=Decimal(10))
    first = _notional("1500")
    engine.check(first, quote(ask="150.00"))
    order = _unsized().order._replace(status=S.ACCEPTED, notional=Decimal(1500))
    engine.accepted(order)
    assert engine.tracker.symbols["AAPL"].open_buy == 10
    with pytest.raises(RiskDenied) as denied:  # the first one's 10 shares are still to come
        engine.check(_notional("150"), quote(ask="150.00"))
    assert denied.value.reason is Reason.MAX_POSITION


async def test_a_broker_that_takes_no_notional_orders_refuses_them_before_sending() -> None:
    venue = ScriptedVenue()
    async with OrderManager(broker=venue) as om:
        with pytest.raises(InvalidOrder) as refused:
            await om.place_order(_notional("500"))
        assert refused.value.reason is Reason.NOT_ALLOWED and "give a quantity" in str(refused.value)
        assert not venue.submits
        assert om.order(refused.value.order_id or "").status is S.REJECTED


# --- through the manager and the journal ------------------------------------------------------------------


async def test_a_notional_order_on_the_paper_venue_and_after_a_restart(tmp_path: Path) -> None:
    journal = tmp_path / "session.sqlite"
    market = sample_market(symbols=["AAPL"])
    async with OrderManager(broker=PaperBroker(market), journal=journal) as om:
        ask = om.broker.last_quote("AAPL").ask  # type: ignore[union-attr]
        placed = await om.place_order(_notional("1000"))
        order = om.order(placed.order_id)
        assert order.status is S.FILLED and order.notional == 1000
        assert order.quantity == order.filled_quantity == (Decimal(1000) // ask)  # whole shares
        held = om.position("AAPL")
    replayed = load_session(journal).orders[placed.order_id].order
    assert replayed == order
    async with OrderManager(broker=PaperBroker(market), journal=journal) as om:
        assert om.order(placed.order_id) == order and om.position("AAPL") == held


async def test_a_notional_order_below_one_lot_is_refused_by_the_venue() -> None:
    async with OrderManager(broker=PaperBroker(sample_market(symbols=["AAPL"]))) as om:
        with pytest.raises(OrderRejected, match="less than one lot"):
            await om.place_order(_notional("10"))
