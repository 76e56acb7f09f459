"""What every Lab widget shares: coalesced redraws on the core loop, a static fallback, and the dashboard.

Widgets use the Lab's public API only. They change only by having values set, and every redraw runs on the
core loop (the refresher's, or one asked for after a click), where they call the Lab's async twins, so a
widget's values are never set from two threads at once. Refreshes are coalesced: a refresher looks at
``lab.version()`` at most ``REFRESH_HZ`` times a second and redraws only when order events happened since,
so a burst of thousands of fills costs a handful of redraws.

Each widget also has a static HTML rendering (``static_html``) in its display data, so a saved notebook
shows a picture of it on GitHub, nbviewer and in exports instead of a raw widget repr.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ntlab.errors import NtlabError
from ntlab.lab.style import CSS, account_html, frame_html

if TYPE_CHECKING:
    from ntlab.lab.session import Lab

log = logging.getLogger(__name__)

REFRESH_HZ = 4


class Coalescer:
    """Awaits ``redraw`` on the core loop at most ``hz`` times a second, and only after order events.

    ``always=True`` redraws on every tick instead, for views that follow the market (quotes, marks) and
    change without any order event; a redraw that sets an unchanged value sends nothing to the frontend.
    """

    def __init__(
        self, lab: Lab, redraw: Callable[[], Awaitable[None]], hz: float = REFRESH_HZ, *, always: bool = False
    ) -> None:
        self.lab = lab
        self.redraw = redraw
        self.interval = 1.0 / hz
        self.always = always
        self.redraws = 0
        self._seen = lab.version()  # the widget was just drawn: redraw after the next order event
        self._task = lab.spawn(self._loop())

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            version = await self.lab.aversion()
            if version != self._seen or self.always:
                self._seen = version
                await self.flush()

    async def flush(self) -> None:
        self.redraws += 1
        try:
            await self.redraw()
        except Exception:  # a broken redraw must not kill the refresher
            log.exception("widget refresh failed")

    def now(self) -> None:
        """Redraw at once (after a click, or for code that reads the widget next), on the core loop."""
        if not self.lab.closed:
            self.lab.run(self.flush())

    def stop(self) -> None:
        self._task.cancel()


def message(text: str, colour: str) -> str:
    return f'<span style="color:{colour}">{html.escape(text, quote=False)}</span>'


class StaticFallback:
    """Adds a static HTML picture and a one-line text to a widget's display data."""

    def static_html(self) -> str:
        raise NotImplementedError

    def summary(self) -> str:
        raise NotImplementedError

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        data: dict[str, Any] = super()._repr_mimebundle_(**kwargs)  # type: ignore[misc]
        data["text/plain"] = self.summary()
        data["text/html"] = self.static_html()
        return data


class FrameView(StaticFallback, widgets.VBox):
    """A view (fills, positions) in the ntlab style, in a fixed-height scrolling box, redrawn on change."""

    def __init__(
        self,
        lab: Lab,
        title: str,
        frame: Callable[[], Awaitable[Any]],
        rows: int = 200,
        *,
        hz: float = REFRESH_HZ,
        always: bool = False,
    ) -> None:
        self.lab = lab
        self.heading = title
        self.frame = frame
        self.rows = rows
        self.table = widgets.HTML(layout=widgets.Layout(max_height="360px", overflow="auto"))
        super().__init__([self.table])
        lab.run(self.redraw())
        self.refresher = Coalescer(lab, self.redraw, hz, always=always)

    async def redraw(self) -> None:
        frame = await self.frame()
        shown = frame.tail(self.rows).iloc[::-1] if frame.index.name == "fill_id" else frame
        caption = f"{self.heading}: {len(frame):,}" + (
            f", newest {self.rows} shown" if len(frame) > self.rows else ""
        )
        self.table.value = frame_html(shown, caption=caption)

    def static_html(self) -> str:
        return self.table.value

    def summary(self) -> str:
        return f"{self.heading} view"

    def stop(self) -> None:
        self.refresher.stop()


def fills_view(lab: Lab) -> FrameView:
    return FrameView(lab, "Fills", lab.afills)


def positions_view(lab: Lab) -> FrameView:
    """Positions marked to the market: redrawn once a second as marks move, even with no order events."""
    return FrameView(lab, "Positions", lab.apositions, hz=1, always=True)


class AccountLine(StaticFallback, widgets.HTML):
    """Cash, equity, buying power, margin used and day P&L in one line, following the marks."""

    def __init__(self, lab: Lab) -> None:
        super().__init__()
        self.lab = lab
        lab.run(self.redraw())
        self.refresher = Coalescer(lab, self.redraw, 1, always=True)

    async def redraw(self) -> None:
        try:
            account = await self.lab.aaccount()
        except NtlabError:
            account = None
        self.value = CSS + account_html(account)

    def static_html(self) -> str:
        return self.value

    def summary(self) -> str:
        return "account line"

    def stop(self) -> None:
        self.refresher.stop()


class Dashboard(StaticFallback, widgets.VBox):
    """The account line, then ticket, blotter, fills, positions and P&L in tabs: what ``display(lab)`` shows."""

    TITLES = ("Ticket", "Blotter", "Fills", "Positions", "P&L")

    def __init__(self, lab: Lab) -> None:
        from ntlab.lab.blotter import Blotter
        from ntlab.lab.charts import PnLView
        from ntlab.lab.ticket import OrderTicket

        self.lab = lab
        self.account = AccountLine(lab)
        self.ticket = OrderTicket(lab)
        self.blotter = Blotter(lab)
        self.fills = fills_view(lab)
        self.positions = positions_view(lab)
        self.pnl = PnLView(lab)
        parts = [self.ticket, self.blotter, self.fills, self.positions, self.pnl]
        self.tabs = widgets.Tab(children=parts, titles=self.TITLES)
        super().__init__([self.account, self.tabs])

    @property
    def titles(self) -> tuple[str, ...]:
        return tuple(self.tabs.titles)

    def static_html(self) -> str:
        return f"{self.account.static_html()}{self.ticket.static_html()}{self.blotter.static_html()}"

    def summary(self) -> str:
        return f"ntlab dashboard — {self.lab.venue}"

    def stop(self) -> None:
        for part in (self.account, self.ticket, self.blotter, self.fills, self.positions, self.pnl):
            part.stop()
