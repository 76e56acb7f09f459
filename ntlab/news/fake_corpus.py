"""The fake News API's articles: a seeded corpus about the sample market's companies.

Five days of business and technology news ending at the sample market's close (2026-03-02 21:00 UTC), with
a few headlines inside the trading session so they land on its price charts, and the oddities a client must
survive: removed articles, missing descriptions and authors, sources without an id, a non-English article,
a story that names a company only deep in its body and one that uses a company name as an ordinary noun.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

CORPUS_END = datetime(2026, 3, 2, 21, 0, tzinfo=UTC)
SESSION_OPEN = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Source:
    id: str | None
    name: str
    domain: str
    category: str
    country: str
    language: str = "en"

    def listing(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": f"{self.name}: {self.category} news.",
            "url": f"https://{self.domain}",
            "category": self.category,
            "language": self.language,
            "country": self.country,
        }


SOURCES = [
    Source("reuters", "Reuters", "www.reuters.com", "general", "us"),
    Source("bloomberg", "Bloomberg", "www.bloomberg.com", "business", "us"),
    Source("the-wall-street-journal", "The Wall Street Journal", "www.wsj.com", "business", "us"),
    Source("cnbc", "CNBC", "www.cnbc.com", "business", "us"),
    Source("financial-times", "Financial Times", "www.ft.com", "business", "gb"),
    Source("techcrunch", "TechCrunch", "techcrunch.com", "technology", "us"),
    Source("the-verge", "The Verge", "www.theverge.com", "technology", "us"),
    Source("associated-press", "Associated Press", "apnews.com", "general", "us"),
    Source("handelsblatt", "Handelsblatt", "www.handelsblatt.com", "business", "de", "de"),
    Source(None, "Yahoo Entertainment", "finance.yahoo.com", "business", "us"),
    Source(None, "Investor's Business Daily", "www.investors.com", "business", "us"),
]

COMPANIES = {
    "AAPL": ("Apple", ["Apple", "APPLE", "Apple's"], "iPhone"),
    "MSFT": ("Microsoft", ["Microsoft", "Microsoft's"], "Azure"),
    "NVDA": ("Nvidia", ["Nvidia", "NVIDIA", "Nvidia's"], "data-center GPU"),
    "SPY": ("S&P 500", ["S&P 500", "The S&P 500"], "index"),
    "BRK.B": ("Berkshire Hathaway", ["Berkshire Hathaway", "Berkshire"], "insurance"),
    "BTC/USD": ("Bitcoin", ["Bitcoin", "BTC"], "crypto"),
}

TEMPLATES = [
    "{name} shares {move} as investors weigh {topic} demand",
    "{name} {move2} after analysts revise {topic} outlook",
    "What {name}'s latest {topic} numbers mean for the market",
    "{name} faces questions over {topic} supply, stock {move}",
    "Options traders pile into {ticker} ahead of {topic} update",
    "{name} unveils new {topic} plans; {ticker} {move}",
]
MOVES = ["rise", "slip", "jump", "fall", "edge higher", "drift lower"]
MOVES2 = ["rallies", "retreats", "climbs", "stumbles"]
AUTHORS = ["Jane Doe", "Ravi Patel", "Maria Gonzalez", "Tom Becker", "Lin Wei", None]

# (minutes after the open, symbol, title): fixed so charts of the sample session show them where expected
SESSION_HEADLINES = [
    (7, "NVDA", "Nvidia wins large data-center order, sources say"),
    (18, "AAPL", "Apple supplier flags slower iPhone builds"),
    (26, "NVDA", "NVDA slides as a rival unveils a cheaper accelerator"),
    (41, "MSFT", "Microsoft's Azure outage hits customers in Europe"),
    (55, "NVDA", "Nvidia's CEO to speak at an investor conference this week"),
    (73, "AAPL", "Apple shares steady after antitrust ruling"),
    (95, "SPY", "The S&P 500 turns positive as yields ease"),
    (120, "BRK.B", "Berkshire Hathaway adds to its insurance float"),
]


def _article(
    source: Source,
    title: str | None,
    description: str | None,
    when: datetime,
    number: int,
    author: str | None,
    content: str | None = None,
) -> dict[str, Any]:
    slug = "-".join((title or "removed").lower().replace("'", "").split()[:8])
    body = content or (description or title or "")
    return {
        "source": {"id": source.id, "name": source.name},
        "author": author,
        "title": title,
        "description": description,
        "url": f"https://{source.domain}/{when:%Y/%m/%d}/{slug}-{number}",
        "urlToImage": f"https://{source.domain}/images/{number}.jpg",
        "publishedAt": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "content": f"{body[:180]} … [+{len(body) * 7 + 900} chars]",
    }


@dataclass(frozen=True, slots=True)
class Stored:
    """An article as served, with what the fake filters on but News API does not show."""

    article: dict[str, Any]
    source: Source
    popularity: float

    @property
    def published(self) -> datetime:
        return datetime.fromisoformat(self.article["publishedAt"].replace("Z", "+00:00"))


def sample_corpus(seed: int = 7, *, end: datetime = CORPUS_END, days: int = 5) -> list[Stored]:
    """The seeded articles, newest first (News API's default order)."""
    rng = random.Random(seed)
    english = [s for s in SOURCES if s.language == "en"]
    stored: list[Stored] = []

    def add(source: Source, title: str | None, description: str | None, when: datetime, **kw: Any) -> None:
        article = _article(source, title, description, when, len(stored) + 1, kw.pop("author", None), **kw)
        stored.append(Stored(article, source, rng.random()))

    start = end - timedelta(days=days)
    for _ in range(40 * days):
        ticker = rng.choice(list(COMPANIES))
        name, spellings, topic = COMPANIES[ticker]
        title = rng.choice(TEMPLATES).format(
            name=rng.choice(spellings).removesuffix("'s"),
            ticker=ticker.split("/")[0],
            move=rng.choice(MOVES),
            move2=rng.choice(MOVES2),
            topic=topic,
        )
        description = (
            None if rng.random() < 0.08 else f"{name} and its {topic} business were in focus on the day."
        )
        when = start + timedelta(seconds=rng.randrange(int((end - start).total_seconds())))
        add(rng.choice(english), title, description, when, author=rng.choice(AUTHORS))
    for minutes, ticker, title in SESSION_HEADLINES:
        name = COMPANIES[ticker][0]
        add(
            SOURCES[minutes % 4],
            title,
            f"Markets react to news about {name}.",
            SESSION_OPEN + timedelta(minutes=minutes),
            author="Newsroom",
        )
    oddities = [
        (
            SOURCES[7],
            "Apple pie recipes for a cold March weekend",
            "Baking ideas with apples and cinnamon.",
            30,
        ),
        (
            SOURCES[5],
            "Chip stocks in focus as earnings season nears",
            "Semiconductor names lead.",
            50,
            "Analysts also discussed Nvidia and other designers of accelerators.",
        ),
        (SOURCES[0], None, None, 70),
        (SOURCES[8], "Nvidia-Aktie legt nach Auftrag zu", "Der Chipkonzern meldet einen Großauftrag.", 90),
    ]
    for number, (source, title, description, hours_back, *content) in enumerate(oddities):
        when = end - timedelta(hours=hours_back, minutes=number * 7)
        add(source, title, description, when, content=content[0] if content else None)
    removed = Source(None, "[Removed]", "removed.com", "general", "us")
    stored.append(
        Stored(
            {
                **_article(removed, "[Removed]", "[Removed]", end - timedelta(hours=5), 0, None),
                "url": "https://removed.com",
            },
            removed,
            0.0,
        )
    )
    stored.sort(key=lambda s: s.article["publishedAt"], reverse=True)
    return stored
