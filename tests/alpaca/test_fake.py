"""The fake speaks Alpaca: paths, field names, status spellings, error bodies, headers, stream handshake."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets

from ntlab.brokers.alpaca.fake import FakeAlpaca
from ntlab.market import sample_market

ORDER_FIELDS = {
    "id",
    "client_order_id",
    "created_at",
    "updated_at",
    "submitted_at",
    "filled_at",
    "expired_at",
    "canceled_at",
    "failed_at",
    "replaced_at",
    "replaced_by",
    "replaces",
    "asset_id",
    "symbol",
    "asset_class",
    "notional",
    "qty",
    "filled_qty",
    "filled_avg_price",
    "order_class",
    "type",
    "side",
    "time_in_force",
    "limit_price",
    "stop_price",
    "status",
    "extended_hours",
    "legs",
    "trail_percent",
    "trail_price",
    "hwm",
}


def client(fake: FakeAlpaca, **headers: str) -> httpx.AsyncClient:
    auth = {"APCA-API-KEY-ID": fake.key_id, "APCA-API-SECRET-KEY": fake.secret_key}
    auth.update(headers)
    return httpx.AsyncClient(base_url=fake.base_url, headers=auth, trust_env=False)


def order(cid: str, **over: str) -> dict[str, str]:
    body = {
        "symbol": "AAPL",
        "qty": "10",
        "side": "buy",
        "type": "market",
        "time_in_force": "day",
        "client_order_id": cid,
    }
    body.update(over)
    return body


async def test_order_json_has_alpacas_fields_and_strings(fake):
    async with client(fake) as c:
        r = await c.post("/v2/orders", json=order("c1", type="limit", limit_price="150.5"))
        assert r.status_code == 200
        data = r.json()
        assert set(data) >= ORDER_FIELDS
        assert data["status"] == "pending_new" and data["qty"] == "10" and data["filled_qty"] == "0"
        assert data["limit_price"] == "150.5" and data["filled_avg_price"] is None
        assert data["created_at"].endswith("Z")
        seen = (await c.get(f"/v2/orders/{data['id']}")).json()
        assert seen["client_order_id"] == "c1" and seen["status"] == "new"  # routed once accepted
        by_cid = await c.get("/v2/orders:by_client_order_id", params={"client_order_id": "c1"})
        assert by_cid.json()["id"] == data["id"]
        assert {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"} <= set(r.headers.keys())


@pytest.mark.parametrize(
    ("body", "status", "code", "words"),
    [
        (order("v1", qty="0"), 422, 40010001, "qty must be > 0"),
        (order("v2", type="limit"), 422, 40010001, "limit_price is required"),
        (order("v3", type="stop"), 422, 40010001, "stop_price is required"),
        (order("v4", time_in_force="week"), 422, 40010001, "time_in_force"),
        (order("v5", symbol="ZZZZ"), 422, 40010001, "not found"),
        (order("v6", client_order_id="x" * 49), 422, 40010001, "48"),
        (order("v7", qty="100000"), 403, 40310000, "insufficient buying power"),
    ],
)
async def test_errors_have_alpacas_codes(fake, body, status, code, words):
    async with client(fake) as c:
        r = await c.post("/v2/orders", json=body)
    assert r.status_code == status
    assert r.json()["code"] == code and words in r.json()["message"]
    if status == 403:
        assert {"buying_power", "cost_basis"} <= set(r.json())


async def test_duplicate_client_order_id_even_after_cancel(fake):
    async with client(fake) as c:
        first = (await c.post("/v2/orders", json=order("d1", type="limit", limit_price="1"))).json()
        assert (await c.delete(f"/v2/orders/{first['id']}")).status_code == 204
        again = await c.post("/v2/orders", json=order("d1"))
        assert again.status_code == 422 and again.json()["message"] == "client_order_id must be unique"
        cancel_again = await c.delete(f"/v2/orders/{first['id']}")
        assert cancel_again.status_code == 422


async def test_not_found_and_unauthorized(fake):
    async with client(fake) as c:
        r = await c.get("/v2/orders:by_client_order_id", params={"client_order_id": "nope"})
        assert r.status_code == 404 and r.json()["code"] == 40410000
        assert (await c.delete("/v2/orders/00000000-0000-0000-0000-000000000000")).status_code == 404
    async with client(fake, **{"APCA-API-SECRET-KEY": "wrong"}) as c:
        r = await c.get("/v2/account")
        assert r.status_code == 401 and r.json()["code"] == 40110000


async def test_rate_limit_budget_and_headers():
    async with FakeAlpaca(rate_limit=3, data=False) as fake, client(fake) as c:
        statuses = [(await c.get("/v2/account")).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        r = await c.get("/v2/account")
        assert r.json() == {"code": 42910000, "message": "rate limit exceeded"}
        assert r.headers["x-ratelimit-limit"] == "3" and r.headers["x-ratelimit-remaining"] == "0"
        assert int(r.headers["x-ratelimit-reset"]) > 0


async def test_injected_429_carries_retry_after(fake):
    fake.faults.rate_limit_next(1, retry_after=2)
    async with client(fake) as c:
        r = await c.get("/v2/account")
        assert r.status_code == 429 and r.headers["retry-after"] == "2"
        assert (await c.get("/v2/account")).status_code == 200


async def test_stream_handshake_and_fills_over_time():
    async with (
        FakeAlpaca(cash=10_000_000, data=False) as fake,
        websockets.connect(fake.stream_url) as ws,
        client(fake) as c,
    ):
        await ws.send(
            json.dumps(
                {"action": "authenticate", "data": {"key_id": fake.key_id, "secret_key": fake.secret_key}}
            )
        )
        auth = await ws.recv()
        assert isinstance(auth, bytes), "paper sends binary frames"
        assert json.loads(auth) == {
            "stream": "authorization",
            "data": {"status": "authorized", "action": "authenticate"},
        }
        await ws.send(json.dumps({"action": "listen", "data": {"streams": ["trade_updates"]}}))
        assert json.loads(await ws.recv()) == {"stream": "listening", "data": {"streams": ["trade_updates"]}}
        assert (await c.post("/v2/orders", json=order("s1", qty="1000"))).status_code == 200
        events = []
        for _ in range(10):
            await fake.advance(1)
            while True:
                try:
                    events.append(json.loads(await asyncio.wait_for(ws.recv(), 0.2))["data"])
                except TimeoutError:
                    break
            if events and events[-1]["event"] == "fill":
                break
        kinds = [e["event"] for e in events]
        assert kinds[0] == "new" and kinds[-1] == "fill" and "partial_fill" in kinds
        fills = [e for e in events if e["event"] in ("fill", "partial_fill")]
        assert sum(int(e["qty"]) for e in fills) == 1000
        assert all(
            {"execution_id", "price", "qty", "position_qty", "timestamp", "order"} <= set(e) for e in fills
        )
        assert fills[-1]["order"]["filled_qty"] == "1000" and fills[-1]["position_qty"] == "1000"
        activities = (await c.get("/v2/account/activities/FILL", params={"direction": "asc"})).json()
        assert [a["cum_qty"] for a in activities] == [e["order"]["filled_qty"] for e in fills]
        assert all(a["activity_type"] == "FILL" and "::" in a["id"] for a in activities)
        positions = (await c.get("/v2/positions")).json()
        assert (
            positions[0]["symbol"] == "AAPL"
            and positions[0]["qty"] == "1000"
            and positions[0]["side"] == "long"
        )


async def test_stream_refuses_bad_keys(fake):
    async with websockets.connect(fake.stream_url) as ws:
        await ws.send(json.dumps({"action": "authenticate", "data": {"key_id": "x", "secret_key": "y"}}))
        assert json.loads(await ws.recv())["data"]["status"] == "unauthorized"


async def test_limit_ioc_fok_and_stop_behaviour(fake):
    quote = fake.engine.quote("AAPL")
    bid, ask = quote.bid, quote.ask
    async with client(fake) as c:
        resting = (
            await c.post("/v2/orders", json=order("l1", type="limit", limit_price=str(bid - 5)))
        ).json()
        ioc = (
            await c.post(
                "/v2/orders", json=order("i1", type="limit", limit_price=str(bid - 5), time_in_force="ioc")
            )
        ).json()
        fok = (
            await c.post("/v2/orders", json=order("f1", qty="100000", side="sell", time_in_force="fok"))
        ).json()
        stop = (
            await c.post(
                "/v2/orders", json=order("t1", type="stop", stop_price=str(ask + 50), time_in_force="gtc")
            )
        ).json()
        await fake.advance(1)
        status = {
            o: (await c.get(f"/v2/orders/{x['id']}")).json()["status"]
            for o, x in (("l", resting), ("i", ioc), ("f", fok), ("t", stop))
        }
    assert status == {"l": "new", "i": "canceled", "f": "canceled", "t": "new"}


async def test_replace_makes_a_new_order(fake):
    async with client(fake) as c:
        old = (await c.post("/v2/orders", json=order("r1", type="limit", limit_price="1"))).json()
        new = await c.patch(f"/v2/orders/{old['id']}", json={"limit_price": "2", "client_order_id": "r1~r1"})
        assert new.status_code == 200
        assert new.json()["replaces"] == old["id"] and new.json()["limit_price"] == "2"
        again = (await c.get(f"/v2/orders/{old['id']}")).json()
        assert again["status"] == "replaced" and again["replaced_by"] == new.json()["id"]


async def test_list_orders_and_cancel_all(fake):
    async with client(fake) as c:
        for i in range(3):
            await c.post("/v2/orders", json=order(f"o{i}", type="limit", limit_price="1"))
        assert len((await c.get("/v2/orders", params={"status": "open"})).json()) == 3
        assert (await c.get("/v2/orders", params={"limit": "501"})).status_code == 422
        r = await c.delete("/v2/orders")
        assert r.status_code == 207 and {x["status"] for x in r.json()} == {200}
        assert len((await c.get("/v2/orders", params={"status": "closed"})).json()) == 3


async def test_command_line_server_and_from_config(monkeypatch):
    """`python -m ntlab.brokers.alpaca.fake` serves; BROKER_* variables point the adapter at it."""
    import socket
    import subprocess
    import sys

    from ntlab.brokers.alpaca import AlpacaBroker
    from ntlab.config import ExecutionConfig

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "ntlab.brokers.alpaca.fake", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        monkeypatch.setenv("BROKER", "alpaca")
        monkeypatch.setenv("BROKER_API_KEY", "FAKEPAPERKEY")
        monkeypatch.setenv("BROKER_SECRET_KEY", "fake-paper-secret")
        monkeypatch.setenv("BROKER_BASE_URL", f"http://127.0.0.1:{port}")
        broker = AlpacaBroker.from_config(ExecutionConfig(_env_file=None))
        assert broker.stream_url == f"ws://127.0.0.1:{port}/stream" and not broker.live
        for _ in range(200):
            try:
                account = await broker.alpaca_account()
                break
            except Exception:
                await asyncio.sleep(0.05)
        else:
            raise AssertionError("the command-line fake never answered")
        assert account.status == "ACTIVE"
        await broker.close()
    finally:
        process.terminate()
        process.wait(10)


async def test_crypto_takes_gtc_or_ioc_only():
    market = sample_market(symbols=["BTC/USD", "AAPL"])
    async with FakeAlpaca(market=market, rate_limit=None, cash=10_000_000) as fake, client(fake) as c:
        day = await c.post("/v2/orders", json=order("c-day", symbol="BTC/USD", qty="0.5"))
        assert day.status_code == 422 and day.json()["code"] == 40010001
        gtc = await c.post(
            "/v2/orders", json=order("c-gtc", symbol="BTC/USD", qty="0.5", time_in_force="gtc")
        )
        assert gtc.status_code == 200 and gtc.json()["asset_class"] == "crypto"
