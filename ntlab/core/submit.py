"""The one place a submit is retried: at most three sends in all, and only when the order provably did not
arrive.

Adapters send once and say what they know: ``BrokerUnavailable`` (and ``RateLimited``) when the request
provably did not reach the broker, ``BrokerTimeout`` when it may have. After a timeout the order is looked up
by its client id: found, the broker's view is taken in (never sent again); not found, it is sent again with
the same id. Reads may retry on their own; submits never do anywhere else.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_exponential, wait_random

from ntlab.core.broker import Broker
from ntlab.core.commands import Cancel, Place, What
from ntlab.core.enums import OrderStatus
from ntlab.core.lifecycle import ReplaceChange
from ntlab.core.records import Fill, Order
from ntlab.core.reports import (
    Accepted,
    Cancelled,
    Expired,
    Filled,
    OrderUpdate,
    PendingCancel,
    Rejected,
    Replaced,
)
from ntlab.errors import BrokerTimeout, BrokerUnavailable, RateLimited

ATTEMPTS = 3


class RetryWait:
    """Exponential backoff with jitter, but never sooner than a broker's Retry-After."""

    def __init__(self, initial: float) -> None:
        self._backoff = wait_exponential(multiplier=initial, max=5.0) + wait_random(0, initial)

    def __call__(self, state: RetryCallState) -> float:
        wait = float(self._backoff(state))
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, RateLimited) and error.retry_after is not None:
            wait = max(wait, error.retry_after)
        return wait


async def submit(broker: Broker, order: Order, *, timeout: float, initial: float) -> Sequence[OrderUpdate]:
    """Send ``order``, retrying what provably did not arrive; after a timeout, look before sending again."""
    retrying = AsyncRetrying(
        stop=stop_after_attempt(ATTEMPTS),
        wait=RetryWait(initial),
        retry=retry_if_exception_type(BrokerUnavailable),
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            try:
                return await asyncio.wait_for(broker.submit_order(order), timeout)
            except (BrokerTimeout, TimeoutError):
                found = await asyncio.wait_for(broker.lookup_order(order.order_id), timeout)
                if found is None:
                    raise BrokerUnavailable(
                        f"{broker.name} did not answer and does not know {order.order_id}; sending again"
                    ) from None
                fills = []
                if found.filled_quantity > 0:
                    fills = await asyncio.wait_for(broker.fills_since(order.created_at), timeout)
                return broker_truth(found, order.order_id, fills, ())
    raise AssertionError("unreachable")  # pragma: no cover


def broker_truth(
    found: Order, order_id: str, fills: Sequence[Fill], known_fill_ids: Sequence[str]
) -> list[OrderUpdate]:
    """Reports that bring an order in line with the broker's view of it: its ack, a filled notional order's
    quantity, the fills not yet booked, and its final state (fills before the state, as brokers report
    them)."""
    when: datetime = found.updated_at
    status = found.status
    reports: list[OrderUpdate] = []
    if status is not OrderStatus.REJECTED:
        reports.append(Accepted(order_id, found.created_at, found.broker_order_id))
    if status is OrderStatus.FILLED and found.notional is not None and found.quantity:
        reports.append(Replaced(order_id, when, found.quantity))  # what a notional order came to
    reports.extend(
        Filled(order_id, f) for f in fills if f.order_id == order_id and f.fill_id not in known_fill_ids
    )
    if status is OrderStatus.CANCELLED:
        reports.append(Cancelled(order_id, when, found.reason))
    elif status is OrderStatus.EXPIRED:
        reports.append(Expired(order_id, when, found.reason))
    elif status is OrderStatus.REJECTED:
        reports.append(Rejected(order_id, when, found.reason or f"{found.venue or 'the broker'} rejected it"))
    elif status is OrderStatus.PENDING_CANCEL:
        reports.append(PendingCancel(order_id, when))
    return reports


async def send(
    broker: Broker,
    what: What,
    order: Order,
    change: ReplaceChange | None,
    *,
    timeout: float,
    initial: float,
) -> Sequence[OrderUpdate] | BaseException:
    """A submit, cancel or replace to a remote broker: its reports, or the error it ended with."""
    try:
        if what is Place:
            return await submit(broker, order, timeout=timeout, initial=initial)
        if what is Cancel:
            return await asyncio.wait_for(broker.cancel_order(order), timeout)
        assert change is not None
        return await asyncio.wait_for(broker.replace_order(order, change), timeout)
    except Exception as error:
        return error
