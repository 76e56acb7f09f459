"""What was fetched stays on disk: Parquet files partitioned by provider, data kind, symbol and day.

Layout (``root`` defaults to ``NTLAB_CACHE_DIR``, else ``~/.cache/ntlab/market``)::

    root/polygon/quotes/AAPL/2026-03-02.parquet
    root/polygon/bars-5min/AAPL/2026-03-02.parquet
    root/alpaca/trades/BRK.B/2026-03-02.parquet

One file holds one symbol's rows for one New York calendar day, without the ``symbol`` column (the path says
it). A day the provider answered with nothing (a holiday it keeps, a halted stock) is stored as an empty file,
so asking again costs no request either. Only finished days are kept: today's data is still arriving.

Writes go to a temporary file first and are renamed into place, so a crash never leaves half a partition that
a later read would take as complete. ``max_bytes`` caps the folder: after each write the least recently read
partitions go first. Secrets never reach this folder: partitions hold market data only, and the paths hold
provider names, kinds, symbols and dates.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from datetime import date
from pathlib import Path
from urllib.parse import quote, unquote

import pandas as pd

from ntlab.errors import ConfigError, DataError

DEFAULT_MAX_BYTES = 5 * 1024**3


def default_root() -> Path:
    env = os.environ.get("NTLAB_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ntlab" / "market"


def _require_pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError as error:
        raise ConfigError(
            'the market-data cache writes Parquet, which needs pyarrow: pip install "ntlab[data]"'
        ) from error


class ParquetCache:
    """A folder of Parquet partitions. ``cache.read(...)`` what ``cache.write(...)`` stored; ``clear()`` empties it."""

    def __init__(self, root: str | Path | None = None, *, max_bytes: int | None = DEFAULT_MAX_BYTES) -> None:
        _require_pyarrow()
        self.root = Path(root).expanduser() if root is not None else default_root()
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._total: int | None = None  # bytes stored, counted once and then kept up to date by writes
        self.reads = 0
        self.writes = 0

    def __repr__(self) -> str:
        cap = "no cap" if self.max_bytes is None else f"cap {self.max_bytes / 1e9:.1f} GB"
        return f"ParquetCache({self.root}, {cap})"

    # --- paths ------------------------------------------------------------------------------------------------
    def path(self, provider: str, kind: str, symbol: str, day: date) -> Path:
        return self.root / provider / kind / quote(symbol, safe="") / f"{day:%Y-%m-%d}.parquet"

    def has(self, provider: str, kind: str, symbol: str, day: date) -> bool:
        return self.path(provider, kind, symbol, day).is_file()

    def days(self, provider: str, kind: str, symbol: str) -> list[date]:
        """The days stored for one symbol, oldest first."""
        folder = self.root / provider / kind / quote(symbol, safe="")
        if not folder.is_dir():
            return []
        return sorted(date.fromisoformat(p.stem) for p in folder.glob("*.parquet"))

    def symbols(self, provider: str, kind: str) -> list[str]:
        folder = self.root / provider / kind
        return sorted(unquote(p.name) for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []

    # --- reading and writing ------------------------------------------------------------------------------------
    def read(self, provider: str, kind: str, symbol: str, day: date) -> pd.DataFrame:
        """One partition's rows (no ``symbol`` column); a DataError if it is missing or unreadable."""
        path = self.path(provider, kind, symbol, day)
        try:
            frame = pd.read_parquet(path)
        except FileNotFoundError as error:
            raise DataError(f"the cache has no {kind} of {symbol} on {day} from {provider}") from error
        except Exception as error:  # a damaged file: say which, so it can be deleted or refreshed
            raise DataError(
                f"cached {kind} of {symbol} on {day} from {provider} cannot be read ({error}); "
                f"delete {path} or fetch again with refresh=True"
            ) from error
        with contextlib.suppress(OSError):
            os.utime(path)  # recently read partitions are the last to be evicted
        self.reads += 1
        return frame

    def write(self, provider: str, kind: str, symbol: str, day: date, frame: pd.DataFrame) -> Path:
        """Store one partition (atomically), then keep the folder under its cap."""
        path = self.path(provider, kind, symbol, day)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
        os.close(handle)
        before = path.stat().st_size if path.is_file() else 0
        try:
            frame.reset_index(drop=True).to_parquet(temp, index=False)
            os.replace(temp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
        self.writes += 1
        if self.max_bytes is not None:
            with self._lock:
                if self._total is None:
                    self._total = sum(p.stat().st_size for p in self._files())
                else:
                    self._total += path.stat().st_size - before
                over = self._total > self.max_bytes
            if over:
                self.enforce_cap(keep=path)
        return path

    # --- size ---------------------------------------------------------------------------------------------------
    def _files(self) -> list[Path]:
        return [p for p in self.root.rglob("*.parquet") if p.is_file()] if self.root.is_dir() else []

    def size(self) -> int:
        """Bytes stored."""
        return sum(p.stat().st_size for p in self._files())

    def enforce_cap(self, *, keep: Path | None = None) -> int:
        """Delete the least recently used partitions until the folder fits ``max_bytes``; returns bytes freed."""
        if self.max_bytes is None:
            return 0
        with self._lock:
            files = [(p.stat(), p) for p in self._files()]
            total = sum(s.st_size for s, _ in files)
            freed = 0
            for stat, path in sorted(files, key=lambda item: item[0].st_mtime):
                if total - freed <= self.max_bytes:
                    break
                if path == keep:
                    continue
                with contextlib.suppress(OSError):
                    path.unlink()
                    freed += stat.st_size
            self._total = total - freed
            return freed

    def clear(self, provider: str | None = None) -> int:
        """Delete every partition (of one provider); returns how many."""
        folder = self.root / provider if provider else self.root
        removed = 0
        for path in list(folder.rglob("*.parquet")) if folder.is_dir() else []:
            path.unlink()
            removed += 1
        with self._lock:
            self._total = None
        return removed
