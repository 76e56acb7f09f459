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
    assert html.count("data:image/png;base64,") == 4


def test_report_on_a_missing_journal_says_so(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "ntlab.cli", "report", "--journal", str(tmp_path / "none.sqlite")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "no journal at" in result.stderr
