"""When the journal or the paper ledger cannot be written: nothing is sent that was not recorded, nobody is
told "failed" for an order the venue filled, nothing stays pending forever, and a restart finds the truth.

Writes are refused in two ways: SQLite's ``query_only`` on the real connection (a write error at exactly the
commit a test picks), and, in a child process, the operating system refusing to grow any file (RLIMIT_FSIZE:
the I/O error a full disk gives).
"""

import logging
import subprocess
import sys
import textwrap
from decimal import Decimal

import pytest

from ntlab.brokers.paper import PaperBroker
from ntlab.core import OrderManager, OrderRequest, OrderStatus, load_session, read_events
from ntlab.errors import BrokerUnavailable, JournalError, Reason
from ntlab.market import sample_market

MARKET = sample_market(symbols=["AAPL", "MSFT"])


def buy(quantity: int = 10, symbol: str = "AAPL") -> OrderRequest:
    return OrderRequest(symbol=symbol, side="buy", quantity=quantity, allow_duplicate=True)


def refuse_writes(connection, refuse: bool = True) -> None:
    connection.execute(f"PRAGMA query_only = {'ON' if refuse else 'OFF'}")


async def test_an_order_the_journal_cannot_record_is_not_sent(tmp_path, caplog):
    broker = PaperBroker(MARKET, ledger=tmp_path / "paper.sqlite")
    async with OrderManager(broker, journal=tmp_path / "j.sqlite", id_prefix="f") as om:
        await om.place_order(buy())
        refuse_writes(om._journal._db)
        with caplog.at_level(logging.ERROR), pytest.raises(JournalError, match="f-000002 not sent"):
            await om.place_order(buy(5))
        assert broker.submit_counts() == {"f-000001": 1}  # the venue never heard of it
        order = om.order("f-000002")
        assert order.status is OrderStatus.REJECTED and order.reason_code == Reason.JOURNAL_UNAVAILABLE
        assert om.halted and "journal cannot be written" in caplog.text
        with pytest.raises(JournalError):
            await om.resume()  # still unwritable: stays halted
        refuse_writes(om._journal._db, False)
        await om.resume()
        third = await om.place_order(buy(3))
        assert third.status is OrderStatus.FILLED
    kinds = [(e.kind, e.order_id) for e in read_events(tmp_path / "j.sqlite")]
    assert ("request", "f-000002") in kinds and ("rejected", "f-000002") in kinds  # written once it could be
    replayed = load_session(tmp_path / "j.sqlite")
    assert replayed.positions.quantity("AAPL") == 13


async def test_an_answer_the_journal_cannot_record_still_reaches_its_caller_and_a_restart_finds_it(tmp_path):
    journal, ledger = tmp_path / "j.sqlite", tmp_path / "paper.sqlite"

    class Venue(PaperBroker):
        """Fills the order, then the journal's file stops taking writes: the answer cannot be recorded."""

        journal_db = None

        async def submit_order(self, order):
            reports = await super().submit_order(order)
            refuse_writes(self.journal_db)
            return reports

    broker = Venue(MARKET, ledger=ledger)
    om = OrderManager(broker, journal=journal, id_prefix="f")
    await om.start()
    broker.journal_db = om._journal._db
    filled = await om.place_order(buy(10))
    assert filled.status is OrderStatus.FILLED  # the truth, not "failed"
    assert om.halted
    await om.close()  # the answer could still not be written: the journal holds the request only
    assert load_session(journal).orders["f-000001"].status is OrderStatus.PENDING
    async with OrderManager(PaperBroker(MARKET, ledger=ledger), journal=journal) as restarted:
        order = restarted.order("f-000001")
        assert order.status is OrderStatus.FILLED and order.filled_quantity == 10
        assert restarted.position("AAPL") == 10 and not restarted.halted


async def test_a_paper_ledger_that_cannot_record_a_submit_refuses_it(tmp_path):
    broker = PaperBroker(MARKET, ledger=tmp_path / "paper.sqlite")
    async with OrderManager(broker, journal=tmp_path / "j.sqlite", id_prefix="f") as om:
        refuse_writes(broker._ledger._db)
        with pytest.raises(BrokerUnavailable, match="did not reach paper"):
            await om.place_order(buy())
        assert om.order("f-000001").status is OrderStatus.REJECTED  # never left pending
        assert om.position("AAPL") == 0
        refuse_writes(broker._ledger._db, False)
        assert (await om.place_order(buy())).status is OrderStatus.FILLED


async def test_a_paper_ledger_failing_after_a_fill_keeps_the_fill_and_refuses_new_orders(tmp_path):
    ledger = tmp_path / "paper.sqlite"
    broker = PaperBroker(MARKET, ledger=ledger)
    async with OrderManager(broker, journal=tmp_path / "j.sqlite", id_prefix="f") as om:
        quote = broker.last_quote("AAPL")
        resting = await om.place_order(
            OrderRequest(symbol="AAPL", side="buy", quantity=100, order_type="limit", limit_price=quote.bid)
        )
        refuse_writes(broker._ledger._db)
        while om.order(resting.order_id).filled_quantity == 0:
            await broker.advance("30s")  # fills while the ledger cannot record it: the manager hears anyway
        with pytest.raises(BrokerUnavailable):
            await om.place_order(buy())
        refuse_writes(broker._ledger._db, False)
        assert (await om.place_order(buy())).status is OrderStatus.FILLED  # the queued rows went out first
        filled = om.order(resting.order_id).filled_quantity
    restored = PaperBroker(MARKET, ledger=ledger)  # the ledger holds the fill it could not write at the time
    assert {f.order_id for f in await restored.fills_since(None)} >= {resting.order_id}
    assert (
        sum(f.quantity for f in await restored.fills_since(None) if f.order_id == resting.order_id) == filled
    )
    await restored.close()


def test_a_full_disk_in_a_real_process(tmp_path):
    """The operating system refuses to grow any file (RLIMIT_FSIZE), as a full disk does, mid-session."""
    script = textwrap.dedent(
        f"""
        import asyncio, resource, signal
        from ntlab.brokers.paper import PaperBroker
        from ntlab.core import OrderManager, OrderRequest
        from ntlab.errors import JournalError
        from ntlab.market import sample_market

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a refused write is an error, not a signal

        async def main():
            broker = PaperBroker(sample_market(symbols=["AAPL"]), ledger={str(tmp_path / "paper.sqlite")!r})
            async with OrderManager(broker, journal={str(tmp_path / "j.sqlite")!r}, id_prefix="d") as om:
                await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=10))
                soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
                resource.setrlimit(resource.RLIMIT_FSIZE, (0, hard))
                try:
                    await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=5))
                except JournalError as error:
                    print("refused:", error)
                print("status:", om.order("d-000002").status.value, om.order("d-000002").reason_code)
                print("halted:", om.halted)
                resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
                await om.resume()
                print("after:", (await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=1))).status.value)
                print("attempts:", broker.submit_counts())

        asyncio.run(main())
        """
    )
    child = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert child.returncode == 0, child.stderr
    out = child.stdout
    assert "refused: order d-000002 not sent" in out
    assert "status: rejected journal_unavailable" in out and "halted: True" in out and "after: filled" in out
    assert "'d-000002'" not in out.split("attempts:")[1]  # the venue never saw it
    session = load_session(tmp_path / "j.sqlite")
    assert session.positions.quantity("AAPL") == Decimal(11)
