"""Lime's authentication and REST calls.

Auth is OAuth's password grant on Lime's own auth server: ``POST {auth_url}/connect/token`` with the form
``grant_type=password, client_id, client_secret, username, password`` answers ``{scope, token_type: "Bearer",
access_token, expires_in}``. There is no refresh token: the adapter asks again when the token is within two
minutes of its end (as Lime's SDK does) and when an answer is 401. Secrets are ``SecretStr`` and travel in
the form body only.

Errors are ``{"code": "not_found" | "validation_error" | "api_error", "message"}`` on non-2xx answers.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, NamedTuple

import httpx
from pydantic import SecretStr

from ntlab.brokers.lime import mapping
from ntlab.brokers.numbers import number_json
from ntlab.errors import AuthenticationError, BrokerError, BrokerTimeout, BrokerUnavailable, RateLimited

RENEW_BEFORE = 120.0  # seconds before expiry a token is renewed (Lime's SDK uses the same two minutes)


@dataclass(frozen=True, slots=True)
class Credentials:
    username: str
    password: SecretStr
    client_id: str
    client_secret: SecretStr

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, client_id={self.client_id!r}, password='***', client_secret='***')"


@dataclass(slots=True)
class Token:
    value: SecretStr
    expires_at: float  # time.monotonic()

    def __repr__(self) -> str:
        return "Token('***')"


class LimeAuth:
    def __init__(self, credentials: Credentials, auth_url: str, client: httpx.AsyncClient) -> None:
        self.credentials = credentials
        self.auth_url = auth_url.rstrip("/")
        self._client = client
        self._lock = asyncio.Lock()
        self._token: Token | None = None
        self.issued = 0

    async def token(self) -> Token:
        current = self._token
        if current is not None and time.monotonic() < current.expires_at - RENEW_BEFORE:
            return current
        return await self.renew(current)

    async def renew(self, stale: Token | None) -> Token:
        async with self._lock:
            if (
                self._token is not None
                and self._token is not stale
                and time.monotonic() < self._token.expires_at
            ):
                return self._token
            c = self.credentials
            form = {
                "grant_type": "password",
                "client_id": c.client_id,
                "client_secret": c.client_secret.get_secret_value(),
                "username": c.username,
                "password": c.password.get_secret_value(),
            }
            try:
                response = await self._client.post(f"{self.auth_url}/connect/token", data=form)
            except httpx.TransportError as error:
                raise BrokerUnavailable(
                    f"Lime's auth server {self.auth_url} is unreachable ({type(error).__name__})"
                ) from None
            if response.status_code != 200:
                raise AuthenticationError(
                    f"Lime's auth server refused the credentials (HTTP {response.status_code}); check "
                    "LIME_USERNAME, LIME_PASSWORD, LIME_CLIENT_ID and LIME_CLIENT_SECRET"
                )
            data = mapping.parse_json(response.content)
            lifetime = float(data.get("expires_in", 3600))
            self._token = Token(SecretStr(str(data["access_token"])), time.monotonic() + lifetime)
            self.issued += 1
            return self._token


class Answer(NamedTuple):
    kind: str  # ok, refused, missing, server, rate, auth
    status: int
    data: Any = None
    code: str | None = None
    message: str = ""
    retry_after: float | None = None

    @property
    def error(self) -> str:
        return f"{self.message} ({self.code})" if self.code else self.message


def classify(status: int, data: Any, retry_after: float | None = None) -> Answer:
    if 200 <= status < 300:
        return Answer("ok", status, data)
    body = data if isinstance(data, dict) else {}
    code = body.get("code")
    message = str(body.get("message") or f"HTTP {status}")
    if status == 401:
        return Answer("auth", status, data, code, message)
    if status == 429:
        return Answer("rate", status, data, code, message, retry_after)
    if status >= 500:
        return Answer("server", status, data, code, message)
    kind = mapping.ERROR_KIND.get(str(code), "missing" if status == 404 else "refused")
    return Answer(kind, status, data, code, message)


class LimeRest:
    def __init__(
        self,
        base_url: str,
        auth_url: str,
        credentials: Credentials,
        *,
        timeout: float,
        transport: httpx.AsyncBaseTransport | None,
        retry_initial: float,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.AsyncClient(timeout=timeout, transport=transport)
        self.auth = LimeAuth(credentials, auth_url, self._client)
        self.retry_initial = retry_initial
        self.stats: dict[str, int] = {"requests": 0, "renewals": 0}

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _send(self, method: str, path: str, token: Token, **kwargs: Any) -> Answer:
        headers = {"Authorization": f"Bearer {token.value.get_secret_value()}", **kwargs.pop("headers", {})}
        self.stats["requests"] += 1
        response = await self._client.request(method, self.base_url + path, headers=headers, **kwargs)
        data = mapping.parse_json(response.content) if response.content else None
        retry = response.headers.get("Retry-After")
        return classify(response.status_code, data, float(retry) if retry else None)

    async def call(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None
    ) -> Answer:
        kwargs: dict[str, Any] = {}
        if params:
            kwargs["params"] = params
        if body is not None:
            kwargs["content"] = dumps(body)
            kwargs["headers"] = {"Content-Type": "application/json"}
        token = await self.auth.token()
        answer = await self._send(method, path, token, **dict(kwargs))
        if answer.kind == "auth":  # the call never ran: a new token, and the same call once more
            self.stats["renewals"] += 1
            token = await self.auth.renew(token)
            answer = await self._send(method, path, token, **dict(kwargs))
            if answer.kind == "auth":
                raise AuthenticationError(f"Lime refused a freshly issued token ({answer.error})")
        return answer

    async def attempt(self, method: str, path: str, *, body: Any = None) -> Answer:
        try:
            return await self.call(method, path, body=body)
        except httpx.ConnectError as error:
            raise BrokerUnavailable(f"Lime is unreachable ({type(error).__name__})") from None
        except (httpx.TimeoutException, httpx.RemoteProtocolError, httpx.ReadError) as error:
            raise BrokerTimeout(f"{method} {path}: no answer from Lime ({type(error).__name__})") from None

    async def get(self, path: str, params: dict[str, Any] | None = None, *, attempts: int = 3) -> Any:
        """A read, retried on server errors, 429 and transport failures; None on not_found."""
        delay = self.retry_initial
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                answer = await self.call("GET", path, params=params)
            except httpx.TransportError as error:
                if last:
                    raise BrokerUnavailable(
                        f"GET {path}: Lime did not answer ({type(error).__name__})"
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
                f"{what}: Lime refused for rate ({answer.error})", retry_after=answer.retry_after
            )
        if answer.kind == "server":
            raise BrokerTimeout(f"{what}: Lime answered {answer.status} ({answer.error})")
        raise BrokerError(f"{what}: Lime refused: {answer.error}")


def dumps(body: Any) -> bytes:
    """A request body: Lime takes numbers, not strings."""
    return number_json(body).encode()
