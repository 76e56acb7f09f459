"""Client order ids, made locally before any network call.

Generated ids are ``<prefix>-<n>`` with a prefix kept per journal, so a restarted session continues the
numbering. A caller may bring its own id; it never takes over another order's record, and generated ids
skip any id already in use, whoever chose it.
"""

from __future__ import annotations

import secrets
from collections.abc import Container, Iterable


class OrderIds:
    def __init__(self, prefix: str | None, used: Container[str], existing: Iterable[str] = ()) -> None:
        self.prefix = prefix or secrets.token_hex(3)
        self._used = used
        own = f"{self.prefix}-"
        numbers = [int(i[len(own) :]) for i in existing if i.startswith(own) and i[len(own) :].isdigit()]
        self._last = max(numbers, default=0)

    def new(self) -> str:
        """The next generated id not in use."""
        while True:
            self._last += 1
            order_id = f"{self.prefix}-{self._last:06d}"
            if order_id not in self._used:
                return order_id

    def claim(self, requested: str | None) -> tuple[str, bool]:
        """The id for a new order and whether the caller's own id was refused as already used."""
        if requested is None:
            return self.new(), False
        if requested in self._used:
            return self.new(), True
        return requested, False
