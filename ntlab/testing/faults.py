"""Faults a fake can be told to commit, so tests see what real networks and brokers do.

Request faults apply to the next N matching requests (by method and path prefix; for socket protocols the
"path" is the message name). ``after_processing`` decides whether the fake acts on the request first: a 5xx,
a reset or a stall *after* the order was accepted is the case where a careless client places it twice.
Stream faults drop a stream after K messages, send each message twice, deliver messages in reversed pairs,
hold messages back for a while, or refuse the next reconnects.

The plan is plain data; each fake's server applies it in its own protocol's terms (an HTTP status and the
broker's error body, a dropped TCP connection, a missing websocket frame).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["status", "rate_limit", "reset", "stall"]


@dataclass
class RequestFault:
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
    """The fault plan. Methods return self so a test can chain them; ``hits`` counts what was committed."""

    requests: list[RequestFault] = field(default_factory=list)
    drop_stream_after: int | None = None
    duplicate_events: int = 0
    reorder_events: int = 0
    delay_events: float = 0.0
    refuse_stream: int = 0
    hits: dict[str, int] = field(default_factory=dict)

    def _add(self, fault: RequestFault) -> Faults:
        self.requests.append(fault)
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
        """Answer the next ``n`` requests with a server error (``after_processing``: having acted on them)."""
        return self._add(
            RequestFault(
                "status", n, status=status, method=method, path=path, after_processing=after_processing
            )
        )

    def rate_limit_next(
        self,
        n: int = 1,
        retry_after: float | None = 1.0,
        *,
        method: str | None = None,
        path: str | None = None,
    ) -> Faults:
        """Refuse the next ``n`` requests for rate (HTTP 429 with Retry-After, or the protocol's own way)."""
        return self._add(
            RequestFault("rate_limit", n, status=429, retry_after=retry_after, method=method, path=path)
        )

    def reset_next(
        self,
        n: int = 1,
        *,
        method: str | None = None,
        path: str | None = None,
        after_processing: bool = False,
    ) -> Faults:
        """Abort the connection instead of answering (``after_processing``: the order was accepted)."""
        return self._add(
            RequestFault("reset", n, method=method, path=path, after_processing=after_processing)
        )

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
            RequestFault(
                "stall", n, seconds=seconds, method=method, path=path, after_processing=after_processing
            )
        )

    def take(self, method: str, path: str) -> RequestFault | None:
        """The fault for this request, if one is planned (and count it as committed)."""
        for fault in self.requests:
            if fault.remaining > 0 and fault.matches(method, path):
                fault.remaining -= 1
                self.hits[fault.kind] = self.hits.get(fault.kind, 0) + 1
                if fault.remaining == 0:
                    self.requests.remove(fault)
                return fault
        return None

    def clear(self) -> None:
        self.requests.clear()
        self.drop_stream_after = None
        self.duplicate_events = 0
        self.reorder_events = 0
        self.delay_events = 0.0
        self.refuse_stream = 0
