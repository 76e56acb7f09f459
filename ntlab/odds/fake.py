"""A faithful local fake of The Odds API v4, served on 127.0.0.1.

Same paths (``/v4/sports``, ``/v4/sports/{sport}/odds``, ``.../events``, ``.../events/{id}/odds``,
``.../scores``), parameters, JSON fields, error bodies (``{"message", "error_code", "details_url"}``) and
statuses (401 for keys and spent credits, 404 unknown sport or event, 422 bad parameters, 429 too many calls
a second), and the usage headers on every answer past the key check: ``x-requests-remaining``,
``x-requests-used`` and ``x-requests-last`` as integer strings, charged as the API charges (markets ×
regions, 10 bookmakers a region, event odds by the markets returned, scores 1 or 2 with ``daysFrom``,
nothing for sports, events or an empty answer). When the credits run out it answers
``OUT_OF_USAGE_CREDITS``. The world (sports, events, bookmakers, prices moving with the fake's clock) is
:mod:`ntlab.odds.fake_book`; ``fake.advance(minutes)`` moves the clock, ``fake.fail_next(n, code)`` injects
errors.

Run it: ``python -m ntlab.odds.fake --port 8767`` (demo key ``FAKEODDSKEY``, 500 credits).
"""

from __future__ import annotations

import math
import time
from collections import deque
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from ntlab.odds.fake_book import BOOK, BOOKMAKERS, SPORTS, SPORTS_BY_KEY, START, Event, World
from ntlab.webapi import LoopbackServer, serve_cli

FAKE_ODDS_KEY = "FAKEODDSKEY"  # not a secret: the fake's published demo key
DETAILS = "https://the-odds-api.com/liveapi/guides/v4/api-error-codes.html#"
STATUS = {
    "MISSING_KEY": 401, "INVALID_KEY": 401, "DEACTIVATED_KEY": 401, "OUT_OF_USAGE_CREDITS": 401,
    "EXCEEDED_FREQ_LIMIT": 429, "UNKNOWN_SPORT": 404, "EVENT_NOT_FOUND": 404, "INTERNAL_ERROR": 500,
}  # fmt: skip
MESSAGES = {
    "MISSING_KEY": "API key is missing",
    "INVALID_KEY": "API key is not valid. Get an API key at https://the-odds-api.com",
    "DEACTIVATED_KEY": "API key has been deactivated",
    "OUT_OF_USAGE_CREDITS": "Usage quota has been reached. See usage plans at https://the-odds-api.com",
    "EXCEEDED_FREQ_LIMIT": "Requests are being sent too frequently. Reduce the request frequency.",
    "INTERNAL_ERROR": "Internal server error",
}
FEATURED = ("h2h", "spreads", "totals")


class OddsApiFailure(Exception):
    def __init__(self, code: str, message: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.message = message or MESSAGES.get(code, code)


class FakeOddsAPI(LoopbackServer):
    """The fake server: ``async with FakeOddsAPI(quota=500) as fake:``, a client at ``fake.base_url``.

    ``quota`` is the month's usage credits; ``requests_per_second`` the frequency limit (None: none).
    ``now`` starts at the world's start (2026-03-02 12:00 UTC) and moves only with :meth:`advance`.
    """

    def __init__(
        self,
        *,
        api_key: str = FAKE_ODDS_KEY,
        quota: int = 500,
        seed: int = 7,
        boosts: dict[Any, float] | None = None,
        requests_per_second: int | None = 30,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        self.api_key = api_key
        self.quota = quota
        self.used = 0
        self.world = World(seed, boosts=boosts)
        self.now: datetime = START
        self.requests_per_second = requests_per_second
        self.deactivated = False
        self.log: list[tuple[str, dict[str, str], int]] = []  # (path, params without the key, cost)
        self._faults: deque[str] = deque()
        self._recent: deque[float] = deque()

    # --- control ----------------------------------------------------------------------------------------
    def advance(self, minutes: float = 5) -> datetime:
        self.now += timedelta(minutes=minutes)
        return self.now

    def fail_next(self, n: int = 1, code: str = "EXCEEDED_FREQ_LIMIT") -> None:
        """Answer the next ``n`` requests (past the key check) with this error code."""
        self._faults.extend([code] * n)

    @property
    def remaining(self) -> int:
        return max(0, self.quota - self.used)

    # --- the app ----------------------------------------------------------------------------------------
    def routes(self, app: web.Application) -> None:
        r = app.router
        r.add_get("/v4/sports", self._sports)
        r.add_get("/v4/sports/", self._sports)
        r.add_get("/v4/sports/{sport}/odds", self._odds)
        r.add_get("/v4/sports/{sport}/odds/", self._odds)
        r.add_get("/v4/sports/{sport}/events", self._events)
        r.add_get("/v4/sports/{sport}/events/{event_id}/odds", self._event_odds)
        r.add_get("/v4/sports/{sport}/scores", self._scores)
        r.add_get("/v4/sports/{sport}/scores/", self._scores)

    def middlewares(self) -> list[Any]:
        return [self._guard]

    def _headers(self, last: int) -> dict[str, str]:
        return {
            "x-requests-remaining": str(self.remaining),
            "x-requests-used": str(self.used),
            "x-requests-last": str(last),
        }

    @staticmethod
    def _error(code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
        body = {
            "message": message,
            "error_code": code,
            "details_url": DETAILS + code.lower().replace("_", "-"),
        }
        return web.json_response(body, status=STATUS.get(code, 422), headers=headers)

    @web.middleware
    async def _guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests += 1
        params = {k: v for k, v in request.query.items() if k != "apiKey"}
        key = request.query.get("apiKey")
        if not key:
            return self._error("MISSING_KEY", MESSAGES["MISSING_KEY"])
        if key != self.api_key:
            return self._error("INVALID_KEY", MESSAGES["INVALID_KEY"])
        if self.deactivated:
            return self._error("DEACTIVATED_KEY", MESSAGES["DEACTIVATED_KEY"])
        if self._faults:
            code = self._faults.popleft()
            return self._error(code, MESSAGES.get(code, f"Injected {code}"), self._headers(0))
        if self.requests_per_second is not None:
            clock = time.monotonic()
            while self._recent and clock - self._recent[0] > 1.0:
                self._recent.popleft()
            if len(self._recent) >= self.requests_per_second:
                return self._error("EXCEEDED_FREQ_LIMIT", MESSAGES["EXCEEDED_FREQ_LIMIT"], self._headers(0))
            self._recent.append(clock)
        try:
            body, cost = await handler(request)
        except OddsApiFailure as failure:
            self.log.append((request.path, params, 0))
            return self._error(failure.code, failure.message, self._headers(0))
        if cost > self.remaining:
            self.log.append((request.path, params, 0))
            return self._error("OUT_OF_USAGE_CREDITS", MESSAGES["OUT_OF_USAGE_CREDITS"], self._headers(0))
        self.used += cost
        self.log.append((request.path, params, cost))
        return web.json_response(body, headers=self._headers(cost))

    # --- parameters -------------------------------------------------------------------------------------
    @staticmethod
    def _list(query: Any, name: str) -> list[str]:
        return [v.strip() for v in (query.get(name) or "").split(",") if v.strip()]

    def _sport(self, request: web.Request, *, upcoming: bool = False) -> list[Event]:
        key = request.match_info["sport"]
        if upcoming and key == "upcoming":
            live = [
                e
                for events in self.world.events.values()
                for e in events
                if not e.outright and e.commence + timedelta(hours=e.sport.hours) > self.now
            ]
            return sorted(live, key=lambda e: e.commence)[:8]
        if key not in SPORTS_BY_KEY:
            raise OddsApiFailure("UNKNOWN_SPORT", "Unknown sport")
        return self.world.events[key]

    def _formats(self, query: Any) -> tuple[str, str]:
        odds_format = query.get("oddsFormat", "decimal")
        date_format = query.get("dateFormat", "iso")
        if odds_format not in ("decimal", "american"):
            raise OddsApiFailure(
                "INVALID_ODDS_FORMAT", "Invalid oddsFormat. Valid values are decimal or american"
            )
        if date_format not in ("iso", "unix"):
            raise OddsApiFailure("INVALID_DATE_FORMAT", "Invalid dateFormat. Valid values are iso or unix")
        return odds_format, date_format

    def _books(self, query: Any) -> tuple[list[str], int]:
        """The bookmaker keys asked for and how many regions they count as."""
        chosen = self._list(query, "bookmakers")
        if chosen:
            unknown = [b for b in chosen if b not in BOOK]
            if unknown:
                raise OddsApiFailure("INVALID_BOOKMAKERS", f"Invalid bookmakers: {', '.join(unknown)}")
            return chosen, math.ceil(len(chosen) / 10)
        regions = self._list(query, "regions")
        if not regions:
            raise OddsApiFailure("MISSING_REGION", "Missing regions or bookmakers key")
        unknown = [r for r in regions if r not in BOOKMAKERS]
        if unknown:
            raise OddsApiFailure("INVALID_REGION", f"Invalid regions: {', '.join(unknown)}")
        return [b for r in regions for b, *_ in BOOKMAKERS[r]], len(regions)

    def _event_filter(self, query: Any, events: list[Event]) -> list[Event]:
        ids = self._list(query, "eventIds")
        if not ids:
            return events
        if any(len(i) != 32 for i in ids):
            raise OddsApiFailure("INVALID_EVENT_IDS", "Invalid eventIds. Each event id must be 32 characters")
        return [e for e in events if e.id in ids]

    @staticmethod
    def _price(decimal: float, odds_format: str) -> float | int:
        if odds_format == "decimal":
            return decimal
        return round((decimal - 1) * 100) if decimal >= 2 else round(-100 / (decimal - 1))

    def _bookmakers(
        self, event: Event, books: list[str], markets: list[str], odds_format: str, date_format: str
    ) -> list[dict[str, Any]]:
        out = []
        for key in books:
            priced = self.world.markets(event, key, markets, self.now)
            if not priced:
                continue
            for market in priced:
                for outcome in market["outcomes"]:
                    outcome["price"] = self._price(outcome["price"], odds_format)
                if date_format == "unix":
                    market["last_update"] = int(
                        datetime.fromisoformat(market["last_update"].replace("Z", "+00:00")).timestamp()
                    )
            updated = priced[0]["last_update"]
            out.append({"key": key, "title": BOOK[key][0], "last_update": updated, "markets": priced})
        return out

    # --- endpoints --------------------------------------------------------------------------------------
    async def _sports(self, request: web.Request) -> tuple[Any, int]:
        every = request.query.get("all", "false")
        if every not in ("true", "false"):
            raise OddsApiFailure(
                "INVALID_ALL_SPORTS_PARAM", "Invalid all parameter. Valid values are true or false"
            )
        return [s.listing() for s in SPORTS if every == "true" or s.active], 0

    async def _events(self, request: web.Request) -> tuple[Any, int]:
        _, date_format = self._formats(request.query)
        events = self._event_filter(request.query, self._sport(request))
        live = [e for e in events if e.commence + timedelta(hours=e.sport.hours) > self.now]
        return [e.header(date_format) for e in live], 0

    async def _odds(self, request: web.Request) -> tuple[Any, int]:
        query = request.query
        odds_format, date_format = self._formats(query)
        events = self._event_filter(query, self._sport(request, upcoming=True))
        books, regions = self._books(query)
        markets = self._list(query, "markets") or ["h2h"]
        outright = bool(events) and all(e.outright for e in events)
        allowed = ("outrights",) if outright else FEATURED
        bad = [m for m in markets if m not in (*FEATURED, "outrights")]
        if bad:
            raise OddsApiFailure(
                "INVALID_MARKET", f"Markets not supported by this endpoint: {', '.join(bad)}"
            )
        if any(m not in allowed for m in markets):
            raise OddsApiFailure("INVALID_MARKET_COMBO", "Invalid market combination for this sport")
        body = []
        for event in events:
            if not event.outright and event.commence + timedelta(hours=event.sport.hours) <= self.now:
                continue  # finished: no longer offered
            body.append(
                {
                    **event.header(date_format),
                    "bookmakers": self._bookmakers(event, books, markets, odds_format, date_format),
                }
            )
        return body, (len(markets) * regions if body else 0)

    async def _event_odds(self, request: web.Request) -> tuple[Any, int]:
        query = request.query
        odds_format, date_format = self._formats(query)
        self._sport(request)
        event_id = request.match_info["event_id"]
        if len(event_id) != 32:
            raise OddsApiFailure("INVALID_EVENT_ID", "Invalid event id. It must be 32 characters")
        event = self.world.event(event_id)
        if event is None or event.sport.key != request.match_info["sport"]:
            raise OddsApiFailure("EVENT_NOT_FOUND", "Event not found. The event may have expired")
        books, regions = self._books(query)
        markets = self._list(query, "markets") or ["h2h"]
        bookmakers = self._bookmakers(event, books, markets, odds_format, date_format)
        returned = {m["key"] for b in bookmakers for m in b["markets"]}
        return {**event.header(date_format), "bookmakers": bookmakers}, len(returned) * regions

    async def _scores(self, request: web.Request) -> tuple[Any, int]:
        query = request.query
        _, date_format = self._formats(query)
        days = query.get("daysFrom")
        if days is not None and (not days.isdigit() or not 1 <= int(days) <= 3):
            raise OddsApiFailure(
                "INVALID_SCORES_DAYS_FROM", "Invalid daysFrom. It must be an integer from 1 to 3"
            )
        events = self._event_filter(query, self._sport(request))
        body = []
        for event in events:
            if event.outright:
                continue
            completed, scores, updated = self.world.score(event, self.now)
            if completed and (days is None or event.commence < self.now - timedelta(days=int(days))):
                continue
            head = event.header(date_format)
            stamp: Any = None
            if updated is not None:
                stamp = (
                    updated.strftime("%Y-%m-%dT%H:%M:%SZ")
                    if date_format == "iso"
                    else int(updated.timestamp())
                )
            body.append({**head, "completed": completed, "scores": scores, "last_update": stamp})
        return body, ((2 if days else 1) if body else 0)


def main(argv: list[str] | None = None) -> None:
    def options(parser: Any) -> None:
        parser.add_argument("--quota", type=int, default=500, help="the month's usage credits")
        parser.add_argument("--seed", type=int, default=7)

    serve_cli(
        "python -m ntlab.odds.fake",
        f"Serve a fake The Odds API v4 on loopback. Demo key: {FAKE_ODDS_KEY}",
        lambda a: FakeOddsAPI(host=a.host, port=a.port, quota=a.quota, seed=a.seed),
        lambda s: f"fake The Odds API on {s.base_url} (key {FAKE_ODDS_KEY}): ODDS_API_URL={s.base_url}",
        argv,
        options,
    )


if __name__ == "__main__":
    main()
