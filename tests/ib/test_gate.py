"""Paper unless both keys of the live-trading gate say live: live ports and live accounts are refused without
it. The settings come from the environment (IB_HOST, IB_PORT, IB_CLIENT_ID, IB_ACCOUNT); IB's API socket
carries no credential (the login lives in TWS), so there is no secret for the adapter to hide."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from decimal import Decimal

import pytest

from ntlab.brokers.ib import IBBroker
from ntlab.brokers.ib.fake import FakeTWS
from ntlab.config import ExecutionConfig
from ntlab.core import OrderManager
from ntlab.errors import LiveTradingError

LIVE = {"enable_live_trading": True, "paper_trading": False, "broker": "ib"}


@pytest.mark.parametrize("port", [7496, 4001])
def test_live_ports_need_the_gate(port: int) -> None:
    with pytest.raises(LiveTradingError, match="PAPER_TRADING=false"):
        IBBroker(port=port)
    with pytest.raises(LiveTradingError):
        IBBroker(
            port=port, config=ExecutionConfig(enable_live_trading=True, broker="ib")
        )  # one key is not two
    assert IBBroker(port=port, config=ExecutionConfig(**LIVE)).live


def test_the_default_port_is_paper_unless_the_gate_is_open() -> None:
    assert IBBroker().port == 7497 and not IBBroker().live
    assert IBBroker(config=ExecutionConfig(**LIVE)).port == 7496
    assert IBBroker(port=4002).port == 4002  # IB Gateway's paper port


async def test_a_tws_logged_in_to_a_live_account_is_refused_without_the_gate() -> None:
    async with FakeTWS(account="U1234567") as fake:
        adapter = IBBroker(port=fake.port, timeout=2.0)
        with pytest.raises(LiveTradingError, match="live account"):
            await adapter.connect(OrderManager(adapter))
        assert not adapter.ib.isConnected()
        await adapter.close()
        gated = IBBroker(port=fake.port, timeout=2.0, config=ExecutionConfig(**LIVE))
        await gated.connect(OrderManager(gated))
        assert gated.account_id == "U1234567"
        await gated.close()


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROKER", "ib")
    monkeypatch.setenv("IB_HOST", "10.0.0.5")
    monkeypatch.setenv("IB_PORT", "4002")
    monkeypatch.setenv("IB_CLIENT_ID", "17")
    monkeypatch.setenv("IB_ACCOUNT", "DU765432")
    adapter = IBBroker.from_config(ExecutionConfig())
    assert (adapter.host, adapter.port, adapter.client_id, adapter.account_id) == (
        "10.0.0.5",
        4002,
        17,
        "DU765432",
    )
    assert repr(adapter) == "IBBroker(host='10.0.0.5', port=4002, client_id=17, mode='paper')"
    monkeypatch.setenv("IB_PORT", "7496")
    with pytest.raises(LiveTradingError):
        IBBroker.from_config(ExecutionConfig())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_lab_trades_on_ib_through_the_fake_run_as_users_run_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """``python -m ntlab.brokers.ib.fake --port N`` in its own process, and ``Lab(broker="ib")`` on it."""
    from ntlab.lab import Lab

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "ntlab.brokers.ib.fake", "--port", str(port), "--speed", "20"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        banner = server.stdout.readline()
        assert f"fake TWS on 127.0.0.1:{port}" in banner
        monkeypatch.setenv("BROKER", "ib")
        monkeypatch.setenv("IB_PORT", str(port))
        with Lab(journal=None) as lab:
            assert lab.venue == "ib paper account"
            placed = lab.buy("AAPL", 10)
            for _ in range(200):
                if lab.order(placed.order_id).status.value == "filled":
                    break
                time.sleep(0.02)
            assert lab.order(placed.order_id).filled_quantity == Decimal(10)
            assert lab.manager.position("AAPL") == Decimal(10)
    finally:
        server.terminate()
        server.wait(5)
