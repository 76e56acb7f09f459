"""The fake's messages through ib_async's own framing and decoder, and ib_async's placeOrder through the
fake's reader: a message one field short would be dropped by ib_async with a log line only, so each one is
decoded here and its fields checked where they land."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from ib_async import Contract, LimitOrder, MarketOrder, Order, StopLimitOrder, StopOrder
from ib_async.client import Client

from ntlab.brokers.ib import fake_messages as msg
from ntlab.brokers.ib.fake_catalog import Catalog
from ntlab.brokers.ib.fake_orders import TwsExecution, TwsOrder, read_place_order
from ntlab.brokers.ib.wire import UNSET_DOUBLE, frame, split, text, tws_time
from ntlab.market import sample_market

CATALOG = Catalog(sample_market())
AAPL = CATALOG.by_symbol["AAPL"]
EUR = CATALOG.by_symbol["EUR/USD"]
BTC = CATALOG.by_symbol["BTC/USD"]
WHEN = datetime(2026, 3, 2, 14, 31, 5, tzinfo=UTC)


class Recorder:
    """A wrapper that records every call the decoder makes (and has what execDetails looks up)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.ib = SimpleNamespace(TimezoneTWS="")
        self.defaultTimezone = UTC

    def __getattr__(self, name: str) -> Any:
        def record(*args: Any) -> None:
            self.calls.append((name, args))

        return record

    def only(self, name: str) -> tuple[Any, ...]:
        found = [args for called, args in self.calls if called == name]
        assert len(found) == 1, f"expected one {name}, got {self.calls}"
        return found[0]


def decode(fields: msg.Fields, caplog: pytest.LogCaptureFixture) -> Recorder:
    """Feed one framed message to ib_async's client (framing) and decoder at server version 178."""
    recorder = Recorder()
    client = Client(recorder)
    client._serverVersion = msg.SERVER_VERSION
    client.decoder.serverVersion = msg.SERVER_VERSION
    client._apiReady = True
    with caplog.at_level(logging.DEBUG, logger="ib_async"):
        client._onSocketHasData(frame(fields))
    problems = [r for r in caplog.records if r.name.startswith("ib_async") and r.levelno >= logging.ERROR]
    assert not problems, [r.getMessage() for r in problems]
    return recorder


def order(**fields: Any) -> TwsOrder:
    base: dict[str, Any] = {
        "perm_id": 1604102001,
        "client_id": 1,
        "order_id": 12,
        "spec": AAPL,
        "action": "BUY",
        "quantity": Decimal(100),
        "order_type": "LMT",
        "lmt_price": Decimal("190.10"),
        "aux_price": None,
        "tif": "GTC",
        "account": "DU123456",
        "order_ref": "sim-000001",
        "created": WHEN,
        "status": "Submitted",
    }
    return TwsOrder(**(base | fields))


def test_fields_are_spelled_as_tws_writes_them() -> None:
    assert [text(v) for v in (Decimal("190.10"), Decimal("100"), Decimal("0.0001"), True, False, None)] == [
        "190.1",
        "100",
        "0.0001",
        "1",
        "0",
        "",
    ]
    assert text(Decimal("1E+3")) == "1000"
    assert split(frame([5, "a", ""])[4:]) == ["5", "a", ""]
    assert tws_time(WHEN) == "20260302 09:31:05 US/Eastern"


def test_the_handshake_answer_is_exactly_two_fields() -> None:
    fields = msg.hello(178, WHEN)
    assert len(fields) == 2 and fields[0] == 178
    assert str(fields[1]).startswith("20260302 09:31:05 ")


def test_startup_messages(caplog: pytest.LogCaptureFixture) -> None:
    assert decode(msg.managed_accounts(["DU123456"]), caplog).only("managedAccounts") == ("DU123456",)
    assert decode(msg.next_valid_id(42), caplog).only("nextValidId") == (42,)
    assert decode(msg.error(-1, 2104, "Market data farm connection is OK:usfarm"), caplog).only("error") == (
        -1,
        2104,
        "Market data farm connection is OK:usfarm",
        "",
    )
    assert decode(msg.current_time(1772461865), caplog).only("currentTime") == (1772461865,)
    for end, name in [
        (msg.open_order_end(), "openOrderEnd"),
        (msg.position_end(), "positionEnd"),
        (msg.completed_orders_end(), "completedOrdersEnd"),
        (msg.account_download_end("DU123456"), "accountDownloadEnd"),
        (msg.exec_details_end(9), "execDetailsEnd"),
        (msg.contract_details_end(3), "contractDetailsEnd"),
        (msg.account_update_multi_end(4), "accountUpdateMultiEnd"),
        (msg.account_summary_end(5), "accountSummaryEnd"),
        (msg.tick_snapshot_end(6), "tickSnapshotEnd"),
    ]:
        decode(end, caplog).only(name)


@pytest.mark.parametrize("spec", [AAPL, EUR, BTC], ids=lambda s: s.ntlab_symbol)
def test_contract_details(spec: Any, caplog: pytest.LogCaptureFixture) -> None:
    req_id, details = decode(msg.contract_details(3, spec, "20260302:0930-20260302:1600"), caplog).only(
        "contractDetails"
    )
    c = details.contract
    assert req_id == 3
    assert (c.conId, c.symbol, c.secType, c.exchange, c.currency, c.localSymbol) == (
        spec.con_id,
        spec.symbol,
        spec.sec_type,
        spec.exchange,
        spec.currency,
        spec.local_symbol,
    )
    assert details.minTick == float(spec.min_tick) and details.longName == spec.long_name
    assert details.timeZoneId == "US/Eastern" and details.sizeIncrement == float(spec.size_increment)


def test_order_status(caplog: pytest.LogCaptureFixture) -> None:
    placed = order(filled=Decimal(40), avg_price=Decimal("190.05"), last_fill_price=Decimal("190.07"))
    assert decode(msg.order_status(placed), caplog).only("orderStatus") == (
        12,
        "Submitted",
        40.0,
        60.0,
        190.05,
        1604102001,
        0,
        190.07,
        1,
        "",
        0.0,
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"order_type": "MKT", "lmt_price": None},
        {"order_type": "LMT"},
        {"order_type": "STP", "lmt_price": None, "aux_price": Decimal("185.00"), "status": "PreSubmitted"},
        {"order_type": "STP LMT", "aux_price": Decimal("191.00")},
        {
            "order_type": "TRAIL",
            "lmt_price": None,
            "aux_price": Decimal("0.50"),
            "trail_stop_price": Decimal("189.4"),
        },
        {"order_type": "TRAIL", "lmt_price": None, "trailing_percent": Decimal("1.5")},
        {"order_type": "MOC", "lmt_price": None, "tif": "DAY"},
        {"order_type": "LMT", "oca_group": "oco-1", "oca_type": 2, "parent_id": 11},
        {"spec": EUR, "quantity": Decimal(25000), "lmt_price": Decimal("1.0841")},
        {"spec": BTC, "quantity": Decimal("0.0125"), "lmt_price": Decimal("64000.25"), "tif": "IOC"},
    ],
    ids=lambda f: f"{f.get('spec', AAPL).ntlab_symbol}:{f.get('order_type', 'LMT')}",
)
def test_open_order(fields: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    placed = order(**fields)
    assert len(msg.open_order(placed)) == 127  # a plain order at server version 178
    order_id, contract, ib_order, state = decode(msg.open_order(placed), caplog).only("openOrder")
    assert order_id == 12 and state.status == placed.status
    spec = placed.spec
    assert (contract.conId, contract.symbol, contract.secType, contract.currency) == (
        spec.con_id,
        spec.symbol,
        spec.sec_type,
        spec.currency,
    )
    assert ib_order.orderRef == "sim-000001" and ib_order.permId == 1604102001 and ib_order.clientId == 1
    assert ib_order.orderType == placed.order_type and ib_order.tif == placed.tif
    assert Decimal(repr(ib_order.totalQuantity)) == placed.quantity
    assert ib_order.lmtPrice == float(placed.lmt_price or 0)
    assert ib_order.auxPrice == float(placed.aux_price or 0)
    assert ib_order.ocaGroup == placed.oca_group and ib_order.ocaType == placed.oca_type
    assert ib_order.parentId == placed.parent_id and ib_order.account == "DU123456"
    assert not ib_order.whatIf
    want_stop = float(placed.trail_stop_price) if placed.trail_stop_price else float(UNSET_DOUBLE)
    assert ib_order.trailStopPrice == want_stop
    want_pct = float(placed.trailing_percent) if placed.trailing_percent else float(UNSET_DOUBLE)
    assert ib_order.trailingPercent == want_pct


def test_a_what_if_answer_ends_ib_async_s_request(caplog: pytest.LogCaptureFixture) -> None:
    probe = order(perm_id=0, status="PreSubmitted")
    figures = (Decimal("9505.00"), Decimal("4752.50"), Decimal("1.00"))
    _, _, ib_order, state = decode(msg.open_order(probe, what_if=figures), caplog).only("openOrder")
    assert ib_order.whatIf
    assert float(state.initMarginChange) == 9505.0 and state.commission == 1.0
    assert state.commissionCurrency == "USD"


def test_completed_order(caplog: pytest.LogCaptureFixture) -> None:
    done = order(status="Filled", filled=Decimal(100), completed_time="20260302 09:31:05 US/Eastern")
    contract, ib_order, state = decode(msg.completed_order(done), caplog).only("completedOrder")
    assert contract.conId == AAPL.con_id and ib_order.orderRef == "sim-000001"
    assert ib_order.permId == 1604102001 and ib_order.filledQuantity == 100.0
    assert state.status == "Filled" and state.completedTime == "20260302 09:31:05 US/Eastern"


def execution(**fields: Any) -> TwsExecution:
    base: dict[str, Any] = {
        "exec_id": "e0d50001.5f9ca771.01.01",
        "perm_id": 1604102001,
        "client_id": 1,
        "order_id": 12,
        "order_ref": "sim-000001",
        "spec": AAPL,
        "side": "BOT",
        "shares": Decimal(40),
        "price": Decimal("190.05"),
        "time": WHEN,
        "cum_qty": Decimal(40),
        "avg_price": Decimal("190.05"),
        "liquidity": 2,
        "commission": Decimal("1.00"),
        "realized_pnl": None,
    }
    return TwsExecution(**(base | fields))


def test_exec_details_and_commission_report(caplog: pytest.LogCaptureFixture) -> None:
    req_id, contract, ex = decode(msg.exec_details(-1, execution(), "DU123456"), caplog).only("execDetails")
    assert req_id == -1 and contract.conId == AAPL.con_id and contract.exchange == "ISLAND"
    assert (ex.execId, ex.orderId, ex.permId, ex.clientId, ex.orderRef) == (
        "e0d50001.5f9ca771.01.01",
        12,
        1604102001,
        1,
        "sim-000001",
    )
    assert (ex.side, ex.shares, ex.price, ex.cumQty, ex.avgPrice, ex.lastLiquidity) == (
        "BOT",
        40.0,
        190.05,
        40.0,
        190.05,
        2,
    )
    assert ex.time == WHEN and ex.acctNumber == "DU123456" and not ex.pendingPriceRevision
    (report,) = decode(msg.commission_report(execution()), caplog).only("commissionReport")
    assert (report.execId, report.commission, report.currency) == ("e0d50001.5f9ca771.01.01", 1.0, "USD")
    (closing,) = decode(msg.commission_report(execution(realized_pnl=Decimal("12.5"))), caplog).only(
        "commissionReport"
    )
    assert closing.realizedPNL == 12.5


def test_positions_account_and_pnl(caplog: pytest.LogCaptureFixture) -> None:
    account, contract, quantity, avg = decode(
        msg.position("DU123456", AAPL, Decimal(-25), Decimal("190.05")), caplog
    ).only("position")
    assert (account, contract.conId, contract.exchange, quantity, avg) == (
        "DU123456",
        AAPL.con_id,
        "NASDAQ",
        -25.0,
        190.05,
    )
    assert decode(msg.account_value("NetLiquidation", Decimal("1000012.5"), "USD", "DU123456"), caplog).only(
        "updateAccountValue"
    ) == ("NetLiquidation", "1000012.5", "USD", "DU123456")
    contract, *figures = decode(
        msg.portfolio_value(AAPL, Decimal(10), Decimal("191"), Decimal("190"), Decimal(0), "DU123456"), caplog
    ).only("updatePortfolio")
    assert contract.conId == AAPL.con_id and figures == [10.0, 191.0, 1910.0, 190.0, 10.0, 0.0, "DU123456"]
    assert decode(msg.account_update_time(WHEN), caplog).only("updateAccountTime") == ("09:31",)
    assert decode(msg.account_update_multi(4, "DU123456", "BuyingPower", "4000", "USD"), caplog).only(
        "accountUpdateMulti"
    ) == (4, "DU123456", "", "BuyingPower", "4000", "USD")
    assert decode(msg.account_summary(5, "DU123456", "TotalCashValue", "99.5", "USD"), caplog).only(
        "accountSummary"
    ) == (5, "DU123456", "TotalCashValue", "99.5", "USD")
    assert decode(msg.pnl(6, Decimal("-1.15"), Decimal("2"), Decimal("0")), caplog).only("pnl") == (
        6,
        -1.15,
        2.0,
        0.0,
    )


def test_quotes(caplog: pytest.LogCaptureFixture) -> None:
    assert decode(msg.tick_price(6, 1, Decimal("189.95"), Decimal(600)), caplog).only("priceSizeTick") == (
        6,
        1,
        189.95,
        600.0,
    )
    assert decode(msg.tick_size(6, 3, Decimal(200)), caplog).only("tickSize") == (6, 3, 200.0)
    assert decode(msg.market_data_type(6, 1), caplog).only("marketDataType") == (6, 1)


def sent_by_ib_async(contract: Contract, ib_order: Order) -> list[str]:
    """The fields ib_async's own client writes for a placeOrder at server version 178."""
    client = Client(Recorder())
    client._serverVersion = msg.SERVER_VERSION
    client.connState = Client.CONNECTED
    written: list[bytes] = []
    client.conn.sendMsg = written.append  # type: ignore[method-assign]
    client.MaxRequests = 0
    client.placeOrder(21, contract, ib_order)
    (data,) = written
    return split(data[4:])


@pytest.mark.parametrize(
    ("ib_order", "kind"),
    [
        (MarketOrder("BUY", 100, orderRef="sim-1"), "MKT"),
        (LimitOrder("SELL", 100, 190.1, tif="GTC", orderRef="sim-2"), "LMT"),
        (StopOrder("SELL", 100, 185.0, orderRef="sim-3"), "STP"),
        (StopLimitOrder("BUY", 100, 191.5, 191.0, orderRef="sim-4"), "STP LMT"),
        (
            Order(action="SELL", totalQuantity=100, orderType="TRAIL", trailingPercent=1.5, orderRef="sim-5"),
            "TRAIL",
        ),
        (LimitOrder("BUY", 100, 190.0, parentId=20, transmit=False, ocaGroup="g", ocaType=2), "LMT"),
        (Order(action="BUY", totalQuantity=0, orderType="MKT", cashQty=250.0, tif="IOC"), "MKT"),
    ],
)
def test_place_order_as_ib_async_writes_it(ib_order: Order, kind: str) -> None:
    contract = Contract(conId=265598, symbol="AAPL", secType="STK", exchange="SMART", currency="USD")
    fields = sent_by_ib_async(contract, ib_order)
    placed = read_place_order(fields, msg.SERVER_VERSION)
    assert (placed.order_id, placed.con_id, placed.symbol, placed.sec_type, placed.exchange) == (
        21,
        265598,
        "AAPL",
        "STK",
        "SMART",
    )
    assert placed.order_type == kind and placed.action == ib_order.action
    assert placed.quantity == Decimal(repr(ib_order.totalQuantity))
    assert placed.order_ref == ib_order.orderRef and placed.transmit == ib_order.transmit
    assert placed.parent_id == ib_order.parentId and placed.oca_group == ib_order.ocaGroup
    assert placed.oca_type == ib_order.ocaType
    assert placed.tif == (ib_order.tif or "DAY")
    lmt = ib_order.lmtPrice if ib_order.orderType in ("LMT", "STP LMT") else None
    assert placed.lmt_price == (Decimal(repr(lmt)) if lmt else None)
    if ib_order.orderType in ("STP", "STP LMT"):
        assert placed.aux_price == Decimal(repr(ib_order.auxPrice))
    if ib_order.orderType == "TRAIL":
        assert placed.trailing_percent == Decimal("1.5")
    if ib_order.cashQty < 1e300:
        assert placed.cash_qty == Decimal("250.0")
    assert not placed.what_if and placed.conditions == 0
