"""The fake Binance spot's listings: ``GET /api/v3/exchangeInfo`` with Binance's symbols, filters and limits.

Tradable symbols are quoted from the engine's market (BTCUSDT from the sample market's BTC/USD); the rest of
a realistically large listing (``filler`` symbols) is in status ``BREAK``, as Binance's delisted and halted
pairs are, so ccxt loads a full exchange's markets while only what the engine can price trades.

Order types are those the engine fills: LIMIT, LIMIT_MAKER, MARKET, STOP_LOSS and STOP_LOSS_LIMIT. Binance
also lists TAKE_PROFIT(_LIMIT) (a stop that triggers the other way); the fake leaves them out, so ccxt
refuses them before sending instead of the fake filling them wrongly.
"""

from __future__ import annotations

import itertools
import string
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

ORDER_TYPES = ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT"]

RATE_LIMITS = [
    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
    {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
    {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
]


@dataclass(frozen=True)
class Listing:
    """One spot symbol: its assets, increments and minimums (Binance's filters), and the engine's symbol."""

    symbol: str
    base: str
    quote: str
    engine_symbol: str | None
    tick: Decimal = Decimal("0.01")
    step: Decimal = Decimal("0.00001")
    min_qty: Decimal = Decimal("0.00001")
    max_qty: Decimal = Decimal("9000")
    market_max_qty: Decimal = Decimal("120")
    min_price: Decimal = Decimal("0.01")
    max_price: Decimal = Decimal("1000000")
    min_notional: Decimal = Decimal("5")
    max_notional: Decimal = Decimal("9000000")
    min_trailing: int = 10
    max_trailing: int = 2000
    status: str = "TRADING"
    order_types: list[str] = field(default_factory=lambda: list(ORDER_TYPES))

    @property
    def unified(self) -> str:
        return f"{self.base}/{self.quote}"

    def info(self) -> dict[str, Any]:
        """The symbol as exchangeInfo lists it."""
        return {
            "symbol": self.symbol,
            "status": self.status,
            "baseAsset": self.base,
            "baseAssetPrecision": 8,
            "quoteAsset": self.quote,
            "quotePrecision": 8,
            "quoteAssetPrecision": 8,
            "baseCommissionPrecision": 8,
            "quoteCommissionPrecision": 8,
            "orderTypes": list(self.order_types),
            "icebergAllowed": True,
            "ocoAllowed": True,
            "otoAllowed": True,
            "quoteOrderQtyMarketAllowed": True,
            "allowTrailingStop": True,
            "cancelReplaceAllowed": True,
            "amendAllowed": True,
            "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": False,
            "filters": [
                {
                    "filterType": "PRICE_FILTER",
                    "minPrice": _wire(self.min_price),
                    "maxPrice": _wire(self.max_price),
                    "tickSize": _wire(self.tick),
                },
                {
                    "filterType": "LOT_SIZE",
                    "minQty": _wire(self.min_qty),
                    "maxQty": _wire(self.max_qty),
                    "stepSize": _wire(self.step),
                },
                {"filterType": "ICEBERG_PARTS", "limit": 10},
                {
                    "filterType": "MARKET_LOT_SIZE",
                    "minQty": "0.00000000",
                    "maxQty": _wire(self.market_max_qty),
                    "stepSize": "0.00000000",
                },
                {
                    "filterType": "NOTIONAL",
                    "minNotional": _wire(self.min_notional),
                    "applyMinToMarket": True,
                    "maxNotional": _wire(self.max_notional),
                    "applyMaxToMarket": False,
                    "avgPriceMins": 5,
                },
                {
                    "filterType": "TRAILING_DELTA",
                    "minTrailingAboveDelta": self.min_trailing,
                    "maxTrailingAboveDelta": self.max_trailing,
                    "minTrailingBelowDelta": self.min_trailing,
                    "maxTrailingBelowDelta": self.max_trailing,
                },
                {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
                {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": 5},
            ],
            "permissions": [],
            "permissionSets": [["SPOT"]],
            "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
            "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH", "DECREMENT"],
        }


def _wire(value: Decimal) -> str:
    """Binance's spelling of a filter value: eight decimals."""
    return f"{value:.8f}"


TRADABLE = (Listing("BTCUSDT", "BTC", "USDT", "BTC/USD"),)


def fillers(count: int) -> list[Listing]:
    """``count`` halted symbols with made-up three-to-five letter bases against the common quotes."""
    quotes = ("USDT", "BTC", "FDUSD", "ETH", "BNB", "TRY", "EUR")
    out: list[Listing] = []
    letters = string.ascii_uppercase
    for length in (3, 4, 5):
        for chars in itertools.product(letters, repeat=length):
            base = "Z" + "".join(chars)
            for quote in quotes:
                if len(out) >= count:
                    return out
                out.append(
                    Listing(f"{base}{quote}", base, quote, None, tick=Decimal("0.0001"), status="BREAK")
                )
    return out


def exchange_info(listings: list[Listing], server_time: int) -> dict[str, Any]:
    return {
        "timezone": "UTC",
        "serverTime": server_time,
        "rateLimits": RATE_LIMITS,
        "exchangeFilters": [],
        "symbols": [listing.info() for listing in listings],
    }
