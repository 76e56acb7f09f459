import math

import pytest

from ntlab import Lab


def test_twap_from_the_lab_works_through_children(lab):
    parent = lab.algos.twap("AAPL", 2000, minutes=10)
    assert "sim-twap-001" in repr(parent)
    lab.advance("12min")
    row = lab.algos.frame.loc["sim-twap-001"]
    assert row["status"] == "filled" and float(row["filled_quantity"]) == 2000
    children = lab.orders[lab.orders["parent_id"] == "sim-twap-001"]
    assert len(children) > 3 and set(children["tag"]) == {"twap"}
    assert children["filled_quantity"].sum() == 2000
    assert lab.positions.loc["AAPL", "quantity"] == 2000


def test_cancelling_a_parent_leaves_no_child_open(lab):
    parent = lab.algos.vwap("MSFT", 5000, minutes=30)
    lab.advance("5min")
    lab.algos.cancel(parent)
    lab.advance("5min")
    children = lab.orders[lab.orders["parent_id"] == parent.parent_id]
    assert not children["status"].isin(["pending", "accepted", "partially_filled", "pending_cancel"]).any()


def test_tca_of_the_session_by_algo(lab):
    lab.buy("NVDA", 1000)
    lab.algos.pov("NVDA", 2000, rate=0.1, minutes=20)
    lab.advance("25min")
    report = lab.tca()
    by_algo = report.by("algo")
    assert {"manual", "pov"} <= set(by_algo.index)
    assert by_algo.loc["manual", "count"] == 1
    total = report.orders["is_cost"].sum() / report.orders["notional"].sum() * 1e4
    assert report.summary.loc["is_bps", "mean_bps"] == pytest.approx(total)
    assert not math.isnan(report.orders["arrival_mid"].iloc[0])


def test_algos_resume_after_reopening_the_journal(tmp_path):
    path = tmp_path / "s.sqlite"
    with Lab(journal=path) as lab:
        lab.algos.twap("SPY", 3000, minutes=20)
        lab.advance("5min")
        done_before = lab.orders["filled_quantity"].sum()
    with Lab(journal=path) as lab:
        assert lab.algos.frame.iloc[0]["status"] == "running"
        lab.advance("20min")
        assert lab.orders["filled_quantity"].sum() == 3000 > done_before  # finished, nothing traded twice
