"""Market-data providers behind one interface, and ``get_provider`` / ``get_market`` to pick one by name.

| name | class | serves | key |
|---|---|---|---|
| ``polygon`` (``massive``) | :class:`~ntlab.market.providers.polygon.PolygonData` | bars, trades, quotes | ``POLYGON_API_KEY`` |
| ``alphavantage`` | :class:`~ntlab.market.providers.alphavantage.AlphaVantageData` | bars | ``ALPHAVANTAGE_API_KEY`` |
| ``yahoo`` | :class:`~ntlab.market.providers.yahoo.YahooData` | bars | none |
| ``alpaca`` | :class:`~ntlab.market.providers.alpaca.AlpacaData` | bars, trades, quotes, quote stream | ``APCA_API_KEY_ID`` + ``APCA_API_SECRET_KEY`` |
| ``sample`` | :class:`~ntlab.market.providers.sample.SampleData` | bars, trades, quotes | none (offline) |
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

from ntlab.errors import ConfigError
from ntlab.market.frames import Market
from ntlab.market.providers.base import DataProvider, Kind

_CLASSES = {
    "polygon": ("ntlab.market.providers.polygon", "PolygonData"),
    "massive": ("ntlab.market.providers.polygon", "PolygonData"),
    "alphavantage": ("ntlab.market.providers.alphavantage", "AlphaVantageData"),
    "yahoo": ("ntlab.market.providers.yahoo", "YahooData"),
    "alpaca": ("ntlab.market.providers.alpaca", "AlpacaData"),
    "sample": ("ntlab.market.providers.sample", "SampleData"),
}
PROVIDERS = tuple(_CLASSES)


def get_provider(name: str | DataProvider, **options: Any) -> DataProvider:
    """The provider called ``name`` (keys and hosts from the environment unless given in ``options``)."""
    if isinstance(name, DataProvider):
        return name
    key = str(name).strip().lower().replace("_", "").replace("-", "")
    if key not in _CLASSES:
        raise ConfigError(f"no market-data provider called {name!r}; choose from {', '.join(PROVIDERS)}")
    module, attribute = _CLASSES[key]
    provider_class = getattr(importlib.import_module(module), attribute)
    if key == "massive":
        options.setdefault("host", "massive")
    return provider_class(**options)  # type: ignore[no-any-return]


def get_market(
    provider: str | DataProvider,
    symbols: str | Sequence[str],
    start: Any,
    end: Any = None,
    *,
    trades: bool = True,
    extended_hours: bool = False,
    refresh: bool | None = None,
    **options: Any,
) -> Market:
    """A :class:`~ntlab.market.Market` of real quotes (and trades) for the paper venue, the algos and TCA.

    ``get_market("polygon", ["AAPL", "MSFT"], "2026-03-02")`` is one regular session of both; pass
    ``extended_hours=True`` for pre- and post-market too. ``options`` go to the provider (``api_key=``,
    ``base_url=``, ``cache=``, ``progress=``...).
    """
    source = get_provider(provider, **options)
    return source.market(symbols, start, end, trades=trades, extended_hours=extended_hours, refresh=refresh)


__all__ = ["PROVIDERS", "DataProvider", "Kind", "get_market", "get_provider"]
