"""Every (adapter, fake) pair the conformance suite runs: add a factory to ``SUBJECTS`` to join it."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from ntlab.brokers.alpaca import AlpacaBroker
from ntlab.brokers.alpaca.fake import FakeAlpaca
from ntlab.brokers.crypto import CcxtBroker
from ntlab.brokers.crypto.fake import FakeBinance
from ntlab.brokers.ib import IBBroker
from ntlab.brokers.ib.fake import FakeTWS
from ntlab.brokers.lime import LimeBroker
from ntlab.brokers.lime import mapping as lime_mapping
from ntlab.brokers.lime.fake import ACCOUNT as LIME_ACCOUNT
from ntlab.brokers.lime.fake import FakeLime
from ntlab.brokers.oanda import OandaBroker
from ntlab.brokers.oanda.fake import FAKE_TOKEN, FakeOanda
from ntlab.brokers.paper import PaperBroker
from ntlab.brokers.questrade import QuestradeBroker
from ntlab.brokers.questrade.fake import ACCOUNT as QUESTRADE_ACCOUNT
from ntlab.brokers.questrade.fake import SYMBOL_IDS, FakeQuestrade
from ntlab.core import Order, OrderManager, OrderStatus, OrderType, Side, TimeInForce
from ntlab.market import sample_market
from tests.conformance.subject import Capabilities, Subject
from tests.conformance.tracing import TRACE_HEADER, TracedQuestrade, TraceTransport

T = OrderType
TIF = TimeInForce


class PaperSubject:
    """The built-in paper venue with a ledger: in-process, no network, no stream; it remembers its orders."""

    name = "paper"
    faults = None
    caps = Capabilities(
        symbol="AAPL",
        quantity=Decimal(100),
        big=Decimal(3000),
        order_types=frozenset({T.MARKET, T.LIMIT, T.STOP, T.STOP_LIMIT}),
        time_in_force=frozenset({TIF.DAY, TIF.GTC, TIF.IOC, TIF.FOK}),
        stream=False,
        request_faults=False,
        refusal=None,
        notional=True,
        notes={
            "stream": "in-process: news comes back with each call or each clock step",
            "request_faults": "no network between the manager and the venue",
            "refusal": "the paper venue takes every order its market can price (risk refuses before it)",
        },
    )

    def __init__(self, folder: Path) -> None:
        self.market = sample_market(symbols=["AAPL", "MSFT"])
        self.ledger = folder / "paper.sqlite"
        self.current: PaperBroker | None = None

    def broker(self) -> PaperBroker:
        self.current = PaperBroker(self.market, ledger=self.ledger)
        return self.current

    def manager_options(self) -> dict[str, Any]:
        return {}

    async def advance(self, seconds: float) -> None:
        assert self.current is not None
        await self.current.advance(seconds)

    async def settle(self, om: OrderManager) -> None:
        await asyncio.sleep(0)

    def _venue(self) -> PaperBroker:
        """The live venue, or (between sessions) the account as its ledger holds it."""
        if self.current is not None and self.current.durable:
            return self.current
        return PaperBroker(self.market, ledger=self.ledger)

    def placed(self) -> list[str]:
        return [o.order_id for o in self._venue().order_views()]

    def fill_ids(self) -> set[str]:
        return {f.fill_id for f in _run(self._venue().fills_since(None))}

    def positions(self) -> dict[str, Decimal]:
        venue = self._venue()
        return {p.symbol: p.quantity for p in _run(venue.positions()) if p.quantity}

    def drop_stream(self) -> None:
        raise AssertionError("the paper venue has no stream")

    async def place_external(self, symbol: str, side: str, quantity: Decimal) -> str:
        venue = self._venue()
        now = venue.now()
        order_id = f"elsewhere-{len(venue.order_views()) + 1}"
        order = Order(
            order_id=order_id,
            symbol=symbol,
            side=Side(side),
            quantity=quantity,
            order_type=T.MARKET,
            time_in_force=TIF.DAY,
            status=OrderStatus.PENDING,
            created_at=now,
            updated_at=now,
        )
        await venue.submit_order(order)
        return order_id

    def refuse(self) -> dict[str, Any]:
        raise AssertionError("no refusal to provoke")


class AlpacaSubject:
    """AlpacaBroker against the local fake Alpaca (on the kit's engine) over real HTTP and websockets."""

    name = "alpaca"
    caps = Capabilities(
        symbol="AAPL",
        quantity=Decimal(10),
        big=Decimal(2000),
        order_types=frozenset({T.MARKET, T.LIMIT, T.STOP, T.STOP_LIMIT, T.TRAILING_STOP}),
        time_in_force=frozenset({TIF.DAY, TIF.GTC, TIF.IOC, TIF.FOK}),
        refusal="insufficient_funds",
        notional=True,
        notes={"time_in_force": "opg and cls wait for the auctions; the scenarios run mid-session"},
    )

    def __init__(self, fake: FakeAlpaca) -> None:
        self.fake = fake
        self.faults = fake.faults
        self.current: AlpacaBroker | None = None

    def broker(self) -> AlpacaBroker:
        self.current = AlpacaBroker(
            self.fake.key_id,
            self.fake.secret_key,
            base_url=self.fake.base_url,
            stream_url=self.fake.stream_url,
            data_url=self.fake.data_url,
            data_stream_url=self.fake.data_stream_url,
            requests_per_minute=None,
            timeout=1.0,
            retry_initial=0.01,
        )
        return self.current

    def manager_options(self) -> dict[str, Any]:
        return {"submit_timeout": 1.0, "retry_initial": 0.01}

    async def advance(self, seconds: float) -> None:
        await self.fake.advance(seconds)

    async def settle(self, om: OrderManager) -> None:
        broker = self.current
        for _ in range(400):
            if broker is None or broker.stream is None or broker.stream.listening.is_set():
                break
            await asyncio.sleep(0.01)
        for _ in range(3):
            await self.fake.hub.drain()
            await asyncio.sleep(0.02)
            if broker is not None:
                await broker.wait_idle()

    def placed(self) -> list[str]:
        return self.fake.accepted_client_ids()

    def fill_ids(self) -> set[str]:
        return {f"{f['order_id']}:{Decimal(f['cum_qty']).normalize():f}" for f in self.fake.fills()}

    def positions(self) -> dict[str, Decimal]:
        return self.fake.positions()

    def drop_stream(self) -> None:
        self.fake.drop_streams()

    async def place_external(self, symbol: str, side: str, quantity: Decimal) -> str:
        client_id = f"elsewhere-{len(self.fake.accepted_client_ids()) + 1}"
        body = {
            "symbol": symbol,
            "qty": str(quantity),
            "side": side,
            "type": "market",
            "time_in_force": "day",
            "client_order_id": client_id,
        }
        self.fake.submit(body)
        return client_id

    def refuse(self) -> dict[str, Any]:
        return {"quantity": Decimal(10_000_000)}  # more than the account's buying power


class QuestradeSubject:
    """QuestradeBroker against the local fake Questrade (login and API servers) over real HTTP.

    Questrade has no client order id, so the fake cannot say which ntlab order a placement came from; the
    subject's adapter sends a trace header (``tests.conformance.tracing``) that only the fake reads.
    """

    name = "questrade"
    caps = Capabilities(
        symbol="AAPL",
        quantity=Decimal(10),
        big=Decimal(2000),
        order_types=frozenset({T.MARKET, T.LIMIT, T.STOP, T.STOP_LIMIT}),
        time_in_force=frozenset({TIF.DAY, TIF.GTC, TIF.IOC, TIF.FOK}),
        stream=False,
        refusal="insufficient_funds",
        notes={
            "stream": "the adapter polls Questrade (orders and executions); its notification websocket is not used",
            "notional": "Questrade's order API takes a share quantity only",
        },
    )

    def __init__(self, fake: FakeQuestrade, folder: Path) -> None:
        self.fake = fake
        self.faults = fake.faults
        self.token_file = folder / "questrade.token"
        self.current: QuestradeBroker | None = None

    def broker(self) -> QuestradeBroker:
        seed = None if self.token_file.exists() else self.fake.tokens.issue()
        self.current = TracedQuestrade(
            self.token_file,
            refresh_token=seed,
            login_url=self.fake.login_url,
            poll_interval=None,
            timeout=1.0,
            retry_initial=0.01,
            transport=TraceTransport(),
        )
        return self.current

    def manager_options(self) -> dict[str, Any]:
        return {"submit_timeout": 1.5, "retry_initial": 0.01}

    async def advance(self, seconds: float) -> None:
        await self.fake.advance(seconds)

    async def settle(self, om: OrderManager) -> None:
        broker = self.current
        if broker is not None and broker.account_number is not None and broker._sink is not None:
            await broker.poll()
        await asyncio.sleep(0)

    def placed(self) -> list[str]:
        return [
            self.fake.traces.get(o["id"], f"questrade-{o['id']}")
            for o in self.fake.placed_orders()
            if o["id"] == o["chainId"]  # a replacement is the same order, not a second placement
        ]

    def fill_ids(self) -> set[str]:
        return {str(e["id"]) for e in self.fake.executions}

    def positions(self) -> dict[str, Decimal]:
        return dict(self.fake.engine.positions())

    def drop_stream(self) -> None:
        raise AssertionError("the Questrade adapter polls; it has no stream")

    async def place_external(self, symbol: str, side: str, quantity: Decimal) -> str:
        body = {
            "accountNumber": QUESTRADE_ACCOUNT,
            "symbolId": SYMBOL_IDS[symbol],
            "quantity": int(quantity),
            "orderType": "Market",
            "timeInForce": "Day",
            "action": side.capitalize(),
            "primaryRoute": "AUTO",
            "secondaryRoute": "AUTO",
        }
        _, answer = self.fake.place_body(body)
        return f"questrade-{answer['orderId']}"

    def refuse(self) -> dict[str, Any]:
        return {"quantity": Decimal(10_000_000)}  # more than the buying power: HTTP 200 with a code


class LimeSubject:
    """LimeBroker against the local fake Lime (auth server, REST and the account websocket)."""

    name = "lime"
    caps = Capabilities(
        symbol="AAPL",
        quantity=Decimal(10),
        big=Decimal(2000),
        order_types=frozenset({T.MARKET, T.LIMIT}),
        time_in_force=frozenset({TIF.DAY, TIF.IOC, TIF.FOK}),
        replace=False,
        resting_tif=TIF.DAY,
        refusal="insufficient_funds",
        notes={
            "replace": "Lime's API has no order replace (cancel and place anew)",
            "order_types": "Lime takes market and limit orders only (no stops)",
            "time_in_force": "Lime has day, ext, on-open, on-close, ioc and fok: no gtc",
            "notional": "the adapter sends share quantities only",
        },
    )

    def __init__(self, fake: FakeLime) -> None:
        self.fake = fake
        self.faults = fake.faults
        self.current: LimeBroker | None = None

    def broker(self) -> LimeBroker:
        c = self.fake.credentials
        self.current = LimeBroker(
            c.username,
            c.password,
            c.client_id,
            c.client_secret,
            base_url=self.fake.base_url,
            auth_url=self.fake.auth_url,
            timeout=1.0,
            retry_initial=0.01,
        )
        return self.current

    def manager_options(self) -> dict[str, Any]:
        return {"submit_timeout": 1.5, "retry_initial": 0.01}

    async def advance(self, seconds: float) -> None:
        await self.fake.advance(seconds)

    async def settle(self, om: OrderManager) -> None:
        broker = self.current
        for _ in range(400):
            if broker is None or broker.feed is None or broker.feed.listening.is_set():
                break
            await asyncio.sleep(0.01)
        for _ in range(3):
            await self.fake.hub.drain()
            await asyncio.sleep(0.02)
            if broker is not None:
                await broker.wait_idle()

    def placed(self) -> list[str]:
        return [lime_mapping.ntlab_id(r) for r in self.fake.records.values()]

    def fill_ids(self) -> set[str]:
        return {t["trade_id"] for t in self.fake.trades}

    def positions(self) -> dict[str, Decimal]:
        return dict(self.fake.engine.positions())

    def drop_stream(self) -> None:
        self.fake.drop_streams()

    async def place_external(self, symbol: str, side: str, quantity: Decimal) -> str:
        client_id = f"elsewhere{len(self.fake.records) + 1}"
        body = {
            "account_number": LIME_ACCOUNT,
            "symbol": symbol,
            "quantity": int(quantity),
            "side": side,
            "order_type": "market",
            "time_in_force": "day",
            "client_order_id": client_id,
        }
        self.fake.place_body(body)
        return client_id

    def refuse(self) -> dict[str, Any]:
        return {"quantity": Decimal(10_000_000)}


class IBSubject:
    """IBBroker (on unmodified ib_async) against the fake TWS over the TWS socket protocol."""

    name = "ib"
    caps = Capabilities(
        symbol="AAPL",
        quantity=Decimal(10),
        big=Decimal(2000),
        order_types=frozenset({T.MARKET, T.LIMIT, T.STOP, T.STOP_LIMIT}),
        time_in_force=frozenset({TIF.DAY, TIF.GTC, TIF.IOC, TIF.FOK}),
        refusal="insufficient_funds",
        submit_request={"path": "placeOrder"},
        notes={"notional": "the adapter sends share quantities only (TWS's cashQty is not mapped)"},
    )

    def __init__(self, fake: FakeTWS) -> None:
        self.fake = fake
        self.faults = fake.faults
        self.current: IBBroker | None = None

    def broker(self) -> IBBroker:
        self.current = IBBroker(
            port=self.fake.port,
            client_id=1,
            timeout=2.0,
            ack_timeout=0.8,
            reconnect_initial=0.02,
            reconnect_max=0.2,
            commission_wait=0.5,
        )
        return self.current

    def manager_options(self) -> dict[str, Any]:
        return {"submit_timeout": 1.0, "retry_initial": 0.01}

    async def advance(self, seconds: float) -> None:
        await self.fake.advance(seconds)

    async def settle(self, om: OrderManager) -> None:
        broker = self.current
        for _ in range(300):
            if broker is None or broker.connected:
                break
            await asyncio.sleep(0.01)
        for _ in range(3):
            await asyncio.sleep(0.02)
            for session in list(self.fake.sessions.values()):
                await session.hub.drain()
            if broker is not None:
                await broker.wait_idle()

    def placed(self) -> list[str]:
        return self.fake.order_refs()

    def fill_ids(self) -> set[str]:
        return {e.exec_id for e in self.fake.executions}

    def positions(self) -> dict[str, Decimal]:
        return self.fake.positions()

    def drop_stream(self) -> None:
        self.fake.drop_connections()

    async def place_external(self, symbol: str, side: str, quantity: Decimal) -> str:
        order_ref = f"elsewhere-{len(self.fake.orders) + 1}"
        self.fake.place_external(symbol, side, quantity, order_ref)
        return order_ref

    def refuse(self) -> dict[str, Any]:
        return {"quantity": Decimal(10_000_000)}  # more than the account's margin allows


class OandaSubject:
    """OandaBroker against the local fake v20 over real HTTP and its chunked transaction stream: EUR/USD in
    units, on the sample market's EUR/USD."""

    name = "oanda"
    caps = Capabilities(
        symbol="EUR/USD",
        quantity=Decimal(10_000),
        big=Decimal(5_000_000),
        order_types=frozenset({T.MARKET, T.LIMIT, T.STOP}),
        time_in_force=frozenset({TIF.DAY, TIF.GTC, TIF.IOC, TIF.FOK}),
        refusal="insufficient_funds",
        resting_market=False,
        notes={
            "resting_market": "v20 market orders are FOK or IOC; a big order works as a GTC limit",
            "order_types": "v20 has no stop-limit (a STOP's priceBound cancels instead of resting)",
            "notional": "v20 orders are in units of the base currency",
        },
    )

    def __init__(self, fake: FakeOanda) -> None:
        self.fake = fake
        self.faults = fake.faults
        self.current: OandaBroker | None = None

    def broker(self) -> OandaBroker:
        self.current = OandaBroker(
            FAKE_TOKEN,
            self.fake.account_id,
            base_url=self.fake.base_url,
            timeout=1.0,
            retry_initial=0.01,
            idle_timeout=3.0,
            gap_wait=0.05,
        )
        return self.current

    def manager_options(self) -> dict[str, Any]:
        return {"submit_timeout": 1.0, "retry_initial": 0.01}

    async def advance(self, seconds: float) -> None:
        await self.fake.advance(seconds)

    async def settle(self, om: OrderManager) -> None:
        broker = self.current
        for _ in range(300):
            stream = None if broker is None else broker.transactions
            listening = stream is None or stream.listening.is_set()
            if broker is None or (listening and broker.feed.applied >= self.fake.last_transaction_id):
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.02)

    def placed(self) -> list[str]:
        return [c for c in self.fake.client_ids() if "~r" not in c]

    def fill_ids(self) -> set[str]:
        return {t["id"] for t in self.fake.fills()}

    def positions(self) -> dict[str, Decimal]:
        return self.fake.positions()

    def drop_stream(self) -> None:
        self.fake.drop_streams()

    async def place_external(self, symbol: str, side: str, quantity: Decimal) -> str:
        client_id = f"elsewhere-{len(self.fake.client_ids()) + 1}"
        units = quantity if side == "buy" else -quantity
        self.fake.place(
            {
                "type": "MARKET",
                "instrument": symbol.replace("/", "_"),
                "units": str(units),
                "clientExtensions": {"id": client_id},
            }
        )
        return client_id

    def refuse(self) -> dict[str, Any]:
        return {"quantity": Decimal(90_000_000)}  # more than the account's margin carries


class CryptoSubject:
    """CcxtBroker("binance") on unmodified ccxt against the fake Binance spot: REST and the WebSocket API's
    user data stream (watch_orders / watch_my_trades); BTC/USDT quoted from the sample market's BTC/USD."""

    name = "crypto"
    caps = Capabilities(
        symbol="BTC/USDT",
        quantity=Decimal("0.01"),
        big=Decimal(5),
        order_types=frozenset({T.MARKET, T.LIMIT, T.STOP, T.STOP_LIMIT}),
        time_in_force=frozenset({TIF.GTC, TIF.IOC, TIF.FOK}),
        refusal="insufficient_funds",
        defaults={"time_in_force": "gtc"},
        notes={
            "notional": "the adapter sends base-currency amounts only (ccxt's cost orders are not mapped)"
        },
    )

    def __init__(self, fake: FakeBinance) -> None:
        self.fake = fake
        self.faults = fake.faults
        self.current: CcxtBroker | None = None

    def broker(self) -> CcxtBroker:
        self.current = CcxtBroker(
            "binance",
            self.fake.api_key,
            self.fake.secret,
            urls=self.fake.ccxt_urls(),
            symbols=[self.caps.symbol],
            timeout=1.0,
            rate_limit=False,
        )
        return self.current

    def manager_options(self) -> dict[str, Any]:
        return {"submit_timeout": 1.5, "retry_initial": 0.01}

    async def advance(self, seconds: float) -> None:
        await self.fake.advance(seconds)
        self.fake.flush_events()

    async def settle(self, om: OrderManager) -> None:
        broker = self.current
        for _ in range(3):
            await asyncio.sleep(0.03)
            await self.fake.hub.drain()
            if broker is not None:
                await broker.wait_idle()

    def placed(self) -> list[str]:
        return [o.client_id for o in self.fake.account.orders.values()]

    def fill_ids(self) -> set[str]:
        return {f"{t.order.listing.unified}#{t.trade_id}" for t in self.fake.account.trades}

    def positions(self) -> dict[str, Decimal]:
        held = self.fake.account.totals().get("BTC", Decimal(0))
        return {self.caps.symbol: held} if held else {}

    def drop_stream(self) -> None:
        self.fake.drop_streams()

    async def place_external(self, symbol: str, side: str, quantity: Decimal) -> str:
        client_id = f"elsewhere-{len(self.fake.account.orders) + 1}"
        params = {
            "side": side.upper(),
            "type": "MARKET",
            "quantity": str(quantity),
            "newClientOrderId": client_id,
        }
        self.fake.account.place(self.fake.listing(symbol), params, _wall_ms())
        self.fake.flush_events()
        return client_id

    def refuse(self) -> dict[str, Any]:
        # 100 BTC at 60,000 is more USDT than the account holds (and under the NOTIONAL filter's cap)
        return {"quantity": Decimal(100), "order_type": "limit", "limit_price": Decimal("60000.00")}


@contextlib.asynccontextmanager
async def paper() -> AsyncIterator[Subject]:
    with tempfile.TemporaryDirectory() as folder:
        subject = PaperSubject(Path(folder))
        try:
            yield subject
        finally:
            if subject.current is not None:
                await subject.current.close()


@contextlib.asynccontextmanager
async def alpaca() -> AsyncIterator[Subject]:
    async with FakeAlpaca(
        market=sample_market(symbols=["AAPL", "MSFT"]), rate_limit=None, cash=10_000_000
    ) as fake:
        subject = AlpacaSubject(fake)
        try:
            yield subject
        finally:
            if subject.current is not None:
                await subject.current.close()


@contextlib.asynccontextmanager
async def questrade() -> AsyncIterator[Subject]:
    async with FakeQuestrade(cash=10_000_000, trace_header=TRACE_HEADER, rate_limits=False) as fake:
        with tempfile.TemporaryDirectory() as folder:
            subject = QuestradeSubject(fake, Path(folder))
            try:
                yield subject
            finally:
                if subject.current is not None:
                    await subject.current.close()


@contextlib.asynccontextmanager
async def lime() -> AsyncIterator[Subject]:
    async with FakeLime(cash=10_000_000) as fake:
        subject = LimeSubject(fake)
        try:
            yield subject
        finally:
            if subject.current is not None:
                await subject.current.close()


@contextlib.asynccontextmanager
async def ib() -> AsyncIterator[Subject]:
    async with FakeTWS() as fake:
        subject = IBSubject(fake)
        try:
            yield subject
        finally:
            if subject.current is not None:
                await subject.current.close()


@contextlib.asynccontextmanager
async def oanda() -> AsyncIterator[Subject]:
    async with FakeOanda(cash=1_000_000, heartbeat=0.5) as fake:
        subject = OandaSubject(fake)
        try:
            yield subject
        finally:
            if subject.current is not None:
                await subject.current.close()


@contextlib.asynccontextmanager
async def crypto() -> AsyncIterator[Subject]:
    async with FakeBinance(balances={"USDT": 1_000_000, "BNB": 1_000}) as fake:
        subject = CryptoSubject(fake)
        try:
            yield subject
        finally:
            if subject.current is not None:
                await subject.current.close()


SUBJECTS = {
    "paper": paper,
    "alpaca": alpaca,
    "questrade": questrade,
    "lime": lime,
    "crypto": crypto,
    "ib": ib,
    "oanda": oanda,
}
"""One factory per broker: a context manager that serves its fake and yields its Subject."""


def _wall_ms() -> int:
    import time

    return time.time_ns() // 1_000_000


def _run(coroutine: Any) -> Any:
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    raise AssertionError("the paper venue waited")
