"""v20 REST as classified answers: one keep-alive client, the in-flight bound, retries for reads.

Every call comes back as an :class:`Answer` whose ``kind`` tells the adapter what it may do next: ``ok``
(2xx, including a 201 whose order was cancelled at once: the transactions say so); ``refused`` (400: v20's
reject transaction and ``errorCode``/``errorMessage``); ``missing`` (404); ``limited`` (429, wait and send
again); ``unsent`` (the request provably never left: the connection was refused); ``ambiguous`` (a
timeout, a reset or a 5xx: it may have been acted on, so look before sending again). 401 and 403 raise
:class:`~ntlab.errors.AuthenticationError`. The token rides in the client's default headers and appears in
no message this module builds.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import httpx
import orjson
from pydantic import SecretStr

from ntlab.brokers.oanda.transport import PooledTransport
from ntlab.errors import AuthenticationError, BrokerError, BrokerTimeout, BrokerUnavailable, RateLimited

_JSON = {"Content-Type": "application/json"}


class Answer:
    """What one HTTP attempt came to."""

    __slots__ = ("data", "error", "kind", "retry_after", "status")

    def __init__(
        self, kind: str, status: int = 0, data: Any = None, error: str = "", retry_after: float | None = None
    ) -> None:
        self.kind = kind  # ok | refused | missing | limited | unsent | ambiguous
        self.status = status
        self.data = data
        self.error = error
        self.retry_after = retry_after

    @property
    def body(self) -> dict[str, Any]:
        return self.data if isinstance(self.data, dict) else {}

    def __repr__(self) -> str:
        return f"Answer({self.kind!r}, {self.status}, {self.error!r})"


def _retry_after(headers: httpx.Headers) -> float | None:
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None


class V20Rest:
    """One keep-alive ``httpx.AsyncClient`` with the bearer token and a bound on requests in flight.

    ``Accept-Datetime-Format: RFC3339`` is asked for explicitly, so times parse the same whatever the
    account's default.
    """

    def __init__(
        self,
        base_url: str,
        token: SecretStr,
        *,
        timeout: float,
        max_in_flight: int,
        retry_initial: float,
        transport: httpx.AsyncBaseTransport | None = None,
        stats: dict[str, int] | None = None,
    ) -> None:
        self.retry_initial = retry_initial
        self.stats = stats if stats is not None else {}
        self.stats.setdefault("requests", 0)
        self._slots = asyncio.Semaphore(max_in_flight)
        self._hold_until = 0.0
        self._client = httpx.AsyncClient(
            base_url=base_url,
            headers={
                "Authorization": f"Bearer {token.get_secret_value()}",
                "Accept-Datetime-Format": "RFC3339",
            },
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            trust_env=False,
            transport=transport or PooledTransport(max_connections=max_in_flight),
        )

    def __repr__(self) -> str:
        return f"V20Rest(base_url={str(self._client.base_url)!r})"

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _wait_for_budget(self) -> None:
        loop = asyncio.get_running_loop()
        delay = self._hold_until - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)

    async def attempt(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
    ) -> Answer:
        """One request, classified; network trouble is an answer, never an exception."""
        await self._wait_for_budget()
        content = None if body is None else orjson.dumps(body)
        try:
            async with self._slots:
                self.stats["requests"] += 1
                response = await self._client.request(
                    method,
                    path,
                    params=params,
                    content=content,
                    headers=_JSON if content is not None else None,
                )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
            return Answer("unsent", error=type(error).__name__)
        except httpx.TransportError as error:
            return Answer("ambiguous", error=type(error).__name__)
        return self.classify(response)

    def classify(self, response: httpx.Response) -> Answer:
        status = response.status_code
        data = _json(response)
        if status < 300:
            return Answer("ok", status, data)
        body = data if isinstance(data, dict) else {}
        code = body.get("errorCode")
        words = body.get("errorMessage") or response.reason_phrase
        message = f"oanda {status}{' ' + code if code else ''}: {words}"
        if status == 429:
            wait = _retry_after(response.headers)
            self._hold_until = asyncio.get_running_loop().time() + (wait if wait is not None else 1.0)
            return Answer("limited", status, body, message, wait)
        if status >= 500:
            return Answer("ambiguous", status, body, message)
        if status in (401, 403):
            raise AuthenticationError(f"OANDA refused the token for this account ({message})")
        if status == 404:
            return Answer("missing", status, body, message)
        return Answer("refused", status, body, message)

    async def request(self, method: str, path: str, *, attempts: int = 3, **kw: Any) -> Answer:
        """A request that is safe to repeat (reads, cancels), retried through 5xx, 429 and network trouble."""
        answer = Answer("unsent")
        for attempt in range(attempts):
            answer = await self.attempt(method, path, **kw)
            if answer.kind in ("ok", "missing", "refused"):
                return answer
            if answer.kind != "limited":  # the budget already holds every request until Retry-After
                await asyncio.sleep(self.retry_initial * 2**attempt * random.uniform(0.5, 1.5))
        return answer

    @staticmethod
    def raise_for(answer: Answer, what: str) -> None:
        """Raise what an answer that is not usable means for the caller."""
        if answer.kind == "limited":
            raise RateLimited(f"{what}: {answer.error}", retry_after=answer.retry_after or 1.0)
        if answer.kind == "unsent":
            raise BrokerUnavailable(f"{what}: OANDA unreachable ({answer.error})")
        if answer.kind == "ambiguous":
            raise BrokerTimeout(f"{what}: no usable answer from OANDA ({answer.error})")
        raise BrokerError(f"{what}: {answer.error}")

    async def get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """A read: the body, None on a 404, an error for anything else that is not ok."""
        answer = await self.request("GET", path, params=params)
        if answer.kind == "missing":
            return None
        if answer.kind != "ok":
            self.raise_for(answer, f"GET {path}")
        return answer.body


def _json(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return {"errorMessage": response.text[:200]}
