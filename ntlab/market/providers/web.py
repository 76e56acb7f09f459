"""What the HTTP providers share: their connection settings and the client one call uses."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ntlab.market.providers.base import DataProvider
from ntlab.market.providers.http import Check, HttpClient
from ntlab.market.ratelimit import bucket_for


class HttpProvider(DataProvider):
    """A provider over HTTP: ``requests_per_minute`` (the key's budget), ``retries``, ``timeout``, ``transport``."""

    def __init__(
        self,
        *,
        requests_per_minute: float | None,
        retries: int,
        timeout: float,
        transport: Any = None,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.requests_per_minute = requests_per_minute
        self.retries = retries
        self.timeout = timeout
        self._transport = transport

    def _client(
        self,
        base_url: str,
        key: str,
        *,
        check: Check,
        backoff: float,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        secrets: Iterable[str] = (),
        burst: int | None = None,
    ) -> HttpClient:
        """The client for one call, drawing on ``key``'s token bucket."""
        return HttpClient(
            self.name,
            base_url,
            check=check,
            bucket=bucket_for(self.name, key, self.requests_per_minute, burst=burst),
            headers=headers,
            params=params,
            secrets=secrets,
            timeout=self.timeout,
            retries=self.retries,
            backoff=backoff,
            stats=self.stats,
            transport=self._transport,
        )
