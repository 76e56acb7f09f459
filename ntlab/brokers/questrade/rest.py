"""Questrade's REST calls: the bearer token on the per-token ``api_server``, its error bodies (including the
ones that come with HTTP 200), and its rate limits as the headers report them.

Questrade limits account calls to 30 a second and 30,000 an hour, market-data calls to 20 a second and
15,000 an hour, and says how much is left on every limited answer (``X-RateLimit-Remaining``, and
``X-RateLimit-Reset`` as a Unix time). The budget below keeps what the last answer of each category said and
waits for the reset instead of sending a call it knows will be refused; a 429 carries the same headers.

Each call is sent once. Reads may be retried (``get``); trade calls never are here: the adapter says what
an unclear outcome means and the manager decides.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import httpx

from ntlab.brokers.numbers import number_json
from ntlab.brokers.questrade import mapping
from ntlab.brokers.questrade.auth import AccessToken, QuestradeAuth
from ntlab.errors import AuthenticationError, BrokerError, BrokerTimeout, BrokerUnavailable, RateLimited

log = logging.getLogger(__name__)

#: The rate-limit category of each path (after ``v1/``): market data, or account calls (everything else).
MARKET_DATA_PREFIXES = ("markets", "symbols")
LIMITS = {"account": (30, 30_000), "market": (20, 15_000)}  # per second, per hour
MAX_WAIT = 5.0  # longest a read waits for a reset before it gives up with RateLimited


def category(path: str) -> str:
    return "market" if path.startswith(MARKET_DATA_PREFIXES) else "account"


@dataclass(slots=True)
class Budget:
    """What Questrade last said about one category's limit."""

    remaining: int | None = None
    reset: float | None = None  # Unix time

    def wait(self, now: float) -> float:
        """Seconds to wait before the next call (0 when some budget is left or the window has reset)."""
        if self.remaining is None or self.remaining > 0 or self.reset is None:
            return 0.0
        return max(0.0, self.reset - now)


@dataclass(slots=True)
class RateBudget:
    budgets: dict[str, Budget] = field(default_factory=lambda: {k: Budget() for k in LIMITS})

    def learn(self, path: str, headers: httpx.Headers) -> None:
        remaining, reset = headers.get("X-RateLimit-Remaining"), headers.get("X-RateLimit-Reset")
        if remaining is None:
            return
        budget = self.budgets[category(path)]
        budget.remaining = int(remaining)
        budget.reset = float(reset) if reset is not None else None

    def wait(self, path: str) -> float:
        return self.budgets[category(path)].wait(time.time())


class Answer(NamedTuple):
    """One call's outcome, classified. ``kind``: ok, refused, missing, forbidden, rate, auth, server."""

    kind: str
    status: int
    data: Any = None
    code: int | None = None
    message: str = ""
    retry_after: float | None = None

    @property
    def error(self) -> str:
        return f"{self.message} (Questrade code {self.code})" if self.code is not None else self.message


def classify(status: int, data: Any, retry_after: float | None) -> Answer:
    """What an answer means. A body with a ``code`` is an error even with HTTP 200 (an order error that
    created an order: it comes with ``orderId`` and ``orders``; the caller reads them)."""
    body = data if isinstance(data, dict) else {}
    raw = body.get("code")
    code = int(raw) if raw is not None and str(raw).lstrip("-").isdigit() else None
    message = str(body.get("message") or "")
    if status >= 500:
        return Answer("server", status, data, code, message or f"HTTP {status}")
    if status < 300 and code is None:
        return Answer("ok", status, data)
    kind = mapping.ERROR_KIND.get(code) if code is not None else None
    if kind is None:
        kind = "refused" if status < 300 else mapping.HTTP_KIND.get(status, "refused")
    return Answer(kind, status, data, code, message or f"HTTP {status}", retry_after)


class QuestradeRest:
    """One keep-alive client for the API server a token names (it changes when a new token says so)."""

    def __init__(
        self,
        auth: QuestradeAuth,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        retry_initial: float = 0.1,
    ) -> None:
        self.auth = auth
        self.budget = RateBudget()
        self.retry_initial = retry_initial
        self.stats: dict[str, int] = {"requests": 0, "waits": 0, "renewals": 0}
        self._client = httpx.AsyncClient(timeout=timeout, transport=transport)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _send(self, method: str, path: str, token: AccessToken, **kwargs: Any) -> Answer:
        url = token.api_server + "v1/" + path
        headers = {"Authorization": f"Bearer {token.token.get_secret_value()}", **kwargs.pop("headers", {})}
        self.stats["requests"] += 1
        response = await self._client.request(method, url, headers=headers, **kwargs)
        self.budget.learn(path, response.headers)
        data = mapping.parse_json(response.content) if response.content else None
        retry_after = None
        if response.status_code == 429:
            reset = response.headers.get("X-RateLimit-Reset")
            retry_after = max(0.0, float(reset) - time.time()) if reset else 1.0
        return classify(response.status_code, data, retry_after)

    async def call(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None
    ) -> Answer:
        """Send once. A dead access token (the call provably did not run) is renewed and the call sent
        with the new one: still one call that reached the API."""
        wait = self.budget.wait(path)
        if wait > 0:
            if method != "GET" or wait > MAX_WAIT:
                raise RateLimited(
                    f"Questrade's rate limit for {path} resets in {wait:.1f}s", retry_after=wait
                )
            self.stats["waits"] += 1
            await asyncio.sleep(wait)
        kwargs: dict[str, Any] = {}
        if params:
            kwargs["params"] = params
        if body is not None:
            kwargs["content"] = _dumps(body)
            kwargs["headers"] = {"Content-Type": "application/json"}
        token = await self.auth.access()
        answer = await self._send(method, path, token, **dict(kwargs))
        if answer.kind == "auth":
            self.stats["renewals"] += 1
            token = await self.auth.renew(token)
            answer = await self._send(method, path, token, **dict(kwargs))
            if answer.kind == "auth":
                raise AuthenticationError(
                    f"Questrade refused a freshly issued access token ({answer.error}); check the app's "
                    "permissions in Questrade's API Centre"
                )
        return answer

    async def attempt(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None
    ) -> Answer:
        """``call`` with transport failures said as ntlab errors: refused connections never arrived; a
        timeout or a reset after sending may have."""
        try:
            return await self.call(method, path, params=params, body=body)
        except httpx.ConnectError as error:
            raise BrokerUnavailable(f"Questrade is unreachable ({type(error).__name__})") from None
        except (httpx.TimeoutException, httpx.RemoteProtocolError, httpx.ReadError) as error:
            raise BrokerTimeout(
                f"{method} {path}: no answer from Questrade ({type(error).__name__})"
            ) from None

    async def get(self, path: str, params: dict[str, Any] | None = None, *, attempts: int = 3) -> Any:
        """A read, retried on server errors, rate limits and transport failures. None on 404/1020."""
        delay = self.retry_initial
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                answer = await self.call("GET", path, params=params)
            except (httpx.TransportError, RateLimited) as error:
                if last:
                    if isinstance(error, RateLimited):
                        raise
                    raise BrokerUnavailable(
                        f"GET {path}: Questrade did not answer ({type(error).__name__})"
                    ) from None
                await asyncio.sleep(delay)
                delay *= 2
                continue
            if answer.kind == "ok":
                return answer.data
            if answer.kind == "missing":
                return None
            if answer.kind in ("server", "rate") and not last:
                await asyncio.sleep(max(delay, answer.retry_after or 0.0))
                delay *= 2
                continue
            self.raise_for(answer, f"GET {path}")
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def raise_for(answer: Answer, what: str) -> None:
        if answer.kind == "rate":
            raise RateLimited(
                f"{what}: Questrade's rate limit ({answer.error})", retry_after=answer.retry_after
            )
        if answer.kind == "server":
            raise BrokerUnavailable(f"{what}: Questrade server error {answer.status}")
        raise BrokerError(f"{what}: Questrade refused: {answer.error}")


def _dumps(body: Any) -> bytes:
    """A request body: Questrade takes numbers, not strings."""
    return number_json(body).encode()
