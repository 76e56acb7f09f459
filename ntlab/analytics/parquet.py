"""TCA data as Parquet partitioned by symbol and day, the layout the Dask path reads.

``DIR/<table>/symbol=<S>/day=<YYYY-MM-DD>/part-0.parquet``: one folder per symbol-day (UTC day of the
table's time column: arrival for orders, the print for fills, quotes and trades). Symbols are
percent-encoded in folder names (BTC/USD → BTC%2FUSD) and decoded on reading.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import quote

import pandas as pd

from ntlab.errors import DataError

PARTITIONS = ["symbol", "day"]


def day_of(times: pd.Series) -> pd.Series:
    return pd.to_datetime(times, utc=True).dt.strftime("%Y-%m-%d")


def write_partitioned(frame: pd.DataFrame, path: str | Path, time_column: str) -> int:
    """Write ``frame`` under ``path`` by symbol and UTC day of ``time_column``; returns the rows written.

    One ``pyarrow.parquet.write_table`` per symbol-day, in the calling thread: ``pyarrow.dataset.write_dataset``
    finishes tearing its plan down on a worker thread after it returns, and that teardown frees the
    NumPy-backed buffers under the GIL, which aborts the process ("terminate called without an active
    exception") when the interpreter is already exiting.
    """
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as error:
        raise ImportError("Parquet export needs pyarrow: pip install 'ntlab[data]'") from error
    if "symbol" not in frame or time_column not in frame:
        raise DataError(f"cannot partition: the frame needs symbol and {time_column} columns")
    table = frame.assign(symbol=frame["symbol"].astype(str), day=day_of(frame[time_column]))
    table = table.sort_values(["symbol", "day", time_column], kind="stable").reset_index(drop=True)
    for column in table.columns:  # Decimal and mixed object columns as text or floats Parquet can hold
        if table[column].dtype == object:
            table[column] = table[column].astype(str)
    root = Path(path)
    for (symbol, day), rows in table.groupby(PARTITIONS, sort=False):
        folder = root / f"symbol={quote(str(symbol), safe='')}" / f"day={day}"
        if folder.exists():  # a re-export replaces the symbol-days it writes, and only those
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        data = pa.Table.from_pandas(rows.drop(columns=PARTITIONS), preserve_index=False)
        pq.write_table(data, folder / "part-0.parquet")
    return len(table)
