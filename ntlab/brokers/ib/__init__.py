"""Interactive Brokers: the adapter (``IBBroker``, on ib_async) and a faithful local fake TWS
(``python -m ntlab.brokers.ib.fake``).

Needs the ``ib`` extra (ib_async); the fake needs only the ``fakes`` extra.
"""

from ntlab.brokers.ib.adapter import LIVE_PORT, PAPER_PORT, IBBroker

__all__ = ["LIVE_PORT", "PAPER_PORT", "IBBroker"]
