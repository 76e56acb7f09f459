"""One number format for every table a report shows (HTML, PDF, notebook, command line).

Costs in bps and money with 2 decimals, prices with 4, quantities, counts and notionals as whole numbers
with thousands separators, shares (fill rate, participation) as percentages; NaN is shown as "—" and a
value that rounds to zero is "0.00", never "-0.00".
"""

from __future__ import annotations

import math

import pandas as pd

MISSING = "—"
PRICES = ("avg_price", "decision_mid", "arrival_mid", "end_mid", "vwap", "twap", "price", "mid")
WHOLE = ("count", "quantity", "filled_quantity", "notional", "filled_notional", "market_volume", "adv")
SHARES = ("fill_rate", "participation")


def number(value: object, decimals: int = 2) -> str:
    if value is None or isinstance(value, str):
        return "" if value is None else value
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(x):
        return MISSING
    text = f"{x:,.{decimals}f}"
    if text.lstrip("-").replace("0", "").replace(".", "").replace(",", "") == "":
        return text.lstrip("-")  # -0.00 → 0.00
    return text


def _decimals(column: str) -> int | None:
    name = str(column)
    if name in WHOLE or name.startswith("count"):
        return 0
    if name in PRICES or name.endswith("_mid") or name.endswith("_price"):
        return 4
    if name in SHARES:
        return None
    return 2


def format_value(column: str, value: object) -> str:
    decimals = _decimals(column)
    if decimals is None:
        if isinstance(value, (int, float)) and not math.isnan(float(value)):
            return number(100 * float(value), 1) + "%"
        return number(value)
    return number(value, decimals)


def format_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as text, each column in its format (times as they are, text untouched)."""
    out = pd.DataFrame(index=frame.index)
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_datetime64_any_dtype(values):
            out[column] = values.dt.strftime("%Y-%m-%d %H:%M:%S").fillna(MISSING)
        elif pd.api.types.is_bool_dtype(values):
            out[column] = values.astype(str)
        elif pd.api.types.is_integer_dtype(values):
            out[column] = [number(v, 0) for v in values]
        elif pd.api.types.is_numeric_dtype(values):
            out[column] = [format_value(column, v) for v in values]
        else:
            out[column] = values.astype(object).where(values.notna(), "")
    return out
