"""Which Questrade order is which ntlab order, when Questrade has no client order id.

ntlab knows an order it placed by the Questrade id that came back. Two things can break that, and this map
covers both:

- a restart: the map lives in a file (beside the token file unless named), written atomically, so a new
  session still knows its orders;
- a POST whose answer never came (timeout, reset): the order may or may not exist. It is never sent
  again blindly. Before sending, the adapter records what it is about to send (symbol id, side, quantity,
  type, prices) and the broker time; after an unclear outcome, it lists the day's orders and takes the
  earliest one that matches those fields, was created no earlier than the send (less ``SLACK``), and is
  not already another ntlab order. None found: the order never arrived and the manager may send again.

The rule's limit, said plainly: an identical order placed from another app in the same moments would be
taken for ours. The window is the time between the send and the lookup.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from ntlab.brokers.questrade import mapping
from ntlab.brokers.questrade.auth import write_atomically

log = logging.getLogger(__name__)

SLACK = timedelta(minutes=10)  # clock difference between this machine and Questrade we tolerate


@dataclass(slots=True)
class Sent:
    """What an order's POST carried, kept until its Questrade id is known."""

    symbol_id: int
    side: str  # Questrade's action: Buy / Sell
    quantity: Decimal
    order_type: str
    limit_price: Decimal | None
    stop_price: Decimal | None
    at: datetime

    def matches(self, data: dict[str, Any]) -> bool:
        created = mapping.parse_time(data.get("creationTime"))
        return (
            int(data.get("symbolId", -1)) == self.symbol_id
            and mapping.SIDE.get(str(data.get("side"))) == mapping.SIDE[self.side]
            and mapping.dec(data.get("totalQuantity")) == self.quantity
            and str(data.get("orderType")) == self.order_type
            and mapping.dec(data.get("limitPrice")) == self.limit_price
            and mapping.dec(data.get("stopPrice")) == self.stop_price
            and created is not None
            and created >= self.at - SLACK
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "symbol_id": self.symbol_id,
            "side": self.side,
            "quantity": str(self.quantity),
            "order_type": self.order_type,
            "limit_price": None if self.limit_price is None else str(self.limit_price),
            "stop_price": None if self.stop_price is None else str(self.stop_price),
            "at": self.at.isoformat(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Sent:
        return cls(
            symbol_id=int(data["symbol_id"]),
            side=str(data["side"]),
            quantity=Decimal(data["quantity"]),
            order_type=str(data["order_type"]),
            limit_price=None if data["limit_price"] is None else Decimal(data["limit_price"]),
            stop_price=None if data["stop_price"] is None else Decimal(data["stop_price"]),
            at=datetime.fromisoformat(data["at"]),
        )


@dataclass
class OrderMap:
    """ntlab id <-> Questrade ids (every incarnation: a replace makes a new Questrade id), and the sends
    whose outcome is not known yet. ``path`` None keeps it in memory only (tests, one-off scripts)."""

    path: Path | None = None
    current: dict[str, str] = field(default_factory=dict)  # ntlab id -> Questrade id of its live order
    owners: dict[str, str] = field(default_factory=dict)  # every Questrade id -> ntlab id
    sent: dict[str, Sent] = field(default_factory=dict)  # ntlab id -> what its POST carried

    @classmethod
    def load(cls, path: Path | None) -> OrderMap:
        made = cls(path)
        if path is None or not path.is_file():
            return made
        data = json.loads(path.read_text())
        made.current = dict(data.get("current", {}))
        made.owners = dict(data.get("owners", {}))
        made.sent = {k: Sent.from_json(v) for k, v in data.get("sent", {}).items()}
        return made

    def save(self) -> None:
        if self.path is None:
            return
        data = {
            "current": self.current,
            "owners": self.owners,
            "sent": {k: v.as_json() for k, v in self.sent.items()},
        }
        write_atomically(self.path, json.dumps(data, indent=1, sort_keys=True))

    def ntlab_id(self, questrade_id: Any) -> str:
        """ntlab's id for a Questrade order: ours if we placed it, ``questrade-<id>`` otherwise."""
        return self.owners.get(str(questrade_id)) or f"{mapping.EXTERNAL_PREFIX}{questrade_id}"

    def questrade_id(self, order_id: str) -> str | None:
        known = self.current.get(order_id)
        if known is not None:
            return known
        if order_id.startswith(mapping.EXTERNAL_PREFIX):
            return order_id[len(mapping.EXTERNAL_PREFIX) :]
        return None

    def sending(self, order_id: str, sent: Sent) -> None:
        """Record a send before it goes out (so a crash mid-send still leaves the fields to match)."""
        self.sent[order_id] = sent
        self.save()

    def placed(self, order_id: str, questrade_id: Any) -> None:
        qid = str(questrade_id)
        self.current[order_id] = qid
        self.owners[qid] = order_id
        self.sent.pop(order_id, None)
        self.save()

    def not_sent(self, order_id: str) -> None:
        """The send provably did not arrive: forget it (a resend records itself again)."""
        if self.sent.pop(order_id, None) is not None:
            self.save()

    def match(self, order_id: str, day_orders: list[dict[str, Any]]) -> dict[str, Any] | None:
        """The lookup rule: the earliest unclaimed order of the day matching what ``order_id`` sent."""
        sent = self.sent.get(order_id)
        if sent is None:
            return None
        candidates = [o for o in day_orders if str(o.get("id")) not in self.owners and sent.matches(o)]
        if not candidates:
            return None
        candidates.sort(key=lambda o: (str(o.get("creationTime")), int(o.get("id", 0))))
        found = candidates[0]
        if len(candidates) > 1:
            log.warning(
                "%d Questrade orders match %s's fields; taking the earliest (%s)",
                len(candidates),
                order_id,
                found.get("id"),
            )
        self.placed(order_id, found["id"])
        return found
