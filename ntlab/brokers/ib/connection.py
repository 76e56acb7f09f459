"""The adapter's one connection to TWS or IB Gateway, through an unmodified ib_async ``IB``, kept up.

Connecting is ib_async's own ``connectAsync`` (handshake, startApi, and its startup requests: positions, open
and completed orders, account updates, executions), raced against the two ways TWS refuses a client that
ib_async would only notice at its timeout: error 326 (the client id is taken) and a closed socket. Then the
live-trading gate is checked against the accounts TWS manages (paper accounts start with ``D``).

When the socket drops, :meth:`Connection.reconnect` tries again with exponential backoff and jitter until it
is back (or the adapter closes), then tells the adapter, which reconciles. While TWS reports its own link to
IB lost (1100) or the socket is down, requests wait (bounded) in :meth:`Connection.ready` instead of failing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from ib_async import IB

from ntlab.errors import BrokerUnavailable, LiveTradingError

log = logging.getLogger(__name__)

PAPER_PORTS = frozenset({7497, 4002})  # TWS paper, IB Gateway paper
LIVE_PORTS = frozenset({7496, 4001})  # TWS live, IB Gateway live


def paper_account(account: str) -> bool:
    """IB's paper (simulated) accounts start with D: DU..., DF..."""
    return account.startswith("D")


class Connection:
    """One ``IB`` client, its connection state, and the locks its shared request keys need."""

    def __init__(
        self,
        host: str,
        port: int,
        client_id: int,
        *,
        account: str | None,
        live: bool,
        timeout: float,
        reconnect_initial: float,
        reconnect_max: float,
        max_requests: int | None,
    ) -> None:
        self.ib = IB()
        self.ib.client.MaxRequests = max_requests or 0
        self.host, self.port, self.client_id = host, port, client_id
        self.account = account
        self.live = live
        self.timeout = timeout
        self.reconnect_initial = reconnect_initial
        self.reconnect_max = reconnect_max
        self.offset = timedelta(0)  # TWS's clock minus ours
        self.reconnects = 0
        self.closing = False
        self._ready = asyncio.Event()  # connected, synchronised, and TWS linked to IB
        self._linked = True  # False between 1100 and 1101/1102
        self._up = False  # connected at least once since the last drop (a drop then means: reconnect)
        self._task: asyncio.Task[None] | None = None
        self._locks: dict[str, asyncio.Lock] = {}
        self.on_reconnected: Callable[[], Awaitable[None]] | None = None
        self.on_ready: Callable[[], None] | None = None

    # --- state -------------------------------------------------------------------------------------------
    @property
    def is_ready(self) -> bool:
        return self._ready.is_set()

    @property
    def up(self) -> bool:
        """Connected and through ib_async's startup requests (not merely mid-handshake)."""
        return self._up

    def lock(self, key: str) -> asyncio.Lock:
        """ib_async keys some requests by name ("openOrders", "completedOrders", "positions"): one at a time."""
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    async def ready(self, what: str) -> IB:
        """The client once it can be used, waiting (bounded) through a reconnect or a 1100."""
        if self.closing:
            raise BrokerUnavailable(f"{what}: the IB adapter is closed")
        if not self._ready.is_set():
            try:
                await asyncio.wait_for(self._ready.wait(), self.timeout)
            except TimeoutError:
                state = (
                    "TWS reports its connection to IB lost (1100)" if not self._linked else "not connected"
                )
                raise BrokerUnavailable(
                    f"{what}: {state} to TWS at {self.host}:{self.port} after {self.timeout:g}s; "
                    "check that TWS / IB Gateway is running and logged in"
                ) from None
        return self.ib

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def learn_time(self, when: datetime) -> None:
        """A time TWS reported (an execution's): keep our clock in step with the venue's."""
        offset = when.astimezone(UTC) - datetime.now(UTC)
        if offset > self.offset:
            self.offset = offset

    def lost(self) -> None:
        """TWS lost its link to IB (1100): requests wait until it is back."""
        self._linked = False
        self._ready.clear()

    def restored(self) -> None:
        self._linked = True
        if self._up and self.ib.isConnected():
            self._ready.set()

    # --- connecting --------------------------------------------------------------------------------------
    async def connect(self) -> None:
        """Connect once; BrokerUnavailable when TWS is not there or refuses, LiveTradingError for a live
        account without the gate."""
        ib = self.ib
        refused: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        def on_error(req_id: int, code: int, message: str, contract: Any) -> None:
            if code == 326 and not refused.done():
                refused.set_result(f"error 326: {message}")

        def on_api_error(message: str) -> None:
            if not refused.done():
                refused.set_result(message)

        def on_closed(message: str) -> None:
            if not refused.done() and not ib.client.isReady():
                refused.set_result(f"TWS closed the connection during the handshake {message}".rstrip())

        ib.errorEvent += on_error
        ib.client.apiError += on_api_error
        ib.client.conn.disconnected += on_closed
        attempt = asyncio.ensure_future(
            ib.connectAsync(
                self.host, self.port, self.client_id, timeout=self.timeout, account=self.account or ""
            )
        )
        try:
            await asyncio.wait({attempt, refused}, return_when=asyncio.FIRST_COMPLETED)
            if not attempt.done():
                await asyncio.wait({attempt}, timeout=0.05)  # a failing connect ends with its own error
            if not attempt.done():
                attempt.cancel()
                with contextlib.suppress(BaseException):
                    await attempt
                with contextlib.suppress(Exception):
                    ib.disconnect()
                why = refused.result()
                if why.startswith("error 326"):
                    raise BrokerUnavailable(
                        f"TWS at {self.host}:{self.port} refused client id {self.client_id} ({why}); another "
                        "connection uses it: set IB_CLIENT_ID to a free one"
                    )
                raise BrokerUnavailable(
                    f"TWS at {self.host}:{self.port} did not complete the API handshake ({why}); check that the "
                    "API is enabled and this host is trusted (TWS: Configure > API > Settings)"
                )
            try:
                attempt.result()
            except (OSError, ConnectionError, TimeoutError) as error:
                raise BrokerUnavailable(
                    f"cannot reach TWS / IB Gateway at {self.host}:{self.port} ({error!r}); start it with the "
                    "API enabled (TWS: Configure > API > Settings; paper port 7497, IB Gateway paper 4002)"
                ) from None
        finally:
            ib.errorEvent -= on_error
            ib.client.apiError -= on_api_error
            ib.client.conn.disconnected -= on_closed
            if not refused.done():
                refused.cancel()
        accounts = ib.managedAccounts()
        live_accounts = [a for a in accounts if not paper_account(a)]
        if live_accounts and not self.live:
            ib.disconnect()
            raise LiveTradingError(
                f"TWS at {self.host}:{self.port} is logged in to a live account; live trading needs "
                "ENABLE_LIVE_TRADING=true and PAPER_TRADING=false. Log TWS in to your paper account otherwise"
            )
        if self.account is None and accounts:
            self.account = accounts[0]
        with contextlib.suppress(TimeoutError, ConnectionError):
            stamp = await asyncio.wait_for(ib.reqCurrentTimeAsync(), self.timeout)
            self.offset = stamp.astimezone(UTC) - datetime.now(UTC)
        self._linked = True
        self._up = True
        if self.on_ready is not None:
            self.on_ready()
        self._ready.set()

    def dropped(self) -> None:
        """The socket is gone: stop serving requests and start reconnecting (unless closing, or it never
        came up: a failed connect is its caller's to report)."""
        self._ready.clear()
        was_up, self._up = self._up, False
        if self.closing or not was_up or (self._task is not None and not self._task.done()):
            return
        self._task = asyncio.get_running_loop().create_task(self.reconnect())

    async def reconnect(self) -> None:
        """Connect again with exponential backoff and jitter until it works or the adapter closes."""
        delay = self.reconnect_initial
        while not self.closing:
            await asyncio.sleep(delay * (1 + random.random() / 2))
            if self.closing:
                return
            try:
                await self.connect()
            except LiveTradingError:
                log.error("reconnected to a live account without the live-trading gate; staying disconnected")
                return
            except (BrokerUnavailable, ConnectionError, OSError, TimeoutError) as error:
                delay = min(delay * 2, self.reconnect_max)
                log.info("reconnect to TWS failed (%s); next try in about %.2fs", error, delay)
                continue
            self.reconnects += 1
            log.info("reconnected to TWS at %s:%s (client id %s)", self.host, self.port, self.client_id)
            if self.on_reconnected is not None:
                try:
                    await self.on_reconnected()
                except Exception:
                    log.exception("after reconnecting, bringing the session in line failed")
            return

    async def close(self) -> None:
        self.closing = True
        self._ready.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self.ib.isConnected():
            with contextlib.suppress(ConnectionError):
                self.ib.disconnect()
