from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ntlab.core import InstrumentRegistry, OrderRequest
from ntlab.core.instruments import AssetKind, Instrument, classify_symbol
from ntlab.core.records import Quote
from ntlab.core.validation import validate_for_instrument
from ntlab.errors import InvalidOrder, NtlabError, Reason

REGISTRY = InstrumentRegistry()


@pytest.mark.parametrize(
    ("symbol", "kind"),
    [
        ("AAPL", AssetKind.EQUITY),
        ("BRK.B", AssetKind.EQUITY),
        ("BTC/USD", AssetKind.CRYPTO),
        ("ETH/USDT", AssetKind.CRYPTO),
        ("EUR/USD", AssetKind.FX),
        ("USD/JPY", AssetKind.FX),
        ("AAPL1", None),
        ("TOOLONG", None),
        ("EUR/EUR", None),
        ("BTC-USD", None),
        ("", None),
    ],
)
def test_symbol_forms(symbol, kind):
    assert classify_symbol(symbol) == kind


def test_strings_are_accepted_and_normalised():
    r = OrderRequest(symbol=" aapl ", side="BUY", quantity="100", order_type="Limit", limit_price="190.10")
    assert (r.symbol, r.side, r.order_type, r.limit_price) == ("AAPL", "buy", "limit", Decimal("190.10"))


@pytest.mark.parametrize(
    ("fields", "reason", "words"),
    [
        ({"symbol": "AA PL"}, Reason.INVALID_SYMBOL, "BRK.B"),
        ({"quantity": 0}, Reason.INVALID_QUANTITY, "positive"),
        ({"quantity": "-5"}, Reason.INVALID_QUANTITY, "positive"),
        ({"quantity": "lots"}, Reason.INVALID_QUANTITY, "quantity"),
        ({"side": "long"}, Reason.INVALID_FIELD, "buy, sell"),
        ({"order_type": "limit"}, Reason.MISSING_LIMIT_PRICE, "limit_price"),
        ({"order_type": "stop_limit", "stop_price": "10"}, Reason.MISSING_LIMIT_PRICE, "limit_price"),
        ({"limit_price": "10"}, Reason.LIMIT_PRICE_NOT_ALLOWED, "market"),
        ({"order_type": "stop"}, Reason.MISSING_STOP_PRICE, "stop_price"),
        (
            {"order_type": "limit", "limit_price": "10", "stop_price": "9"},
            Reason.STOP_PRICE_NOT_ALLOWED,
            "stop",
        ),
        ({"order_type": "limit", "limit_price": "-1"}, Reason.INVALID_PRICE, "positive"),
        (
            {"order_type": "stop", "stop_price": "10", "time_in_force": "ioc"},
            Reason.TIF_NOT_ALLOWED,
            "trigger",
        ),
        (
            {"order_type": "stop", "stop_price": "10", "time_in_force": "opg"},
            Reason.TIF_NOT_ALLOWED,
            "market or limit",
        ),
        ({"time_in_force": "forever"}, Reason.INVALID_FIELD, "gtc"),
        ({"colour": "red"}, Reason.INVALID_FIELD, "unknown field"),
    ],
)
def test_bad_requests_are_refused_with_a_reason(fields, reason, words):
    base = {"symbol": "AAPL", "side": "buy", "quantity": 10}
    with pytest.raises(InvalidOrder) as caught:
        OrderRequest(**{**base, **fields})
    assert caught.value.reason is reason
    assert words in str(caught.value)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"quantity": "1.5"}, Reason.FRACTIONAL_NOT_ALLOWED),
        ({"order_type": "limit", "limit_price": "190.105"}, Reason.OFF_TICK),
        ({"symbol": "BTC/USD", "quantity": "0.00001"}, Reason.INVALID_QUANTITY),
        ({"symbol": "BTC/USD", "quantity": "0.5", "time_in_force": "day"}, Reason.TIF_NOT_ALLOWED),
        ({"symbol": "EUR/USD", "quantity": "1000.5"}, Reason.FRACTIONAL_NOT_ALLOWED),
        ({"symbol": "EUR/USD", "order_type": "limit", "limit_price": "1.083215"}, Reason.OFF_TICK),
    ],
)
def test_instrument_rules(fields, reason):
    base = {"symbol": "AAPL", "side": "buy", "quantity": 10}
    request = OrderRequest(**{**base, **fields})
    with pytest.raises(InvalidOrder) as caught:
        validate_for_instrument(request, REGISTRY)
    assert caught.value.reason is reason


def test_valid_instrument_requests_pass():
    ok = [
        OrderRequest(symbol="BTC/USD", side="sell", quantity="0.25", time_in_force="gtc"),
        OrderRequest(
            symbol="EUR/USD", side="buy", quantity=100000, order_type="limit", limit_price="1.08321"
        ),
        OrderRequest(symbol="BRK.B", side="buy", quantity=3, order_type="stop", stop_price="410.05"),
    ]
    for request in ok:
        assert validate_for_instrument(request, REGISTRY).symbol == request.symbol


values = st.one_of(
    st.none(),
    st.integers(-1000, 10**9),
    st.decimals(allow_nan=True, allow_infinity=True, places=6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(
        ["buy", "sell", "limit", "market", "stop", "stop_limit", "ioc", "fok", "day", "gtc", "opg"]
    ),
    st.sampled_from(["AAPL", "BRK.B", "BTC/USD", "EUR/USD", "eur/usd", "X", "AAPL/"]),
)
fields = st.fixed_dictionaries(
    {"symbol": values, "side": values, "quantity": values},
    optional={"order_type": values, "limit_price": values, "stop_price": values, "time_in_force": values},
)


@settings(max_examples=500)
@given(fields)
@example({"symbol": "AAPL", "side": "buy", "quantity": 1e28})  # more lots than Decimal's precision holds
@example({"symbol": "AAPL", "side": "buy", "quantity": 1, "order_type": "limit", "limit_price": "1E+27"})
def test_random_requests_are_valid_or_refused_with_a_reason(data):
    try:
        request = OrderRequest(**data)
        validate_for_instrument(request, REGISTRY)
    except InvalidOrder as denial:
        assert isinstance(denial.reason, Reason)
        assert str(denial).startswith(f"[{denial.reason.value}]")
        assert len(str(denial)) > 20
    except NtlabError as other:  # pragma: no cover - any other error type is a bug
        raise AssertionError(f"unexpected {type(other).__name__}: {other}") from other
    else:
        assert request.quantity > 0


def test_sizes_beyond_decimal_precision_are_refused_plainly():
    with pytest.raises(InvalidOrder, match=r"quantity 1E\+28 is too large") as caught:
        validate_for_instrument(OrderRequest(symbol="AAPL", side="buy", quantity="1E28"), REGISTRY)
    assert caught.value.reason is Reason.INVALID_QUANTITY
    huge_limit = OrderRequest(symbol="AAPL", side="buy", quantity=1, order_type="limit", limit_price="1E27")
    with pytest.raises(InvalidOrder, match=r"limit_price 1E\+27 is too large") as caught:
        validate_for_instrument(huge_limit, REGISTRY)
    assert caught.value.reason is Reason.INVALID_PRICE


@pytest.mark.parametrize(
    "fields",
    [
        {"order_type": "market"},
        {"order_type": "stop_limit", "stop_price": "10", "limit_price": "10"},
        {"order_type": "limit", "limit_price": "10", "time_in_force": "ioc"},
        {"order_type": "limit", "limit_price": "10", "time_in_force": "fok"},
    ],
)
def test_post_only_is_for_limits_that_can_rest(fields):
    with pytest.raises(InvalidOrder) as refused:
        OrderRequest(symbol="AAPL", side="buy", quantity=1, post_only=True, **fields)
    assert refused.value.reason is Reason.INVALID_FIELD and "post_only" in str(refused.value)
    resting = OrderRequest(
        symbol="AAPL", side="buy", quantity=1, order_type="limit", limit_price="10", post_only=True
    )
    assert resting.post_only


def _btc(min_quantity: str | None = "0.0001") -> InstrumentRegistry:
    return InstrumentRegistry(
        [
            Instrument(
                symbol="BTC/USDT",
                kind=AssetKind.CRYPTO,
                tick_size=Decimal("0.01"),
                lot_size=Decimal("0.00001"),
                currency="USDT",
                min_quantity=Decimal(min_quantity) if min_quantity else None,
                min_notional=Decimal(5),
            )
        ]
    )


TOUCH = Quote(
    symbol="BTC/USDT",
    time=datetime(2026, 3, 2, 15, tzinfo=UTC),
    bid=Decimal("60000.00"),
    ask=Decimal("60010.00"),
    bid_size=Decimal(1),
    ask_size=Decimal(1),
)


def _crypto(**fields: object) -> OrderRequest:
    return OrderRequest(**({"symbol": "BTC/USDT", "side": "buy", "time_in_force": "gtc"} | fields))


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"quantity": "0.00005", "order_type": "limit", "limit_price": "60000"}, Reason.INVALID_QUANTITY),
        ({"quantity": "0.0001", "order_type": "limit", "limit_price": "40000"}, Reason.MIN_NOTIONAL),
        ({"quantity": "0.0001", "order_type": "stop", "stop_price": "40000"}, Reason.MIN_NOTIONAL),
    ],
)
def test_venue_minimums_are_refused_before_sending(fields, reason):
    with pytest.raises(InvalidOrder) as refused:
        validate_for_instrument(_crypto(**fields), _btc(), None)
    assert refused.value.reason is reason
    assert validate_for_instrument(_crypto(**(fields | {"quantity": "0.001"})), _btc(), None)


def test_a_market_order_is_priced_at_the_side_it_would_take():
    with pytest.raises(InvalidOrder) as refused:  # 0.00008 x 60,010 (the ask) = 4.8008 < 5
        validate_for_instrument(_crypto(quantity="0.00008"), _btc(None), TOUCH)
    assert refused.value.reason is Reason.MIN_NOTIONAL
    with pytest.raises(InvalidOrder):  # a sell takes the bid: 0.0000833 x 60,000 = 4.998
        validate_for_instrument(_crypto(side="sell", quantity="0.00008"), _btc(None), TOUCH)
    assert validate_for_instrument(_crypto(quantity="0.0001"), _btc(None), TOUCH)  # 6.001 at the ask
    # without a price or a quote the venue decides
    assert validate_for_instrument(_crypto(quantity="0.00008"), _btc(None), None)


@settings(max_examples=300)
@given(
    st.decimals(allow_nan=True, allow_infinity=True, places=4),
    st.sampled_from(["day", "gtc", "ioc", "fok", "opg", "cls"]),
    st.booleans(),
)
def test_a_plain_limit_is_taken_exactly_when_its_price_and_time_in_force_allow(price, tif, post_only):
    rests = tif not in ("ioc", "fok")
    try:
        request = OrderRequest(
            symbol="AAPL",
            side="buy",
            quantity=1,
            order_type="limit",
            limit_price=price,
            time_in_force=tif,
            post_only=post_only,
        )
    except InvalidOrder as denial:
        assert not price.is_finite() or price <= 0 or (post_only and not rests)
        bad_price = not price.is_finite() or price <= 0
        assert denial.reason is (Reason.INVALID_PRICE if bad_price else Reason.INVALID_FIELD)
    else:
        assert price.is_finite() and price > 0 and (rests or not post_only)
        assert request.limit_price == price
