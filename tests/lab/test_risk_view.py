"""lab.risk: each limit beside what is used of it, as a DataFrame and a widget that follows the market."""

import math
import time

import pytest

from ntlab import Lab
from ntlab.core import RiskLimits
from ntlab.errors import Reason, RiskDenied


@pytest.fixture
def lab():
    limits = RiskLimits(max_position=500, max_gross_exposure=200_000, max_open_orders=3, max_daily_loss=1_000)
    with Lab(journal=None, risk=limits) as session:
        yield session


def test_the_frame_puts_each_limit_beside_its_usage(lab):
    lab.buy("AAPL", 100)
    lab.buy("MSFT", 10, limit=100)  # a passive buy, far under the market: it rests
    frame = lab.risk.frame
    account = frame[frame["symbol"].isna()].set_index("reason")
    assert list(account.index[:3]) == ["trading_halted", "restricted_symbol", "rate_limit"]
    assert account.loc["max_open_orders", ["limit", "usage"]].tolist() == [3.0, 1.0]
    gross = account.loc["max_gross_exposure"]
    aapl, msft = lab.quote("AAPL").mid, lab.quote("MSFT").mid
    assert gross["usage"] == pytest.approx(100 * float(aapl) + 10 * float(msft))
    assert gross["used_pct"] == pytest.approx(gross["usage"] / 2_000)
    assert gross["status"] == "ok"
    assert math.isnan(account.loc["price_band", "usage"]) and account.loc["price_band", "status"] == "on"
    assert account.loc["max_net_exposure", "status"] == "off"
    per_symbol = frame[frame["reason"] == "max_position"].set_index("symbol")
    assert per_symbol.loc["AAPL", "usage"] == 100 and per_symbol.loc["MSFT", "usage"] == 10
    assert str(frame["status"].dtype) == "category" and frame["limit"].dtype == "float64"


def test_limits_change_from_the_lab_and_apply_from_the_next_order(lab):
    lab.risk.limits = RiskLimits(restricted={"AAPL": "earnings today"})
    with pytest.raises(RiskDenied) as caught:
        lab.buy("AAPL", 1)
    assert caught.value.reason is Reason.RESTRICTED_SYMBOL
    row = lab.risk.frame.set_index("reason").loc["restricted_symbol"]
    assert row["setting"] == "AAPL" and "earnings today" in row["note"]
    assert "restricted_symbol" in lab.risk.rules


def test_the_widget_redraws_as_usage_changes(lab):
    view = lab.risk.widget()
    assert "Risk limits" in view.table.value and "max_gross_exposure" in view.table.value
    lab.buy("AAPL", 123)
    for _ in range(40):
        if "123" in view.table.value:
            break
        time.sleep(0.05)
    assert "position 123" in view.table.value
    assert lab.risk._repr_html_().startswith("<table")
