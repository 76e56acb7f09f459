"""Questrade: the adapter (``QuestradeBroker``) and a faithful local fake of its login and API servers
(``ntlab.brokers.questrade.fake``).

Needs the ``questrade`` extra (httpx; the fake also needs aiohttp, in the ``fakes`` extra).
"""

from ntlab.brokers.questrade.adapter import LIVE_LOGIN, PARTNER_ONLY, PRACTICE_LOGIN, QuestradeBroker
from ntlab.brokers.questrade.auth import TokenFile

__all__ = ["LIVE_LOGIN", "PARTNER_ONLY", "PRACTICE_LOGIN", "QuestradeBroker", "TokenFile"]
