"""helpers.survey.significance: column-proportion letters against statsmodels' z-test, the
chi-square against scipy, the group tests against scipy and statsmodels (Welch's ANOVA also by
its formula), the test-choice rule, small bases, Holm against BH, and weights."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.oneway import anova_oneway
from statsmodels.stats.proportion import proportions_ztest

from helpers.survey.group_tests import compare_groups
from helpers.survey.significance import crosstab, row_weights


def _expand(table: dict[str, dict[str, int]], row_var: str = "answer", col_var: str = "region") -> pd.DataFrame:
    """Respondents from counts {column: {row category: count}}."""
    rows = [(r, c) for c, col in table.items() for r, k in col.items() for _ in range(k)]
    return pd.DataFrame(rows, columns=[row_var, col_var])


# -------------------------------------------------------------------------------------------
# crosstab

TWO_BY_THREE = {
    "North": {"Yes": 62, "No": 38},
    "South": {"Yes": 48, "No": 72},
    "West": {"Yes": 35, "No": 45},
}


def test_letters_match_statsmodels_two_proportion_z_with_holm():
    frame = _expand(TWO_BY_THREE)
    ct = crosstab(frame, "answer", "region", correction="holm")
    assert list(ct.counts.columns) == ["North", "South", "West", "Total"]
    assert list(ct.counts.index) == ["No", "Yes"]
    assert ct.column_letters == {"North": "A", "South": "B", "West": "C"}
    assert ct.bases.to_dict() == {"North": 100, "South": 120, "West": 80, "Total": 300}
    assert ct.effective_bases.to_dict() == pytest.approx({"North": 100, "South": 120, "West": 80, "Total": 300})
    np.testing.assert_allclose(ct.column_pct.sum(axis=0), 100.0)
    assert ct.column_pct.loc["Yes", "North"] == pytest.approx(62.0)
    assert ct.column_pct.loc["Yes", "Total"] == pytest.approx(145 / 3)

    pairs = [("North", "South"), ("North", "West"), ("South", "West")]
    n = {c: sum(TWO_BY_THREE[c].values()) for c in TWO_BY_THREE}
    for category in ("Yes", "No"):
        expected_p = []
        for a, b in pairs:
            z, p = proportions_ztest([TWO_BY_THREE[a][category], TWO_BY_THREE[b][category]], [n[a], n[b]])
            got = ct.pairwise[
                (ct.pairwise["category"] == category) & (ct.pairwise["column_a"] == a) & (ct.pairwise["column_b"] == b)
            ].iloc[0]
            assert got["z"] == pytest.approx(z, rel=1e-10) and got["p_value"] == pytest.approx(p, rel=1e-10)
            expected_p.append(p)
        reject, adjusted, _, _ = multipletests(expected_p, alpha=0.05, method="holm")
        got = ct.pairwise[ct.pairwise["category"] == category]
        np.testing.assert_allclose(got["p_adjusted"], adjusted, rtol=1e-10)
        assert got["significant"].tolist() == reject.tolist()
    # by hand: Yes 62 % vs 40 % vs 43.75 %: North above South and West; No the other way round
    assert ct.letters.loc["Yes"].to_dict() == {"North": "BC", "South": "", "West": ""}
    assert ct.letters.loc["No"].to_dict() == {"North": "", "South": "A", "West": "A"}
    table = ct.display_table()
    assert list(table.columns) == ["North (A)", "South (B)", "West (C)", "Total"]
    assert table.loc["Yes", "North (A)"] == "62 % BC" and table.loc["Yes", "South (B)"] == "40 %"
    assert table.loc["Base"].tolist() == ["100", "120", "80", "300"]
    assert "Effective base" not in table.index


def test_chi_square_matches_scipy():
    table = {
        "A": {"low": 30, "mid": 40, "high": 30},
        "B": {"low": 20, "mid": 35, "high": 55},
        "C": {"low": 45, "mid": 25, "high": 20},
    }
    ct = crosstab(_expand(table), "answer", "region")
    observed = ct.counts.drop(columns="Total").to_numpy()
    chi2, p, dof, _ = stats.chi2_contingency(observed, correction=False)
    assert ct.chi2 == pytest.approx(chi2, rel=1e-12) and ct.p_value == pytest.approx(p, rel=1e-12)
    assert ct.dof == dof == 4 and ct.valid and ct.note == ""
    assert ct.cramers_v == pytest.approx(np.sqrt(chi2 / (observed.sum() * 2)), rel=1e-12)
    assert list(ct.counts.index) == ["high", "low", "mid"]
    ordered = crosstab(_expand(table), "answer", "region", row_order=["low", "mid", "high"], col_order=["C"])
    assert list(ordered.counts.index) == ["low", "mid", "high"]
    assert list(ordered.counts.columns) == ["C", "A", "B", "Total"] and ordered.column_letters["C"] == "A"
    assert ordered.chi2 == pytest.approx(chi2, rel=1e-12)
    text = ct.sentence()
    assert text.startswith("Answer differs clearly by Region (chi") and "more common in" in text


def test_holm_and_bh_change_which_pairs_are_significant():
    # raw p: A-B 0.76, A-C 0.0135, B-C 0.030. Holm: 0.041, 0.060 -> only A-C; BH: 0.040, 0.045 -> both
    table = {"A": {"Yes": 30, "No": 70}, "B": {"Yes": 32, "No": 68}, "C": {"Yes": 47, "No": 53}}
    frame = _expand(table)
    holm = crosstab(frame, "answer", "region", correction="holm")
    bh = crosstab(frame, "answer", "region", correction="bh")
    none = crosstab(frame, "answer", "region", correction="none")
    assert holm.letters.loc["Yes", "C"] == "A" and bh.letters.loc["Yes", "C"] == "AB"
    assert holm.letters.loc["No"].tolist() == ["C", "", ""] and bh.letters.loc["No"].tolist() == ["C", "C", ""]
    assert none.letters.loc["Yes", "C"] == "AB"
    raw = holm.pairwise.set_index(["category", "column_a", "column_b"])["p_value"]
    _, expected, _, _ = multipletests(raw.loc["Yes"].to_numpy(), method="fdr_bh")
    np.testing.assert_allclose(bh.pairwise[bh.pairwise["category"] == "Yes"]["p_adjusted"], expected, rtol=1e-12)
    assert "Holm correction" in holm.sentence() and "Benjamini-Hochberg correction" in bh.sentence()


def test_small_base_column_is_flagged_not_tested_and_left_out_of_chi_square():
    table = {
        "North": {"Yes": 62, "No": 38},
        "South": {"Yes": 48, "No": 72},
        "Islands": {"Yes": 12, "No": 0},
    }
    ct = crosstab(_expand(table), "answer", "region")
    assert ct.bases["Islands"] == 12
    assert ct.letters["Islands"].tolist() == ["*", "*"]
    assert not ct.pairwise[["column_a", "column_b"]].isin(["Islands"]).any().any()
    assert len(ct.pairwise) == 2  # North-South for each row
    assert ct.column_letters["Islands"] == "A" and "A" not in "".join(ct.letters[["North", "South"]].to_numpy().ravel())
    chi2, p, _, _ = stats.chi2_contingency([[38, 72], [62, 48]], correction=False)
    assert ct.chi2 == pytest.approx(chi2) and ct.p_value == pytest.approx(p) and ct.dof == 1
    assert "effective base below 30" in ct.note and "Islands" in ct.note
    assert ct.display_table().loc["Yes", "Islands (A)"] == "100 % *"
    # with every column small there is nothing to test
    tiny = crosstab(_expand(table), "answer", "region", min_base=500)
    assert tiny.pairwise.empty and not tiny.valid and (tiny.letters == "*").all().all()
    assert "not reported" in tiny.sentence()


def test_crosstab_weights_all_two_give_the_unweighted_answer_and_weights_use_effective_bases():
    frame = _expand(TWO_BY_THREE)
    plain = crosstab(frame, "answer", "region")
    doubled = crosstab(frame.assign(w=2.0), "answer", "region", weights="w")
    pd.testing.assert_frame_equal(doubled.counts, plain.counts * 2)
    pd.testing.assert_frame_equal(doubled.column_pct, plain.column_pct)
    pd.testing.assert_frame_equal(doubled.letters, plain.letters)
    pd.testing.assert_frame_equal(doubled.pairwise, plain.pairwise)
    assert doubled.chi2 == pytest.approx(plain.chi2) and doubled.p_value == pytest.approx(plain.p_value)
    assert "Effective base" in doubled.display_table().index

    # unequal weights: shares weighted, tests on Kish bases
    rng = np.random.default_rng(3)
    w = rng.uniform(0.5, 2.0, len(frame))
    ct = crosstab(frame, "answer", "region", weights=w)
    north = (frame["region"] == "North").to_numpy()
    yes = (frame["answer"] == "Yes").to_numpy()
    assert ct.column_pct.loc["Yes", "North"] == pytest.approx(100 * w[north & yes].sum() / w[north].sum())
    assert ct.effective_bases["North"] == pytest.approx(w[north].sum() ** 2 / (w[north] ** 2).sum())
    south = (frame["region"] == "South").to_numpy()
    pa, pb = w[north & yes].sum() / w[north].sum(), w[south & yes].sum() / w[south].sum()
    na, nb = ct.effective_bases["North"], ct.effective_bases["South"]
    pooled = (pa * na + pb * nb) / (na + nb)
    z = (pa - pb) / np.sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb))
    got = ct.pairwise.set_index(["category", "column_a", "column_b"]).loc[("Yes", "North", "South")]
    assert got["z"] == pytest.approx(z, rel=1e-10)
    # the chi-square runs on the weighted table rescaled to the effective base
    scaled = ct.counts.drop(columns="Total").to_numpy() * ct.effective_bases["Total"] / w.sum()
    assert ct.chi2 == pytest.approx(stats.chi2_contingency(scaled, correction=False)[0], rel=1e-10)


def test_crosstab_missing_answers_and_errors():
    frame = _expand(TWO_BY_THREE)
    frame.loc[0, "answer"] = None
    frame.loc[1, "region"] = None
    ct = crosstab(frame, "answer", "region")
    assert ct.bases["Total"] == 298 and "2 respondents without both answers left out" in ct.note
    with pytest.raises(ValueError, match="'nope' is not in the frame"):
        crosstab(frame, "answer", "nope")
    with pytest.raises(ValueError, match="correction must be one of"):
        crosstab(frame, "answer", "region", correction="bonferroni")
    with pytest.raises(ValueError, match="negative"):
        crosstab(frame, "answer", "region", weights=-np.ones(len(frame)))
    with pytest.raises(ValueError, match="has 3 values for 300 rows"):
        row_weights(frame, [1, 2, 3])
    with pytest.raises(ValueError, match="category called 'Total'"):
        crosstab(frame.assign(region="Total"), "answer", "region")


def test_crosstab_sentence_escapes_names():
    table = {"<b>North</b>": {"Yes*": 62, "No": 38}, "South": {"Yes*": 30, "No": 70}}
    ct = crosstab(_expand(table, "q_[1]", "zone"), "q_[1]", "zone")
    text = ct.sentence()
    assert "<b>" not in text and "\\<b\\>North\\</b\\>" in text and "Yes\\*" in text
    assert text.startswith("Q \\[1\\] differs clearly by Zone")


# -------------------------------------------------------------------------------------------
# compare_groups


def _groups_frame(samples: dict[str, np.ndarray]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "group": np.concatenate([[k] * len(v) for k, v in samples.items()]),
            "score": np.concatenate(list(samples.values())),
        }
    )


def test_two_groups_welch_t_matches_scipy():
    rng = np.random.default_rng(10)
    a, b = rng.normal(7.0, 1.0, 80), rng.normal(6.5, 2.0, 60)
    res = compare_groups(_groups_frame({"a": a, "b": b}), "score", "group")
    t, p = stats.ttest_ind(a, b, equal_var=False)
    assert res.test == "Welch t-test" and "Welch's t-test" in res.reason
    assert res.statistic == pytest.approx(t, rel=1e-10) and res.p_value == pytest.approx(p, rel=1e-10)
    d = (a.mean() - b.mean()) / np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
    assert res.effect_size == pytest.approx(d, rel=1e-10)
    g = res.groups.set_index("group")
    assert g.loc["b", "sd"] == pytest.approx(b.std(ddof=1), rel=1e-10) and g.loc["a", "n"] == 80
    low, high = stats.t.interval(0.95, 79, loc=a.mean(), scale=stats.sem(a))
    assert (g.loc["a", "low"], g.loc["a", "high"]) == pytest.approx((low, high), rel=1e-10)
    assert len(res.pairwise) == 1 and res.pairwise["p_value"].iloc[0] == pytest.approx(p, rel=1e-10)


def test_three_groups_similar_variances_one_way_anova_matches_scipy():
    rng = np.random.default_rng(11)
    samples = {k: rng.normal(m, 1.5, 70) for k, m in (("A", 7.0), ("B", 7.6), ("C", 7.1))}
    res = compare_groups(_groups_frame(samples), "score", "group")
    assert stats.levene(*samples.values()).pvalue >= 0.05
    f, p = stats.f_oneway(*samples.values())
    assert res.test == "one-way ANOVA" and "similar variances" in res.reason
    assert res.statistic == pytest.approx(f, rel=1e-10) and res.p_value == pytest.approx(p, rel=1e-10)
    assert res.df == pytest.approx((2, 207))
    x = np.concatenate(list(samples.values()))
    ssb = sum(len(v) * (v.mean() - x.mean()) ** 2 for v in samples.values())
    assert res.effect_size == pytest.approx(ssb / ((x - x.mean()) ** 2).sum(), rel=1e-10)
    # pairwise: Welch t per pair, Holm across the three
    raw = [
        stats.ttest_ind(samples[a], samples[b], equal_var=False).pvalue for a, b in (("A", "B"), ("A", "C"), ("B", "C"))
    ]
    np.testing.assert_allclose(res.pairwise["p_value"], raw, rtol=1e-10)
    np.testing.assert_allclose(res.pairwise["p_adjusted"], multipletests(raw, method="holm")[1], rtol=1e-10)


def _welch_anova_by_hand(samples):
    """Welch (1951), as in textbooks (e.g. Maxwell & Delaney): F* and its two df."""
    n = np.array([len(s) for s in samples], dtype=float)
    m = np.array([np.mean(s) for s in samples])
    v = np.array([np.var(s, ddof=1) for s in samples])
    k = len(samples)
    w = n / v
    mw = (w * m).sum() / w.sum()
    a = (w * (m - mw) ** 2).sum() / (k - 1)
    lam = ((1 - w / w.sum()) ** 2 / (n - 1)).sum()
    f = a / (1 + 2 * (k - 2) / (k**2 - 1) * lam)
    df2 = (k**2 - 1) / (3 * lam)
    return f, k - 1, df2, stats.f.sf(f, k - 1, df2)


def test_unequal_variances_welch_anova_matches_formula_and_statsmodels():
    rng = np.random.default_rng(12)
    samples = {"A": rng.normal(5.0, 0.5, 60), "B": rng.normal(5.3, 2.5, 50), "C": rng.normal(5.6, 1.0, 70)}
    res = compare_groups(_groups_frame(samples), "score", "group")
    assert res.test == "Welch ANOVA" and "variances differ" in res.reason
    f, df1, df2, p = _welch_anova_by_hand(list(samples.values()))
    assert res.statistic == pytest.approx(f, rel=1e-10) and res.p_value == pytest.approx(p, rel=1e-10)
    assert res.df == pytest.approx((df1, df2), rel=1e-10)
    ref = anova_oneway(list(samples.values()), use_var="unequal")
    assert res.statistic == pytest.approx(ref.statistic, rel=1e-8) and res.p_value == pytest.approx(
        ref.pvalue, rel=1e-8
    )


def test_short_scale_uses_kruskal_wallis_matching_scipy():
    rng = np.random.default_rng(13)
    samples = {
        "A": rng.choice([1, 2, 3, 4, 5], 60, p=[0.1, 0.2, 0.3, 0.25, 0.15]),
        "B": rng.choice([1, 2, 3, 4, 5], 70, p=[0.05, 0.1, 0.25, 0.35, 0.25]),
        "C": rng.choice([1, 2, 3, 4, 5], 50, p=[0.2, 0.25, 0.3, 0.15, 0.1]),
    }
    res = compare_groups(_groups_frame(samples), "score", "group")
    h, p = stats.kruskal(*samples.values())
    assert res.test == "Kruskal-Wallis" and "5 distinct values" in res.reason
    assert res.statistic == pytest.approx(h, rel=1e-10) and res.p_value == pytest.approx(p, rel=1e-10)
    assert res.effect_size == pytest.approx(h / (180 - 1))
    mw = stats.mannwhitneyu(samples["A"], samples["B"], alternative="two-sided").pvalue
    assert res.pairwise["p_value"].iloc[0] == pytest.approx(mw) and "Mann-Whitney" in res.reason
    # a strongly skewed continuous answer also gets the rank test
    skewed = {k: rng.lognormal(0, 1.2, 80) for k in "AB"}
    res = compare_groups(_groups_frame(skewed), "score", "group")
    assert res.test == "Kruskal-Wallis" and "skewed" in res.reason
    # with (unequal) weights the rank test is not available: Welch, and the reason says so
    w = rng.uniform(0.5, 2.0, 180)
    res = compare_groups(_groups_frame(samples), "score", "group", weights=w)
    assert res.test == "Welch ANOVA" and "not available with weights" in res.reason
    with pytest.raises(ValueError, match="not available with weights"):
        compare_groups(_groups_frame(samples), "score", "group", weights=w, method="kruskal")


def test_small_group_is_flagged_and_left_out_of_the_tests():
    rng = np.random.default_rng(14)
    samples = {"A": rng.normal(7, 1, 80), "B": rng.normal(6, 1, 90), "C": rng.normal(9, 1, 12)}
    res = compare_groups(_groups_frame(samples), "score", "group")
    g = res.groups.set_index("group")
    assert g["small_base"].tolist() == [False, False, True]
    assert res.test == "Welch t-test"  # only A and B are tested
    t, p = stats.ttest_ind(samples["A"], samples["B"], equal_var=False)
    assert res.statistic == pytest.approx(t) and res.p_value == pytest.approx(p)
    assert len(res.pairwise) == 1 and "C" not in set(res.pairwise[["group_a", "group_b"]].to_numpy().ravel())
    assert "C (effective base below 30) is left out of the tests" in res.reason
    assert "C (effective base below 30) is shown but not tested" in res.sentence()
    none = compare_groups(_groups_frame(samples), "score", "group", min_base=100)
    assert none.test == "not tested" and np.isnan(none.p_value) and none.pairwise.empty
    assert "is not compared by Group" in none.sentence()


def test_compare_groups_weights_all_two_give_the_unweighted_answer():
    rng = np.random.default_rng(15)
    samples = {"A": rng.normal(7, 1, 60), "B": rng.normal(7.5, 2, 70), "C": rng.normal(6.8, 1, 50)}
    frame = _groups_frame(samples)
    for method in ("auto", "welch", "anova"):
        plain = compare_groups(frame, "score", "group", method=method)
        doubled = compare_groups(frame, "score", "group", method=method, weights=np.full(len(frame), 2.0))
        assert doubled.test == plain.test
        assert doubled.statistic == pytest.approx(plain.statistic) and doubled.p_value == pytest.approx(plain.p_value)
        pd.testing.assert_frame_equal(doubled.groups, plain.groups)
        pd.testing.assert_frame_equal(doubled.pairwise, plain.pairwise)
    assert "all equal" in compare_groups(frame, "score", "group", weights=np.full(len(frame), 2.0)).reason


def test_weighted_welch_t_by_hand():
    x_a, w_a = np.array([5.0, 6.0, 7.0, 8.0, 9.0, 6.5]), np.array([1.0, 2.0, 1.0, 0.5, 1.5, 1.0])
    x_b, w_b = np.array([4.0, 5.0, 5.5, 6.0, 7.0]), np.array([2.0, 1.0, 1.0, 1.0, 3.0])
    frame = _groups_frame({"a": x_a, "b": x_b})
    res = compare_groups(frame, "score", "group", weights=np.concatenate([w_a, w_b]), min_base=2)

    def moments(x, w):
        m = (w * x).sum() / w.sum()
        ne = w.sum() ** 2 / (w**2).sum()
        return m, (w * (x - m) ** 2).sum() / w.sum() * ne / (ne - 1), ne

    ma, va, na = moments(x_a, w_a)
    mb, vb, nb = moments(x_b, w_b)
    se2a, se2b = va / na, vb / nb
    t = (ma - mb) / np.sqrt(se2a + se2b)
    df = (se2a + se2b) ** 2 / (se2a**2 / (na - 1) + se2b**2 / (nb - 1))
    assert res.test == "Welch t-test"
    assert res.statistic == pytest.approx(t, rel=1e-10) and res.df == pytest.approx(df, rel=1e-10)
    assert res.p_value == pytest.approx(2 * stats.t.sf(abs(t), df), rel=1e-10)
    g = res.groups.set_index("group")
    assert g.loc["a", "mean"] == pytest.approx(ma) and g.loc["a", "n_eff"] == pytest.approx(na)
    assert g.loc["a", "sd"] == pytest.approx(np.sqrt(va))


def test_compare_groups_sentence_and_errors():
    rng = np.random.default_rng(16)
    samples = {"Low & <i>": rng.normal(5, 1, 80), "High": rng.normal(7, 1, 80), "Mid": rng.normal(6, 1, 80)}
    res = compare_groups(_groups_frame(samples), "score", "group")
    text = res.sentence()
    assert text.startswith("Score differs by Group (one-way ANOVA, F = ")
    assert "High (6.88) is higher than Low \\& \\<i\\> (5.13)" in text and "<i>" not in text
    flat = compare_groups(_groups_frame({k: rng.normal(5, 1, 60) for k in "AB"}), "score", "group")
    if flat.p_value >= 0.05:
        assert "does not differ clearly" in flat.sentence()
    frame = _groups_frame(samples)
    with pytest.raises(ValueError, match="must be numeric"):
        compare_groups(frame, "group", "score")
    with pytest.raises(ValueError, match="method must be one of"):
        compare_groups(frame, "score", "group", method="t")
    with pytest.raises(ValueError, match="column 'x' is not in the frame"):
        compare_groups(frame, "x", "group")


def test_constant_answers_are_not_tested():
    frame = _groups_frame({"A": np.full(40, 5.0), "B": np.full(40, 5.0)})
    res = compare_groups(frame, "score", "group")
    assert res.test == "not tested" and "same answer" in res.reason and res.pairwise.empty
    nullable = _groups_frame({"A": np.arange(40.0), "B": np.arange(40.0) + 1}).astype({"score": "Int64"})
    nullable.loc[0, "score"] = pd.NA
    assert compare_groups(nullable, "score", "group").groups["n"].tolist() == [39, 40]
