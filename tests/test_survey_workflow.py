"""The whole survey analysis on the simulated survey with known truth and on the bundled export:
drivers recovered, weights restore the population, every section skipped cleanly without input."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from helpers.survey.simulate import DEFAULT_DRIVER_WEIGHTS, generate_responses
from helpers.survey.workflow import SurveyAnalysis

DATA = Path(__file__).resolve().parents[1] / "data"
POPULATION = {"North": 0.35, "South": 0.30, "East": 0.20, "West": 0.15}
DRIVERS = list(DEFAULT_DRIVER_WEIGHTS)


def _analysis(**kw) -> SurveyAnalysis:
    settings = dict(
        id_col="respondent_id",
        nps_col="likelihood_to_recommend",
        csat_col="overall_satisfaction",
        csat_scale_max=5,
        item_groups={"Drivers": DRIVERS, "Trust": ["trust_1", "trust_2", "trust_3", "trust_4"]},
        item_scale=[1, 5],
        outcome_col="overall_satisfaction",
        driver_cols=DRIVERS,
        group_cols=["segment"],
        wave_col="wave",
        weight_targets={"region": POPULATION},
        expectation_pattern="importance_{item}",
    )
    settings.update(kw)
    return SurveyAnalysis(**settings)


@pytest.fixture(scope="module")
def simulated():
    data = generate_responses(4000, seed=11)
    frame = data.frame.drop(columns=["weight"])
    for d in DRIVERS:  # the expectation columns are answers too
        frame[f"importance_{d}"] = frame[f"importance_{d}"].astype(float)
    return data, _analysis(straightline_min_items=None).fit(frame)  # every respondent kept


def test_the_drivers_are_ranked_as_simulated_and_their_importances_add_up_to_r2(simulated):
    _, survey = simulated
    d = survey.drivers_
    ranked = list(d.importance_.sort_values("rank")["driver"])
    # simulated weights .25 > .20 > .12 > .08 > .05: the top three in order, the two smallest last
    assert ranked[:3] == DRIVERS[:3] and set(ranked[3:]) == set(DRIVERS[3:])
    m = survey.metrics()
    rw = sum(v for k, v in m.items() if k.startswith("drivers.relative_weight."))
    sh = sum(v for k, v in m.items() if k.startswith("drivers.shapley."))
    assert rw == pytest.approx(m["drivers.r2"], abs=1e-10) and sh == pytest.approx(m["drivers.r2"], abs=1e-10)
    assert "price" in survey.actions(3)[0]


def test_raking_restores_the_population_and_the_estimates_use_the_weights(simulated):
    data, survey = simulated
    margins = survey.weighting_.margins().set_index("category")
    for region, share in POPULATION.items():
        assert margins.loc[region, "weighted_share"] == pytest.approx(share, abs=1e-6)
    # the raked weights are the simulator's population weights (one weight per region)
    true = data.frame.set_index("respondent_id")["weight"]
    ours = pd.Series(survey.weights_, index=survey.responses_["respondent_id"])
    ratio = ours / true.reindex(ours.index)
    assert ratio.max() / ratio.min() == pytest.approx(1.0, abs=1e-9)
    m = survey.metrics()
    assert 0 < m["weighting.efficiency"] < 1 and survey.nps_.n_eff < survey.nps_.n


def test_metrics_hold_the_required_keys(simulated):
    _, survey = simulated
    m = survey.metrics()
    for key in (
        "respondents",
        "nps",
        "nps_moe",
        "csat.top_box",
        "alpha.drivers",
        "alpha.trust",
        "drivers.r2",
        "weighting.efficiency",
    ):
        assert key in m, key
    assert m["nps_moe"] == pytest.approx(1.959964 * m["nps_se"], rel=1e-6)
    assert 0 <= m["csat.top_box"] <= 1 and -100 <= m["nps"] <= 100
    trend = survey.wave_trends_["NPS"]
    assert list(trend["wave"]) == ["2025-Q1", "2025-Q2"] and trend["significant"].iloc[1]  # the simulated wave effect


def test_the_bundled_export_is_cleaned_as_planted():
    frame = pd.read_csv(DATA / "synthetic" / "survey_responses.csv", dtype={"respondent_id": str})
    importance = [f"importance_{d}" for d in DRIVERS]
    survey = _analysis(
        item_groups={
            "Drivers": DRIVERS,
            "Trust": ["trust_1", "trust_2", "trust_3", "trust_4"],
            "Importance": importance,
        },
        missing_codes=[-99],
        duration_col="duration_seconds",
        speeder_ratio=0.33,
    ).fit(frame)
    steps = survey.cleaning_.steps.set_index("step")["set_aside"]
    assert steps["duplicate respondents"] == 6 and steps["speeders"] >= 25 and steps["straight-liners"] >= 20
    assert survey.cleaning_.missing_codes_replaced.sum() == 40
    assert survey.cleaning_.respondents + len(survey.cleaning_.set_aside) == len(frame)


def test_each_section_without_its_inputs_is_skipped_with_a_sentence():
    frame = pd.read_csv(DATA / "survey" / "nps_testdata.csv")
    survey = SurveyAnalysis(nps_col="REC").fit(frame)
    assert survey.nps_ is not None and survey.drivers_ is None and survey.weighting_ is None
    for key in ("csat", "blocks", "drivers", "groups", "waves", "gaps", "weighting"):
        assert survey.skipped_[key].endswith("."), key
    assert set(survey.metrics()) == {
        "respondents",
        "nps",
        "nps_moe",
        "nps_se",
        "cleaning.no_answers",
        "cleaning.missing_codes_replaced",
    }
    assert survey.summary_findings()[0].startswith("NPS is **10** points")


def test_the_adjusted_wald_interval_is_shown_beside_wald_and_the_metrics_keep_wald():
    frame = pd.read_csv(DATA / "survey" / "nps_testdata.csv")
    wald = SurveyAnalysis(nps_col="REC").fit(frame)
    both = SurveyAnalysis(nps_col="REC", nps_interval="adjusted_wald").fit(frame)
    assert list(both.headline_table()["score"]) == ["NPS", "NPS, adjusted-Wald interval"]
    assert both.metrics()["nps_moe"] == wald.metrics()["nps_moe"]
    adjusted = both.headline_table().iloc[1]
    assert adjusted["value"] == pytest.approx(wald.nps_.value) and adjusted["moe"] != pytest.approx(wald.nps_.moe)
