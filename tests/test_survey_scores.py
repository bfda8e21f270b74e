"""helpers.survey.scores: NPS, top-box shares, means and the satisfaction index with their
intervals (known answers, weights through Kish's effective n), Likert distributions, and
group comparisons with multiple-testing corrections."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from helpers.survey import scores as sc

Z95 = stats.norm.ppf(0.975)


# --- Kish's effective n ----------------------------------------------------------------------


def test_effective_n_is_kish():
    assert sc.effective_n([1, 2, 3]) == pytest.approx(36 / 14)
    assert sc.effective_n([2.0] * 7) == pytest.approx(7)
    assert sc.effective_n(None, n=12) == 12
    with pytest.raises(ValueError, match="n="):
        sc.effective_n(None)
    with pytest.raises(ValueError, match="negative"):
        sc.effective_n([1, -1])


# --- NPS -------------------------------------------------------------------------------------


def test_nps_known_answer_in_points():
    e = sc.nps([0, 7, 7, 9, 9, 9])
    assert e.value == pytest.approx(100 / 3)  # 3 promoters, 1 detractor of 6
    assert (e.se / 100) ** 2 * 6 == pytest.approx(5 / 9)  # variance of one answer on the -1..1 scale
    assert e.se == pytest.approx(30.43, abs=0.005)
    assert (e.low, e.high) == pytest.approx((100 / 3 - Z95 * e.se, 100 / 3 + Z95 * e.se))
    assert (e.n, e.n_eff, e.method, e.n_missing) == (6, 6.0, "wald", 0)
    assert e.moe == pytest.approx(Z95 * e.se)


@pytest.mark.parametrize(
    ("counts", "variance", "se"),
    [((1, 0, 1), 1.0, 0.707), ((0, 1, 1), 0.25, 0.354), ((1, 1, 1), 2 / 3, 0.471)],
)
def test_nps_variance_matches_the_r_package_nps(counts, variance, se):
    """R package NPS (nps.var, nps.se) on detractor / passive / promoter counts."""
    detractors, passives, promoters = counts
    scores = [3] * detractors + [8] * passives + [10] * promoters
    e = sc.nps(scores)
    n = len(scores)
    assert (e.se / 100) ** 2 * n == pytest.approx(variance)
    assert e.se / 100 == pytest.approx(se, abs=5e-4)


def test_nps_adjusted_wald_by_hand():
    e = sc.nps([0, 7, 7, 9, 9, 9], method="adjusted_wald")
    p, d = (3 + 0.75) / 9, (1 + 0.75) / 9  # 3/4 of a pseudo-answer to promoters and detractors, n' = 6 + 3
    se = 100 * math.sqrt((p + d - (p - d) ** 2) / 9)
    assert e.value == pytest.approx(100 / 3)  # the point estimate stays the observed NPS
    assert e.se == pytest.approx(se) and e.se == pytest.approx(24.98, abs=0.005)
    assert (e.low, e.high) == pytest.approx((100 * (p - d) - Z95 * se, 100 * (p - d) + Z95 * se))
    assert e.method == "adjusted_wald" and e.moe == pytest.approx((e.high - e.low) / 2)


def test_nps_interval_is_clipped_to_plus_minus_100():
    e = sc.nps([9, 9, 9, 9, 0])
    assert e.value == pytest.approx(60) and e.high == 100.0 and e.low > -100
    assert e.moe == pytest.approx(Z95 * e.se)  # the Wald margin before clipping
    all_promoters = sc.nps([10, 9, 10])
    assert (all_promoters.value, all_promoters.se, all_promoters.low, all_promoters.high) == (100, 0, 100, 100)


def test_weights_of_two_everywhere_change_nothing():
    scores = [0, 3, 6, 7, 8, 9, 10, 10, np.nan]
    for fn in (sc.nps, lambda v, weights=None: sc.top_box(v, 10, weights=weights), sc.mean_ci):
        plain, doubled = fn(scores), fn(scores, weights=[2.0] * len(scores))
        assert doubled.value == pytest.approx(plain.value)
        assert doubled.se == pytest.approx(plain.se)
        assert (doubled.low, doubled.high) == pytest.approx((plain.low, plain.high))
        assert doubled.n_eff == pytest.approx(plain.n_eff) == 8 and doubled.n_missing == 1


def test_weighted_nps_by_hand():
    e = sc.nps([10, 5, 8, 9], weights=[1, 2, 1, 0.5])
    p, d = 1.5 / 4.5, 2 / 4.5  # promoters 10 (w 1) and 9 (w 0.5); detractor 5 (w 2)
    n_eff = 4.5**2 / (1 + 4 + 1 + 0.25)
    assert e.value == pytest.approx(100 * (p - d)) and e.value == pytest.approx(-100 / 9)
    assert e.n_eff == pytest.approx(3.24) and e.n == 4
    assert e.se == pytest.approx(100 * math.sqrt((p + d - (p - d) ** 2) / n_eff))


def test_nps_components_and_missing_answers():
    c = sc.nps_components([0, 7, 7, 9, 9, 9, np.nan, None])
    assert (c["promoters"], c["passives"], c["detractors"]) == pytest.approx((1 / 2, 1 / 3, 1 / 6))
    assert (c["n_promoters"], c["n_passives"], c["n_detractors"], c["n"], c["n_missing"]) == (3, 2, 1, 6, 2)
    weighted = sc.nps_components([10, 5, 8], weights=[1, 2, 1])
    assert weighted["detractors"] == pytest.approx(0.5) and weighted["n_eff"] == pytest.approx(16 / 6)


@pytest.mark.parametrize(("scores", "shown"), [([3, 11, 7], "11"), ([-1, 5], "-1"), ([7.5, 8], "7.5")])
def test_nps_refuses_answers_off_the_0_to_10_scale(scores, shown):
    with pytest.raises(ValueError, match=rf"whole numbers from 0 to 10.*\({shown}\)"):
        sc.nps(scores)


def test_bad_inputs_are_refused_with_the_rule():
    with pytest.raises(ValueError, match="method must be one of wald, adjusted_wald"):
        sc.nps([1, 2], method="exact")
    with pytest.raises(ValueError, match="3 values for 2 answers"):
        sc.nps([1, 2], weights=[1, 1, 1])
    with pytest.raises(ValueError, match="1 weights are missing"):
        sc.nps([1, 2], weights=[1, np.nan])
    with pytest.raises(ValueError, match="every value is missing"):
        sc.mean_ci([np.nan, np.nan])
    with pytest.raises(ValueError, match="must be numbers"):
        sc.mean_ci(["a", "b"])
    with pytest.raises(ValueError, match="confidence"):
        sc.nps([1, 2], confidence=95)


# --- top box, means, the satisfaction index ---------------------------------------------------


def test_top_box_on_a_1_to_5_scale_matches_statsmodels_wilson():
    values = [1, 2, 3, 4, 5, 5, 4, 3, np.nan]
    e = sc.top_box(values, scale_max=5)  # top-2 box: 4 or 5
    assert e.value == pytest.approx(0.5) and (e.n, e.n_missing, e.method) == (8, 1, "wilson")
    assert (e.low, e.high) == pytest.approx(proportion_confint(4, 8, alpha=0.05, method="wilson"))
    assert e.se == pytest.approx(math.sqrt(0.25 / 8))
    assert e.moe == pytest.approx((e.high - e.low) / 2)
    top3 = sc.top_box(values, scale_max=5, boxes=3, confidence=0.9)
    assert top3.value == pytest.approx(6 / 8)
    assert (top3.low, top3.high) == pytest.approx(proportion_confint(6, 8, alpha=0.1, method="wilson"))
    top1 = sc.top_box([5] * 5, scale_max=5, boxes=1)
    assert top1.value == 1 and top1.high == pytest.approx(1.0)


def test_weighted_top_box_uses_n_eff_in_the_wilson_interval():
    e = sc.top_box([5, 1, 4], scale_max=5, weights=[2, 1, 1])
    n_eff = 16 / 6
    assert e.value == pytest.approx(0.75) and e.n_eff == pytest.approx(n_eff)
    centre = (0.75 + Z95**2 / (2 * n_eff)) / (1 + Z95**2 / n_eff)
    half = Z95 / (1 + Z95**2 / n_eff) * math.sqrt(0.75 * 0.25 / n_eff + Z95**2 / (4 * n_eff**2))
    assert (e.low, e.high) == pytest.approx((centre - half, centre + half))
    with pytest.raises(ValueError, match="above scale_max = 5"):
        sc.top_box([6, 4], scale_max=5)
    with pytest.raises(ValueError, match="boxes"):
        sc.top_box([4], scale_max=5, boxes=0)


def test_mean_ci_unweighted_is_the_t_interval_and_weighted_by_hand():
    values = [2, 4, 4, 5, 7]
    e = sc.mean_ci(values)
    low, high = stats.t.interval(0.95, 4, loc=np.mean(values), scale=stats.sem(values))
    assert e.value == pytest.approx(4.4) and (e.low, e.high) == pytest.approx((low, high))
    assert e.se == pytest.approx(stats.sem(values)) and e.method == "t"
    w = sc.mean_ci([1, 3], weights=[1, 3])
    n_eff = 16 / 10
    var = (1 * 1.5**2 + 3 * 0.5**2) / 4 * n_eff / (n_eff - 1)  # = 2
    assert w.value == pytest.approx(2.5) and w.n_eff == pytest.approx(n_eff)
    assert w.se == pytest.approx(math.sqrt(var / n_eff))
    assert w.high - w.value == pytest.approx(stats.t.ppf(0.975, n_eff - 1) * w.se)
    single = sc.mean_ci([3.0])
    assert single.value == 3 and math.isnan(single.se) and math.isnan(single.low)


def test_satisfaction_index_by_hand():
    frame = pd.DataFrame(
        {"a": [5, 1, np.nan, 3], "b": [5, 3, np.nan, 4], "c": [5, np.nan, np.nan, 5], "w": [1, 2, 5, 1]}
    )
    e = sc.satisfaction_index(frame, ["a", "b", "c"], scale=(1, 5))
    person = np.array([100.0, 25.0, 75.0])  # means 5, 2, 4 on 1-5; the third respondent answered nothing
    assert e.value == pytest.approx(person.mean()) and e.se == pytest.approx(stats.sem(person))
    assert (e.n, e.n_missing) == (3, 1)
    weighted = sc.satisfaction_index(frame, ["a", "b", "c"], scale=(1, 5), weights="w")
    assert weighted.value == pytest.approx((100 + 2 * 25 + 75) / 4)
    assert weighted.value == pytest.approx(sc.mean_ci(person, weights=[1, 2, 1]).value)
    with pytest.raises(ValueError, match=r"a: answers on this scale are between 1 and 5, but 1 are not \(7\)"):
        sc.satisfaction_index(frame.assign(a=[7, 1, 2, 3]), ["a", "b"], scale=(1, 5))
    with pytest.raises(ValueError, match="no column 'd'"):
        sc.satisfaction_index(frame, ["a", "d"], scale=(1, 5))


def test_likert_distribution_rows_add_up_to_100():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({f"q{i}": rng.integers(1, 6, 200).astype(float) for i in range(4)})
    frame.loc[:9, "q0"] = np.nan
    frame["w"] = rng.uniform(0.5, 2.0, 200)
    for weights in (None, "w"):
        table = sc.likert_distribution(frame, ["q2", "q0", "q1"], scale=(1, 5), weights=weights)
        assert list(table.index) == ["q2", "q0", "q1"] and list(table.columns) == [1, 2, 3, 4, 5, "n"]
        assert np.allclose(table[[1, 2, 3, 4, 5]].sum(axis=1), 100)
        assert table.loc["q0", "n"] == 190 and table.loc["q1", "n"] == 200
    plain = sc.likert_distribution(frame, ["q1"], scale=(1, 5))
    expected = frame["q1"].value_counts(normalize=True).sort_index() * 100
    assert np.allclose(plain.loc["q1", [1, 2, 3, 4, 5]].to_numpy(dtype=float), expected.to_numpy())


def test_likert_distribution_of_an_unanswered_item_and_bad_answers():
    frame = pd.DataFrame({"a": [1, 2, 2, 7], "b": [np.nan] * 4, "c": [1, 2.5, 3, 4]})
    empty = sc.likert_distribution(frame, ["b"], scale=(1, 7))
    assert empty.loc["b", "n"] == 0 and empty.loc["b", [1, 7]].isna().all()
    with pytest.raises(ValueError, match=r"a: answers on this scale are whole numbers from 1 to 5.*\(7\)"):
        sc.likert_distribution(frame, ["a"], scale=(1, 5))
    with pytest.raises(ValueError, match=r"c: .*whole numbers.*\(2.5\)"):
        sc.likert_distribution(frame, ["c"], scale=(1, 5))


# --- differences and multiple testing --------------------------------------------------------


def test_difference_of_two_independent_estimates():
    a = sc.Estimate(10.0, 3.0, 4.0, 16.0, 100, 100.0, "wald")
    b = sc.Estimate(4.0, 4.0, -4.0, 12.0, 80, 80.0, "wald")
    d = sc.difference(a, b)
    assert (d.estimate, d.se, d.z) == pytest.approx((6.0, 5.0, 1.2))
    assert d.p_value == pytest.approx(2 * stats.norm.sf(1.2)) and d.p_value == pytest.approx(0.2301, abs=1e-4)
    assert (d.low, d.high) == pytest.approx((6 - Z95 * 5, 6 + Z95 * 5))


@pytest.mark.parametrize("method", ["holm", "fdr_bh"])
def test_adjust_pvalues_matches_statsmodels(method):
    rng = np.random.default_rng(7)
    for p in (rng.uniform(0, 0.2, 15), np.array([0.01, 0.04, 0.04, 0.03, 0.5, 0.001]), np.array([0.9])):
        assert np.allclose(sc.adjust_pvalues(p, method), multipletests(p, method=method)[1])


def test_adjust_pvalues_keeps_nan_and_refuses_unknown_methods():
    p = np.array([0.01, np.nan, 0.04, 0.03])
    out = sc.adjust_pvalues(p, "bh")
    assert np.isnan(out[1])
    assert np.allclose(out[[0, 2, 3]], multipletests(p[[0, 2, 3]], method="fdr_bh")[1])
    with pytest.raises(ValueError, match="holm, fdr_bh"):
        sc.adjust_pvalues(p, "tukey")


@pytest.fixture(scope="module")
def groups():
    """Three groups: A and B alike, C with more promoters and higher ratings."""
    rng = np.random.default_rng(11)
    n = 400
    group = np.repeat(["B", "A", "C"], n)
    ltr = np.concatenate(
        [rng.choice(11, n, p=np.r_[np.full(7, 0.05), 0.15, 0.15, 0.175, 0.175]) for _ in range(2)]
        + [rng.choice(11, n, p=np.r_[np.full(7, 0.02), 0.1, 0.1, 0.33, 0.33])]
    ).astype(float)
    rating = np.concatenate([rng.integers(1, 6, 2 * n), rng.integers(3, 6, n)]).astype(float)
    ltr[::50] = np.nan
    return pd.DataFrame({"group": group, "ltr": ltr, "rating": rating, "w": rng.uniform(0.5, 1.5, 3 * n)})


def test_scores_by_group_match_the_estimators(groups):
    table = sc.scores_by_group(groups, "ltr", "group", "nps", weights="w")
    assert list(table["group"]) == ["A", "B", "C"]  # sorted
    assert list(table.columns) == ["group", "value", "low", "high", "se", "n", "n_eff", "vs_rest_p"]
    c = groups[groups["group"] == "C"]
    direct = sc.nps(c["ltr"], weights=c["w"])
    row = table.set_index("group").loc["C"]
    assert (row["value"], row["se"], row["n"], row["n_eff"]) == pytest.approx(
        (direct.value, direct.se, direct.n, direct.n_eff)
    )
    rest = groups[groups["group"] != "C"]
    assert row["vs_rest_p"] == pytest.approx(sc.difference(direct, sc.nps(rest["ltr"], weights=rest["w"])).p_value)
    assert row["vs_rest_p"] < 1e-6
    top = sc.scores_by_group(groups, "rating", "group", "top_box", scale_max=5, boxes=2)
    assert top.set_index("group").loc["C", "value"] > 0.6 > top.set_index("group").loc["A", "value"]


def test_pairwise_differences_find_the_real_difference(groups):
    for kind, kw in (("nps", {}), ("mean", {}), ("top_box", {"scale_max": 5})):
        value_col = "ltr" if kind == "nps" else "rating"
        table = sc.pairwise_differences(groups, value_col, "group", kind, weights="w", **kw)
        assert list(zip(table["group_a"], table["group_b"])) == [("A", "B"), ("A", "C"), ("B", "C")]
        sig = dict(zip(zip(table["group_a"], table["group_b"]), table["significant"]))
        assert sig == {("A", "B"): False, ("A", "C"): True, ("B", "C"): True}, kind
        assert np.allclose(table["p_adjusted"], multipletests(table["p_value"], method="holm")[1])
        assert (table.loc[table["group_b"] == "C", "difference"] < 0).all()
    bh = sc.pairwise_differences(groups, "ltr", "group", "nps", correction="fdr_bh")
    assert np.allclose(bh["p_adjusted"], multipletests(bh["p_value"], method="fdr_bh")[1])


def test_group_functions_refuse_unknown_kinds_and_missing_settings(groups):
    with pytest.raises(ValueError, match="kind must be one of nps, top_box, mean"):
        sc.scores_by_group(groups, "ltr", "group", "median")
    with pytest.raises(ValueError, match="scale_max"):
        sc.pairwise_differences(groups, "rating", "group", "top_box")
    with pytest.raises(ValueError, match="no column 'segment'"):
        sc.scores_by_group(groups, "ltr", "segment", "nps")
