"""A progress widget per parent order: filled against schedule, status and average price.

ipywidgets is imported only when a widget is made, so the algorithms work without the ``lab`` extra. The
widget changes only by having values set (``update``), never by display calls, so it may be driven from the
thread the parent runs on; a notebook facade that coalesces redraws passes ``follow=False`` and calls
``update`` itself.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from ntlab.algos.models import AlgoStatus, ParentSnapshot

if TYPE_CHECKING:
    from ntlab.algos.parent import ParentOrder

COLOURS = {
    AlgoStatus.PENDING: "info",
    AlgoStatus.RUNNING: "info",
    AlgoStatus.FILLED: "success",
    AlgoStatus.CANCELLED: "warning",
    AlgoStatus.EXPIRED: "warning",
    AlgoStatus.STOPPED: "danger",
}


def describe(snapshot: ParentSnapshot) -> str:
    """The widget's one-line text, also handy in logs."""
    s = snapshot
    price = f" @ {s.avg_fill_price:.4f}" if s.avg_fill_price is not None else ""
    return (
        f"{s.algo.upper()} {s.parent_id} {s.side.value} {s.quantity} {s.symbol}: {s.status.value}, "
        f"{s.filled_quantity} filled{price} ({s.progress:.0%}, schedule {s.schedule_progress:.0%}), "
        f"{s.open_children} working / {s.children} children"
    )


class AlgoProgress:
    """Two bars (filled, schedule) and a status line for one parent; ``update(snapshot)`` sets them."""

    def __init__(self, parent: ParentOrder, *, follow: bool = True) -> None:
        import ipywidgets as widgets  # type: ignore[import-untyped]

        self.parent = parent
        layout = widgets.Layout(width="420px")
        self.filled = widgets.FloatProgress(value=0.0, min=0.0, max=1.0, description="filled", layout=layout)
        self.schedule = widgets.FloatProgress(
            value=0.0, min=0.0, max=1.0, description="schedule", layout=layout
        )
        self.schedule.bar_style = "info"
        self.label = widgets.HTML()
        self.widget = widgets.VBox([self.label, self.filled, self.schedule])
        self._unsubscribe = parent.subscribe(self.update) if follow else None
        self.snapshot = parent.snapshot()
        self.update(self.snapshot)

    def update(self, snapshot: ParentSnapshot) -> None:
        self.snapshot = snapshot
        self.filled.value = min(1.0, snapshot.progress)
        self.schedule.value = min(1.0, snapshot.schedule_progress)
        self.filled.bar_style = COLOURS[snapshot.status]
        self.label.value = f"<code>{html.escape(describe(snapshot))}</code>"

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.widget.close()

    def static_html(self) -> str:
        """The widget as plain HTML, for saved notebooks and viewers that run no widgets."""
        s = self.snapshot

        def bar(label: str, value: float, colour: str) -> str:
            width = round(min(1.0, value) * 100)
            return (
                f'<div>{label} <span style="display:inline-block;width:300px;background:#eee">'
                f'<span style="display:inline-block;width:{width}%;background:{colour}">&nbsp;</span>'
                f"</span> {value:.0%}</div>"
            )

        return (
            f"<div><code>{html.escape(describe(s))}</code>"
            f"{bar('filled', s.progress, '#4caf50')}{bar('schedule', s.schedule_progress, '#2196f3')}</div>"
        )

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        data = self.widget._repr_mimebundle_(**kwargs) or {}
        data["text/plain"] = describe(self.snapshot)
        data["text/html"] = self.static_html()
        return data


def progress_widget(parent: ParentOrder, *, follow: bool = True) -> AlgoProgress:
    """A progress widget for ``parent``; with ``follow`` it updates itself after every wake of the parent."""
    return AlgoProgress(parent, follow=follow)
