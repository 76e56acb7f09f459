"""The Alpaca -> ntlab tables, one test per row, plus the conversions that use them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ntlab.brokers.alpaca import mapping
from ntlab.core import (
    Accepted,
    Cancelled,
    CancelRejected,
    Expired,
    Filled,
    Order,
    OrderStatus,
    OrderType,
    PendingCancel,
    Rejected,
    Replaced,
    ReplaceRejected,
    Side,
    TimeInForce,
)

S = OrderStatus

# Every order status alpaca-py's OrderStatus enum and Alpaca's docs name, with the expected meaning.
EXPECTED_ORDER_STATUS = {
    "new": S.ACCEPTED,
    "accepted": S.ACCEPTED,
    "pending_new": S.ACCEPTED,
    "accepted_for_bidding": S.ACCEPTED,
    "partially_filled": S.PARTIALLY_FILLED,
    "filled": S.FILLED,
    "done_for_day": S.ACCEPTED,
    "canceled": S.CANCELLED,
    "expired": S.EXPIRED,
    "replaced": S.CANCELLED,
    "pending_cancel": S.PENDING_CANCEL,
    "pending_replace": S.PENDING_REPLACE,
    "stopped": S.ACCEPTED,
    "rejected": S.REJECTED,
    "suspended": S.ACCEPTED,
    "calculated": S.ACCEPTED,
    "held": S.ACCEPTED,
    "pending_review": S.ACCEPTED,
}

EXPECTED_EVENT = {
    "new": Accepted,
    "accepted": Accepted,
    "pending_new": Accepted,
    "fill": Filled,
    "partial_fill": Filled,
    "canceled": Cancelled,
    "expired": Expired,
    "done_for_day": None,
    "replaced": None,
    "rejected": Rejected,
    "pending_cancel": PendingCancel,
    "pending_replace": None,
    "stopped": None,
    "calculated": None,
    "suspended": None,
    "restated": Replaced,
    "order_cancel_rejected": CancelRejected,
    "order_replace_rejected": ReplaceRejected,
}


def test_the_tables_cover_every_alpaca_spelling():
    assert set(mapping.ORDER_STATUS) == set(EXPECTED_ORDER_STATUS)
    assert set(mapping.EVENT_REPORT) == set(EXPECTED_EVENT)


@pytest.mark.parametrize(("alpaca", "ntlab"), sorted(EXPECTED_ORDER_STATUS.items()))
def test_order_status_row(alpaca, ntlab):
    assert mapping.ORDER_STATUS[alpaca] is ntlab
    assert mapping.order_status(alpaca) is ntlab
    with_fills = mapping.order_status(alpaca, Decimal(5))
    assert with_fills is (S.PARTIALLY_FILLED if ntlab is S.ACCEPTED else ntlab)


@pytest.mark.parametrize(("event", "report"), sorted(EXPECTED_EVENT.items(), key=lambda kv: kv[0]))
def test_event_row(event, report):
    assert mapping.EVENT_REPORT[event] is report
    data = {"event": event, "timestamp": "2026-03-02T14:30:01Z", "order": _order_json(status="new")}
    if event in mapping.FILL_EVENTS:
        data.update(execution_id="e1", price="190.01", qty="10", position_qty="10")
    update = mapping.update_from_event(data)
    if report is None:
        assert update is None
        return
    assert type(update) is report and update.order_id == "abc-000001"
    if report is Filled:
        assert update.fill.quantity == Decimal(10) and update.fill.price == Decimal("190.01")
    elif report is Accepted:
        assert update.broker_order_id == "61e69015-8549-4bfd-b9c3-01e75843f47d"
    elif report is Replaced:  # restated in place: the order's size and prices as they now are
        assert (update.quantity, update.limit_price, update.stop_price) == (
            Decimal(100),
            Decimal("190.50"),
            None,
        )
    else:
        assert update.time == datetime(2026, 3, 2, 14, 30, 1, tzinfo=UTC)


def test_unknown_status_is_kept_open():
    assert mapping.order_status("some_future_status") is S.ACCEPTED
    assert mapping.update_from_event({"event": "brand_new_event", "order": _order_json()}) is None


def _order_json(**over):
    data = {
        "id": "61e69015-8549-4bfd-b9c3-01e75843f47d",
        "client_order_id": "abc-000001",
        "created_at": "2026-03-02T14:30:00.000000Z",
        "updated_at": "2026-03-02T14:30:01.000000Z",
        "symbol": "AAPL",
        "qty": "100",
        "filled_qty": "10",
        "filled_avg_price": "190.01",
        "type": "limit",
        "side": "buy",
        "time_in_force": "gtc",
        "limit_price": "190.50",
        "stop_price": None,
        "status": "partially_filled",
    }
    data.update(over)
    return data


def test_order_body_uses_ntlab_id_as_client_order_id():
    now = datetime(2026, 3, 2, tzinfo=UTC)
    for kind, limit, stop in (
        (OrderType.MARKET, None, None),
        (OrderType.LIMIT, Decimal("190.10"), None),
        (OrderType.STOP, None, Decimal("185")),
        (OrderType.STOP_LIMIT, Decimal("184.5"), Decimal("185")),
    ):
        for tif in TimeInForce:
            order = Order(
                order_id="abc-000007",
                symbol="AAPL",
                side=Side.SELL,
                quantity=Decimal("2.5"),
                order_type=kind,
                time_in_force=tif,
                status=S.PENDING,
                limit_price=limit,
                stop_price=stop,
                created_at=now,
                updated_at=now,
            )
            body = mapping.order_body(order)
            assert body["client_order_id"] == "abc-000007"
            assert body["type"] == kind.value and body["time_in_force"] == tif.value
            assert body["qty"] == "2.5" and body["side"] == "sell"
            assert body.get("limit_price") == (None if limit is None else format(limit, "f"))
            assert body.get("stop_price") == (None if stop is None else format(stop, "f"))


def test_broker_order_and_fill_ids():
    order = mapping.broker_order(_order_json(client_order_id="abc-000001~r2"))
    assert order.order_id == "abc-000001"
    assert order.broker_order_id == "61e69015-8549-4bfd-b9c3-01e75843f47d"
    assert order.status is S.PARTIALLY_FILLED and order.filled_quantity == 10
    assert order.limit_price == Decimal("190.50") and order.time_in_force is TimeInForce.GTC
    # The same execution seen on the stream and in the activities gets the same id.
    event = {
        "event": "partial_fill",
        "timestamp": "2026-03-02T14:30:01Z",
        "order": _order_json(),
        "execution_id": "x",
        "price": "190.01",
        "qty": "10",
    }
    activity = {
        "id": "20260302143001000::x",
        "order_id": _order_json()["id"],
        "cum_qty": "10",
        "qty": "10",
        "price": "190.01",
        "side": "buy",
        "symbol": "AAPL",
        "transaction_time": "2026-03-02T14:30:01Z",
    }
    from_stream = mapping.fill_from_event(event)
    assert from_stream is not None
    assert from_stream.fill_id == mapping.fill_from_activity(activity, "abc-000001").fill_id


def test_replacement_ids_round_trip():
    assert mapping.ntlab_id(mapping.replacement_client_id("abc-000001", 3)) == "abc-000001"
    assert mapping.ntlab_id("plain-id") == "plain-id"
    with pytest.raises(ValueError):
        mapping.replacement_client_id("x" * 47, 1)


def test_short_position_is_negative():
    pos = mapping.position({"symbol": "NVDA", "qty": "-5", "side": "short", "avg_entry_price": "200.1"})
    assert pos.quantity == -5 and pos.avg_cost == Decimal("200.1")


@pytest.mark.parametrize(
    ("alpaca", "reports"),
    [
        ("accepted", [Accepted]),
        ("pending_new", [Accepted]),
        ("new", [Accepted]),
        ("filled", [Accepted]),
        ("partially_filled", [Accepted]),
        ("rejected", [Rejected]),
        ("canceled", [Accepted, Cancelled]),
        ("expired", [Accepted, Expired]),
    ],
)
def test_submit_ack_leaves_fills_to_the_executions(alpaca, reports):
    updates = mapping.ack(_order_json(status=alpaca, client_order_id="abc-000001~r1"))
    assert [type(u) for u in updates] == reports and all(u.order_id == "abc-000001" for u in updates)
