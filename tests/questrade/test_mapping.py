"""One test per row of each Questrade mapping table."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from ntlab.brokers.questrade import mapping
from ntlab.brokers.questrade.rest import Budget, RateBudget, category, classify
from ntlab.core.enums import OrderStatus, OrderType, Side, TimeInForce

S = OrderStatus

EXPECTED_STATE = {
    "Pending": S.PENDING,
    "Queued": S.PENDING,
    "PendingRiskReview": S.PENDING,
    "Accepted": S.ACCEPTED,
    "Activated": S.ACCEPTED,
    "Triggered": S.ACCEPTED,
    "ContingentOrder": S.ACCEPTED,
    "Stopped": S.ACCEPTED,
    "Suspended": S.ACCEPTED,
    "Partial": S.PARTIALLY_FILLED,
    "Executed": S.FILLED,
    "Canceled": S.CANCELLED,
    "PartialCanceled": S.CANCELLED,
    "CancelPending": S.PENDING_CANCEL,
    "ReplacePending": S.PENDING_REPLACE,
    "Replaced": S.CANCELLED,
    "Rejected": S.REJECTED,
    "Failed": S.REJECTED,
    "Expired": S.EXPIRED,
}


def test_every_state_is_covered() -> None:
    assert set(mapping.ORDER_STATE) == set(EXPECTED_STATE)


@pytest.mark.parametrize("state", sorted(EXPECTED_STATE))
def test_state_row(state: str) -> None:
    assert mapping.order_status({"state": state}) is EXPECTED_STATE[state]


def test_an_unknown_state_keeps_the_order_open() -> None:
    assert mapping.order_status({"state": "SomethingNew"}) is S.ACCEPTED


@pytest.mark.parametrize(("ours", "wire"), sorted(mapping.ORDER_TYPE.items()))
def test_order_type_row(ours: OrderType, wire: str) -> None:
    assert mapping.ORDER_TYPE_BACK[wire] is ours


@pytest.mark.parametrize(("ours", "wire"), sorted(mapping.TIME_IN_FORCE.items()))
def test_time_in_force_row(ours: TimeInForce, wire: str) -> None:
    assert mapping.TIME_IN_FORCE_BACK[wire] is ours


@pytest.mark.parametrize(
    ("wire", "ours"),
    [("GoodTillExtendedDay", TimeInForce.DAY), ("GoodTillDate", TimeInForce.GTC)],
)
def test_time_in_force_read_only_rows(wire: str, ours: TimeInForce) -> None:
    assert mapping.TIME_IN_FORCE_BACK[wire] is ours


@pytest.mark.parametrize(
    ("wire", "side"),
    [
        ("Buy", Side.BUY),
        ("Sell", Side.SELL),
        ("Short", Side.SELL),
        ("Cov", Side.BUY),
        ("BTO", Side.BUY),
        ("STC", Side.SELL),
        ("STO", Side.SELL),
        ("BTC", Side.BUY),
    ],
)
def test_side_row(wire: str, side: Side) -> None:
    assert mapping.SIDE[wire] is side
    assert set(mapping.SIDE) >= {wire}


@pytest.mark.parametrize(("code", "reason"), sorted(mapping.REJECT_REASON.items()))
def test_reject_reason_row(code: int, reason: object) -> None:
    assert mapping.reject_reason(code, "whatever Questrade says") == reason


def test_an_unlisted_code_is_broker_rejected_unless_its_words_say_buying_power() -> None:
    assert mapping.reject_reason(9999, "Invalid route") == "broker_rejected"
    assert mapping.reject_reason(None, "Insufficient buying power") == "insufficient_funds"


@pytest.mark.parametrize(("code", "kind"), sorted(mapping.ERROR_KIND.items()))
def test_error_code_row(code: int, kind: str) -> None:
    assert classify(400, {"code": code, "message": "m"}, None).kind == kind


@pytest.mark.parametrize(("status", "kind"), sorted(mapping.HTTP_KIND.items()))
def test_http_status_row(status: int, kind: str) -> None:
    assert classify(status, {"message": "no code"}, None).kind == kind


def test_a_code_under_http_200_is_an_error_not_a_success() -> None:
    answer = classify(200, {"code": 3014, "message": "Insufficient buying power", "orderId": 5}, None)
    assert answer.kind == "refused" and answer.code == 3014
    assert classify(200, {"orderId": 5, "orders": []}, None).kind == "ok"
    assert classify(503, None, None).kind == "server"


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("accounts", "account"),
        ("accounts/1/orders", "account"),
        ("time", "account"),
        ("markets/quotes/8049", "market"),
        ("symbols/search", "market"),
    ],
)
def test_rate_limit_category_row(path: str, kind: str) -> None:
    assert category(path) == kind


def test_the_budget_waits_for_the_reset_only_when_nothing_is_left() -> None:
    budget = RateBudget()
    budget.learn("accounts", httpx.Headers({"X-RateLimit-Remaining": "3", "X-RateLimit-Reset": "2000"}))
    assert budget.budgets["account"].wait(1990) == 0
    budget.learn("accounts", httpx.Headers({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "2000"}))
    assert budget.budgets["account"].wait(1990) == 10
    assert budget.budgets["market"].wait(1990) == 0  # per category
    assert Budget(0, 1000).wait(1990) == 0  # the window has reset


def test_numbers_are_read_as_decimals_from_their_own_digits() -> None:
    data = mapping.parse_json(b'{"price": 190.10, "q": 3, "p2": 0.1}')
    assert data["price"] == Decimal("190.10") and isinstance(data["price"], Decimal)
    assert data["p2"] == Decimal("0.1")
