"""OANDA (FX and CFDs): the adapter (``OandaBroker``) over v20 REST and its streams, and a faithful local fake
of the v20 API (``ntlab.brokers.oanda.fake``, ``python -m ntlab.brokers.oanda.fake --port 8766``).

Needs the ``oanda`` extra (httpx; the fake also needs the ``fakes`` extra, aiohttp).
"""

from ntlab.brokers.oanda.adapter import (
    LIVE_STREAM_URL,
    LIVE_URL,
    PRACTICE_STREAM_URL,
    PRACTICE_URL,
    OandaBroker,
)
from ntlab.brokers.oanda.views import OandaAccount, OandaPosition, OandaTrade
from ntlab.brokers.oanda.wire import InstrumentSpec

__all__ = [
    "LIVE_STREAM_URL",
    "LIVE_URL",
    "PRACTICE_STREAM_URL",
    "PRACTICE_URL",
    "InstrumentSpec",
    "OandaAccount",
    "OandaBroker",
    "OandaPosition",
    "OandaTrade",
]
