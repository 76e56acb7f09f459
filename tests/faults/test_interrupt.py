"""Interrupting a running algo (Ctrl-C in a notebook) never lets a parent hold more than its quantity.

The engine's advance is cancelled at every point it can stop at; afterwards the parent's filled plus working
quantity is within its quantity, it loses none of its children, and finishing the window fills it exactly.
A real SIGINT to a process blocked in ``lab.advance`` does the same through the notebook bridge.
"""

import asyncio
import os
import subprocess
import sys
import textwrap
from decimal import Decimal

import pytest

from ntlab.algos import AlgoEngine, AlgoStatus
from ntlab.brokers.paper import PaperBroker
from ntlab.core import OrderManager
from ntlab.market import sample_market

MARKET = sample_market(symbols=["AAPL"])
QUANTITY = Decimal(20_000)


def held(om: OrderManager, parent_id: str) -> tuple[Decimal, Decimal, int]:
    """(filled, working, children) of a parent, from the manager's orders: the truth, not the parent's view."""
    children = [om.order(i) for i in om.children(parent_id)]
    filled = sum((o.filled_quantity for o in children), Decimal(0))
    working = sum((o.remaining_quantity for o in children if o.status.is_open), Decimal(0))
    return filled, working, len(children)


@pytest.mark.parametrize("cut_after", [1, 2, 3, 5, 8, 13, 21, 34, 55, 89])
async def test_an_interrupted_advance_never_overfills_a_parent(cut_after):
    broker = PaperBroker(MARKET)
    async with OrderManager(broker, id_prefix="i") as om:
        engine = AlgoEngine(om)
        parent = await engine.twap("AAPL", QUANTITY, minutes=30, placement="aggressive", interval="10s")
        stepping = asyncio.create_task(engine.advance("30min"))
        for _ in range(cut_after):  # let it run to a different point each time, then interrupt it there
            await asyncio.sleep(0)
        stepping.cancel()
        with pytest.raises(asyncio.CancelledError):
            await stepping
        filled, working, children = held(om, parent.parent_id)
        assert filled + working <= QUANTITY
        snap = parent.snapshot()
        assert snap.children == children and snap.filled_quantity == filled
        await engine.run()
        filled, working, _ = held(om, parent.parent_id)
        assert parent.snapshot().status is AlgoStatus.FILLED
        assert filled == QUANTITY and working == 0 and om.position("AAPL") == QUANTITY


def test_ctrl_c_in_lab_advance_with_a_running_twap():
    """SIGINT while the main thread waits in lab.advance, as a notebook's interrupt button sends it."""
    script = textwrap.dedent(
        """
        import os, signal, threading, time
        from decimal import Decimal
        from ntlab import Lab

        def held(lab, parent):
            om = lab.manager
            kids = [om.order(i) for i in om.children(parent.parent_id)]
            filled = sum((o.filled_quantity for o in kids), Decimal(0))
            working = sum((o.remaining_quantity for o in kids if o.status.is_open), Decimal(0))
            return filled, working

        with Lab(journal=None) as lab:
            parent = lab.algos.twap("AAPL", 20_000, minutes=30, placement="aggressive", interval="10s")
            interrupts, stop = [0], threading.Event()

            def interrupter():  # Ctrl-C, again and again, until five have landed
                delays = [0.002, 0.005, 0.01, 0.02, 0.04]
                k = 0
                while not stop.is_set() and interrupts[0] < 5:
                    time.sleep(delays[k % len(delays)])
                    k += 1
                    os.kill(os.getpid(), signal.SIGINT)

            thread = threading.Thread(target=interrupter)
            thread.start()
            while not parent.status.is_final:
                try:
                    lab.advance("2min")
                except KeyboardInterrupt:
                    interrupts[0] += 1
                try:
                    filled, working = held(lab, parent)
                except KeyboardInterrupt:
                    interrupts[0] += 1
                    filled, working = held(lab, parent)
                assert filled + working <= 20_000, (filled, working)
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a last Ctrl-C in flight must not hit the join
            stop.set()
            thread.join()
            print("interrupts", interrupts[0])
            print("status", parent.status.value, parent.snapshot().filled_quantity, lab.manager.position("AAPL"))
        """
    )
    child = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
    )
    assert child.returncode == 0, child.stderr[-3000:]
    assert "status filled 20000 20000" in child.stdout
    assert int(child.stdout.split("interrupts")[1].split()[0]) >= 1
