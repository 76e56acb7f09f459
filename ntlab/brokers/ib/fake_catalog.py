"""The fake TWS's security master: one contract per symbol of its market, with IB's own ids and details.

The sample market's symbols carry IB's real conIds, primary exchanges and long names, so what ib_async
qualifies against the fake looks like what it gets from TWS; a symbol of another market gets a stable
made-up conId. Tick sizes are the market's (the matching engine quotes on them).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from decimal import Decimal

from ntlab.brokers.ib.contracts import contract_key
from ntlab.core.instruments import AssetKind
from ntlab.market.frames import Market

# symbol -> (conId, primary exchange, long name, trading class): IB's own, as TWS reports them
KNOWN: dict[str, tuple[int, str, str, str]] = {
    "AAPL": (265598, "NASDAQ", "APPLE INC", "NMS"),
    "MSFT": (272093, "NASDAQ", "MICROSOFT CORP", "NMS"),
    "NVDA": (4815747, "NASDAQ", "NVIDIA CORP", "NMS"),
    "SPY": (756733, "ARCA", "SPDR S&P 500 ETF TRUST", "SPY"),
    "BRK.B": (72063691, "NYSE", "BERKSHIRE HATHAWAY INC-CL B", "BRK B"),
    "EUR/USD": (12087792, "", "European Monetary Union Euro", "EUR.USD"),
    "BTC/USD": (479624278, "", "Bitcoin", "BTC"),
}

# where executions of each kind report they happened (a SMART order fills on some venue)
EXEC_EXCHANGE = {"NASDAQ": "ISLAND", "ARCA": "ARCA", "NYSE": "NYSE", "": ""}

ORDER_TYPES = {
    AssetKind.EQUITY: "ACTIVETIM,AD,ADJUST,ALERT,ALGO,ALLOC,AON,AVGCOST,BASKET,COND,CONDORDER,DAY,DEACT,"
    "DEACTDIS,DEACTEOD,GAT,GTC,GTD,GTT,HID,IOC,LIT,LMT,LOC,MIT,MKT,MOC,MTL,NGCOMB,NONALGO,OCA,OPG,"
    "OPGREROUT,POSTONLY,PREOPGRTH,REL,RPI,RTH,SCALE,SCALERST,SNAPMID,SNAPMKT,SNAPREL,STP,STPLMT,TRAIL,"
    "TRAILLIT,TRAILLMT,TRAILMIT,WHATIF",
    AssetKind.FX: "ACTIVETIM,AD,ADJUST,ALERT,ALGO,ALLOC,AVGCOST,BASKET,CASH,COND,CONDORDER,DAY,DEACT,"
    "DEACTDIS,DEACTEOD,FOK,GAT,GTC,GTD,GTT,IOC,LIT,LMT,MIT,MKT,NONALGO,OCA,REL,RELPCTOFS,SCALE,STP,"
    "STPLMT,TRAIL,TRAILLIT,TRAILLMT,TRAILMIT,WHATIF",
    AssetKind.CRYPTO: "ADJUST,ALERT,ALLOC,AVGCOST,BASKET,COND,CONDORDER,DAY,DEACT,DEACTDIS,DEACTEOD,GAT,"
    "GTC,GTD,GTT,IOC,LMT,MKT,NONALGO,OCA,WHATIF",
}


@dataclass(frozen=True, slots=True)
class ContractSpec:
    """One contract as the fake's security master holds it."""

    con_id: int
    ntlab_symbol: str
    kind: AssetKind
    symbol: str
    sec_type: str
    exchange: str
    primary_exchange: str
    currency: str
    local_symbol: str
    trading_class: str
    min_tick: Decimal
    size_increment: Decimal
    long_name: str

    @property
    def valid_exchanges(self) -> str:
        if self.kind is AssetKind.EQUITY:
            return f"SMART,{self.primary_exchange},ISLAND,ARCA,NYSE,BATS,IEX"
        return self.exchange

    @property
    def execution_exchange(self) -> str:
        return EXEC_EXCHANGE.get(self.primary_exchange, self.exchange) or self.exchange

    @property
    def order_types(self) -> str:
        return ORDER_TYPES[self.kind]


class Catalog:
    """The contracts of a market, found by conId or by (symbol, security type, currency)."""

    def __init__(self, market: Market) -> None:
        self.by_con_id: dict[int, ContractSpec] = {}
        self.by_symbol: dict[str, ContractSpec] = {}
        for symbol, instrument in market.instruments.items():
            key = contract_key(symbol)
            con_id, primary, name, trading_class = KNOWN.get(
                symbol, (100_000_000 + zlib.crc32(symbol.encode()) % 800_000_000, "", symbol, key.symbol)
            )
            if instrument.kind is AssetKind.EQUITY and not primary:
                primary = "NYSE"
            spec = ContractSpec(
                con_id=con_id,
                ntlab_symbol=symbol,
                kind=instrument.kind,
                symbol=key.symbol,
                sec_type=key.sec_type,
                exchange=key.exchange,
                primary_exchange=primary,
                currency=key.currency,
                local_symbol=key.local_symbol,
                trading_class=trading_class,
                min_tick=instrument.tick_size,
                size_increment=instrument.lot_size,
                long_name=name,
            )
            self.by_con_id[con_id] = spec
            self.by_symbol[symbol] = spec

    def find(self, con_id: int, symbol: str, sec_type: str, currency: str) -> ContractSpec | None:
        """The contract a request names: by conId when given, else by symbol, type and currency."""
        if con_id:
            return self.by_con_id.get(con_id)
        for spec in self.by_symbol.values():
            same_type = not sec_type or spec.sec_type == sec_type
            if spec.symbol == symbol and same_type and (not currency or spec.currency == currency):
                return spec
        return None
