"""The errors ntlab raises: a small hierarchy to catch, each message saying what was wrong and what to do.

NtlabError                      everything ntlab raises on purpose
├── ConfigError                 settings, environment variables, constructor arguments
│   ├── InvalidArgument         a bad argument to the Lab or the algos (also a ValueError)
│   └── LiveTradingError        live trading asked for without both keys of the gate
├── OrderError                  about one order (``order_id`` says which)
│   ├── OrderDenied             refused before any broker saw it (``reason``: a stable Reason code)
│   │   ├── InvalidOrder        the request is malformed
│   │   └── RiskDenied          well-formed, but a risk limit or the kill switch refuses it
│   ├── OrderRejected           the broker refused it (the broker's words in the message)
│   ├── UnknownOrder            no such order in the session (also a KeyError)
│   └── OrderClosed             already final: nothing can change it
│       └── OrderNotCancelable  ... asked to cancel
├── BrokerError                 a broker call failed
│   ├── BrokerUnavailable       provably did not arrive: safe to retry
│   │   └── RateLimited         refused for rate (``retry_after`` seconds)
│   ├── BrokerTimeout           may have arrived: look before retrying
│   └── AuthenticationError     credentials refused
├── DataError                   malformed market data or analytics input (also a ValueError)
│   └── ProviderError           a market-data provider refused (its words in the message)
│       └── ProviderRateLimited its rate limit or quota held
├── JournalError                the journal cannot be opened, locked or written
└── SessionClosed               the OrderManager or Lab was closed
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    """Why an order was refused. Stable codes: safe to branch on and to store."""

    INVALID_SYMBOL = "invalid_symbol"
    INVALID_QUANTITY = "invalid_quantity"
    FRACTIONAL_NOT_ALLOWED = "fractional_not_allowed"
    MISSING_LIMIT_PRICE = "missing_limit_price"
    LIMIT_PRICE_NOT_ALLOWED = "limit_price_not_allowed"
    MISSING_STOP_PRICE = "missing_stop_price"
    STOP_PRICE_NOT_ALLOWED = "stop_price_not_allowed"
    INVALID_PRICE = "invalid_price"
    OFF_TICK = "off_tick"
    TIF_NOT_ALLOWED = "tif_not_allowed"
    INVALID_FIELD = "invalid_field"
    DUPLICATE_ORDER_ID = "duplicate_order_id"
    MAX_NOTIONAL = "max_notional"
    MIN_NOTIONAL = "min_notional"
    WOULD_TAKE = "would_take"
    MAX_POSITION = "max_position"
    PRICE_BAND = "price_band"
    NO_REFERENCE_PRICE = "no_reference_price"
    RATE_LIMIT = "rate_limit"
    TRADING_HALTED = "trading_halted"
    RESTRICTED_SYMBOL = "restricted_symbol"
    STOP_WOULD_TRIGGER = "stop_would_trigger"
    MAX_OPEN_ORDERS = "max_open_orders"
    MAX_GROSS_EXPOSURE = "max_gross_exposure"
    MAX_NET_EXPOSURE = "max_net_exposure"
    DAILY_LOSS_LIMIT = "daily_loss_limit"
    NO_LOCATE = "no_locate"
    SELF_TRADE = "self_trade"
    DUPLICATE_ORDER = "duplicate_order"
    BROKER_REJECTED = "broker_rejected"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    INSUFFICIENT_POSITION = "insufficient_position"
    UNKNOWN_SYMBOL = "unknown_symbol"
    NOT_ALLOWED = "not_allowed"
    JOURNAL_UNAVAILABLE = "journal_unavailable"
    NEVER_SENT = "never_sent"
    MARKET_CLOSED = "market_closed"  # the venue is not trading the instrument now (FX at the weekend)


class NtlabError(Exception):
    """Base of every error ntlab raises on purpose."""


class ConfigError(NtlabError):
    """Configuration is inconsistent or incomplete (environment variables, constructor arguments)."""


class InvalidArgument(ConfigError, ValueError):
    """A call was given an argument it cannot use: None for a symbol, a zero interval, an unknown status.

    Raised before anything is sent or scheduled, so nothing has happened and the call can simply be fixed.
    """


class LiveTradingError(ConfigError):
    """Live trading was asked for without both keys of the live-trading gate."""


class OrderError(NtlabError):
    """Something about a specific order."""

    def __init__(self, message: str, *, order_id: str | None = None) -> None:
        super().__init__(message)
        self.order_id = order_id


class OrderDenied(OrderError):
    """The order was refused before it reached a broker; ``reason`` says why in a stable code."""

    def __init__(self, reason: Reason, message: str, *, order_id: str | None = None) -> None:
        super().__init__(message, order_id=order_id)
        self.reason = Reason(reason)

    def __str__(self) -> str:
        return f"[{self.reason.value}] {self.args[0]}"


class InvalidOrder(OrderDenied):
    """The request itself is malformed: bad symbol, quantity, prices or time in force."""


class RiskDenied(OrderDenied):
    """The request is well-formed but breaks a pre-trade risk limit or trading is halted."""


class OrderRejected(OrderError):
    """The broker refused the order; the broker's own words are in the message."""


class UnknownOrder(OrderError, KeyError):
    """No order with this id is known to the session."""

    def __str__(self) -> str:
        return str(self.args[0])


class OrderClosed(OrderError):
    """The order is already in a final state (filled, cancelled, rejected, expired): nothing can change it."""


class OrderNotCancelable(OrderClosed):
    """A cancel of an order that is already in a final state."""


class BrokerError(NtlabError):
    """A broker call failed."""


class BrokerUnavailable(BrokerError):
    """The request provably did not reach the broker (refused connection, 5xx before acceptance): safe to retry."""


class BrokerTimeout(BrokerError):
    """No answer in time: the broker may or may not have acted, so look before retrying."""


class RateLimited(BrokerUnavailable):
    """The broker refused for rate; ``retry_after`` seconds is when it will listen again."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AuthenticationError(BrokerError):
    """The broker did not accept the credentials."""


class DataError(NtlabError, ValueError):
    """Market data or analytics input is malformed: missing columns, unsorted times, bad prices."""


class ProviderError(DataError):
    """A market-data provider refused a request: rejected key, unknown symbol, data the plan does not include."""


class ProviderRateLimited(ProviderError):
    """A provider's rate limit or quota held after waiting (or cannot pass today); ``retry_after`` in seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class JournalError(NtlabError):
    """The journal file cannot be opened or written, or an event cannot be journaled."""


class SessionClosed(NtlabError):
    """The session (OrderManager or Lab) was closed; open a new one."""
