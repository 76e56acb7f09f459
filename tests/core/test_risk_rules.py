"""One hand-worked example per rule of the table, on the engine alone (no manager).

AAPL is quoted 189.99 / 190.01 (mid 190.00) unless a test says otherwise.
"""

from decimal import Decimal

import pytest

from ntlab.core.risk import RULES, RiskLimits, SymbolLimits, risk_rules_table
from ntlab.core.risk.limits import LimitFields
from ntlab.errors import Reason, RiskDenied
from tests.core.risk_helpers import T0, Borrow, Clock, Desk, engine, quote, req


def refused(reason: Reason, risk, request, q=None) -> RiskDenied:
    with pytest.raises(RiskDenied) as caught:
        risk.check(request, quote(symbol=request.symbol) if q is None else q)
    assert caught.value.reason is reason, caught.value
    return caught.value


def test_the_table_lists_every_rule_in_the_order_the_engine_runs_them():
    text = risk_rules_table()
    positions = [text.index(rule.reason.value) for rule in RULES]
    assert positions == sorted(positions)
    assert "500 bps" in text and "1,000,000" in text and "2 s" in text
    settings = {r.setting for r in RULES} - {"halt()"}
    assert settings == set(LimitFields.model_fields) | {"restricted"}  # every limit has its row


def test_1_kill_switch():
    risk = engine()
    risk.halt("desk limit")
    error = refused(Reason.TRADING_HALTED, risk, req())
    assert "desk limit" in str(error)
    risk.resume()
    risk.check(req(), quote())


def test_2_restricted_list_refuses_every_order_in_the_symbol_with_its_reason():
    risk = engine(restricted={"gme": "on the insider list"})
    assert "on the insider list" in str(refused(Reason.RESTRICTED_SYMBOL, risk, req(symbol="GME")))
    refused(Reason.RESTRICTED_SYMBOL, risk, req("sell", symbol="GME"))
    risk.check(req(), quote())
    assert engine(restricted=["TSLA"]).limits.restricted == {"TSLA": "on the restricted list"}


def test_3_rate_counts_accepted_orders_only():
    desk = Desk(engine(max_orders_per_second=2, duplicate_window=None))
    desk.risk.check(req(), quote())  # checked but not sent: does not count
    desk.place(req())
    desk.place(req())
    refused(Reason.RATE_LIMIT, desk.risk, req())


def test_4_no_reference_price_fails_closed_unless_turned_off():
    risk = engine()
    with pytest.raises(RiskDenied) as caught:
        risk.check(req(), None)
    assert caught.value.reason is Reason.NO_REFERENCE_PRICE
    assert "require_reference_price=False" in str(caught.value)
    open_ = engine(require_reference_price=False)
    open_.check(req(order_type="limit", limit_price="190.00"), None)
    open_.check(req(), None)  # turned off: a market order goes unchecked


@pytest.mark.parametrize(
    ("side", "price", "passes"),
    [
        ("buy", "199.50", True),  # mid 190.00 + 5% = 199.50: on the band
        ("buy", "199.51", False),
        ("buy", "1.00", True),  # passive, however far
        ("sell", "180.50", True),  # 190.00 - 5%
        ("sell", "180.49", False),
        ("sell", "1900.00", True),  # passive
    ],
)
def test_5_price_band_guards_the_aggressive_side_only(side, price, passes):
    risk = engine(max_order_notional=None)
    request = req(side, 1, limit_price=price)
    if passes:
        risk.check(request, quote())
    else:
        refused(Reason.PRICE_BAND, risk, request)


def test_5_a_stop_limits_band_is_around_its_stop():
    risk = engine()
    risk.check(req(qty=1, stop_price="195.00", limit_price="204.75"), quote())  # 195 x 1.05
    refused(Reason.PRICE_BAND, risk, req(qty=1, stop_price="195.00", limit_price="204.76"))
    assert engine(price_band_bps=None).check(req(qty=1, limit_price="400.00"), quote()) is None


@pytest.mark.parametrize(
    ("side", "stop", "passes"),
    [
        ("buy", "190.01", False),  # at the ask: triggers at once
        ("buy", "185.00", False),  # under the market
        ("buy", "190.02", True),
        ("sell", "189.99", False),  # at the bid
        ("sell", "195.00", False),
        ("sell", "189.98", True),  # a protective stop under the market
        ("sell", "171.00", True),  # 10% under: passive, no band
    ],
)
def test_6_stops_on_the_wrong_side_of_the_market_are_refused(side, stop, passes):
    risk = engine()
    request = req(side, 10, stop_price=stop)
    if passes:
        risk.check(request, quote())
    else:
        refused(Reason.STOP_WOULD_TRIGGER, risk, request)
    engine(check_stop_side=False).check(req("buy", 10, stop_price="185.00"), quote())


def test_7_notional_uses_the_worse_of_limit_and_touch():
    risk = engine(max_order_notional=19_001)
    risk.check(req(qty=100), quote())  # 100 x ask 190.01 = 19,001.00
    refused(Reason.MAX_NOTIONAL, risk, req(qty=101))  # 19,191.01
    refused(Reason.MAX_NOTIONAL, risk, req(qty=100, limit_price="191.00"))  # 19,100 over the ask
    risk.check(req(qty=100, limit_price="185.00"), quote())  # a passive buy: 18,500
    risk.check(req("sell", 100, limit_price="185.00"), quote())  # a sell at its limit: 18,500
    refused(Reason.MAX_NOTIONAL, risk, req("sell", 101))  # 101 x bid 189.99 = 19,188.99


def test_8_open_orders_count_working_orders():
    desk = Desk(engine(max_open_orders=2))
    first = desk.place(req(qty=1, limit_price="180.00"))
    desk.place(req(qty=2, limit_price="180.00"))
    refused(Reason.MAX_OPEN_ORDERS, desk.risk, req(qty=3, limit_price="180.00"))
    desk.cancel(first)
    desk.place(req(qty=3, limit_price="180.00"))


def test_9_position_limit_counts_working_orders_worst_case():
    desk = Desk(engine(max_position=100, duplicate_window=None))
    for _ in range(5):
        desk.place(req(qty=20, limit_price="180.00"))  # 5 x 20 = 100 working: at the limit
    error = refused(Reason.MAX_POSITION, desk.risk, req(qty=20, limit_price="180.00"))
    assert "120" in str(error)
    desk.place(req("sell", 50, limit_price="200.00"))  # max(|0 + 100|, |0 - 50|) = 100: not raised
    refused(Reason.MAX_POSITION, desk.risk, req("sell", 60, limit_price="200.00"))  # |0 - 110| = 110


def test_10_gross_exposure_across_symbols():
    msft = quote("399.99", "400.01", "MSFT")
    desk = Desk(engine(max_gross_exposure=50_000, max_order_notional=None, duplicate_window=None))
    desk.place(req(qty=200, limit_price="180.00"))  # 200 x mark 190 = 38,000 worst case
    desk.place(req(qty=30, symbol="MSFT", limit_price="390.00"), msft)  # + 30 x 400 = 50,000
    refused(Reason.MAX_GROSS_EXPOSURE, desk.risk, req(qty=1, symbol="MSFT", limit_price="390.00"), msft)
    desk.place(req("sell", 100, limit_price="200.00"))  # worst AAPL stays 200: passes at the limit


def test_11_net_exposure_worst_case_and_the_hedge_that_raises_it():
    msft = quote("399.99", "400.01", "MSFT")
    desk = Desk(
        engine(max_net_exposure=40_000, max_order_notional=None, require_locate=False, duplicate_window=None)
    )
    a = desk.place(req(qty=200))
    desk.fill(a, 200, "190.00")  # long 38,000
    refused(Reason.MAX_NET_EXPOSURE, desk.risk, req(qty=10, symbol="MSFT"), msft)  # 42,000
    m = desk.place(req("sell", 10, symbol="MSFT"), msft)  # short 4,000: net 34,000 (a hedge)
    desk.fill(m, 10, "400.00")
    assert desk.risk.tracker.net == 34_000
    desk.risk.limits = desk.risk.limits.model_copy(update={"max_net_exposure": Decimal(36_000)})
    # Covering the hedge gives back 38,000 of net exposure: it raises net past 36,000, so it is refused;
    # selling AAPL first (which lowers it) passes.
    refused(Reason.MAX_NET_EXPOSURE, desk.risk, req(qty=10, symbol="MSFT"), msft)
    desk.place(req("sell", 100))


def test_12_daily_loss_halts_risk_increasing_orders_until_the_next_day():
    risk = engine(max_daily_loss=1000, max_order_notional=None, require_locate=False, duplicate_window=None)
    desk = Desk(risk)
    a = desk.place(req(qty=100))
    desk.fill(a, 100, "190.00")
    down = quote("179.99", "180.01")  # mid 180: 100 x -10 = -1,000 unrealized
    error = refused(Reason.DAILY_LOSS_LIMIT, risk, req(qty=1), down)
    assert "-1,000.00" in str(error)
    risk.check(req("sell", 50), down)  # reduce-only passes
    refused(Reason.DAILY_LOSS_LIMIT, risk, req("sell", 150), down)  # would turn short: risk-increasing
    up = quote("189.99", "190.01")
    refused(Reason.DAILY_LOSS_LIMIT, risk, req(qty=1), up)  # the halt holds for the day
    tomorrow = quote("179.99", "180.01", at=T0.replace(day=3))
    risk.check(req(qty=1), tomorrow)  # a new day starts at the mark: P&L 0


def test_12_the_loss_includes_realized_pnl_and_fees():
    risk = engine(max_daily_loss=500, duplicate_window=None)
    desk = Desk(risk)
    a = desk.place(req(qty=100))
    desk.fill(a, 100, "190.00")
    b = desk.place(req("sell", 100))
    desk.fill(b, 100, "185.10")  # realized -490
    risk.check(req(qty=1), quote())
    assert risk.tracker.pnl == Decimal("-490.00")
    c = desk.place(req(qty=1, limit_price="180.00"))
    desk.fill(c, 1, "190.00", fee="10.00")
    assert risk.tracker.pnl == Decimal("-500.00")
    refused(Reason.DAILY_LOSS_LIMIT, risk, req(qty=2))


def test_13_short_sales_need_the_brokers_word_or_a_locate():
    broker = Borrow(everything=False, AAPL=(True, True), GME=(True, False), XYZ=(False, False))
    risk = engine(broker)
    risk.check(req("sell", 10), quote())
    assert "hard to borrow" in str(refused(Reason.NO_LOCATE, risk, req("sell", 10, symbol="GME")))
    assert "not shortable" in str(refused(Reason.NO_LOCATE, risk, req("sell", 10, symbol="XYZ")))
    assert "has not said" in str(refused(Reason.NO_LOCATE, risk, req("sell", 10, symbol="TSLA")))
    engine(broker, locates=["GME", "TSLA"]).check(req("sell", 10, symbol="GME"), quote(symbol="GME"))
    engine(broker, require_locate=False).check(req("sell", 10, symbol="TSLA"), quote(symbol="TSLA"))


def test_13_a_sale_within_the_long_position_needs_no_locate_but_open_sells_count():
    desk = Desk(engine(Borrow(everything=False), duplicate_window=None))
    a = desk.place(req(qty=100))
    desk.fill(a, 100, "190.00")
    desk.place(req("sell", 60, limit_price="195.00"))
    desk.risk.check(req("sell", 40), quote())  # 100 - 60 - 40 = 0: not short
    refused(Reason.NO_LOCATE, desk.risk, req("sell", 41))


def test_14_self_trade_prevention():
    desk = Desk(engine(max_order_notional=None))
    resting = desk.place(req("sell", 10, limit_price="191.00"))
    error = refused(Reason.SELF_TRADE, desk.risk, req(qty=5, limit_price="191.00"))
    assert resting in str(error)
    desk.risk.check(req(qty=5, limit_price="190.99"), quote())
    desk.risk.check(req(qty=5), quote())  # a market buy takes the ask 190.01, under your 191.00
    refused(Reason.SELF_TRADE, desk.risk, req(qty=5), quote("190.99", "191.00"))
    desk.risk.check(req(qty=5, stop_price="195.00"), quote())  # a stop is not on the book yet
    desk.cancel(resting)
    desk.risk.check(req(qty=5, limit_price="191.00"), quote())
    Desk(engine(self_trade="off")).risk.check(req(qty=5, limit_price="191.00"), quote())


async def test_14_cancel_resting_mode_cancels_what_the_order_would_cross_first():
    desk = Desk(engine(self_trade="cancel_resting", max_order_notional=None))
    low = desk.place(req("sell", 10, limit_price="191.00"))
    desk.place(req("sell", 10, limit_price="192.00"))
    cancelled: list[str] = []

    async def cancel(order_id: str) -> None:
        cancelled.append(order_id)
        desk.cancel(order_id)

    assert desk.risk.prepares
    await desk.risk.prepare(req(qty=5, limit_price="191.50"), cancel)
    assert cancelled == [low]
    desk.risk.check(req(qty=5, limit_price="191.50"), quote())


def test_15_duplicate_guard_on_the_venue_clock():
    clock = Clock()
    desk = Desk(engine(clock=clock))
    desk.place(req(qty=100, limit_price="189.00"))
    error = refused(Reason.DUPLICATE_ORDER, desk.risk, req(qty=100, limit_price="189.00"))
    assert "allow_duplicate=True" in str(error)
    desk.risk.check(req(qty=100, limit_price="189.00", allow_duplicate=True), quote())
    desk.risk.check(req(qty=101, limit_price="189.00"), quote())  # not the same order
    desk.risk.check(req("sell", 100, limit_price="191.00"), quote())
    clock.step(1.9)
    refused(Reason.DUPLICATE_ORDER, desk.risk, req(qty=100, limit_price="189.00"))
    clock.step(0.1)
    desk.place(req(qty=100, limit_price="189.00"))


# --- per-symbol overrides ----------------------------------------------------------------------------------
OVERRIDES = {
    "max_orders_per_second": 3,
    "require_reference_price": False,
    "price_band_bps": Decimal(50),
    "check_stop_side": False,
    "max_order_notional": Decimal(100),
    "max_open_orders": 1,
    "max_position": Decimal(5),
    "max_gross_exposure": Decimal(1000),
    "max_net_exposure": Decimal(900),
    "max_daily_loss": Decimal(10),
    "require_locate": False,
    "self_trade": "off",
    "duplicate_window": 30.0,
}


def test_every_limit_can_be_overridden_per_symbol():
    assert set(OVERRIDES) == set(LimitFields.model_fields)
    for name, value in OVERRIDES.items():
        risk = engine(symbols={"tsla": SymbolLimits(**{name: value})})
        assert risk.limits_for("TSLA") != risk.limits_for("AAPL"), name
        assert risk.limits_for("AAPL") == risk.limits_for("MSFT"), name


def test_symbol_overrides_replace_order_limits_and_add_account_ones():
    risk = engine(
        max_position=100,
        max_open_orders=10,
        symbols={"TSLA": SymbolLimits(max_position=10, max_open_orders=1, price_band_bps=None)},
        duplicate_window=None,
    )
    desk = Desk(risk)
    tsla = quote("199.99", "200.01", "TSLA")
    refused(Reason.MAX_POSITION, risk, req(qty=11, symbol="TSLA"), tsla)  # 10 replaces 100 for TSLA
    desk.place(req(qty=50))  # AAPL keeps 100
    risk.check(req(qty=1, symbol="TSLA", limit_price="300.00"), tsla)  # TSLA's band is off: 50% over passes
    desk.place(req(qty=1, symbol="TSLA", limit_price="150.00"), tsla)
    error = refused(Reason.MAX_OPEN_ORDERS, risk, req(qty=1, symbol="TSLA", limit_price="150.00"), tsla)
    assert "in TSLA" in str(error)  # its own count, beside the account's 10
    desk.place(req(qty=1, limit_price="150.00"))  # AAPL: 2 open of the account's 10


def test_a_symbols_own_loss_limit_halts_only_that_symbol():
    risk = engine(symbols={"TSLA": SymbolLimits(max_daily_loss=100)}, duplicate_window=None)
    desk = Desk(risk)
    tsla = quote("199.99", "200.01", "TSLA")
    t = desk.place(req(qty=10, symbol="TSLA"), tsla)
    desk.fill(t, 10, "200.00")
    down = quote("189.99", "190.01", "TSLA")  # -100
    refused(Reason.DAILY_LOSS_LIMIT, risk, req(qty=1, symbol="TSLA"), down)
    risk.check(req(qty=1), quote())  # AAPL trades on


def test_limits_are_validated_where_they_arrive():
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        RiskLimits(max_position=-1)
    with pytest.raises(ValidationError):
        RiskLimits(self_trade="sometimes")
    with pytest.raises(ValidationError):
        RiskLimits(restricted=["ſPY"])


def test_the_readme_shows_the_same_table():
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert risk_rules_table(markdown=True) in readme
