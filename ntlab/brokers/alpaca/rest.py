"""Alpaca's REST API as classified answers: one pooled client, the budget, the in-flight bound, retries.

The client is httpx's, over its own transport (httpcore's keep-alive pool), with as many connections as
requests may be in flight: the semaphore keeps the rest waiting here, where waiting costs nothing, rather
than in the pool.

Every call comes back as an :class:`Answer` whose ``kind`` says what the adapter may do next: ``ok``;
``refused`` / ``missing`` / ``duplicate`` (Alpaca's definite word); ``limited`` (429, wait and resend);
``unsent`` (the request provably never left: connection refused); ``ambiguous`` (a timeout, a reset or a
5xx: it may have been acted on, so look before sending again). Credentials ride in the client's default
headers and appear in no message this module builds.
"""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

import httpx
from pydantic import SecretStr

from ntlab.brokers.alpaca.ratelimit import RateLimiter, retry_after
from ntlab.errors import AuthenticationError, BrokerError, BrokerTimeout, BrokerUnavailable, RateLimited

_JSON = {"Content-Type": "application/json"}


class Answer:
    """What one HTTP attempt came to, so the caller can decide between adopt, resend and give up."""

    __slots__ = ("data", "error", "kind", "status")

    def __init__(self, kind: str, status: int = 0, data: Any = None, error: str = "") -> None:
        self.kind = kind  # ok | refused | duplicate | missing | ambiguous | unsent | limited
        self.status = status
        self.data = data
        self.error = error


class AlpacaRest:
    """One keep-alive ``httpx.AsyncClient`` with Alpaca's auth headers, a budget and an in-flight bound."""

    def __init__(
        self,
        base_url: str,
        key_id: str,
        secret_key: SecretStr,
        *,
        timeout: float,
        max_in_flight: int,
        limiter: RateLimiter,
        retry_initial: float,
        transport: httpx.AsyncBaseTransport | None = None,
        stats: dict[str, int] | None = None,
    ) -> None:
        self.limiter = limiter
        self.retry_initial = retry_initial
        self.stats = stats if stats is not None else {}
        self.stats.setdefault("requests", 0)
        self._slots = asyncio.Semaphore(max_in_flight)
        self._client = httpx.AsyncClient(
            base_url=base_url,
            headers={"APCA-API-KEY-ID": key_id, "APCA-API-SECRET-KEY": secret_key.get_secret_value()},
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            trust_env=False,
            transport=transport or pooled(max_in_flight),
        )

    def __repr__(self) -> str:
        return f"AlpacaRest(base_url={str(self._client.base_url)!r})"

    async def aclose(self) -> None:
        await self._client.aclose()

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        base: str | None = None,
    ) -> httpx.Response:
        """One request under the budget and the in-flight bound. Transport errors propagate."""
        await self.limiter.acquire()
        client = self._client
        content = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        async with self._slots:
            self.stats["requests"] += 1
            response = await client.request(
                method,
                path if base is None else base + path,
                params=params,
                content=content,
                headers=_JSON if content is not None else None,
            )
        self.limiter.observe(response.status_code, response.headers)
        return response

    async def attempt(self, method: str, path: str, **kw: Any) -> Answer:
        """One request, classified; never raises for network trouble."""
        try:
            response = await self.send(method, path, **kw)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
            return Answer("unsent", error=f"{type(error).__name__}")
        except httpx.TransportError as error:
            return Answer("ambiguous", error=f"{type(error).__name__}")
        status = response.status_code
        if status < 300:
            data = response.json() if response.content else None
            return Answer("ok", status, data)
        body = _error_body(response)
        message = f"alpaca {status} {body.get('code', '')}: {body.get('message', response.reason_phrase)}"
        if status == 429:
            return Answer("limited", status, retry_after(response.headers), message)
        if status >= 500:
            return Answer("ambiguous", status, error=message)
        if status == 401:
            raise AuthenticationError(f"Alpaca refused the credentials ({message})")
        if status == 404:
            return Answer("missing", status, body, message)
        if status == 422 and "unique" in str(body.get("message", "")):
            return Answer("duplicate", status, body, message)
        return Answer("refused", status, body, message)

    async def request(self, method: str, path: str, *, attempts: int = 3, **kw: Any) -> Answer:
        """An idempotent request, retried through 5xx, 429 and network trouble."""
        answer = Answer("unsent")
        for attempt in range(attempts):
            answer = await self.attempt(method, path, **kw)
            if answer.kind in ("ok", "missing", "refused", "duplicate"):
                return answer
            await self.backoff(attempt, answer)
        return answer

    async def backoff(self, attempt: int, answer: Answer) -> None:
        if answer.kind == "limited":
            return  # the limiter already holds every request until Retry-After has passed
        await asyncio.sleep(self.retry_initial * 2**attempt * random.uniform(0.5, 1.5))

    def raise_for(self, answer: Answer, what: str) -> None:
        if answer.kind == "limited":
            raise RateLimited(f"{what}: {answer.error}", retry_after=float(answer.data or 1.0))
        if answer.kind == "unsent":
            raise BrokerUnavailable(f"{what}: Alpaca unreachable ({answer.error})")
        if answer.kind == "ambiguous":
            raise BrokerTimeout(f"{what}: no usable answer from Alpaca ({answer.error})")
        raise BrokerError(f"{what}: {answer.error}")

    async def get(self, path: str, params: dict[str, Any] | None = None, *, base: str | None = None) -> Any:
        answer = await self.request("GET", path, params=params, base=base)
        if answer.kind == "missing":
            return None
        if answer.kind != "ok":
            self.raise_for(answer, f"GET {path}")
        return answer.data


def pooled(connections: int) -> httpx.AsyncHTTPTransport:
    """httpx's transport with a keep-alive pool of ``connections`` sockets."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncHTTPTransport(limits=limits, retries=0)


def _error_body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {"message": response.text[:200]}
    return body if isinstance(body, dict) else {"message": str(body)[:200]}
