"""Lab: the notebook facade over one OrderManager running in a background thread.

Every sync method has an ``a``-prefixed async twin (``buy``/``abuy``); both run the same coroutine on the
core's loop. Views (``lab.orders``, ``lab.fills``, ``lab.positions``) are DataFrames built from snapshots taken
on that loop. Everything here is reachable from ``ntlab.core`` without a notebook.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ntlab.config import ExecutionConfig
from ntlab.core import Order, OrderEvent, OrderManager, OrderRequest, OrderStatus, Quote, RiskLimits
from ntlab.core.broker import SimulatedVenue
from ntlab.core.enums import Side
from ntlab.errors import ConfigError, NtlabError
from ntlab.lab.algo_methods import AlgoMethods
from ntlab.lab.bridge import DEFAULT_TIMEOUT, CoreThread
from ntlab.lab.handles import OrderHandle
from ntlab.lab.table import FillColumns, FillTable, OrderColumns, OrderTable
from ntlab.lab.views import positions_frame

if TYPE_CHECKING:
    from ntlab.core.broker import Broker
    from ntlab.market import Market

log = logging.getLogger(__name__)

DEFAULT_JOURNAL = "ntlab-session.sqlite"


def _build(**fields: Any) -> OrderRequest:
    """An OrderRequest whose refusal reads as one line from the caller's cell, not pydantic's internals."""
    try:
        return OrderRequest(**fields)
    except NtlabError as error:
        raise error.with_traceback(None) from None


def paper_ledger(journal: str | Path | None) -> Path | None:
    """The paper venue's ledger beside a journal: without it a reopened session would hold orders the
    venue has forgotten, and a simulated clock would start the day again."""
    if journal is None:
        return None
    path = Path(journal)
    return path.with_name(f"{path.stem}.paper{path.suffix or '.sqlite'}")


class Lab(AlgoMethods):
    """An interactive trading session: ``lab = Lab()``, then ``lab.buy("AAPL", 100)``.

    - ``broker``: ``"paper"`` (default; the built-in venue on ``market`` or the seeded sample market),
      ``"alpaca"``, or any object implementing the Broker protocol. Defaults to ``BROKER`` from the environment.
    - ``clock="sim"``: simulated time, deterministic, stepped with ``lab.advance("5min")``.
      ``speed=60`` (or ``clock="realtime"``): the market replays at that speed so resting orders fill as you watch.
    - ``journal``: the session's event log (default ``ntlab-session.sqlite`` in the working directory);
      reopening with the same file restores the session. With the paper venue a ledger file beside it
      (``ntlab-session.paper.sqlite``) keeps the venue's book and clock, so resting orders are still resting
      and simulated time resumes where it stopped. ``journal=None`` keeps nothing: every run starts afresh.
    - ``id_prefix``: order ids are ``{prefix}-000001``...; on the paper venue's simulated clock it defaults
      to ``"sim"``, so a seeded notebook with ``journal=None`` numbers its orders the same on every run.
    """

    def __init__(
        self,
        broker: str | Broker | None = None,
        *,
        clock: str = "sim",
        speed: float | None = None,
        market: Market | None = None,
        seed: int = 7,
        journal: str | Path | None = DEFAULT_JOURNAL,
        risk: RiskLimits | None = None,
        id_prefix: str | None = None,
        config: ExecutionConfig | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.config = config or ExecutionConfig()
        if speed is not None:
            clock = "realtime"
        if clock not in ("sim", "realtime"):
            raise ConfigError(
                f"clock={clock!r}: use 'sim' (stepped by lab.advance) or 'realtime' (with speed=)"
            )
        self.clock = clock
        self.timeout = timeout
        self.broker = self._make_broker(broker, clock, speed or 1.0, market, seed, journal)
        if id_prefix is None and isinstance(self.broker, SimulatedVenue) and clock == "sim":
            id_prefix = "sim"
        self._core = CoreThread()
        self._om = OrderManager(self.broker, journal=journal, risk=risk, id_prefix=id_prefix)
        self._listeners: list[Callable[[], None]] = []
        self._widgets: list[Any] = []
        try:
            self._core.run(self._om.start(), timeout)
            self._start_algos(journal is not None)
            self._table = OrderTable()
            self._fills = FillTable()
            self._listeners.append(self._core.call(self._watch_orders))
        except BaseException:
            self._core.stop()
            raise
        self._closed = False

    def _start_algos(self, journaled: bool) -> None:
        from ntlab.algos import AlgoEngine

        self._algos = self._core.call(AlgoEngine, self._om)
        if journaled:
            self._core.run(self._algos.resume(), self.timeout)  # unfinished parents resume or stop
        if self.clock == "realtime":
            self._core.call(self._algos.start)

    def _make_broker(
        self, broker: Any, clock: str, speed: float, market: Any, seed: int, journal: str | Path | None
    ) -> Broker:
        if broker is None:
            broker = self.config.broker
        if not isinstance(broker, str):
            return broker  # type: ignore[no-any-return]
        if broker == "paper":
            from ntlab.brokers.paper import PaperBroker
            from ntlab.market import sample_market

            return PaperBroker(  # type: ignore[arg-type]
                market or sample_market(seed=seed), clock=clock, speed=speed, ledger=paper_ledger(journal)
            )
        if broker == "alpaca":
            from ntlab.brokers.alpaca import AlpacaBroker

            return AlpacaBroker.from_config(self.config)
        raise ConfigError(f"broker={broker!r} is not known; use 'paper', 'alpaca' or pass a Broker instance")

    # --- lifecycle ---------------------------------------------------------------------------------------
    @property
    def manager(self) -> OrderManager:
        """The OrderManager behind this Lab (run its coroutines with ``lab.run(...)``)."""
        return self._om

    @property
    def live(self) -> bool:
        return self.config.live and not isinstance(self.broker, SimulatedVenue)

    def run(self, coroutine: Any, timeout: float | None = None) -> Any:
        """Run any coroutine on the core loop and wait for it."""
        return self._core.run(coroutine, timeout or self.timeout)

    async def arun(self, coroutine: Any) -> Any:
        return await self._core.arun(coroutine)

    def close(self) -> None:
        """Stop widgets, the manager (flushing the journal) and the core thread. Safe to call twice."""
        if getattr(self, "_closed", True):
            return
        self._closed = True
        for unsubscribe in self._listeners:
            unsubscribe()
        for widget in self._widgets:
            widget.stop()
        try:
            self._core.run(self._algos.stop(), self.timeout)
            self._core.run(self._om.close(), self.timeout)
        finally:
            self._core.stop()

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    def __repr__(self) -> str:
        mode = "LIVE" if self.live else "paper"
        if self._closed:
            return f"Lab({mode}, closed)"
        # read on the core loop: the broker and the manager change there
        broker, count = self._core.call(lambda: (repr(self.broker), len(self._om.orders())))
        return f"Lab({broker}, {mode}, {count} orders)"

    # --- placing and cancelling --------------------------------------------------------------------------
    def _request(
        self,
        symbol: str,
        side: Side | str,
        quantity: Any,
        limit: Any,
        stop: Any,
        tif: str,
        order_type: str | None,
        **extra: Any,
    ) -> OrderRequest:
        if order_type is None:
            order_type = {
                (False, False): "market",
                (True, False): "limit",
                (False, True): "stop",
                (True, True): "stop_limit",
            }[(limit is not None, stop is not None)]
        return _build(
            symbol=symbol,
            side=side,
            quantity=quantity,
            order_type=order_type,
            limit_price=limit,
            stop_price=stop,
            time_in_force=tif,
            **extra,
        )

    async def aplace(self, request: OrderRequest | None = None, **fields: Any) -> OrderHandle:
        """Place an OrderRequest (or build one from keyword fields) and return its live handle."""
        if request is None:
            request = _build(**fields)
        response = await self._core.arun(self._om.place_order(request))
        return OrderHandle(self, response.order_id)

    def place(self, request: OrderRequest | None = None, **fields: Any) -> OrderHandle:
        if request is None:
            request = _build(**fields)
        response = self._core.run(self._om.place_order(request), self.timeout)
        return OrderHandle(self, response.order_id)

    def buy(
        self,
        symbol: str,
        quantity: Any,
        limit: Any = None,
        stop: Any = None,
        tif: str = "day",
        order_type: str | None = None,
        **extra: Any,
    ) -> OrderHandle:
        """Buy: market by default, limit with ``limit=``, stop with ``stop=``, stop-limit with both."""
        return self.place(self._request(symbol, "buy", quantity, limit, stop, tif, order_type, **extra))

    def sell(
        self,
        symbol: str,
        quantity: Any,
        limit: Any = None,
        stop: Any = None,
        tif: str = "day",
        order_type: str | None = None,
        **extra: Any,
    ) -> OrderHandle:
        return self.place(self._request(symbol, "sell", quantity, limit, stop, tif, order_type, **extra))

    async def abuy(
        self,
        symbol: str,
        quantity: Any,
        limit: Any = None,
        stop: Any = None,
        tif: str = "day",
        order_type: str | None = None,
        **extra: Any,
    ) -> OrderHandle:
        return await self.aplace(
            self._request(symbol, "buy", quantity, limit, stop, tif, order_type, **extra)
        )

    async def asell(
        self,
        symbol: str,
        quantity: Any,
        limit: Any = None,
        stop: Any = None,
        tif: str = "day",
        order_type: str | None = None,
        **extra: Any,
    ) -> OrderHandle:
        return await self.aplace(
            self._request(symbol, "sell", quantity, limit, stop, tif, order_type, **extra)
        )

    @staticmethod
    def _id(order: OrderHandle | Order | str) -> str:
        return order if isinstance(order, str) else order.order_id

    def cancel(self, order: OrderHandle | Order | str) -> OrderHandle:
        order_id = self._id(order)
        self._core.run(self._om.cancel_order(order_id), self.timeout)
        return OrderHandle(self, order_id)

    async def acancel(self, order: OrderHandle | Order | str) -> OrderHandle:
        order_id = self._id(order)
        await self._core.arun(self._om.cancel_order(order_id))
        return OrderHandle(self, order_id)

    def cancel_all(self, symbol: str | None = None) -> int:
        """Cancel every open order (of one symbol); returns how many were asked to cancel."""
        return len(self._core.run(self._om.cancel_all(symbol), self.timeout))

    async def acancel_all(self, symbol: str | None = None) -> int:
        return len(await self._core.arun(self._om.cancel_all(symbol)))

    async def _flatten(self, symbol: str | None) -> list[OrderHandle]:
        await self._om.cancel_all(symbol)
        handles = []
        for position in self._om.positions():
            if position.quantity == 0 or (symbol is not None and position.symbol != symbol):
                continue
            side = "sell" if position.quantity > 0 else "buy"
            response = await self._om.place_order(
                OrderRequest(
                    symbol=position.symbol, side=side, quantity=abs(position.quantity), tag="flatten"
                )
            )
            handles.append(OrderHandle(self, response.order_id))
        return handles

    def flatten(self, symbol: str | None = None) -> list[OrderHandle]:
        """Cancel open orders and send market orders that bring positions (of one symbol) to zero."""
        return self._core.run(self._flatten(symbol), self.timeout)

    async def aflatten(self, symbol: str | None = None) -> list[OrderHandle]:
        return await self._core.arun(self._flatten(symbol))

    # --- looking -----------------------------------------------------------------------------------------
    def quote(self, symbol: str) -> Quote:
        """The latest quote the broker knows for ``symbol``."""
        quote = self._core.call(self.broker.last_quote, symbol.strip().upper())
        if quote is None:
            raise NtlabError(f"no quote for {symbol!r}; check the symbol (the market has {self._symbols()})")
        return quote  # type: ignore[no-any-return]

    async def aquote(self, symbol: str) -> Quote:
        quote = await self._acall(self.broker.last_quote, symbol.strip().upper())
        if quote is None:
            raise NtlabError(f"no quote for {symbol!r}; check the symbol (the market has {self._symbols()})")
        return quote  # type: ignore[no-any-return]

    async def _acall(self, function: Any, *args: Any) -> Any:
        async def invoke() -> Any:
            return function(*args)

        return await self._core.arun(invoke())

    def _symbols(self) -> str:
        if isinstance(self.broker, SimulatedVenue):
            return ", ".join(self.broker.market.symbols)
        return "the broker's symbols"

    def order(self, order_id: str) -> OrderHandle:
        self._core.call(self._om.order, order_id)  # raises UnknownOrder early
        return OrderHandle(self, order_id)

    async def aorder(self, order_id: str) -> OrderHandle:
        await self._acall(self._om.order, order_id)
        return OrderHandle(self, order_id)

    def snapshot(self, order_id: str) -> Order:
        return self._core.call(self._om.order, order_id)  # type: ignore[no-any-return]

    @property
    def orders(self) -> pd.DataFrame:
        """All orders of the session, indexed by order_id."""
        return self._core.call(self._order_columns).frame()

    def _watch_orders(self) -> Callable[[], None]:
        """Keep orders and fills converted as they change, so a look at a long session is cheap."""
        self._table.sync(self._om.orders())
        self._fills.sync(self._om.fills())

        def convert(event: OrderEvent) -> None:
            self._table.on_event(event)
            self._fills.on_event(event)

        return self._om.on_event(convert)

    def _order_columns(self) -> OrderColumns:
        return self._table.sync(self._om.orders()).columns()

    def _fill_columns(self) -> FillColumns:
        return self._fills.sync(self._om.fills()).columns()

    async def aorders(self) -> pd.DataFrame:
        """``lab.orders`` for async code: the snapshot is taken on the core loop, the frame built here."""
        return (await self._acall(self._order_columns)).frame()

    @property
    def fills(self) -> pd.DataFrame:
        """All fills of the session, indexed by fill_id, with fee and liquidity."""
        return self._core.call(self._fill_columns).frame()

    async def afills(self) -> pd.DataFrame:
        return (await self._acall(self._fill_columns)).frame()

    @property
    def positions(self) -> pd.DataFrame:
        """Positions with average cost, mark (mid), market value and realized/unrealized P&L."""
        return positions_frame(*self._core.call(self._marked_positions))

    async def apositions(self) -> pd.DataFrame:
        return positions_frame(*await self._acall(self._marked_positions))

    def _marked_positions(self) -> tuple[list[Any], dict[str, Decimal | None]]:
        """Positions and their marks (mid of the last quote), read together on the core loop."""
        positions = self._om.positions()
        marks = {}
        for p in positions:
            quote = self.broker.last_quote(p.symbol)
            marks[p.symbol] = quote.mid if quote is not None else None
        return positions, marks

    # --- time --------------------------------------------------------------------------------------------
    def now(self) -> pd.Timestamp:
        return pd.Timestamp(self._core.call(self.broker.now))

    def _check_stepped(self) -> None:
        if not isinstance(self.broker, SimulatedVenue) or self.clock != "sim":
            raise NtlabError("advance() steps a simulated clock; this session's clock is real time")

    def advance(self, step: Any = "1min") -> pd.Timestamp:
        """Step simulated time ("30s", "5min", a timedelta); resting orders fill and algos act on the way."""
        self._check_stepped()
        return pd.Timestamp(self._core.run(self._algos.advance(step), None))

    async def aadvance(self, step: Any = "1min") -> pd.Timestamp:
        self._check_stepped()
        return pd.Timestamp(await self._core.arun(self._algos.advance(step)))

    # --- events ------------------------------------------------------------------------------------------
    def on_event(self, callback: Callable[[OrderEvent], Any]) -> Callable[[], None]:
        """Call ``callback(event)`` for every order event, on the loop of whoever registered it.

        From a notebook the callback runs on the kernel's loop (handed over with call_soon_threadsafe), never
        on the core thread; without a running loop it runs on the core thread and must not block.
        """
        try:
            target: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            target = None

        def forward(event: OrderEvent) -> None:
            if target is None:
                callback(event)
            elif not target.is_closed():
                target.call_soon_threadsafe(callback, event)

        unsubscribe = self._core.call(self._om.on_event, forward)
        self._listeners.append(unsubscribe)
        return unsubscribe  # type: ignore[no-any-return]

    def wait_for(self, order_id: str, statuses: set[OrderStatus], timeout: float) -> Order:
        """Block until the order reaches one of ``statuses`` (or a final status); used by handles."""
        return self._core.run(self._wait(order_id, statuses, timeout), None)  # type: ignore[no-any-return]

    async def await_for(self, order_id: str, statuses: set[OrderStatus], timeout: float) -> Order:
        return await self._core.arun(self._wait(order_id, statuses, timeout))  # type: ignore[no-any-return]

    async def _wait(self, order_id: str, statuses: set[OrderStatus], timeout: float) -> Order:
        done = asyncio.Event()

        def check(event: OrderEvent) -> None:
            if event.order.order_id == order_id and (
                event.order.status in statuses or event.order.status.is_final
            ):
                done.set()

        unsubscribe = self._om.on_event(check)
        try:
            current = self._om.order(order_id)
            if current.status not in statuses and not current.status.is_final:
                try:
                    await asyncio.wait_for(done.wait(), timeout)
                except TimeoutError:
                    status = self._om.order(order_id).status.value
                    wanted = " or ".join(sorted(s.value for s in statuses))
                    raise TimeoutError(
                        f"order {order_id} is still {status} after {timeout} s (waited for {wanted})"
                    ) from None
            return self._om.order(order_id)
        finally:
            unsubscribe()

    # --- analysis and display ----------------------------------------------------------------------------
    def tca(self, **options: Any) -> Any:
        """Transaction-cost analysis of this session against the market's quotes (and trades); algo parents
        are the units, their children a drill-down (``report.children``)."""
        from ntlab.analytics import tca
        from ntlab.lab.frames import parent_frame, tca_frames

        if not isinstance(self.broker, SimulatedVenue):
            raise NtlabError("tca() needs market data; this broker has none: use ntlab.analytics.tca(...)")
        market = self.broker.market
        orders, fills = tca_frames(self._core.call(self._om.orders), self._core.call(self._om.fills))
        orders = pd.concat([orders, parent_frame(self._core.call(self._algos.snapshots))], ignore_index=True)
        defaults = dict(tape_includes_fills=False, session="Lab session", market_source="the paper venue")
        return tca(orders, fills, market.quotes, market.trades, **{**defaults, **options})

    def ticket(self) -> Any:
        """An order ticket widget."""
        from ntlab.lab.widgets import OrderTicket

        return self._keep(OrderTicket(self))

    def blotter(self) -> Any:
        """A live table of orders with a cancel button per open order."""
        from ntlab.lab.widgets import Blotter

        return self._keep(Blotter(self))

    def dashboard(self) -> Any:
        from ntlab.lab.widgets import Dashboard

        return self._keep(Dashboard(self))

    def _keep(self, widget: Any) -> Any:
        self._widgets.append(widget)
        return widget

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.dashboard())
