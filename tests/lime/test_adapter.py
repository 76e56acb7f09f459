"""LimeBroker against the fake over real HTTP and its websocket: auth and its renewal, the gate, a place
whose answer is lost (placed once), the order frames and trades joined, and no secret ever shown."""

from __future__ import annotations

import asyncio
import logging

import pytest

from ntlab.brokers.lime import LimeBroker
from ntlab.brokers.lime.fake import FakeLime
from ntlab.config import ExecutionConfig
from ntlab.core import OrderManager, OrderRequest, OrderStatus
from ntlab.errors import AuthenticationError, ConfigError, LiveTradingError
from tests.conformance.conftest import RISK
from tests.lime.conftest import broker_for


async def _settle(fake: FakeLime, broker: LimeBroker) -> None:
    for _ in range(3):
        await fake.hub.drain()
        await asyncio.sleep(0.02)
        await broker.wait_idle()


async def test_an_expired_or_revoked_token_is_renewed_with_the_password(fake: FakeLime) -> None:
    broker = broker_for(fake, stream=False)
    assert await broker.accounts()
    fake.expire_tokens()
    assert await broker.accounts()
    fake.revoke()
    assert await broker.positions() == []
    assert fake.issued == 3 and broker.rest.stats["renewals"] == 2
    await broker.close()


async def test_wrong_credentials_say_which_settings_to_check(fake: FakeLime) -> None:
    c = fake.credentials
    broker = LimeBroker(
        c.username,
        "wrong",
        c.client_id,
        c.client_secret,
        base_url=fake.base_url,
        auth_url=fake.auth_url,
        stream=False,
    )
    with pytest.raises(AuthenticationError, match="LIME_PASSWORD"):
        await broker.accounts()
    await broker.close()
    with pytest.raises(ConfigError, match="LIME_CLIENT_SECRET"):
        LimeBroker("u", "p", "id", "")


def test_only_paper_accounts_without_the_gate() -> None:
    with pytest.raises(LiveTradingError, match="@demo"):
        LimeBroker("u", "p", "id", "s", account_number="12345678@vision")
    assert LimeBroker("u", "p", "id", "s", account_number="ppr00001@demo").account_number
    live = ExecutionConfig(enable_live_trading=True, paper_trading=False, broker="lime")
    assert LimeBroker("u", "p", "id", "s", account_number="12345678@vision", config=live).live


@pytest.mark.parametrize("fault", ["stall", "reset after", "server error"])
async def test_a_place_whose_answer_is_lost_is_placed_once(fake: FakeLime, fault: str) -> None:
    where = {"method": "POST", "path": "/orders/place"}
    if fault == "stall":
        fake.faults.stall_next(1, seconds=3.0, **where)
    elif fault == "reset after":
        fake.faults.reset_next(1, after_processing=True, **where)
    else:
        fake.faults.fail_next(1, 503, after_processing=True, **where)
    broker = broker_for(fake, timeout=1.0, retry_initial=0.01)
    async with OrderManager(broker, risk=RISK, submit_timeout=1.5, retry_initial=0.01) as om:
        placed = await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=10))
        await _settle(fake, broker)
        assert om.order(placed.order_id).status is OrderStatus.FILLED
        assert len(fake.records) == 1 and broker.stats["lookups"] >= 1


async def test_partial_fills_arrive_as_trades_joined_to_their_order(fake: FakeLime) -> None:
    broker = broker_for(fake)
    async with OrderManager(broker, risk=RISK) as om:
        big = await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=2000))
        small = await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=10))
        for _ in range(40):
            await fake.advance(1)
            await _settle(fake, broker)
            if om.order(big.order_id).status is OrderStatus.FILLED:
                break
        assert (
            om.order(big.order_id).filled_quantity == 2000 and om.order(small.order_id).filled_quantity == 10
        )
        assert {f.fill_id for f in om.fills()} == {t["trade_id"] for t in fake.trades}


async def test_secrets_never_reach_a_repr_a_log_or_an_error(
    fake: FakeLime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    broker = broker_for(fake)
    async with OrderManager(broker, risk=RISK) as om:
        await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=1))
        await _settle(fake, broker)
        shown = " ".join([repr(broker), str(broker), repr(broker.rest.auth.credentials), caplog.text])
        token = (await broker.rest.auth.token()).value.get_secret_value()
    for secret in (fake.credentials.password, fake.credentials.client_secret, token, *fake.tokens):
        assert secret not in shown
