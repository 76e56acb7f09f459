"""What can be traded and how: symbol grammar per asset kind, tick size and quantity step.

Validation asks an :class:`InstrumentRegistry` for the instrument behind a symbol. Symbols the registry does
not know are classified by their shape (``AAPL`` equity, ``EUR/USD`` FX, ``BTC/USD`` crypto) and get the
conventional tick and lot of their kind, so user data and real brokers work without registering anything.
"""

from __future__ import annotations

import functools
import re
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class AssetKind(StrEnum):
    EQUITY = "equity"
    CRYPTO = "crypto"
    FX = "fx"


# ISO 4217 codes of the currencies FX pairs are quoted in; a slash pair of two of these is FX, else crypto.
FIAT = frozenset(
    [
        "USD",
        "EUR",
        "JPY",
        "GBP",
        "CHF",
        "AUD",
        "NZD",
        "CAD",
        "SEK",
        "NOK",
        "DKK",
        "HKD",
        "SGD",
        "CNH",
        "MXN",
        "ZAR",
        "PLN",
        "CZK",
        "HUF",
        "TRY",
        "ILS",
        "INR",
        "KRW",
    ]
)

EQUITY_SYMBOL = re.compile(r"^[A-Z]{1,5}(\.[A-Z]{1,2})?$")
FX_SYMBOL = re.compile(r"^([A-Z]{3})/([A-Z]{3})$")
CRYPTO_SYMBOL = re.compile(r"^([A-Z0-9]{2,10})/([A-Z]{3,5})$")

SYMBOL_FORMS = "equity like AAPL or BRK.B, crypto like BTC/USD, FX like EUR/USD"


class Instrument(BaseModel):
    """A tradable symbol with the increments and minimums the venue accepts.

    ``min_quantity`` and ``min_notional`` (quantity x price, in ``currency``) are the venue's smallest
    order, where it has one (crypto exchanges do: Binance's LOT_SIZE minQty and NOTIONAL filters); None
    means no minimum beyond one lot.
    """

    model_config = ConfigDict(frozen=True)

    symbol: str
    kind: AssetKind
    tick_size: Decimal
    lot_size: Decimal = Decimal(1)
    currency: str = "USD"
    min_quantity: Decimal | None = None
    min_notional: Decimal | None = None

    @property
    def fractional(self) -> bool:
        """Whether quantities below one unit are allowed."""
        return self.lot_size < 1


@functools.lru_cache(maxsize=4096)  # symbols repeat: every order asks again
def classify_symbol(symbol: str) -> AssetKind | None:
    """The asset kind a symbol's shape implies, or None when it fits no known form.

    Symbols are plain ASCII, matched whole: a character outside ASCII or a trailing newline is no symbol
    (never folded to one: ``'ſPY'.upper()`` is ``'SPY'``).
    """
    if not symbol.isascii():
        return None
    if EQUITY_SYMBOL.fullmatch(symbol):
        return AssetKind.EQUITY
    fx = FX_SYMBOL.fullmatch(symbol)
    if fx and fx.group(1) in FIAT and fx.group(2) in FIAT and fx.group(1) != fx.group(2):
        return AssetKind.FX
    crypto = CRYPTO_SYMBOL.fullmatch(symbol)
    if crypto and not (crypto.group(1) in FIAT and crypto.group(2) in FIAT):
        return AssetKind.CRYPTO
    return None


def default_instrument(symbol: str, kind: AssetKind) -> Instrument:
    """The conventional increments of a kind: cent ticks and whole shares for equities, and so on."""
    if kind is AssetKind.EQUITY:
        return Instrument(symbol=symbol, kind=kind, tick_size=Decimal("0.01"), lot_size=Decimal(1))
    quote = symbol.split("/")[1]
    if kind is AssetKind.FX:
        tick = Decimal("0.001") if quote == "JPY" else Decimal("0.00001")
        return Instrument(symbol=symbol, kind=kind, tick_size=tick, lot_size=Decimal(1), currency=quote)
    return Instrument(
        symbol=symbol, kind=kind, tick_size=Decimal("0.01"), lot_size=Decimal("0.0001"), currency=quote
    )


class InstrumentRegistry:
    """Known instruments by symbol, falling back to the conventions of the symbol's kind."""

    def __init__(self, instruments: list[Instrument] | None = None) -> None:
        self._by_symbol: dict[str, Instrument] = {i.symbol: i for i in instruments or []}

    def add(self, instrument: Instrument) -> None:
        self._by_symbol[instrument.symbol] = instrument

    def get(self, symbol: str) -> Instrument | None:
        """The instrument for ``symbol``; None when the symbol has no valid form."""
        found = self._by_symbol.get(symbol)
        if found is not None:
            return found
        kind = classify_symbol(symbol)
        if kind is None:
            return None
        instrument = default_instrument(symbol, kind)
        self._by_symbol[symbol] = instrument
        return instrument

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._by_symbol

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._by_symbol.values())
