"""The commands callers and broker tasks send to the OrderManager's actor: one small record per kind.

The actor takes them from its :class:`Inbox` a batch at a time and dispatches each with ``match``.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ntlab.core.events import OrderEvent
from ntlab.core.lifecycle import ReplaceChange
from ntlab.core.models import OrderRequest
from ntlab.core.reports import OrderUpdate

if TYPE_CHECKING:
    from ntlab.core.lifecycle import OrderState

Reply = asyncio.Future[Any]


@dataclass(slots=True)
class Place:
    request: OrderRequest
    reply: Reply


@dataclass(slots=True)
class Cancel:
    order_id: str
    reply: Reply


@dataclass(slots=True)
class Replace:
    order_id: str
    change: ReplaceChange
    reply: Reply


@dataclass(slots=True)
class Reports:
    """News from the broker (acks, fills, cancels...), applied in order and journaled together."""

    reports: Sequence[OrderUpdate]
    reply: Reply


@dataclass(slots=True)
class Sent:
    """A remote broker answered a submit, cancel or replace (``outcome`` is its reports or the error)."""

    what: type[Place] | type[Cancel] | type[Replace]
    order_id: str
    outcome: Sequence[OrderUpdate] | BaseException
    reply: Reply


@dataclass(slots=True)
class Call:
    """Run a function on the actor, ordered with the commands around it (halts, adoptions, records)."""

    function: Callable[[Any], Any]  # called with the actor's current batch
    reply: Reply


@dataclass(slots=True)
class Stop:
    pass


Command = Place | Cancel | Replace | Reports | Sent | Call | Stop

What = type[Place] | type[Cancel] | type[Replace]
"""Which of the three things sent to a broker a send is."""

Send = tuple[type[Place] | type[Cancel] | type[Replace], "OrderState", ReplaceChange | None, Reply]
"""Something to hand the broker once the batch is journaled: what, for which order, the change, the reply."""


@dataclass(slots=True)
class Batch:
    """What one pass of the actor collects: answers owed to callers, orders to send, events to publish."""

    events: list[OrderEvent] | None
    answers: list[tuple[Reply, Any]] = field(default_factory=list)
    sends: list[Send] = field(default_factory=list)
    finished: list[OrderState] = field(default_factory=list)  # orders that reached a final status

    def answer(self, reply: Reply, value: Any) -> None:
        self.answers.append((reply, value))

    def reply(self) -> None:
        for reply, value in self.answers:
            if reply.done():  # the caller stopped waiting (timeout, Ctrl-C)
                continue
            if isinstance(value, BaseException):
                reply.set_exception(value)
            else:
                reply.set_result(value)

    def fail(self, commands: Sequence[Command], error: Exception) -> None:
        """Something unexpected broke the batch: every caller in it hears of it."""
        answered = {id(reply) for reply, _ in self.answers}
        for command in commands:
            if not isinstance(command, Stop) and id(command.reply) not in answered:
                self.answer(command.reply, error)


class Inbox:
    """The actor's commands: a deque and one waiter, cheaper per command than an asyncio.Queue and
    drained a batch at a time. Used from the event loop's thread only.

    A caller may run a batch itself while the actor is parked with nothing queued (:meth:`idle`): it
    ``hold`` s the inbox for that batch, so the actor takes nothing until it is ``release`` d.
    """

    __slots__ = ("_held", "_items", "_waiter")

    def __init__(self) -> None:
        self._items: deque[Command] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._held = False

    def idle(self) -> bool:
        """The actor is parked waiting for work, none is queued and no caller holds the inbox."""
        return self._waiter is not None and not self._items and not self._held

    def hold(self) -> None:
        self._held = True

    def release(self) -> None:
        self._held = False
        if self._items:
            self._wake()

    def put(self, command: Command) -> None:
        self._items.append(command)
        if not self._held:
            self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    async def take(self, limit: int) -> list[Command]:
        items = self._items
        while not items or self._held:
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        if len(items) <= limit:
            batch = list(items)
            items.clear()
            return batch
        return [items.popleft() for _ in range(limit)]
