"""Lime's account websocket (``wss://api.lime.co/accounts``): the bearer token on the upgrade, then
``{"action": "subscribeOrders" | "subscribeTrades", "account": ...}``; frames ``{"t": "o" | "t" | "p" | "b",
"data": [...]}``, errors ``{"t": "e", "code", "description"}``.

On each (re)subscription Lime sends the day's orders and trades as they stand, so a reconnect loses
nothing for good: ``on_reconnect`` then asks the session to reconcile. The upgrade's header carries the
token, so the connection's logger is pinned at INFO: a DEBUG root logger never prints it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import websockets
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from ntlab.brokers.lime.mapping import parse_json
from ntlab.brokers.lime.rest import LimeAuth
from ntlab.errors import BrokerUnavailable

log = logging.getLogger(__name__)
_wire_log = logging.getLogger(__name__ + ".wire")
_wire_log.setLevel(logging.INFO)

FrameHandler = Callable[[dict[str, Any]], Awaitable[None]]
ReconnectHandler = Callable[[], Awaitable[None]]


class AccountFeed:
    """One subscription to an account's orders and trades that survives dropped connections."""

    def __init__(
        self,
        url: str,
        auth: LimeAuth,
        account: str,
        on_frame: FrameHandler,
        on_reconnect: ReconnectHandler,
        *,
        open_timeout: float = 10.0,
        backoff_initial: float = 0.05,
        backoff_max: float = 5.0,
    ) -> None:
        self.url = url
        self.auth = auth
        self.account = account
        self._on_frame = on_frame
        self._on_reconnect = on_reconnect
        self.open_timeout = open_timeout
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.listening = asyncio.Event()
        self.snapshots = 0  # subscriptions answered with the day's state
        self.connections = 0
        self._task: asyncio.Task[None] | None = None
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Connect, subscribe, and wait (bounded) for the first snapshot of orders and trades."""
        self._worker = asyncio.get_running_loop().create_task(self._work())
        self._task = asyncio.get_running_loop().create_task(self._run())
        try:
            await asyncio.wait_for(self.listening.wait(), self.open_timeout)
        except TimeoutError:
            await self.close()
            raise BrokerUnavailable(
                f"Lime's account feed {self.url} did not answer in {self.open_timeout}s"
            ) from None

    async def close(self) -> None:
        for task in (self._task, self._worker):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._task = self._worker = None

    async def _run(self) -> None:
        backoff = self.backoff_initial
        first = True
        while True:
            try:
                token = await self.auth.token()
                async with websockets.connect(
                    self.url,
                    additional_headers={"Authorization": f"Bearer {token.value.get_secret_value()}"},
                    open_timeout=self.open_timeout,
                    logger=_wire_log,
                ) as ws:
                    self.connections += 1
                    for action in ("subscribeOrders", "subscribeTrades"):
                        await ws.send(json.dumps({"action": action, "account": self.account}))
                    seen: set[str] = set()
                    async for raw in ws:
                        frame = parse_json(raw if isinstance(raw, bytes) else raw.encode())
                        kind = frame.get("t")
                        if kind in ("o", "t") and kind not in seen:
                            seen.add(kind)
                            if seen == {"o", "t"}:
                                self.snapshots += 1
                                self.listening.set()
                                backoff = self.backoff_initial
                                if not first:
                                    self._queue.put_nowait({"t": "reconnected"})
                                first = False
                        self._queue.put_nowait(frame)
            except asyncio.CancelledError:
                raise
            except (ConnectionClosed, InvalidHandshake, OSError, TimeoutError, BrokerUnavailable) as error:
                log.info(
                    "Lime account feed dropped (%s); reconnecting in %.2fs", type(error).__name__, backoff
                )
            except Exception:
                log.exception("Lime account feed failed; reconnecting")
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.backoff_max)

    async def _work(self) -> None:
        """Frames are handled in arrival order, one at a time, off the socket's reader."""
        while True:
            frame = await self._queue.get()
            try:
                if frame.get("t") == "reconnected":
                    await self._on_reconnect()
                else:
                    await self._on_frame(frame)
            except Exception:
                log.exception("a Lime feed frame could not be handled: %s", frame.get("t"))
            finally:
                self._queue.task_done()

    async def drain(self) -> None:
        """Wait until every frame received so far has been handled."""
        await self._queue.join()
