"""helpers.survey.gaps: pairs found by suffix on the bundled importance/satisfaction survey,
paired t-tests against scipy.stats.ttest_rel, a hand-made weighted case, dimensions, and the
sentences."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from helpers.survey.gaps import (
    DIMENSION_COLUMNS,
    ITEM_COLUMNS,
    expectation_gaps,
    gap_pairs_by_suffix,
    gap_sentence,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "survey" / "likert_gap_importance_satisfaction.csv"
ITEMS = ["Financial Aid", "Bursar", "Advising", "Records and Registration", "Testing and Examination"]


@pytest.fixture(scope="module")
def students() -> pd.DataFrame:
    return pd.read_csv(DATA)


def test_pairs_by_suffix_on_the_student_survey(students):
    pairs = gap_pairs_by_suffix(students.columns)
    assert list(pairs) == ITEMS
    assert pairs["Advising"] == ("Advising - Importance", "Advising")
    assert gap_pairs_by_suffix(["a", "a_exp", "b_exp", "c"], suffix="_exp") == {"a": ("a_exp", "a")}
    with pytest.raises(ValueError, match="no column ' - Importance' has a partner"):
        gap_pairs_by_suffix(["Advising", "Bursar"])
    with pytest.raises(ValueError, match="suffix must not be empty"):
        gap_pairs_by_suffix(students.columns, suffix="")


def test_paired_t_matches_scipy_on_complete_pairs(students):
    frame = students.copy()
    frame.loc[[0, 5, 9], "Bursar"] = np.nan  # three incomplete pairs for Bursar
    frame.loc[[3], "Advising - Importance"] = np.nan
    pairs = gap_pairs_by_suffix(frame.columns)
    items, dims = expectation_gaps(frame, pairs)
    assert list(items.columns) == ITEM_COLUMNS and dims.empty and list(dims.columns) == DIMENSION_COLUMNS
    assert items["gap"].is_monotonic_increasing
    by_item = items.set_index("item")
    raw = {}
    for item, (expect, perceive) in pairs.items():
        both = frame[[expect, perceive]].dropna()
        res = stats.ttest_rel(both[perceive], both[expect])
        raw[item] = res.pvalue
        row = by_item.loc[item]
        assert row["p_value"] == pytest.approx(res.pvalue, rel=1e-10)
        assert row["n"] == len(both) and row["n_eff"] == pytest.approx(len(both))
        assert row["expectation"] == pytest.approx(both[expect].mean())
        assert row["perception"] == pytest.approx(both[perceive].mean())
        assert row["gap"] == pytest.approx(row["perception"] - row["expectation"])
        low, high = res.confidence_interval(0.95)
        assert (row["low"], row["high"]) == pytest.approx((low, high), rel=1e-10)
    assert by_item.loc["Bursar", "n"] == 65 and by_item.loc["Advising", "n"] == 67
    expected = multipletests([raw[i] for i in by_item.index], method="holm")[1]
    np.testing.assert_allclose(by_item["p_adjusted"], expected, rtol=1e-10)
    assert (by_item["significant"] == (by_item["p_adjusted"] < 0.05)).all()
    bh = expectation_gaps(frame, pairs, correction="bh")[0].set_index("item")
    np.testing.assert_allclose(bh["p_adjusted"], multipletests([raw[i] for i in bh.index], method="fdr_bh")[1])


def test_dimensions_average_each_respondents_gaps(students):
    pairs = gap_pairs_by_suffix(students.columns)
    dims = {"Money": ["Financial Aid", "Bursar"], "Academic": ["Advising", "Records and Registration"]}
    _, table = expectation_gaps(students, pairs, dimensions=dims)
    assert list(table.columns) == DIMENSION_COLUMNS
    money = table.set_index("dimension").loc["Money"]
    person = sum(students[i] - students[f"{i} - Importance"] for i in dims["Money"]) / 2
    res = stats.ttest_1samp(person, 0.0)
    assert money["items"] == 2 and money["n"] == 68
    assert money["gap"] == pytest.approx(person.mean()) and money["p_value"] == pytest.approx(res.pvalue, rel=1e-10)
    assert money["perception"] - money["expectation"] == pytest.approx(money["gap"])
    with pytest.raises(ValueError, match="dimension 'Other': 'Parking' not in pairs"):
        expectation_gaps(students, pairs, dimensions={"Other": ["Parking"]})


def test_dimension_uses_the_items_each_respondent_answered():
    frame = pd.DataFrame(
        {"e1": [5.0, 6.0, 4.0], "p1": [4.0, 6.0, np.nan], "e2": [5.0, 5.0, 5.0], "p2": [5.0, 3.0, 6.0]}
    )
    _, dims = expectation_gaps(
        frame, {"one": ("e1", "p1"), "two": ("e2", "p2")}, dimensions={"both": ["one", "two"]}, min_base=0
    )
    # respondent gaps: (-1 + 0) / 2, (0 - 2) / 2, and +1 from item two only
    assert dims.loc[0, "gap"] == pytest.approx(np.mean([-0.5, -1.0, 1.0])) and dims.loc[0, "n"] == 3


def test_weighted_gaps_by_hand():
    frame = pd.DataFrame(
        {
            "exp": [6.0, 7.0, 5.0, 6.0, 7.0, 4.0, 6.0],
            "perc": [5.0, 5.0, 5.0, 4.0, 6.0, 5.0, np.nan],
            "w": [1.0, 2.0, 0.5, 1.5, 1.0, 3.0, 9.0],
        }
    )
    items, _ = expectation_gaps(frame, {"Service": ("exp", "perc")}, weights="w", min_base=2)
    row = items.iloc[0]
    e, p, w = frame["exp"][:6].to_numpy(), frame["perc"][:6].to_numpy(), frame["w"][:6].to_numpy()
    d = p - e
    mean = (w * d).sum() / w.sum()
    n_eff = w.sum() ** 2 / (w**2).sum()
    var = (w * (d - mean) ** 2).sum() / w.sum() * n_eff / (n_eff - 1)
    se = np.sqrt(var / n_eff)
    t = mean / se
    assert row["n"] == 6 and row["n_eff"] == pytest.approx(n_eff)
    assert row["expectation"] == pytest.approx((w * e).sum() / w.sum())
    assert row["perception"] == pytest.approx((w * p).sum() / w.sum())
    assert row["gap"] == pytest.approx(mean)
    assert row["p_value"] == pytest.approx(2 * stats.t.sf(abs(t), n_eff - 1), rel=1e-10)
    half = stats.t.ppf(0.975, n_eff - 1) * se
    assert (row["low"], row["high"]) == pytest.approx((mean - half, mean + half), rel=1e-10)
    # weights all 2: the unweighted answer
    doubled = expectation_gaps(frame.assign(w=2.0), {"Service": ("exp", "perc")}, weights="w", min_base=2)[0]
    plain = expectation_gaps(frame, {"Service": ("exp", "perc")}, min_base=2)[0]
    pd.testing.assert_frame_equal(doubled, plain)
    assert plain["p_value"].iloc[0] == pytest.approx(stats.ttest_rel(p, e).pvalue)


def test_small_base_item_is_flagged_not_tested(students):
    pairs = gap_pairs_by_suffix(students.columns)
    frame = students.copy()
    frame.loc[20:, "Bursar"] = np.nan  # 20 complete pairs left
    items = expectation_gaps(frame, pairs)[0].set_index("item")
    assert items.loc["Bursar", "small_base"] and np.isnan(items.loc["Bursar", "p_value"])
    assert not items.loc["Bursar", "significant"] and not items.drop(index="Bursar")["small_base"].any()
    # the four tested items are adjusted among themselves
    tested = items.drop(index="Bursar")
    np.testing.assert_allclose(tested["p_adjusted"], multipletests(tested["p_value"], method="holm")[1])


def test_gap_sentences(students):
    pairs = gap_pairs_by_suffix(students.columns)
    items, _ = expectation_gaps(students, pairs)
    # on this survey satisfaction is above importance: no shortfall, two significant surpluses
    assert gap_sentence(items) == (
        "No item falls significantly short of expectations at the 5 % level; perception is significantly above "
        "expectation for Advising (+0.46) and Testing and Examination (+0.44)."
    )
    swapped = {item: (perceive, expect) for item, (expect, perceive) in pairs.items()}
    short, _ = expectation_gaps(students, swapped)
    text = gap_sentence(short)
    assert text.startswith("The largest significant shortfalls at the 5 % level: Advising (5.87 against an expectation")
    assert "gap -0.46, adjusted p = 0.025" in text and "Testing and Examination" in text
    one = short.assign(item=short["item"].replace({"Advising": "<b>Advising</b>"}))
    one.loc[one["item"] == "Testing and Examination", "p_adjusted"] = 0.2
    assert gap_sentence(one).startswith("The only significant shortfall at the 5 % level is \\<b\\>Advising\\</b\\> (")
    with pytest.raises(ValueError, match="has no items"):
        gap_sentence(items.iloc[:0])


def test_expectation_gaps_errors(students):
    with pytest.raises(ValueError, match="item 'X': column 'nope' is not in the frame"):
        expectation_gaps(students, {"X": ("nope", "Bursar")})
    with pytest.raises(ValueError, match="pairs is empty"):
        expectation_gaps(students, {})
    with pytest.raises(ValueError, match="must be numeric"):
        expectation_gaps(students.assign(t="x"), {"X": ("t", "Bursar")})
    with pytest.raises(ValueError, match="correction must be"):
        expectation_gaps(students, gap_pairs_by_suffix(students.columns), correction="fdr")
