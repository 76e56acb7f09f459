"""Lab: the notebook facade over one OrderManager running in a background thread.

Every operation is one coroutine run on the core's loop, exposed twice by :class:`~ntlab.lab.twins.twin`:
``lab.buy(...)`` waits for it, ``await lab.abuy(...)`` awaits it (``Lab.TWINS`` lists them). Views
(``lab.orders``, ``lab.fills``, ``lab.positions``) are DataFrames built from snapshots taken on that loop.
Arguments are read before anything is sent or scheduled, and a bad one is refused with an ntlab error.
Everything here is reachable from ``ntlab.core`` without a notebook.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ntlab.config import ExecutionConfig
from ntlab.core import Order, OrderEvent, OrderManager, OrderRequest, Quote, RiskLimits
from ntlab.core.broker import AccountSource, QuoteStream, SimulatedVenue
from ntlab.core.instruments import Instrument
from ntlab.core.records import Account
from ntlab.errors import BrokerError, ConfigError, DataError, InvalidArgument, NtlabError
from ntlab.lab import args
from ntlab.lab.bridge import DEFAULT_TIMEOUT, CoreThread
from ntlab.lab.handles import OrderHandle
from ntlab.lab.quotes import TradedQuotes
from ntlab.lab.style import EXCHANGE_ZONE, Style
from ntlab.lab.table import FillTable, OrderTable, fills_view, orders_view
from ntlab.lab.twins import twin
from ntlab.lab.views import positions_frame

if TYPE_CHECKING:
    from ntlab.core.broker import Broker
    from ntlab.lab.algos import Algos
    from ntlab.market import Market

log = logging.getLogger(__name__)

DEFAULT_JOURNAL = "ntlab-session.sqlite"
_TYPES = {(False, False): "market", (True, False): "limit", (False, True): "stop", (True, True): "stop_limit"}


def _build(**fields: Any) -> OrderRequest:
    """An OrderRequest whose refusal reads as one line from the caller's cell, not pydantic's internals."""
    try:
        return OrderRequest(**fields)
    except NtlabError as error:
        raise error.with_traceback(None) from None


def _framed(built: tuple[Callable[[], pd.DataFrame], Style]) -> pd.DataFrame:
    """Build a view's frame on the caller's side and attach its display style."""
    make, style = built
    frame = make()
    frame.attrs["ntlab"] = style
    return frame


def _call(function: Callable[[], Any]) -> Any:
    return function()


def _drawn(result: tuple[pd.DataFrame, bool]) -> pd.DataFrame:
    """Bars back to the caller, drawn on the caller's side (matplotlib belongs to the kernel's thread)."""
    bars, chart = result
    if chart:
        from ntlab.market.history import plot_bars

        plot_bars(bars)
    return bars


def paper_ledger(journal: str | Path | None) -> Path | None:
    """The paper venue's ledger beside a journal: without it a reopened session would hold orders the
    venue has forgotten, and a simulated clock would start the day again."""
    if journal is None:
        return None
    path = Path(journal)
    return path.with_name(f"{path.stem}.paper{path.suffix or '.sqlite'}")


class Lab:
    """An interactive trading session: ``lab = Lab()``, then ``lab.buy("AAPL", 100)``.

    - ``broker``: ``"paper"`` (default; the built-in venue on ``market`` or the seeded sample market),
      ``"alpaca"``, ``"questrade"``, ``"lime"``, ``"ib"`` (TWS / IB Gateway: IB_HOST, IB_PORT, IB_CLIENT_ID),
      ``"oanda"``, or any object implementing the Broker protocol. Defaults to ``BROKER`` from the environment.
    - ``clock="sim"``: simulated time, deterministic, stepped with ``lab.advance("5min")``.
      ``speed=60`` (or ``clock="realtime"``): the market replays at that speed so resting orders fill as you watch.
    - ``journal``: the session's event log (default ``ntlab-session.sqlite`` in the working directory);
      reopening with the same file restores the session. With the paper venue a ledger file beside it
      (``ntlab-session.paper.sqlite``) keeps the venue's book and clock, so resting orders are still resting
      and simulated time resumes where it stopped. ``journal=None`` keeps nothing: every run starts afresh.
    - ``id_prefix``: order ids are ``{prefix}-000001``...; on the paper venue's simulated clock it defaults
      to ``"sim"``, so a seeded notebook with ``journal=None`` numbers its orders the same on every run.
    - ``readable_errors``: in IPython, show ntlab errors as one line (``%tb`` for the traceback) and draw
      ntlab's views, quotes and orders in its display style.
    - ``zone``: the exchange's time zone, in which times are shown (values stay UTC).
    - ``quotes``: on a broker that streams quotes (Alpaca's market-data websocket), symbols to stream from
      the start; every symbol the session then has an order in is added, so pre-trade risk reads a streamed
      reference price instead of asking for one per order.
    """

    TWINS: tuple[str, ...] = ()

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
        readable_errors: bool = True,
        zone: str = EXCHANGE_ZONE,
        quotes: Iterable[str] = (),
    ) -> None:
        self._closed = True
        self.config = config or ExecutionConfig()
        if speed is not None:
            args.seconds(speed, "speed")  # a positive multiple of wall time
            clock = "realtime"
        if clock not in ("sim", "realtime"):
            raise ConfigError(
                f"clock={clock!r}: use 'sim' (stepped by lab.advance) or 'realtime' (with speed=)"
            )
        self.clock = clock
        self.zone = zone
        self.timeout = args.seconds(timeout, "timeout")
        self.broker = self._make_broker(broker, clock, speed or 1.0, market, seed, journal, tuple(quotes))
        if id_prefix is None and isinstance(self.broker, SimulatedVenue) and clock == "sim":
            id_prefix = "sim"
        self._bridge = CoreThread()
        self._om = OrderManager(self.broker, journal=journal, risk=risk, id_prefix=id_prefix)
        self._listeners: list[Callable[[], None]] = []
        self._widgets: list[Any] = []
        self._spawned: list[Any] = []
        try:
            self._bridge.run(self._om.start(), timeout)
            self._start_algos(journal is not None)
            self._table = OrderTable()
            self._fills = FillTable()
            self._listeners.append(self._bridge.call(self._watch_orders))
            self._quotes: TradedQuotes | None = None
            if isinstance(self.broker, QuoteStream):  # quotes stream in for every symbol it trades
                self._quotes = TradedQuotes(self._om, self.broker, quotes)
                self._bridge.call(self._quotes.start)
        except BaseException:
            self._bridge.stop()
            raise
        self._closed = False
        if readable_errors:
            from ntlab.lab.style import install_formatter
            from ntlab.lab.tracebacks import install

            install()
            install_formatter()

    def _start_algos(self, journaled: bool) -> None:
        from ntlab.algos import AlgoEngine
        from ntlab.lab.algos import Algos

        self._engine = self._bridge.call(AlgoEngine, self._om)
        self.algos: Algos = Algos(self, self._engine)
        if journaled:
            self._bridge.run(self._engine.resume(), self.timeout)  # unfinished parents resume or stop
        if self.clock == "realtime":
            self._bridge.call(self._engine.start)

    def _make_broker(
        self,
        broker: Any,
        clock: str,
        speed: float,
        market: Any,
        seed: int,
        journal: str | Path | None,
        quotes: tuple[str, ...] = (),
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

            return AlpacaBroker.from_config(self.config, quotes=quotes)
        if broker == "questrade":
            from ntlab.brokers.questrade import QuestradeBroker

            return QuestradeBroker.from_config(self.config)
        if broker == "lime":
            from ntlab.brokers.lime import LimeBroker

            return LimeBroker.from_config(self.config)
        if broker == "crypto":
            from ntlab.brokers.crypto import CcxtBroker

            return CcxtBroker.from_config(self.config)
        if broker == "ib":
            from ntlab.brokers.ib import IBBroker

            return IBBroker.from_config(self.config)
        if broker == "oanda":
            from ntlab.brokers.oanda import OandaBroker

            return OandaBroker.from_config(self.config)
        raise ConfigError(
            f"broker={broker!r} is not known; use 'paper', 'alpaca', 'questrade', 'lime', 'crypto', 'ib', 'oanda' "
            "or pass a Broker instance"
        )

    # --- lifecycle ---------------------------------------------------------------------------------------
    @property
    def manager(self) -> OrderManager:
        """The OrderManager behind this Lab (run its coroutines with ``lab.run(...)``)."""
        return self._om

    @property
    def live(self) -> bool:
        return self.config.live and not isinstance(self.broker, SimulatedVenue)

    @property
    def venue(self) -> str:
        """What the session trades on, as a header says it: "paper venue (simulated clock)", "alpaca LIVE"."""
        if isinstance(self.broker, SimulatedVenue):
            clock = "simulated clock" if self.clock == "sim" else "real-time replay"
            name = self.broker.name if self.broker.name != "paper" else "paper venue"
            return f"{name} ({clock})"
        return f"{self.broker.name} {'LIVE' if self.live else 'paper account'}"

    def run(self, coroutine: Any, timeout: float | None = None) -> Any:
        """Run any coroutine on the core loop and wait for it."""
        return self._bridge.run(coroutine, timeout or self.timeout)

    async def arun(self, coroutine: Any) -> Any:
        return await self._bridge.arun(coroutine)

    def spawn(self, coroutine: Any) -> Any:
        """Start a coroutine on the core loop without waiting (a widget's refresher); returns its future,
        which ``cancel()`` stops."""
        future = self._bridge.submit(coroutine)
        self._spawned.append(future)
        return future

    def close(self) -> None:
        """Stop widgets, the manager (flushing the journal) and the core thread. Safe to call twice."""
        if getattr(self, "_closed", True):
            return
        self._closed = True
        for unsubscribe in self._listeners:
            unsubscribe()
        for widget in self._widgets:
            widget.stop()
        for future in self._spawned:  # refreshers of widgets nobody stopped
            future.cancel()
        try:
            if self._quotes is not None:
                self._bridge.call(self._quotes.stop)
            self._bridge.run(self._engine.stop(), self.timeout)
            self._bridge.run(self._om.close(), self.timeout)
        finally:
            self._bridge.stop()

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    def __repr__(self) -> str:
        if self._closed:
            return f"Lab({self.venue}, closed)"
        count = self._bridge.call(lambda: len(self._om.orders()))
        return f"Lab({self.venue}, {count} orders)"

    # --- placing and cancelling --------------------------------------------------------------------------
    def _request(
        self,
        symbol: Any,
        side: str,
        quantity: Any,
        limit: Any,
        stop: Any,
        tif: Any,
        order_type: str | None,
        **extra: Any,
    ) -> OrderRequest:
        """Read a cell's order arguments on the core loop (the instrument decides the default tif)."""
        symbol = args.symbol(symbol)
        if order_type is None:
            order_type = _TYPES[(limit is not None, stop is not None)]
        tif = args.time_in_force(tif, self._om.instruments.get(symbol))
        if quantity is not None:
            extra["quantity"] = quantity
        elif "notional" not in extra:
            raise InvalidArgument(
                f"{side}({symbol!r}): give a quantity, or notional= for an amount of money "
                f"(lab.{side}({symbol!r}, 10) or lab.{side}({symbol!r}, notional=500))"
            )
        return _build(
            symbol=symbol,
            side=side,
            order_type=order_type,
            limit_price=limit,
            stop_price=stop,
            time_in_force=tif,
            **extra,
        )

    @twin
    async def place(self, request: OrderRequest | None = None, **fields: Any) -> OrderHandle:
        """Place an OrderRequest (or build one from keyword fields) and return its live handle.

        Without ``time_in_force`` the instrument's default applies: day for equities, gtc for crypto and FX.
        """
        if request is None:
            if "time_in_force" not in fields and isinstance(fields.get("symbol"), str):
                fields["time_in_force"] = args.time_in_force(
                    None, self._om.instruments.get(args.symbol(fields["symbol"]))
                )
            request = _build(**fields)
        elif not isinstance(request, OrderRequest):
            raise InvalidArgument(f"request={request!r}: give an OrderRequest or keyword fields")
        response = await self._om.place_order(request)
        return OrderHandle(self, response.order_id)

    @twin
    async def buy(
        self,
        symbol: str,
        quantity: Any = None,
        limit: Any = None,
        stop: Any = None,
        tif: str | None = None,
        order_type: str | None = None,
        **extra: Any,
    ) -> OrderHandle:
        """Buy: market by default, limit with ``limit=``, stop with ``stop=``, stop-limit with both.

        ``tif`` defaults per instrument: day for equities, gtc for crypto and FX. ``notional=500`` instead of a
        quantity buys 500 (the instrument's currency) worth at market; the broker works out the quantity.
        """
        request = self._request(symbol, "buy", quantity, limit, stop, tif, order_type, **extra)
        return OrderHandle(self, (await self._om.place_order(request)).order_id)

    @twin
    async def sell(
        self,
        symbol: str,
        quantity: Any = None,
        limit: Any = None,
        stop: Any = None,
        tif: str | None = None,
        order_type: str | None = None,
        **extra: Any,
    ) -> OrderHandle:
        """Sell: like :meth:`buy`."""
        request = self._request(symbol, "sell", quantity, limit, stop, tif, order_type, **extra)
        return OrderHandle(self, (await self._om.place_order(request)).order_id)

    @twin
    async def cancel(self, order: OrderHandle | Order | str) -> OrderHandle:
        """Ask to cancel an order (its id, handle or snapshot); the handle shows the outcome."""
        order_id = args.order_id(order)
        await self._om.cancel_order(order_id)
        return OrderHandle(self, order_id)

    @twin
    async def replace(
        self,
        order: OrderHandle | Order | str,
        *,
        quantity: Any = None,
        limit: Any = None,
        stop: Any = None,
        trail: Any = None,
    ) -> OrderHandle:
        """Change a working order's total quantity or prices, or a trailing stop's ``trail`` (its new
        trail_price or trail_percent); it keeps its id (and the handle). The broker's answer shows on the
        handle: the new values, or ``reason`` saying why it refused."""
        order_id = args.order_id(order)
        await self._om.replace_order(
            order_id, quantity=quantity, limit_price=limit, stop_price=stop, trail=trail
        )
        return OrderHandle(self, order_id)

    @twin
    async def cancel_all(self, symbol: str | None = None) -> int:
        """Cancel every open order (of one symbol); returns how many were asked to cancel."""
        chosen = None if symbol is None else args.symbol(symbol)
        return len(await self._om.cancel_all(chosen))

    @twin
    async def flatten(self, symbol: str | None = None) -> list[OrderHandle]:
        """Cancel open orders and send market orders that bring positions (of one symbol) to zero."""
        chosen = None if symbol is None else args.symbol(symbol)
        await self._om.cancel_all(chosen)
        handles = []
        for position in self._om.positions():
            if position.quantity == 0 or (chosen is not None and position.symbol != chosen):
                continue
            request = self._request(
                position.symbol,
                "sell" if position.quantity > 0 else "buy",
                abs(position.quantity),
                None,
                None,
                None,
                None,
                tag="flatten",
            )
            response = await self._om.place_order(request)
            handles.append(OrderHandle(self, response.order_id))
        return handles

    # --- looking -----------------------------------------------------------------------------------------
    @twin
    async def quote(self, symbol: str) -> Quote:
        """The latest quote the broker knows for ``symbol``."""
        wanted = args.symbol(symbol)
        quote = self.broker.last_quote(wanted)
        if quote is None:
            raise DataError(f"no quote for {wanted!r}; check the symbol (the market has {self._symbols()})")
        return quote

    def _symbols(self) -> str:
        if isinstance(self.broker, SimulatedVenue):
            return ", ".join(self.broker.market.symbols)
        return "the broker's symbols"

    @twin
    async def symbols(self) -> list[str]:
        """The symbols this session's market has (empty for a broker without a market)."""
        return list(self.broker.market.symbols) if isinstance(self.broker, SimulatedVenue) else []

    @twin
    async def instrument(self, symbol: str) -> Instrument:
        """The instrument behind a symbol: kind, tick size, lot size, currency."""
        wanted = args.symbol(symbol)
        found = self._om.instruments.get(wanted)
        if found is None:
            raise InvalidArgument(f"symbol={symbol!r} is not a tradable symbol here")
        return found

    @twin
    async def order(self, order_id: str) -> OrderHandle:
        """The live handle of an order of this session."""
        wanted = args.order_id(order_id)
        self._om.order(wanted)  # raises UnknownOrder early
        return OrderHandle(self, wanted)

    @twin
    async def snapshot(self, order_id: str) -> Order:
        """The order as it is now (an immutable copy)."""
        return self._om.order(args.order_id(order_id))

    @twin
    async def snapshots(self, *, open_only: bool = False) -> list[Order]:
        """Every order of the session as immutable snapshots, oldest first (what the blotter draws)."""
        return self._om.orders(open_only=open_only)

    def _style(self, totals: tuple[str, ...] = ()) -> Style:
        """The display style of this session's views: each instrument's tick and lot, the exchange zone."""
        style = Style(zone=self.zone, totals=totals)
        for instrument in self._om.instruments:
            style.ticks[instrument.symbol] = instrument.tick_size
            style.lots[instrument.symbol] = instrument.lot_size
        return style

    @twin(view=True, finish=_framed)
    async def orders(self) -> tuple[Callable[[], pd.DataFrame], Style]:
        """All orders of the session, indexed by order_id (``lab.orders``; ``await lab.aorders()``)."""
        return functools.partial(orders_view, self._table.sync(self._om.orders()).columns()), self._style()

    @twin(view=True, finish=_framed)
    async def fills(self) -> tuple[Callable[[], pd.DataFrame], Style]:
        """All fills of the session, indexed by fill_id, with fee and liquidity."""
        return functools.partial(fills_view, self._fills.sync(self._om.fills()).columns()), self._style()

    @twin(view=True, finish=_framed)
    async def positions(self) -> tuple[Callable[[], pd.DataFrame], Style]:
        """Positions with average cost, mark (mid), market value and realized/unrealized P&L (totalled)."""
        positions = self._om.positions()
        marks = {}
        for p in positions:
            quote = self.broker.last_quote(p.symbol)
            marks[p.symbol] = quote.mid if quote is not None else None
        totals = ("market_value", "realized_pnl", "unrealized_pnl", "fees", "total_pnl")
        return functools.partial(positions_frame, positions, marks), self._style(totals)

    @twin(view=True)
    async def account(self) -> Account:
        """Cash, equity, buying power, margin used and the day's P&L, as the broker reports them."""
        if not isinstance(self.broker, AccountSource):
            raise BrokerError(f"{self.broker.name} reports no account (cash, equity, buying power)")
        return await self.broker.account()

    @twin
    async def version(self) -> int:
        """A count of the session's order events: views redraw when it has moved since they last looked."""
        return self._version

    def _watch_orders(self) -> Callable[[], None]:
        """Keep orders and fills converted as they change, so a look at a long session is cheap."""
        self._table.sync(self._om.orders())
        self._fills.sync(self._om.fills())
        self._version = 0

        def convert(event: OrderEvent) -> None:
            self._version += 1
            self._table.on_event(event)
            self._fills.on_event(event)

        return self._om.on_event(convert)

    # --- time --------------------------------------------------------------------------------------------
    @twin
    async def now(self) -> pd.Timestamp:
        """The venue's clock (simulated time on the paper venue), UTC."""
        return pd.Timestamp(self.broker.now())

    @twin(untimed=True)
    async def advance(self, step: Any = "1min") -> pd.Timestamp:
        """Step simulated time ("30s", "5min", a timedelta); resting orders fill and algos act on the way."""
        delta = args.duration(step, "step")
        if not isinstance(self.broker, SimulatedVenue) or self.clock != "sim":
            raise ConfigError("advance() steps a simulated clock; this session's clock is real time")
        return pd.Timestamp(await self._engine.advance(delta))

    # --- events ------------------------------------------------------------------------------------------
    def on_event(self, callback: Callable[[OrderEvent], Any]) -> Callable[[], None]:
        """Call ``callback(event)`` for every order event, on the loop of whoever registered it.

        From a notebook the callback runs on the kernel's loop (handed over with call_soon_threadsafe), never
        on the core thread; without a running loop it runs on the core thread and must not block.
        """
        if not callable(callback):
            raise InvalidArgument(f"callback={callback!r}: give a function of one order event")
        try:
            target: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            target = None

        def forward(event: OrderEvent) -> None:
            if target is None:
                callback(event)
            elif not target.is_closed():
                target.call_soon_threadsafe(callback, event)

        unsubscribe = self._bridge.call(self._om.on_event, forward)
        self._listeners.append(unsubscribe)
        return unsubscribe  # type: ignore[no-any-return]

    @twin(untimed=True)
    async def wait_for(
        self, order: OrderHandle | Order | str, status: Any = "filled", timeout: Any = 10.0
    ) -> Order:
        """Wait until the order reaches ``status`` (or any final status); TimeoutError after ``timeout`` s."""
        order_id, wanted, limit = (
            args.order_id(order),
            args.statuses(status),
            args.seconds(timeout, "timeout"),
        )
        done = asyncio.Event()

        def check(event: OrderEvent) -> None:
            if event.order.order_id == order_id and (
                event.order.status in wanted or event.order.status.is_final
            ):
                done.set()

        current = self._om.order(order_id)  # UnknownOrder before waiting
        if current.status in wanted or current.status.is_final:
            return current
        unsubscribe = self._om.on_event(check)
        try:
            await asyncio.wait_for(done.wait(), limit)
        except TimeoutError:
            now = self._om.order(order_id).status.value
            names = " or ".join(sorted(s.value for s in wanted))
            raise TimeoutError(
                f"order {order_id} is still {now} after {limit} s (waited for {names})"
            ) from None
        finally:
            unsubscribe()
        return self._om.order(order_id)

    # --- analysis and display ----------------------------------------------------------------------------
    @property
    def risk(self) -> Any:
        """Each pre-trade limit beside what is used of it now: ``lab.risk.frame``, ``lab.risk.widget()``."""
        from ntlab.lab.risk import RiskView

        return RiskView(self)

    @twin(finish=_call)
    async def tca(self, **options: Any) -> Callable[[], Any]:
        """Transaction-cost analysis of this session against the market's quotes (and trades); algo parents
        are the units, their children a drill-down (``report.children``).

        The session's orders and fills are read on the core loop; the analysis runs on the caller's side.
        """
        from ntlab.analytics import tca
        from ntlab.lab.frames import parent_frame, tca_frames

        if not isinstance(self.broker, SimulatedVenue):
            raise DataError("tca() needs market data; this broker has none: use ntlab.analytics.tca(...)")
        market = self.broker.market
        orders, fills = tca_frames(self._om.orders(), self._om.fills())
        orders = pd.concat([orders, parent_frame(self._engine.snapshots())], ignore_index=True)
        defaults = dict(tape_includes_fills=False, session="Lab session", market_source="the paper venue")
        return functools.partial(tca, orders, fills, market.quotes, market.trades, **{**defaults, **options})

    @property
    def charts(self) -> Any:
        """Charts of this session: ``lab.charts.pnl()``, ``exposure()``, ``order(o)``, ``schedule(parent)``."""
        from ntlab.lab.charts import Charts

        return Charts(self)

    def ticket(self, symbol: str | None = None) -> Any:
        """An order ticket widget (on ``symbol``, else the market's first)."""
        from ntlab.lab.ticket import OrderTicket

        return self._keep(OrderTicket(self, symbol))

    def blotter(self, **options: Any) -> Any:
        """A live, scrolling table of orders with a cancel control on each open row."""
        from ntlab.lab.blotter import Blotter

        return self._keep(Blotter(self, **options))

    def dashboard(self) -> Any:
        """Account line, then ticket, blotter, fills, positions and P&L in tabs: what ``display(lab)`` shows."""
        from ntlab.lab.widgets import Dashboard

        return self._keep(Dashboard(self))

    def _keep(self, widget: Any) -> Any:
        self._widgets.append(widget)
        return widget

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.dashboard())

    # --- market data ---------------------------------------------------------------------------------------------
    @twin(untimed=True, finish=_drawn)
    async def history(
        self, symbol: str, interval: str = "5min", days: int = 5, *, provider: Any = None, chart: bool = False
    ) -> tuple[pd.DataFrame, bool]:
        """Bars of ``symbol`` over the last ``days`` trading days, up to the session's clock and never past it.

        From ``provider`` (a name or a provider), else the one the session's market came from
        (``Lab(market=get_market("polygon", ...))``), else the sample market's. ``chart=True`` also draws them.
        The download runs on a worker thread: the core loop goes on meanwhile.
        """
        from ntlab.market.history import history

        wanted = args.symbol(symbol)
        if provider is None and isinstance(self.broker, SimulatedVenue):
            provider = self.broker.market.source
        elif provider is None:
            raise InvalidArgument(
                "history() needs provider= (e.g. 'alpaca' or 'polygon') when the broker is not simulated"
            )
        end = self.broker.now()
        bars = await asyncio.to_thread(history, wanted, interval, days, end=end, provider=provider)
        return bars, chart

    # --- news --------------------------------------------------------------------------------------------
    @twin
    async def news(self, symbol: str, days: float = 3, *, client: Any = None, **options: Any) -> pd.DataFrame:
        """Headlines about ``symbol`` over the ``days`` before the session's clock (simulated time on the
        paper venue), from News API (``NEWS_API_KEY``) or the ``client`` given; see :mod:`ntlab.news`."""
        from ntlab.news import NewsClient

        source = client if client is not None else NewsClient()
        end = pd.Timestamp(self.broker.now())
        return await source.asymbol_news(args.symbol(symbol), days=days, end=end, **options)  # type: ignore[no-any-return]
