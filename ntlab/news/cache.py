"""A small cache of News API answers, so asking again for the same headlines costs no request.

The free plan allows 100 requests a day and headlines are re-read far more often than they change, so every
answer page is kept under the request that produced it: the endpoint and its parameters, sorted, **without
the API key** (which travels in a header and is never written). Entries live in memory, and also as one JSON
file each under ``path`` when it is given, so a notebook re-run or a new kernel finds them. An entry older
than ``ttl`` is stale and fetched again; ``refresh=True`` on a request skips the cache and replaces it.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from ntlab.webapi import SECRET_PARAMS

Params = Mapping[str, str]


def cache_key(endpoint: str, params: Params) -> str:
    clean = {k: str(v) for k, v in sorted(params.items()) if k not in SECRET_PARAMS}
    text = json.dumps([endpoint, clean], separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


class NewsCache:
    """Answer pages by request. ``path=None`` keeps them in memory only; ``ttl=None`` never expires them."""

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        ttl: timedelta | float | None = timedelta(hours=1),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path).expanduser() if path is not None else None
        self.ttl = ttl.total_seconds() if isinstance(ttl, timedelta) else ttl
        self.clock = clock
        self._memory: dict[str, tuple[float, dict[str, Any]]] = {}
        self.hits = 0
        self.misses = 0

    def __repr__(self) -> str:
        where = str(self.path) if self.path else "memory"
        return f"NewsCache({where}, {len(self._memory)} entries, {self.hits} hits, {self.misses} misses)"

    def _file(self, key: str) -> Path | None:
        return None if self.path is None else self.path / f"{key}.json"

    def _fresh(self, stored_at: float) -> bool:
        return self.ttl is None or self.clock() - stored_at <= self.ttl

    def get(self, endpoint: str, params: Params) -> dict[str, Any] | None:
        key = cache_key(endpoint, params)
        entry = self._memory.get(key)
        if entry is None:
            entry = self._read(key)
        if entry is not None and self._fresh(entry[0]):
            self._memory[key] = entry
            self.hits += 1
            return entry[1]
        self.misses += 1
        return None

    def _read(self, key: str) -> tuple[float, dict[str, Any]] | None:
        file = self._file(key)
        if file is None or not file.exists():
            return None
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
            return float(data["stored_at"]), data["body"]
        except (OSError, ValueError, KeyError, TypeError):
            return None  # a damaged entry is a miss: the page is fetched and written again

    def put(self, endpoint: str, params: Params, body: dict[str, Any]) -> None:
        key = cache_key(endpoint, params)
        stored_at = self.clock()
        self._memory[key] = (stored_at, body)
        file = self._file(key)
        if file is None:
            return
        file.parent.mkdir(parents=True, exist_ok=True)
        clean = {k: str(v) for k, v in sorted(params.items()) if k not in SECRET_PARAMS}
        record = {"endpoint": endpoint, "params": clean, "stored_at": stored_at, "body": body}
        partial = file.with_suffix(".tmp")
        partial.write_text(json.dumps(record, separators=(",", ":")), encoding="utf-8")
        partial.replace(file)  # a reader never sees half a file

    def clear(self) -> None:
        self._memory.clear()
        if self.path is not None and self.path.exists():
            for file in self.path.glob("*.json"):
                file.unlink(missing_ok=True)
