"""``lab.algos``: execution algorithms of a session, as a namespace on the Lab.

``lab.algos.twap("AAPL", 10_000, minutes=30)`` places a parent; ``lab.algos.frame`` is one row per parent;
``await lab.algos.atwap(...)`` is the async twin. Parents live on the core loop in an
:class:`ntlab.algos.AlgoEngine`; on a simulated clock ``lab.advance`` steps through the engine so parents act
as time moves, and in real time the engine wakes them itself. Parameters are checked before the parent is
journaled, so a refused call leaves nothing behind.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from ntlab.errors import InvalidArgument
from ntlab.lab import args
from ntlab.lab.twins import twin

if TYPE_CHECKING:
    from ntlab.algos import AlgoEngine, ParentOrder, ParentSnapshot
    from ntlab.lab.session import Lab


def _parent_id(parent: Any) -> str:
    from ntlab.algos import ParentOrder, ParentSnapshot

    if isinstance(parent, ParentOrder | ParentSnapshot):
        return parent.parent_id
    if isinstance(parent, str) and parent.strip():
        return parent.strip()
    raise InvalidArgument(f"parent={parent!r}: give a parent order, its snapshot or its id ('sim-twap-001')")


class Algos:
    """The session's execution algorithms: ``twap``, ``vwap``, ``pov``, ``cancel``, ``frame``, ``run``."""

    TWINS: tuple[str, ...] = ()

    def __init__(self, lab: Lab, engine: AlgoEngine) -> None:
        self._lab = lab
        self._engine = engine

    @property
    def _bridge(self) -> Any:
        return self._lab._bridge

    @property
    def timeout(self) -> float:
        return self._lab.timeout

    @property
    def engine(self) -> AlgoEngine:
        """The engine behind the namespace (its coroutines run with ``lab.run(...)``)."""
        return self._engine

    async def _submit(
        self, algo: str, symbol: Any, quantity: Any, side: Any, options: dict[str, Any]
    ) -> ParentOrder:
        side = args.choice(side, "side", ("buy", "sell"))
        params = self._engine.params(algo, args.symbol(symbol), quantity, side, **options)  # type: ignore[arg-type]
        return await self._engine.submit(params)

    @twin
    async def twap(self, symbol: str, quantity: Any, side: str = "buy", **options: Any) -> ParentOrder:
        """Even slices over the window: ``lab.algos.twap("AAPL", 10_000, minutes=30)``.

        Options: ``minutes=``/``start=``/``end=``, ``limit_price=`` (a cap no child crosses), ``min_child=``,
        ``max_child=``, ``interval="30s"``, ``placement="passive"|"aggressive"``, ``on_restart="resume"|"stop"``.
        """
        return await self._submit("twap", symbol, quantity, side, options)

    @twin
    async def vwap(self, symbol: str, quantity: Any, side: str = "buy", **options: Any) -> ParentOrder:
        """Slices along the market's volume curve (or ``profile=`` weights from your history)."""
        return await self._submit("vwap", symbol, quantity, side, options)

    @twin
    async def pov(
        self, symbol: str, quantity: Any, side: str = "buy", *, rate: Any = 0.1, **options: Any
    ) -> ParentOrder:
        """A share ``rate=`` (default 0.1) of the volume the tape prints, within ``band=``."""
        return await self._submit("pov", symbol, quantity, side, {"rate": rate, **options})

    @twin
    async def cancel(self, parent: ParentOrder | str) -> ParentSnapshot:
        """Cancel a parent and every working child of it."""
        return await self._engine.cancel(_parent_id(parent))

    @twin
    async def parent(self, parent_id: str) -> ParentOrder:
        """A parent of this session by id."""
        return self._engine.parent(_parent_id(parent_id))

    @twin
    async def snapshots(self) -> list[ParentSnapshot]:
        """Every parent's state now, oldest first."""
        return self._engine.snapshots()

    @twin(view=True)
    async def frame(self) -> pd.DataFrame:
        """One row per parent: status, filled, average price, progress against schedule."""
        return self._engine.frame()

    @twin(untimed=True)
    async def run(self, step: Any = "1s") -> pd.Timestamp:
        """Simulated clock: run until every parent has finished or its window has ended."""
        delta = args.duration(step, "step")
        await self._engine.run(delta)
        return pd.Timestamp(self._engine.broker.now())

    def progress(self, parent: ParentOrder | str) -> Any:
        """A progress widget for ``parent`` (filled against schedule), updated as the parent acts."""
        from ntlab.algos.widgets import progress_widget

        found = self.parent(parent)
        return self._bridge.call(progress_widget, found)

    def chart(self, parent: ParentOrder | str) -> Any:
        """The parent's schedule against what was filled, wake by wake."""
        from ntlab.lab.charts import schedule_chart

        found = parent if not isinstance(parent, str) else self.parent(parent)
        return schedule_chart(self._lab, found)

    def __repr__(self) -> str:
        snapshots = self.snapshots()
        running = sum(1 for s in snapshots if not s.status.is_final)
        return f"<algos: {len(snapshots)} parents, {running} running>"

    def _repr_html_(self) -> str:
        from ntlab.lab.style import algos_table

        return algos_table(self.snapshots())
