"""One test per row of each Lime mapping table, and the trade book's join of trades to orders."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ntlab.brokers.lime import mapping
from ntlab.brokers.lime.rest import classify
from ntlab.core.enums import OrderStatus, OrderType, Side, TimeInForce

S = OrderStatus

EXPECTED = {
    "pending_new": S.PENDING,
    "new": S.ACCEPTED,
    "partially_filled": S.PARTIALLY_FILLED,
    "filled": S.FILLED,
    "pending_cancel": S.PENDING_CANCEL,
    "canceled": S.CANCELLED,
    "pending_replace": S.PENDING_REPLACE,
    "replaced": S.CANCELLED,
    "rejected": S.REJECTED,
    "done_for_day": S.EXPIRED,
    "expired": S.EXPIRED,
    "suspended": S.ACCEPTED,
}


def test_every_status_is_covered_including_the_sdks() -> None:
    from lime_trader.models.trading import OrderStatus as SdkStatus

    assert set(mapping.ORDER_STATUS) == set(EXPECTED)
    assert {s.value for s in SdkStatus} <= set(mapping.ORDER_STATUS)


@pytest.mark.parametrize("status", sorted(EXPECTED))
def test_status_row(status: str) -> None:
    assert mapping.order_status({"order_status": status}) is EXPECTED[status]


@pytest.mark.parametrize(("ours", "wire"), sorted(mapping.ORDER_TYPE.items()))
def test_order_type_row(ours: OrderType, wire: str) -> None:
    from lime_trader.models.trading import OrderType as SdkType

    assert mapping.ORDER_TYPE_BACK[wire] is ours and SdkType(wire)


@pytest.mark.parametrize(("ours", "wire"), sorted(mapping.TIME_IN_FORCE.items()))
def test_time_in_force_row(ours: TimeInForce, wire: str) -> None:
    from lime_trader.models.trading import TimeInForce as SdkTif

    assert mapping.TIME_IN_FORCE_BACK[wire] is ours and SdkTif(wire)


def test_ext_reads_back_as_day() -> None:
    assert mapping.TIME_IN_FORCE_BACK["ext"] is TimeInForce.DAY


@pytest.mark.parametrize(("wire", "side"), sorted(mapping.SIDE.items()))
def test_side_row(wire: str, side: Side) -> None:
    assert mapping.SIDE[wire] is side


@pytest.mark.parametrize(("code", "kind"), sorted(mapping.ERROR_KIND.items()))
def test_error_code_row(code: str, kind: str) -> None:
    assert classify(400, {"code": code, "message": "m"}).kind == kind


@pytest.mark.parametrize(("words", "reason"), mapping.REFUSAL_WORDS)
def test_refusal_words_row(words: str, reason: object) -> None:
    assert mapping.refusal_reason(f"Refused: {words.upper()} here") == reason


def test_other_refusals_are_broker_rejected() -> None:
    assert mapping.refusal_reason("Route unavailable") == "broker_rejected"


@pytest.mark.parametrize("order_id", ["c-000001", "68d941-000123", "abc", "A" * 40])
def test_ids_survive_the_round_trip(order_id: str) -> None:
    coid = mapping.client_order_id(order_id)
    assert coid.isalnum() and len(coid) <= 32
    assert mapping.client_order_id(order_id) == coid  # the same id always gives the same client id
    record = {"client_id": "1", "client_order_id": coid, "tag": mapping.tag_for(order_id)}
    expected = order_id if (mapping.tag_for(order_id) or coid == order_id) else coid
    assert mapping.ntlab_id(record) == expected


def _order(lime_id: str, side: str, executed: int) -> dict[str, object]:
    return {
        "client_id": lime_id,
        "client_order_id": f"x{lime_id}",
        "symbol": "AAPL",
        "order_side": side,
        "executed_quantity": executed,
    }


def _trade(trade_id: str, side: str, qty: int, price: str, t: int) -> mapping.Trade:
    return mapping.Trade(
        trade_id, "AAPL", Side(side), Decimal(qty), Decimal(price), datetime.fromtimestamp(t, UTC)
    )


def test_a_trade_waits_for_its_order_and_goes_to_the_order_whose_room_it_fills_exactly() -> None:
    book = mapping.TradeBook()
    assert book.trade(_trade("t1", "buy", 10, "190.1", 100)) == []  # no order with room yet
    assert book.order(_order("1", "buy", 0)) == []
    big = book.order(_order("2", "buy", 0))
    assert big == []
    made = book.order(_order("1", "buy", 10))
    assert [(f.fill_id, f.order_id, f.price) for f in made] == [("t1", "x1", Decimal("190.1"))]
    book.order(_order("2", "buy", 500))
    book.order(_order("1", "buy", 20))  # both have room for a 10-share trade; order 1's is exact
    assert [f.order_id for f in book.trade(_trade("t2", "buy", 10, "190.2", 101))] == ["x1"]
    assert [f.order_id for f in book.trade(_trade("t3", "buy", 500, "190.3", 102))] == ["x2"]
    assert book.settled("1") and book.settled("2")
    assert book.trade(_trade("t3", "buy", 500, "190.3", 102)) == []  # a replay is nothing new
    assert len(book.fills()) == 3


def test_a_trade_of_the_other_side_or_symbol_never_joins() -> None:
    book = mapping.TradeBook()
    book.order(_order("1", "buy", 10))
    assert book.trade(_trade("s", "sell", 10, "1", 1)) == []
    assert not book.settled("1")
