"""NEWS_API_KEY never shows: not in reprs, logs, frames, cache files or error messages."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from pydantic import SecretStr

from ntlab.news import NewsClient, NewsSettings
from ntlab.news.fake import FakeNewsAPI
from tests.news.conftest import make_client


async def test_key_is_nowhere_to_be_seen(
    fake: FakeNewsAPI, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key = fake.api_key
    caplog.set_level(logging.DEBUG)
    client = make_client(fake, cache=tmp_path)
    frame = await client.aeverything("Nvidia")
    top = await client.atop_headlines(category="business")
    fake.fail_next(1, "parameterInvalid")
    with pytest.raises(Exception) as caught:
        await client.aeverything("Apple")
    shown = [repr(client), str(client), frame.to_csv(), top.to_csv(), str(caught.value), repr(caught.value)]
    shown += [record.getMessage() for record in caught_records(caplog)]
    shown += [f.read_text(encoding="utf-8") for f in tmp_path.glob("*.json")]
    assert any("HTTP Request" in line for line in shown)  # httpx did log the requests
    for text in shown:
        assert key not in text


def caught_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return list(caplog.records)


def test_settings_read_the_key_as_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWS_API_KEY", "env-secret-key-123")
    monkeypatch.setenv("NEWS_API_URL", "http://127.0.0.1:9")
    settings = NewsSettings()
    assert isinstance(settings.news_api_key, SecretStr)
    assert "env-secret-key-123" not in repr(settings) and "env-secret-key-123" not in str(settings)
    client = NewsClient()
    assert client.base_url == "http://127.0.0.1:9"
    assert "env-secret-key-123" not in repr(client)


def test_notebook_outputs_show_no_key() -> None:
    import json

    from ntlab.news.fake import FAKE_NEWS_KEY
    from ntlab.odds.fake import FAKE_ODDS_KEY

    path = Path(__file__).parents[2] / "notebooks" / "11_news_and_odds.ipynb"
    notebook = json.loads(path.read_text(encoding="utf-8"))
    outputs = json.dumps([cell.get("outputs", []) for cell in notebook["cells"]])
    assert "key=set" in outputs  # the cell that prints the clients' reprs ran
    assert FAKE_NEWS_KEY not in outputs and FAKE_ODDS_KEY not in outputs and "apiKey=" not in outputs
