"""Decimals go out as JSON numbers in their own digits, for the brokers that take numbers."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ntlab.brokers.numbers import number_json


def test_digits_survive_as_numbers():
    text = number_json({"limitPrice": Decimal("190.10"), "qty": [Decimal("1E+3"), 5], "note": "__dec__"})
    assert text == '{"limitPrice": 190.10, "qty": [1E+3, 5], "note": "__dec__"}'


def test_other_types_need_a_fallback():
    when = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
    assert number_json({"t": when}, str) == '{"t": "2026-03-02 14:30:00+00:00"}'
    with pytest.raises(TypeError, match="datetime"):
        number_json({"t": when})


@given(st.decimals(allow_nan=False, allow_infinity=False, places=None))
def test_a_decimal_reads_back_equal(value):
    assert json.loads(number_json({"v": value}), parse_float=Decimal, parse_int=Decimal)["v"] == value
