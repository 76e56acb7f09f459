"""Lime Trading: the adapter (``LimeBroker``) and a faithful local fake of its auth server, REST API and
account websocket (``ntlab.brokers.lime.fake``).

Needs the ``lime`` extra (httpx, websockets; the fake also needs aiohttp, in the ``fakes`` extra).
"""

from ntlab.brokers.lime.adapter import AUTH_URL, BASE_URL, LimeBroker

__all__ = ["AUTH_URL", "BASE_URL", "LimeBroker"]
