"""A fetched day in the rest of ntlab: the paper venue replays it, TCA reads it, the Lab and the CLI use it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal

import pandas as pd
import pytest

from ntlab.brokers.paper import PaperBroker
from ntlab.core import OrderManager, OrderRequest
from ntlab.market import get_market, sample_market
from ntlab.market.fakes.polygon import FakePolygon
from tests.market.conftest import MONDAY, NOW


@pytest.fixture
def polygon_thread() -> Iterator[FakePolygon]:
    """The fake on a thread of its own: these tests make blocking calls it must answer."""
    fake = FakePolygon().start_in_thread()
    fake.now = NOW
    yield fake
    fake.stop_thread()


def fetched(fake: FakePolygon, tmp_path, symbols=("AAPL", "MSFT")):
    return get_market(
        "polygon",
        list(symbols),
        MONDAY,
        api_key=fake.key,
        base_url=fake.base_url,
        cache=tmp_path / "cache",
        now=NOW,
        progress=False,
    )


async def fills_of(market) -> list[tuple[str, Decimal, Decimal]]:
    broker = PaperBroker(market)
    async with OrderManager(broker, id_prefix="t") as om:
        await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=1500))
        await om.place_order(
            OrderRequest(
                symbol="MSFT", side="sell", quantity=300, order_type="limit", limit_price=Decimal("411.00")
            )
        )
        await broker.advance("20min")
        return [(f.symbol, f.price, f.quantity) for f in om.fills()]


async def test_the_paper_venue_replays_a_fetched_day_as_it_replays_the_same_data_from_the_sample(
    polygon_thread, tmp_path
):
    market = fetched(polygon_thread, tmp_path)
    assert market.session_open == pd.Timestamp("2026-03-02 14:30", tz="UTC")
    assert market.session_close == pd.Timestamp("2026-03-02 21:00", tz="UTC")
    assert market.source is not None and market.source.name == "polygon"
    assert len(market.trades_for("AAPL")) == len(sample_market(symbols=["AAPL"]).trades)
    replayed = await fills_of(market)
    assert replayed and replayed == await fills_of(sample_market(symbols=["AAPL", "MSFT"]))


def test_tca_and_the_lab_on_a_fetched_market(polygon_thread, tmp_path):
    from ntlab.lab import Lab

    market = fetched(polygon_thread, tmp_path)
    with Lab(market=market, journal=None) as lab:
        lab.buy("AAPL", 500)
        lab.sell("MSFT", 200)
        lab.advance("45min")
        report = lab.tca()
        assert set(report.orders["symbol"]) == {"AAPL", "MSFT"}
        assert report.orders["is_bps"].notna().all()
        asked = polygon_thread.requests
        bars = lab.history("AAPL", "5min", days=5)
        assert polygon_thread.requests > asked  # from the market's own provider, through its cache
        days = pd.DatetimeIndex(bars["time"]).tz_convert("America/New_York").normalize().unique()
        assert [f"{d:%m-%d}" for d in days] == ["02-24", "02-25", "02-26", "02-27", "03-02"]
        assert bars["time"].max() < lab.now()  # never a bar from the replay's future
        assert (
            len(bars[bars["time"] >= pd.Timestamp("2026-03-02", tz="America/New_York")]) == 9
        )  # 14:30-15:15
        asked = polygon_thread.requests
        lab.history("AAPL", "5min", days=5)
        assert polygon_thread.requests == asked


def test_lab_history_on_the_sample_market_needs_no_network():
    from ntlab.lab import Lab

    with Lab(journal=None) as lab:
        lab.advance("30min")
        bars = lab.history("MSFT", "15min", days=2)
    assert bars["symbol"].eq("MSFT").all() and len(bars) == 26 + 2  # Friday's 26 bars and Monday's first two


def test_report_fetches_what_tca_needs_from_a_provider(polygon_thread, tmp_path):
    journal = tmp_path / "demo.sqlite"
    run = subprocess.run(
        [sys.executable, "-m", "ntlab.cli", "demo", "--journal", str(journal)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    env = {
        **__import__("os").environ,
        "POLYGON_API_KEY": polygon_thread.key,
        "POLYGON_BASE_URL": polygon_thread.base_url,
        "NTLAB_CACHE_DIR": str(tmp_path / "cache"),
    }

    def report(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ntlab.cli", "report", "--journal", str(journal), *extra],
            capture_output=True,
            text=True,
            timeout=180,
            env=env,
        )

    fetched_run = report("--quotes", "polygon", "--out", str(tmp_path / "polygon.html"))
    assert fetched_run.returncode == 0, fetched_run.stderr
    asked = polygon_thread.requests
    assert asked > 0 and (tmp_path / "polygon.html").is_file()
    sample_run = report("--out", str(tmp_path / "sample.html"))

    # the fake serves the sample market's 2 March: the same quotes give the same costs (only the header's
    # market source differs)
    def costs(run: subprocess.CompletedProcess[str]) -> list[str]:
        return [line for line in run.stdout.splitlines()[1:] if not line.startswith("market source")]

    assert costs(fetched_run) == costs(sample_run)
    assert report("--quotes", "polygon", "--out", str(tmp_path / "again.html")).returncode == 0
    assert polygon_thread.requests == asked  # the second report read the cache
    assert polygon_thread.key not in fetched_run.stdout + fetched_run.stderr
