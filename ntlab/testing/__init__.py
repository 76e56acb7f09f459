"""The fake-broker kit: one matching engine, one fault plan, server scaffolding for every wire protocol.

Each broker's fake (``ntlab.brokers.<broker>.fake``) is that broker's wire protocol and field spellings on
top of :class:`FakeEngine` (the paper venue's book on a seeded market), with the faults of :class:`Faults`
committed by :class:`FakeHttpServer` / :class:`FakeTcpServer` and the stream faults by :class:`StreamHub`.
The fakes' servers need aiohttp: ``pip install "ntlab[fakes]"``.
"""

from ntlab.testing.engine import FakeEngine
from ntlab.testing.faults import Faults, RequestFault

__all__ = ["FakeEngine", "Faults", "RequestFault"]
