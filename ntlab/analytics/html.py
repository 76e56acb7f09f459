"""HTML for a TCAReport: the notebook summary and one self-contained page with the plots embedded.

No external resources: styles inline, pictures as base64 PNG data URIs, so the file can be mailed around.
Every number goes through :mod:`ntlab.analytics.formatting`.
"""

from __future__ import annotations

import base64
import html
from typing import TYPE_CHECKING

import pandas as pd

from ntlab.analytics import plots
from ntlab.analytics.formatting import format_frame

if TYPE_CHECKING:
    from ntlab.analytics.report import TCAReport

STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}"
    "table{border-collapse:collapse;font-size:13px;margin-bottom:1em}"
    "td,th{padding:2px 8px;text-align:right;border-bottom:1px solid #ddd}"
    "dl.header{display:grid;grid-template-columns:max-content auto;gap:2px 12px;font-size:13px}"
    "dl.header dt{font-weight:600}dl.header dd{margin:0}"
    "img{max-width:100%}"
)


def table(frame: pd.DataFrame) -> str:
    return str(format_frame(frame).to_html(border=0, escape=True))


def header_html(report: TCAReport) -> str:
    rows = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in report.header.items())
    return f"<dl class='header'>{rows}</dl>"


def summary_html(report: TCAReport) -> str:
    """Header, headline, breakdowns, markouts and the worst units as HTML tables."""
    parts = [
        f"<h2>Execution quality: {len(report.orders)} orders, {report.fill_count} fills</h2>",
        header_html(report),
        "<h3>Summary (bps, notional-weighted)</h3>",
        table(report.summary),
        "<h3>By symbol (IS, bps)</h3>",
        table(report.by("symbol")),
        "<h3>By side (IS, bps)</h3>",
        table(report.by("side")),
    ]
    for key in ("algo", "venue"):
        if key in report.orders and report.orders[key].nunique() > 1:
            parts += [f"<h3>By {key} (IS, bps)</h3>", table(report.by(key))]
    if report.orders["arrival_time"].dt.normalize().nunique() > 1:
        parts += ["<h3>By day (IS, bps)</h3>", table(report.by("day"))]
    if report.fill_count:
        parts += ["<h3>Markouts (bps, weighted by fill notional)</h3>", table(report.markouts)]
    parts += ["<h3>Worst orders</h3>", table(report.worst())]
    return "\n".join(parts)


def page(report: TCAReport) -> str:
    """The whole report as one HTML document."""
    images = []
    for title, figure in report.figures().items():
        encoded = base64.b64encode(plots.png(figure)).decode("ascii")
        alt = html.escape(title)
        images.append(f'<h3>{alt}</h3><img alt="{alt}" src="data:image/png;base64,{encoded}">')
    name = html.escape(report.conventions.session or "session")
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>ntlab execution quality: {name}</title>"
        f"<style>{STYLE}</style></head><body>"
        + summary_html(report)
        + "<h2>Pictures</h2>"
        + "\n".join(images)
        + "</body></html>"
    )
