"""The fake Alpaca's ``trade_updates`` websocket (``/stream`` on the trading host): Alpaca's handshake and
frames, with the kit's :class:`~ntlab.testing.streams.StreamHub` committing the stream faults.

Alpaca's paper host sends binary frames (text in them); so does the fake unless told otherwise.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import WSMsgType, web

from ntlab.brokers.alpaca.fake_orders import Record, iso
from ntlab.testing.streams import StreamHub


def dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"))


def _reply(stream: str, data: dict[str, Any]) -> str:
    return dumps({"stream": stream, "data": data})


class TradeUpdates:
    """Who listens to ``trade_updates``, and what each order event sends them."""

    def __init__(self, hub: StreamHub, keys: tuple[str, str], *, binary: bool = True) -> None:
        self.hub = hub
        self.keys = keys
        self.binary = binary
        self.sent: list[dict[str, Any]] = []  # every message, as sent (for tests and notebooks)

    def publish(self, event: str, record: Record, extra: dict[str, Any], when: Any) -> None:
        data: dict[str, Any] = {"event": event, "timestamp": iso(when), "order": record.json()}
        data.update(extra)
        message = {"stream": "trade_updates", "data": data}
        self.sent.append(message)
        if self.hub.connections:
            self.hub.broadcast(dumps(message))

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        if self.hub.refuse():
            if request.transport is not None:
                request.transport.abort()
            return ws

        async def send(text: str) -> None:
            if not ws.closed:
                await (ws.send_bytes(text.encode()) if self.binary else ws.send_str(text))

        def abort() -> None:
            if request.transport is not None:
                request.transport.abort()

        connection = None
        authorized = False
        try:
            async for message in ws:
                if message.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    break
                try:
                    data = json.loads(message.data)
                    action = data.get("action")
                except (ValueError, AttributeError):
                    await send(_reply("authorization", {"status": "unauthorized", "action": "authenticate"}))
                    continue
                if action in ("authenticate", "auth"):
                    given = data.get("data") or {}
                    authorized = (given.get("key_id"), given.get("secret_key")) == self.keys
                    status = "authorized" if authorized else "unauthorized"
                    await send(_reply("authorization", {"status": status, "action": "authenticate"}))
                    if not authorized:
                        break
                elif action == "listen":
                    if not authorized:
                        await send(_reply("authorization", {"status": "unauthorized", "action": "listen"}))
                        break
                    streams = [s for s in (data.get("data") or {}).get("streams", []) if s == "trade_updates"]
                    await send(_reply("listening", {"streams": streams}))
                    if streams and connection is None:
                        connection = self.hub.subscribe(send, abort)
                    elif not streams and connection is not None:
                        await connection.stop()
                        connection = None
        finally:
            if connection is not None:
                await connection.stop()
        return ws
