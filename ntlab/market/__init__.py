"""Market data: the deterministic sample market, loaders for your own quotes and trades, and providers.

``get_market("polygon", ["AAPL"], "2026-03-02")`` fetches a real session (through the Parquet cache) as the
same :class:`Market` the sample market is; ``get_provider("alpaca").bars(...)`` gives frames directly. The
providers load on first use, so importing this package needs no HTTP client.
"""

from typing import Any

from ntlab.market.frames import BAR_COLUMNS, QUOTE_COLUMNS, TRADE_COLUMNS, Market, QuoteArrays, TradeArrays
from ntlab.market.loaders import load_market, load_quotes, load_trades
from ntlab.market.sample import sample_market

_LAZY = {"get_market", "get_provider", "PROVIDERS", "DataProvider"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from ntlab.market import providers

        return getattr(providers, name)
    raise AttributeError(f"module 'ntlab.market' has no attribute {name!r}")


__all__ = [
    "BAR_COLUMNS",
    "PROVIDERS",
    "QUOTE_COLUMNS",
    "TRADE_COLUMNS",
    "DataProvider",
    "Market",
    "QuoteArrays",
    "TradeArrays",
    "get_market",
    "get_provider",
    "load_market",
    "load_quotes",
    "load_trades",
    "sample_market",
]
