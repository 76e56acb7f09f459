"""The fake v20 answers the same whatever it has held: an account with 5,000 orders behind it (filled,
cancelled, expired) and 1,250 closed trades places, lists, looks up, closes and expires new orders and
trades exactly as one with a dozen behind it, once ids are taken relative to where each history ends.

The fake keeps indexes (pending orders, GTD orders in expiry order, open trades, trade client ids) beside
its full records; this is what shows they stay true to the records."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx

from ntlab.brokers.oanda.fake import FAKE_TOKEN, FakeOanda
from ntlab.brokers.oanda.wire import format_time

CASH = Decimal(1_000_000)
FAR = Decimal("0.01")  # limit buys this far under the market never fill


@asynccontextmanager
async def fake_with_history(cycles: int) -> AsyncIterator[FakeOanda]:
    """A fake that has held ``4 x cycles`` orders, none pending now, and ``cycles`` closed trades.

    Each cycle: a 1-unit market buy opening a trade with a client id, a market sell closing it, a limit
    cancelled by its client id, and a GTD limit that expires. The balance is topped back up to ``CASH``
    and the clock moved a minute, so both histories end at the same time and money."""
    async with FakeOanda(cash=CASH) as fake:
        acct = fake.account
        quote = fake.engine.quote("EUR/USD")
        assert quote is not None
        low = str(quote.bid - FAR)
        soon = format_time(fake.engine.now() + timedelta(seconds=30))
        for i in range(cycles):
            fake.place(
                {
                    "type": "MARKET",
                    "instrument": "EUR_USD",
                    "units": "1",
                    "clientExtensions": {"id": f"old-{i}-open"},
                    "tradeClientExtensions": {"id": f"old-trade-{i}"},
                }
            )
            fake.place({"type": "MARKET", "instrument": "EUR_USD", "units": "-1"})
            limit = {"type": "LIMIT", "instrument": "EUR_USD", "units": "1", "price": low}
            fake.place(limit | {"clientExtensions": {"id": f"old-{i}-limit"}})
            cancelled = acct.find_order(f"@old-{i}-limit")
            assert cancelled is not None
            acct.cancel(cancelled, acct.batch())
            fake.place(limit | {"timeInForce": "GTD", "gtdTime": soon})
        acct.fund(CASH - acct.ledger.balance)
        before = fake.last_transaction_id
        await fake.advance(60)
        expired = [t["orderID"] for t in acct.transactions[before:] if t["type"] == "ORDER_CANCEL"]
        assert len(expired) == cycles and expired == sorted(expired, key=int)  # oldest first
        assert not acct.pending_orders() and not acct.ledger.open
        assert len(acct.orders) == 4 * cycles and len(acct.ledger.trades) == cycles
        yield fake


def relative(value: Any, base: int) -> Any:
    """An answer with every transaction, order and trade id as its distance from ``base``, the batch's
    request id left out (a per-account counter), and the account's and positions' lifetime P&L left out
    (the two histories lost different spreads; each fill's own P&L is kept)."""
    if isinstance(value, list):
        return [relative(item, base) for item in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key == "requestID" or (key in ("pl", "resettablePL") and "type" not in value):
            continue
        if (key == "id" or key.endswith(("ID", "IDs"))) and isinstance(item, str) and item.isdigit():
            out[key] = int(item) - base
        elif key.endswith("IDs") and isinstance(item, list):
            out[key] = [int(i) - base if isinstance(i, str) and i.isdigit() else i for i in item]
        else:
            out[key] = relative(item, base)
    return out


async def session(fake: FakeOanda) -> dict[str, tuple[int, Any]]:
    """A fixed run of requests over HTTP: each step's status and answer, relative to the history's last
    transaction."""
    base = fake.last_transaction_id
    a = f"/v3/accounts/{fake.account_id}"
    answers: dict[str, tuple[int, Any]] = {}
    headers = {"Authorization": f"Bearer {FAKE_TOKEN}"}
    async with httpx.AsyncClient(base_url=fake.base_url, headers=headers) as client:

        async def call(step: str, method: str, path: str, **options: Any) -> dict[str, Any]:
            response = await client.request(method, f"{a}{path}", **options)
            body: dict[str, Any] = response.json()
            answers[step] = (response.status_code, relative(body, base))
            return body

        quote = fake.engine.quote("EUR/USD")
        assert quote is not None
        limit = {
            "type": "LIMIT",
            "instrument": "EUR_USD",
            "units": "1000",
            "price": str(quote.bid - FAR),
            "timeInForce": "GTD",
            "gtdTime": format_time(fake.engine.now() + timedelta(seconds=30)),
            "clientExtensions": {"id": "probe-limit"},
        }
        market = {
            "type": "MARKET",
            "instrument": "EUR_USD",
            "units": "1000",
            "clientExtensions": {"id": "probe-market"},
            "tradeClientExtensions": {"id": "probe-trade"},
            "takeProfitOnFill": {"price": str(quote.ask + FAR)},
        }
        await call("place limit", "POST", "/orders", json={"order": limit})
        placed = await call("place market", "POST", "/orders", json={"order": market})
        await call("reuse client id", "POST", "/orders", json={"order": limit})
        await call("pending", "GET", "/orders")
        await call("pendingOrders", "GET", "/pendingOrders")
        await call("all orders", "GET", "/orders", params={"state": "ALL", "count": "3"})
        await call("order by client id", "GET", "/orders/@probe-limit")
        await call("openTrades", "GET", "/openTrades")
        await call("all trades", "GET", "/trades", params={"state": "ALL", "count": "1"})
        found = await call("trade by client id", "GET", "/trades/@probe-trade")
        await call("summary", "GET", "/summary")
        await call("details", "GET", "")
        await call("openPositions", "GET", "/openPositions")
        await call("close trade", "PUT", "/trades/@probe-trade/close", json={})
        await fake.advance(40)  # past the probe limit's gtdTime
        await call("cancelled", "GET", "/orders", params={"state": "CANCELLED", "count": "2"})
        await call("filled", "GET", "/orders", params={"state": "FILLED", "count": "2"})
        await call("closed trades", "GET", "/trades", params={"state": "CLOSED", "count": "1"})
        after = await call("summary after", "GET", "/summary")
        await call("changes", "GET", "/changes", params={"sinceTransactionID": str(base)})
        await call("transactions", "GET", "/transactions/sinceid", params={"id": str(base)})

    # what the answers say, not only that the two accounts agree
    opened = placed["orderFillTransaction"]["tradeOpened"]["tradeID"]
    assert found["trade"]["id"] == opened and found["trade"]["state"] == "OPEN"
    assert after["account"]["openTradeCount"] == 0 and after["account"]["pendingOrderCount"] == 0
    expired = fake.account.find_order("@probe-limit")
    assert expired is not None and expired.data["state"] == "CANCELLED"
    cancel = fake.account.transaction(expired.data["cancellingTransactionID"])
    assert cancel is not None and cancel["reason"] == "TIME_IN_FORCE_EXPIRED"
    return answers


async def test_an_account_with_a_long_history_answers_as_one_with_a_short_one() -> None:
    async with fake_with_history(3) as few:
        short = await session(few)
    async with fake_with_history(1250) as many:
        long = await session(many)
    assert list(long) == list(short)
    for step, answer in long.items():
        assert answer == short[step], step
    assert [short[step][0] for step in ("place limit", "place market", "reuse client id")] == [201, 201, 400]
    assert short["reuse client id"][1]["errorCode"] == "CLIENT_ORDER_ID_ALREADY_EXISTS"
    pending = short["pending"][1]["orders"]
    assert [(o["type"], o["id"]) for o in pending] == [("TAKE_PROFIT", 4), ("LIMIT", 1)]  # newest first
    assert short["pendingOrders"][1]["orders"] == pending
    cancelled = short["cancelled"][1]["orders"]
    assert [(o["type"], o["id"]) for o in cancelled] == [("TAKE_PROFIT", 4), ("LIMIT", 1)]
    changes = short["changes"][1]["changes"]
    created = [t["id"] for t in changes["transactions"] if t["type"].endswith("_ORDER")]
    assert [o["id"] for o in changes["ordersCreated"]] == created  # oldest first, as in the log
    assert {o["id"] for o in changes["ordersCancelled"]} == {1, 4}
