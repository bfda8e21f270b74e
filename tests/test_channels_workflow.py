"""helpers.channels.workflow: the whole channel analysis on the bundled demo, each section skipped with
a sentence when its inputs are absent, the metrics the issue names recorded, and the numbers agreeing
between sections (budget totals, credits, counts)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from helpers import contracts
from helpers.channels.paths import journey_paths
from helpers.channels.workflow import ATTRIBUTION_MODELS, ChannelAnalysis
from helpers.core.registry import metrics_for

DEMO = Path(__file__).resolve().parents[1] / "data" / "synthetic"
TRUTH = json.loads((DEMO / "channels_truth.json").read_text())
CHANNELS = ["tv", "search", "social", "display"]


@pytest.fixture(scope="module")
def inputs(engine):
    load = dict(engine=engine)
    touch = contracts.load(DEMO / "channels_touchpoints.csv", "touchpoints", **load)
    return {
        "touch": touch,
        "paths": journey_paths(touch.table, sep=" > "),
        "spend": contracts.load(DEMO / "channels_spend.csv", "spend", columns={"kpi": "revenue"}, **load).to_pandas(),
        "customers": contracts.load(DEMO / "channels_customers.csv", "customers", **load).to_pandas(),
        "transactions": contracts.load(DEMO / "channels_transactions.csv", "transactions", **load).table,
        "costs": contracts.load(DEMO / "channels_costs.csv", "costs", **load).to_pandas(),
        "funnel": contracts.load(DEMO / "channels_funnel.csv", "funnel", **load).to_pandas(),
    }


@pytest.fixture(scope="module")
def full(inputs):
    i = inputs
    return ChannelAnalysis(bootstrap=40, seed=3).fit(
        i["paths"], i["spend"], channel_cols=CHANNELS, customers=i["customers"], transactions=i["transactions"],
        costs=i["costs"], funnel=i["funnel"],
    )  # fmt: skip


def test_the_demo_touchpoints_set_aside_the_two_planted_rows_and_the_rest_aggregate_to_the_journeys(inputs):
    touch, paths = inputs["touch"], inputs["paths"]
    assert (touch.rows_read, touch.rows_quarantined) == (touch.rows_accepted + 2, 2)
    assert int(paths["conversions"].sum() + paths["nulls"].sum()) == TRUTH["touchpoints"]["n_journeys"]
    assert int(paths["conversions"].sum()) == TRUTH["touchpoints"]["n_conversions"]


def test_every_metric_the_issue_names_is_recorded_and_declared(full):
    m = full.metrics()
    for model in ATTRIBUTION_MODELS:
        for ch in ("search", "social", "email", "display", "direct"):
            assert f"attribution.{model}.{ch}" in m
    for ch in CHANNELS:
        assert {f"mmm.roas.{ch}", f"budget.optimal_spend.{ch}"} <= set(m)
    assert {"mmm.r2", "mmm.holdout_mape", "budget.expected_response_gain", "markov.removal_effect.search"} <= set(m)
    declared = metrics_for(["channels"])
    undeclared = [k for k in m if not any(d.matches(k) for d in declared)]
    assert undeclared == []


def test_every_model_credits_all_conversions_and_the_budget_spends_exactly_the_historical_total(full, inputs):
    conversions = float(inputs["paths"]["conversions"].sum())
    table = full.attribution_.set_index("channel")
    for model in ATTRIBUTION_MODELS:
        assert table[model].sum() == pytest.approx(conversions, rel=1e-9), model
    m = full.metrics()
    historical = float(inputs["spend"][CHANNELS].to_numpy().sum())
    assert sum(m[f"budget.optimal_spend.{c}"] for c in CHANNELS) == pytest.approx(historical, rel=1e-6)
    assert sum(m[f"budget.current_spend.{c}"] for c in CHANNELS) == pytest.approx(historical, rel=1e-9)
    assert m["budget.expected_response_gain"] >= 0
    a = full.budget_.allocation_.set_index("channel")
    assert (
        (a["optimal_spend"] >= 0.5 * a["current_spend"] - 1e-6)
        & (a["optimal_spend"] <= 1.5 * a["current_spend"] + 1e-6)
    ).all()


def test_the_report_leads_with_the_budget_shift_and_names_the_kpi(full):
    first = full.summary_findings("$", kpi="revenue")[0]
    assert first.startswith(full.budget_.sentence("$", kpi="expected revenue"))
    assert "expected revenue" in first
    assert next(iter(full.summary_figures())) == "budget.expected_response_gain"
    assert "revenue" in full.findings("$", kpi="revenue")["mmm_fit"]


def test_the_sections_agree_with_what_their_own_estimators_give(full, inputs):
    m = full.metrics()
    assert m["scorecard.customers"] == int(full.scorecard_.table_["customers"].sum())
    assert m["funnel.leads"] == 3000
    assert m["funnel.conversion"] == pytest.approx(full.funnel_.overall_["conversion_from_first"].iloc[-1])
    media = full.mmm_.contributions_[full.contribution_parts()].to_numpy().sum()
    assert media == pytest.approx(full.roas_["contribution"].sum(), rel=1e-6)
    curves = full.response_curves(points=5)
    now = curves[curves["is_current"].astype(bool)].set_index("channel")
    assert now["spend"].to_dict() == pytest.approx(full.roas_.set_index("channel")["spend"].to_dict())


def test_exports_hold_one_table_per_section_that_ran(full):
    assert set(full.exports()) == {
        "attribution.csv", "contributions.csv", "roas.csv", "budget.csv", "scorecard.csv", "funnel.csv"
    }  # fmt: skip


def test_each_absent_input_skips_its_section_with_a_sentence(inputs):
    only_paths = ChannelAnalysis().fit(inputs["paths"])
    assert only_paths.mmm_ is None and only_paths.budget_ is None and only_paths.funnel_ is None
    assert set(only_paths.skipped_) == {"mmm", "budget", "scorecard", "funnel"}
    assert only_paths.skipped_["mmm"] == "No marketing-mix model: weekly spend not given."
    m = only_paths.metrics()
    assert not any(k.startswith(("mmm.", "budget.", "scorecard.", "funnel.")) for k in m)
    f = only_paths.findings()
    assert f["budget"] == "" and f["attribution"]
    nothing = ChannelAnalysis().fit()
    assert nothing.metrics() == {} and nothing.summary_findings() == []
    assert set(nothing.skipped_) == {"attribution", "mmm", "budget", "scorecard", "funnel"}


def test_a_given_budget_is_spent_in_full(inputs):
    total = 0.8 * float(inputs["spend"][CHANNELS].to_numpy().sum())
    ch = ChannelAnalysis(bootstrap=0, budget=total, budget_bounds=(0.3, 2.0)).fit(
        None, inputs["spend"], channel_cols=CHANNELS
    )
    assert ch.budget_.allocation_["optimal_spend"].sum() == pytest.approx(total, rel=1e-6)
    assert ch.metrics()["budget.total"] == pytest.approx(total, rel=1e-6)
    assert "budget.expected_response_gain_low" not in ch.metrics()  # no draws, no interval


def test_too_many_channels_for_exact_shapley_values_skip_them_with_the_reason():
    paths = pd.DataFrame(
        {"path": [" > ".join(f"c{i}" for i in range(j, j + 3)) for j in range(22)], "conversions": 1, "nulls": 3}
    )
    ch = ChannelAnalysis().fit(paths)
    assert "shapley" not in ch.attribution_.columns
    assert ch.skipped_["shapley"].startswith("No Shapley values:") and "24" in ch.skipped_["shapley"]


def test_asked_for_synergy_the_interaction_gets_a_sentence_from_its_bootstrap_interval(inputs):
    ch = ChannelAnalysis(bootstrap=10, synergy=[["search", "social"], ["tv"]]).fit(
        None, inputs["spend"], channel_cols=CHANNELS
    )
    assert "synergy" in ch.mmm_.contributions_.columns
    row = ch.mmm_.coefficients_.loc["synergy"]
    sentence = ch.findings()["synergy"]
    inside = row["boot_low"] <= 0 <= row["boot_high"]
    assert sentence.startswith("No clear synergy" if inside else "search + social and tv")
    assert "90 % interval" in sentence


def test_metric_keys_keep_the_channel_names_as_the_data_spells_them():
    from helpers.channels.workflow import channel_key

    assert [channel_key(c) for c in ("tv_S", "Paid Search", "google.ads", " x ")] == [
        "tv_S",
        "Paid_Search",
        "google_ads",
        "x",
    ]
