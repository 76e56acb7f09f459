"""The report as a PDF through matplotlib's PDF backend: a title page with the header and the headline
table, then one picture a page. No pyplot: figures are built directly and closed with the file."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from ntlab.analytics.formatting import format_frame

if TYPE_CHECKING:
    from ntlab.analytics.report import TCAReport

SUMMARY_COLUMNS = ["count", "mean_bps", "median_bps", "p5_bps", "p95_bps", "ci_low_bps", "ci_high_bps"]


def write(report: TCAReport, path: Path) -> Path:
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    with PdfPages(
        path, metadata={"Title": f"ntlab execution quality: {report.conventions.session or 'session'}"}
    ) as pdf:
        title = Figure(figsize=(8.27, 11.69))  # A4 portrait
        title.text(0.06, 0.96, "Execution quality", fontsize=16, weight="bold", va="top")
        y = 0.92
        for key, value in report.header.items():
            lines = textwrap.wrap(value, 95) or [""]
            title.text(0.06, y, key, fontsize=8, weight="bold", va="top")
            title.text(0.24, y, "\n".join(lines), fontsize=8, va="top")
            y -= 0.0125 * len(lines) + 0.008
        summary = format_frame(report.summary[SUMMARY_COLUMNS])
        ax = title.add_axes((0.06, 0.05, 0.88, max(0.1, y - 0.08)))
        ax.axis("off")
        cells = ax.table(
            cellText=[
                [name, *row] for name, row in zip(summary.index, summary.to_numpy().tolist(), strict=True)
            ],
            colLabels=["metric", *summary.columns],
            colWidths=[0.3] + [0.1] * len(summary.columns),
            loc="upper center",
        )
        cells.auto_set_font_size(False)
        cells.set_fontsize(7)
        pdf.savefig(title)
        for figure in report.figures().values():
            pdf.savefig(figure)
    return path
