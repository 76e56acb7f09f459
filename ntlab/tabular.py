"""The core's records as pandas DataFrames, one column per field, typed by what the field holds.

Columns follow the record's field list (:mod:`ntlab.core.fields`): Decimals become float64 (NaN where a price
is missing), times tz-aware UTC datetimes, enums categoricals of their spellings, text pandas strings. Every
orders, fills and positions frame (the Lab's views, ``ntlab report``, the CLI tables) is built here, so a
field added to a record shows up in all of them.

:class:`Columns` keeps records as plain cells, column by column, so a view that changes one row at a time
converts that row, not the whole table, on every look.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ntlab.core.fields import FieldSpec, Kind, specs, time_ns

try:
    import pyarrow as pa
except ImportError:  # pandas keeps strings in Python objects then
    pa = None

_ARROW_STRINGS = pa is not None and pd.StringDtype().storage == "pyarrow"
_NAT = np.iinfo("int64").min


def string_array(values: Sequence[str | None]) -> Any:
    """A pandas "string" array; through Arrow when that is its storage (a few times faster from a list)."""
    if _ARROW_STRINGS:
        return pd.array(pa.array(list(values), type=pa.large_string()), dtype="string")
    return pd.array(list(values), dtype="string")


def categories(spec: FieldSpec) -> pd.CategoricalDtype:
    assert spec.type is not None
    return pd.CategoricalDtype([member.value for member in spec.type])  # type: ignore[attr-defined]


def _cell(spec: FieldSpec) -> Callable[[Any], Any]:
    """How one field's value becomes a plain cell: a float, int nanoseconds, a category code, text."""
    kind = spec.kind
    if kind is Kind.DECIMAL:
        return (lambda v: math.nan if v is None else float(v)) if spec.optional else float
    if kind is Kind.TIME:
        return (lambda v: _NAT if v is None else time_ns(v)) if spec.optional else time_ns
    if kind is Kind.ENUM:
        codes = {member: i for i, member in enumerate(spec.type)}  # type: ignore[arg-type]
        return (lambda v: -1 if v is None else codes[v]) if spec.optional else codes.__getitem__
    if kind is Kind.BOOL:
        return bool
    return lambda v: v


def _column(spec: FieldSpec, cells: Sequence[Any]) -> Any:
    """A field's plain cells as a typed column."""
    kind = spec.kind
    if kind is Kind.DECIMAL:
        return np.array(cells, dtype="float64")
    if kind is Kind.TIME:
        return pd.DatetimeIndex(np.array(cells, dtype="int64").view("datetime64[ns]")).tz_localize("UTC")
    if kind is Kind.ENUM:
        return pd.Categorical.from_codes(np.array(cells, dtype=np.int8), dtype=categories(spec))
    if kind is Kind.BOOL:
        return np.array(cells, dtype=bool)
    if kind is Kind.INT:
        return np.array(cells, dtype="int64")
    return string_array(cells)


class Columns:
    """Records of one class as plain cells, column by column, in the class's field order."""

    def __init__(self, cls: type[Any], records: Sequence[Any] = ()) -> None:
        self.cls = cls
        self.specs = tuple(s for s in specs(cls) if s.kind is not Kind.RECORD)
        self._cells = tuple(_cell(s) for s in self.specs)
        self.cells: dict[str, list[Any]] = {s.name: [] for s in self.specs}
        self.extend(records)

    def __len__(self) -> int:
        return len(next(iter(self.cells.values()), ()))

    def extend(self, records: Sequence[Any]) -> None:
        for spec, cell, column in zip(self.specs, self._cells, self.cells.values(), strict=True):
            i = spec.index
            column.extend([cell(record[i]) for record in records])

    def set(self, row: int, record: Any) -> None:
        for spec, cell, column in zip(self.specs, self._cells, self.cells.values(), strict=True):
            column[row] = cell(record[spec.index])

    def copy(self) -> Columns:
        """A copy of the cells as they are now (cheap: lists of plain values), to build a frame elsewhere."""
        copied = Columns.__new__(Columns)
        copied.cls, copied.specs, copied._cells = self.cls, self.specs, self._cells
        copied.cells = {name: list(values) for name, values in self.cells.items()}
        return copied

    def frame(self, *, index: str | None = None, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """The cells as a DataFrame, optionally indexed by one field and cut to some columns."""
        by_name = {s.name: s for s in self.specs}
        names = [n for n in (columns if columns is not None else by_name) if n != index]
        data = {name: _column(by_name[name], self.cells[name]) for name in names}
        if index is None:
            return pd.DataFrame(data)
        return pd.DataFrame(data, index=pd.Index(_column(by_name[index], self.cells[index]), name=index))


def frame(
    records: Sequence[Any], cls: type[Any], *, index: str | None = None, columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """A DataFrame of ``records`` (instances of the record class ``cls``), optionally indexed by one field."""
    return Columns(cls, records).frame(index=index, columns=columns)
