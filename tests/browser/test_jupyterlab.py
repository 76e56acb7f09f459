"""JupyterLab in headless Chromium: run the ticket notebook, fill in the ticket, see the order in the blotter."""

from __future__ import annotations

import os
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
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"),
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


def test_order_ticket_in_jupyterlab(jupyterlab):
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
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
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
            ticket = outputs.locator(".widget-vbox", has=page.locator("button", has_text="Submit")).first
            expect(ticket).to_be_visible(timeout=90_000)
            blotter = outputs.locator("table.ntlab-blotter").first
            expect(blotter).to_contain_text("MSFT", timeout=60_000)  # the notebook's own orders

            ticket.locator(".widget-text", has=page.locator("label", has_text="Symbol")).locator(
                "input"
            ).fill("NVDA")
            ticket.locator(".widget-dropdown", has=page.locator("label", has_text="Type")).locator(
                "select"
            ).select_option("market")
            ticket.locator(".widget-text", has=page.locator("label", has_text="Quantity")).locator(
                "input"
            ).fill("7")
            ticket.locator("button", has_text="Submit").click()

            expect(ticket).to_contain_text("buy 7 NVDA market", timeout=30_000)
            expect(blotter).to_contain_text("NVDA", timeout=30_000)
            page.screenshot(path=str(ARTIFACTS / "jupyterlab-order-ticket.png"), full_page=True)
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "jupyterlab-order-ticket-failure.png"), full_page=True)
            raise
        finally:
            browser.close()
