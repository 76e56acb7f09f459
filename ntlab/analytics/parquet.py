"""TCA data as Parquet partitioned by symbol and day, the layout the Dask path reads.

``DIR/<table>/symbol=<S>/day=<YYYY-MM-DD>/part-0.parquet``: one folder per symbol-day (UTC day of the
table's time column: arrival for orders, the print for fills, quotes and trades). Symbols are
percent-encoded in folder names (BTC/USD → BTC%2FUSD) and decoded on reading.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ntlab.errors import DataError

PARTITIONS = ["symbol", "day"]


def day_of(times: pd.Series) -> pd.Series:
    return pd.to_datetime(times, utc=True).dt.strftime("%Y-%m-%d")


def write_partitioned(frame: pd.DataFrame, path: str | Path, time_column: str) -> int:
    """Write ``frame`` under ``path`` by symbol and UTC day of ``time_column``; returns the rows written."""
    try:
        import pyarrow as pa
        import pyarrow.dataset as ds
    except ImportError as error:
        raise ImportError("Parquet export needs pyarrow: pip install 'ntlab[data]'") from error
    if "symbol" not in frame or time_column not in frame:
        raise DataError(f"cannot partition: the frame needs symbol and {time_column} columns")
    table = frame.assign(symbol=frame["symbol"].astype(str), day=day_of(frame[time_column]))
    table = table.sort_values(["symbol", "day", time_column], kind="stable").reset_index(drop=True)
    for column in table.columns:  # Decimal and mixed object columns as text or floats Parquet can hold
        if table[column].dtype == object:
            table[column] = table[column].astype(str)
    ds.write_dataset(
        pa.Table.from_pandas(table, preserve_index=False),
        str(path),
        format="parquet",
        partitioning=ds.partitioning(
            pa.schema([("symbol", pa.string()), ("day", pa.string())]), flavor="hive"
        ),
        existing_data_behavior="delete_matching",
        basename_template="part-{i}.parquet",
        preserve_order=True,  # the rows of a symbol-day stay in time order
    )
    return len(table)
