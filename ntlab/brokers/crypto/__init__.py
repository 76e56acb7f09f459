"""Crypto exchanges through ccxt: ``CcxtBroker("binance", key, secret)``, and a local fake Binance spot.

Needs the ``crypto`` extra (``pip install "ntlab[crypto]"``); the fake also needs ``fakes``.
"""

from ntlab.brokers.crypto.adapter import CcxtBroker

__all__ = ["CcxtBroker"]
