"""The CLV analysis end to end on a transaction log: recovers simulated truth, reproduces the
CDNOW figures the report quotes, and gives every metric the report promises."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import synth
from helpers.clv import analysis
from helpers.clv.workflow import CUSTOMER_COLUMNS, CLVAnalysis
from helpers.core.engine import Engine

DATA = Path(__file__).resolve().parents[1] / "data" / "cdnow"

REQUIRED_METRICS = [
    "customers",
    "bgnbd.r",
    "bgnbd.alpha",
    "bgnbd.a",
    "bgnbd.b",
    "bgnbd.loglik",
    "pareto_nbd.r",
    "pareto_nbd.alpha",
    "pareto_nbd.s",
    "pareto_nbd.beta",
    "pareto_nbd.loglik",
    "gamma_gamma.p",
    "gamma_gamma.q",
    "gamma_gamma.v",
    "holdout.actual_repeat_transactions",
    "holdout.predicted_repeat_transactions",
    "clv.total",
    "churn.at_risk_customers",
]


@pytest.fixture(scope="module")
def engine():
    eng = Engine()
    yield eng
    eng.close()


@pytest.fixture(scope="module")
def cdnow(engine):
    tx = pd.read_csv(DATA / "cdnow_sample_transactions.csv", dtype={"customer_id": str}, parse_dates=["date"])
    engine.con.register("cdnow_tx", tx)
    return CLVAnalysis("1997-09-30", "1998-06-30", "W").fit(engine.table("cdnow_tx"))


def test_cdnow_analysis_reproduces_published_parameters_and_holdout(cdnow):
    m = cdnow.metrics()
    for key in REQUIRED_METRICS:
        assert key in m and m[key] is not None and np.isfinite(m[key]), key
    assert m["customers"] == 2357
    assert m["bgnbd.r"] == pytest.approx(0.2426, abs=1e-4)
    assert m["bgnbd.loglik"] == pytest.approx(-9582.43, abs=0.01)
    assert m["pareto_nbd.loglik"] == pytest.approx(-9594.98, abs=0.01)
    assert m["gamma_gamma.p"] == pytest.approx(6.25, abs=0.005)
    assert m["holdout.actual_repeat_transactions"] == 1882
    assert m["gamma_gamma.repeat_buyers"] == 946
    # the holdout prediction is the sum of conditional expectations, computed independently here
    s = cdnow.calibration_.summary
    manual = cdnow.bgnbd_.expected_purchases(39.0, s["frequency"], s["recency"], s["T"]).sum()
    assert m["holdout.predicted_repeat_transactions"] == pytest.approx(manual)
    assert 1500 < m["holdout.predicted_repeat_transactions"] < 2100


def test_customer_export_columns_tiers_and_at_risk_ranking(cdnow):
    out = cdnow.customers_table()
    assert list(out.columns) == CUSTOMER_COLUMNS
    assert len(out) == 2357 and out["clv"].notna().all() and (out["clv"] >= 0).all()
    assert out["p_alive"].between(0, 1).all()
    counts = out["value_tier"].value_counts()
    assert counts["top"] == round(0.2 * 2357) and counts["middle"] == round(0.5 * 2357) - round(0.2 * 2357)
    # the top tier holds the highest CLVs
    assert out.loc[out["value_tier"] == "top", "clv"].min() >= out.loc[out["value_tier"] != "top", "clv"].max()
    risk = cdnow.at_risk_
    assert (risk["p_alive"] < 0.3).all() and risk["value_at_risk"].is_monotonic_decreasing
    assert len(risk) == (out["p_alive"] < 0.3).sum()


def test_churn_classifier_beats_chance_out_of_fold(cdnow):
    assert cdnow.churn_.auc_ > 0.65
    assert cdnow.metrics()["churn.classifier_auc"] == cdnow.churn_.auc_


def test_cdnow_cohort_table_covers_the_three_acquisition_months(cdnow):
    assert [d.strftime("%Y-%m") for d in cdnow.cohorts_.index] == ["1997-01", "1997-02", "1997-03"]
    assert (cdnow.cohorts_[0] == 1.0).all()


def test_parameter_recovery_through_the_whole_pipeline(engine):
    truth = dict(r=0.5, alpha=6.0, a=0.7, b=3.0, p=6.0, q=4.0, v=20.0)
    data = synth.generate_transactions(n_customers=8000, seed=11, **truth)
    engine.con.register("sim_tx", data.frame)
    a = CLVAnalysis(time_unit="W").fit(engine.table("sim_tx"))
    assert not a.has_holdout_
    for model, names in ((a.bgnbd_, "r alpha a b"), (a.gamma_gamma_, "p q v")):
        for name in names.split():
            est, se = model.params_[name], model.standard_errors_[name]
            assert abs(est - truth[name]) < 4 * se, (name, est, se, truth[name])


def test_bad_settings_are_refused_in_plain_words(engine):
    tx = pd.DataFrame({"customer_id": ["a"], "date": pd.to_datetime(["2024-01-01"]), "amount": [1.0]})
    engine.con.register("one_tx", tx)
    with pytest.raises(ValueError, match="churn_threshold"):
        CLVAnalysis(churn_threshold=1.5).fit(engine.table("one_tx"))
    with pytest.raises(ValueError, match="transaction_model"):
        CLVAnalysis(transaction_model="rfm").fit(engine.table("one_tx"))


def test_value_tiers_respect_configured_shares():
    clv = pd.Series(np.arange(100, dtype=float))
    tiers = analysis.value_tiers(clv, (0.1, 0.4))
    assert tiers.value_counts().to_dict() == {"top": 10, "middle": 40, "rest": 50}
    assert set(tiers[clv >= 90]) == {"top"}
    with pytest.raises(ValueError):
        analysis.value_tiers(clv, (0.6, 0.5))
