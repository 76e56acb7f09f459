"""JupyterLab in headless Chromium: run the ticket notebook, fill in the ticket, see the order in the blotter."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
NOTEBOOK = "02_order_ticket_and_blotter.ipynb"

pytestmark = pytest.mark.browser

if CHROMIUM is None:
    if os.environ.get("NTLAB_REQUIRE_BROWSER"):
        raise RuntimeError(
            "NTLAB_REQUIRE_BROWSER is set but chromium is not installed (apt-get install chromium)"
        )
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def jupyterlab(tmp_path):
    served = tmp_path / "notebooks"
    shutil.copytree(ROOT / "notebooks", served)
    port, token = _free_port(), "ntlab-test-token"
    # every cell drawn, not only those in view: the test reads outputs far down the notebook
    settings = tmp_path / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"),
        "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "settings"),
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            f"--IdentityProvider.token={token}",
            "--ServerApp.allow_root=True",
            f"--ServerApp.root_dir={served}",
            "--LabApp.expose_app_in_browser=True",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "server.log").open("w"),
        cwd=served,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise RuntimeError((tmp_path / "server.log").read_text()[-3000:]) from None
            time.sleep(0.3)
    yield base, token
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()


def _field(ticket, label, kind="input"):
    return (
        ticket.locator(".widget-inline-hbox", has=ticket.page.locator("label", has_text=label))
        .locator(kind)
        .first
    )


def test_order_ticket_and_blotter_in_jupyterlab(jupyterlab):
    """The ticket: a side switch refreshes the limit, a bad quantity is marked, Enter submits; a blotter
    row's Cancel cancels; screenshots of the ticket, the blotter with an algo's children and the P&L chart."""
    from playwright.sync_api import expect, sync_playwright

    base, token = jupyterlab
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        try:
            page.goto(f"{base}/lab/tree/{NOTEBOOK}?token={token}")
            page.wait_for_function(
                "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                " && window.jupyterapp.shell.currentWidget.sessionContext"
                " && window.jupyterapp.shell.currentWidget.sessionContext.session"
                " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
                " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'",
                timeout=90_000,
            )
            page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
            outputs = page.locator(".jp-OutputArea-output")
            ticket = outputs.locator(".widget-vbox", has=page.locator("label", has_text="Quantity")).first
            expect(ticket).to_be_visible(timeout=90_000)
            blotter = outputs.locator(".widget-vbox", has=page.locator("text=open only")).first
            expect(blotter).to_contain_text("TWAP", timeout=90_000)  # the notebook's algo, run to the end
            chart = (
                page.locator(".jp-CodeCell", has_text="lab.charts.pnl()")
                .locator(".jp-OutputArea-output")
                .first
            )
            expect(chart).to_be_visible(timeout=60_000)

            # a limit order: the price follows the side, the ask to sell and the bid to buy
            _field(ticket, "Type", "select").select_option("limit")
            limit = _field(ticket, "Limit")
            expect(limit).not_to_have_value("", timeout=10_000)
            ticket.locator(".widget-toggle-button", has_text="sell").click()
            page.wait_for_timeout(500)
            ask = float(limit.input_value())
            ticket.locator(".widget-toggle-button", has_text="buy").click()
            expect(limit).not_to_have_value(f"{ask:.2f}", timeout=10_000)
            bid = float(limit.input_value())
            assert bid < ask, (bid, ask)
            ticket.locator(".widget-toggle-button", has_text="sell").click()
            expect(limit).to_have_value(f"{ask:.2f}", timeout=10_000)

            # a bad quantity is marked as typed, and Enter does not send it
            quantity = _field(ticket, "Quantity")
            quantity.fill("25ab")
            expect(ticket).to_contain_text("is not a number", timeout=10_000)
            border = quantity.evaluate(
                "e => getComputedStyle(e.closest('.widget-inline-hbox')).borderTopColor"
            )
            assert border == "rgb(207, 34, 46)", border
            quantity.press("Enter")
            expect(ticket).to_contain_text("not sent", timeout=10_000)

            # a good one, priced one dollar above the ask so it rests, sent with Enter
            limit.fill(f"{ask + 1:.2f}")
            quantity.fill("7")
            expect(ticket.locator("button", has_text="Sell 7")).to_be_visible(timeout=10_000)
            page.screenshot(path=str(ARTIFACTS / "jupyterlab-order-ticket.png"), full_page=False)
            ticket.scroll_into_view_if_needed()
            ticket.screenshot(path=str(ARTIFACTS / "ticket.png"))
            quantity.press("Enter")
            expect(ticket).to_contain_text("sell 7 MSFT limit", timeout=30_000)
            expect(ticket).to_contain_text("accepted", timeout=30_000)
            order_id = ticket.locator("text=/sim-\\d{6}: sell 7 MSFT/").first.inner_text().split(":")[0]

            # the blotter shows it on top, with its own Cancel
            row = blotter.locator(".widget-hbox", has=page.locator(f"text={order_id}")).first
            expect(row).to_be_visible(timeout=30_000)
            row.locator("button", has_text="Cancel").click()
            expect(blotter).to_contain_text(f"{order_id}: cancelled", timeout=30_000)
            expect(row).to_contain_text("cancelled", timeout=30_000)
            blotter.scroll_into_view_if_needed()
            blotter.screenshot(path=str(ARTIFACTS / "blotter-with-algo-children.png"))
            # plotly's renderer draws the chart's PNG first and the interactive figure once the mouse is on it
            chart.scroll_into_view_if_needed()
            expect(chart).to_have_class(re.compile(r"\bjp-RenderedPlotly\b"), timeout=10_000)
            chart.locator("img.plot-img").dispatch_event("mouseenter")
            expect(chart.locator(".plot-container.plotly svg.main-svg").first).to_be_visible(timeout=30_000)
            chart.screenshot(path=str(ARTIFACTS / "pnl-chart.png"))
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "jupyterlab-failure.png"), full_page=True)
            raise
        finally:
            browser.close()
