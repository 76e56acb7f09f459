"""The AlgoEngine: owns the running parents and gives each its turn as the venue's clock moves.

On a simulated clock the engine moves time itself (``step_to``, ``run_until``, ``run``): it advances the
venue to the next moment some parent is due (never further than ``step`` while any parent is running), so
the venue matches every quote and trade in between in time order and each parent then acts on what it
sees. The same inputs give the same children, fills and ids. On a real-time clock the venue moves itself
and :meth:`start` runs a background task that wakes parents when due.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from datetime import datetime, timedelta
from decimal import ROUND_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import pandas as pd

from ntlab.algos.models import AlgoKind, AlgoParams, AlgoStatus, ParentSnapshot
from ntlab.algos.parent import ParentOrder
from ntlab.algos.schedules import CurveSchedule, Schedule, VolumeTape, market_curve
from ntlab.core.broker import Broker, SimulatedVenue
from ntlab.core.enums import Side
from ntlab.errors import ConfigError, InvalidArgument, UnknownOrder
from ntlab.times import duration_ns, from_ns, to_ns

if TYPE_CHECKING:
    from ntlab.core.manager import OrderManager
    from ntlab.market.frames import Market

log = logging.getLogger(__name__)

MIN_INTERVAL = timedelta(seconds=1)  # quotes tick once a second: deciding more often sees nothing new
ROUND_LOT = 100  # equities' default smallest child: odd lots print but rarely help a schedule
START_KIND = "algo_start"
END_KIND = "algo_end"


def _symbol(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgument(f"symbol={value!r}: give a symbol such as 'AAPL'")
    return value.strip().upper()


def _positive(value: Any, name: str) -> Decimal:
    """A positive finite number from an int, a float, a Decimal or a string."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise InvalidArgument(f"{name}={value!r}: give a positive number")
    try:
        number = (
            Decimal(str(value).replace("_", "").replace(",", "")) if not isinstance(value, Decimal) else value
        )
    except InvalidOperation:
        raise InvalidArgument(f"{name}={value!r}: not a number") from None
    if not number.is_finite() or number <= 0:
        raise InvalidArgument(f"{name}={value!r}: must be positive")
    return number


def _time_ns(value: Any, name: str) -> int:
    try:
        return to_ns(value)
    except (ValueError, TypeError):
        raise InvalidArgument(
            f"{name}={value!r}: give a time such as '2026-03-02 15:00' (UTC) or a datetime"
        ) from None


def _duration_s(value: Any, name: str) -> float:
    if value is None or isinstance(value, bool):
        raise InvalidArgument(f"{name}={value!r}: give a duration such as '30s' or '1min'")
    try:
        return duration_ns(value) / 1e9
    except ConfigError:
        raise InvalidArgument(f"{name}={value!r}: give a duration such as '30s' or '1min'") from None


class AlgoEngine:
    """Execution algorithms on one OrderManager. ``broker`` defaults to the manager's (a PaperBroker or a
    SmartRouter, which carry the market the schedules read)."""

    def __init__(
        self, om: OrderManager, broker: Broker | None = None, *, market: Market | None = None
    ) -> None:
        self.om = om
        self.broker: Broker = broker if broker is not None else om.broker
        if market is None and isinstance(self.broker, SimulatedVenue):
            market = self.broker.market
        self.market: Market | None = market
        self.parents: dict[str, ParentOrder] = {}
        self._seq = len(om.journal_events([START_KIND]))  # parent ids never repeat across restarts
        self._task: asyncio.Task[None] | None = None

    # --- placing parents ---------------------------------------------------------------------------------
    def params(
        self,
        algo: AlgoKind,
        symbol: str,
        quantity: Decimal | int | str,
        side: Side | str = "buy",
        *,
        minutes: float | None = None,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
        **options: Any,
    ) -> AlgoParams:
        """Fill in defaults: start now, end after ``minutes`` (else at the session close), VWAP's curve from
        the market, max child twice the schedule's busiest interval, min child a round lot (one lot for
        crypto and FX), a decision every 30 s (10 s for POV; never longer than the window).

        Every argument is checked here, before anything is computed or journaled: a bad one raises
        :class:`~ntlab.errors.InvalidArgument` saying what to give instead.
        """
        if algo not in ("twap", "vwap", "pov"):
            raise InvalidArgument(f"algo={algo!r}: use 'twap', 'vwap' or 'pov'")
        symbol = _symbol(symbol)
        qty = _positive(quantity, "quantity")
        lot = self._lot(symbol)
        if qty % lot:
            raise InvalidArgument(f"quantity={quantity!r}: {symbol} trades in steps of {lot.normalize()}")
        now_ns = self._now_ns()
        start_ns = max(now_ns, _time_ns(start, "start")) if start is not None else now_ns
        if end is not None:
            end_ns = _time_ns(end, "end")
        elif minutes is not None:
            end_ns = start_ns + int(_positive(minutes, "minutes") * 60_000_000_000)
        else:
            end_ns = self._close_ns()
        if end_ns <= start_ns:
            raise InvalidArgument(
                f"the window ends at {from_ns(end_ns):%H:%M:%S} UTC, not after its start "
                f"{from_ns(start_ns):%H:%M:%S} UTC; give a later end= or a positive minutes="
            )
        window = timedelta(microseconds=(end_ns - start_ns) / 1000)
        default = min(window, timedelta(seconds=10 if algo == "pov" else 30))
        interval = options.get("interval", max(default, MIN_INTERVAL))
        if not isinstance(interval, timedelta):
            interval = timedelta(seconds=_duration_s(interval, "interval"))
        if interval < MIN_INTERVAL:
            raise InvalidArgument(
                f"interval={options.get('interval')!r}: a parent decides at most once a second; "
                "give '1s' or more"
            )
        if interval > window:
            raise InvalidArgument(
                f"interval={options.get('interval')!r} is longer than the window ({window})"
            )
        options["interval"] = interval
        for name in ("min_child", "max_child", "limit_price", "catch_up"):
            if options.get(name) is not None:
                options[name] = _positive(options[name], name)
        if "min_child" in options and "max_child" in options and options["max_child"] < options["min_child"]:
            raise InvalidArgument(
                f"max_child={options['max_child']} is below min_child={options['min_child']}; "
                "raise max_child or lower min_child"
            )
        if algo == "pov":
            rate = options.get("rate")
            if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 < rate <= 1:
                raise InvalidArgument(
                    f"rate={rate!r}: give the share of the tape's volume, above 0 and at most 1 (0.1 is 10%)"
                )
        if algo == "vwap" and options.get("profile") is None and self.market is not None:
            options["profile"] = tuple(market_curve(self.market, symbol, start_ns, end_ns).tolist())
        if "max_child" not in options and algo == "pov":
            options["max_child"] = qty  # the tape's volume paces a POV parent, not a slice size
        if "max_child" not in options:
            step = int(interval.total_seconds() * 1e9)
            schedule = (
                CurveSchedule(start_ns, end_ns, options["profile"])
                if options.get("profile") is not None
                else Schedule(start_ns, end_ns)
            )
            marks = [*range(start_ns, end_ns, step), end_ns]
            fractions = [schedule.fraction(t) for t in marks]
            busiest = max(b - a for a, b in itertools.pairwise(fractions))
            peak = qty * 2 * Decimal(repr(busiest))  # twice the busiest interval's share
            options["max_child"] = max(lot, (peak / lot).to_integral_value(rounding=ROUND_UP) * lot)
        if "min_child" not in options:
            instrument = self.om.instruments.get(symbol)
            equity = instrument is not None and instrument.kind.value == "equity"
            options["min_child"] = min(qty, Decimal(ROUND_LOT) if equity else lot)
        # a default never undercuts what the caller set: a bigger min_child lifts the default max_child
        options["max_child"] = max(Decimal(options["max_child"]), Decimal(options["min_child"]))
        try:
            chosen = Side(side.strip().lower() if isinstance(side, str) else side)
        except ValueError:
            raise InvalidArgument(f"side={side!r}: use 'buy' or 'sell'") from None
        return AlgoParams(
            algo=algo,
            symbol=symbol,
            side=chosen,
            quantity=qty,
            start=from_ns(start_ns),
            end=from_ns(end_ns),
            **options,
        )

    async def submit(self, params: AlgoParams) -> ParentOrder:
        """Journal the parent, then let it act at once if its window has begun."""
        used = {o.parent_id for o in self.om.orders() if o.parent_id is not None} | set(self.parents)
        while True:
            self._seq += 1
            parent_id = f"{self.om.id_prefix}-{params.algo}-{self._seq:03d}"
            if parent_id not in used:
                break
        await self.om.record(
            START_KIND, {"parent_id": parent_id, "params": params.model_dump(mode="json")}, key=parent_id
        )
        parent = self._build(parent_id, params)
        self.parents[parent_id] = parent
        if parent.next_wake_ns <= self._now_ns():
            await parent.wake()
        return parent

    async def twap(
        self, symbol: str, quantity: Decimal | int | str, side: Side | str = "buy", **kw: Any
    ) -> ParentOrder:
        """Even slices over the window: ``await engine.twap("AAPL", 10_000, minutes=30)``."""
        return await self.submit(self.params("twap", symbol, quantity, side, **kw))

    async def vwap(
        self, symbol: str, quantity: Decimal | int | str, side: Side | str = "buy", **kw: Any
    ) -> ParentOrder:
        """Slices along the volume curve (the market's, or ``profile=`` weights from history)."""
        return await self.submit(self.params("vwap", symbol, quantity, side, **kw))

    async def pov(
        self,
        symbol: str,
        quantity: Decimal | int | str,
        side: Side | str = "buy",
        *,
        rate: float = 0.1,
        **kw: Any,
    ) -> ParentOrder:
        """A share ``rate`` of the volume the tape prints, until done or the window ends."""
        return await self.submit(self.params("pov", symbol, quantity, side, rate=rate, **kw))

    async def cancel(self, parent_id: str) -> ParentSnapshot:
        """Cancel a parent and every working child of it."""
        parent = self.parent(parent_id)
        await parent.cancel()
        return parent.snapshot()

    async def cancel_all(self) -> None:
        for parent in list(self.parents.values()):
            await parent.cancel()

    def parent(self, parent_id: str) -> ParentOrder:
        try:
            return self.parents[parent_id]
        except KeyError:
            raise UnknownOrder(f"no parent order {parent_id!r} in this engine", order_id=parent_id) from None

    def snapshots(self) -> list[ParentSnapshot]:
        return [p.snapshot() for p in self.parents.values()]

    def frame(self) -> pd.DataFrame:
        """One row per parent: status, progress, average price."""
        rows = [s.model_dump() | {"progress": s.progress} for s in self.snapshots()]
        frame = pd.DataFrame(rows)
        return frame.set_index("parent_id") if not frame.empty else frame

    @property
    def running(self) -> list[ParentOrder]:
        return [p for p in self.parents.values() if not p.status.is_final]

    # --- moving the simulated clock -----------------------------------------------------------------------
    async def step_to(self, when: datetime | str | int) -> None:
        """Advance the venue to ``when`` (fills are applied on the way), then wake every parent due."""
        target = when if isinstance(when, int) else to_ns(when)
        if target > self._now_ns():
            await self.broker.advance_to(target)
        await self._wake_due()

    async def run_until(self, when: datetime | str | int, step: str | timedelta | float = "1s") -> None:
        """Move time to ``when``, stopping at every parent's wake and at least every ``step`` while one runs."""
        target = when if isinstance(when, int) else to_ns(when)
        await self._advance(target, max(1, duration_ns(step)), until_idle=False)

    async def advance(self, step: str | timedelta | float = "1min") -> datetime:
        """Like the venue's ``advance(step)``, with every running parent acting on the way."""
        await self.run_until(self._now_ns() + duration_ns(step))
        now: datetime = self.broker.now()
        return now

    async def run(self, step: str | timedelta | float = "1s") -> None:
        """Run until every parent has finished or its window has ended; time stops there."""
        if self.running:
            last = max(p.end_ns for p in self.running)
            await self._advance(last, max(1, duration_ns(step)), until_idle=True)

    async def _advance(self, target: int, step_ns: int, *, until_idle: bool) -> None:
        await self._wake_due()
        while self._now_ns() < target:
            now = self._now_ns()
            running = self.running
            if running:
                due = min(p.next_wake_ns for p in running)
                nxt = min(target, max(due, now + step_ns))
            elif until_idle:
                return
            else:
                nxt = target
            await self.step_to(nxt)
            await asyncio.sleep(0)  # one trip through the loop per step: a long run stays interruptible
        await self._wake_due()

    async def _wake_due(self) -> None:
        now = self._now_ns()
        for parent in list(self.parents.values()):
            if not parent.status.is_final and parent.next_wake_ns <= now:
                await parent.wake()

    # --- real-time mode ----------------------------------------------------------------------------------
    def start(self, poll: float = 0.05) -> None:
        """Wake parents in the background as a real-time venue's clock moves (the venue moves itself)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._poll(poll), name="ntlab-algo-engine")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _poll(self, poll: float) -> None:
        while True:
            await asyncio.sleep(poll)
            try:
                await self._wake_due()
            except Exception:
                log.exception("algo engine pass failed; trying again on the next tick")

    # --- after a restart ---------------------------------------------------------------------------------
    async def resume(self) -> list[ParentOrder]:
        """Take back the parents the journal says were unfinished: resume them or stop them, as each was
        configured (``on_restart``). Their children come from the manager's replayed state, so what was done
        is never done again."""
        starts = self.om.journal_events([START_KIND, END_KIND])
        ended = {e.order_id for e in starts if e.kind == END_KIND}
        taken: list[ParentOrder] = []
        self._seq = max(self._seq, sum(1 for e in starts if e.kind == START_KIND))
        for event in starts:
            parent_id = event.order_id
            if event.kind != START_KIND or parent_id is None or parent_id in self.parents:
                continue
            params = AlgoParams.model_validate(event.data["params"])
            parent = self._build(parent_id, params)
            if parent_id in ended:
                continue
            self.parents[parent_id] = parent
            if params.on_restart == "stop":
                await parent.cancel("stopped after a restart (on_restart='stop')", AlgoStatus.STOPPED)
            taken.append(parent)
        await self._wake_due()
        return taken

    # --- helpers -----------------------------------------------------------------------------------------
    def _build(self, parent_id: str, params: AlgoParams) -> ParentOrder:
        start_ns, end_ns = to_ns(params.start), to_ns(params.end)
        schedule: Schedule
        tape = None
        if params.algo == "vwap" and params.profile is not None:
            schedule = CurveSchedule(start_ns, end_ns, params.profile)
        else:
            schedule = Schedule(start_ns, end_ns)
        if params.algo == "pov":
            if self.market is None:
                raise ConfigError("POV needs the market's trades; give AlgoEngine(market=...)")
            tape = VolumeTape(self.market, params.symbol, start_ns)
        instrument = self.om.instruments.get(params.symbol)
        tick = instrument.tick_size if instrument is not None else Decimal("0.01")
        lot = instrument.lot_size if instrument is not None else Decimal(1)
        return ParentOrder(parent_id, params, self.om, self.broker, schedule, tape, tick, lot)

    def _lot(self, symbol: str) -> Decimal:
        instrument = self.om.instruments.get(symbol)
        return instrument.lot_size if instrument is not None else Decimal(1)

    def _now_ns(self) -> int:
        broker = self.broker
        return broker.now_ns if isinstance(broker, SimulatedVenue) else to_ns(broker.now())

    def _close_ns(self) -> int:
        if not isinstance(self.broker, SimulatedVenue):
            raise ConfigError("this broker has no session close; give end= or minutes=")
        return to_ns(self.broker.session_close)
