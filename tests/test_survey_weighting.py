"""helpers.survey.weighting: raking that hits its targets (to 1e-6 and better), known one- and
two-margin answers, trimming that binds, and clear errors for targets the data cannot meet."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.survey.weighting import RakeResult, rake

TARGETS = {
    "region": {"North": 0.35, "South": 0.30, "East": 0.20, "West": 0.15},
    "age": {"18-34": 0.25, "35-54": 0.35, "55+": 0.40},
    "sex": {"f": 0.51, "m": 0.49},
}


@pytest.fixture(scope="module")
def sample():
    """2,000 respondents: regions equal, the young and men over-represented."""
    rng = np.random.default_rng(0)
    n = 2000
    return pd.DataFrame(
        {
            "region": rng.choice(["North", "South", "East", "West"], n),
            "age": rng.choice(["18-34", "35-54", "55+"], n, p=[0.5, 0.35, 0.15]),
            "sex": rng.choice(["f", "m"], n, p=[0.4, 0.6]),
        },
        index=pd.RangeIndex(100, 100 + n, name="respondent"),
    )


def _weighted_shares(frame, weights, column):
    return weights.groupby(frame[column]).sum() / weights.sum()


def test_raking_hits_every_target_to_1e_6(sample):
    r = rake(sample, TARGETS, trim=None)
    assert isinstance(r, RakeResult) and r.converged and r.max_error < 1e-8
    assert r.weights.index.equals(sample.index) and r.weights.mean() == pytest.approx(1.0)
    for column, targets in TARGETS.items():
        shares = _weighted_shares(sample, r.weights, column)
        for category, target in targets.items():
            assert abs(shares[category] - target) < 1e-6, (column, category)
    margins = r.margins()
    assert list(margins.columns) == ["column", "category", "sample_share", "target", "weighted_share"]
    assert len(margins) == 9 and (margins["weighted_share"] - margins["target"]).abs().max() < 1e-6
    west = margins.set_index(["column", "category"]).loc[("region", "West")]
    assert west["sample_share"] == pytest.approx((sample["region"] == "West").mean())
    n_eff = r.weights.sum() ** 2 / (r.weights**2).sum()
    assert (r.n, r.n_eff, r.efficiency, r.design_effect) == pytest.approx((2000, n_eff, n_eff / 2000, 2000 / n_eff))
    assert (r.min_weight, r.max_weight) == pytest.approx((r.weights.min(), r.weights.max()))
    assert r.trimmed == 0 and r.notes == []


def test_one_margin_weights_are_target_over_sample_share():
    frame = pd.DataFrame({"region": ["N"] * 5 + ["S"] * 3 + ["E"] * 2})
    r = rake(frame, {"region": {"N": 0.3, "S": 0.3, "E": 0.4}})
    expected = frame["region"].map({"N": 0.3 / 0.5, "S": 0.3 / 0.3, "E": 0.4 / 0.2})
    assert np.allclose(r.weights, expected) and r.converged and r.iterations == 1
    assert r.n_eff == pytest.approx(100 / 12.8)  # (sum w)^2 / sum w^2 = 10^2 / (5 x 0.36 + 3 + 2 x 4)
    assert r.sentence() == (
        "Weights were raked to 1 margin in 1 iteration; they range 0.60-2.00 (within the trimming bounds "
        "of 0.2-5 x the mean), and the efficiency of 78 % means the 10 answers carry the precision of 8."
    )


def test_base_weights_are_kept_within_each_category():
    frame = pd.DataFrame({"region": ["N", "N", "S", "S"], "design": [1.0, 3.0, 1.0, 1.0]})
    r = rake(frame, {"region": {"N": 0.5, "S": 0.5}}, base_weights="design")
    # N holds 4 of 6 design-weighted units: scaled by 0.5 / (4/6); S by 0.5 / (2/6); mean 1
    assert np.allclose(r.weights, [0.5, 1.5, 1.0, 1.0])
    same = rake(frame, {"region": {"N": 0.5, "S": 0.5}}, base_weights=frame["design"].to_numpy())
    assert np.allclose(same.weights, r.weights)
    with pytest.raises(ValueError, match="base_weights: 1 are missing, zero, negative"):
        rake(frame, {"region": {"N": 0.5, "S": 0.5}}, base_weights=[1, 0, 1, 1])


def test_two_margins_known_answer():
    """Sample cells (A1,B1)=40, (A1,B2)=10, (A2,B1)=20, (A2,B2)=30; targets A 50/50, B 40/60.
    Raking keeps the sample's odds ratio (40 x 30 / (10 x 20) = 6) and meets both margins: the
    weighted cells are 30, 20, 10, 40 (x(10 + x) = 6 (50 - x)(40 - x) gives x = 30)."""
    cells = [("A1", "B1", 40), ("A1", "B2", 10), ("A2", "B1", 20), ("A2", "B2", 30)]
    frame = pd.DataFrame([(a, b) for a, b, k in cells for _ in range(k)], columns=["a", "b"])
    r = rake(frame, {"a": {"A1": 0.5, "A2": 0.5}, "b": {"B1": 0.4, "B2": 0.6}}, trim=None)
    expected = {("A1", "B1"): 30 / 40, ("A1", "B2"): 20 / 10, ("A2", "B1"): 10 / 20, ("A2", "B2"): 40 / 30}
    got = r.weights.groupby([frame["a"], frame["b"]]).first()
    for cell, weight in expected.items():
        assert got[cell] == pytest.approx(weight, abs=1e-6)
    assert r.converged and r.max_error < 1e-8


def test_trimming_binds_and_the_targets_are_still_met(sample):
    free = rake(sample, TARGETS, trim=None)
    assert free.max_weight > 3.5 and free.min_weight < 0.3  # the bounds below bind
    r = rake(sample, TARGETS, trim=(0.3, 3.5))
    assert r.converged and r.max_error < 1e-6
    assert r.trimmed > 0 and r.min_weight >= 0.3 - 1e-9 and r.max_weight <= 3.5 + 1e-9
    assert r.weights.mean() == pytest.approx(1.0)
    assert r.efficiency > free.efficiency
    for column, targets in TARGETS.items():
        shares = _weighted_shares(sample, r.weights, column)
        assert max(abs(shares[c] - t) for c, t in targets.items()) < 1e-6
    assert any("trimming bounds (0.3-3.5 x the mean weight)" in note for note in r.notes)
    assert "(trimmed at 0.3-3.5 x the mean)" in r.sentence()


def test_trimming_that_cannot_meet_the_targets_says_which_margins_are_off():
    frame = pd.DataFrame({"region": ["N"] * 95 + ["S"] * 5})
    r = rake(frame, {"region": {"N": 0.7, "S": 0.3}}, trim=(0.2, 5.0))  # S needs weights of 6
    assert not r.converged and r.max_weight <= 5 + 1e-9
    assert r.max_error == pytest.approx(abs(r.margins()["weighted_share"] - r.margins()["target"]).max())
    note = r.notes[-1]
    assert "did not reach every target" in note and "region = 'S'" in note and "off by" in note
    assert "average weight of 6 x the mean, above the cap of 5" in note
    assert "do not meet every target" in r.sentence()


def test_raking_that_cannot_converge_says_so():
    """A structural zero: nobody is (A2, B1), so A2 = 50 % leaves B1 = 50 % to A1 alone and the
    A1-B2 weight must reach 0, which raking only approaches."""
    frame = pd.DataFrame({"a": ["A1", "A1", "A2"], "b": ["B1", "B2", "B2"]})
    r = rake(frame, {"a": {"A1": 0.5, "A2": 0.5}, "b": {"B1": 0.5, "B2": 0.5}}, trim=None, max_iter=50)
    assert not r.converged and r.iterations == 50 and r.max_error > 1e-8
    assert "in 50 iterations" in r.notes[-1]


def test_an_empty_target_category_stops_with_a_clear_error():
    frame = pd.DataFrame({"region": ["North", "South", "East"] * 4})
    targets = {"region": {"North": 0.35, "South": 0.30, "East": 0.20, "West": 0.15}}
    with pytest.raises(ValueError) as err:
        rake(frame, targets)
    assert str(err.value).startswith(
        "weight_targets['region']['West']: no respondent has region = 'West' (0 of 12), so no weight can reach "
        "its 15 % target"
    )


def test_categories_without_targets_and_missing_values_are_refused():
    frame = pd.DataFrame({"region": ["North"] * 3 + ["South"] * 2 + ["Mars"]})
    with pytest.raises(ValueError, match=r"no target for region = 'Mars', which 1 respondent has"):
        rake(frame, {"region": {"North": 0.5, "South": 0.5}})
    gaps = pd.DataFrame({"region": ["North", None, "South", np.nan]})
    with pytest.raises(ValueError, match=r"weight_targets\['region'\]: 2 of 4 respondents have no region"):
        rake(gaps, {"region": {"North": 0.5, "South": 0.5}})
    with pytest.raises(ValueError, match="the data has no column 'age'"):
        rake(frame, {"age": {"young": 1.0}})
    with pytest.raises(ValueError, match=r"\['region'\]\['Mars'\]: the target is 0 but 1 respondent has"):
        rake(frame, {"region": {"North": 0.5, "South": 0.5, "Mars": 0.0}})


def test_targets_that_do_not_add_up_to_one_are_rescaled_or_refused():
    frame = pd.DataFrame({"region": ["N"] * 6 + ["S"] * 4})
    r = rake(frame, {"region": {"N": 60, "S": 40}})  # percentages
    assert r.converged and np.allclose(r.weights, 1.0)
    assert r.targets == {"region": {"N": 0.6, "S": 0.4}}
    assert "added up to 100, not 1; they were rescaled" in r.notes[0]
    close = rake(frame, {"region": {"N": 0.6, "S": 0.4 + 5e-7}})
    assert close.notes == [] and close.converged  # within 1e-6: a rounding slip, rescaled silently
    with pytest.raises(ValueError, match="add up to 0"):
        rake(frame, {"region": {"N": 0.0, "S": 0.0}})
    with pytest.raises(ValueError, match=r"\['region'\]\['S'\]: target shares must be numbers >= 0"):
        rake(frame, {"region": {"N": 1.2, "S": -0.2}})
    with pytest.raises(ValueError, match=r"\['region'\]\['N'\]: target shares must be numbers"):
        rake(frame, {"region": {"N": "most", "S": 0.4}})
    with pytest.raises(ValueError, match="trim must be"):
        rake(frame, {"region": {"N": 0.6, "S": 0.4}}, trim=(2, 5))
