"""Market-data keys and endpoints from the environment (and a ``.env`` file), keys held as ``SecretStr``.

| variable | used for |
|---|---|
| ``POLYGON_API_KEY`` (or ``MASSIVE_API_KEY``) | Polygon.io, now Massive |
| ``ALPHAVANTAGE_API_KEY`` | Alpha Vantage |
| ``APCA_API_KEY_ID`` / ``APCA_API_SECRET_KEY`` | Alpaca market data, Alpaca's own names for a data-only setup |
| ``BROKER_API_KEY`` / ``BROKER_SECRET_KEY`` | Alpaca market data when the ``APCA_*`` pair is not set (the broker's keys) |
| ``POLYGON_BASE_URL``, ``ALPHAVANTAGE_BASE_URL``, ``YAHOO_BASE_URL``, ``ALPACA_DATA_URL``, ``ALPACA_DATA_STREAM_URL`` | another host (a local fake) |
| ``ALPACA_DATA_FEED`` | ``iex`` (default, free) or ``sip`` |
| ``NTLAB_CACHE_DIR``, ``NTLAB_CACHE_MAX_GB`` | the Parquet cache's folder and size cap |

Yahoo needs no key. The repr shows which keys are set, never their values.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from ntlab.errors import ConfigError


class MarketSettings(BaseSettings):
    """What the providers read from the environment when no key or URL is passed to them."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    polygon_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("POLYGON_API_KEY", "MASSIVE_API_KEY")
    )
    polygon_base_url: str | None = Field(None, validation_alias="POLYGON_BASE_URL")
    alphavantage_api_key: SecretStr | None = Field(None, validation_alias="ALPHAVANTAGE_API_KEY")
    alphavantage_base_url: str | None = Field(None, validation_alias="ALPHAVANTAGE_BASE_URL")
    yahoo_base_url: str | None = Field(None, validation_alias="YAHOO_BASE_URL")
    alpaca_key_id: SecretStr | None = Field(
        None, validation_alias=AliasChoices("APCA_API_KEY_ID", "BROKER_API_KEY")
    )
    alpaca_secret_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("APCA_API_SECRET_KEY", "BROKER_SECRET_KEY")
    )
    alpaca_data_url: str | None = Field(None, validation_alias="ALPACA_DATA_URL")
    alpaca_stream_url: str | None = Field(None, validation_alias="ALPACA_DATA_STREAM_URL")
    alpaca_feed: str = Field("iex", validation_alias="ALPACA_DATA_FEED")
    cache_dir: str | None = Field(None, validation_alias="NTLAB_CACHE_DIR")
    cache_max_gb: float = Field(5.0, validation_alias="NTLAB_CACHE_MAX_GB")

    def __repr__(self) -> str:
        keys = {
            "polygon": self.polygon_api_key,
            "alphavantage": self.alphavantage_api_key,
            "alpaca": self.alpaca_key_id,
        }
        shown = ", ".join(f"{name}={'set' if value else 'unset'}" for name, value in keys.items())
        return f"MarketSettings({shown})"

    __str__ = __repr__


def secret(value: SecretStr | str | None) -> SecretStr | None:
    """A key passed by a caller, as a SecretStr (empty strings count as missing)."""
    if value is None:
        return None
    wrapped = value if isinstance(value, SecretStr) else SecretStr(value)
    return wrapped if wrapped.get_secret_value() else None


def require(value: SecretStr | None, provider: str, variable: str) -> SecretStr:
    if value is None or not value.get_secret_value():
        raise ConfigError(f"{provider} needs an API key: set {variable} in the environment or pass api_key=")
    return value
