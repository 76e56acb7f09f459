"""Questrade's OAuth refresh-token flow, done so that a crash cannot lock the user out unawares.

A Questrade refresh token works once: redeeming it (``POST {login}/oauth2/token``, form
``grant_type=refresh_token&refresh_token=...``) returns an access token (30 minutes), the ``api_server`` to
call with it, and the NEXT refresh token; the old one is dead from that moment. So the order is:

1. write a marker beside the token file saying "redeeming the token with this fingerprint" (a hash, never
   the token);
2. redeem the token;
3. store the new refresh token atomically (a temporary file in the same folder, fsync, rename, fsync the
   folder) BEFORE the access token is used for anything;
4. remove the marker.

A crash between 2 and 3 leaves the file holding a token the server has already spent, and the marker
saying so. The next run tries the token anyway (the crash may have come before the server saw it); if the
server refuses it, the error says exactly that and what to do, instead of a bare "invalid token". Tokens
are ``SecretStr`` everywhere, sent in the form body (never in a URL, which HTTP loggers print) and never
in a repr, a log line or an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from ntlab.brokers.questrade.mapping import parse_json
from ntlab.errors import AuthenticationError, BrokerUnavailable, ConfigError

log = logging.getLogger(__name__)

WHAT_TO_DO = (
    "generate a new manual authorization token in Questrade (App Hub > API Centre > your app > "
    "Generate new token) and write it into {path} (or pass it once as refresh_token=...)"
)


def fingerprint(token: SecretStr) -> str:
    """A short hash that tells tokens apart without revealing them."""
    return hashlib.sha256(token.get_secret_value().encode()).hexdigest()[:16]


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so that it holds the old or the new content whole, never a mix:
    a temporary file in the same folder (mode 0600), fsync, rename over, fsync the folder."""
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{path.name}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class TokenFile:
    """The refresh token in a file the user names, and the marker of a redemption under way."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()
        self.marker = self.path.with_name(self.path.name + ".redeeming")

    def __repr__(self) -> str:
        return f"TokenFile({str(self.path)!r})"

    def exists(self) -> bool:
        return self.path.is_file() and bool(self.path.read_text().strip())

    def read(self) -> SecretStr:
        try:
            text = self.path.read_text().strip()
        except FileNotFoundError:
            text = ""
        if not text:
            raise ConfigError(
                f"no Questrade refresh token in {self.path}: " + WHAT_TO_DO.format(path=self.path)
            )
        return SecretStr(text)

    def store(self, token: SecretStr) -> None:
        write_atomically(self.path, token.get_secret_value() + "\n")

    def mark(self, token: SecretStr) -> None:
        write_atomically(self.marker, fingerprint(token) + "\n")

    def marked(self) -> str | None:
        """The fingerprint of a token whose redemption started and never finished, if any."""
        try:
            return self.marker.read_text().strip() or None
        except FileNotFoundError:
            return None

    def unmark(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.marker.unlink()


@dataclass(slots=True)
class AccessToken:
    """What a redemption brings: the bearer token, when it expires, and where to use it."""

    token: SecretStr
    api_server: str
    expires_at: float  # time.monotonic()
    lifetime: float

    def __repr__(self) -> str:
        return f"AccessToken(api_server={self.api_server!r}, token='***')"

    def fresh(self) -> bool:
        """Still worth using: more than a tenth of its life (at most a minute) left."""
        return time.monotonic() < self.expires_at - min(60.0, self.lifetime / 10)


class QuestradeAuth:
    """Redeems refresh tokens (one at a time: two concurrent redemptions would burn the token) and keeps
    the current access token and its ``api_server``."""

    def __init__(
        self,
        token_file: TokenFile,
        login_url: str,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.file = token_file
        self.login_url = login_url.rstrip("/")
        self._timeout = timeout
        self._transport = transport
        self._lock = asyncio.Lock()
        self._current: AccessToken | None = None
        self.redemptions = 0

    def __repr__(self) -> str:
        return f"QuestradeAuth(login_url={self.login_url!r}, file={self.file!r})"

    @property
    def current(self) -> AccessToken | None:
        return self._current

    async def access(self) -> AccessToken:
        """A fresh access token, redeeming the refresh token when the current one is near its end."""
        current = self._current
        if current is not None and current.fresh():
            return current
        return await self.renew(current)

    async def renew(self, stale: AccessToken | None) -> AccessToken:
        """Redeem the refresh token, unless another caller already did since ``stale`` was handed out."""
        async with self._lock:
            if self._current is not None and self._current is not stale and self._current.fresh():
                return self._current
            self._current = await self._redeem()
            return self._current

    async def _redeem(self) -> AccessToken:
        token = self.file.read()
        earlier = self.file.marked() == fingerprint(token)
        self.file.mark(token)
        try:
            async with httpx.AsyncClient(timeout=self._timeout, transport=self._transport) as client:
                response = await client.post(
                    f"{self.login_url}/oauth2/token",
                    data={"grant_type": "refresh_token", "refresh_token": token.get_secret_value()},
                )
        except httpx.TransportError as error:
            # The server may or may not have spent the token: the marker stays, and says so next time.
            raise BrokerUnavailable(
                f"could not reach Questrade's login server {self.login_url} ({type(error).__name__}); "
                "try again in a moment"
            ) from None
        if response.status_code != 200:
            self.file.unmark()
            raise AuthenticationError(self._refused(response.status_code, earlier))
        data: dict[str, Any] = parse_json(response.content)
        fresh_refresh = SecretStr(str(data["refresh_token"]))
        self.file.store(fresh_refresh)  # before the access token is used for anything
        self.file.unmark()
        self.redemptions += 1
        lifetime = float(data.get("expires_in", 1800))
        log.info("Questrade refresh token redeemed and the new one stored in %s", self.file.path)
        return AccessToken(
            token=SecretStr(str(data["access_token"])),
            api_server=str(data["api_server"]).rstrip("/") + "/",
            expires_at=time.monotonic() + lifetime,
            lifetime=lifetime,
        )

    def _refused(self, status: int, earlier: bool) -> str:
        path = self.file.path
        if earlier:
            return (
                f"Questrade refused the refresh token in {path} (HTTP {status}): an earlier run redeemed it "
                "and stopped before it could store the new one, so the token in the file is spent. "
                + WHAT_TO_DO.format(path=path)
            )
        return (
            f"Questrade refused the refresh token in {path} (HTTP {status}): it was already used, has "
            "expired (a manual token lasts 7 days) or was revoked. " + WHAT_TO_DO.format(path=path)
        )
