"""Both fakes run from the command line (python -m ... --port N) and answer real requests."""

from __future__ import annotations

import socket
import subprocess
import sys

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("module", "path", "auth"),
    [
        ("ntlab.news.fake", "/v2/top-headlines?category=business", {"X-Api-Key": "FAKENEWSKEY"}),
        ("ntlab.odds.fake", "/v4/sports?apiKey=FAKEODDSKEY", {}),
    ],
)
def test_fake_serves_from_the_command_line(module: str, path: str, auth: dict[str, str]) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", module, "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        banner = process.stdout.readline() if process.stdout else ""
        assert f"http://127.0.0.1:{port}" in banner, banner
        answer = httpx.get(f"http://127.0.0.1:{port}{path}", headers=auth, timeout=10)
        assert answer.status_code == 200
    finally:
        process.terminate()
        process.wait(10)
