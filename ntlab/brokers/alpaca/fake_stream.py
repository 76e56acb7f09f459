"""The fake's trade_updates websocket: Alpaca's handshake, binary frames, and the stream faults.

Kept apart from the REST routes: it has its own state (who is listening) and its own faults (drop after K
messages, duplicates, pairs delivered in reverse), and is driven by the account's events, not by requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from typing import Any

from aiohttp import WSMsgType, web

from ntlab.brokers.alpaca.fake_faults import Faults


def _dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"))


class _Listener:
    """One authenticated, listening stream connection."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[str] = asyncio.Queue()


class FakeStream:
    """Serves ``GET /stream`` and fans the account's trade updates out to every listening connection."""

    def __init__(self, keys: tuple[str, str], faults: Faults, *, binary_frames: bool = True) -> None:
        self._keys = keys
        self.faults = faults
        self._binary = binary_frames
        self._listeners: set[_Listener] = set()
        self._sockets: set[web.WebSocketResponse] = set()
        self.connections = 0
        self.sent_events: deque[dict[str, Any]] = deque(maxlen=100_000)

    def drop(self) -> int:
        """Cut every stream connection without a close frame, as a network failure would."""
        dropped = 0
        for ws in list(self._sockets):
            transport = ws._req.transport if ws._req is not None else None
            if transport is not None:
                transport.abort()
                dropped += 1
        return dropped

    async def close(self) -> None:
        for ws in list(self._sockets):
            with contextlib.suppress(Exception):
                await ws.close()

    def broadcast(self, message: dict[str, Any]) -> None:
        text = _dumps(message)
        self.sent_events.append(message)
        for listener in self._listeners:
            listener.queue.put_nowait(text)

    async def _send(self, ws: web.WebSocketResponse, text: str) -> None:
        if self._binary:
            await ws.send_bytes(text.encode())
        else:
            await ws.send_str(text)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        self.connections += 1
        if self.faults.refuse_stream > 0:
            self.faults.refuse_stream -= 1
            assert request.transport is not None
            request.transport.abort()
            return ws
        self._sockets.add(ws)
        listener: _Listener | None = None
        pump: asyncio.Task[None] | None = None
        try:
            authorized = False
            async for msg in ws:
                if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    break
                try:
                    data = json.loads(msg.data)
                    action = data.get("action")
                except (ValueError, AttributeError):
                    await self._send(
                        ws,
                        _dumps(
                            {
                                "stream": "authorization",
                                "data": {"status": "unauthorized", "action": "authenticate"},
                            }
                        ),
                    )
                    continue
                if action in ("authenticate", "auth"):
                    creds = data.get("data") or {}
                    authorized = (creds.get("key_id"), creds.get("secret_key")) == self._keys
                    status = "authorized" if authorized else "unauthorized"
                    await self._send(
                        ws,
                        _dumps(
                            {"stream": "authorization", "data": {"status": status, "action": "authenticate"}}
                        ),
                    )
                    if not authorized:
                        break
                elif action == "listen":
                    if not authorized:
                        await self._send(
                            ws,
                            _dumps(
                                {
                                    "stream": "authorization",
                                    "data": {"status": "unauthorized", "action": "listen"},
                                }
                            ),
                        )
                        break
                    streams = [s for s in (data.get("data") or {}).get("streams", []) if s == "trade_updates"]
                    if streams and listener is None:
                        listener = _Listener()
                        self._listeners.add(listener)
                        pump = asyncio.get_running_loop().create_task(self._pump(ws, request, listener))
                    elif not streams and listener is not None:
                        self._listeners.discard(listener)
                        listener = None
                    await self._send(ws, _dumps({"stream": "listening", "data": {"streams": streams}}))
        finally:
            if listener is not None:
                self._listeners.discard(listener)
            if pump is not None:
                pump.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await pump
            self._sockets.discard(ws)
        return ws

    async def _pump(self, ws: web.WebSocketResponse, request: web.Request, listener: _Listener) -> None:
        """Send trade updates to one connection, committing the stream faults on the way."""
        sent = 0
        held: str | None = None
        while True:
            if held is not None:
                try:  # a held event goes out late, not never
                    text = await asyncio.wait_for(listener.queue.get(), 0.05)
                except TimeoutError:
                    text, held = held, None
                    await self._send(ws, text)
                    sent += 1
                    continue
            else:
                text = await listener.queue.get()
            faults = self.faults
            if faults.reorder_events > 0 and held is None:
                held = text
                continue
            batch = [text]
            if held is not None:
                batch.append(held)
                held = None
                faults.reorder_events -= 1
            for item in batch:
                copies = 1
                if faults.duplicate_events > 0:
                    faults.duplicate_events -= 1
                    copies = 2
                for _ in range(copies):
                    if faults.drop_stream_after is not None and sent >= faults.drop_stream_after:
                        faults.drop_stream_after = None
                        self._listeners.discard(listener)
                        if request.transport is not None:
                            request.transport.abort()
                        return
                    await self._send(ws, item)
                    sent += 1
