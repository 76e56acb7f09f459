"""The fake v20 account's money: trades opened and closed first in, first out, positions netted per
instrument, realized and unrealized P&L, financing and margin, all in the account's home currency.

This is what OANDA adds on top of a matching engine: a fill opens a trade, or reduces the oldest trades on
the other side of the instrument (a netting account holds one side at a time); P&L is ``units x (close -
open)`` in the instrument's quote currency, converted home at the market's rate; open trades are valued at
the closeout prices (the bid for longs, the ask for shorts); margin is the position value times the
instrument's margin rate. Amounts print with four decimals, as v20's do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from ntlab.brokers.oanda.wire import InstrumentSpec, format_time, text

ZERO = Decimal(0)
MONEY = Decimal("0.0001")
RATIO = Decimal("0.00001")


def money(value: Decimal) -> str:
    return text(value.quantize(MONEY))


@dataclass
class Trade:
    id: str
    instrument: str
    price: Decimal
    open_time: datetime
    initial_units: Decimal
    initial_margin: Decimal
    units: Decimal  # currentUnits, signed
    realized_pl: Decimal = ZERO
    financing: Decimal = ZERO
    close_notional: Decimal = ZERO  # sum of units x price closed, for averageClosePrice
    closed_units: Decimal = ZERO
    closing_ids: list[str] = field(default_factory=list)
    close_time: datetime | None = None
    client_extensions: dict[str, str] | None = None
    dependents: dict[str, str] = field(default_factory=dict)  # takeProfitOrder/... -> order id

    @property
    def open(self) -> bool:
        return self.units != 0


@dataclass
class Side:
    pl: Decimal = ZERO
    financing: Decimal = ZERO


@dataclass
class PositionBook:
    """Lifetime figures of one instrument's position, by side."""

    long: Side = field(default_factory=Side)
    short: Side = field(default_factory=Side)
    commission: Decimal = ZERO

    @property
    def pl(self) -> Decimal:
        return self.long.pl + self.short.pl

    @property
    def financing(self) -> Decimal:
        return self.long.financing + self.short.financing


class Marks:
    """Prices the ledger values things at: (bid, ask) per instrument, and quote->home conversion."""

    def __init__(self, home: str, prices: dict[str, tuple[Decimal, Decimal]]) -> None:
        self.home = home
        self.prices = prices

    def mid(self, instrument: str) -> Decimal:
        bid, ask = self.prices[instrument]
        return (bid + ask) / 2

    def to_home(self, currency: str) -> Decimal | None:
        """How many home-currency units one unit of ``currency`` is worth, from the market's own pairs."""
        if currency == self.home:
            return Decimal(1)
        direct = f"{currency}_{self.home}"
        if direct in self.prices:
            return self.mid(direct)
        inverse = f"{self.home}_{currency}"
        if inverse in self.prices:
            return 1 / self.mid(inverse)
        return None

    def factor(self, instrument: str) -> Decimal:
        found = self.to_home(instrument.split("_")[1])
        if found is None:
            raise KeyError(f"no rate from {instrument}'s quote currency to {self.home}")
        return found


class Ledger:
    """Trades, positions and the balance of one netting account.

    ``trades`` holds every trade ever opened, oldest first (a trade's id is its opening fill's, so ids
    increase); ``open`` only the open ones, also oldest first, and per instrument, so what a fill or a
    valuation does costs the same however many trades the account has closed. A trade never reopens: it
    leaves the open indexes when a fill takes its last unit.
    """

    def __init__(self, home: str, balance: Decimal, specs: dict[str, InstrumentSpec]) -> None:
        self.home = home
        self.balance = balance
        self.specs = specs
        self.pl = ZERO
        self.financing = ZERO
        self.commission = ZERO
        self.trades: dict[str, Trade] = {}
        self.open: dict[str, Trade] = {}
        self._open_in: dict[str, dict[str, Trade]] = {}  # instrument -> its open trades, oldest first
        self._by_client: dict[str, Trade] = {}  # a trade client id -> the first trade given it
        self.books: dict[str, PositionBook] = {}
        self.last_fill_time: datetime | None = None

    def _opened(self, trade: Trade) -> None:
        self.trades[trade.id] = trade
        self.open[trade.id] = trade
        self._open_in.setdefault(trade.instrument, {})[trade.id] = trade
        client = (trade.client_extensions or {}).get("id")
        if client:
            self._by_client.setdefault(client, trade)

    def _closed(self, trade: Trade) -> None:
        self.open.pop(trade.id, None)
        self._open_in.get(trade.instrument, {}).pop(trade.id, None)

    def by_client(self, client: str) -> Trade | None:
        """The first trade opened with client id ``client``."""
        return self._by_client.get(client)

    # --- what a fill does ------------------------------------------------------------------------------
    def open_trades(self, instrument: str) -> list[Trade]:
        """The instrument's open trades, oldest first (a new list: callers reorder it)."""
        return list(self._open_in.get(instrument, {}).values())

    def net_units(self, instrument: str) -> Decimal:
        return sum((t.units for t in self.open_trades(instrument)), ZERO)

    def fill(
        self,
        fill_id: str,
        instrument: str,
        units: Decimal,
        price: Decimal,
        when: datetime,
        marks: Marks,
        *,
        close_first: str | None = None,
        trade_extensions: dict[str, str] | None = None,
        add_to: str | None = None,
    ) -> dict[str, Any]:
        """Book a fill of signed ``units``; returns the ORDER_FILL fields it makes (pl, trades, balance).

        ``close_first`` closes that trade before the first-in-first-out order (a trade close). ``add_to`` is
        the trade an earlier fill of the same order opened: what this fill opens joins it (the fake fills a
        big order over several quotes, where OANDA fills it once and opens one trade).
        """
        factor = marks.factor(instrument)
        bid, ask = marks.prices[instrument]
        half_spread = (ask - bid) / 2
        book = self.books.setdefault(instrument, PositionBook())
        remaining = units
        closed: list[dict[str, Any]] = []
        reduced: dict[str, Any] | None = None
        realized_total = ZERO
        queue = self.open_trades(instrument)
        if close_first is not None:
            queue.sort(key=lambda t: t.id != close_first)
        for trade in queue:
            if remaining == 0 or (trade.units > 0) == (remaining > 0):
                break
            take = -trade.units if abs(remaining) >= abs(trade.units) else remaining  # fill's sign
            realized = (-take) * (price - trade.price) * factor
            trade.units += take
            trade.realized_pl += realized
            trade.close_notional += abs(take) * price
            trade.closed_units += abs(take)
            trade.closing_ids.append(fill_id)
            side = book.long if take < 0 else book.short
            side.pl += realized
            realized_total += realized
            entry = {
                "tradeID": trade.id,
                "units": text(take),
                "price": text(price),
                "realizedPL": money(realized),
                "financing": money(ZERO),
                "guaranteedExecutionFee": money(ZERO),
                "halfSpreadCost": money(abs(take) * half_spread * factor),
            }
            remaining -= take
            if trade.open:
                reduced = entry
            else:
                trade.close_time = when
                self._closed(trade)
                closed.append(entry)
        opened: dict[str, Any] | None = None
        joined = self.trades.get(add_to) if add_to is not None else None
        if remaining != 0 and joined is not None and joined.open and (joined.units > 0) == (remaining > 0):
            margin = abs(remaining) * price * factor * self.specs[instrument].margin_rate
            held = abs(joined.units)
            tick = Decimal(1).scaleb(-(self.specs[instrument].display_precision + 1))
            average = (joined.price * held + price * abs(remaining)) / (held + abs(remaining))
            joined.price = average.quantize(tick)
            joined.units += remaining
            joined.initial_units += remaining
            joined.initial_margin += margin
            opened = {
                "tradeID": joined.id,
                "units": text(remaining),
                "price": text(price),
                "guaranteedExecutionFee": money(ZERO),
                "halfSpreadCost": money(abs(remaining) * half_spread * factor),
                "initialMarginRequired": money(margin),
            }
        elif remaining != 0:
            rate = self.specs[instrument].margin_rate
            margin = abs(remaining) * price * factor * rate
            self._opened(
                Trade(
                    fill_id,
                    instrument,
                    price,
                    when,
                    remaining,
                    margin,
                    remaining,
                    client_extensions=trade_extensions,
                )
            )
            opened = {
                "tradeID": fill_id,
                "units": text(remaining),
                "price": text(price),
                "guaranteedExecutionFee": money(ZERO),
                "halfSpreadCost": money(abs(remaining) * half_spread * factor),
                "initialMarginRequired": money(margin),
            }
            if trade_extensions:
                opened["clientExtensions"] = trade_extensions
        self.pl += realized_total
        self.balance += realized_total
        self.last_fill_time = when
        fields: dict[str, Any] = {
            "gainQuoteHomeConversionFactor": text(factor.quantize(RATIO)),
            "lossQuoteHomeConversionFactor": text(factor.quantize(RATIO)),
            "pl": money(realized_total),
            "financing": money(ZERO),
            "commission": money(ZERO),
            "guaranteedExecutionFee": money(ZERO),
            "accountBalance": money(self.balance),
            "halfSpreadCost": money(abs(units) * half_spread * factor),
        }
        if opened is not None:
            fields["tradeOpened"] = opened
        if closed:
            fields["tradesClosed"] = closed
        if reduced is not None:
            fields["tradeReduced"] = reduced
        return fields

    def finance(self, marks: Marks, rates: dict[str, tuple[Decimal, Decimal]]) -> list[dict[str, Any]]:
        """One day's financing of every open trade (``units x mid x annual rate / 365``, home currency)."""
        by_instrument: dict[str, list[dict[str, Any]]] = {}
        totals: dict[str, Decimal] = {}
        for trade in list(self.open.values()):
            long_rate, short_rate = rates.get(trade.instrument, (Decimal("-0.04"), Decimal("0.02")))
            rate = long_rate if trade.units > 0 else short_rate
            amount = (
                abs(trade.units) * marks.mid(trade.instrument) * marks.factor(trade.instrument) * rate / 365
            ).quantize(MONEY)
            trade.financing += amount
            book = self.books.setdefault(trade.instrument, PositionBook())
            (book.long if trade.units > 0 else book.short).financing += amount
            totals[trade.instrument] = totals.get(trade.instrument, ZERO) + amount
            by_instrument.setdefault(trade.instrument, []).append(
                {"tradeID": trade.id, "financing": money(amount)}
            )
        total = sum(totals.values(), ZERO)
        self.financing += total
        self.balance += total
        return [
            {"instrument": name, "financing": money(totals[name]), "openTradeFinancings": trades}
            for name, trades in by_instrument.items()
        ]

    # --- valuations ------------------------------------------------------------------------------------
    def unrealized(self, trade: Trade, marks: Marks) -> Decimal:
        bid, ask = marks.prices[trade.instrument]
        close = bid if trade.units > 0 else ask
        return trade.units * (close - trade.price) * marks.factor(trade.instrument)

    def value(self, trade: Trade, marks: Marks) -> Decimal:
        return abs(trade.units) * marks.mid(trade.instrument) * marks.factor(trade.instrument)

    def margin(self, trade: Trade, marks: Marks) -> Decimal:
        return self.value(trade, marks) * self.specs[trade.instrument].margin_rate

    def margin_for(self, instrument: str, net_units: Decimal, marks: Marks) -> Decimal:
        """Margin a position of ``net_units`` would use now."""
        rate = self.specs[instrument].margin_rate
        return abs(net_units) * marks.mid(instrument) * marks.factor(instrument) * rate

    def totals(self, marks: Marks) -> dict[str, Decimal]:
        live = self.open.values()
        unrealized = sum((self.unrealized(t, marks) for t in live), ZERO)
        used = sum((self.margin(t, marks) for t in live), ZERO)
        value = sum((self.value(t, marks) for t in live), ZERO)
        nav = self.balance + unrealized
        return {"unrealized": unrealized, "margin_used": used, "position_value": value, "nav": nav}

    def trade_json(
        self, trade: Trade, marks: Marks, dependents: dict[str, dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": trade.id,
            "instrument": trade.instrument,
            "price": text(trade.price),
            "openTime": format_time(trade.open_time),
            "state": "OPEN" if trade.open else "CLOSED",
            "initialUnits": text(trade.initial_units),
            "initialMarginRequired": money(trade.initial_margin),
            "currentUnits": text(trade.units),
            "realizedPL": money(trade.realized_pl),
            "unrealizedPL": money(self.unrealized(trade, marks) if trade.open else ZERO),
            "marginUsed": money(self.margin(trade, marks) if trade.open else ZERO),
            "financing": money(trade.financing),
        }
        if trade.closed_units:
            data["averageClosePrice"] = text((trade.close_notional / trade.closed_units).quantize(RATIO))
            data["closingTransactionIDs"] = list(trade.closing_ids)
        if trade.close_time is not None:
            data["closeTime"] = format_time(trade.close_time)
        if trade.client_extensions:
            data["clientExtensions"] = trade.client_extensions
        for key, order_id in trade.dependents.items():
            if dependents is not None and order_id in dependents:
                data[key] = dependents[order_id]
            else:
                data[f"{key}ID"] = order_id
        return data

    def position_json(self, instrument: str, marks: Marks) -> dict[str, Any]:
        book = self.books.get(instrument, PositionBook())
        sides: dict[str, dict[str, Any]] = {}
        total_unrealized = total_margin = ZERO
        for name, sign, side in (("long", 1, book.long), ("short", -1, book.short)):
            trades = [t for t in self.open_trades(instrument) if (t.units > 0) == (sign > 0)]
            units = sum((t.units for t in trades), ZERO)
            unrealized = sum((self.unrealized(t, marks) for t in trades), ZERO)
            total_unrealized += unrealized
            total_margin += sum((self.margin(t, marks) for t in trades), ZERO)
            data: dict[str, Any] = {
                "units": text(units),
                "pl": money(side.pl),
                "resettablePL": money(side.pl),
                "financing": money(side.financing),
                "guaranteedExecutionFees": money(ZERO),
                "unrealizedPL": money(unrealized),
            }
            if units:
                notional = sum((abs(t.units) * t.price for t in trades), ZERO)
                precision = Decimal(1).scaleb(-(self.specs[instrument].display_precision + 1))
                data["averagePrice"] = text((notional / abs(units)).quantize(precision))
                data["tradeIDs"] = [t.id for t in trades]
            sides[name] = data
        return {
            "instrument": instrument,
            "pl": money(book.pl),
            "unrealizedPL": money(total_unrealized),
            "marginUsed": money(total_margin),
            "resettablePL": money(book.pl),
            "financing": money(book.financing),
            "commission": money(book.commission),
            "guaranteedExecutionFees": money(ZERO),
            "long": sides["long"],
            "short": sides["short"],
        }
