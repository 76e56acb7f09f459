"""The fake Alpaca's account: balances, positions, assets, the clock and the fees, in Alpaca's JSON.

Everything is read off the engine (its fills, its quotes, its clock) and the fake's order records, so the
account always agrees with what was filled. Fees are Alpaca's: stock trades are commission-free but pay the
regulatory fees (SEC and FINRA TAF on sales, CAT on every trade), crypto trades pay 25 bps as taker and
15 bps as maker, charged in what the trade brings in (the coin on a buy, dollars on a sale). Alpaca
accrues them through the day and posts them as ``FEE`` / ``CFEE`` activities at the end of it; so does the
fake, when its clock passes the session's close (or on ``post_fees()``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_DOWN, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from ntlab.brokers.alpaca.fake_orders import CENT, SHARES, FakeOrders, Record, asset_class, asset_id, num
from ntlab.core.enums import Liquidity, Side
from ntlab.core.positions import PositionBook
from ntlab.core.records import Fill, Position
from ntlab.testing import FakeEngine

ACCOUNT_ID = "fa4e1f2e-0000-4000-8000-00000000a1ca"
ACCOUNT_NUMBER = "PA3FAKE00001"
EXCHANGES = {"SPY": "ARCA", "BRK.B": "NYSE"}

SEC_RATE = Decimal("0.0000278")  # of a sale's notional
TAF_RATE, TAF_MAX = Decimal("0.000166"), Decimal("8.30")  # per share sold, at most per trade
CAT_RATE = Decimal("0.000046")  # per share traded
CRYPTO_TAKER, CRYPTO_MAKER = Decimal("0.0025"), Decimal("0.0015")
ZERO = Decimal(0)
EXCHANGE_TZ = ZoneInfo("America/New_York")


def alpaca_symbol(symbol: str) -> str:
    """How Alpaca names a holding: crypto positions and activities drop the slash (``BTCUSD``)."""
    return symbol.replace("/", "")


def exchange(symbol: str) -> str:
    return "CRYPTO" if "/" in symbol else EXCHANGES.get(symbol, "NASDAQ")


@dataclass(slots=True)
class Charge:
    """One fee accrued on one fill, waiting to be posted at the end of the day."""

    kind: str  # FEE or CFEE
    description: str
    symbol: str
    day: str
    usd: Decimal  # what it costs in dollars
    coin: Decimal | None = None  # a crypto buy's fee, in the coin
    price: Decimal | None = None
    shares: Decimal = ZERO


class FakeAccount:
    """The account behind the fake API: what ``/v2/account``, ``/v2/positions`` and the activities show."""

    def __init__(self, engine: FakeEngine, orders: FakeOrders, *, seed_cash: Decimal) -> None:
        self.engine = engine
        self.orders = orders
        self.seed_cash = seed_cash
        self.accrued: list[Charge] = []
        self.posted: list[dict[str, Any]] = []
        self.coin_fees: dict[str, Decimal] = {}  # coin taken as fees, by symbol: Alpaca holds that much less
        self.asset_overrides: dict[str, dict[str, Any]] = {}
        self.fees_posted = ZERO
        self._flow = ZERO  # what fills paid and received so far (kept as they come: O(1) per order)
        self._accrued_usd = ZERO
        self._posted_usd = ZERO
        orders.on_fill.append(self._charge)
        orders.buying_power = self.buying_power

    # --- fees -----------------------------------------------------------------------------------------------
    def _charge(self, record: Record, fill: Fill) -> None:
        self._flow += (-fill.notional if fill.side is Side.BUY else fill.notional) - fill.fee
        before = len(self.accrued)
        self._accrue(record, fill)
        self._accrued_usd += sum((c.usd for c in self.accrued[before:] if c.coin is None), ZERO)

    def _accrue(self, record: Record, fill: Fill) -> None:
        day = fill.time.astimezone(EXCHANGE_TZ).date().isoformat()  # Alpaca's day is New York's
        if "/" in record.symbol:
            rate = CRYPTO_MAKER if fill.liquidity is Liquidity.MAKER else CRYPTO_TAKER
            if fill.side is Side.BUY:
                coin = (fill.quantity * rate).quantize(SHARES, ROUND_CEILING)
                self.coin_fees[record.symbol] = self.coin_fees.get(record.symbol, ZERO) + coin
                charge = Charge(
                    "CFEE", "Coin Pair Transaction Fee (Non USD)", record.symbol, day, coin * fill.price, coin
                )
                charge.price = fill.price
            else:
                usd = fill.quantity * fill.price * rate
                charge = Charge("CFEE", "Coin Pair Transaction Fee (USD)", record.symbol, day, usd)
            self.accrued.append(charge)
            return
        shares = fill.quantity
        self.accrued.append(Charge("FEE", "CAT fee", record.symbol, day, shares * CAT_RATE, shares=shares))
        if fill.side is Side.SELL:
            self.accrued.append(
                Charge("FEE", "REG fee", record.symbol, day, fill.quantity * fill.price * SEC_RATE)
            )
            taf = min(shares * TAF_RATE, TAF_MAX)
            self.accrued.append(Charge("FEE", "TAF fee", record.symbol, day, taf, shares=shares))

    def post_fees(self) -> int:
        """Post what accrued, as Alpaca does at the end of the day: one activity per day, symbol and fee
        (dollar fees rounded up to the cent), one ``CFEE`` per crypto trade. Returns how many were posted."""
        groups: dict[tuple[str, str, str, str], list[Charge]] = {}
        for charge in self.accrued:
            key = (charge.day, charge.kind, charge.symbol, charge.description)
            if charge.kind == "CFEE":
                key = (*key[:3], f"{charge.description}#{len(groups)}")
            groups.setdefault(key, []).append(charge)
        posted = 0
        for (day, kind, symbol, _), charges in groups.items():
            first = charges[0]
            stamp = day.replace("-", "")
            activity: dict[str, Any] = {
                "id": f"{stamp}000000000::{self.orders.new_id()}",
                "account_id": ACCOUNT_ID,
                "activity_type": kind,
                "date": day,
                "description": first.description,
                "symbol": alpaca_symbol(symbol),
                "status": "executed",
            }
            if first.coin is not None:
                activity |= {"net_amount": "0", "qty": num(-first.coin), "price": num(first.price)}
                self.fees_posted += first.usd
            else:
                usd = sum((c.usd for c in charges), ZERO).quantize(CENT, ROUND_CEILING)
                activity["net_amount"] = num(-usd)
                self._posted_usd += usd
                shares = sum((c.shares for c in charges), ZERO)
                if shares:
                    activity["qty"] = num(shares)
                self.fees_posted += usd
            self.posted.append(activity)
            posted += 1
        self.accrued.clear()
        self._accrued_usd = ZERO
        return posted

    def accrued_usd(self) -> Decimal:
        return self._accrued_usd

    # --- balances -------------------------------------------------------------------------------------------
    def cash(self) -> Decimal:
        """The engine's cash (fills, no commission) less the dollar fees, posted or accrued."""
        return self.seed_cash + self._flow - self._posted_usd - self._accrued_usd

    def fees_posted_usd(self) -> Decimal:
        return self._posted_usd

    def holdings(self) -> dict[str, Decimal]:
        """What Alpaca says the account holds: the engine's positions less the coin taken as fees."""
        held = dict(self.engine.positions())
        for symbol, coin in self.coin_fees.items():
            held[symbol] = held.get(symbol, ZERO) - coin
        return {s: q for s, q in held.items() if q}

    def mark(self, symbol: str) -> Decimal:
        quote = self.engine.quote(symbol)
        return quote.mid if quote is not None else ZERO

    def buying_power(self) -> Decimal:
        """Cash less what open buy orders reserve (their limit, or the ask), as Alpaca counts it."""
        reserved = ZERO
        for record in self.orders.open_records():
            if record.side == "buy" and record.status != "held":
                left = (record.qty or ZERO) - record.filled_qty
                if record.notional is not None:
                    reserved += record.notional - record.filled_notional
                    continue
                quote = self.engine.quote(record.symbol)
                price = record.limit_price or (quote.ask if quote is not None else ZERO)
                reserved += max(left, ZERO) * price
        return max(self.cash() - reserved, ZERO).quantize(CENT, ROUND_DOWN)

    def account_json(self) -> dict[str, Any]:
        long_value = short_value = ZERO
        for symbol, qty in self.holdings().items():
            value = qty * self.mark(symbol)
            if qty > 0:
                long_value += value
            else:
                short_value += value
        cash = self.cash()
        equity = cash + long_value + short_value
        power = self.buying_power()
        now = self.engine.now()
        cent = CENT
        return {
            "id": ACCOUNT_ID,
            "admin_configurations": {},
            "user_configurations": None,
            "account_number": ACCOUNT_NUMBER,
            "status": "ACTIVE",
            "crypto_status": "ACTIVE",
            "options_approved_level": 0,
            "options_trading_level": 0,
            "currency": "USD",
            "buying_power": num(power),
            "regt_buying_power": num(power),
            "daytrading_buying_power": "0",
            "effective_buying_power": num(power),
            "non_marginable_buying_power": num(power),
            "options_buying_power": num(power),
            "bod_dtbp": "0",
            "cash": num(cash.quantize(cent)),
            "accrued_fees": num(self.accrued_usd().quantize(cent, ROUND_CEILING)),
            "portfolio_value": num(equity.quantize(cent)),
            "pattern_day_trader": False,
            "trading_blocked": False,
            "transfers_blocked": False,
            "account_blocked": False,
            "created_at": (now - timedelta(days=30)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "trade_suspended_by_user": False,
            "multiplier": "1",
            "shorting_enabled": self.orders.shorting_enabled,
            "equity": num(equity.quantize(cent)),
            "last_equity": num(self.seed_cash.quantize(cent)),
            "long_market_value": num(long_value.quantize(cent)),
            "short_market_value": num(short_value.quantize(cent)),
            "position_market_value": num((long_value + short_value).quantize(cent)),
            "initial_margin": "0",
            "maintenance_margin": "0",
            "last_maintenance_margin": "0",
            "sma": "0",
            "daytrade_count": 0,
            "balance_asof": now.astimezone(UTC).date().isoformat(),
            "crypto_tier": 1,
            "intraday_adjustments": "0",
            "pending_reg_taf_fees": "0",
            "pending_transfer_in": "0",
            "pending_transfer_out": "0",
        }

    # --- positions ------------------------------------------------------------------------------------------
    def position_json(self, symbol: str, qty: Decimal) -> dict[str, Any]:
        costs = {p.symbol: p.avg_cost for p in _positions(self.engine)}
        avg = costs.get(symbol) or ZERO
        price = self.mark(symbol)
        first = self.engine.market.quote_arrays(symbol)
        lastday = Decimal(repr(round((float(first.bid[0]) + float(first.ask[0])) / 2, 6)))
        value = qty * price
        cost = qty * avg
        unrealized = value - cost
        intraday = qty * (price - lastday)
        crypto = "/" in symbol
        return {
            "asset_id": asset_id(symbol),
            "symbol": alpaca_symbol(symbol),
            "exchange": exchange(symbol),
            "asset_class": asset_class(symbol),
            "asset_marginable": not crypto,
            "qty": num(qty),
            "qty_available": num(qty - self._held_for_orders(symbol, qty)),
            "avg_entry_price": num(avg.quantize(Decimal("0.0001"))),
            "side": "long" if qty > 0 else "short",
            "market_value": num(value.quantize(CENT)),
            "cost_basis": num(cost.quantize(CENT)),
            "unrealized_pl": num(unrealized.quantize(CENT)),
            "unrealized_plpc": num(_ratio(unrealized, abs(cost))),
            "unrealized_intraday_pl": num(intraday.quantize(CENT)),
            "unrealized_intraday_plpc": num(_ratio(intraday, abs(qty * lastday))),
            "current_price": num(price),
            "lastday_price": num(lastday),
            "change_today": num(_ratio(price - lastday, lastday)),
        }

    def _held_for_orders(self, symbol: str, qty: Decimal) -> Decimal:
        """Shares open orders on the closing side already claim (Alpaca's qty_available excludes them)."""
        closing = "sell" if qty > 0 else "buy"
        held = sum(
            (
                (r.qty or ZERO) - r.filled_qty
                for r in self.orders.records.values()
                if r.open and r.symbol == symbol and r.side == closing and r.status != "held"
            ),
            ZERO,
        )
        return min(held, abs(qty)) * (1 if qty > 0 else -1)

    def positions_json(self) -> list[dict[str, Any]]:
        return [self.position_json(s, q) for s, q in sorted(self.holdings().items())]

    def find_position(self, symbol_or_asset_id: str) -> str | None:
        """The ntlab symbol of a holding named as Alpaca allows: ``AAPL``, ``BTCUSD``, ``BTC/USD`` or its asset id."""
        for symbol in self.holdings():
            if symbol_or_asset_id in (symbol, alpaca_symbol(symbol), asset_id(symbol)):
                return symbol
        return None

    # --- assets ---------------------------------------------------------------------------------------------
    def find_asset(self, symbol_or_asset_id: str) -> str | None:
        for symbol in self.engine.symbols:
            if symbol_or_asset_id in (symbol, alpaca_symbol(symbol), asset_id(symbol)) and tradable(symbol):
                return symbol
        return None

    def asset_json(self, symbol: str) -> dict[str, Any]:
        """An asset as Alpaca describes it: stocks shortable and easy to borrow unless overridden, crypto never
        shortable; ``borrow_status`` (the newer field) agrees with ``easy_to_borrow``."""
        crypto = "/" in symbol
        instrument = self.engine.market.instruments[symbol]
        asset: dict[str, Any] = {
            "id": asset_id(symbol),
            "class": asset_class(symbol),
            "exchange": exchange(symbol),
            "symbol": symbol,
            "name": symbol,
            "status": "active",
            "tradable": True,
            "marginable": not crypto,
            "maintenance_margin_requirement": 100 if crypto else 30,
            "margin_requirement_long": "100" if crypto else "30",
            "margin_requirement_short": "100",
            "shortable": not crypto,
            "easy_to_borrow": not crypto,
            "fractionable": True,
            "attributes": [] if crypto else ["fractional_eh_enabled", "has_options"],
            "min_order_size": num(instrument.lot_size) if crypto else None,
            "min_trade_increment": num(instrument.lot_size) if crypto else None,
            "price_increment": num(instrument.tick_size),
        }
        asset.update(self.asset_overrides.get(symbol, {}))
        if not crypto:
            asset["borrow_status"] = "easy_to_borrow" if asset["easy_to_borrow"] else "hard_to_borrow"
        return asset

    def assets_json(self, status: str | None, klass: str | None) -> list[dict[str, Any]]:
        found = [self.asset_json(s) for s in self.engine.symbols if tradable(s)]
        return [a for a in found if (status in (None, a["status"])) and (klass in (None, a["class"]))]

    # --- the clock ------------------------------------------------------------------------------------------
    def clock_json(self) -> dict[str, Any]:
        now = self.engine.now()
        venue = self.engine.venue
        open_, close = venue.session_open, venue.session_close
        return {
            "timestamp": _stamp(now),
            "is_open": open_ <= now < close,
            "next_open": _stamp(open_ if now < open_ else open_ + timedelta(days=1)),
            "next_close": _stamp(close if now < close else close + timedelta(days=1)),
        }

    def activities(self, kinds: set[str] | None) -> list[dict[str, Any]]:
        """Every activity of the given types (all when None), oldest first."""
        rows = [a | {"account_id": ACCOUNT_ID} for a in self.orders.activities] + self.posted
        rows.sort(key=lambda a: a.get("transaction_time") or f"{a['date']}T23:59:59.999999Z")
        return [a for a in rows if kinds is None or a["activity_type"] in kinds]


def tradable(symbol: str) -> bool:
    """Alpaca trades US stocks and crypto, not FX."""
    from ntlab.core.instruments import AssetKind, classify_symbol

    return classify_symbol(symbol) in (AssetKind.EQUITY, AssetKind.CRYPTO)


def _positions(engine: FakeEngine) -> list[Position]:
    book = PositionBook()
    for fill in engine.fills():
        book.apply(fill)
    return book.snapshot()


def _ratio(part: Decimal, whole: Decimal) -> Decimal:
    if not whole:
        return ZERO
    return (part / whole).quantize(Decimal("0.0000000001"))


def _stamp(t: datetime) -> str:
    """The clock's spelling: RFC 3339 in New York time."""
    return t.astimezone(EXCHANGE_TZ).isoformat()


__all__ = ["ACCOUNT_ID", "ACCOUNT_NUMBER", "FakeAccount", "alpaca_symbol", "tradable"]
