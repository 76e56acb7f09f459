"""Reference prices for the Alpaca adapter: the market-data websocket, with a REST snapshot as fallback.

Both come through ``ntlab.market``'s Alpaca provider (:class:`~ntlab.market.providers.alpaca.AlpacaData`):
its quote stream (``wss://stream.data.alpaca.markets/v2/{feed}``: auth, subscribe, ``q`` messages; it
reconnects and subscribes again by itself) keeps the last quote of each watched symbol in a
:class:`~ntlab.market.providers.alpaca.LatestQuotes`, so ``AlpacaBroker.last_quote`` answers without I/O and
pre-trade risk has a price without a REST call; ``fetch`` asks ``/v2/stocks/quotes/latest`` for a symbol
nobody watches. Alpaca's data API serves stocks; crypto has no quote here (the risk rules then say so).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from pydantic import SecretStr

from ntlab.core.instruments import AssetKind, classify_symbol
from ntlab.core.records import Quote
from ntlab.errors import BrokerError, ProviderError
from ntlab.market.providers.alpaca import AlpacaData, LatestQuotes

log = logging.getLogger(__name__)


class QuoteBook:
    """The last quote per symbol: streamed ones for ``watched`` symbols, fetched ones for the rest."""

    def __init__(
        self,
        key_id: str,
        secret_key: SecretStr,
        *,
        data_url: str | None,
        stream_url: str | None,
        feed: str | None,
        timeout: float,
        requests_per_minute: int | None,
    ) -> None:
        self.data = AlpacaData(
            key_id,
            secret_key,
            data_url=data_url,
            stream_url=stream_url,
            feed=feed,
            cache=None,
            progress=False,
            requests_per_minute=requests_per_minute,
            retries=2,
            timeout=timeout,
        )
        self.watched: tuple[str, ...] = ()
        self._fetched: dict[str, Quote] = {}
        self._stream: LatestQuotes | None = None

    def __repr__(self) -> str:
        return f"QuoteBook({self.data.data_url}, watching {list(self.watched)})"

    def last(self, symbol: str) -> Quote | None:
        """The newer of the streamed and the fetched quote (no I/O)."""
        fetched = self._fetched.get(symbol)
        streamed = self._stream.last_quote(symbol) if self._stream is not None else None
        if streamed is None or (fetched is not None and fetched.time > streamed.time):
            return fetched
        return streamed

    @property
    def received(self) -> int:
        """How many quotes the stream has brought."""
        return self._stream.received if self._stream is not None else 0

    async def fetch(self, symbol: str) -> Quote | None:
        """``GET /v2/stocks/quotes/latest``; None for a symbol Alpaca has no quote for (or crypto)."""
        if classify_symbol(symbol) is not AssetKind.EQUITY:
            return None
        try:
            quote = await self.data.alatest_quote(symbol)
        except ProviderError as error:
            if "has no quote" in str(error):
                return None
            raise BrokerError(f"Alpaca's latest quote for {symbol}: {error}") from None
        self._fetched[symbol] = quote
        return quote

    async def watch(self, symbols: Iterable[str]) -> None:
        """Stream quotes for these symbols too (one subscription: it restarts with the whole set)."""
        wanted = tuple(dict.fromkeys([*self.watched, *symbols]))
        stocks = tuple(s for s in wanted if classify_symbol(s) is AssetKind.EQUITY)
        skipped = set(wanted) - set(stocks)
        if skipped:
            log.info("no Alpaca quote stream for %s: the stock stream carries stocks only", sorted(skipped))
        if stocks == self.watched and self._stream is not None:
            return
        await self.close()
        self.watched = stocks
        if stocks:
            self._stream = await LatestQuotes(self.data, list(stocks)).start()

    async def wait_for(self, symbol: str, timeout: float = 10.0) -> Quote:
        """The first streamed quote of a watched symbol (bounded wait)."""
        if self._stream is None:
            raise BrokerError(f"{symbol} is not watched; call watch_quotes([{symbol!r}]) first")
        return await self._stream.wait_for(symbol, timeout)

    async def close(self) -> None:
        if self._stream is not None:
            await self._stream.stop()
            self._stream = None
