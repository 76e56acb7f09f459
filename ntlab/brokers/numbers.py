"""JSON for APIs that take prices and quantities as JSON numbers, not strings (Questrade, Lime).

Each Decimal is written in its own digits, never through a float, so ``Decimal("190.10")`` goes out as
``190.10``. Used by the adapters and by their fakes, which answer the same way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

_MARKED = re.compile(r'"__dec__([-0-9.Ee+]+)__"')


def number_json(data: Any, other: Callable[[Any], Any] | None = None) -> str:
    """``data`` as JSON text with Decimals as numbers; anything else json cannot write goes through
    ``other`` (a TypeError naming the type when there is none)."""

    def mark(value: Any) -> Any:
        if isinstance(value, Decimal):
            return f"__dec__{value}__"
        if other is not None:
            return other(value)
        raise TypeError(f"cannot write {type(value).__name__} as JSON")

    return _MARKED.sub(r"\1", json.dumps(data, default=mark))
