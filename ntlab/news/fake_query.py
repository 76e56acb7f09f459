"""News API's ``q`` syntax for the fake: words, "exact phrases", +must, -must-not, AND / OR / NOT, (groups).

Terms match whole words, case-insensitively; terms side by side must all match (as AND).
"""

from __future__ import annotations

import re
from collections.abc import Callable

Predicate = Callable[[str], bool]
_TOKENS = re.compile(r'\s*(?:(\()|(\))|"([^"]*)"|([+\-]?)([^\s()"]+))')


class QueryError(ValueError):
    """The q parameter cannot be read."""


def _term(text: str) -> Predicate:
    pattern = re.compile(r"(?<!\w)" + r"\s+".join(re.escape(w) for w in text.split()) + r"(?!\w)", re.I)
    return lambda haystack: pattern.search(haystack) is not None


def compile_query(q: str) -> Predicate:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(q):
        match = _TOKENS.match(q, position)
        if match is None or match.end() == position:
            if q[position:].strip():
                raise QueryError(f"cannot read q near {q[position : position + 20]!r}")
            break
        position = match.end()
        opening, closing, phrase, sign, word = match.groups()
        if opening:
            tokens.append(("(", ""))
        elif closing:
            tokens.append((")", ""))
        elif phrase is not None:
            tokens.append(("term", phrase))
        elif word in ("AND", "OR", "NOT") and not sign:
            tokens.append((word, ""))
        else:
            tokens.append((sign if sign else "term", word))
    parser = _Parser(tokens)
    predicate = parser.expression()
    if parser.index != len(tokens):
        raise QueryError("unbalanced parentheses in q")
    return predicate


class _Parser:
    """or := and (OR and)* ; and := unary ((AND)? unary)* ; unary := (NOT|-|+)? atom ; atom := term | (or)"""

    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.index = 0

    def _peek(self) -> str | None:
        return self.tokens[self.index][0] if self.index < len(self.tokens) else None

    def expression(self) -> Predicate:
        parts = [self._and()]
        while self._peek() == "OR":
            self.index += 1
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else (lambda text: any(p(text) for p in parts))

    def _and(self) -> Predicate:
        parts = [self._unary()]
        while self._peek() not in (None, "OR", ")"):
            if self._peek() == "AND":
                self.index += 1
            parts.append(self._unary())
        return parts[0] if len(parts) == 1 else (lambda text: all(p(text) for p in parts))

    def _unary(self) -> Predicate:
        kind, value = self.tokens[self.index] if self.index < len(self.tokens) else ("end", "")
        if kind in ("NOT", "-"):
            if kind == "NOT":
                self.index += 1
                inner = self._unary()
            else:
                self.index += 1
                inner = _term(value)
            return lambda text: not inner(text)
        if kind == "+":
            self.index += 1
            return _term(value)
        return self._atom()

    def _atom(self) -> Predicate:
        if self.index >= len(self.tokens):
            raise QueryError("q ends where a term was expected")
        kind, value = self.tokens[self.index]
        self.index += 1
        if kind == "term":
            return _term(value)
        if kind == "(":
            inner = self.expression()
            if self._peek() != ")":
                raise QueryError("unbalanced parentheses in q")
            self.index += 1
            return inner
        raise QueryError(f"unexpected {kind} in q")
