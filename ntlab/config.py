"""Execution settings from the environment, and the two-key gate that decides paper versus live.

Live trading needs two deliberate acts: ``ENABLE_LIVE_TRADING=true`` *and* ``PAPER_TRADING=false``. Anything
else trades on paper (the built-in venue, or the broker's paper endpoint), and :attr:`ExecutionConfig.mode_reason`
says why, so nobody wonders which account an order went to.

The two keys take exactly ``true`` or ``false`` (any case). Anything else (``1``, ``yes``, ``on``, ``maybe``, an
empty value) is a :class:`~ntlab.errors.ConfigError` naming the variable: a value that only looks like a yes
must never open live trading, and a typo must be seen, not silently read as paper either.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ntlab.errors import ConfigError

_GATE_MESSAGE = "use exactly true or false (any case)"


def _config_error(error: ValidationError) -> ConfigError:
    """One line naming the environment variable that is wrong, instead of pydantic's report."""
    first = error.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else "configuration"
    variable = field.upper()
    given = "" if "key" in field or "secret" in field else f"={first.get('input')!r}"
    if first["type"] == "value_error" and _GATE_MESSAGE in first["msg"]:
        return ConfigError(
            f"{variable}{given} is not a boolean: {_GATE_MESSAGE}; nothing else is accepted, so a value "
            "that only looks like yes never opens live trading"
        )
    return ConfigError(f"{variable}{given} is not valid: {first['msg']}")


class ExecutionConfig(BaseSettings):
    """Where orders go. Read from environment variables (and a ``.env`` file if present)."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    enable_live_trading: bool = False
    paper_trading: bool = True
    broker: str = "paper"
    broker_api_key: SecretStr | None = None
    broker_secret_key: SecretStr | None = None
    broker_base_url: str | None = None
    # Interactive Brokers: the TWS / IB Gateway API socket (no secret: the login lives in TWS)
    ib_host: str = "127.0.0.1"
    ib_port: int | None = None  # None: 7497 (TWS paper), or 7496 with the live-trading gate open
    ib_client_id: int = 1
    ib_account: str | None = None
    # Questrade: the file holding the rotating refresh token (seeded once from QUESTRADE_REFRESH_TOKEN)
    questrade_token_file: str | None = None
    questrade_refresh_token: SecretStr | None = None
    questrade_account: str | None = None
    questrade_login_url: str | None = None
    # Lime: the password grant's four credentials, the account, and the hosts (e.g. the local fake)
    lime_username: str | None = None
    lime_password: SecretStr | None = None
    lime_client_id: str | None = None
    lime_client_secret: SecretStr | None = None
    lime_account: str | None = None
    lime_base_url: str | None = None
    lime_auth_url: str | None = None
    broker_exchange: str | None = None  # BROKER=crypto: the ccxt exchange id (default binance)
    # OANDA: a v20 personal access token, and the account (default: the token's only one)
    oanda_token: SecretStr | None = None
    oanda_account_id: str | None = None  # e.g. 101-001-1234567-001

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as error:
            raise _config_error(error) from None

    @field_validator("enable_live_trading", "paper_trading", mode="before")
    @classmethod
    def _exactly_true_or_false(cls, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise ValueError(_GATE_MESSAGE)

    @property
    def live(self) -> bool:
        """True only when both keys of the gate say live."""
        return self.enable_live_trading and not self.paper_trading and self.broker != "paper"

    @property
    def mode(self) -> Literal["live", "paper"]:
        return "live" if self.live else "paper"

    @property
    def mode_reason(self) -> str:
        """One sentence on why the session is live or paper."""
        if self.live:
            return f"LIVE trading on {self.broker}: ENABLE_LIVE_TRADING=true and PAPER_TRADING=false"
        if self.broker == "paper":
            return "paper trading on the built-in simulated venue (BROKER=paper)"
        if not self.enable_live_trading and self.paper_trading:
            why = "ENABLE_LIVE_TRADING is not true and PAPER_TRADING is not false"
        elif not self.enable_live_trading:
            why = "ENABLE_LIVE_TRADING is not true"
        else:
            why = "PAPER_TRADING is not false"
        return f"paper trading on {self.broker}'s paper endpoint: {why} (both are needed for live)"

    def require_credentials(self) -> tuple[SecretStr, SecretStr]:
        """The broker's key pair, or a ConfigError naming the missing variables."""
        missing = [
            name
            for name, value in (
                ("BROKER_API_KEY", self.broker_api_key),
                ("BROKER_SECRET_KEY", self.broker_secret_key),
            )
            if value is None or not value.get_secret_value()
        ]
        if missing:
            raise ConfigError(
                f"BROKER={self.broker} needs {' and '.join(missing)} in the environment; "
                "set them, or use BROKER=paper to trade on the built-in venue"
            )
        assert self.broker_api_key is not None and self.broker_secret_key is not None
        return self.broker_api_key, self.broker_secret_key

    def require_oanda_token(self) -> SecretStr:
        """OANDA's v20 token, or a ConfigError naming the variable."""
        if self.oanda_token is None or not self.oanda_token.get_secret_value():
            raise ConfigError(
                "BROKER=oanda needs OANDA_TOKEN in the environment (a v20 personal access token from "
                "'Manage API Access'); set it, or use BROKER=paper to trade on the built-in venue"
            )
        return self.oanda_token

    def __repr__(self) -> str:
        return (
            f"ExecutionConfig(broker={self.broker!r}, mode={self.mode!r}, "
            f"api_key={'set' if self.broker_api_key else 'unset'}, "
            f"secret_key={'set' if self.broker_secret_key else 'unset'})"
        )

    __str__ = __repr__
