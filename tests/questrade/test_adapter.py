"""QuestradeBroker against the fake over real HTTP: trading refused for read-only apps (reads and the TCA
import still work), the 200-with-code refusal, rate-limit headers, the lookup rule, the gate, the Lab."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from ntlab.brokers.questrade import PARTNER_ONLY, QuestradeBroker
from ntlab.brokers.questrade.fake import ACCOUNT, SYMBOL_IDS, FakeQuestrade, RateWindow
from ntlab.brokers.questrade.orders import OrderMap, Sent
from ntlab.config import ExecutionConfig
from ntlab.core import OrderManager, OrderRequest
from ntlab.errors import LiveTradingError, OrderRejected
from tests.conformance.conftest import RISK
from tests.questrade.conftest import broker_for


def _external(fake: FakeQuestrade, quantity: int = 50) -> int:
    body = {
        "accountNumber": ACCOUNT,
        "symbolId": SYMBOL_IDS["AAPL"],
        "quantity": quantity,
        "orderType": "Market",
        "timeInForce": "Day",
        "action": "Buy",
        "primaryRoute": "AUTO",
        "secondaryRoute": "AUTO",
    }
    status, answer = fake.place_body(body)
    assert status == 200
    return int(answer["orderId"])


async def test_a_read_only_app_is_refused_clearly_and_its_executions_still_import(tmp_path: Path) -> None:
    async with FakeQuestrade(cash=1_000_000, partner=False) as fake:
        qid = _external(fake)  # placed in Questrade's own platform
        broker = broker_for(fake, tmp_path)
        async with OrderManager(broker, risk=RISK) as om:
            with pytest.raises(OrderRejected) as refused:
                await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=1))
            order = om.order(refused.value.order_id or "")
            assert order.reason_code == "not_allowed" and "partner apps only" in str(refused.value)
            before = fake.requests
            with pytest.raises(OrderRejected):  # known now: refused without asking Questrade again
                await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=1))
            assert fake.requests == before  # refused without a request
            fills = await broker.fills_since(datetime(2026, 1, 1, tzinfo=UTC))
            assert [f.order_id for f in fills] == [f"questrade-{qid}"] and fills[0].quantity == 50
            positions = await broker.positions()
            assert positions[0].quantity == Decimal(50)
        from ntlab.core.records import Fill
        from ntlab.tabular import frame

        table = frame(fills, Fill)  # what TCA takes: the records' own columns
        assert list(table["fill_id"]) == [str(fills[0].fill_id)]


async def test_trading_false_refuses_without_a_request(fake: FakeQuestrade, tmp_path: Path) -> None:
    broker = broker_for(fake, tmp_path, trading=False)
    async with OrderManager(broker, risk=RISK) as om:
        with pytest.raises(OrderRejected, match="partner apps only"):
            await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=1))
    assert not fake.orders and PARTNER_ONLY.startswith("Questrade grants")


async def test_an_error_under_http_200_is_a_rejection_with_its_reason(
    fake: FakeQuestrade, tmp_path: Path
) -> None:
    async with OrderManager(broker_for(fake, tmp_path), risk=RISK) as om:
        with pytest.raises(OrderRejected) as refused:
            await om.place_order(
                OrderRequest(
                    symbol="AAPL",
                    side="buy",
                    quantity=2_000_000,
                    order_type="limit",
                    limit_price=Decimal("1"),
                    time_in_force="day",
                )
            )
        order = om.order(refused.value.order_id or "")
        assert order.reason_code == "insufficient_funds"
    assert [o["state"] for o in fake.orders.values()] == ["Rejected"]  # the order exists, rejected


async def test_rate_limit_headers_on_every_limited_answer(fake: FakeQuestrade, tmp_path: Path) -> None:
    broker = broker_for(fake, tmp_path)
    token = await broker.auth.access()
    async with httpx.AsyncClient() as client:
        answer = await client.get(
            token.api_server + "v1/accounts",
            headers={"Authorization": f"Bearer {token.token.get_secret_value()}"},
        )
    assert int(answer.headers["X-RateLimit-Remaining"]) == 29
    assert float(answer.headers["X-RateLimit-Reset"]) > time.time() - 1
    await broker.accounts()
    assert broker.rest.budget.budgets["account"].remaining is not None
    await broker.close()


def test_the_fakes_windows_hold_per_second_and_per_hour() -> None:
    window = RateWindow(per_second=2, per_hour=3)
    assert [window.take(100.0)[0], window.take(100.1)[0], window.take(100.2)[0]] == [True, True, False]
    assert window.take(101.5)[0] is True
    allowed, remaining, reset = window.take(102.6)
    assert not allowed and remaining == 0 and reset == 3700.0  # the hour is used up


async def test_a_429_is_rate_limited_with_the_reset(fake: FakeQuestrade, tmp_path: Path) -> None:
    fake.faults.rate_limit_next(1, retry_after=1, method="GET", path="/v1/accounts")
    broker = broker_for(fake, tmp_path, retry_initial=0.01)
    assert await broker.accounts()  # the read waits for the reset and goes through
    await broker.close()


def _day_order(qid: int, created: datetime, quantity: int = 10) -> dict[str, object]:
    return {
        "id": qid,
        "symbolId": 8049,
        "side": "Buy",
        "totalQuantity": quantity,
        "orderType": "Limit",
        "limitPrice": Decimal("190.10"),
        "stopPrice": None,
        "creationTime": created.isoformat(),
    }


def test_the_lookup_rule_takes_the_earliest_unclaimed_match_sent_after_the_send() -> None:
    at = datetime(2026, 3, 2, 15, tzinfo=UTC)
    orders = OrderMap()
    sent = Sent(8049, "Buy", Decimal(10), "Limit", Decimal("190.10"), None, at)
    orders.sending("c-1", sent)
    day = [
        _day_order(1, at - timedelta(hours=1)),  # before the send: someone else's
        _day_order(2, at + timedelta(seconds=1), quantity=11),  # other fields
        _day_order(4, at + timedelta(seconds=2)),
        _day_order(3, at + timedelta(seconds=1)),
    ]
    assert orders.match("c-1", day)["id"] == 3
    assert orders.questrade_id("c-1") == "3" and "c-1" not in orders.sent
    orders.sending("c-2", sent)
    assert orders.match("c-2", day)["id"] == 4  # 3 is claimed
    orders.sending("c-3", sent)
    assert orders.match("c-3", day) is None  # nothing left: it never arrived


def test_the_order_map_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "map.json"
    orders = OrderMap.load(path)
    orders.placed("c-1", 17)
    orders.placed("c-1", 18)  # replaced: a new Questrade id, one ntlab order
    again = OrderMap.load(path)
    assert (
        again.questrade_id("c-1") == "18"
        and again.ntlab_id(17) == "c-1"
        and again.ntlab_id(99) == "questrade-99"
    )


def test_the_live_login_needs_the_gate(tmp_path: Path) -> None:
    with pytest.raises(LiveTradingError, match="ENABLE_LIVE_TRADING"):
        QuestradeBroker(tmp_path / "t", login_url="https://login.questrade.com")
    live = ExecutionConfig(enable_live_trading=True, paper_trading=False, broker="questrade")
    assert QuestradeBroker(tmp_path / "t", config=live).live
    assert QuestradeBroker(tmp_path / "t").auth.login_url == "https://practicelogin.questrade.com"


async def test_the_lab_builds_questrade_from_the_environment(
    fake: FakeQuestrade, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ntlab.lab import Lab

    monkeypatch.setenv("BROKER", "questrade")
    monkeypatch.setenv("QUESTRADE_TOKEN_FILE", str(tmp_path / "qt"))
    monkeypatch.setenv("QUESTRADE_REFRESH_TOKEN", fake.tokens.issue())
    monkeypatch.setenv("QUESTRADE_LOGIN_URL", fake.login_url)
    broker = QuestradeBroker.from_config(ExecutionConfig(), poll_interval=None)
    assert broker.tokens.exists() and "***" in repr(broker)
    lab = await asyncio.to_thread(Lab)
    try:
        assert isinstance(lab.broker, QuestradeBroker) and lab.broker.account_number == ACCOUNT
    finally:
        await asyncio.to_thread(lab.close)
