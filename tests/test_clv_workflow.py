"""The CLV analysis end to end on a transaction log: recovers simulated truth, reproduces the
CDNOW figures the report quotes, and gives every metric the report promises."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers.clv import ModelFitError, simulate
from helpers.clv.workflow import CUSTOMER_COLUMNS, CLVAnalysis, CLVPresentation

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
def cdnow(engine):
    tx = pd.read_csv(DATA / "cdnow_sample_transactions.csv", dtype={"customer_id": str}, parse_dates=["date"])
    engine.con.register("cdnow_tx", tx)
    return CLVAnalysis(calibration_end="1997-09-30", observation_end="1998-06-30", time_unit="W").fit(
        engine.table("cdnow_tx")
    )


@pytest.fixture(scope="module")
def view(cdnow):
    return cdnow.present(churn_threshold=0.3, tier_shares=(0.2, 0.3))


def test_cdnow_analysis_reproduces_published_parameters_and_holdout(cdnow, view):
    m = view.metrics()
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


def test_customer_export_columns_tiers_and_at_risk_ranking(view):
    out = view.customers_table()
    assert list(out.columns) == CUSTOMER_COLUMNS
    assert len(out) == 2357 and out["clv"].notna().all() and (out["clv"] >= 0).all()
    assert out["p_alive"].between(0, 1).all()
    counts = out["value_tier"].value_counts()
    assert counts["top"] == round(0.2 * 2357) and counts["middle"] == round(0.5 * 2357) - round(0.2 * 2357)
    # the top tier holds the highest CLVs
    assert out.loc[out["value_tier"] == "top", "clv"].min() >= out.loc[out["value_tier"] != "top", "clv"].max()
    risk = view.at_risk_
    assert (risk["p_alive"] < 0.3).all() and risk["value_at_risk"].is_monotonic_decreasing
    assert len(risk) == (out["p_alive"] < 0.3).sum()


def test_churn_classifier_beats_chance_out_of_fold(cdnow, view):
    assert cdnow.churn_.auc_ > 0.65
    assert view.metrics()["churn.classifier_auc"] == cdnow.churn_.auc_


def test_cdnow_cohort_table_covers_the_three_acquisition_months(cdnow):
    assert [d.strftime("%Y-%m") for d in cdnow.cohorts_.index] == ["1997-01", "1997-02", "1997-03"]
    assert (cdnow.cohorts_[0] == 1.0).all()


def test_parameter_recovery_through_the_whole_pipeline(engine):
    truth = dict(r=0.5, alpha=6.0, a=0.7, b=3.0, p=6.0, q=4.0, v=20.0)
    data = simulate.generate_transactions(n_customers=8000, seed=11, **truth)
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
        CLVPresentation(object(), churn_threshold=1.5)
    with pytest.raises(ValueError, match="transaction_model"):
        CLVAnalysis(transaction_model="rfm").fit(engine.table("one_tx"))


# ----------------------------------------------------------------------------------------------
# the sentences follow the numbers; display settings do not refit; a boundary is a finding
# ----------------------------------------------------------------------------------------------


def test_bgnbd_report_calls_p_alive_a_poor_ranking_because_its_auc_is_poor(view):
    m, text = view.metrics(), view.findings()["churn"]
    assert m["churn.p_alive_auc"] < 0.5 < m["churn.classifier_auc"]
    assert f"alone scores {m['churn.p_alive_auc']:.2f}" in text and "poor ranking" in text
    assert "P(alive) = 1" in text


def test_pareto_nbd_report_says_p_alive_ranks_as_well_as_the_classifier(engine, cdnow):
    pnbd = CLVAnalysis(
        calibration_end="1997-09-30", observation_end="1998-06-30", time_unit="W", transaction_model="pareto_nbd"
    ).fit(engine.table("cdnow_tx"))
    view = pnbd.present()
    m, text = view.metrics(), view.findings()["churn"]
    assert m["model.used"] == "pareto_nbd" and m["model.fallback_reason"] == "none"
    assert abs(m["churn.p_alive_auc"] - m["churn.classifier_auc"]) < 0.02
    assert f"Pareto/NBD's 1 - P(alive) alone scores {m['churn.p_alive_auc']:.2f}, about as well as" in text
    assert "poor" not in text and "P(alive) = 1" not in text
    # the holdout sentence and metric are the Pareto/NBD's, not the BG/NBD's
    s = pnbd.calibration_.summary
    manual = pnbd.pareto_nbd_.expected_purchases(39.0, s["frequency"], s["recency"], s["T"]).sum()
    assert m["holdout.predicted_repeat_transactions"] == pytest.approx(manual)
    assert "Pareto/NBD predicted" in view.findings()["holdout"]
    # the model fits are the same whichever model scores the customers
    assert pnbd.bgnbd_.params_ == pytest.approx(cdnow.bgnbd_.params_)


def test_changing_display_settings_reuses_the_fitted_models(cdnow, monkeypatch):
    from helpers.clv.models import base, gamma_gamma

    calls = []
    for cls in (base.TransactionModel, gamma_gamma.GammaGammaModel):
        original = cls.fit
        monkeypatch.setattr(cls, "fit", lambda self, *a, _o=original, **k: calls.append(self) or _o(self, *a, **k))
    fitted = (cdnow.bgnbd_, cdnow.pareto_nbd_, cdnow.gamma_gamma_, cdnow.final_model_, cdnow.final_spend_model_)
    strict = cdnow.present(churn_threshold=0.5, tier_shares=(0.1, 0.2))
    loose = cdnow.present(churn_threshold=0.1, tier_shares=(0.3, 0.3))
    assert calls == []  # no fit of any model
    assert (cdnow.bgnbd_, cdnow.pareto_nbd_, cdnow.gamma_gamma_, cdnow.final_model_, cdnow.final_spend_model_) == fitted
    assert len(strict.at_risk_) > len(loose.at_risk_)
    assert strict.metrics()["churn.threshold"] == 0.5 and strict.metrics()["clv.total"] == loose.metrics()["clv.total"]
    assert strict.customers_table()["value_tier"].value_counts()["top"] == int(0.1 * 2357)


def young_shop_transactions(n: int = 300, seed: int = 7) -> pd.DataFrame:
    """A shop's first year: customers join through the year and buy at Poisson rates (Gamma(1, 10)
    per week) with no drop-out at all; one order per purchase day."""
    rng = np.random.default_rng(seed)
    join = rng.uniform(0, 365, n)
    rate = rng.gamma(1.0, 1 / 10.0, n) / 7  # per day
    counts = rng.poisson(rate * (365 - join))
    ids = np.repeat(np.arange(n), counts)
    days = np.concatenate([join[i] + rng.uniform(0, 365 - join[i], c) for i, c in enumerate(counts)])
    days = np.concatenate([join, days])
    ids = np.concatenate([np.arange(n), ids])
    return pd.DataFrame(
        {
            "customer_id": [f"Y{i:04d}" for i in ids],
            "date": pd.Timestamp("2024-01-01") + pd.to_timedelta(np.floor(days), unit="D"),
            "amount": np.round(rng.gamma(4.0, 10.0, ids.size), 2),
        }
    )


def test_young_shop_without_holdout_completes_and_says_nobody_has_dropped_out_yet(engine):
    engine.con.register("young_tx", young_shop_transactions())
    a = CLVAnalysis(calibration_end="2024-12-31", observation_end="2024-12-31", time_unit="W").fit(
        engine.table("young_tx")
    )
    assert not a.has_holdout_
    view = a.present()
    m = view.metrics()
    assert m["model.requested"] == "bgnbd" and a.final_fit_.fell_back
    assert m["model.used"] in ("bgnbd", "pareto_nbd")
    assert "no customer has visibly dropped out yet" in m["model.fallback_reason"]
    assert view.findings()["model_used"] == m["model.fallback_reason"]
    assert m["customers"] == 300 and np.isfinite(m["clv.total"]) and m["clv.total"] > 0
    assert view.customers_table()["p_alive"].between(0, 1).all()


def test_no_repeat_buyers_at_all_still_stops_with_the_clear_error(engine):
    tx = pd.DataFrame(
        {"customer_id": ["a", "b", "c"], "date": pd.to_datetime(["2024-01-01"] * 3), "amount": [1.0, 2.0, 3.0]}
    )
    engine.con.register("no_repeat_tx", tx)
    with pytest.raises(ModelFitError, match="no customer has a repeat purchase"):
        CLVAnalysis(time_unit="W").fit(engine.table("no_repeat_tx"))


def test_notebook_fit_cell_does_not_depend_on_display_parameters():
    import json

    nb = json.loads((Path(__file__).resolve().parents[1] / "notebooks" / "clv.ipynb").read_text())
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    fit_cell = next(c for c in code if ".fit(tx.table)" in c)
    assert "churn_threshold" not in fit_cell and "tier_shares" not in fit_cell
    assert any("clv.present(churn_threshold=churn_threshold, tier_shares=tier_shares" in c for c in code)


def test_cdnow_exact_duplicate_rows_are_counted_and_kept_by_default(view):
    m = view.metrics()
    assert m["transactions.duplicate_rows"] == 21 and m["transactions.duplicates_dropped"] == 0
    assert view.findings()["duplicates"].startswith("**Warning:** **21** of the 6,919 transaction rows")


def test_summary_cards_and_findings_come_from_the_run(view):
    figures = view.summary_figures("transactions")
    assert list(figures)[:4] == ["customers", "clv.total", "clv.top_tier_share", "churn.at_risk_customers"]
    assert figures["clv.total"] == "Predicted value, next 12 months"
    assert figures["clv.top_tier_share"] == "Share of value in the top 20 % of customers"
    assert "rows.transactions.quarantined_share" in figures
    assert set(figures) - {"rows.transactions.quarantined_share"} <= set(view.metrics())
    findings = view.summary_findings()
    f = view.findings()
    assert findings == [f["duplicates"], f["value"], f["holdout"]]  # CDNOW: 21 duplicate rows come first


def test_at_risk_by_tier_counts_without_naming_anyone(view):
    table = view.at_risk_by_tier()
    assert list(table.columns) == ["value_tier", "customers", "at_risk", "at_risk_pct", "value_at_risk", "mean_p_alive"]
    assert "customer_id" not in table.columns
    assert table["customers"].sum() == len(view.customers_) and table["at_risk"].sum() == len(view.at_risk_)
    assert table["value_at_risk"].sum() == pytest.approx(view.at_risk_["value_at_risk"].sum())
    row = table.iloc[0]
    assert row["at_risk_pct"] == pytest.approx(100 * row["at_risk"] / row["customers"])


def test_at_risk_by_tier_hand_computed():
    from helpers.clv import churn

    customers = pd.DataFrame({"value_tier": pd.Categorical(["top", "top", "rest", "rest", "rest"], ["top", "rest"]),
                              "p_alive": [0.9, 0.2, 0.1, 0.25, 0.8], "clv": [10.0, 4.0, 1.0, 2.0, 3.0]})  # fmt: skip
    risky = churn.at_risk(customers, 0.3)
    table = churn.at_risk_by_tier(customers, risky).set_index("value_tier")
    assert table.loc["top", "at_risk"] == 1 and table.loc["rest", "at_risk"] == 2
    assert table.loc["top", "at_risk_pct"] == 50.0 and table.loc["rest", "mean_p_alive"] == pytest.approx(0.175)
    # value at risk = clv / p * (1 - p): 4 / 0.2 * 0.8 = 16 for the top tier; 1/0.1*0.9 + 2/0.25*0.75 = 15 for the rest
    assert table.loc["top", "value_at_risk"] == pytest.approx(16.0) and table.loc[
        "rest", "value_at_risk"
    ] == pytest.approx(15.0)


def test_scale_parameters_are_recorded_in_the_runs_time_unit(view):
    assert view.metric_units() == {"bgnbd.alpha": "weeks", "pareto_nbd.alpha": "weeks", "pareto_nbd.beta": "weeks"}


def test_work_run_beside_the_fit_gives_its_value_or_its_error_with_one_core_or_more(monkeypatch):
    """The churn classifier runs in a second thread when there is a second core: ``.result()``
    gives its value, or raises its error where the fit asks for it, as it does on one core."""
    from helpers.clv import workflow

    def boom():
        raise ValueError("Every customer has the same holdout outcome")

    for cores in (1, 2):
        monkeypatch.setattr(workflow.os, "cpu_count", lambda cores=cores: cores)
        assert workflow._beside(lambda a, b=0: a + b, 2, b=3).result() == 5
        with pytest.raises(ValueError, match="same holdout outcome"):
            workflow._beside(boom).result()
