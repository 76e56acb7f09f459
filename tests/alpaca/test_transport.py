"""PooledTransport on its own: keep-alive reuse, chunked bodies, stale connections, the pool bound, errors."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest
from aiohttp import web

from ntlab.brokers.alpaca.transport import PooledTransport


@pytest.fixture
async def server():
    state = {"peers": set(), "active": 0, "max_active": 0}

    async def hello(request: web.Request) -> web.Response:
        state["peers"].add(request.transport.get_extra_info("peername"))
        state["active"] += 1
        state["max_active"] = max(state["max_active"], state["active"])
        await asyncio.sleep(0.01)
        state["active"] -= 1
        return web.json_response({"ok": True, "echo": await request.text()})

    async def chunked(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for part in (b'{"parts":', b"[1,2,", b"3]}"):
            await response.write(part)
        await response.write_eof()
        return response

    async def close(request: web.Request) -> web.Response:
        return web.Response(text="bye", headers={"Connection": "close"})

    async def gzip(request: web.Request) -> web.Response:
        response = web.json_response({"zipped": True})
        response.enable_compression(web.ContentCoding.gzip)
        return response

    app = web.Application()
    app.router.add_route("*", "/hello", hello)
    app.router.add_get("/chunked", chunked)
    app.router.add_get("/close", close)
    app.router.add_get("/gzip", gzip)
    runner = web.AppRunner(app, keepalive_timeout=0.2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}", state
    await runner.cleanup()


def client(base: str, **kw) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base, transport=PooledTransport(**kw), timeout=2.0)


async def test_keep_alive_reuses_connections_and_respects_the_bound(server):
    base, state = server
    async with client(base, max_connections=4) as c:
        responses = await asyncio.gather(*(c.post("/hello", content=f"n{i}") for i in range(40)))
    assert [r.json()["echo"] for r in responses] == [f"n{i}" for i in range(40)]
    assert len(state["peers"]) <= 4 and state["max_active"] <= 4


async def test_chunked_gzip_and_connection_close(server):
    base, _ = server
    async with client(base) as c:
        assert (await c.get("/chunked")).json() == {"parts": [1, 2, 3]}
        assert (await c.get("/gzip")).json() == {"zipped": True}
        assert (await c.get("/close")).text == "bye"
        assert (await c.get("/chunked")).status_code == 200


async def test_stale_idle_connection_is_not_reused(server):
    base, state = server
    async with client(base, max_connections=1) as c:
        await c.get("/hello")
        await asyncio.sleep(0.5)  # the server's keep-alive timeout closes the idle socket
        assert (await c.get("/hello")).status_code == 200
    assert len(state["peers"]) == 2


async def test_errors_are_httpx_errors():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    async with client(f"http://127.0.0.1:{port}") as c:
        with pytest.raises(httpx.ConnectError):
            await c.get("/x")

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1000)
        await asyncio.sleep(1)
        writer.close()

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1000)
        writer.transport.abort()

    for handler, error in ((silent, httpx.ReadTimeout), (hang_up, httpx.RemoteProtocolError)):
        srv = await asyncio.start_server(handler, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        async with httpx.AsyncClient(transport=PooledTransport(), timeout=0.2) as c:
            with pytest.raises(error):
                await c.get(f"http://127.0.0.1:{port}/")
        srv.close()
