"""Execution algorithms from the Lab: ``lab.twap(...)``, ``lab.vwap(...)``, ``lab.pov(...)`` and their twins.

Parents live on the core loop in an :class:`ntlab.algos.AlgoEngine`; on a simulated clock ``lab.advance``
steps through the engine so parents act as time moves, and in real time the engine wakes them itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from ntlab.algos import AlgoEngine, ParentOrder
    from ntlab.lab.bridge import CoreThread


class AlgoMethods:
    """Mixed into Lab: the algo engine's sync and async faces."""

    _core: CoreThread
    _algos: AlgoEngine
    timeout: float

    def _algo(self, kind: str, symbol: str, quantity: Any, side: str, **options: Any) -> Any:
        return getattr(self._algos, kind)(symbol, quantity, side, **options)

    def twap(self, symbol: str, quantity: Any, side: str = "buy", **options: Any) -> ParentOrder:
        """Even slices over the window: ``lab.twap("AAPL", 10_000, minutes=30)``.

        Options: ``minutes=``/``start=``/``end=``, ``limit_price=`` (a cap no child crosses), ``min_child=``,
        ``max_child=``, ``interval="30s"``, ``placement="passive"|"aggressive"``, ``on_restart="resume"|"stop"``.
        """
        return self._core.run(self._algo("twap", symbol, quantity, side, **options), self.timeout)  # type: ignore[no-any-return]

    def vwap(self, symbol: str, quantity: Any, side: str = "buy", **options: Any) -> ParentOrder:
        """Slices along the market's volume curve (or ``profile=`` weights from your history)."""
        return self._core.run(self._algo("vwap", symbol, quantity, side, **options), self.timeout)  # type: ignore[no-any-return]

    def pov(self, symbol: str, quantity: Any, side: str = "buy", **options: Any) -> ParentOrder:
        """A share ``rate=`` (default 0.1) of the volume the tape prints, within ``band=``."""
        return self._core.run(self._algo("pov", symbol, quantity, side, **options), self.timeout)  # type: ignore[no-any-return]

    async def atwap(self, symbol: str, quantity: Any, side: str = "buy", **options: Any) -> ParentOrder:
        return await self._core.arun(self._algo("twap", symbol, quantity, side, **options))  # type: ignore[no-any-return]

    async def avwap(self, symbol: str, quantity: Any, side: str = "buy", **options: Any) -> ParentOrder:
        return await self._core.arun(self._algo("vwap", symbol, quantity, side, **options))  # type: ignore[no-any-return]

    async def apov(self, symbol: str, quantity: Any, side: str = "buy", **options: Any) -> ParentOrder:
        return await self._core.arun(self._algo("pov", symbol, quantity, side, **options))  # type: ignore[no-any-return]

    def cancel_algo(self, parent: ParentOrder | str) -> Any:
        """Cancel a parent and every working child of it."""
        parent_id = parent if isinstance(parent, str) else parent.parent_id
        return self._core.run(self._algos.cancel(parent_id), self.timeout)

    @property
    def algos(self) -> pd.DataFrame:
        """One row per parent: status, filled, average price, schedule."""
        return self._core.call(self._algos.frame)  # type: ignore[no-any-return]

    def run_algos(self, step: str = "1s") -> pd.Timestamp:
        """Simulated clock: run until every parent has finished or its window has ended."""
        self._core.run(self._algos.run(step), None)
        return pd.Timestamp(self._core.call(self._algos.broker.now))

    def algo_progress(self, parent: ParentOrder) -> Any:
        """A progress widget for ``parent`` (filled against schedule), updated as the parent acts."""
        from ntlab.algos.widgets import progress_widget

        return self._core.call(progress_widget, parent)
