"""The core's records as pandas DataFrames, one column per field, typed by what the field holds.

Columns follow the record's field list (:mod:`ntlab.core.fields`): Decimals become float64 (NaN where a price
is missing), times tz-aware UTC datetimes, enums categoricals of their spellings, text pandas strings. Every
orders, fills and positions frame (the Lab's views, ``ntlab report``, the CLI tables) is built here, so a
field added to a record shows up in all of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ntlab.core.fields import FieldSpec, Kind, plain_converters, specs


def column(spec: FieldSpec, values: Sequence[Any]) -> Any:
    """One field's plain values (see :func:`ntlab.core.fields.plain_converters`) as a typed column."""
    kind = spec.kind
    if kind is Kind.DECIMAL:
        return np.array(values, dtype="float64")
    if kind is Kind.TIME:
        ns = np.array([np.iinfo("int64").min if v is None else v for v in values], dtype="int64")
        return pd.DatetimeIndex(ns.view("datetime64[ns]")).tz_localize("UTC")
    if kind is Kind.ENUM:
        assert spec.type is not None
        categories = [member.value for member in spec.type]  # type: ignore[attr-defined]
        return pd.Categorical(values, categories=categories)
    if kind is Kind.BOOL:
        return np.array(values, dtype=bool)
    if kind is Kind.INT:
        return np.array(values, dtype="int64")
    return pd.array(values, dtype="string")


def frame(
    records: Sequence[Any], cls: type[Any], *, index: str | None = None, columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """A DataFrame of ``records`` (instances of the record class ``cls``), optionally indexed by one field."""
    converters = dict(plain_converters(cls))
    fields = {spec.name: spec for spec in specs(cls) if spec.name in converters}
    names = list(columns) if columns is not None else list(fields)
    if index is not None and index not in names:
        names.insert(0, index)
    data = {}
    for name in names:
        convert = converters[name]
        position = fields[name].index
        data[name] = column(fields[name], [convert(record[position]) for record in records])
    result = pd.DataFrame(data)
    return result.set_index(index) if index is not None else result
