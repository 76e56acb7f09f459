import subprocess
import sys

from ntlab.core import OrderStatus, load_session


def test_demo_places_a_mix_of_orders_and_prints_tables(tmp_path):
    journal = tmp_path / "demo.sqlite"
    result = subprocess.run(
        [sys.executable, "-m", "ntlab.cli", "demo", "--journal", str(journal)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "refused demo-" in out and "[price_band]" in out
    assert "placed and cancelled" in out
    for table in ("== orders (7)", "== fills", "== positions"):
        assert table in out
    session = load_session(journal)  # everything printed is in the journal
    statuses = {o.status for o in session.snapshots()}
    assert {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED} <= statuses
    kinds = {o.order_type.value for o in session.snapshots()}
    assert {"market", "limit", "stop"} <= kinds
    assert session.fills


def test_bad_arguments_are_explained():
    result = subprocess.run(
        [sys.executable, "-m", "ntlab.cli", "report"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and "--journal" in result.stderr


def test_report_writes_tca_of_a_journal(tmp_path):
    journal = tmp_path / "demo.sqlite"
    subprocess.run(
        [sys.executable, "-m", "ntlab.cli", "demo", "--journal", str(journal)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    out = tmp_path / "report.html"
    result = subprocess.run(
        [sys.executable, "-m", "ntlab.cli", "report", "--journal", str(journal), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "is_bps" in result.stdout and out.exists()
    html = out.read_text()
    assert "Execution quality: 6 orders" in html  # the refused order never traded and is left out
    assert html.count("data:image/png;base64,") == 6
    # the summary is rounded the one way every report shows numbers: no 8.665612e-01, no -0.00
    assert "e-0" not in result.stdout and "-0.00" not in result.stdout
    assert "market source: sample market, seed 7" in result.stdout
    assert "does not include this session's fills" in result.stdout


def test_report_on_a_missing_journal_says_so(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "ntlab.cli", "report", "--journal", str(tmp_path / "none.sqlite")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "no journal at" in result.stderr


def _run(*args):
    return subprocess.run(
        [sys.executable, "-m", "ntlab.cli", *args], capture_output=True, text=True, timeout=300
    )


def test_report_of_algo_parents_and_pdf(tmp_path):
    from ntlab import Lab

    journal = tmp_path / "algos.sqlite"
    with Lab(journal=journal) as lab:
        lab.buy("MSFT", 100)
        lab.algos.twap("AAPL", 3000, minutes=10)
        lab.advance("12min")
    out, pdf = tmp_path / "r.html", tmp_path / "r.pdf"
    result = _run("report", "--journal", str(journal), "--out", str(out), "--pdf", str(pdf))
    assert result.returncode == 0, result.stderr
    # the TWAP's children roll up into it: two units, one of them a parent
    assert "2 orders" in result.stdout and "1 parent, 1 stand-alone" in result.stdout
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 20_000


def test_export_then_report_on_a_local_dask_cluster(tmp_path):
    journal = tmp_path / "demo.sqlite"
    _run("demo", "--journal", str(journal))
    data = tmp_path / "data"
    exported = _run("export", "--journal", str(journal), "--out", str(data), "--market")
    assert exported.returncode == 0, exported.stderr
    assert "fills: 5 rows, partitioned by symbol and day" in exported.stdout
    assert (data / "quotes" / "symbol=AAPL" / "day=2026-03-02").is_dir()
    assert (data / "quotes" / "symbol=BTC%2FUSD").is_dir()  # symbols are encoded in folder names
    on_dask = _run("report", "--dask", "local", "--data", str(data), "--out", str(tmp_path / "dask.html"))
    in_memory = _run("report", "--journal", str(journal), "--out", str(tmp_path / "mem.html"))
    assert on_dask.returncode == 0, on_dask.stderr
    table = lambda out: out[out.index("count") :]  # noqa: E731  (the summary table, after the header lines)
    assert table(on_dask.stdout) == table(in_memory.stdout)
