"""OANDA's tables, a test per row: each row is run through the function that uses it (the request an order
becomes, the report a transaction becomes, the status a v20 order has), never read back from the table."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from ntlab.brokers.oanda import mapping
from ntlab.brokers.oanda.wire import decimal, signed_units
from ntlab.core import OrderStatus, OrderType, Side, TimeInForce
from ntlab.core.enums import OrderClass
from ntlab.core.records import Order
from ntlab.core.reports import Accepted, Cancelled, CancelRejected, Expired, Filled, Rejected, Replaced
from ntlab.errors import Reason

NOW = datetime(2024, 3, 4, 15, 0, tzinfo=UTC)
STAMP = "2024-03-04T15:00:00.000000000Z"


def order(kind: OrderType = OrderType.LIMIT, tif: TimeInForce = TimeInForce.GTC, **fields: Any) -> Order:
    base: dict[str, Any] = {
        "order_id": "o-1",
        "symbol": "EUR/USD",
        "side": Side.BUY,
        "quantity": Decimal(10_000),
        "order_type": kind,
        "time_in_force": tif,
        "status": OrderStatus.PENDING,
        "created_at": NOW,
        "updated_at": NOW,
    }
    if kind is OrderType.LIMIT:
        base["limit_price"] = Decimal("1.08512")
    if kind in (OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP):
        base["stop_price"] = Decimal("1.09000")
    return Order(**(base | fields))


# --- outbound ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "v20"), list(mapping.ORDER_TYPE_OUT.items()))
def test_order_type_out(kind: OrderType, v20: str | None) -> None:
    tif = TimeInForce.FOK if kind is OrderType.MARKET else TimeInForce.GTC
    body = mapping.order_request(order(kind, tif))
    if v20 is None:
        assert isinstance(body, mapping.Unsupported) and body.code is Reason.NOT_ALLOWED
        assert "OANDA has no" in body.reason
    else:
        assert isinstance(body, dict) and body["type"] == v20


@pytest.mark.parametrize(("pair", "v20"), list(mapping.TIME_IN_FORCE_OUT.items()))
def test_time_in_force_out(pair: tuple[OrderType, TimeInForce], v20: str) -> None:
    body = mapping.order_request(order(*pair))
    assert isinstance(body, dict) and body["timeInForce"] == v20


@pytest.mark.parametrize(
    "pair",
    [
        (k, t)
        for k in (OrderType.MARKET, OrderType.LIMIT, OrderType.STOP)
        for t in TimeInForce
        if (k, t) not in mapping.TIME_IN_FORCE_OUT
    ],
)
def test_a_time_in_force_v20_lacks_is_refused_before_sending(pair: tuple[OrderType, TimeInForce]) -> None:
    body = mapping.order_request(order(*pair))
    assert isinstance(body, mapping.Unsupported) and body.code is Reason.TIF_NOT_ALLOWED
    assert "use one of" in body.reason


def test_the_request_carries_signed_units_strings_and_the_client_id() -> None:
    body = mapping.order_request(order(side=Side.SELL, tag="fx"))
    assert isinstance(body, dict)
    assert body["units"] == "-10000" and body["price"] == "1.08512" and body["instrument"] == "EUR_USD"
    assert body["clientExtensions"] == {"id": "o-1", "tag": "fx"}
    assert signed_units(Side.BUY, Decimal("1E+4")) == "10000"  # never an exponent on the wire


CLASS_FIELDS: dict[OrderClass, dict[str, Any]] = {
    OrderClass.SIMPLE: {},
    OrderClass.BRACKET: {"take_profit": Decimal("1.09500"), "stop_loss": Decimal("1.07500")},
    OrderClass.OTO: {"stop_loss": Decimal("1.07500")},
    OrderClass.OCO: {"side": Side.SELL, "stop_loss": Decimal("1.07500")},
}


@pytest.mark.parametrize(("kind", "carried"), list(mapping.ORDER_CLASS_OUT.items()))
def test_order_class_out(kind: OrderClass, carried: bool) -> None:
    body = mapping.order_request(order(order_class=kind, **CLASS_FIELDS[kind]))
    if carried:
        assert isinstance(body, dict) and body["type"] == "LIMIT"
    else:
        assert isinstance(body, mapping.Unsupported) and body.code is Reason.NOT_ALLOWED
        assert f"OANDA has no {kind.value} order" in body.reason


@pytest.mark.parametrize(("leg", "details"), list(mapping.ON_FILL_OUT.items()))
def test_on_fill_out(leg: str, details: str) -> None:
    prices = {"tp": {"take_profit": Decimal("1.09500")}, "sl": {"stop_loss": Decimal("1.07500")}}[leg]
    body = mapping.order_request(order(order_class=OrderClass.OTO, **prices))
    assert isinstance(body, dict)
    price = "1.09500" if leg == "tp" else "1.07500"
    assert body[details] == {"price": price, "timeInForce": "GTC", "clientExtensions": {"id": f"o-1-{leg}"}}
    assert set(mapping.ON_FILL_OUT.values()) - {details} & set(body) == set()  # an oto sends its one exit


@pytest.mark.parametrize(("tif", "v20"), list(mapping.LEG_TIME_IN_FORCE_OUT.items()))
def test_leg_time_in_force_out(tif: TimeInForce, v20: str) -> None:
    bracket = order(tif=tif, order_class=OrderClass.BRACKET, **CLASS_FIELDS[OrderClass.BRACKET])
    body = mapping.order_request(bracket)
    assert isinstance(body, dict)
    assert body["takeProfitOnFill"]["timeInForce"] == body["stopLossOnFill"]["timeInForce"] == v20


def test_a_replacement_of_a_bracket_entry_keeps_the_leg_ids() -> None:
    bracket = order(order_class=OrderClass.BRACKET, **CLASS_FIELDS[OrderClass.BRACKET])
    body = mapping.order_request(bracket, mapping.replacement_client_id("o-1", 2), Decimal(5000))
    assert isinstance(body, dict) and body["clientExtensions"]["id"] == "o-1~r2"
    assert body["takeProfitOnFill"]["clientExtensions"] == {"id": "o-1-tp"}


def test_a_stop_loss_limit_is_refused() -> None:
    fields = CLASS_FIELDS[OrderClass.BRACKET] | {"stop_loss_limit": Decimal("1.07400")}
    body = mapping.order_request(order(order_class=OrderClass.BRACKET, **fields))
    assert isinstance(body, mapping.Unsupported) and body.code is Reason.NOT_ALLOWED


# --- inbound: orders ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("v20", "kind"), list(mapping.ORDER_TYPE_IN.items()))
def test_order_type_in(v20: str, kind: OrderType) -> None:
    data = {
        "id": "7",
        "type": v20,
        "instrument": "EUR_USD",
        "units": "100",
        "price": "1.1",
        "state": "PENDING",
    }
    seen = mapping.broker_order(data)
    assert seen.order_type is kind and seen.order_id == "oanda-7" and seen.symbol == "EUR/USD"
    if kind is OrderType.LIMIT:
        assert seen.limit_price == Decimal("1.1")
    if kind is OrderType.STOP:
        assert seen.stop_price == Decimal("1.1")


@pytest.mark.parametrize(("v20", "tif"), list(mapping.TIME_IN_FORCE_IN.items()))
def test_time_in_force_in(v20: str, tif: TimeInForce) -> None:
    data = {"id": "7", "type": "LIMIT", "instrument": "EUR_USD", "units": "-5", "timeInForce": v20}
    seen = mapping.broker_order(data)
    assert seen.time_in_force is tif and seen.side is Side.SELL and seen.quantity == 5


@pytest.mark.parametrize(("state", "status"), list(mapping.ORDER_STATE.items()))
def test_order_state(state: str, status: OrderStatus) -> None:
    assert mapping.order_status(state) is status
    if status is OrderStatus.ACCEPTED:
        assert mapping.order_status(state, Decimal(3)) is OrderStatus.PARTIALLY_FILLED


@pytest.mark.parametrize(("reason", "meaning"), list(mapping.CANCEL_REASONS.items()))
def test_cancel_reason(reason: str, meaning: mapping.CancelMeaning) -> None:
    txn = {"id": "9", "type": "ORDER_CANCEL", "orderID": "8", "clientOrderID": "o-1", "reason": reason}
    txn["time"] = STAMP
    report = mapping.report_of(txn)
    status = mapping.order_status("CANCELLED", cancel_reason=reason)
    if meaning.report is None:
        assert report is None  # a replaced order's successor brings the news
        return
    assert report is not None and type(report) is meaning.report and report.order_id == "o-1"
    if isinstance(report, Rejected):
        assert report.code == meaning.code and status is OrderStatus.REJECTED
        later = mapping.report_of(txn, filled_before=True)  # its fills stand: a cancellation
        assert type(later) is Cancelled
        assert mapping.order_status("CANCELLED", Decimal(1), reason) is OrderStatus.CANCELLED
    elif isinstance(report, Expired):
        assert status is OrderStatus.EXPIRED
    else:
        assert status is OrderStatus.CANCELLED and reason in report.reason


@pytest.mark.parametrize(("reason", "code"), list(mapping.REJECT_REASONS.items()))
def test_reject_reason(reason: str, code: Reason) -> None:
    txn = {
        "id": "4",
        "type": "MARKET_ORDER_REJECT",
        "time": STAMP,
        "rejectReason": reason,
        "clientExtensions": {"id": "o-1"},
    }
    report = mapping.report_of(txn)
    assert isinstance(report, Rejected) and report.code == code.value and reason in report.reason


def test_an_unlisted_reject_reason_is_broker_rejected() -> None:
    assert mapping.reject_code("SOMETHING_NEW") == Reason.BROKER_REJECTED.value


def _transaction(kind: str) -> dict[str, Any]:
    txn: dict[str, Any] = {"id": "12", "type": kind, "time": STAMP, "clientExtensions": {"id": "o-1"}}
    if kind == "ORDER_FILL":
        txn |= {"orderID": "11", "clientOrderID": "o-1", "instrument": "EUR_USD"}
        txn |= {"units": "-2500", "price": "1.08493", "commission": "0.0000"}
    if kind in ("ORDER_CANCEL", "ORDER_CANCEL_REJECT"):
        txn |= {"orderID": "11", "clientOrderID": "o-1", "reason": "CLIENT_REQUEST"}
    if kind.endswith("_REJECT"):
        txn["rejectReason"] = "INSUFFICIENT_MARGIN"
    if kind.endswith("_ORDER"):
        txn |= {"instrument": "EUR_USD", "units": "100", "price": "1.08"}
    return txn


@pytest.mark.parametrize(("kind", "report"), list(mapping.TRANSACTION_REPORT.items()))
def test_transaction_type(kind: str, report: type | None) -> None:
    made = mapping.report_of(_transaction(kind))
    if report is None:
        assert made is None  # account news about no order
        return
    assert type(made) is report and made.order_id == "o-1"
    if isinstance(made, Filled):
        fill = made.fill
        assert fill.fill_id == "12" and fill.side is Side.SELL and fill.quantity == Decimal(2500)
        assert fill.price == Decimal("1.08493") and isinstance(fill.price, Decimal)
    if isinstance(made, Accepted):
        assert made.broker_order_id == "12"
    if isinstance(made, CancelRejected):
        assert "INSUFFICIENT_MARGIN" in made.reason


def test_an_order_creation_marked_replacement_is_the_replace_of_the_same_ntlab_order() -> None:
    txn = _transaction("LIMIT_ORDER") | {"reason": "REPLACEMENT", "clientExtensions": {"id": "o-1~r2"}}
    made = mapping.report_of(txn)
    assert isinstance(made, Replaced) and made.order_id == "o-1" and made.limit_price == Decimal("1.08")


def test_an_unknown_transaction_type_reports_nothing() -> None:
    assert mapping.report_of({"id": "3", "type": "SOMETHING_NEW"}) is None


# --- ids and numbers --------------------------------------------------------------------------------------


def test_ids_round_trip() -> None:
    assert mapping.ntlab_id(mapping.replacement_client_id("o-1", 3)) == "o-1"
    assert mapping.ntlab_id(None, "42") == "oanda-42"
    assert mapping.order_specifier("oanda-42") == "42"
    assert mapping.order_specifier("o-1") == "@o-1"


def test_numbers_are_decimals_from_strings_and_floats_are_refused() -> None:
    assert decimal("1.10000") == Decimal("1.10000") and decimal(None) is None
    with pytest.raises(TypeError, match="strings"):
        decimal(1.1)


def test_a_position_nets_both_sides() -> None:
    data = {
        "instrument": "EUR_USD",
        "long": {"units": "3000", "averagePrice": "1.08"},
        "short": {"units": "-1000", "averagePrice": "1.09"},
        "pl": "12.5000",
        "commission": "0.0000",
    }
    position = mapping.position_of(data)
    assert position.quantity == Decimal(2000) and position.avg_cost == Decimal("1.08")
    assert position.realized_pnl == Decimal("12.5000")
