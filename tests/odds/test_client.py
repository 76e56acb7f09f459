"""OddsClient through the fake The Odds API over real HTTP: tidy frames, both price formats, the usage
headers shown and respected, errors and what is retried."""

from __future__ import annotations

import httpx
import pytest

from ntlab.errors import ConfigError
from ntlab.odds import (
    ODDS_COLUMNS,
    OddsAuthError,
    OddsClient,
    OddsQuotaError,
    OddsRateLimited,
    OddsRequestError,
    OddsUnavailable,
    Usage,
    estimate_cost,
)
from ntlab.odds.fake import FakeOddsAPI
from tests.odds.conftest import make_client

KEYS = ["event_id", "bookmaker", "market", "outcome", "description", "point"]


async def test_sports_events_and_usage(fake: FakeOddsAPI, client: OddsClient) -> None:
    assert client.usage == Usage() and "unknown" in str(client.usage)
    sports = await client.asports()
    assert "baseball_mlb" not in set(sports["key"])  # out of season
    assert "baseball_mlb" in set((await client.asports(all=True))["key"])
    assert list(sports.columns) == ["key", "group", "title", "description", "active", "has_outrights"]
    events = await client.aevents("basketball_nba")
    assert events["event_id"].str.len().eq(32).all()
    assert str(events["commence_time"].dtype) == "datetime64[ns, UTC]"
    assert client.usage == Usage(500, 0, 0) and fake.used == 0  # sports and events are free
    assert "500 credits remaining, 0 used" in repr(client)


async def test_odds_are_tidy_one_row_per_event_bookmaker_market_outcome(
    fake: FakeOddsAPI, client: OddsClient
) -> None:
    odds = await client.aodds("soccer_epl", regions="uk,eu", markets="h2h,spreads,totals")
    assert list(odds.columns) == ODDS_COLUMNS
    assert not odds.duplicated(KEYS).any()
    assert set(odds["market"]) == {"h2h", "spreads", "totals"}
    assert set(odds.loc[odds["market"] == "totals", "outcome"]) == {"Over", "Under"}
    h2h = odds[odds["market"] == "h2h"]
    assert h2h.groupby(["event_id", "bookmaker"]).size().eq(3).all()  # home, away, draw
    spreads = odds[odds["market"] == "spreads"]
    assert (spreads["line"] == spreads["point"].abs()).all()
    assert (
        spreads.groupby(["event_id", "bookmaker"])["point"].sum().eq(0).all()
    )  # −x on one side, +x on the other
    assert odds["bookmaker"].nunique() == 10 and (odds["price"] > 1).all()
    assert str(odds["last_update"].dtype) == "datetime64[ns, UTC]"
    # cost = markets × regions = 3 × 2, in the headers and on the client
    assert client.usage == Usage(494, 6, 6) and fake.log[-1][2] == 6


async def test_american_and_decimal_formats_agree(client: OddsClient) -> None:
    decimal = await client.aodds("basketball_nba", regions="us", odds_format="decimal")
    american = await client.aodds("basketball_nba", regions="us", odds_format="american")
    merged = decimal.merge(american, on=KEYS, suffixes=("_d", "_a"))
    assert len(merged) == len(decimal) == len(american)
    # the fake rounds American from the 2-place decimal, as the API does: converted back they agree to a cent
    assert (merged["price_d"] - merged["price_a"]).abs().max() < 0.011
    assert american["american"].dtype == "Int64" and (american["american"].abs() >= 100).all()
    assert american["american"].tolist() == merged["american_a"].tolist()


async def test_costs_as_the_api_charges_them(fake: FakeOddsAPI, client: OddsClient) -> None:
    books = [
        "draftkings",
        "fanduel",
        "betmgm",
        "williamhill_us",
        "betrivers",
        "espnbet",
        "fliff",
        "williamhill",
        "ladbrokes_uk",
        "skybet",
        "paddypower",
    ]
    await client.aodds("icehockey_nhl", bookmakers=books, markets="h2h,totals")
    assert client.usage.last == 2 * 2 == estimate_cost("h2h,totals", bookmakers=books)  # 11 books = 2 regions
    await client.aodds("icehockey_nhl", regions="us", markets="h2h", event_ids=["0" * 32])
    assert client.usage.last == 0  # an empty answer costs nothing
    await client.ascores("icehockey_nhl")
    assert client.usage.last == 1
    scores = await client.ascores("icehockey_nhl", days_from=3)
    assert client.usage.last == 2 and scores["completed"].any()
    assert scores.loc[scores["completed"], "home_score"].notna().all()
    assert scores.loc[~scores["completed"] & scores["home_score"].isna(), "last_update"].isna().all()
    nba = await client.aevents("basketball_nba")
    props = await client.aevent_odds(
        "basketball_nba", nba["event_id"].iloc[-1], markets="h2h,player_points,player_blocks"
    )
    assert client.usage.last == 2  # the markets that came back (h2h, player_points) × 1 region
    assert props.loc[props["market"] == "player_points", "description"].notna().all()
    assert client.usage.used == fake.used == sum(cost for *_, cost in fake.log)


async def test_a_call_that_would_overspend_is_refused_before_it_is_sent(fake: FakeOddsAPI) -> None:
    fake.quota = 5
    client = make_client(fake)
    with pytest.raises(OddsQuotaError, match="could cost 6 credits and 5 remain") as caught:
        await client.aodds("soccer_epl", regions="uk,eu", markets="h2h,spreads,totals")
    assert caught.value.code == "QUOTA_WOULD_BE_EXCEEDED" and not caught.value.retryable
    assert [path for path, *_ in fake.log] == ["/v4/sports"]  # the free probe that learned the usage, only
    odds = await client.aodds("soccer_epl", regions="uk", markets="h2h")
    assert len(odds) and client.usage == Usage(4, 1, 1)


async def test_the_quota_running_out_is_never_retried(fake: FakeOddsAPI) -> None:
    fake.quota = 3
    client = make_client(fake, check_quota=False)
    await client.aodds("soccer_epl", regions="uk,eu", markets="h2h")
    assert client.usage.remaining == 1
    requests = fake.requests
    with pytest.raises(OddsQuotaError, match=r"OUT_OF_USAGE_CREDITS.*retrying would not help"):
        await client.aodds("soccer_epl", regions="uk,eu", markets="h2h")
    assert fake.requests == requests + 1
    assert client.usage.remaining == 1 and client.usage.last == 0
    fake.used = fake.quota
    checked = make_client(fake)
    with pytest.raises(OddsQuotaError, match="could cost 1 credits and 0 remain"):
        await checked.ascores("soccer_epl")
    assert len(await checked.asports()) > 0  # free endpoints still answer at zero


async def test_frequency_limit_and_server_errors_are_retried(fake: FakeOddsAPI, client: OddsClient) -> None:
    fake.fail_next(2, "EXCEEDED_FREQ_LIMIT")
    assert len(await client.asports()) and fake.requests == 3
    fake.fail_next(3, "EXCEEDED_FREQ_LIMIT")
    with pytest.raises(OddsRateLimited, match="space them out"):
        await client.asports()
    fake.fail_next(1, "INTERNAL_ERROR")
    assert len(await client.asports())


async def test_the_fakes_frequency_limit_bites() -> None:
    async with FakeOddsAPI(requests_per_second=2) as fake, httpx.AsyncClient(base_url=fake.base_url) as http:
        answers = [await http.get("/v4/sports", params={"apiKey": fake.api_key}) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].json()["error_code"] == "EXCEEDED_FREQ_LIMIT"


async def test_request_errors(fake: FakeOddsAPI, client: OddsClient) -> None:
    with pytest.raises(OddsRequestError, match="UNKNOWN_SPORT") as caught:
        await client.aodds("curling_world", regions="eu")
    assert caught.value.status == 404 and fake.requests == 2  # the free probe, then one try
    with pytest.raises(OddsRequestError, match=r"INVALID_MARKET_COMBO.*outrights"):
        await client.aodds("americanfootball_nfl_super_bowl_winner", regions="us", markets="h2h")
    outrights = await client.aodds(
        "americanfootball_nfl_super_bowl_winner", regions="us", markets="outrights"
    )
    assert outrights["home_team"].isna().all() and outrights.groupby("bookmaker").size().eq(6).all()
    with pytest.raises(OddsRequestError, match="EVENT_NOT_FOUND"):
        await client.aevent_odds("basketball_nba", "f" * 32)
    with pytest.raises(OddsRequestError, match="INVALID_EVENT_ID"):
        await client.aevent_odds("basketball_nba", "short")
    sent = fake.requests
    with pytest.raises(OddsRequestError, match="unknown regions"):
        await client.aodds("soccer_epl", regions="mars")
    with pytest.raises(OddsRequestError, match=r"regions= .* or bookmakers="):
        await client.aodds("soccer_epl", regions=None)
    with pytest.raises(OddsRequestError, match="event_odds"):
        await client.aodds("soccer_epl", markets="player_points")
    with pytest.raises(OddsRequestError, match="odds_format"):
        await client.aodds("soccer_epl", odds_format="fractional")
    with pytest.raises(OddsRequestError, match="days_from"):
        await client.ascores("soccer_epl", days_from=5)
    assert fake.requests == sent  # refused before a request was sent


async def test_the_fakes_parameter_errors_over_the_wire(fake: FakeOddsAPI) -> None:
    async with httpx.AsyncClient(base_url=fake.base_url) as http:

        async def get(path: str, **params: str) -> httpx.Response:
            return await http.get(path, params={"apiKey": fake.api_key, **params})

        cases = [
            (await get("/v4/sports/soccer_epl/odds", markets="h2h"), 422, "MISSING_REGION"),
            (await get("/v4/sports/soccer_epl/odds", regions="xx"), 422, "INVALID_REGION"),
            (await get("/v4/sports/soccer_epl/odds", regions="us", markets="btts"), 422, "INVALID_MARKET"),
            (
                await get("/v4/sports/soccer_epl/odds", regions="us", oddsFormat="fractional"),
                422,
                "INVALID_ODDS_FORMAT",
            ),
            (
                await get("/v4/sports/soccer_epl/odds", regions="us", dateFormat="rfc"),
                422,
                "INVALID_DATE_FORMAT",
            ),
            (await get("/v4/sports/soccer_epl/scores", daysFrom="9"), 422, "INVALID_SCORES_DAYS_FROM"),
            (await get("/v4/sports", all="yes"), 422, "INVALID_ALL_SPORTS_PARAM"),
            (
                await get("/v4/sports/soccer_epl/odds", regions="us", bookmakers="nobody"),
                422,
                "INVALID_BOOKMAKERS",
            ),
        ]
        for answer, status, code in cases:
            body = answer.json()
            assert (answer.status_code, body["error_code"]) == (status, code)
            assert set(body) == {"message", "error_code", "details_url"}
            assert body["details_url"].endswith("#" + code.lower().replace("_", "-"))
            assert answer.headers["x-requests-last"] == "0"
        unix = await get("/v4/sports/soccer_epl/odds", regions="uk", dateFormat="unix")
        event = unix.json()[0]
        assert isinstance(event["commence_time"], int)
        assert isinstance(event["bookmakers"][0]["markets"][0]["last_update"], int)
        for name in ("x-requests-remaining", "x-requests-used", "x-requests-last"):
            assert unix.headers[name].isdigit()


async def test_keys(fake: FakeOddsAPI) -> None:
    wrong = OddsClient("not-the-key", base_url=fake.base_url)
    with pytest.raises(OddsAuthError, match=r"INVALID_KEY.*ODDS_API_KEY"):
        await wrong.asports()
    assert wrong.usage == Usage()  # a refused key gets no usage headers
    async with httpx.AsyncClient(base_url=fake.base_url) as http:
        header_only = await http.get("/v4/sports", headers={"x-api-key": fake.api_key})
    assert header_only.status_code == 401 and header_only.json()["error_code"] == "MISSING_KEY"
    fake.deactivated = True
    with pytest.raises(OddsAuthError, match="DEACTIVATED_KEY"):
        await make_client(fake).asports()
    with pytest.raises(ConfigError, match="ODDS_API_KEY"):
        OddsClient("", base_url=fake.base_url)


async def test_unreachable(fake: FakeOddsAPI) -> None:
    port = fake.port
    await fake.stop()
    client = make_client(fake, base_url=f"http://127.0.0.1:{port}")
    with pytest.raises(OddsUnavailable, match="could not reach The Odds API"):
        await client.asports()
    assert client.requests == 3


def test_estimate_cost() -> None:
    assert estimate_cost("h2h,spreads", "us,uk") == 4 and estimate_cost("h2h", bookmakers=["a"] * 21) == 3


def test_sync_twins_against_a_fake_in_its_own_thread() -> None:
    fake = FakeOddsAPI(requests_per_second=None).start_background()
    try:
        client = make_client(fake)
        assert len(client.sports()) and len(client.events("soccer_epl"))
        odds = client.odds("soccer_epl", regions="uk")
        assert len(odds) and client.usage.last == 1
        assert len(client.scores("soccer_epl", days_from=1)) and client.usage.last == 2
        nba = client.events("basketball_nba")["event_id"].iloc[-1]
        assert len(client.event_odds("basketball_nba", nba, markets="player_points"))
        assert client.refresh_usage() == Usage(fake.remaining, fake.used, 0)
    finally:
        fake.stop_background()
