"""The fake's market data in Kraken's spelling (``/0/public/AssetPairs``, ``Assets``, ``Time``), so the same
adapter can load a second exchange's markets and show it has nothing Binance-specific in it.

Kraken names bitcoin XBT (ccxt maps it back to BTC) and gives precisions as decimal counts.
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from ntlab.brokers.crypto.fake import FakeBinance

KRAKEN_ASSET = {"BTC": "XXBT", "USDT": "USDT"}


def _places(step: Any) -> int:
    return max(0, -step.normalize().as_tuple().exponent)


def asset_pairs(fake: FakeBinance) -> dict[str, Any]:
    result = {}
    for listing in fake.listings.values():
        if listing.engine_symbol is None:
            continue
        base, quote = (
            KRAKEN_ASSET.get(listing.base, listing.base),
            KRAKEN_ASSET.get(listing.quote, listing.quote),
        )
        name = f"{base[-3:]}{quote}"
        result[name] = {
            "altname": name,
            "wsname": f"{base[-3:]}/{quote}",
            "aclass_base": "currency",
            "base": base,
            "aclass_quote": "currency",
            "quote": quote,
            "lot": "unit",
            "cost_decimals": 5,
            "pair_decimals": 1,  # Kraken quotes BTC/USDT in 0.1
            "lot_decimals": 8,
            "lot_multiplier": 1,
            "leverage_buy": [2, 3],
            "leverage_sell": [2, 3],
            "fees": [[0, 0.26], [50000, 0.24]],
            "fees_maker": [[0, 0.16], [50000, 0.14]],
            "fee_volume_currency": "ZUSD",
            "margin_call": 80,
            "margin_stop": 40,
            "ordermin": "0.00005",
            "costmin": "0.5",
            "tick_size": "0.1",
            "status": "online",
        }
    return {"error": [], "result": result}


def assets() -> dict[str, Any]:
    def one(altname: str, decimals: int) -> dict[str, Any]:
        return {
            "aclass": "currency",
            "altname": altname,
            "decimals": decimals,
            "display_decimals": 5,
            "collateral_value": 1.0,
            "status": "enabled",
        }

    return {"error": [], "result": {"XXBT": one("XBT", 10), "USDT": one("USDT", 8)}}


async def serve(fake: FakeBinance) -> tuple[web.AppRunner, str]:
    async def pairs(request: web.Request) -> web.Response:
        return web.json_response(asset_pairs(fake))

    async def listed(request: web.Request) -> web.Response:
        return web.json_response(assets())

    async def clock(request: web.Request) -> web.Response:
        return web.json_response({"error": [], "result": {"unixtime": int(time.time()), "rfc1123": ""}})

    app = web.Application()
    app.router.add_get("/0/public/AssetPairs", pairs)
    app.router.add_get("/0/public/Assets", listed)
    app.router.add_get("/0/public/Time", clock)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"
