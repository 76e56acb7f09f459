"""Every row of the IB mapping tables, one case each; every case states what the row must mean."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from ib_async import Contract, Execution, Order, OrderStatus, Trade
from ib_async import Fill as IBFill
from ib_async.objects import CommissionReport

from ntlab.brokers.ib import mapping
from ntlab.brokers.ib.contracts import ContractKey, contract_key, ntlab_symbol
from ntlab.core import OrderType, Side, TimeInForce
from ntlab.core.enums import Liquidity, OrderClass
from ntlab.core.enums import OrderStatus as S
from ntlab.core.legs import legs
from ntlab.core.records import Order as NtlabOrder
from ntlab.core.reports import Accepted, Cancelled, PendingCancel, Rejected
from ntlab.errors import InvalidArgument, Reason

NOW = datetime(2026, 3, 2, 14, 31, tzinfo=UTC)

# IB status, filled, ntlab status, report its news makes
STATUS_CASES = [
    ("PendingSubmit", 0, S.PENDING, None),
    ("ApiPending", 0, S.PENDING, None),
    ("PreSubmitted", 0, S.ACCEPTED, Accepted),
    ("Submitted", 0, S.ACCEPTED, Accepted),
    ("Submitted", 40, S.PARTIALLY_FILLED, Accepted),  # IB has no partial status
    ("ApiUpdate", 0, S.ACCEPTED, None),
    ("PendingCancel", 0, S.PENDING_CANCEL, PendingCancel),
    ("ApiCancelled", 0, S.CANCELLED, Cancelled),
    ("Cancelled", 0, S.CANCELLED, Cancelled),
    ("Inactive", 0, S.REJECTED, Rejected),
    ("Filled", 100, S.FILLED, None),  # the executions report it
    ("ValidationError", 0, S.ACCEPTED, None),  # ib_async's own status after a warning: still live
]


@pytest.mark.parametrize(("ib_status", "filled", "status", "report"), STATUS_CASES)
def test_status_row(ib_status: str, filled: int, status: S, report: type | None) -> None:
    assert mapping.order_status(ib_status, Decimal(filled)) is status
    assert mapping.ORDER_STATUS[ib_status].report is report


def test_every_status_has_a_case() -> None:
    assert {case[0] for case in STATUS_CASES} == set(mapping.ORDER_STATUS)
    assert set(mapping.ORDER_STATUS) >= set(OrderStatus.DoneStates | OrderStatus.ActiveStates)


def test_an_unknown_status_is_said_not_guessed() -> None:
    with pytest.raises(KeyError, match="not in the table"):
        mapping.order_status("Parked", Decimal(0))


# code, kind, ntlab reason of a refusal with that code's usual text
ERROR_CASES = [
    (100, "rate_limited", "rate_limit"),
    (103, "retry", "duplicate_order_id"),
    (104, "replace_refused", None),
    (105, "replace_refused", None),
    (110, "refused", "off_tick"),
    (111, "refused", "tif_not_allowed"),
    (113, "refused", "tif_not_allowed"),
    (135, "refused", "broker_rejected"),
    (161, "cancel_refused", None),
    (200, "refused", "unknown_symbol"),
    (201, "refused", "broker_rejected"),
    (202, "cancelled", None),
    (203, "refused", "not_allowed"),
    (321, "refused", "invalid_field"),
    (326, "client_id_in_use", None),
    (354, "market_data", None),
    (387, "refused", "not_allowed"),
    (399, "warning", None),
    (404, "warning", None),
    (434, "refused", "invalid_quantity"),
    (502, "not_connected", None),
    (504, "not_connected", None),
    (1100, "connectivity_lost", None),
    (1101, "restored_data_lost", None),
    (1102, "restored", None),
    (2103, "info", None),
    (2104, "info", None),
    (2105, "info", None),
    (2106, "info", None),
    (2107, "info", None),
    (2108, "info", None),
    (2109, "warning", None),
    (2119, "info", None),
    (2158, "info", None),
    (10147, "cancel_refused", None),
    (10148, "cancel_refused", None),
    (10167, "market_data", None),
    (10197, "market_data", None),
    (10311, "warning", None),
]


@pytest.mark.parametrize(("code", "kind", "reason"), ERROR_CASES)
def test_error_row(code: int, kind: str, reason: str | None) -> None:
    meaning = mapping.error_meaning(code)
    assert meaning is not None and meaning.kind == kind
    if meaning.kind == "refused" or reason is not None:
        assert mapping.refusal_reason(code, "Order rejected - reason:") == reason


def test_every_error_code_has_a_case() -> None:
    assert {case[0] for case in ERROR_CASES} == set(mapping.ERRORS)


def test_other_notices_are_notices_and_unknown_codes_are_left_to_the_status() -> None:
    assert mapping.error_meaning(2150).kind == "info"  # type: ignore[union-attr]
    assert mapping.error_meaning(10349) is None


# a 201's text -> the reason users branch on
REFUSAL_CASES = [
    (
        "Order rejected - reason:YOUR ORDER IS NOT ACCEPTED. IN ORDER TO OBTAIN THE DESIRED POSITION YOUR EQUITY "
        "WITH LOAN VALUE [1000.00 USD] MUST EXCEED THE INITIAL MARGIN [9505.00 USD]",
        Reason.INSUFFICIENT_FUNDS,
    ),
    ("Order rejected - reason:Short stock positions can only be held in a margin account", Reason.NO_LOCATE),
    ("Order rejected - reason:No trading permissions for this exchange", Reason.NOT_ALLOWED),
    (
        "Order rejected - reason:crypto market buys must be sized by cash quantity (cashQty)",
        Reason.NOT_ALLOWED,
    ),
    ("Order rejected - reason:market closed at 21:00 UTC; the session is over", Reason.NOT_ALLOWED),
    ("Order rejected - reason:something else entirely", Reason.BROKER_REJECTED),
]


@pytest.mark.parametrize(("words", "reason"), REFUSAL_CASES)
def test_refusal_text_row(words: str, reason: Reason) -> None:
    assert mapping.refusal_reason(201, words) == reason.value


def test_every_refusal_pattern_has_a_case() -> None:
    matched = set()
    for words, _ in REFUSAL_CASES:
        for n, (pattern, _reason) in enumerate(mapping.REFUSAL_REASONS):
            if pattern.search(words):
                matched.add(n)
                break
    assert matched == set(range(len(mapping.REFUSAL_REASONS)))


def ntlab_order(**fields: object) -> NtlabOrder:
    base: dict[str, object] = {
        "order_id": "sim-000001",
        "symbol": "AAPL",
        "side": Side.BUY,
        "quantity": Decimal(100),
        "order_type": OrderType.LIMIT,
        "time_in_force": TimeInForce.DAY,
        "status": S.PENDING,
        "created_at": NOW,
        "updated_at": NOW,
        "limit_price": Decimal("190.10"),
    }
    return NtlabOrder(**(base | fields))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "ib"),
    [
        ({"order_type": OrderType.MARKET, "limit_price": None}, {"orderType": "MKT"}),
        ({}, {"orderType": "LMT", "lmtPrice": 190.1}),
        (
            {"order_type": OrderType.STOP, "limit_price": None, "stop_price": Decimal(185)},
            {"orderType": "STP", "auxPrice": 185.0},
        ),
        (
            {"order_type": OrderType.STOP_LIMIT, "stop_price": Decimal(191)},
            {"orderType": "STP LMT", "lmtPrice": 190.1, "auxPrice": 191.0},
        ),
        (
            {"order_type": OrderType.TRAILING_STOP, "limit_price": None, "trail_price": Decimal("0.5")},
            {"orderType": "TRAIL", "auxPrice": 0.5},
        ),
        (
            {"order_type": OrderType.TRAILING_STOP, "limit_price": None, "trail_percent": Decimal("1.5")},
            {"orderType": "TRAIL", "trailingPercent": 1.5},
        ),
    ],
)
def test_order_type_rows(fields: dict[str, object], ib: dict[str, object]) -> None:
    sent = mapping.ib_order_fields(ntlab_order(**fields), "DU123456")
    assert sent.items() >= ib.items()
    assert sent["orderRef"] == "sim-000001" and sent["account"] == "DU123456" and sent["transmit"]


def test_every_order_type_has_a_row() -> None:
    assert set(mapping.ORDER_TYPE) == set(OrderType)


@pytest.mark.parametrize(
    ("tif", "kind", "ib_tif", "ib_type"),
    [
        (TimeInForce.DAY, OrderType.LIMIT, "DAY", "LMT"),
        (TimeInForce.GTC, OrderType.LIMIT, "GTC", "LMT"),
        (TimeInForce.IOC, OrderType.LIMIT, "IOC", "LMT"),
        (TimeInForce.FOK, OrderType.LIMIT, "FOK", "LMT"),
        (TimeInForce.OPG, OrderType.MARKET, "OPG", "MKT"),  # market on open
        (TimeInForce.CLS, OrderType.MARKET, "DAY", "MOC"),  # IB's "at the close" is an order type
        (TimeInForce.CLS, OrderType.LIMIT, "DAY", "LOC"),
    ],
)
def test_time_in_force_rows(tif: TimeInForce, kind: OrderType, ib_tif: str, ib_type: str) -> None:
    limit = Decimal("190.10") if kind is OrderType.LIMIT else None
    sent = mapping.ib_order_fields(ntlab_order(time_in_force=tif, order_type=kind, limit_price=limit), "")
    assert (sent["tif"], sent["orderType"]) == (ib_tif, ib_type)


def test_every_time_in_force_has_a_row() -> None:
    assert set(mapping.TIME_IN_FORCE) == set(TimeInForce)


@pytest.mark.parametrize(
    ("ib_type", "ib_tif", "kind", "tif"),
    [
        ("MKT", "DAY", OrderType.MARKET, TimeInForce.DAY),
        ("LMT", "GTC", OrderType.LIMIT, TimeInForce.GTC),
        ("STP", "DAY", OrderType.STOP, TimeInForce.DAY),
        ("STP LMT", "IOC", OrderType.STOP_LIMIT, TimeInForce.IOC),
        ("MOC", "DAY", OrderType.MARKET, TimeInForce.CLS),
        ("LOC", "DAY", OrderType.LIMIT, TimeInForce.CLS),
        ("TRAIL", "GTC", OrderType.TRAILING_STOP, TimeInForce.GTC),
        ("LMT", "FOK", OrderType.LIMIT, TimeInForce.FOK),
        ("MKT", "OPG", OrderType.MARKET, TimeInForce.OPG),
        ("LMT", "GTD", OrderType.LIMIT, TimeInForce.GTC),
    ],
)
def test_ib_order_rows(ib_type: str, ib_tif: str, kind: OrderType, tif: TimeInForce) -> None:
    trade = Trade(
        contract=Contract(secType="STK", symbol="BRK B", currency="USD", conId=72063691),
        order=Order(
            orderId=7,
            clientId=1,
            permId=1604102003,
            action="SELL",
            totalQuantity=25.0,
            orderType=ib_type,
            lmtPrice=190.1,
            auxPrice=0.5 if ib_type == "TRAIL" else 185.0,
            trailStopPrice=189.4,
            tif=ib_tif,
            orderRef="sim-000003",
        ),
        orderStatus=OrderStatus(
            orderId=7, status="Submitted", filled=10.0, remaining=15.0, avgFillPrice=190.2
        ),
    )
    found = mapping.broker_order(trade, NOW)
    assert (found.order_type, found.time_in_force) == (kind, tif)
    assert found.order_id == "sim-000003" and found.symbol == "BRK.B" and found.side is Side.SELL
    assert found.quantity == Decimal(25) and found.filled_quantity == Decimal(10)
    assert found.status is S.PARTIALLY_FILLED and found.avg_fill_price == Decimal("190.2")
    assert found.broker_order_id == "7/1604102003"
    if kind is OrderType.TRAILING_STOP:
        assert (found.trail_price, found.stop_price) == (Decimal("0.5"), Decimal("189.4"))


def test_every_ib_order_type_and_tif_has_a_row() -> None:
    cases = {"MKT", "LMT", "STP", "STP LMT", "MOC", "LOC", "TRAIL"}
    assert set(mapping.IB_ORDER_TYPE) == cases
    assert set(mapping.IB_TIME_IN_FORCE) == {"DAY", "GTC", "IOC", "FOK", "OPG", "GTD"}


def test_an_order_placed_without_order_ref_is_named_by_its_perm_id() -> None:
    assert mapping.reference(Order(permId=1604102009)) == "ib-1604102009"


@pytest.mark.parametrize(("ib_side", "side"), [("BOT", Side.BUY), ("SLD", Side.SELL)])
def test_execution_side_rows(ib_side: str, side: Side) -> None:
    assert mapping.EXECUTION_SIDE[ib_side] is side


@pytest.mark.parametrize(("ib_side", "side"), [("BUY", Side.BUY), ("SELL", Side.SELL), ("SSHORT", Side.SELL)])
def test_order_side_rows(ib_side: str, side: Side) -> None:
    assert mapping.IB_SIDE[ib_side] is side


@pytest.mark.parametrize(
    ("code", "liquidity"),
    [(0, None), (1, Liquidity.MAKER), (2, Liquidity.TAKER), (3, Liquidity.TAKER)],
)
def test_liquidity_rows(code: int, liquidity: Liquidity | None) -> None:
    assert mapping.LIQUIDITY[code] is liquidity


def test_a_fill_carries_the_exec_id_the_venue_and_the_commission() -> None:
    ib_fill = IBFill(
        Contract(secType="CASH", symbol="EUR", currency="USD", localSymbol="EUR.USD"),
        Execution(
            execId="e0d50002.5f9ca772.01.01",
            time=NOW,
            side="SLD",
            shares=25000.0,
            price=1.08415,
            exchange="IDEALPRO",
            lastLiquidity=1,
        ),
        CommissionReport(),
        NOW,
    )
    fill = mapping.fill(ib_fill, "sim-000004", Decimal("2.00"))
    assert (fill.fill_id, fill.order_id, fill.symbol, fill.side) == (
        "e0d50002.5f9ca772.01.01",
        "sim-000004",
        "EUR/USD",
        Side.SELL,
    )
    assert (fill.quantity, fill.price, fill.fee, fill.liquidity, fill.venue) == (
        Decimal(25000),
        Decimal("1.08415"),
        Decimal("2.00"),
        Liquidity.MAKER,
        "IDEALPRO",
    )


@pytest.mark.parametrize(
    ("value", "wanted"),
    [
        (190.1, "190.1"),
        (10.0, "10"),
        (1000.0, "1000"),
        (0.0125, "0.0125"),
        (1.08415, "1.08415"),
        (1.7976931348623157e308, None),
        (float("nan"), None),
        (2147483647, None),
        ("190.10", "190.1"),
        (None, None),
    ],
)
def test_numbers_come_in_as_the_wire_wrote_them(value: object, wanted: str | None) -> None:
    got = mapping.dec(value)  # type: ignore[arg-type]
    assert (None if got is None else str(got)) == wanted


def test_broker_ids_keep_both_of_ibs_ids() -> None:
    assert mapping.broker_id(12, 1604102001) == "12/1604102001"
    assert mapping.parse_broker_id("12/1604102001") == (12, 1604102001)
    assert mapping.parse_broker_id("fake-1") is None and mapping.parse_broker_id(None) is None


@pytest.mark.parametrize(
    ("symbol", "key"),
    [
        ("AAPL", ContractKey("AAPL", "STK", "SMART", "USD")),
        ("BRK.B", ContractKey("BRK B", "STK", "SMART", "USD")),
        ("EUR/USD", ContractKey("EUR", "CASH", "IDEALPRO", "USD")),
        ("USD/JPY", ContractKey("USD", "CASH", "IDEALPRO", "JPY")),
        ("BTC/USD", ContractKey("BTC", "CRYPTO", "PAXOS", "USD")),
        ("ETH/USD", ContractKey("ETH", "CRYPTO", "PAXOS", "USD")),
    ],
)
def test_contracts_both_ways(symbol: str, key: ContractKey) -> None:
    assert contract_key(symbol) == key
    assert ntlab_symbol(key.sec_type, key.symbol, key.currency, key.local_symbol) == symbol


def test_a_symbol_ib_cannot_trade_here_is_refused_with_the_forms_it_can() -> None:
    with pytest.raises(InvalidArgument, match="FX pair"):
        contract_key("not a symbol")
    assert ntlab_symbol("OPT", "AAPL", "USD", "AAPL  260320C00200000") == "AAPL  260320C00200000"


def test_a_bracket_goes_as_a_parent_and_two_children_the_last_transmitting() -> None:
    entry = ntlab_order(order_class=OrderClass.BRACKET, take_profit=Decimal(192), stop_loss=Decimal(188))
    sent = mapping.linked_fields(entry, legs(entry), "DU1", [30, 31, 32])
    assert [f["orderId"] for f in sent] == [30, 31, 32]
    assert [f["transmit"] for f in sent] == [False, False, True]
    assert [f.get("parentId", 0) for f in sent] == [0, 30, 30]
    assert [f["orderRef"] for f in sent] == ["sim-000001", "sim-000001-tp", "sim-000001-sl"]
    assert [(f["action"], f["orderType"]) for f in sent] == [("BUY", "LMT"), ("SELL", "LMT"), ("SELL", "STP")]
    assert (sent[1]["lmtPrice"], sent[2]["auxPrice"]) == (192.0, 188.0)


def test_an_oco_goes_as_two_orders_in_one_oca_group_that_reduces() -> None:
    oco = ntlab_order(
        side=Side.SELL, limit_price=Decimal(192), order_class=OrderClass.OCO, stop_loss=Decimal(188)
    )
    sent = mapping.linked_fields(oco, legs(oco), "", [40, 41])
    assert {f["ocaGroup"] for f in sent} == {"oco-sim-000001"}
    assert {f["ocaType"] for f in sent} == {2} and all(f["transmit"] for f in sent)
    assert [(f["action"], f["orderType"]) for f in sent] == [("SELL", "LMT"), ("SELL", "STP")]
