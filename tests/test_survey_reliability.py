"""helpers.survey.reliability: Cronbach's alpha as SPSS/pingouin (raw) and R plspm (standardised)
report it, on the bank satisfaction data and on hand-made tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bank_model import BANK_BLOCKS as BLOCKS
from bank_model import BANK_CSV as BANK
from helpers.survey.reliability import Reliability, cronbach, reliability_table, verdict

# R plspm's C.alpha (standardised) on this data set
PLSPM = {"IMAG": 0.830227, "EXPE": 0.846584, "QUAL": 0.871325, "VAL": 0.835723, "SAT": 0.894011, "LOY": 0.819422}

SMALL = pd.DataFrame(
    {
        "q1": [4, 5, 3, 2, 4, 5, 1, 3],
        "q2": [3, 5, 4, 2, 4, 4, 2, 3],
        "q3": [5, 4, 3, 1, 5, 5, 2, 2],
        "q4": [2, 4, 4, 3, 3, 5, 1, 4],
    }
)


@pytest.fixture(scope="module")
def bank():
    return pd.read_csv(BANK)


def _raw_alpha(df: pd.DataFrame) -> float:
    """pingouin's formula written out: sample variances (ddof 1) of the items and of their sum."""
    k = df.shape[1]
    return k / (k - 1) * (1 - df.var(ddof=1).sum() / df.sum(axis=1).var(ddof=1))


def test_standardised_alpha_matches_r_plspm_on_bank_data(bank):
    overview, results = reliability_table(bank, BLOCKS)
    assert list(overview.columns) == ["block", "items", "n", "alpha_raw", "alpha_standardized", "verdict"]
    assert list(overview["block"]) == list(BLOCKS)
    for block, expected in PLSPM.items():
        assert results[block].alpha_standardized == pytest.approx(expected, abs=1e-5), block
        assert results[block].n == 250 and results[block].n_dropped == 0
    assert results["IMAG"].alpha_raw == pytest.approx(0.8219, abs=1e-4)  # SPSS
    assert overview.set_index("block").loc["IMAG", "items"] == 5
    assert (overview["verdict"] == "good").all()


def test_raw_alpha_equals_hand_computation_on_small_table():
    rel = cronbach(SMALL, ["q1", "q2", "q3", "q4"], block="small")
    assert rel.alpha_raw == pytest.approx(_raw_alpha(SMALL), abs=1e-12)
    R = SMALL.corr().to_numpy()
    k = 4
    rbar = (R.sum() - k) / (k * (k - 1))
    assert rel.alpha_standardized == pytest.approx(k * rbar / (1 + (k - 1) * rbar), abs=1e-12)
    table = rel.alpha_if_deleted.set_index("item")
    assert list(rel.alpha_if_deleted.columns) == [
        "item",
        "alpha_raw_if_deleted",
        "alpha_standardized_if_deleted",
        "item_total_correlation",
        "item_mean",
        "item_sd",
    ]
    for item in SMALL.columns:
        others = SMALL.drop(columns=item)
        assert table.loc[item, "alpha_raw_if_deleted"] == pytest.approx(_raw_alpha(others), abs=1e-12)
        assert table.loc[item, "item_total_correlation"] == pytest.approx(
            np.corrcoef(SMALL[item], others.sum(axis=1))[0, 1], abs=1e-12
        )
        assert table.loc[item, "item_mean"] == pytest.approx(SMALL[item].mean())
        assert table.loc[item, "item_sd"] == pytest.approx(SMALL[item].std(ddof=1))
    alone = cronbach(SMALL, ["q1", "q2", "q3"])
    assert table.loc["q4", "alpha_standardized_if_deleted"] == pytest.approx(alone.alpha_standardized, abs=1e-12)


def test_equal_weights_give_unweighted_values(bank):
    plain = cronbach(bank, BLOCKS["IMAG"], block="IMAG")
    weighted = cronbach(bank, BLOCKS["IMAG"], block="IMAG", weights=np.full(len(bank), 3.0))
    assert weighted.alpha_raw == pytest.approx(plain.alpha_raw, abs=1e-12)
    assert weighted.alpha_standardized == pytest.approx(plain.alpha_standardized, abs=1e-12)
    pd.testing.assert_frame_equal(weighted.alpha_if_deleted, plain.alpha_if_deleted, atol=1e-12, rtol=0)


def test_integer_weights_act_like_repeated_rows():
    w = np.array([1, 2, 1, 3, 1, 2, 1, 1])
    repeated = SMALL.loc[SMALL.index.repeat(w)].reset_index(drop=True)
    a = cronbach(SMALL, SMALL.columns, weights=w)
    b = cronbach(repeated, SMALL.columns)
    assert a.alpha_raw == pytest.approx(b.alpha_raw, abs=1e-12)
    assert a.alpha_standardized == pytest.approx(b.alpha_standardized, abs=1e-12)
    cols = ["alpha_raw_if_deleted", "item_total_correlation", "item_mean"]
    pd.testing.assert_frame_equal(a.alpha_if_deleted[cols], b.alpha_if_deleted[cols], atol=1e-12, rtol=0)


def test_missing_answers_are_dropped_listwise_and_counted():
    df = SMALL.astype(float).copy()
    df.loc[[1, 4], "q2"] = np.nan
    df.loc[4, "q3"] = np.nan
    rel = cronbach(df, ["q1", "q2", "q3"])
    assert (rel.n, rel.n_dropped) == (6, 2)
    assert rel.alpha_raw == pytest.approx(_raw_alpha(df[["q1", "q2", "q3"]].dropna()), abs=1e-12)
    assert "2 respondents with a missing answer were left out" in rel.sentence()


def test_sentence_labels_both_alphas_verdict_and_item_to_drop(bank):
    rel = cronbach(bank, BLOCKS["IMAG"], block="IMAG")
    text = rel.sentence()
    assert "raw alpha (as SPSS reports it) 0.82" in text
    assert "standardised alpha (as R plspm reports it) 0.83" in text
    assert "good" in text
    best = rel.alpha_if_deleted.loc[rel.alpha_if_deleted["alpha_raw_if_deleted"].idxmax()]
    assert best["alpha_raw_if_deleted"] - rel.alpha_raw > 0.01
    assert f"Dropping {best['item']} would raise raw alpha" in text and best["item"] == "imag5"
    # no item is named when no deletion raises alpha by more than 0.01
    sat = cronbach(bank, BLOCKS["SAT"], block="SAT")
    assert (sat.alpha_if_deleted["alpha_raw_if_deleted"] - sat.alpha_raw).max() <= 0.01
    assert "Dropping" not in sat.sentence()


def test_verdict_cut_offs():
    assert [verdict(a) for a in (0.95, 0.9, 0.85, 0.75, 0.65, 0.59, -0.2, np.nan)] == [
        "excellent",
        "excellent",
        "good",
        "acceptable",
        "questionable",
        "poor",
        "poor",
        "poor",
    ]


def test_negative_alpha_is_reported_unfloored():
    rng = np.random.default_rng(3)
    t = rng.normal(size=400)
    # b is scored against a and c (not reversed before the analysis)
    df = pd.DataFrame({"a": t + rng.normal(size=400), "b": -t + rng.normal(size=400), "c": t + rng.normal(size=400)})
    rel = cronbach(df, ["a", "b", "c"], block="mixed")
    assert rel.alpha_standardized < 0 and rel.alpha_raw < 0
    text = rel.sentence()
    assert "plspm shows 0" in text and "reverse" in text and "poor" in text


def test_two_item_block_has_no_alpha_if_deleted():
    rel = cronbach(SMALL, ["q1", "q2"])
    assert isinstance(rel, Reliability)
    assert rel.alpha_if_deleted["alpha_raw_if_deleted"].isna().all()
    assert rel.alpha_if_deleted["item_total_correlation"].to_numpy() == pytest.approx(
        [np.corrcoef(SMALL.q1, SMALL.q2)[0, 1]] * 2
    )


def test_errors_name_the_block_column_and_rule():
    with pytest.raises(ValueError, match=r"at least 2 items; block 'one' has 1"):
        cronbach(SMALL, ["q1"], block="one")
    with pytest.raises(ValueError, match=r"at least 2 items"):
        reliability_table(SMALL, {"A": ["q1", "q2"], "B": ["q3"]})
    with pytest.raises(ValueError, match=r"'q9' not in the data"):
        cronbach(SMALL, ["q1", "q9"])
    flat = SMALL.assign(q5=3)
    with pytest.raises(ValueError, match=r"column 'q5' has the same value \(3\)"):
        cronbach(flat, ["q1", "q5"])
    with pytest.raises(ValueError, match=r"column 'g' must hold numbers"):
        cronbach(SMALL.assign(g="x"), ["q1", "g"])
    with pytest.raises(ValueError, match=r"weights must be >= 0"):
        cronbach(SMALL, ["q1", "q2"], weights=[1, 1, 1, -1, 1, 1, 1, 1])
    with pytest.raises(ValueError, match=r"weights has 3 values but the data have 8 rows"):
        cronbach(SMALL, ["q1", "q2"], weights=[1, 1, 1])
    with pytest.raises(ValueError, match=r"listed more than once: q1"):
        cronbach(SMALL, ["q1", "q1", "q2"])
