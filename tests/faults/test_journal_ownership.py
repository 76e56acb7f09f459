"""A journal belongs to one session at a time; readers never need it; a failed start gives it back."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
from datetime import UTC, datetime

import pytest

from ntlab import Lab
from ntlab.brokers.paper import PaperBroker
from ntlab.core import OrderManager, OrderRequest, load_session, read_events
from ntlab.errors import BrokerUnavailable, JournalError
from ntlab.market import sample_market

MARKET = sample_market(symbols=["AAPL", "MSFT"])


def buy(quantity: int = 10) -> OrderRequest:
    return OrderRequest(symbol="AAPL", side="buy", quantity=quantity, allow_duplicate=True)


def checkpoint_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "ntlab-journal-checkpoint"]


async def test_a_second_session_on_a_journal_is_refused_and_told_who_holds_it(tmp_path):
    journal = tmp_path / "j.sqlite"
    async with OrderManager(PaperBroker(MARKET), journal=journal, id_prefix="a") as om:
        await om.place_order(buy())
        with pytest.raises(JournalError, match=rf"in use by process {os.getpid()} on "):
            await OrderManager(PaperBroker(MARKET), journal=journal).start()
        # readers need no lock: the live journal reports what was committed
        assert [e.kind for e in read_events(journal)][:2] == ["session", "request"]
        assert [o.order_id for o in load_session(journal).snapshots()] == ["a-000001"]
    async with OrderManager(PaperBroker(MARKET), journal=journal) as om:  # free again once closed
        assert (await om.place_order(buy())).order_id == "a-000002"


def test_a_second_lab_on_the_same_journal_is_refused(tmp_path):
    journal = tmp_path / "lab.sqlite"
    with Lab(journal=journal) as lab:
        lab.buy("AAPL", 1)
        with pytest.raises(JournalError, match="in use by process"):
            Lab(journal=journal)
        assert lab.orders.shape[0] == 1  # the first session is untouched


async def test_a_killed_session_leaves_the_journal_free_and_a_restart_reconciles(tmp_path):
    journal, ledger = tmp_path / "j.sqlite", tmp_path / "paper.sqlite"
    script = textwrap.dedent(
        f"""
        import asyncio, os, signal
        from ntlab.brokers.paper import PaperBroker
        from ntlab.core import OrderManager, OrderRequest
        from ntlab.market import sample_market

        async def main():
            broker = PaperBroker(sample_market(symbols=["AAPL", "MSFT"]), ledger={str(ledger)!r})
            async with OrderManager(broker, journal={str(journal)!r}, id_prefix="k") as om:
                await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=10))
                print("placed", flush=True)
                os.kill(os.getpid(), signal.SIGKILL)

        asyncio.run(main())
        """
    )
    child = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert child.returncode == -signal.SIGKILL and "placed" in child.stdout
    broker = PaperBroker(MARKET, ledger=ledger)
    async with OrderManager(broker, journal=journal) as om:
        assert om.position("AAPL") == 10
        assert {p.symbol: p.quantity for p in await broker.positions()} == {"AAPL": 10}


async def test_a_start_that_fails_gives_the_journal_back(tmp_path):
    class Unreachable(PaperBroker):
        async def connect(self, sink):
            raise BrokerUnavailable("the venue is down")

    journal = tmp_path / "j.sqlite"
    before = len(checkpoint_threads())
    with pytest.raises(BrokerUnavailable):
        await OrderManager(Unreachable(MARKET), journal=journal).start()
    assert len(checkpoint_threads()) == before
    async with OrderManager(PaperBroker(MARKET), journal=journal) as om:  # nobody holds it
        await om.place_order(buy())


@pytest.mark.parametrize("where", ["under a file", "a folder"])
def test_a_journal_that_cannot_be_written_is_a_journal_error(tmp_path, where):
    blocker = tmp_path / "plain.txt"
    blocker.write_text("x")
    path = blocker / "j.sqlite" if where == "under a file" else tmp_path
    with pytest.raises(JournalError):
        Lab(journal=path)


def test_a_journal_of_several_sessions_reports_cleanly(tmp_path):
    journal = tmp_path / "many.sqlite"
    for _ in range(3):  # three sessions one after another, each on a fresh paper venue
        demo = [sys.executable, "-m", "ntlab.cli", "demo", "--journal", str(journal)]
        subprocess.run(demo, check=True, capture_output=True, timeout=120)
    events = read_events(journal)
    assert [e.kind for e in events].count("session") == 3
    fill_ids = [f.fill_id for f in load_session(journal).fills]
    assert len(fill_ids) == len(set(fill_ids))
    report = subprocess.run(
        [
            sys.executable,
            "-m",
            "ntlab.cli",
            "report",
            "--journal",
            str(journal),
            "--out",
            str(tmp_path / "r.html"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert report.returncode == 0, report.stderr
    assert (tmp_path / "r.html").stat().st_size > 0


def test_the_lock_names_when_it_was_taken(tmp_path):
    journal = tmp_path / "j.sqlite"
    with Lab(journal=journal):
        text = (tmp_path / "j.sqlite.lock").read_text()
    assert text.startswith(f"process {os.getpid()} on ") and datetime.now(UTC).strftime("%Y-%m-%d") in text
    assert not (tmp_path / "j.sqlite.lock").exists()  # released and removed on close
