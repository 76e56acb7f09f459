"""ntlab symbols and IB contracts, both ways: US stocks on SMART, FX on IDEALPRO, crypto on PAXOS.

IB names a contract by symbol, security type, exchange and currency (and, once qualified, by its conId):
``AAPL`` is ``STK AAPL SMART USD``; ``BRK.B`` is ``STK "BRK B" SMART USD`` (IB writes the class with a space);
``EUR/USD`` is ``CASH EUR IDEALPRO USD`` (localSymbol ``EUR.USD``); ``BTC/USD`` is ``CRYPTO BTC PAXOS USD``.
These functions are plain data, shared by the adapter (which wraps them in ib_async contracts) and the fake
TWS (which must never depend on the client library it is checked with).
"""

from __future__ import annotations

from typing import NamedTuple

from ntlab.core.instruments import AssetKind, classify_symbol
from ntlab.errors import InvalidArgument

SMART = "SMART"
IDEALPRO = "IDEALPRO"
PAXOS = "PAXOS"

#: How each kind of ntlab symbol is named at IB: security type and the exchange orders route to.
KIND_CONTRACT: dict[AssetKind, tuple[str, str]] = {
    AssetKind.EQUITY: ("STK", SMART),
    AssetKind.FX: ("CASH", IDEALPRO),
    AssetKind.CRYPTO: ("CRYPTO", PAXOS),
}

#: IB's security types back to ntlab's kinds (other types are adopted under their local symbol).
SEC_TYPE_KIND: dict[str, AssetKind] = {sec: kind for kind, (sec, _) in KIND_CONTRACT.items()}


class ContractKey(NamedTuple):
    """What identifies a contract to IB before it is qualified (conId unknown)."""

    symbol: str
    sec_type: str
    exchange: str
    currency: str

    @property
    def local_symbol(self) -> str:
        """IB's local symbol: ``EUR.USD`` for a pair, the symbol itself otherwise."""
        return f"{self.symbol}.{self.currency}" if self.sec_type == "CASH" else self.symbol


def contract_key(symbol: str) -> ContractKey:
    """The IB contract for an ntlab symbol (``AAPL``, ``BRK.B``, ``EUR/USD``, ``BTC/USD``)."""
    kind = classify_symbol(symbol)
    if kind is None:
        raise InvalidArgument(
            f"{symbol!r} is no symbol IB can trade here; use a US stock (AAPL, BRK.B), "
            "an FX pair (EUR/USD) or a crypto pair (BTC/USD)"
        )
    sec_type, exchange = KIND_CONTRACT[kind]
    if kind is AssetKind.EQUITY:
        return ContractKey(symbol.replace(".", " "), sec_type, exchange, "USD")
    base, quote = symbol.split("/")
    return ContractKey(base, sec_type, exchange, quote)


def ntlab_symbol(sec_type: str, symbol: str, currency: str, local_symbol: str = "") -> str:
    """The ntlab symbol of an IB contract; other security types keep IB's local symbol."""
    if sec_type == "STK":
        return symbol.replace(" ", ".")
    if sec_type in ("CASH", "CRYPTO"):
        return f"{symbol}/{currency}"
    return local_symbol or symbol
