"""Alpaca: the adapter (``AlpacaBroker``) and a faithful local fake of its API (``ntlab.brokers.alpaca.fake``).

Needs the ``alpaca`` extra (httpx, websockets; the fake also needs aiohttp).
"""

from ntlab.brokers.alpaca.adapter import LIVE_URL, PAPER_URL, AlpacaAccount, AlpacaBroker

__all__ = ["LIVE_URL", "PAPER_URL", "AlpacaAccount", "AlpacaBroker"]
