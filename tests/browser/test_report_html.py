"""The exported TCA report in headless Chromium: the page opens from a file with no network, every figure
decodes to a real picture, and the header and tables are there as a reader sees them."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.browser

if CHROMIUM is None:
    if os.environ.get("NTLAB_REQUIRE_BROWSER"):
        raise RuntimeError(
            "NTLAB_REQUIRE_BROWSER is set but chromium is not installed (apt-get install chromium)"
        )
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)


def test_every_figure_of_the_html_report_loads(tmp_path):
    from playwright.sync_api import sync_playwright

    from ntlab import Lab

    with Lab(journal=None) as lab:
        lab.buy("AAPL", 300)
        lab.sell("MSFT", 200, limit=lab.quote("MSFT").ask)
        lab.algos.twap("AAPL", 4000, minutes=10)
        lab.algos.vwap("MSFT", 2000, side="sell", minutes=15)
        lab.advance("20min")
        report = lab.tca()
    path = report.to_html(tmp_path / "report.html")
    expected = len(report.figures())
    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
        )
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("request", lambda r: requests.append(r.url))
            page.goto(path.as_uri())
            page.wait_for_load_state("load")
            images = page.evaluate(
                "() => Array.from(document.images).map(i => ({alt: i.alt, ok: i.complete, w: i.naturalWidth, h: i.naturalHeight}))"
            )
            header = page.inner_text("dl.header")
            tables = page.locator("table").count()
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "tca_report.png"), full_page=True)
        finally:
            browser.close()
    assert len(images) == expected == 6
    for image in images:  # decoded to a picture of the figure's size (110 dpi of 6.4 in wide)
        assert image["ok"] and image["w"] >= 600 and image["h"] >= 200, image
    assert all(url.startswith(("file:", "data:")) for url in requests), (
        requests
    )  # nothing fetched from outside
    assert "Lab session" in header and "paper venue" in header and "UTC" in header
    assert "does not include this session's fills" in header
    assert tables >= 5
