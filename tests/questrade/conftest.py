from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ntlab.brokers.questrade import QuestradeBroker
from ntlab.brokers.questrade.fake import FakeQuestrade


@pytest.fixture
async def fake() -> AsyncIterator[FakeQuestrade]:
    async with FakeQuestrade(cash=1_000_000) as served:
        yield served


def broker_for(fake: FakeQuestrade, folder: Path, **options: object) -> QuestradeBroker:
    token_file = folder / "questrade.token"
    seed = None if token_file.exists() else fake.tokens.issue()
    options.setdefault("poll_interval", None)
    options.setdefault("timeout", 2.0)
    return QuestradeBroker(token_file, refresh_token=seed, login_url=fake.login_url, **options)  # type: ignore[arg-type]
