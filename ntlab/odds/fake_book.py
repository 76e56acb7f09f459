"""The fake Odds API's world: sports, events, bookmakers by region and their prices over time, all seeded.

Each event has a true probability that drifts every 5 minutes of the fake's clock; each bookmaker prices it
with its own margin and a little noise, and re-prices only every ``lag`` ticks, so slow books go stale
when the market moves. One book on one soccer match starts with a generous away price (``BOOSTS``), so an
arbitrage exists to find. Prices are decimal with two places, as The Odds API sends them.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
TICK = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Sport:
    key: str
    group: str
    title: str
    description: str
    active: bool = True
    has_outrights: bool = False
    teams: tuple[str, ...] = ()
    draw: bool = False
    total: float = 0.0
    spread_scale: float = 0.0
    hours: float = 3.0

    def listing(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "group": self.group,
            "title": self.title,
            "description": self.description,
            "active": self.active,
            "has_outrights": self.has_outrights,
        }


SPORTS = [
    Sport(
        "americanfootball_nfl",
        "American Football",
        "NFL",
        "US Football",
        teams=(
            "Kansas City Chiefs",
            "Buffalo Bills",
            "Philadelphia Eagles",
            "Dallas Cowboys",
            "San Francisco 49ers",
            "Detroit Lions",
            "Baltimore Ravens",
            "Green Bay Packers",
        ),
        total=46.5,
        spread_scale=7.0,
    ),
    Sport(
        "americanfootball_nfl_super_bowl_winner",
        "American Football",
        "NFL Super Bowl Winner",
        "Super Bowl Winner 2026/2027",
        has_outrights=True,
        teams=(
            "Kansas City Chiefs",
            "Buffalo Bills",
            "Philadelphia Eagles",
            "San Francisco 49ers",
            "Detroit Lions",
            "Baltimore Ravens",
        ),
    ),
    Sport(
        "basketball_nba",
        "Basketball",
        "NBA",
        "US Basketball",
        teams=(
            "Boston Celtics",
            "Denver Nuggets",
            "Milwaukee Bucks",
            "Los Angeles Lakers",
            "Golden State Warriors",
            "Phoenix Suns",
            "Miami Heat",
            "New York Knicks",
        ),
        total=224.5,
        spread_scale=6.0,
        hours=2.5,
    ),
    Sport(
        "icehockey_nhl",
        "Ice Hockey",
        "NHL",
        "US Ice Hockey",
        teams=(
            "Boston Bruins",
            "Colorado Avalanche",
            "Edmonton Oilers",
            "New York Rangers",
            "Florida Panthers",
            "Dallas Stars",
        ),
        total=6.5,
        spread_scale=1.5,
        hours=2.5,
    ),
    Sport(
        "soccer_epl",
        "Soccer",
        "EPL",
        "English Premier League",
        teams=(
            "Arsenal",
            "Manchester City",
            "Liverpool",
            "Chelsea",
            "Tottenham Hotspur",
            "Newcastle United",
            "Aston Villa",
            "Brighton and Hove Albion",
        ),
        draw=True,
        total=2.5,
        spread_scale=1.0,
        hours=2.0,
    ),
    Sport(
        "baseball_mlb",
        "Baseball",
        "MLB",
        "Major League Baseball",
        active=False,
        teams=("New York Yankees", "Los Angeles Dodgers"),
        total=8.5,
        spread_scale=1.5,
    ),
]
SPORTS_BY_KEY = {s.key: s for s in SPORTS}

#: (key, title, margin, lag in ticks) by region; ten a region at most, as the API counts them
BOOKMAKERS: dict[str, list[tuple[str, str, float, int]]] = {
    "us": [
        ("draftkings", "DraftKings", 0.045, 1),
        ("fanduel", "FanDuel", 0.042, 1),
        ("betmgm", "BetMGM", 0.050, 2),
        ("williamhill_us", "Caesars", 0.048, 2),
        ("betrivers", "BetRivers", 0.055, 3),
    ],
    "us2": [("espnbet", "ESPN BET", 0.050, 2), ("fliff", "Fliff", 0.060, 3)],
    "uk": [
        ("williamhill", "William Hill", 0.055, 2),
        ("ladbrokes_uk", "Ladbrokes", 0.058, 2),
        ("skybet", "Sky Bet", 0.052, 1),
        ("paddypower", "Paddy Power", 0.056, 2),
        ("betfair_ex_uk", "Betfair", 0.020, 1),
    ],
    "eu": [
        ("pinnacle", "Pinnacle", 0.025, 1),
        ("unibet_eu", "Unibet", 0.050, 2),
        ("betsson", "Betsson", 0.052, 2),
        ("onexbet", "1xBet", 0.035, 1),
        ("marathonbet", "Marathon Bet", 0.040, 4),
    ],
    "au": [
        ("sportsbet", "SportsBet", 0.055, 2),
        ("tab", "TAB", 0.060, 2),
        ("neds", "Neds", 0.055, 1),
        ("ladbrokes_au", "Ladbrokes", 0.057, 2),
    ],
}
REGION_OF = {key: region for region, books in BOOKMAKERS.items() for key, *_ in books}
BOOK = {key: (title, margin, lag) for books in BOOKMAKERS.values() for key, title, margin, lag in books}

#: (sport, event number, bookmaker, outcome number) -> price factor: a deliberate mispricing
BOOSTS = {("soccer_epl", 2, "marathonbet", 2): 1.14}
PROPS = ("player_points", "player_rebounds", "player_assists")  # offered on NBA events
PLAYERS = (
    "Jayson Tatum",
    "Nikola Jokic",
    "Giannis Antetokounmpo",
    "LeBron James",
    "Stephen Curry",
    "Devin Booker",
    "Jimmy Butler",
    "Jalen Brunson",
)


def _rng(*parts: Any) -> random.Random:
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(slots=True)
class Event:
    id: str
    sport: Sport
    number: int
    home: str
    away: str
    commence: datetime
    strength: float  # log-odds of a home win at the start (outrights: unused)
    outright: list[tuple[str, float]] = field(default_factory=list)

    def header(self, date_format: str) -> dict[str, Any]:
        when: Any = iso(self.commence) if date_format == "iso" else int(self.commence.timestamp())
        return {
            "id": self.id,
            "sport_key": self.sport.key,
            "sport_title": self.sport.title,
            "commence_time": when,
            "home_team": self.home if not self.outright else None,
            "away_team": self.away if not self.outright else None,
        }


class World:
    """Every sport's events and every bookmaker's prices as functions of the fake's clock."""

    def __init__(
        self, seed: int = 7, start: datetime = START, boosts: dict[Any, float] | None = None
    ) -> None:
        self.seed = seed
        self.start = start
        self.boosts = BOOSTS if boosts is None else boosts
        self.events: dict[str, list[Event]] = {}
        for sport in SPORTS:
            rng = _rng(seed, sport.key)
            teams = list(sport.teams)
            rng.shuffle(teams)
            made = []
            if sport.has_outrights:
                weights = [rng.uniform(0.5, 3.0) for _ in teams]
                total = sum(weights)
                event = Event(
                    self._id(sport.key, 0),
                    sport,
                    0,
                    "",
                    "",
                    start + timedelta(days=180),
                    0.0,
                    [(t, w / total) for t, w in zip(teams, weights, strict=True)],
                )
                made.append(event)
            else:
                # two finished, one live, the rest upcoming (relative to the start of the clock)
                offsets = [-30, -6, -1, 3, 7, 26, 50, 74]
                for number in range(len(teams) // 2):
                    home, away = teams[2 * number], teams[2 * number + 1]
                    commence = start + timedelta(hours=offsets[number * 2 % len(offsets)] + rng.random())
                    commence = commence.replace(second=0, microsecond=0)
                    made.append(
                        Event(
                            self._id(sport.key, number),
                            sport,
                            number,
                            home,
                            away,
                            commence,
                            rng.gauss(0.25, 0.7),
                        )
                    )
            self.events[sport.key] = made

    def _id(self, sport: str, number: int) -> str:
        return hashlib.md5(f"{self.seed}:{sport}:{number}".encode(), usedforsecurity=False).hexdigest()

    def event(self, event_id: str) -> Event | None:
        for events in self.events.values():
            for event in events:
                if event.id == event_id:
                    return event
        return None

    # --- time ---------------------------------------------------------------------------------------
    def tick(self, now: datetime) -> int:
        return max(0, int((now - self.start) / TICK))

    def _drift(self, event: Event, tick: int) -> float:
        rng = _rng(self.seed, event.id, "walk")
        return sum(rng.gauss(0, 0.06) for _ in range(tick))

    def _book_tick(self, bookmaker: str, tick: int) -> int:
        lag = BOOK[bookmaker][2]
        return tick - tick % lag

    def updated(self, bookmaker: str, now: datetime) -> datetime:
        return self.start + TICK * self._book_tick(bookmaker, self.tick(now))

    # --- prices -------------------------------------------------------------------------------------
    def probabilities(self, event: Event, tick: int) -> list[tuple[str, float]]:
        if event.outright:
            return event.outright
        home = 1 / (1 + math.exp(-(event.strength + self._drift(event, tick))))
        if not event.sport.draw:
            return [(event.home, home), (event.away, 1 - home)]
        draw = 0.27 - 0.1 * abs(home - 0.5)
        return [(event.home, home * (1 - draw)), (event.away, (1 - home) * (1 - draw)), ("Draw", draw)]

    def _priced(
        self, probabilities: list[float], bookmaker: str, key: Any, factors: list[float]
    ) -> list[float]:
        margin = BOOK[bookmaker][1]
        rng = _rng(self.seed, bookmaker, *key)
        prices = []
        for p, factor in zip(probabilities, factors, strict=True):
            loaded = p * (1 + margin) * (1 + rng.uniform(-0.015, 0.015))
            prices.append(max(1.01, round(factor / loaded, 2)))
        return prices

    def markets(self, event: Event, bookmaker: str, keys: list[str], now: datetime) -> list[dict[str, Any]]:
        tick = self._book_tick(bookmaker, self.tick(now))
        updated = iso(self.start + TICK * tick)
        out = []
        fair = self.probabilities(event, tick)
        names = [n for n, _ in fair]
        for key in keys:
            if key in ("h2h", "outrights"):
                factors = [
                    self.boosts.get((event.sport.key, event.number, bookmaker, i), 1.0)
                    for i in range(len(fair))
                ]
                prices = self._priced([p for _, p in fair], bookmaker, (event.id, key, tick), factors)
                outcomes = [{"name": n, "price": d} for n, d in zip(names, prices, strict=True)]
            elif key == "spreads":
                home = fair[0][1] / (fair[0][1] + fair[1][1])
                point = round((0.5 - home) * event.sport.spread_scale * 4) / 2 + 0.5 * (
                    1 if home < 0.5 else -1
                )
                prices = self._priced([0.5, 0.5], bookmaker, (event.id, key, tick), [1.0, 1.0])
                outcomes = [
                    {"name": event.home, "price": prices[0], "point": point},
                    {"name": event.away, "price": prices[1], "point": -point},
                ]
            elif key == "totals":
                prices = self._priced([0.5, 0.5], bookmaker, (event.id, key, tick), [1.0, 1.0])
                outcomes = [
                    {"name": "Over", "price": prices[0], "point": event.sport.total},
                    {"name": "Under", "price": prices[1], "point": event.sport.total},
                ]
            elif key in PROPS and event.sport.key == "basketball_nba":
                outcomes = []
                for player in (p for p in PLAYERS if hash_pick(p, event)):
                    line = 20.5 + _rng(self.seed, player).randrange(0, 12)
                    over, under = self._priced(
                        [0.5, 0.5], bookmaker, (event.id, key, player, tick), [1.0, 1.0]
                    )
                    outcomes += [
                        {"name": "Over", "description": player, "price": over, "point": line},
                        {"name": "Under", "description": player, "price": under, "point": line},
                    ]
            else:
                continue
            out.append({"key": key, "last_update": updated, "outcomes": outcomes})
        return out

    def score(self, event: Event, now: datetime) -> tuple[bool, list[dict[str, str]] | None, datetime | None]:
        """(completed, scores or None before the start, last update)."""
        if now < event.commence or event.outright:
            return False, None, None
        ends = event.commence + timedelta(hours=event.sport.hours)
        done = now >= ends
        progress = 1.0 if done else (now - event.commence) / (ends - event.commence)
        rng = _rng(self.seed, event.id, "score")
        scale = max(event.sport.total, 1.0) / 2
        home = round(rng.uniform(0.4, 1.6) * scale * progress)
        away = round(rng.uniform(0.4, 1.6) * scale * progress)
        return (
            done,
            [{"name": event.home, "score": str(home)}, {"name": event.away, "score": str(away)}],
            min(now, ends),
        )


def hash_pick(player: str, event: Event) -> bool:
    """Which players an NBA event's props cover: the players of its two teams, by a stable pick."""
    return int(hashlib.md5(f"{player}:{event.id}".encode(), usedforsecurity=False).hexdigest(), 16) % 3 == 0
