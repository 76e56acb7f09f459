"""ntlab errors in a notebook: one readable line, the full traceback on demand.

An ntlab error is something to fix in the cell (a bad quantity, a price outside the band), not a bug to
debug, so IPython shows it as ``InvalidOrder: [tif_not_allowed] crypto orders take ...`` in one line.
``%tb`` prints the full traceback, the core's frames included. Other exceptions keep IPython's usual
display. ``Lab()`` installs the hook; ``install(False)`` takes it away.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any

from ntlab.errors import NtlabError

HINT = "(%tb shows the full traceback)"


def one_line(error: BaseException) -> str:
    """``ClassName: message`` on one line (reason codes are part of an OrderDenied's message)."""
    text = " ".join(str(error).split()) or "(no message)"
    return f"{type(error).__name__}: {text}"


def full_traceback(error: BaseException, tb: TracebackType | None) -> TracebackType | None:
    """The caller's frames followed by the core's, when the error crossed the bridge."""
    core = getattr(error, "core_traceback", None)
    if tb is None or core is None:
        return tb or core
    last = tb
    while last.tb_next is not None:
        if last.tb_next is core:
            return tb
        last = last.tb_next
    last.tb_next = core
    return tb


def _show(
    shell: Any,
    etype: type[BaseException],
    value: BaseException,
    tb: TracebackType | None,
    tb_offset: Any = None,
) -> list[str]:
    tb = full_traceback(value, tb)
    sys.last_type, sys.last_value, sys.last_traceback = etype, value, tb
    if sys.version_info >= (3, 12):
        sys.last_exc = value  # type: ignore[attr-defined]
    value.__traceback__ = tb
    line = f"\x1b[0;31m{one_line(value)}\x1b[0m  \x1b[2m{HINT}\x1b[0m"
    shell._showtraceback(etype, value, [line])
    return [line]


def install(on: bool = True) -> bool:
    """Show ntlab errors as one line in the running IPython (a no-op outside one); True if installed."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    if on:
        shell.set_custom_exc((NtlabError,), _show)
    elif NtlabError in shell.custom_exceptions:
        shell.set_custom_exc((), None)
    return on
