"""The symbol rule, edge by edge: each case worked out by hand from the rule in ntlab.news.symbols."""

from __future__ import annotations

import pandas as pd
import pytest

from ntlab.news import SymbolMatcher, has_symbol
from ntlab.news.symbols import ticker_spellings

M = SymbolMatcher()


@pytest.mark.parametrize(
    ("text", "symbol", "expected", "why"),
    [
        ("Nvidia beats estimates", "NVDA", True, "name, capitalised"),
        ("NVIDIA SHARES SURGE", "NVDA", True, "name in capitals: first letter capital, rest any case"),
        ("Nvidia's rally", "NVDA", True, "possessive: the apostrophe is not a word character"),
        ("Nvidia-backed startup", "NVDA", True, "hyphen ends the word"),
        ("why nvidia matters", "NVDA", False, "a name needs its capital"),
        ("NVDA slides", "NVDA", True, "bare ticker"),
        ("(NASDAQ:NVDA) slides", "NVDA", True, "exchange-prefixed ticker"),
        ("Nvda slides", "NVDA", False, "a bare ticker must be in capitals"),
        ("$nvda to the moon", "NVDA", True, "cashtag, any case"),
        ("NVDAX fund flows", "NVDA", False, "part of a longer word"),
        ("ANVDA", "NVDA", False, "a letter before"),
        ("NVDA2 warrants", "NVDA", False, "a digit after"),
        ("Pineapple prices rise", "AAPL", False, "name inside a longer word"),
        ("Applebee's opens", "AAPL", False, "a letter right after the name"),
        ("Apple pie recipes", "AAPL", True, "the rule's known miss: a proper noun used otherwise"),
        ("apple pie recipes", "AAPL", False, "lowercase noun"),
        ("Berkshire Hathaway buys", "BRK.B", True, "two-word name"),
        ("Berkshire  hathaway buys", "BRK.B", True, "any run of spaces; later words any case"),
        ("BRK-B and BRK/B and BRKB", "BRK.B", True, "ticker spellings"),
        ("The S&P 500 closes higher", "SPY", True, "name with symbols and a digit"),
        ("The S&P 5000 index", "SPY", False, "a digit right after the name"),
        ("BTC/USD breaks out", "BTC/USD", True, "pair ticker"),
        ("Bitcoin slips", "BTC/USD", True, "pair name"),
    ],
)
def test_rule_edges(text: str, symbol: str, expected: bool, why: str) -> None:
    assert M.matches(text, symbol) is expected, why


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ON SALE NOW", False),  # a two-letter capital word is not the ticker ON
        ("ON Semiconductor (ON) guides higher", True),
        ("NASDAQ: ON jumps", True),
        ("$ON jumps", True),
        ("$on jumps", True),
    ],
)
def test_short_tickers_need_a_frame(text: str, expected: bool) -> None:
    assert SymbolMatcher({"ON": []}).matches(text, "ON") is expected


def test_users_names_add_to_or_replace_the_defaults() -> None:
    added = SymbolMatcher({"NVDA": ["Jensen Huang"]})
    assert added.matches("Jensen Huang speaks", "NVDA") and added.matches("Nvidia rises", "NVDA")
    only = SymbolMatcher({"NVDA": ["Jensen Huang"]}, replace=True)
    assert only.matches("Jensen Huang speaks", "NVDA")
    assert not only.matches("Nvidia rises", "NVDA")
    assert only.matches("NVDA rises", "NVDA")  # the ticker always counts
    assert only.names == {"NVDA": ("Jensen Huang",)}


def test_symbols_in_and_tag() -> None:
    assert M.symbols_in("Apple and Microsoft lead; Nvidia lags") == ["AAPL", "MSFT", "NVDA"]
    assert M.symbols_in("Apple and Microsoft lead", ["MSFT", "TSLA"]) == ["MSFT"]
    frame = pd.DataFrame(
        {"title": ["Apple beats", None, "Quiet day"], "description": ["Nvidia too", "Tesla recalls", None]}
    )
    tags = M.tag(frame, ["AAPL", "NVDA", "TSLA"])
    assert tags.tolist() == ["AAPL,NVDA", "TSLA", ""]
    frame["symbols"] = tags
    assert has_symbol(frame, "nvda").tolist() == [True, False, False]


def test_query_quotes_phrases() -> None:
    assert M.query("NVDA") == "NVDA OR Nvidia"
    assert M.query("BRK.B") == '"BRK.B" OR "Berkshire Hathaway" OR Berkshire'
    assert ticker_spellings("BRK.B") == ["BRK.B", "BRK-B", "BRK/B", "BRKB"]
