"""Progress on long downloads: a tqdm bar in scripts and terminals, tqdm's widget in notebooks.

The bar is made by the caller's thread (a notebook widget must be displayed from the kernel's thread) and only
updated from the download, which sets values and never displays anything. Without tqdm installed, or for a
download of a single request, there is no bar.
"""

from __future__ import annotations

import sys
from typing import Any, Protocol


class Progress(Protocol):
    def update(self, n: int = 1) -> Any: ...
    def set_postfix_str(self, s: str = "", refresh: bool = True) -> Any: ...
    def close(self) -> Any: ...


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    if shell is None or "ipykernel" not in sys.modules:
        return False
    ip = shell.get_ipython()  # type: ignore[attr-defined]
    return ip is not None and getattr(ip, "kernel", None) is not None


def progress_bar(total: int, description: str, enabled: bool | None = True) -> Progress | None:
    """A bar counting ``total`` requests, or None when not wanted (``enabled`` false, one request, no tqdm)."""
    if not enabled or total < 2:
        return None
    try:
        if _in_notebook():
            from tqdm.notebook import tqdm as notebook_tqdm

            return notebook_tqdm(total=total, desc=description, unit="req")  # type: ignore[no-any-return]
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=description, unit="req", disable=None, leave=False)  # type: ignore[no-any-return]
