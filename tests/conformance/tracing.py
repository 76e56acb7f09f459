"""Which ntlab order a Questrade placement came from, for the suite's "never placed twice" check.

Questrade has no client order id, so the fake alone cannot tell two placements of one ntlab order from two
orders. The suite's Questrade adapter marks each submit's requests with a header no real client sends
(``TRACE_HEADER``, ntlab's order id); the fake keeps it per order it creates. The adapter itself is the
shipped one: only its transport adds the header.
"""

from __future__ import annotations

import contextvars
from collections.abc import Sequence

import httpx

from ntlab.brokers.questrade import QuestradeBroker
from ntlab.core.records import Order
from ntlab.core.reports import OrderUpdate

TRACE_HEADER = "X-Conformance-Order"
_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("conformance_order", default=None)


class TraceTransport(httpx.AsyncHTTPTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        order_id = _current.get()
        if order_id is not None:
            request.headers[TRACE_HEADER] = order_id
        return await super().handle_async_request(request)


class TracedQuestrade(QuestradeBroker):
    async def submit_order(self, order: Order) -> Sequence[OrderUpdate]:
        token = _current.set(order.order_id)
        try:
            return await super().submit_order(order)
        finally:
            _current.reset(token)
