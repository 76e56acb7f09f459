"""One HTTP client for every provider: the key's token bucket, waits on rate-limit answers, redacted errors.

Each provider says what an answer means through ``check(answer)``: ``None`` to accept it, a number of seconds
to wait and send the same request again (a 429, Alpha Vantage's HTTP-200 "slow down" note, a 5xx), or a raised
:class:`~ntlab.errors.ProviderError` for an answer that waiting cannot fix. A wait pauses the key's bucket, so
every call with that key holds back, and the request is sent again as it was: the same page, the same cursor,
so a download that meets a rate limit halfway resumes where it stopped with nothing fetched twice or skipped.

Keys never leave in a message: error texts, URLs and the ``httpx`` logger's request lines have every secret
the client knows replaced by ``***`` (Alpha Vantage takes its key in the query string, and echoes it in its
rate-limit notes).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import orjson

from ntlab.errors import ConfigError, ProviderError, ProviderRateLimited
from ntlab.market.ratelimit import TokenBucket

log = logging.getLogger(__name__)

_SECRETS: set[str] = set()


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every known secret (and any given) replaced by ``***``."""
    for value in sorted({*_SECRETS, *secrets}, key=len, reverse=True):
        if value:
            text = text.replace(value, "***")
    return text


class _RedactSecrets(logging.Filter):
    """Rewrites log records that would show a key (httpx logs every request's full URL at INFO)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _SECRETS:
            message = record.getMessage()
            cleaned = redact(message)
            if cleaned != message:
                record.msg, record.args = cleaned, None
        return True


_FILTER = _RedactSecrets()


def register_secret(value: str) -> None:
    """Remember a key so that no log line, error or URL this package shows can contain it."""
    if value:
        _SECRETS.add(value)
        for name in ("httpx", "httpcore", "ntlab"):
            logger = logging.getLogger(name)
            if _FILTER not in logger.filters:
                logger.addFilter(_FILTER)


@dataclass(slots=True)
class Answer:
    """One HTTP response as the providers read it."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str  # redacted

    def json(self) -> Any:
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError:
            return None

    def text(self, limit: int = 300) -> str:
        return redact(self.body[:limit].decode("utf-8", "replace"))


@dataclass(slots=True)
class Stats:
    requests: int = 0
    retries: int = 0
    waited: float = 0.0
    paths: list[str] = field(default_factory=list)


def retry_after(headers: Mapping[str, str], default: float) -> float:
    """Seconds a 429 asks for: ``Retry-After`` when sent, else ``default``."""
    value = headers.get("retry-after")
    if value is not None:
        try:
            return max(float(value), 0.0)
        except ValueError:
            pass
    return default


Check = Callable[[Answer], float | None]


class HttpClient:
    """``async with HttpClient(...) as http: answer = await http.get(path, params)``."""

    def __init__(
        self,
        provider: str,
        base_url: str,
        *,
        check: Check,
        bucket: TokenBucket,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        secrets: Iterable[str] = (),
        timeout: float = 30.0,
        retries: int = 8,
        backoff: float = 1.0,
        stats: Stats | None = None,
        transport: Any = None,
    ) -> None:
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self.check = check
        self.bucket = bucket
        self._headers = dict(headers or {})
        self._params = dict(params or {})
        self._secrets = [s for s in secrets if s]
        for value in self._secrets:
            register_secret(value)
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.stats = stats if stats is not None else Stats()
        self._transport = transport
        self._client: Any = None

    async def __aenter__(self) -> HttpClient:
        try:
            import httpx
        except ImportError as error:
            raise ConfigError(
                f'{self.provider} data needs httpx: pip install "ntlab[{self.provider}]"'
            ) from error
        self._client = httpx.AsyncClient(
            headers=self._headers, timeout=self.timeout, transport=self._transport, follow_redirects=True
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def url(self, path: str) -> str:
        """An absolute URL: ``path`` on this client's base, or a ``next_url``'s path and query moved onto it."""
        if path.startswith(("http://", "https://")):
            parts = urlsplit(path)
            path = parts.path + (f"?{parts.query}" if parts.query else "")
        return f"{self.base_url}{path}"

    async def get(self, path: str, params: Mapping[str, Any] | None = None) -> Answer:
        """GET ``path`` and return the first answer ``check`` accepts, waiting out rate limits on the way."""
        import httpx

        url = self.url(path)
        query = {**self._params, **{k: v for k, v in (params or {}).items() if v is not None}}
        for attempt in range(self.retries + 1):
            await self.bucket.acquire()
            try:
                # an empty params= would wipe the query of a next_url
                response = await self._client.get(url, params=query or None)
            except httpx.TransportError as error:
                if attempt == self.retries:
                    host = urlsplit(url).netloc
                    raise ProviderError(
                        f"{self.provider}: no answer from {host} after {attempt + 1} tries "
                        f"({type(error).__name__}); check the network or the base URL"
                    ) from None
                await self._wait(self.backoff * 2**attempt, pause=False)
                continue
            self.stats.requests += 1
            self.stats.paths.append(urlsplit(url).path)
            answer = Answer(
                response.status_code,
                response.headers,
                response.content,
                redact(str(response.url), self._secrets),
            )
            wait = self.check(answer)
            if wait is None:
                return answer
            if attempt == self.retries:
                if answer.status >= 500:
                    raise ProviderError(
                        f"{self.provider} keeps failing (HTTP {answer.status} after {attempt + 1} tries: "
                        f"{answer.text(160)}); try again later"
                    )
                raise ProviderRateLimited(
                    f"{self.provider} still refuses after {attempt + 1} tries (HTTP {answer.status}: "
                    f"{answer.text(160)}); wait a while, or lower requests_per_minute",
                    retry_after=wait,
                )
            log.info("%s asked to wait %.1f s (HTTP %s); resuming after", self.provider, wait, answer.status)
            self.stats.retries += 1
            await self._wait(wait, pause=True)
        raise AssertionError("unreachable")  # the loop returns or raises

    async def _wait(self, seconds: float, *, pause: bool) -> None:
        self.stats.waited += seconds
        if pause:
            self.bucket.pause(seconds)  # every caller of this key holds back, not only this one
        else:
            await asyncio.sleep(seconds)
