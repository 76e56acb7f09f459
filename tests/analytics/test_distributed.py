"""The same tca() on Dask DataFrames of partitioned Parquet, on a LocalCluster of several workers, gives the
pandas numbers to 1e-9: three symbols over three days, one trading round the clock (markouts and an order
crossing midnight), parents with children, a symbol-day split over two files."""

import numpy as np
import pandas as pd
import pytest

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("dask.distributed")

from ntlab.analytics import tca  # noqa: E402
from ntlab.analytics.parquet import write_partitioned  # noqa: E402

DAYS = [pd.Timestamp(d, tz="UTC") for d in ("2026-03-02", "2026-03-03", "2026-03-04")]


def market(rng):
    quotes, trades = [], []
    for symbol, base, hours in (
        ("AAPL", 190.0, (14.5, 21)),
        ("MSFT", 410.0, (14.5, 21)),
        ("BTC/USD", 65_000.0, (0, 24)),
    ):
        for day in DAYS:
            start, end = day + pd.Timedelta(hours=hours[0]), day + pd.Timedelta(hours=hours[1])
            n = 1500
            times = np.sort(rng.integers(start.value, end.value - 1, n))
            mid = base * np.exp(np.cumsum(rng.normal(0, 2e-4, n)))
            quotes.append(
                pd.DataFrame(
                    {
                        "symbol": symbol,
                        "time": pd.to_datetime(times, utc=True),
                        "bid": mid * (1 - 1e-4),
                        "ask": mid * (1 + 1e-4),
                    }
                )
            )
            picked = np.sort(rng.choice(n, 400, replace=False))
            trades.append(
                pd.DataFrame(
                    {
                        "symbol": symbol,
                        "time": pd.to_datetime(times[picked], utc=True),
                        "price": mid[picked],
                        "size": rng.integers(1, 300, 400).astype(float),
                    }
                )
            )
    return pd.concat(quotes, ignore_index=True), pd.concat(trades, ignore_index=True)


def orders_and_fills(rng, quotes):
    orders, fills = [], []
    spans = quotes.groupby("symbol", observed=True)["time"].agg(["min", "max"])
    k = 0
    for symbol in ("AAPL", "MSFT", "BTC/USD"):
        for day in DAYS:
            for j in range(12):
                side = ("buy", "sell")[j % 2]
                if symbol == "BTC/USD" and j == 0:
                    arrival = day + pd.Timedelta(hours=23, minutes=50)  # crosses midnight
                else:
                    arrival = day + pd.Timedelta(hours=15 + j / 3)
                if arrival > spans.loc[symbol, "max"]:
                    continue
                parent = f"p{k}"
                orders.append(
                    {
                        "order_id": parent,
                        "symbol": symbol,
                        "side": side,
                        "quantity": 900.0,
                        "arrival_time": arrival,
                        "end_time": arrival + pd.Timedelta(minutes=20),
                        "algo": ("twap", "vwap")[j % 2],
                        "parent_id": None,
                    }
                )
                for c in range(3):
                    child = f"{parent}-{c}"
                    child_arrival = arrival + pd.Timedelta(minutes=6 * c)
                    orders.append(
                        {
                            "order_id": child,
                            "symbol": symbol,
                            "side": side,
                            "quantity": 300.0,
                            "arrival_time": child_arrival,
                            "end_time": pd.NaT,
                            "algo": ("twap", "vwap")[j % 2],
                            "parent_id": parent,
                        }
                    )
                    for x in range(int(rng.integers(0, 3))):
                        t = child_arrival + pd.Timedelta(seconds=int(rng.integers(1, 300)))
                        fills.append(
                            {
                                "order_id": child,
                                "fill_id": f"{child}-f{x}",
                                "time": t,
                                "symbol": symbol,
                                "price": float(
                                    np.interp(t.value, quotes["time"].astype("int64"), quotes["bid"])
                                ),
                                "quantity": 100.0,
                                "fee": 0.1,
                                "liquidity": ("maker", "taker")[x % 2],
                            }
                        )
                k += 1
    orders = pd.DataFrame(orders)
    fills = pd.DataFrame(fills)
    # prices near each symbol's own level: interpolate within the symbol
    for symbol in ("AAPL", "MSFT", "BTC/USD"):
        q = quotes[quotes["symbol"] == symbol]
        at = fills["symbol"] == symbol
        fills.loc[at, "price"] = np.interp(
            fills.loc[at, "time"].astype("int64"), q["time"].astype("int64"), (q["bid"] + q["ask"]) / 2
        ) * (1 + rng.normal(0, 2e-4, at.sum()))
    return orders, fills


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    rng = np.random.default_rng(11)
    quotes, trades = market(rng)
    orders, fills = orders_and_fills(rng, quotes)
    root = tmp_path_factory.mktemp("tca-parquet")
    write_partitioned(orders, root / "orders", "arrival_time")
    write_partitioned(fills, root / "fills", "time")
    write_partitioned(quotes, root / "quotes", "time")
    write_partitioned(trades, root / "trades", "time")
    # one symbol-day in two files: the later half of AAPL's first day goes to a second file
    folder = root / "quotes" / "symbol=AAPL" / "day=2026-03-02"
    day = pd.read_parquet(folder / "part-0.parquet")
    half = len(day) // 2
    day.iloc[:half].to_parquet(folder / "part-0.parquet", index=False)
    day.iloc[half:].to_parquet(folder / "part-1.parquet", index=False)
    return root, orders, fills, quotes, trades


@pytest.fixture(scope="module")
def cluster():
    with (
        distributed.LocalCluster(
            n_workers=3, threads_per_worker=1, processes=True, dashboard_address=None
        ) as c,
        distributed.Client(c) as client,
    ):
        yield client


def test_dask_on_a_cluster_equals_pandas(data, cluster):
    root, orders, fills, quotes, trades = data
    tables = {t: dd.read_parquet(root / t) for t in ("orders", "fills", "quotes", "trades")}
    assert tables["quotes"].npartitions >= 9
    options = {"tape_includes_fills": False, "impact_horizon": "2m"}
    local = tca(tables["orders"].compute(), fills, quotes, trades, **options)
    remote = tca(tables["orders"], tables["fills"], tables["quotes"], tables["trades"], **options)

    def same(a, b):
        a, b = a.sort_index(), b.sort_index()
        assert list(a.index) == list(b.index)
        numbers = a.select_dtypes("number").columns
        np.testing.assert_allclose(
            b[numbers].to_numpy(float), a[numbers].to_numpy(float), rtol=1e-9, atol=1e-9
        )
        for column in a.columns.difference(numbers):
            assert a[column].astype(str).tolist() == b[column].astype(str).tolist(), column

    assert len(local.orders) == len(orders[orders["parent_id"].isna()]) and len(local.children) > 100
    same(local.orders, remote.orders)
    same(local.children, remote.children)
    same(local.fills, remote.fills.compute())
    same(local.summary, remote.summary)
    same(local.by("algo"), remote.by("algo"))
    same(local.markouts, remote.markouts)
    # the midnight-crossing BTC/USD parent has a VWAP and TWAP from both days' pieces
    crossing = local.orders[
        (local.orders["symbol"] == "BTC/USD") & (local.orders["arrival_time"].dt.hour == 23)
    ]
    assert crossing["twap"].notna().any() and crossing["vwap"].notna().any()
