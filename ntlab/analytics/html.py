"""HTML for a TCAReport: the notebook summary and one self-contained page with the plots embedded.

No external resources: styles inline, pictures as base64 PNG data URIs, so the file can be mailed around.
"""

from __future__ import annotations

import base64
import html
from typing import TYPE_CHECKING, Any

from ntlab.analytics import plots

if TYPE_CHECKING:
    from ntlab.analytics.report import TCAReport

STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}"
    "table{border-collapse:collapse;font-size:13px;margin-bottom:1em}"
    "td,th{padding:2px 8px;text-align:right;border-bottom:1px solid #ddd}"
    "img{max-width:100%}"
)
NOTE = (
    "<p>Costs in basis points, positive = cost. IS = delay + trading + opportunity + fees, over the paper "
    "notional (quantity × decision mid); slippage is weighted by the filled notional. Intervals: "
    "{level:.0%} bootstrap over days (over orders within one day).</p>"
)


def _table(frame: Any) -> str:
    return str(frame.to_html(float_format=lambda x: f"{x:,.2f}", na_rep="", border=0))


def summary_html(report: TCAReport) -> str:
    """Headline, breakdowns, markouts and the worst orders as HTML tables."""
    parts = [
        f"<h2>Execution quality: {len(report.orders)} orders, {len(report.fills)} fills</h2>",
        "<h3>Summary (bps, notional-weighted)</h3>",
        _table(report.summary),
        "<h3>By symbol (IS, bps)</h3>",
        _table(report.by("symbol")),
        "<h3>By side (IS, bps)</h3>",
        _table(report.by("side")),
    ]
    for key in ("algo", "venue"):
        if key in report.orders and report.orders[key].nunique() > 1:
            parts += [f"<h3>By {key} (IS, bps)</h3>", _table(report.by(key))]
    if report.orders["arrival_time"].dt.normalize().nunique() > 1:
        parts += ["<h3>By day (IS, bps)</h3>", _table(report.by("day"))]
    if len(report.fills):
        parts += ["<h3>Markouts (bps, weighted by fill notional)</h3>", _table(report.markouts)]
    parts += ["<h3>Worst orders</h3>", _table(report.worst()), NOTE.format(level=report.level)]
    return "\n".join(parts)


def page(report: TCAReport) -> str:
    """The whole report as one HTML document."""
    images = []
    for title, figure in report.figures().items():
        encoded = base64.b64encode(plots.png(figure)).decode("ascii")
        alt = html.escape(title)
        images.append(f'<h3>{alt}</h3><img alt="{alt}" src="data:image/png;base64,{encoded}">')
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>ntlab execution quality</title>"
        f"<style>{STYLE}</style></head><body>"
        + summary_html(report)
        + "<h2>Pictures</h2>"
        + "\n".join(images)
        + "</body></html>"
    )
