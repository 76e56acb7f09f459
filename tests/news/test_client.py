"""NewsClient through the fake News API over real HTTP: frames, paging, the cache, errors and retries."""

from __future__ import annotations

import warnings
from pathlib import Path

import httpx
import pandas as pd
import pytest

from ntlab.errors import ConfigError
from ntlab.news import (
    HEADLINE_COLUMNS,
    NewsAuthError,
    NewsCache,
    NewsClient,
    NewsLimitReached,
    NewsRateLimited,
    NewsRequestError,
    NewsUnavailable,
    TruncatedWarning,
)
from ntlab.news.errors import ERRORS
from ntlab.news.fake import STATUS, FakeNewsAPI
from tests.news.conftest import make_client


async def test_everything_frame_is_flat_utc_and_in_time_order(client: NewsClient) -> None:
    frame = await client.aeverything("Nvidia OR NVDA", start="2026-02-27", end="2026-03-02T21:00:00")
    assert list(frame.columns) == HEADLINE_COLUMNS
    assert str(frame["published_at"].dtype) == "datetime64[ns, UTC]"
    assert frame["published_at"].is_monotonic_increasing
    assert frame["url"].is_unique
    assert len(frame) == frame.attrs["total_results"] > 10
    assert frame["published_at"].min() >= pd.Timestamp("2026-02-27", tz="UTC")
    assert all(isinstance(v, str) for v in frame["symbols"])  # flat tags, no lists in cells
    # the article naming Nvidia only in its body is found by the search but not tagged
    body_only = frame[frame["title"] == "Chip stocks in focus as earnings season nears"]
    assert len(body_only) == 1 and body_only["symbols"].iloc[0] == ""
    assert (frame["symbols"].str.contains("NVDA")).sum() == len(frame) - 1


async def test_removed_and_null_articles(fake: FakeNewsAPI, client: NewsClient) -> None:
    frame = await client.aeverything(domains="reuters.com,removed.com", max_results=100)
    assert "[Removed]" not in frame["title"].fillna("").tolist()
    assert frame["title"].isna().sum() == 1  # the article without a title or description is kept, empty
    assert frame.loc[frame["title"].isna(), "symbols"].iloc[0] == ""


async def test_pages_until_max_results(fake: FakeNewsAPI, client: NewsClient) -> None:
    frame = await client.aeverything("Apple OR Microsoft", page_size=10, max_results=35)
    assert len(frame) == 35
    pages = [params["page"] for path, params in fake.log if path == "/v2/everything"]
    assert pages == ["1", "2", "3", "4"]
    assert {params["pageSize"] for _, params in fake.log} == {"10"}


async def test_stops_paging_when_the_results_run_out(fake: FakeNewsAPI, client: NewsClient) -> None:
    frame = await client.aeverything("Berkshire", page_size=5, max_results=100)
    total = frame.attrs["total_results"]
    assert len(frame) == total
    assert len(fake.log) == -(-total // 5)


async def test_plan_limit_truncates_with_a_warning(fake: FakeNewsAPI) -> None:
    client = make_client(fake)
    with pytest.warns(TruncatedWarning, match="the plan returned the first 100"):
        frame = await client.aeverything(
            "Apple OR Microsoft OR Nvidia OR Bitcoin OR Berkshire", max_results=300
        )
    assert len(frame) == 100 < frame.attrs["total_results"]
    # a paid plan (no results cap on the fake) pages through all of them
    fake.max_results = None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        everything = await client.aeverything(
            "Apple OR Microsoft OR Nvidia OR Bitcoin OR Berkshire", max_results=300
        )
    assert len(everything) == everything.attrs["total_results"] > 100


async def test_second_identical_request_makes_no_network_call(fake: FakeNewsAPI, client: NewsClient) -> None:
    first = await client.aeverything("Apple", page_size=20, max_results=40)
    calls = fake.requests
    again = await client.aeverything("Apple", page_size=20, max_results=40)
    assert fake.requests == calls == client.requests == 2
    pd.testing.assert_frame_equal(first, again)
    await client.aeverything("Apple", page_size=20, max_results=40, refresh=True)
    assert fake.requests == 4
    await client.aeverything("Microsoft", page_size=20, max_results=40)  # another request is not a hit
    assert fake.requests == 6


async def test_file_cache_survives_a_new_client_and_never_holds_the_key(
    fake: FakeNewsAPI, tmp_path: Path
) -> None:
    first = make_client(fake, cache=tmp_path / "news")
    await first.aeverything("Nvidia")
    second = make_client(fake, cache=NewsCache(tmp_path / "news"))
    frame = await second.aeverything("Nvidia")
    assert fake.requests == 1 and second.requests == 0 and len(frame)
    files = list((tmp_path / "news").glob("*.json"))
    assert files
    for file in files:
        assert fake.api_key not in file.read_text(encoding="utf-8")


async def test_stale_entries_are_fetched_again(fake: FakeNewsAPI) -> None:
    now = [1000.0]
    client = make_client(fake, cache=NewsCache(ttl=60, clock=lambda: now[0]))
    await client.aeverything("Nvidia")
    now[0] += 59
    await client.aeverything("Nvidia")
    assert fake.requests == 1
    now[0] += 2
    await client.aeverything("Nvidia")
    assert fake.requests == 2


async def test_no_cache(fake: FakeNewsAPI) -> None:
    client = make_client(fake, cache=None)
    await client.aeverything("Nvidia")
    await client.aeverything("Nvidia")
    assert fake.requests == 2


async def test_top_headlines_and_sources(fake: FakeNewsAPI, client: NewsClient) -> None:
    business = await client.atop_headlines(category="business", country="us")
    assert len(business) and business["published_at"].min() >= pd.Timestamp("2026-03-01T21:00", tz="UTC")
    assert set(business["source_id"].dropna()) <= {"bloomberg", "the-wall-street-journal", "cnbc"}
    assert fake.log[-1][1]["pageSize"] == "100"
    sources = await client.asources(language="en")
    assert "reuters" in set(sources["id"]) and "handelsblatt" not in set(sources["id"])
    by_source = await client.atop_headlines(sources=["cnbc"])
    assert set(by_source["source"]) == {"CNBC"}


async def test_symbol_news_keeps_tagged_articles_within_the_window(client: NewsClient) -> None:
    end = pd.Timestamp("2026-03-02T16:00", tz="UTC")
    frame = await client.asymbol_news("NVDA", days=3, end=end)
    assert len(frame) and frame["symbols"].eq("NVDA").all()
    assert frame["published_at"].between(end - pd.Timedelta(days=3), end).all()
    everything = await client.asymbol_news("NVDA", days=3, end=end, matched_only=False)
    assert len(everything) > len(frame)


def test_sync_twins_work_outside_and_inside_a_running_loop(threaded_fake: FakeNewsAPI) -> None:
    client = make_client(threaded_fake)
    frame = client.everything("Nvidia", max_results=10)
    assert len(frame) == 10

    async def from_a_notebook_cell() -> int:
        return len(client.top_headlines(category="technology"))  # a loop runs in this thread

    import asyncio

    assert asyncio.run(from_a_notebook_cell()) > 0


# --- errors: every News API code, what the client does with it ---------------------------------------------
@pytest.mark.parametrize("code", sorted(STATUS))
async def test_every_error_code_maps_to_its_class_and_advice(fake: FakeNewsAPI, code: str) -> None:
    client = make_client(fake, cache=None)
    rule = ERRORS[code]
    fake.fail_next(5, code)
    with pytest.raises(rule.error) as caught:
        await client.aeverything("Nvidia")
    error = caught.value
    assert error.code == code and error.status == STATUS[code]
    assert "What to do:" in str(error) and rule.advice in str(error)
    attempts = 3 if rule.retryable else 1
    assert fake.requests == attempts, f"{code}: retried {fake.requests - 1} times"


async def test_retryable_errors_recover(fake: FakeNewsAPI, client: NewsClient) -> None:
    fake.fail_next(1, "rateLimited")
    fake.fail_next(1, "unexpectedError")
    frame = await client.aeverything("Nvidia")
    assert len(frame) and fake.requests == 3


async def test_the_daily_quota_running_out(fake: FakeNewsAPI) -> None:
    fake.requests_per_day = 2
    client = make_client(fake, cache=None)
    await client.aeverything("Nvidia")
    await client.aeverything("Apple")
    with pytest.raises(NewsRateLimited, match=r"100 a day|too many requests"):
        await client.aeverything("Microsoft")
    assert fake.requests == 2 + 3  # the refusal was retried (rateLimited is retryable), then reported


async def test_wrong_and_missing_keys(fake: FakeNewsAPI) -> None:
    wrong = NewsClient("not-the-key", base_url=fake.base_url, cache=None)
    with pytest.raises(NewsAuthError, match=r"apiKeyInvalid.*NEWS_API_KEY"):
        await wrong.aeverything("Nvidia")
    async with httpx.AsyncClient(base_url=fake.base_url) as http:  # no key at all, as a raw client would
        answer = await http.get("/v2/everything", params={"q": "Nvidia"})
    assert answer.status_code == 401
    assert answer.json() == {"status": "error", "code": "apiKeyMissing", "message": answer.json()["message"]}
    with pytest.raises(ConfigError, match="NEWS_API_KEY"):
        NewsClient("", base_url=fake.base_url)


async def test_keys_are_read_the_three_ways_news_api_takes_them(fake: FakeNewsAPI) -> None:
    async with httpx.AsyncClient(base_url=fake.base_url) as http:
        for request in (
            {"headers": {"X-Api-Key": fake.api_key}},
            {"headers": {"Authorization": fake.api_key}},
            {"params": {"apiKey": fake.api_key}},
        ):
            params = {"q": "Nvidia", **request.pop("params", {})}
            answer = await http.get("/v2/everything", params=params, **request)
            assert answer.status_code == 200 and answer.json()["status"] == "ok"


async def test_parameter_errors(fake: FakeNewsAPI, client: NewsClient) -> None:
    with pytest.raises(NewsRequestError, match="parametersMissing"):
        await client.aeverything()
    with pytest.raises(NewsRequestError, match="too far in the past"):
        await client.aeverything("Nvidia", start="2025-12-01")
    with pytest.raises(NewsRequestError, match="sourceDoesNotExist"):
        await client.aeverything(sources="not-a-source")
    with pytest.raises(NewsRequestError, match="sourcesTooMany"):
        await client.aeverything(sources=[f"s{i}" for i in range(21)])
    requests = fake.requests
    with pytest.raises(NewsRequestError, match="sources cannot be mixed"):
        await client.atop_headlines(sources="cnbc", country="us")
    with pytest.raises(NewsRequestError, match="sort_by"):
        await client.aeverything("Nvidia", sort_by="newest")
    with pytest.raises(NewsRequestError, match="page_size"):
        await client.aeverything("Nvidia", page_size=500)
    assert fake.requests == requests  # refused before a request was spent


async def test_unreachable_host_is_retried_then_reported(fake: FakeNewsAPI) -> None:
    port = fake.port
    await fake.stop()
    client = NewsClient("k", base_url=f"http://127.0.0.1:{port}", cache=None, retry=make_client(fake).retry)
    with pytest.raises(NewsUnavailable, match="could not reach News API") as caught:
        await client.aeverything("Nvidia")
    assert caught.value.code == "unreachable" and client.requests == 3


async def test_answers_without_an_error_body_are_classed_by_status(fake: FakeNewsAPI) -> None:
    lost = make_client(fake, base_url=fake.base_url + "/nope", cache=None)
    with pytest.raises(NewsRequestError, match="HTTP 404") as caught:
        await lost.aeverything("Nvidia")
    assert caught.value.code == "HTTP_404" and not caught.value.retryable and lost.requests == 1


def test_unknown_codes_keep_their_words() -> None:
    from ntlab.news.errors import news_error

    error = news_error("somethingNew", "A new thing happened.", 503)
    assert isinstance(error, NewsUnavailable) and error.retryable
    assert "A new thing happened" in str(error)
    assert isinstance(news_error("limitX", "x", 401), NewsAuthError)
    assert isinstance(news_error("apiKeyExhausted", "x", 401), NewsLimitReached)
