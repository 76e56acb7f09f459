"""Every script in ``bench/`` runs to its end at a tiny size and prints the figures it exists to print.

The benchmarks are run by hand for their figures; here each one runs as a user runs it (its own process, from
the repository root) with arguments small enough to take a few seconds, so a script broken by a change
elsewhere fails the suite. A figure's row must be there with a number on it; what the number is, is never
asserted (timings on a shared machine are noisy). The scripts that start a fake broker in a process of their
own must stop it before they end.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

psutil = pytest.importorskip(
    "psutil", reason="the bench tests watch the fakes' processes: pip install psutil"
)

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 180  # seconds a script may take here before it is stopped: each takes a few
N = r"[\d,]+(?:\.\d+)?"  # a printed figure: 3,778.0, 0.046, 1,743
RUN_MARK = "NTLAB_BENCH_RUN"  # in each script's environment, so whatever it starts can be found afterwards


@dataclass(frozen=True, slots=True)
class Bench:
    """One script at a tiny size: what it needs installed, the rows it must print, the fake it starts."""

    script: str
    args: tuple[str, ...]
    rows: tuple[str, ...]  # regular expressions, each searched in the output (multi-line mode)
    needs: tuple[tuple[str, str], ...] = ()  # (module, the extra that brings it)
    fake: str | None = None  # the module the script runs as a broker process of its own


def both_rules(label: str, extra: str = "") -> str:
    """A bench/oms.py figure: the rules-off row under its label, the rules-on row below it."""
    figures = rf"orders/s {N}, p50 us {N}, p99 us {N}{extra}, median orders/s {N}"
    return rf"^{re.escape(label)} +rules off: {figures}\n +rules on:  {figures}$"


STEPS = ", working at the end " + N
ALGO_ROW = rf" +{N} s   \((filled|expired), {N} filled, {N} children, {N} fills\)$"
LAB_VIEW = rf" +{N} ms median, {N} ms worst$"
PARSE = rf" +{N} ms +{N} rows/s  \({N} rows, {N} MB\)$"
LATENCY = rf" +{N} +{N} +{N}"  # orders/s, p50 ms, p99 ms

BENCHES = [
    Bench(
        "oms",
        ("-n", "200", "--runs", "1", "--steps", "200", "--lookups", "1000", "--checks", "1000"),
        (
            both_rules("sequential, no journal"),
            both_rules("sequential, journal"),
            both_rules("100 concurrent callers, no journal"),
            both_rules("100 concurrent callers, journal"),
            both_rules("  the same after gc.freeze() at startup"),
            both_rules("one order per market step, no journal", STEPS),
            both_rules("one order per market step, journal", STEPS),
            both_rules("resting limits 1-2% away, one per step", STEPS),
            both_rules("  the same loop with orders that fill", STEPS),
            rf"^get_order_status \(rules on\) +lookups/s {N}, mean us {N}$",
            rf"^risk check alone, every rule on +check p50 us {N}, check p99 us {N}, feed p50 us {N}$",
        ),
    ),
    Bench(
        "paper",
        ("--orders", "200", "--resting", "20"),
        (
            rf"^submit_order, marketable 1-lot market order: n=200  p50 {N} µs  p99 {N} µs  mean {N} µs"
            rf"  \({N} fill updates\)$",
            rf"^advance through a day, 20 resting orders, {N} one-minute steps: {N} s  \({N} updates delivered\)$",
        ),
    ),
    Bench(
        "algos",
        ("--runs", "1", "--minutes", "10"),
        (
            r"^market: Market\(7 symbols",
            r"^window: the first 10 minutes of the session$",
            r"^VWAP 2,600 AAPL, 10 minutes, wake every 30s" + ALGO_ROW,
            r"^VWAP 2,600 AAPL, 10 minutes, wake every 1s" + ALGO_ROW,
            r"^TWAP 2,600 AAPL, 10 minutes, wake every 1s" + ALGO_ROW,
            r"^POV 3% to 2,600 AAPL, wake every 1s" + ALGO_ROW,
            r"^VWAP 2,600 AAPL, wake every 30s, 3 venues via SmartRouter" + ALGO_ROW,
            r"^VWAP 2,600 AAPL, wake every 1s, 3 venues via SmartRouter" + ALGO_ROW,
            r"^VWAP 2,600 AAPL, wake every 1s, with a journal" + ALGO_ROW,
        ),
    ),
    Bench(
        "tca",
        ("--fills", "2000", "--quotes", "20000", "--trades", "4000", "--runs", "1"),
        (
            r"^2,000 fills, 200 orders, 20,000 quotes, 4,000 trades$",
            rf"^checking and grouping inputs +{N} s$",
            rf"^per-fill metrics \(9 as-of joins\) +{N} s  \(worst of 1: {N}\)$",
            rf"^per-order metrics +{N} s  \(worst: {N}\)$",
            rf"^per-fill \+ per-order +{N} s$",
            rf"^numpy searchsorted lower bound +{N} s  \(worst: {N}\)$",
            rf"^ratio to the lower bound +{N} x$",
            rf"^tca\(\) end to end +{N} s$",
            rf"^summary \(14 metrics, bootstrap CI\) +{N} s  \(200 orders, one day\)$",
            r"^same seed, same intervals +True$",
            rf"^peak RSS +{N} GB$",
        ),
    ),
    Bench(
        "tca",
        ("--dask", "--dask-fills", "2000", "--dask-quotes", "20000", "--days", "1", "--runs", "1"),
        (
            r"^2,000 fills, 20,000 quotes; 10 symbols x 1 days; [\d.]+ GB of Parquet$",
            r"^partitions: orders \d+, fills \d+, quotes \d+, trades \d+$",
            rf"^run 1: tca\(\) +{N} s, with the summary +{N} s; 200 orders, 2,000 fills; "
            rf"worker peak RSS {N}, {N} GB \(max {N}\)$",
            rf"^client peak RSS {N} GB$",
        ),
        needs=(("dask.distributed", "dask"), ("pyarrow", "dask")),
    ),
    Bench(
        "market",
        ("--rows", "2000", "--runs", "1"),
        (
            rf"^sample_market\(\) uncached: +{N} ms  \(7 symbols, {N} quotes, {N} trades\)$",
            rf"^load_quotes\(parquet\): +{N} ms +{N} rows/s  \(2,000 rows, {N} MB\)$",
            rf"^load_quotes\(    csv\): +{N} ms +{N} rows/s  \(2,000 rows, {N} MB\)$",
            r"^parse polygon quotes" + PARSE,
            r"^parse polygon trades" + PARSE,
            r"^parse alpaca quotes" + PARSE,
            r"^parse alphavantage 1min bars" + PARSE,
            r"^parse yahoo 1min bars" + PARSE,
            rf"^cached read, one symbol-day of 1-second quotes: +{N} ms  \({N} rows; target < 50 ms\)$",
        ),
        needs=(("pyarrow", "data"), ("httpx", "market"), ("aiohttp", "fakes")),
    ),
    Bench(
        "lab",
        ("--sync", "50", "--orders", "300", "--blotter", "100"),
        (
            rf"^sync lab\.buy round trip, 50 orders +p50 {N} us, p99 {N} us$",
            r"^lab\.orders, 300 orders" + LAB_VIEW,
            r"^orders_frame from snapshots \(cold\)" + LAB_VIEW,
            r"^lab\.fills, 300 fills" + LAB_VIEW,
            r"^fills_frame from snapshots \(cold\)" + LAB_VIEW,
            r"^blotter model, 100 orders \(cold\)" + LAB_VIEW,
            r"^blotter model update, 100 orders" + LAB_VIEW,
            r"^blotter widget update, 100 orders" + LAB_VIEW,
            rf"^burst of 100 orders and fills in {N} s  {N} blotter redraws$",
        ),
        needs=(("ipywidgets", "lab"),),
    ),
    Bench(
        "news_odds",
        ("--events", "5", "--books", "3"),
        (
            rf"^news everything\(\): {N} ms over loopback HTTP, {N} ms from the cache "
            r"\(5 requests for 10 calls\)$",
            r"^odds board: 45 prices \(5 events x 3 books x 3\)$",
            *(
                rf"^  {name} +{N} ms$"
                for name in (
                    "overround",
                    "no_vig proportional",
                    "no_vig shin",
                    "consensus",
                    "best_prices",
                    "arbitrage",
                )
            ),
        ),
        needs=(("httpx", "news"), ("aiohttp", "fakes")),
    ),
    Bench(
        "alpaca",
        ("--orders", "30", "--in-flight", "1", "4", "--manager"),
        (
            r"^AlpacaBroker\.submit_order against the fake at http://127\.0\.0\.1:\d+, 30 orders per row",
            r"^path +in flight +orders/s +p50 ms +p99 ms +CPU us/order +core at 200/min$",
            *(rf"^{path} +{k}{LATENCY} +{N} +{N}%$" for path in ("adapter", "manager") for k in (1, 4)),
        ),
        needs=(("httpx", "alpaca"), ("websockets", "alpaca"), ("aiohttp", "fakes"), ("msgpack", "fakes")),
        fake="ntlab.brokers.alpaca.fake",
    ),
    Bench(
        "crypto",
        ("--orders", "30", "--in-flight", "1", "4", "--listed", "50", "--runs", "1"),
        (
            r"^CcxtBroker\('binance'\) -> fake Binance \(own process\)",
            rf"^  load_markets: 50 instruments, median {N} ms over 1$",
            *(rf"^ +{k} in flight: +{N} orders/s   p50 +{N} ms   p99 +{N} ms$" for k in (1, 4)),
        ),
        needs=(("ccxt", "crypto"), ("aiohttp", "crypto")),
        fake="ntlab.brokers.crypto.fake",
    ),
    Bench(
        "ib",
        ("--orders", "30", "--paced-orders", "20", "--in-flight", "4", "--limit-orders", "20"),
        (
            r"^IBBroker\.submit_order \(ib_async\) against the fake TWS on 127\.0\.0\.1:\d+",
            r"^pacing +in flight +orders +orders/s +p50 ms +p99 ms$",
            rf"^paced +4 +20{LATENCY}$",
            rf"^unpaced +4 +30{LATENCY}$",
            r"^against a fake TWS that refuses beyond 50 messages a second \(error 100\), 20 orders a row$",
            r"^pacing +in flight +accepted +refused +sent/s +p99 ms$",
            *(rf"^{label} +4 +\d+ +\d+ +{N} +({N}|nan)$" for label in ("paced", "unpaced")),
        ),
        needs=(("ib_async", "ib"),),
        fake="ntlab.brokers.ib.fake",
    ),
    Bench(
        "oanda",
        ("--orders", "30", "--in-flight", "1", "4", "--events", "500"),
        (
            r"^OandaBroker\.submit_order against the fake at http://127\.0\.0\.1:\d+, 30 orders per row",
            r"^in flight +orders/s +p50 ms +p99 ms$",
            *(rf"^ +{k}{LATENCY}$" for k in (1, 4)),
            rf"^transaction stream: {N} events in {N} s, {N} events/s parsed$",
        ),
        needs=(("httpx", "oanda"), ("aiohttp", "fakes")),
        fake="ntlab.brokers.oanda.fake",
    ),
]


def bench_id(bench: Bench) -> str:
    return f"{bench.script}-dask" if "--dask" in bench.args else bench.script


def descendants(pid: int, module: str) -> set[int]:
    """The processes under ``pid`` running ``module`` (``python -m module``)."""
    found = set()
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return found
    for child in children:
        try:
            if module in child.cmdline():
                found.add(child.pid)
        except psutil.Error:
            continue
    return found


def started_by(mark: str) -> list[psutil.Process]:
    """Live processes whose environment carries ``mark``: whatever the script started and left running."""
    left = []
    for process in psutil.process_iter():
        try:
            if process.environ().get(RUN_MARK) == mark and process.status() != psutil.STATUS_ZOMBIE:
                left.append(process)
        except psutil.Error:
            continue
    return left


def describe(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline())
    except psutil.Error:
        return f"pid {process.pid}"


def stop(processes: list[psutil.Process]) -> None:
    for process in processes:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            continue
    psutil.wait_procs(processes, timeout=5)


@pytest.mark.slow
@pytest.mark.parametrize("bench", BENCHES, ids=bench_id)
def test_bench_script_runs_and_prints_its_figures(bench: Bench, tmp_path: Path) -> None:
    for module, extra in bench.needs:
        pytest.importorskip(
            module, reason=f"bench/{bench.script}.py needs {module}: pip install -e '.[{extra}]'"
        )
    args = [*bench.args, "--dir", str(tmp_path / "parquet")] if "--dask" in bench.args else list(bench.args)
    mark = uuid.uuid4().hex
    command = [sys.executable, f"bench/{bench.script}.py", *args]
    script = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, RUN_MARK: mark},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    fakes: set[int] = set()
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:  # a script with a fake is looked into every 0.1 s while it runs, to see its fake once
            out, err = script.communicate(timeout=TIMEOUT if bench.fake is None else 0.1)
            break
        except subprocess.TimeoutExpired:
            if bench.fake is not None:
                fakes |= descendants(script.pid, bench.fake)
            if time.monotonic() >= deadline:
                stop([psutil.Process(script.pid), *started_by(mark)])
                out, err = script.communicate()
                pytest.fail(f"{' '.join(command)} still running after {TIMEOUT} s\n{out}\n{err}")
    shown = f"$ {' '.join(command[1:])}\n--- stdout\n{out}--- stderr\n{err}"
    assert script.returncode == 0, shown
    # a task that failed in the background prints its traceback and the script still exits 0
    assert "Traceback" not in err, shown
    missing = [row for row in bench.rows if re.search(row, out, re.MULTILINE) is None]
    assert not missing, "rows not printed:\n" + "\n".join(missing) + "\n" + shown
    left = started_by(mark)
    if left:
        _, left = psutil.wait_procs(left, timeout=3)  # one stopped just now may take a moment to end
    if left:
        names = [describe(p) for p in left]
        stop(left)
        pytest.fail(f"bench/{bench.script}.py left processes running: {names}")
    if bench.fake is not None:
        assert fakes, f"{bench.fake} was never seen running, so the check above proves nothing"
