"""Which ntlab order an Alpaca order is: Alpaca's ids, client order ids and leg orders on ntlab's ids.

An entry's client order id is ntlab's id (a replacement's derives from it), so most orders say themselves
who they are. Legs do not: Alpaca gives a bracket's, oto's or oco's exits ids and client order ids of its
own, and names them only in the entry's ``legs`` array; ntlab knows them as ``<id>-tp`` / ``<id>-sl``.
The map learns them from every entry it sees (a submit's answer, a lookup, a listing, a stream message),
and holds back stream messages about a leg it has not placed yet until it has, so none is lost to a race
between the submit's answer and the stream.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from ntlab.brokers.alpaca import mapping

_PARKED_MAX = 1000


class IdMap:
    """Alpaca order id -> ntlab order id, both ways for the live incarnation of each ntlab order."""

    def __init__(self) -> None:
        self.clients: dict[str, str] = {}  # Alpaca order id -> ntlab order id (every incarnation, legs too)
        self.current: dict[str, str] = {}  # ntlab order id -> Alpaca id of its live incarnation
        self.entry_of: dict[str, str] = {}  # ntlab leg id -> its entry's ntlab id
        self.parked: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()  # unplaced legs' messages

    def ntlab_id(self, data: dict[str, Any]) -> str:
        """The ntlab id of an Alpaca order JSON (a known leg by its Alpaca id, else its client order id)."""
        known = self.clients.get(data.get("id") or "")
        return known if known is not None else mapping.ntlab_id(data["client_order_id"])

    def learn(self, data: dict[str, Any], order_id: str | None = None) -> list[str]:
        """Remember an order (and its legs); returns the Alpaca ids of legs not known before."""
        alpaca_id = data.get("id")
        if not alpaca_id:
            return []
        order_id = order_id or self.ntlab_id(data)
        self.clients[alpaca_id] = order_id
        if data.get("replaced_by") is None:
            self.current[order_id] = alpaca_id
        new = []
        for leg_order_id, leg in mapping.legs_of(data, order_id):
            if leg["id"] not in self.clients:
                new.append(leg["id"])
            self.entry_of[leg_order_id] = order_id
            self.learn(leg, leg_order_id)
        return new

    def is_unplaced_leg(self, data: dict[str, Any]) -> bool:
        """A message about a leg whose entry this map has not seen: its client order id is Alpaca's."""
        return (
            data.get("id") not in self.clients
            and (data.get("order_class") or "simple") != "simple"
            and not data.get("legs")
        )

    def park(self, message: dict[str, Any]) -> None:
        order_id = message["order"]["id"]
        self.parked.setdefault(order_id, []).append(message)
        self.parked.move_to_end(order_id)
        while len(self.parked) > _PARKED_MAX:
            self.parked.popitem(last=False)

    def unpark(self, alpaca_ids: list[str]) -> list[dict[str, Any]]:
        """The held-back messages of legs just learned, in the order they came."""
        found: list[dict[str, Any]] = []
        for alpaca_id in alpaca_ids:
            found.extend(self.parked.pop(alpaca_id, ()))
        return found
