"""ODDS_API_KEY never shows. The Odds API takes the key only as a query parameter, so it is in every
request URL: it must not reach a repr, a log line (httpx logs URLs), a frame or an error message."""

from __future__ import annotations

import logging

import pytest
from pydantic import SecretStr

from ntlab.odds import OddsClient, OddsSettings
from ntlab.odds.fake import FakeOddsAPI
from ntlab.webapi import redact
from tests.odds.conftest import make_client


async def test_key_is_nowhere_to_be_seen(fake: FakeOddsAPI, caplog: pytest.LogCaptureFixture) -> None:
    key = fake.api_key
    caplog.set_level(logging.DEBUG)
    client = make_client(fake)
    odds = await client.aodds("soccer_epl", regions="uk", markets="h2h,totals")
    scores = await client.ascores("soccer_epl", days_from=2)
    with pytest.raises(Exception) as caught:
        await client.aodds("nope", regions="uk")
    lines = [record.getMessage() for record in caplog.records]
    assert any("HTTP Request" in line and "apiKey=***" in line for line in lines)  # logged, masked
    for text in [repr(client), odds.to_csv(), scores.to_csv(), str(caught.value), repr(caught.value), *lines]:
        assert key not in text


def test_redact() -> None:
    assert redact("https://api.the-odds-api.com/v4/sports?apiKey=abc123&all=true") == (
        "https://api.the-odds-api.com/v4/sports?apiKey=***&all=true"
    )
    assert redact("/v4/x?regions=us&apikey=abc") == "/v4/x?regions=us&apikey=***"
    assert redact("no query here") == "no query here"


def test_settings_read_the_key_as_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ODDS_API_KEY", "odds-env-secret-456")
    monkeypatch.setenv("ODDS_API_URL", "http://127.0.0.1:9")
    settings = OddsSettings()
    assert isinstance(settings.odds_api_key, SecretStr) and "odds-env-secret-456" not in repr(settings)
    client = OddsClient()
    assert client.base_url == "http://127.0.0.1:9" and "odds-env-secret-456" not in repr(client)
