"""Transaction log -> Fader-Hardie customer summary: reproduces the published CDNOW summary and
hand-computed cases, and states what happens to returns and zero-value orders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers.clv.data import cohort_retention, customer_summary

DATA = Path(__file__).resolve().parents[1] / "data" / "cdnow"


def _table(engine, frame: pd.DataFrame, name: str):
    engine.con.register(name, frame)
    return engine.table(name)


@pytest.fixture(scope="module")
def cdnow(engine):
    tx = pd.read_csv(DATA / "cdnow_sample_transactions.csv", dtype={"customer_id": str}, parse_dates=["date"])
    return customer_summary(_table(engine, tx, "cdnow"), "1997-09-30", "1998-06-30", "W")


def test_cdnow_summary_matches_the_published_calibration_data(cdnow):
    ref = pd.read_csv(DATA / "cdnow_customers_summary_with_transactions.csv")
    ours = cdnow.summary.assign(ID=cdnow.summary["customer_id"].astype(int)).merge(ref, on="ID")
    assert len(ours) == len(ref) == 2357
    assert (ours["frequency"] == ours["x"]).all()
    np.testing.assert_allclose(ours["recency"], ours["t_x"], atol=0.005)  # published to 2 decimals
    np.testing.assert_allclose(ours["T_x"], ours["T_y"], atol=0.005)
    np.testing.assert_allclose(ours["monetary"], ours["zbar"], atol=0.0051)
    assert ours["frequency"].sum() == 2457
    assert ours["frequency_holdout"].sum() == 1882  # published holdout repeat transactions, weeks 40-78
    assert cdnow.holdout_duration == pytest.approx(39.0, abs=0.01)
    assert cdnow.zero_rows == 8 and cdnow.negative_rows == 0


def test_hand_computed_customers_in_weeks_and_days(engine):
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "a", "b", "c", "c", "d"],
            "date": pd.to_datetime(
                [
                    "2024-01-01",
                    "2024-01-01",
                    "2024-01-15",
                    "2024-02-12",
                    "2024-01-08",
                    "2024-01-29",
                    "2024-03-04",
                    "2024-03-01",
                ]
            ),
            "amount": [10.0, 5.0, 20.0, 30.0, 7.0, 12.0, 40.0, 9.0],
        }
    )
    res = customer_summary(_table(engine, tx, "hand"), "2024-01-29", "2024-03-11", "W")
    s = res.summary.set_index("customer_id")
    # a: purchases on Jan 1 (two orders merged, 15.0), Jan 15 (20.0) in calibration; Feb 12 in holdout
    assert s.loc["a", "frequency"] == 1
    assert s.loc["a", "recency"] == pytest.approx(2.0)
    assert s.loc["a", "T"] == pytest.approx(4.0)
    assert s.loc["a", "monetary"] == pytest.approx(20.0)  # the first purchase is left out
    assert s.loc["a", "frequency_holdout"] == 1 and s.loc["a", "monetary_holdout"] == pytest.approx(30.0)
    # b: one purchase only -> frequency 0, recency 0, monetary 0
    assert (s.loc["b", "frequency"], s.loc["b", "recency"], s.loc["b", "monetary"]) == (0, 0.0, 0.0)
    assert s.loc["b", "T"] == pytest.approx(3.0)
    # c: first purchase on the calibration end -> T = 0
    assert s.loc["c", "T"] == 0.0 and s.loc["c", "frequency_holdout"] == 1
    # d: first seen in the holdout -> not in the summary, but counted
    assert "d" not in s.index and res.customers_first_seen_in_holdout == 1
    days = customer_summary(_table(engine, tx, "hand"), "2024-01-29", "2024-03-11", "D").summary.set_index(
        "customer_id"
    )
    assert days.loc["a", "recency"] == 14.0 and days.loc["a", "T"] == 28.0


def test_returns_are_excluded_and_counted_zero_value_orders_are_visits(engine):
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b"],
            "date": pd.to_datetime(["2024-01-01", "2024-01-08", "2024-01-10", "2024-01-01"]),
            "amount": [10.0, -10.0, 0.0, 5.0],
        }
    )
    res = customer_summary(_table(engine, tx, "returns"), "2024-01-31", time_unit="D")
    s = res.summary.set_index("customer_id")
    assert s.loc["a", "frequency"] == 1  # the return is not a purchase; the zero-value order is
    assert s.loc["a", "recency"] == 9.0 and s.loc["a", "monetary"] == 0.0
    assert (res.negative_rows, res.zero_rows, res.negative_amount) == (1, 1, -10.0)
    assert "returns totalling -10.00" in res.describe_exclusions()


def test_defaults_use_the_last_date_and_no_holdout(engine):
    tx = pd.DataFrame(
        {"customer_id": ["a", "a"], "date": pd.to_datetime(["2024-01-01", "2024-01-22"]), "amount": [1.0, 2.0]}
    )
    res = customer_summary(_table(engine, tx, "defaults"), time_unit="W")
    assert not res.has_holdout
    assert res.summary["T"].tolist() == [3.0] and res.summary["recency"].tolist() == [3.0]
    with pytest.raises(ValueError, match="time_unit"):
        customer_summary(_table(engine, tx, "defaults"), time_unit="M")


def test_cohort_retention_shares_and_unobservable_cells(engine):
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "c", "c"],
            "date": pd.to_datetime(["2024-01-05", "2024-02-10", "2024-01-20", "2024-02-01", "2024-03-03"]),
            "amount": [1.0] * 5,
        }
    )
    ret = cohort_retention(_table(engine, tx, "cohorts"))
    jan, feb = pd.Timestamp("2024-01-01"), pd.Timestamp("2024-02-01")
    assert ret.loc[jan].tolist() == [1.0, 0.5, 0.0]
    assert ret.loc[feb, 0] == 1.0 and ret.loc[feb, 1] == 1.0 and np.isnan(ret.loc[feb, 2])
    assert ret.attrs["sizes"].tolist() == [2, 1]


def test_summary_cohorts_and_tracking_from_materialised_purchase_days_equal_those_from_the_log(engine):
    """The CLV workflow computes the purchase days once and reads them three times (``days=True``):
    the same tables as from the log itself, returns and same-day orders included."""
    from helpers.clv import validation
    from helpers.clv.data import purchase_days_expr, transaction_checks
    from helpers.core.engine import Materialised

    tx = pd.read_csv(DATA / "cdnow_sample_transactions.csv", dtype={"customer_id": str}, parse_dates=["date"])
    extra = pd.DataFrame(  # a return and a second order on a purchase day
        {"customer_id": ["1", "1"], "date": pd.to_datetime(["1997-01-01", "1997-01-01"]), "amount": [-5.0, 7.5]}
    )
    log = _table(engine, pd.concat([tx[["customer_id", "date", "amount"]], extra], ignore_index=True), "log_days")
    direct = customer_summary(log, "1997-09-30", "1998-06-30", "W")
    with Materialised(purchase_days_expr(log), "wb_test_days") as days:
        via_days = customer_summary(days, "1997-09-30", "1998-06-30", "W", checks=transaction_checks(log), days=True)
        pd.testing.assert_frame_equal(cohort_retention(days, days=True), cohort_retention(log))
        first = direct.summary["first_purchase"]
        args = ("1997-01-01", "1998-06-30", "W")
        pd.testing.assert_frame_equal(
            validation.tracking(_FlatModel(), days, first, *args, days=True),
            validation.tracking(_FlatModel(), log, first, *args),
        )
    pd.testing.assert_frame_equal(via_days.summary, direct.summary)
    assert (via_days.rows, via_days.negative_rows, via_days.zero_rows) == (direct.rows, 1, direct.zero_rows)
    assert engine.con.sql("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'wb_test_days'").fetchall() == [(0,)]


class _FlatModel:
    """A stand-in transaction model: one expected purchase per time unit."""

    def expected_purchases_new_customer(self, t):
        return np.asarray(t, dtype=float)


def test_one_pass_gives_the_calibration_summary_and_the_summary_to_the_observation_end(engine):
    """``customer_summaries`` derives both summaries from one pass; each equals the summary
    computed on its own (calibration to the observation end, no holdout, for the second)."""
    from helpers.clv.data import customer_summaries

    tx = pd.read_csv(DATA / "cdnow_sample_transactions.csv", dtype={"customer_id": str}, parse_dates=["date"])
    late = pd.DataFrame(  # first seen in the holdout, and first seen after the observation end
        {"customer_id": ["new", "newer"], "date": pd.to_datetime(["1998-01-05", "1998-08-01"]), "amount": [9.0, 4.0]}
    )
    log = _table(engine, pd.concat([tx[["customer_id", "date", "amount"]], late], ignore_index=True), "log_two")
    calibration, whole = customer_summaries(log, "1997-09-30", "1998-06-30", "W")
    alone = customer_summary(log, "1998-06-30", None, "W")
    pd.testing.assert_frame_equal(whole.summary, alone.summary)
    assert (whole.calibration_end, whole.observation_end) == (alone.calibration_end, alone.observation_end)
    assert not whole.has_holdout and whole.customers_first_seen_in_holdout == alone.customers_first_seen_in_holdout == 1
    assert calibration.customers_first_seen_in_holdout == 2 and "new" in set(whole.summary["customer_id"])
    assert calibration.summary["frequency_holdout"].sum() == 1882  # the published holdout count, as before


def test_cohorts_from_the_summary_pass_equal_the_cohort_query_over_more_than_one_word_of_months(engine):
    """``customer_summaries(cohorts=True)`` reads the cohorts off each customer's active months
    (62 months to a 64-bit word); a 7-year log with returns, repeat days and customers acquired
    across the word boundary (month 62) gives the table of the cohort query."""
    from helpers.clv.data import customer_summaries

    rng = np.random.default_rng(11)
    n = 400
    first = pd.Timestamp("2018-01-01") + pd.to_timedelta(rng.integers(0, 7 * 365, n), unit="D")
    rows = []
    for i, f in enumerate(first):
        for d in f + pd.to_timedelta(np.r_[0, np.sort(rng.integers(0, 700, rng.integers(0, 6)))], unit="D"):
            rows.append((f"c{i}", d, float(rng.integers(-1, 20))))
    rows.append(("returns-only", pd.Timestamp("2019-03-04"), -3.0))
    tx = pd.DataFrame(rows, columns=["customer_id", "date", "amount"])
    log = _table(engine, tx, "log_cohort_words")
    calibration, whole = customer_summaries(log, "2022-06-30", "2024-06-30", "W", cohorts=True)
    expected = cohort_retention(log)
    assert len(expected.columns) > 62 and expected.index.max() > pd.Timestamp("2023-03-01")  # both words used
    pd.testing.assert_frame_equal(calibration.cohorts, expected)
    pd.testing.assert_series_equal(calibration.cohorts.attrs["sizes"], expected.attrs["sizes"])
    assert whole.cohorts is calibration.cohorts
    plain, _ = customer_summaries(log, "2022-06-30", "2024-06-30", "W")
    assert plain.cohorts is None
    pd.testing.assert_frame_equal(plain.summary, calibration.summary)  # the bits change nothing else


def test_tracking_from_purchase_days_less_first_purchases_equals_the_join(engine):
    """Given every customer's first purchase, tracking counts repeat purchases as purchase days
    per period less first purchases, without the join; the same table, including customers first
    seen in the holdout and purchases after the end."""
    from helpers.clv import validation
    from helpers.clv.data import customer_summaries

    tx = pd.read_csv(DATA / "cdnow_sample_transactions.csv", dtype={"customer_id": str}, parse_dates=["date"])
    late = pd.DataFrame(
        {
            "customer_id": ["new", "new", "1", "x"],
            "date": pd.to_datetime(["1998-01-05", "1998-02-11", "1998-09-01", "1998-01-01"]),
            "amount": [9.0, 4.0, 3.0, -2.0],
        }
    )
    log = _table(engine, pd.concat([tx[["customer_id", "date", "amount"]], late], ignore_index=True), "log_tracking")
    _, whole = customer_summaries(log, "1997-09-30", "1998-06-30", "W")
    first = whole.summary["first_purchase"]
    for unit in ("W", "D"):
        args = ("1997-01-01", "1998-06-30", unit)
        fast = validation.tracking(_FlatModel(), log, first, *args, every_customer=True)
        pd.testing.assert_frame_equal(fast, validation.tracking(_FlatModel(), log, first, *args))
    assert fast["actual"].sum() == whole.summary["frequency"].sum()  # every repeat purchase to the end
