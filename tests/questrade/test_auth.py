"""The refresh-token flow against the fake login server: single use, stored atomically before use, a crash
between redeeming and storing said plainly, revocation and expiry, and no token ever printed."""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import sys
import textwrap
from pathlib import Path

import pytest

from ntlab.brokers.questrade.auth import QuestradeAuth, TokenFile
from ntlab.brokers.questrade.fake import FakeQuestrade
from ntlab.core import OrderManager
from ntlab.errors import AuthenticationError, ConfigError
from tests.questrade.conftest import broker_for


async def test_each_redemption_stores_the_next_token_and_spends_the_old(
    fake: FakeQuestrade, tmp_path: Path
) -> None:
    file = TokenFile(tmp_path / "t")
    first = fake.tokens.issue()
    file.store(__import__("pydantic").SecretStr(first))
    auth = QuestradeAuth(file, fake.login_url)
    token = await auth.access()
    second = file.read().get_secret_value()
    assert second != first and fake.tokens.refresh[first] == "spent" and fake.tokens.refresh[second] == "live"
    assert token.api_server == fake.base_url + "/"  # the API server the token names
    assert stat.S_IMODE(os.stat(file.path).st_mode) == 0o600
    assert file.marked() is None and not list(tmp_path.glob(".*.tmp"))
    await auth.renew(token)
    assert file.read().get_secret_value() not in (first, second) and auth.redemptions == 2


async def test_concurrent_callers_redeem_once(fake: FakeQuestrade, tmp_path: Path) -> None:
    broker = broker_for(fake, tmp_path)
    await asyncio.gather(*(broker.auth.access() for _ in range(10)))
    assert fake.tokens.redeemed == 1


async def test_an_expired_access_token_is_renewed_and_the_call_goes_through(
    fake: FakeQuestrade, tmp_path: Path
) -> None:
    broker = broker_for(fake, tmp_path)
    assert await broker.accounts()
    fake.tokens.expire_access()
    assert (await broker.accounts())[0]["number"]
    assert fake.tokens.redeemed == 2 and broker.rest.stats["renewals"] == 1
    await broker.close()


async def test_a_revoked_refresh_token_says_what_to_do(fake: FakeQuestrade, tmp_path: Path) -> None:
    broker = broker_for(fake, tmp_path)
    token = broker.tokens.read().get_secret_value()
    fake.tokens.revoke()
    with pytest.raises(AuthenticationError) as refused:
        await broker.accounts()
    message = str(refused.value)
    assert "revoked" in message and str(broker.tokens.path) in message and "Generate new token" in message
    assert token not in message
    await broker.close()


def test_no_token_file_is_a_config_error_that_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="App Hub"):
        TokenFile(tmp_path / "missing").read()


CRASH = textwrap.dedent(
    """
    import asyncio, os, sys
    from ntlab.brokers.questrade.auth import QuestradeAuth, TokenFile

    def crash(self, token):  # the process dies after Questrade answered, before the new token is stored
        os._exit(9)

    if sys.argv[3] == "before-store":
        TokenFile.store = crash
    else:
        real = TokenFile.store
        def store_then_die(self, token):
            real(self, token)
            os._exit(9)
        TokenFile.store = store_then_die
    asyncio.run(QuestradeAuth(TokenFile(sys.argv[1]), sys.argv[2]).access())
    """
)


async def _crash(fake: FakeQuestrade, file: Path, when: str) -> int:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CRASH,
        str(file),
        fake.login_url,
        when,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 9, err.decode()
    return fake.tokens.redeemed


async def test_a_crash_between_redeeming_and_storing_is_said_plainly(
    fake: FakeQuestrade, tmp_path: Path
) -> None:
    broker = broker_for(fake, tmp_path)
    old = broker.tokens.read().get_secret_value()
    assert await _crash(fake, broker.tokens.path, "before-store") == 1  # the server spent the token
    assert broker.tokens.read().get_secret_value() == old  # the file still holds it, whole
    assert broker.tokens.marked() is not None
    with pytest.raises(AuthenticationError) as refused:
        await broker.accounts()
    message = str(refused.value)
    assert "an earlier run redeemed it and stopped before it could store the new one" in message
    assert str(broker.tokens.path) in message and old not in message
    # what the message says to do works: a new token from the API centre
    broker.tokens.store(__import__("pydantic").SecretStr(fake.tokens.issue()))
    assert await broker.accounts()
    await broker.close()


async def test_a_crash_after_storing_leaves_a_token_that_works(fake: FakeQuestrade, tmp_path: Path) -> None:
    broker = broker_for(fake, tmp_path)
    old = broker.tokens.read().get_secret_value()
    await _crash(fake, broker.tokens.path, "after-store")
    assert broker.tokens.read().get_secret_value() != old
    assert await broker.accounts()
    await broker.close()


async def test_tokens_never_reach_a_repr_a_log_or_an_error(
    fake: FakeQuestrade, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    broker = broker_for(fake, tmp_path)
    async with OrderManager(broker) as om:
        await broker.poll()
        secrets = [broker.tokens.read().get_secret_value()]
        current = broker.auth.current
        assert current is not None
        secrets.append(current.token.get_secret_value())
        shown = " ".join([repr(broker), str(broker), repr(broker.auth), repr(current), caplog.text, repr(om)])
    for secret in secrets + list(fake.tokens.refresh):
        assert secret not in shown
