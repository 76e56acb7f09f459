"""Market data: the deterministic sample market and loaders for your own quotes and trades."""

from ntlab.market.frames import Market, QuoteArrays, TradeArrays
from ntlab.market.loaders import load_market, load_quotes, load_trades
from ntlab.market.sample import sample_market

__all__ = [
    "Market",
    "QuoteArrays",
    "TradeArrays",
    "load_market",
    "load_quotes",
    "load_trades",
    "sample_market",
]
