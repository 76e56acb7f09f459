"""What the adapter and the fake both speak: v20's spellings of instruments, numbers and times.

v20 sends every price, amount and unit count as a JSON string ("1.08123", "-10000", "12.3456"); they are read
into ``Decimal`` straight from the string and written back with ``format(value, "f")``, so no float ever
touches money. Instruments are ``EUR_USD`` on the wire and ``EUR/USD`` in ntlab (CFDs and metals alike:
``XAU_USD`` is ``XAU/USD``). Times are RFC 3339 with nanoseconds (``2024-03-01T14:30:00.123456789Z``), or
UNIX seconds with a fraction when a client asks for ``Accept-Datetime-Format: UNIX``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from ntlab.core.enums import Side

_RFC3339 = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})T(?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<frac>\d{1,9}))?(?P<zone>Z|[+-]\d{2}:\d{2})$"
)


def instrument_name(symbol: str) -> str:
    """ntlab's ``EUR/USD`` as v20's ``EUR_USD``."""
    return symbol.replace("/", "_")


def symbol_of(instrument: str) -> str:
    """v20's ``EUR_USD`` as ntlab's ``EUR/USD``."""
    return instrument.replace("_", "/")


def decimal(value: Any) -> Decimal | None:
    """A v20 number (a string on the wire; an int for bucket liquidity) as Decimal; None when absent."""
    if value is None or value == "":
        return None
    if isinstance(value, float):
        raise TypeError(f"v20 numbers travel as strings; got the float {value!r}")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a v20 decimal number") from None


def text(value: Decimal | int) -> str:
    """A Decimal as v20 writes it: plain digits, never an exponent."""
    return format(value, "f")


def signed_units(side: Side, quantity: Decimal) -> str:
    """ntlab's side and quantity as v20's signed units: positive buys, negative sells."""
    return text(quantity if side is Side.BUY else -quantity)


def side_of(units: Decimal) -> Side:
    return Side.BUY if units > 0 else Side.SELL


def parse_time(value: str | None) -> datetime | None:
    """An RFC 3339 (nanoseconds allowed) or UNIX-seconds v20 time as an aware UTC datetime."""
    if not value:
        return None
    found = _RFC3339.match(value)
    if found is None:
        try:
            seconds = Decimal(value)
        except InvalidOperation:
            raise ValueError(f"{value!r} is not an RFC 3339 or UNIX time") from None
        whole = int(seconds)
        micros = int((seconds - whole) * 1_000_000)
        return datetime.fromtimestamp(whole, tz=UTC) + timedelta(microseconds=micros)
    frac = (found.group("frac") or "").ljust(6, "0")[:6]
    zone = found.group("zone")
    stamp = datetime.fromisoformat(
        f"{found.group('date')}T{found.group('time')}.{frac}{'+00:00' if zone == 'Z' else zone}"
    )
    return stamp.astimezone(UTC)


def format_time(when: datetime, unix: bool = False) -> str:
    """A datetime as v20 writes it: RFC 3339 with nine fractional digits, or UNIX seconds."""
    when = when.astimezone(UTC)
    if unix:
        return f"{int(when.timestamp())}.{when.microsecond:06d}000"
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond:06d}000Z"


class InstrumentSpec(NamedTuple):
    """What v20 says about trading one instrument (``GET /v3/accounts/{id}/instruments``).

    ``pip`` is ``10 ** pipLocation`` (0.0001 for EUR_USD, 0.01 for USD_JPY); prices carry
    ``display_precision`` decimals and units ``trade_units_precision`` decimals.
    """

    name: str
    type: str
    display_name: str
    pip_location: int
    display_precision: int
    trade_units_precision: int
    minimum_trade_size: Decimal
    maximum_order_units: Decimal
    maximum_position_size: Decimal
    margin_rate: Decimal

    @property
    def symbol(self) -> str:
        return symbol_of(self.name)

    @property
    def pip(self) -> Decimal:
        return Decimal(1).scaleb(self.pip_location)

    @property
    def tick(self) -> Decimal:
        return Decimal(1).scaleb(-self.display_precision)

    def pips(self, price_difference: Decimal) -> Decimal:
        """A price difference in pips (to a tenth of a pip, the fractional pip dealers quote)."""
        return (price_difference / self.pip).quantize(Decimal("0.1"))

    def price_text(self, price: Decimal) -> str:
        """A price at this instrument's display precision."""
        return text(price.quantize(self.tick))

    @classmethod
    def from_v20(cls, data: dict[str, Any]) -> InstrumentSpec:
        return cls(
            name=data["name"],
            type=data.get("type", "CURRENCY"),
            display_name=data.get("displayName", symbol_of(data["name"])),
            pip_location=int(data["pipLocation"]),
            display_precision=int(data["displayPrecision"]),
            trade_units_precision=int(data.get("tradeUnitsPrecision", 0)),
            minimum_trade_size=decimal(data.get("minimumTradeSize")) or Decimal(1),
            maximum_order_units=decimal(data.get("maximumOrderUnits")) or Decimal(100_000_000),
            maximum_position_size=decimal(data.get("maximumPositionSize")) or Decimal(0),
            margin_rate=decimal(data.get("marginRate")) or Decimal("0.02"),
        )

    def to_v20(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "displayName": self.display_name,
            "pipLocation": self.pip_location,
            "displayPrecision": self.display_precision,
            "tradeUnitsPrecision": self.trade_units_precision,
            "minimumTradeSize": text(self.minimum_trade_size),
            "maximumTrailingStopDistance": "1.00000",
            "minimumTrailingStopDistance": text(self.pip * 5),
            "maximumPositionSize": text(self.maximum_position_size),
            "maximumOrderUnits": text(self.maximum_order_units),
            "marginRate": text(self.margin_rate),
        }
