"""OddsClient: The Odds API v4 (sports, odds, events, event odds, scores) as tidy DataFrames.

**Usage credits.** Every answer carries ``x-requests-remaining``, ``x-requests-used`` and
``x-requests-last`` (the call's cost); the client keeps the latest in :attr:`OddsClient.usage`. An odds
call costs markets × regions (``bookmakers=`` counts as one region per 10 bookmakers), scores 1 (2 with
``days_from``), sports and events nothing. Before a call that costs credits the client compares its most
possible cost with what remains (asking the free ``/v4/sports`` first when it does not know yet) and refuses
with :class:`OddsQuotaError` rather than spend the last credits on a call that would fail; the API's own
``OUT_OF_USAGE_CREDITS`` is never retried.

**The key** goes in the ``apiKey`` query parameter (the API takes no other way), so it is part of each
request URL: ntlab never shows a URL unmasked, and masks ``apiKey=`` in httpx's log lines (see
:func:`ntlab.webapi.protect_logs`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, Literal, NamedTuple

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ntlab.errors import ConfigError
from ntlab.odds.errors import OddsApiError, OddsQuotaError, OddsRequestError, OddsUnavailable, odds_error
from ntlab.odds.frames import events_frame, odds_frame, scores_frame, sports_frame
from ntlab.webapi import RetryPolicy, protect_logs, run_sync

ODDS_API_URL = "https://api.the-odds-api.com"
REGIONS = ("us", "us2", "uk", "eu", "au")
FEATURED_MARKETS = ("h2h", "spreads", "totals")


class OddsSettings(BaseSettings):
    """``ODDS_API_KEY`` (and ``ODDS_API_URL`` to point at another host, e.g. the local fake)."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    odds_api_key: SecretStr | None = None
    odds_api_url: str = ODDS_API_URL


class Usage(NamedTuple):
    """The usage headers of the latest answer (None until one arrived)."""

    remaining: int | None = None
    used: int | None = None
    last: int | None = None

    def __str__(self) -> str:
        if self.remaining is None:
            return "usage unknown (no answer yet)"
        return f"{self.remaining} credits remaining, {self.used} used (last call cost {self.last})"


def _listed(value: str | Iterable[str] | None) -> list[str]:
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    return [i.strip() for i in items if i and i.strip()]


def estimate_cost(
    markets: str | Iterable[str],
    regions: str | Iterable[str] | None = None,
    bookmakers: str | Iterable[str] | None = None,
) -> int:
    """The most an odds call can cost: markets × regions, with ``bookmakers`` as one region per 10."""
    books = _listed(bookmakers)
    region_count = math.ceil(len(books) / 10) if books else len(_listed(regions))
    return len(_listed(markets) or ["h2h"]) * max(region_count, 1)


class OddsQuery(BaseModel):
    """An odds request as The Odds API spells it, checked before a credit is spent."""

    model_config = ConfigDict(extra="forbid")

    regions: list[str] = Field(default_factory=list)
    markets: list[str] = Field(default_factory=lambda: ["h2h"])
    odds_format: Literal["decimal", "american"] = "decimal"
    bookmakers: list[str] = Field(default_factory=list)
    event_ids: list[str] = Field(default_factory=list)

    @field_validator("regions")
    @classmethod
    def _regions(cls, value: list[str]) -> list[str]:
        unknown = [r for r in value if r not in REGIONS]
        if unknown:
            raise ValueError(f"unknown regions {unknown}; use {', '.join(REGIONS)}")
        return value

    def params(self) -> dict[str, str]:
        if not self.regions and not self.bookmakers:
            raise ValueError("give regions= (e.g. 'us' or 'uk,eu') or bookmakers=")
        params = {"markets": ",".join(self.markets), "oddsFormat": self.odds_format, "dateFormat": "iso"}
        if self.bookmakers:
            params["bookmakers"] = ",".join(self.bookmakers)
        else:
            params["regions"] = ",".join(self.regions)
        if self.event_ids:
            params["eventIds"] = ",".join(self.event_ids)
        return params

    @property
    def cost(self) -> int:
        return estimate_cost(self.markets, self.regions, self.bookmakers)


def _query(**fields: Any) -> tuple[OddsQuery, dict[str, str]]:
    try:
        query = OddsQuery(**{k: _listed(v) if k != "odds_format" else v for k, v in fields.items()})
        return query, query.params()
    except (ValidationError, ValueError) as error:
        text = (
            "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
            if isinstance(error, ValidationError)
            else str(error)
        )
        raise OddsRequestError(
            f"bad odds request ({text}). What to do: fix it and call again", code="INVALID_REQUEST"
        ) from None


class OddsClient:
    """The Odds API v4 as DataFrames.

    - ``api_key``: a ``SecretStr`` or text; default ``ODDS_API_KEY`` from the environment.
    - ``base_url``: default ``ODDS_API_URL`` or https://api.the-odds-api.com (or ``FakeOddsAPI().base_url``).
    - ``check_quota``: refuse calls that could cost more credits than remain (default True).
    - ``retry``: retries EXCEEDED_FREQ_LIMIT, 5xx and unreachable hosts; nothing else.
    """

    def __init__(
        self,
        api_key: SecretStr | str | None = None,
        *,
        base_url: str | None = None,
        timeout: float = 15.0,
        retry: RetryPolicy | None = None,
        check_quota: bool = True,
    ) -> None:
        settings = OddsSettings() if api_key is None or base_url is None else None
        key = api_key if api_key is not None else (settings.odds_api_key if settings else None)
        if isinstance(key, str):
            key = SecretStr(key)
        if key is None or not key.get_secret_value():
            raise ConfigError("no Odds API key: set ODDS_API_KEY (see the-odds-api.com) or pass api_key=")
        self._key = key
        self.base_url = (base_url or (settings.odds_api_url if settings else ODDS_API_URL)).rstrip("/")
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.check_quota = check_quota
        self.usage = Usage()
        self.requests = 0
        protect_logs()

    def __repr__(self) -> str:
        return f"OddsClient({self.base_url!r}, key=set, {self.usage})"

    # --- the wire ----------------------------------------------------------------------------------------
    def _http(self) -> Any:
        import httpx

        return httpx.AsyncClient(
            base_url=self.base_url, timeout=self.timeout, headers={"User-Agent": "ntlab-odds"}
        )

    def _read_usage(self, headers: Any) -> None:
        def number(name: str) -> int | None:
            value = headers.get(name)
            try:
                return int(float(value)) if value is not None else None
            except ValueError:
                return None

        remaining, used, last = (
            number("x-requests-remaining"),
            number("x-requests-used"),
            number("x-requests-last"),
        )
        if remaining is not None or used is not None:
            self.usage = Usage(remaining, used, last)

    async def _send(self, http: Any, path: str, params: dict[str, str]) -> Any:
        import httpx

        self.requests += 1
        try:
            response = await http.get(path, params={**params, "apiKey": self._key.get_secret_value()})
        except httpx.TransportError as error:
            raise OddsUnavailable(
                f"could not reach The Odds API at {self.base_url} ({type(error).__name__}). What to do: check "
                "the network, or ODDS_API_URL if you set it",
                code="unreachable",
                retryable=True,
            ) from None
        self._read_usage(response.headers)
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code == 200:
            return body
        if isinstance(body, dict) and body.get("error_code"):
            raise odds_error(str(body["error_code"]), str(body.get("message") or ""), response.status_code)
        raise odds_error(
            f"HTTP_{response.status_code}",
            f"HTTP {response.status_code} without an error body",
            response.status_code,
        )

    async def _call(
        self, path: str, params: dict[str, str] | None = None, *, cost: int = 0, what: str = ""
    ) -> Any:
        params = params or {}
        async with self._http() as http:
            if cost and self.check_quota:
                if self.usage.remaining is None:
                    await self.retry.run(lambda: self._send(http, "/v4/sports", {}))  # free: learns the usage
                remaining = self.usage.remaining
                if remaining is not None and cost > remaining:
                    raise OddsQuotaError(
                        f"{what} could cost {cost} credits and {remaining} remain ({self.usage}). What to do: ask "
                        "for fewer markets or regions, or wait for the monthly reset",
                        code="QUOTA_WOULD_BE_EXCEEDED",
                    )
            return await self.retry.run(lambda: self._send(http, path, params))

    # --- endpoints ---------------------------------------------------------------------------------------
    async def asports(self, *, all: bool = False) -> pd.DataFrame:
        """``/v4/sports``: sports in season (``all=True``: every sport). Costs nothing."""
        return sports_frame(await self._call("/v4/sports", {"all": "true"} if all else {}))

    def sports(self, *, all: bool = False) -> pd.DataFrame:
        return run_sync(self.asports(all=all))

    async def aevents(self, sport: str, *, event_ids: str | Iterable[str] | None = None) -> pd.DataFrame:
        """``/v4/sports/{sport}/events``: upcoming and live events, without odds. Costs nothing."""
        params = {"dateFormat": "iso"}
        if event_ids:
            params["eventIds"] = ",".join(_listed(event_ids))
        return events_frame(await self._call(f"/v4/sports/{sport}/events", params))

    def events(self, sport: str, **options: Any) -> pd.DataFrame:
        return run_sync(self.aevents(sport, **options))

    async def aodds(
        self,
        sport: str,
        *,
        regions: str | Iterable[str] | None = "us",
        markets: str | Iterable[str] = "h2h",
        odds_format: str = "decimal",
        bookmakers: str | Iterable[str] | None = None,
        event_ids: str | Iterable[str] | None = None,
    ) -> pd.DataFrame:
        """``/v4/sports/{sport}/odds``: one row per (event, bookmaker, market, outcome). ``sport="upcoming"``
        covers every sport's next events. Costs markets × regions (nothing when no event comes back)."""
        query, params = _query(
            regions=regions,
            markets=markets,
            odds_format=odds_format,
            bookmakers=bookmakers,
            event_ids=event_ids,
        )
        unsupported = [m for m in query.markets if m not in (*FEATURED_MARKETS, "outrights")]
        if unsupported:
            raise OddsRequestError(
                f"the odds endpoint serves featured markets only, not {unsupported}. What to do: use "
                "event_odds(sport, event_id, markets=...) for those",
                code="INVALID_MARKET",
            )
        body = await self._call(f"/v4/sports/{sport}/odds", params, cost=query.cost, what=f"odds for {sport}")
        return odds_frame(body or [], query.odds_format)

    def odds(self, sport: str, **options: Any) -> pd.DataFrame:
        return run_sync(self.aodds(sport, **options))

    async def aevent_odds(
        self,
        sport: str,
        event_id: str,
        *,
        regions: str | Iterable[str] | None = "us",
        markets: str | Iterable[str] = "h2h",
        odds_format: str = "decimal",
        bookmakers: str | Iterable[str] | None = None,
    ) -> pd.DataFrame:
        """``/v4/sports/{sport}/events/{id}/odds``: one event, any market (props, periods, alternates).
        Costs the markets that come back × regions."""
        query, params = _query(
            regions=regions, markets=markets, odds_format=odds_format, bookmakers=bookmakers
        )
        body = await self._call(
            f"/v4/sports/{sport}/events/{event_id}/odds",
            params,
            cost=query.cost,
            what=f"odds for event {event_id}",
        )
        return odds_frame([body] if isinstance(body, dict) else [], query.odds_format)

    def event_odds(self, sport: str, event_id: str, **options: Any) -> pd.DataFrame:
        return run_sync(self.aevent_odds(sport, event_id, **options))

    async def ascores(
        self, sport: str, *, days_from: int | None = None, event_ids: str | Iterable[str] | None = None
    ) -> pd.DataFrame:
        """``/v4/sports/{sport}/scores``: live and (with ``days_from`` 1–3) recently completed events with
        their scores. Costs 1, or 2 with ``days_from``."""
        params = {"dateFormat": "iso"}
        if days_from is not None:
            if not isinstance(days_from, int) or not 1 <= days_from <= 3:
                raise OddsRequestError(
                    f"days_from={days_from!r}: use 1, 2 or 3", code="INVALID_SCORES_DAYS_FROM"
                )
            params["daysFrom"] = str(days_from)
        if event_ids:
            params["eventIds"] = ",".join(_listed(event_ids))
        body = await self._call(
            f"/v4/sports/{sport}/scores", params, cost=2 if days_from else 1, what=f"scores for {sport}"
        )
        return scores_frame(body or [])

    def scores(self, sport: str, **options: Any) -> pd.DataFrame:
        return run_sync(self.ascores(sport, **options))

    async def arefresh_usage(self) -> Usage:
        """Ask the free ``/v4/sports`` for the usage headers."""
        await self._call("/v4/sports")
        return self.usage

    def refresh_usage(self) -> Usage:
        return run_sync(self.arefresh_usage())


__all__ = ["ODDS_API_URL", "OddsApiError", "OddsClient", "OddsSettings", "Usage", "estimate_cost"]
