"""What the extras install, where a missing package costs without failing."""

import importlib.util
import tomllib
from pathlib import Path

import pytest

PYPROJECT = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
EXTRAS = PYPROJECT["project"]["optional-dependencies"]


def test_every_http_extra_brings_sniffio():
    # httpcore imports sniffio on every request; without it each import fails after searching sys.path
    assert "sniffio>=1.3" in EXTRAS["http"]
    for name, requirements in EXTRAS.items():
        assert not any(r.startswith("httpx") for r in requirements if name != "http"), (
            f"extra {name!r} names httpx itself; take ntlab[http] instead"
        )


def test_httpcore_finds_sniffio_in_this_environment():
    pytest.importorskip("httpcore")
    assert importlib.util.find_spec("sniffio") is not None
