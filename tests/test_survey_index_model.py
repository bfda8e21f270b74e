"""The survey report's satisfaction-index section (helpers.survey.index_model): the PLS model of
the bank data through SurveyAnalysis reproduces R plspm's published numbers in metrics.json, the
sentences follow the numbers, missing codes are made missing first, and bad parameters say what
is wrong."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bank_model import BANK_BLOCKS, BANK_PATHS
from helpers.survey.index_model import IndexModelSection, _final_construct
from helpers.survey.workflow import SurveyAnalysis

DATA = Path(__file__).resolve().parents[1] / "data" / "survey"
MODEL = BANK_BLOCKS
PATHS = [list(p) for p in BANK_PATHS]


@pytest.fixture(scope="module")
def bank() -> pd.DataFrame:
    return pd.read_csv(DATA / "bank_satisfaction.csv")


def _survey(**kw) -> SurveyAnalysis:
    args = dict(item_groups=MODEL, item_scale=[0, 10], group_cols=["gender"], straightline_min_items=None)
    args.update(index_model=MODEL, index_paths=PATHS, index_scheme="centroid", index_scaled=False, index_bootstrap=200)
    args.update(kw)
    return SurveyAnalysis(**args)


@pytest.fixture(scope="module")
def fitted(bank) -> SurveyAnalysis:
    return _survey().fit(bank)


def test_the_report_metrics_reproduce_r_plspm_on_the_bank_data(fitted):
    m = fitted.metrics()
    published = {"val.sat": 0.589331, "imag.expe": 0.578959, "expe.qual": 0.848344, "sat.loy": 0.495479}
    for key, value in published.items():
        assert m[f"pls.path.{key}"] == pytest.approx(value, abs=1e-5)
    assert m["pls.r2.sat"] == pytest.approx(0.707321, abs=1e-5) and m["pls.r2.loy"] == pytest.approx(0.509923, abs=1e-5)
    assert m["pls.gof"] == pytest.approx(0.609742, abs=1e-5)
    assert {f"index.{c.lower()}" for c in MODEL} <= set(m) and all(0 <= m[f"index.{c.lower()}"] <= 100 for c in MODEL)
    # the plain block means keep their own name beside the model's weighted index
    assert {f"block_index.{c.lower()}" for c in MODEL} <= set(m)
    assert m["index.sat"] != m["block_index.sat"]


def test_the_index_is_the_weighted_mean_answer_rescaled_from_the_stated_scale(fitted, bank):
    ix = fitted.index_
    weights = ix.model_.index_scores(scale=(0, 10)).attrs["weights"]
    sat = sum(weights[i] * bank[i] for i in MODEL["SAT"]) / 10 * 100
    row = ix.indices_.set_index("construct").loc["SAT"]
    assert row["mean"] == pytest.approx(sat.mean(), abs=1e-9)
    assert row["ci_low"] < row["mean"] < row["ci_high"]
    by_gender = ix.by_group_["gender"]
    assert set(by_gender["gender"]) == {"female", "male"} and len(by_gender) == 2 * len(MODEL)


def test_the_sentences_follow_this_runs_numbers(fitted):
    ix = fitted.index_
    said = ix.findings()
    assert ix.target_ == "LOY"  # the construct the model ends in
    assert f"**{fitted.index_.model_.r2_['LOY']:.0%}** of the variation in LOY" in said["fit"]
    assert f"goodness of fit of {ix.gof_:.2f}" in said["fit"]
    significant = ix.paths_[ix.paths_["significant"]]
    assert said["paths"].startswith(f"{len(significant)} of 10 paths")
    assert "EXPE → SAT" in said["paths"]  # -0.003 in plspm: its interval straddles zero
    lead = ix.ipma_.iloc[0]
    assert lead["importance"] == ix.ipma_["importance"].max() and said["ipma"].startswith(lead["construct"])
    assert "unweighted" in ix.findings(weighted=True)["note"] and "unweighted" not in said["note"]


def test_missing_codes_become_missing_answers_before_the_model_replaces_them_by_the_mean(bank):
    coded = bank.copy()
    coded.loc[:9, "sat2"] = -99
    s = _survey(missing_codes=[-99], index_bootstrap=0).fit(coded)
    pls = s.index_.model_
    assert pls.n_imputed_ == 10 and pls.n_ == len(bank)
    assert "10 missing answers were replaced by the item's mean" in s.index_.findings()["note"]
    assert "significant" not in s.index_.paths_ and "no bootstrap" in s.index_.findings()["paths"]
    listwise = _survey(missing_codes=[-99], index_bootstrap=0, index_missing="listwise").fit(coded)
    assert listwise.index_.model_.n_ == len(bank) - 10


def test_without_a_model_the_section_is_skipped_with_a_sentence(bank):
    s = SurveyAnalysis(item_groups=MODEL, item_scale=[0, 10], straightline_min_items=None).fit(bank)
    assert s.index_ is None and "index_model" in s.skipped_["index"]
    assert not [k for k in s.metrics() if k.startswith(("pls.", "index."))]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (dict(index_paths=[["IMAG", "EXPE", "SAT"]]), r"each path is a pair \[from, to\]"),
        (dict(index_paths=[*PATHS, ["SAT", "TRUST"]]), "TRUST"),
        (dict(index_target="TRUST"), "index_target 'TRUST' is not a construct"),
        (dict(index_bootstrap=-1), "index_bootstrap must be a whole number >= 0"),
    ],
)
def test_bad_index_parameters_say_what_is_wrong(bank, change, message):
    with pytest.raises(ValueError, match=message):
        _survey(**change).fit(bank)


def test_the_final_construct_is_the_one_most_constructs_lead_to():
    section = IndexModelSection(model={"A": ["a"], "B": ["b"], "C": ["c"]}, paths=[["A", "B"], ["B", "C"]])
    rng = np.random.default_rng(2)
    a = rng.normal(size=300)
    frame = pd.DataFrame({"a": a, "b": a + rng.normal(size=300), "c": a + rng.normal(size=300)})
    section.bootstrap = 0
    assert _final_construct(section.fit(frame).model_) == "C" and section.target_ == "C"
