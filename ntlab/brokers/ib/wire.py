"""The TWS API socket protocol's framing and spelling, as TWS and IB Gateway speak it to API clients.

Every message is a 4-byte big-endian length, then text fields each ended by a NUL byte. Numbers are decimal
text, booleans ``1``/``0``, an unset value is empty (or, in some fields TWS fills itself, the sentinels
``2147483647`` and ``1.7976931348623157E308``), infinity is ``Infinite``. A connection opens with the raw
bytes ``API\\0`` and one framed field ``v<min>..<max>`` (the client's version range); the server answers one
message of exactly two fields (its version and the connection time), and the client then sends startApi.

The message ids are named from the API client's side, as IB's own sources name them: :class:`In` is what
TWS sends (a client reads it), :class:`Out` what a client sends. The adapter never speaks this protocol
itself (ib_async does); the fake TWS and the tests that check it against ib_async's decoder do.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from enum import IntEnum
from zoneinfo import ZoneInfo

UNSET_INTEGER = 2**31 - 1
UNSET_DOUBLE = "1.7976931348623157E308"
HANDSHAKE = b"API\0"
MAX_MESSAGE = 16 * 1024 * 1024  # TWS refuses larger messages; a client sending one is broken

EASTERN = ZoneInfo("US/Eastern")


class In(IntEnum):
    """Message ids TWS sends to a client."""

    TICK_PRICE = 1
    TICK_SIZE = 2
    ORDER_STATUS = 3
    ERR_MSG = 4
    OPEN_ORDER = 5
    ACCT_VALUE = 6
    PORTFOLIO_VALUE = 7
    ACCT_UPDATE_TIME = 8
    NEXT_VALID_ID = 9
    CONTRACT_DATA = 10
    EXECUTION_DATA = 11
    MANAGED_ACCTS = 15
    CURRENT_TIME = 49
    CONTRACT_DATA_END = 52
    OPEN_ORDER_END = 53
    ACCT_DOWNLOAD_END = 54
    EXECUTION_DATA_END = 55
    TICK_SNAPSHOT_END = 57
    MARKET_DATA_TYPE = 58
    COMMISSION_REPORT = 59
    POSITION_DATA = 61
    POSITION_END = 62
    ACCOUNT_SUMMARY = 63
    ACCOUNT_SUMMARY_END = 64
    ACCOUNT_UPDATE_MULTI = 73
    ACCOUNT_UPDATE_MULTI_END = 74
    PNL = 94
    COMPLETED_ORDER = 101
    COMPLETED_ORDERS_END = 102


class Out(IntEnum):
    """Message ids a client sends to TWS."""

    REQ_MKT_DATA = 1
    CANCEL_MKT_DATA = 2
    PLACE_ORDER = 3
    CANCEL_ORDER = 4
    REQ_OPEN_ORDERS = 5
    REQ_ACCT_DATA = 6
    REQ_EXECUTIONS = 7
    REQ_IDS = 8
    REQ_CONTRACT_DATA = 9
    REQ_AUTO_OPEN_ORDERS = 15
    REQ_ALL_OPEN_ORDERS = 16
    REQ_MANAGED_ACCTS = 17
    REQ_CURRENT_TIME = 49
    REQ_GLOBAL_CANCEL = 58
    REQ_MARKET_DATA_TYPE = 59
    REQ_POSITIONS = 61
    REQ_ACCOUNT_SUMMARY = 62
    CANCEL_ACCOUNT_SUMMARY = 63
    CANCEL_POSITIONS = 64
    START_API = 71
    REQ_ACCOUNT_UPDATES_MULTI = 76
    CANCEL_ACCOUNT_UPDATES_MULTI = 77
    REQ_PNL = 92
    CANCEL_PNL = 93
    REQ_COMPLETED_ORDERS = 99


def text(value: object) -> str:
    """One field as TWS spells it: Decimal without exponent, bool as 1/0, None as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Decimal):
        if not value.is_finite():
            return "Infinite" if value > 0 else ""
        if value == value.to_integral_value():
            return str(value.quantize(Decimal(1)))
        return format(value.normalize(), "f")
    return str(value)


def frame(fields: Iterable[object]) -> bytes:
    """A message: its fields NUL-terminated, prefixed with the payload's length."""
    payload = "".join(text(f) + "\0" for f in fields).encode()
    return struct.pack(">I", len(payload)) + payload


def split(payload: bytes) -> list[str]:
    """The fields of one message's payload (the trailing NUL ends the last field)."""
    fields = payload.decode(errors="backslashreplace").split("\0")
    if fields and fields[-1] == "":
        fields.pop()
    return fields


async def read_message(reader: asyncio.StreamReader) -> list[str]:
    """Read one framed message; IncompleteReadError when the peer goes away."""
    size = struct.unpack(">I", await reader.readexactly(4))[0]
    if size > MAX_MESSAGE:
        raise ConnectionError(f"a {size}-byte message is larger than TWS accepts")
    return split(await reader.readexactly(size))


def tws_time(when: datetime) -> str:
    """A time as TWS writes it in executions and the handshake: ``20260302 09:31:05 US/Eastern``."""
    return when.astimezone(EASTERN).strftime("%Y%m%d %H:%M:%S") + " US/Eastern"


def parse_number(value: str) -> Decimal | None:
    """A numeric field: None when empty or one of the unset sentinels."""
    if value == "" or value == UNSET_DOUBLE or value == str(UNSET_INTEGER):
        return None
    if value == "Infinite":
        return Decimal("Infinity")
    number = Decimal(value)
    if number >= Decimal("1e300"):  # a client's float spelling of the unset double
        return None
    return number
