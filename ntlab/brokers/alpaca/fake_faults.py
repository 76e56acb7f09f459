"""Faults the fake Alpaca can be told to commit, so tests see what real networks and brokers do.

HTTP faults apply to the next N matching requests (by method and path prefix). ``after_processing`` decides
whether the fake acts on the request first: a 500 or a reset *after* the order was accepted is the case where
a careless client places twice. Stream faults drop the websocket after K trade messages, send each event
twice, or deliver events in reversed pairs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["status", "rate_limit", "reset", "stall"]


@dataclass
class HttpFault:
    kind: Kind
    remaining: int
    status: int = 500
    retry_after: float | None = None
    seconds: float = 0.0
    after_processing: bool = False
    method: str | None = None
    path: str | None = None

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method != method:
            return False
        return self.path is None or path.startswith(self.path)


@dataclass
class Faults:
    """The fault plan. Methods return self so a test can chain them."""

    http: list[HttpFault] = field(default_factory=list)
    drop_stream_after: int | None = None
    duplicate_events: int = 0
    reorder_events: int = 0
    refuse_stream: int = 0
    hits: dict[str, int] = field(default_factory=dict)

    def _add(self, fault: HttpFault) -> Faults:
        self.http.append(fault)
        return self

    def fail_next(
        self,
        n: int = 1,
        status: int = 500,
        *,
        method: str | None = None,
        path: str | None = None,
        after_processing: bool = False,
    ) -> Faults:
        """Answer the next ``n`` requests with a 5xx (``after_processing``: having acted on them first)."""
        return self._add(
            HttpFault("status", n, status=status, method=method, path=path, after_processing=after_processing)
        )

    def rate_limit_next(
        self,
        n: int = 1,
        retry_after: float | None = 1.0,
        *,
        method: str | None = None,
        path: str | None = None,
    ) -> Faults:
        """Answer the next ``n`` requests with 429, Retry-After and the X-Ratelimit headers."""
        return self._add(
            HttpFault("rate_limit", n, status=429, retry_after=retry_after, method=method, path=path)
        )

    def reset_next(
        self,
        n: int = 1,
        *,
        method: str | None = None,
        path: str | None = None,
        after_processing: bool = False,
    ) -> Faults:
        """Abort the TCP connection instead of answering (``after_processing``: the order was accepted)."""
        return self._add(HttpFault("reset", n, method=method, path=path, after_processing=after_processing))

    def stall_next(
        self,
        n: int = 1,
        seconds: float = 5.0,
        *,
        method: str | None = None,
        path: str | None = None,
        after_processing: bool = True,
    ) -> Faults:
        """Act on the request, then say nothing for ``seconds``: the client's read timeout fires."""
        return self._add(
            HttpFault(
                "stall", n, seconds=seconds, method=method, path=path, after_processing=after_processing
            )
        )

    def take(self, method: str, path: str) -> HttpFault | None:
        for fault in self.http:
            if fault.remaining > 0 and fault.matches(method, path):
                fault.remaining -= 1
                self.hits[fault.kind] = self.hits.get(fault.kind, 0) + 1
                if fault.remaining == 0:
                    self.http.remove(fault)
                return fault
        return None

    def clear(self) -> None:
        self.http.clear()
        self.drop_stream_after = None
        self.duplicate_events = 0
        self.reorder_events = 0
        self.refuse_stream = 0
