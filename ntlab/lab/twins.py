"""Sync and async twins by construction: an operation is written once, as a coroutine run on the core loop.

``@twin`` on ``async def buy(self, ...)`` gives the class ``buy`` (waits for the core, for cells and scripts)
and ``abuy`` (awaits it, for async cells and callbacks). Both run the same coroutine, so neither can drift
from the other, and every class keeps the list of its twins in ``TWINS`` for tests and docs. Adding an
operation to the Lab is one decorated coroutine::

    @twin
    async def news(self, symbol: str) -> pd.DataFrame:
        return await self._om.broker.news(symbol)

``@twin(view=True)`` makes the sync side a property (``lab.orders``; ``await lab.aorders()``);
``untimed=True`` waits as long as the operation takes (stepping the clock, waiting for a status);
``finish=`` runs on the caller's side after the core answered, so building a large DataFrame from a
snapshot does not hold up the core loop.

A class using twins provides ``_bridge`` (a :class:`~ntlab.lab.bridge.CoreThread`) and ``timeout``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any, Generic, TypeVar

T = TypeVar("T")

Body = Callable[..., Coroutine[Any, Any, Any]]


class twin(Generic[T]):
    """Decorate ``async def name(self, ...)``: the class gets ``name`` (sync) and ``a{name}`` (async)."""

    def __init__(
        self,
        body: Body | None = None,
        *,
        view: bool = False,
        untimed: bool = False,
        finish: Callable[[Any], Any] | None = None,
    ) -> None:
        self.body = body
        self.view = view
        self.untimed = untimed
        self.finish = finish

    def __call__(self, body: Body) -> twin[T]:
        self.body = body
        return self

    def __set_name__(self, owner: type, name: str) -> None:
        body, finish, untimed = self.body, self.finish, self.untimed
        if body is None:
            raise TypeError(f"@twin on {owner.__name__}.{name} has no coroutine to wrap")

        @functools.wraps(body)
        def sync(self: Any, *args: Any, **kwargs: Any) -> Any:
            result = self._bridge.run(body(self, *args, **kwargs), None if untimed else self.timeout)
            return result if finish is None else finish(result)

        @functools.wraps(body)
        async def asynchronous(self: Any, *args: Any, **kwargs: Any) -> Any:
            result = await self._bridge.arun(body(self, *args, **kwargs))
            return result if finish is None else finish(result)

        asynchronous.__name__ = f"a{name}"
        asynchronous.__qualname__ = f"{owner.__qualname__}.a{name}"
        asynchronous.__doc__ = f"The async twin of ``{name}``: ``await ...a{name}(...)``."
        setattr(owner, name, property(sync, doc=body.__doc__) if self.view else sync)
        setattr(owner, f"a{name}", asynchronous)
        inherited = owner.__dict__.get("TWINS", getattr(owner, "TWINS", ()))
        owner.TWINS = (*inherited, name)  # type: ignore[attr-defined]
