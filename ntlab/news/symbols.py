"""Which symbols a headline is about: a small lexical rule over a ticker and company-name list.

An article matches a symbol when its **title or description** (the content field is cut short and often
boilerplate, so it is not read) contains one of:

1. **the ticker** as a whole word, in capitals exactly: ``NVDA``, ``(NVDA)``, ``NASDAQ:NVDA``, ``NVDA's``;
   spellings with ``.``, ``-``, ``/`` or nothing between a ticker's parts count too (``BRK.B``, ``BRK-B``,
   ``BRK/B``; ``BTC/USD``, ``BTCUSD``). A ticker of one or two characters (``F``, ``ON``, ``GE``) counts only
   in parentheses or after an exchange name (``(F)``, ``NYSE: F``), or as a cashtag, because short capital
   words fill ordinary headlines ("ON SALE", "IT WORKS");
2. **a cashtag**, ``$`` and the ticker in any case: ``$NVDA``, ``$nvda``;
3. **a company name** from the list, as whole words, its first letter a capital and the rest in any case:
   ``Nvidia``, ``NVIDIA``, ``Nvidia's``, ``Nvidia-backed``, but not ``nvidia`` nor part of a longer word
   (``Pineapple`` and ``Applebee's`` are not Apple).

"Whole word" means no letter, digit or underscore right before or after. The rule is lexical on purpose:
it is cheap, predictable and explainable; its known misses are a proper noun used otherwise ("Apple pie
recipes" matches AAPL) and a company named only by a nickname. Pass your own names to fix either:
``SymbolMatcher({"NVDA": ["Nvidia", "Jensen Huang"]})``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import pandas as pd

#: Company names for the sample market's symbols and a few large companies; extend with ``names=``.
DEFAULT_NAMES: dict[str, tuple[str, ...]] = {
    "AAPL": ("Apple",),
    "MSFT": ("Microsoft",),
    "NVDA": ("Nvidia",),
    "SPY": ("S&P 500", "SPDR"),
    "BRK.B": ("Berkshire Hathaway", "Berkshire"),
    "BTC/USD": ("Bitcoin", "BTC"),
    "EUR/USD": ("EURUSD",),
    "AMZN": ("Amazon",),
    "GOOGL": ("Alphabet", "Google"),
    "META": ("Meta Platforms",),
    "TSLA": ("Tesla",),
    "AMD": ("Advanced Micro Devices",),
    "INTC": ("Intel",),
    "JPM": ("JPMorgan", "JP Morgan"),
}

_EXCHANGES = r"(?:NYSE|NASDAQ|Nasdaq|NYSEARCA|NYSE American|AMEX|LSE|TSX)"
_SEPARATORS = re.compile(r"[./\-]")


def ticker_spellings(symbol: str) -> list[str]:
    """``BRK.B`` -> ``BRK.B, BRK-B, BRK/B, BRKB``: the ways a multi-part ticker is written in news."""
    parts = _SEPARATORS.split(symbol)
    if len(parts) == 1:
        return [symbol]
    spellings = [symbol] + [sep.join(parts) for sep in (".", "-", "/", "")]
    return list(dict.fromkeys(spellings))


def _name_pattern(name: str) -> str:
    """First character literal (a capital), the rest case-insensitive; any run of spaces matches spaces."""
    head, rest = name[0], name[1:]
    rest_pattern = r"\s+".join(re.escape(word) for word in rest.split(" "))
    return rf"(?<!\w){re.escape(head)}(?i:{rest_pattern})(?!\w)"


def _ticker_pattern(spelling: str) -> str:
    word = re.escape(spelling)
    cashtag = rf"(?<!\w)\$(?i:{word})(?!\w)"
    if len(_SEPARATORS.sub("", spelling)) <= 2:
        framed = rf"\(\s*{word}\s*\)|(?<!\w){_EXCHANGES}\s*:\s*{word}(?!\w)"
        return f"{cashtag}|{framed}"
    return rf"{cashtag}|(?<![\w$]){word}(?!\w)"


class SymbolMatcher:
    """Tags texts with the symbols they are about (see the module docstring for the rule).

    ``names`` maps symbols to company names; by default :data:`DEFAULT_NAMES`. ``replace=True`` uses only
    the names given instead of adding them to the defaults. Tickers need no entry: every symbol asked for
    matches its own ticker.
    """

    def __init__(self, names: Mapping[str, Iterable[str]] | None = None, *, replace: bool = False) -> None:
        merged: dict[str, tuple[str, ...]] = {} if replace else dict(DEFAULT_NAMES)
        for symbol, extra in (names or {}).items():
            key = symbol.strip().upper()
            given = tuple(n.strip() for n in extra if n.strip())
            merged[key] = given if replace else tuple(dict.fromkeys(merged.get(key, ()) + given))
        self.names = merged
        self._patterns: dict[str, re.Pattern[str]] = {}

    def __repr__(self) -> str:
        return f"SymbolMatcher({len(self.names)} symbols with names)"

    def pattern(self, symbol: str) -> re.Pattern[str]:
        key = symbol.strip().upper()
        compiled = self._patterns.get(key)
        if compiled is None:
            parts = [_ticker_pattern(s) for s in ticker_spellings(key)]
            parts += [_name_pattern(n) for n in self.names.get(key, ()) if n]
            compiled = self._patterns[key] = re.compile("|".join(parts))
        return compiled

    def matches(self, text: str | None, symbol: str) -> bool:
        return bool(text) and self.pattern(symbol).search(text or "") is not None

    def symbols_in(self, text: str | None, symbols: Iterable[str] | None = None) -> list[str]:
        """The symbols (of ``symbols``, default every symbol with names) that ``text`` is about, sorted."""
        wanted = self.names.keys() if symbols is None else [s.strip().upper() for s in symbols]
        return sorted({s for s in wanted if self.matches(text, s)})

    def tag(self, frame: pd.DataFrame, symbols: Iterable[str] | None = None) -> pd.Series:
        """Comma-joined matched symbols per row of a headlines frame (title + description), "" for none."""
        wanted = list(symbols) if symbols is not None else list(self.names)
        texts = frame["title"].fillna("") + "\n" + frame["description"].fillna("")
        return texts.map(lambda text: ",".join(self.symbols_in(text, wanted))).astype("string")

    def query(self, symbol: str) -> str:
        """A News API ``q`` that finds articles naming the symbol: ``NVDA OR Nvidia``, phrases quoted."""
        key = symbol.strip().upper()
        terms = [key, *self.names.get(key, ())]
        return " OR ".join(f'"{t}"' if re.search(r"[\s&/.\-]", t) else t for t in dict.fromkeys(terms))


def has_symbol(frame: pd.DataFrame, symbol: str) -> pd.Series:
    """Boolean mask of the rows of a headlines frame tagged with ``symbol``."""
    key = symbol.strip().upper()
    return frame["symbols"].fillna("").str.split(",").map(lambda tags: key in tags).astype(bool)
