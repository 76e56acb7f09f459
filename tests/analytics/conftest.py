import pandas as pd
import pytest

T0 = pd.Timestamp("2026-03-02 14:30", tz="UTC")


def at(seconds: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(seconds=seconds)


@pytest.fixture
def quotes() -> pd.DataFrame:
    """AAPL mids 99.90 (-20 s), 100.00 (0 s), 100.10 (10 s), 100.20 (20 s), 100.50 (400 s); 4 cents wide."""
    return pd.DataFrame(
        {
            "symbol": "AAPL",
            "time": [at(-20), at(0), at(10), at(20), at(400)],
            "bid": [99.88, 99.98, 100.08, 100.18, 100.48],
            "ask": [99.92, 100.02, 100.12, 100.22, 100.52],
        }
    )


def one_order(**overrides: object) -> pd.DataFrame:
    row = {"order_id": "o1", "symbol": "AAPL", "side": "buy", "quantity": 100, "arrival_time": at(0)}
    return pd.DataFrame([{**row, **overrides}])


def fills_of(*rows: tuple[str, float, float, float]) -> pd.DataFrame:
    """(fill_id, seconds, price, quantity) rows, all of order o1."""
    return pd.DataFrame(
        [{"order_id": "o1", "fill_id": f, "time": at(t), "price": p, "quantity": x} for f, t, p, x in rows],
        columns=["order_id", "fill_id", "time", "price", "quantity"],
    )
