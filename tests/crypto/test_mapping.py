"""One test per row of the ccxt mapping tables, and the conversions they rest on."""

from __future__ import annotations

from decimal import Decimal

import aiohttp
import ccxt.async_support as ccxt
import pytest
from ccxt.base.decimal_to_precision import DECIMAL_PLACES, SIGNIFICANT_DIGITS, TICK_SIZE
from hypothesis import given
from hypothesis import strategies as st

from ntlab.brokers.crypto import mapping
from ntlab.core import Order, OrderStatus, OrderType, Side, TimeInForce
from ntlab.core.reports import Accepted, Cancelled, Expired, PendingCancel, Rejected
from ntlab.errors import Reason

S = OrderStatus
NOW = 1_760_000_000_000


def raw_order(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": "42",
        "clientOrderId": "c-1",
        "symbol": "BTC/USDT",
        "side": "buy",
        "type": "limit",
        "timeInForce": "GTC",
        "status": "open",
        "amount": 0.5,
        "price": 65000.01,
        "filled": 0.0,
        "timestamp": NOW,
    }
    return base | fields


@pytest.mark.parametrize(("status", "expected"), sorted(mapping.ORDER_STATUS.items()))
def test_every_ccxt_status_maps(status: str, expected: OrderStatus) -> None:
    assert mapping.order_status(raw_order(status=status)) is expected


def test_open_with_executions_is_partially_filled() -> None:
    assert mapping.order_status(raw_order(status="open", filled=0.1)) is S.PARTIALLY_FILLED


@pytest.mark.parametrize(("kind", "tif"), [("market", None), ("limit", "IOC"), ("limit", "FOK")])
def test_an_expired_immediate_order_is_its_rest_cancelled(kind: str, tif: str | None) -> None:
    assert mapping.order_status(raw_order(status="expired", type=kind, timeInForce=tif)) is S.CANCELLED


def test_an_unknown_status_is_treated_as_open() -> None:
    assert mapping.order_status(raw_order(status="weird")) is S.ACCEPTED


@pytest.mark.parametrize(("ours", "theirs"), sorted(mapping.ORDER_TYPE_OUT.items()))
def test_order_types_out(ours: OrderType, theirs: tuple[str, bool]) -> None:
    order = _order(
        order_type=ours,
        limit_price=Decimal("65000.01") if ours in (OrderType.LIMIT, OrderType.STOP_LIMIT) else None,
        stop_price=Decimal("66000") if ours in (OrderType.STOP, OrderType.STOP_LIMIT) else None,
    )
    kind, side, amount, _price, params = mapping.order_params(order)
    assert (kind, "triggerPrice" in params) == theirs
    assert params["clientOrderId"] == order.order_id and side == "buy" and amount == 0.25
    assert ("timeInForce" in params) == (kind != "market")


@pytest.mark.parametrize(("theirs", "ours"), sorted(mapping.ORDER_TYPE_IN.items()))
def test_order_types_in(theirs: tuple[str, bool], ours: OrderType) -> None:
    kind, triggered = theirs
    raw = raw_order(type=kind, triggerPrice=66000.0 if triggered else None)
    assert mapping.order_type(raw) is ours


@pytest.mark.parametrize(("ours", "theirs"), sorted(mapping.TIME_IN_FORCE_OUT.items()))
def test_time_in_force_out(ours: TimeInForce, theirs: str) -> None:
    params = mapping.order_params(
        _order(order_type=OrderType.LIMIT, limit_price=Decimal(1), time_in_force=ours)
    )[4]
    assert params["timeInForce"] == theirs


@pytest.mark.parametrize(("theirs", "ours"), sorted(mapping.TIME_IN_FORCE_IN.items()))
def test_time_in_force_in(theirs: str, ours: TimeInForce) -> None:
    assert mapping.order(raw_order(timeInForce=theirs), "binance").time_in_force is ours


def test_post_only_goes_out_and_comes_back() -> None:
    params = mapping.order_params(_order(order_type=OrderType.LIMIT, limit_price=Decimal(1), post_only=True))[
        4
    ]
    assert params["postOnly"] is True
    assert mapping.order(raw_order(postOnly=True, timeInForce="PO"), "binance").post_only


@pytest.mark.parametrize("rule", mapping.ERRORS, ids=lambda r: r.error.__name__)
def test_every_error_row(rule: mapping.ErrorRule) -> None:
    """Each ccxt error class finds its own row (no earlier, broader row shadows it)."""
    found = mapping.error_rule(rule.error("binance {}"))
    assert found is not None and found.error is rule.error and found.outcome == rule.outcome
    assert rule.arrived  # every row says whether the order can have arrived


def test_error_outcomes_are_the_safe_ones() -> None:
    by_name = {rule.error.__name__: rule for rule in mapping.ERRORS}
    # never retried blind: a network error in general, a timeout or an unavailable exchange may have arrived
    for name in (
        "NetworkError",
        "RequestTimeout",
        "ExchangeNotAvailable",
        "OperationFailed",
        "DuplicateOrderId",
    ):
        assert by_name[name].outcome == "timeout"
    assert by_name["InsufficientFunds"].reason is Reason.INSUFFICIENT_FUNDS
    assert by_name["OrderImmediatelyFillable"].reason is Reason.WOULD_TAKE
    assert by_name["RateLimitExceeded"].outcome == "rate_limited"


def test_binance_duplicate_is_refined_from_its_message() -> None:
    error = ccxt.InvalidOrder('binance {"code":-2010,"msg":"Duplicate order sent."}')
    rule = mapping.error_rule(error)
    assert rule is not None and rule.error is ccxt.DuplicateOrderId and rule.outcome == "timeout"


def test_a_refused_connection_provably_did_not_arrive() -> None:
    try:
        try:
            raise aiohttp.ClientConnectorError(None, OSError(111, "refused"))  # type: ignore[arg-type]
        except aiohttp.ClientConnectorError as cause:
            raise ccxt.ExchangeNotAvailable("binance POST /order") from cause
    except ccxt.ExchangeNotAvailable as error:
        rule = mapping.error_rule(error)
    assert rule is not None and rule.outcome == "unavailable"
    assert mapping.error_rule(ccxt.ExchangeNotAvailable("503")).outcome == "timeout"  # type: ignore[union-attr]


def test_not_a_ccxt_error() -> None:
    assert mapping.error_rule(ValueError("x")) is None


@given(st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal("9999999"), places=8))
def test_ccxt_floats_come_back_as_the_wire_decimal(value: Decimal) -> None:
    """Exact for every wire value of up to 15 significant digits (7 before the point, Binance's 8 after)."""
    wire = f"{value:.8f}"
    assert mapping.dec(float(wire)) == Decimal(wire)


@pytest.mark.parametrize(
    ("mode", "precision", "step"),
    [(TICK_SIZE, 0.01, Decimal("0.01")), (DECIMAL_PLACES, 2, Decimal("0.01")), (SIGNIFICANT_DIGITS, 5, None)],
)
def test_precision_modes(mode: int, precision: float, step: Decimal | None) -> None:
    assert mapping.step(precision, mode) == step


def test_a_market_becomes_an_instrument() -> None:
    market = {
        "symbol": "BTC/USDT",
        "spot": True,
        "quote": "USDT",
        "precision": {"price": 0.01, "amount": 1e-05},
        "limits": {"amount": {"min": 1e-05}, "cost": {"min": 5.0}},
    }
    made = mapping.instrument(market, TICK_SIZE)
    assert made is not None
    assert (made.tick_size, made.lot_size, made.min_quantity, made.min_notional, made.currency) == (
        Decimal("0.01"),
        Decimal("0.00001"),
        Decimal("0.00001"),
        Decimal("5.0"),
        "USDT",
    )
    assert mapping.instrument(market | {"spot": False}, TICK_SIZE) is None
    assert mapping.instrument(market | {"symbol": "BTC/USDT:USDT"}, TICK_SIZE) is None


@pytest.mark.parametrize(
    ("status", "report"),
    [
        ("open", Accepted),
        ("canceled", Cancelled),
        ("expired", Expired),
        ("rejected", Rejected),
        ("canceling", PendingCancel),
        ("closed", type(None)),
    ],
)
def test_streamed_order_updates(status: str, report: type) -> None:
    assert type(mapping.order_report(raw_order(status=status), "c-1", "binance")) is report


def test_a_trade_is_a_fill_with_its_fee_currency() -> None:
    trade = {
        "id": "500001",
        "order": "42",
        "symbol": "BTC/USDT",
        "side": "sell",
        "amount": 0.01,
        "price": 65027.56,
        "timestamp": NOW,
        "takerOrMaker": "maker",
        "fee": {"cost": 0.00081284, "currency": "BNB"},
    }
    fill = mapping.fill(trade, "c-1", "binance")
    assert (fill.fill_id, fill.side, fill.quantity, fill.price, fill.fee, fill.fee_currency) == (
        "BTC/USDT#500001",
        Side.SELL,
        Decimal("0.01"),
        Decimal("65027.56"),
        Decimal("0.00081284"),
        "BNB",
    )
    assert fill.liquidity == "maker"


def _order(**fields: object) -> Order:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    base: dict[str, object] = {
        "order_id": "c-000001",
        "symbol": "BTC/USDT",
        "side": Side.BUY,
        "quantity": Decimal("0.25"),
        "order_type": OrderType.MARKET,
        "time_in_force": TimeInForce.GTC,
        "status": S.PENDING,
        "created_at": now,
        "updated_at": now,
    }
    return Order(**(base | fields))  # type: ignore[arg-type]


@pytest.mark.parametrize(("theirs", "ours"), sorted(mapping.SIDE_IN.items()))
def test_sides_in(theirs: str, ours: Side) -> None:
    assert mapping.order(raw_order(side=theirs), "binance").side is ours
    trade = {"id": "1", "symbol": "BTC/USDT", "side": theirs, "amount": 0.01, "price": 1.0, "timestamp": NOW}
    assert mapping.fill(trade, "c-1", "binance").side is ours


@pytest.mark.parametrize(("theirs", "ours"), sorted(mapping.LIQUIDITY_IN.items()))
def test_liquidity_in(theirs: str, ours: object) -> None:
    trade = {"id": "1", "symbol": "BTC/USDT", "amount": 0.01, "price": 1.0, "takerOrMaker": theirs}
    assert mapping.fill(trade, "c-1", "binance", Side.BUY).liquidity is ours
