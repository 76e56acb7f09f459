from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ntlab.brokers.lime import LimeBroker
from ntlab.brokers.lime.fake import FakeLime


@pytest.fixture
async def fake() -> AsyncIterator[FakeLime]:
    async with FakeLime(cash=1_000_000) as served:
        yield served


def broker_for(fake: FakeLime, **options: object) -> LimeBroker:
    c = fake.credentials
    options.setdefault("timeout", 2.0)
    return LimeBroker(
        c.username,
        c.password,
        c.client_id,
        c.client_secret,
        base_url=fake.base_url,
        auth_url=fake.auth_url,
        **options,
    )  # type: ignore[arg-type]
