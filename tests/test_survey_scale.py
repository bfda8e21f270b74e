"""The survey at 100,000 respondents: the vectorised straight-liner rule, number inputs taken as they
are and categories labelled once give exactly what the respondent-by-respondent rules give."""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.survey import scores
from helpers.survey.data import clean_responses
from helpers.survey.significance import _category_labels, _value_label


def test_straight_liners_are_the_respondents_with_one_answer_to_every_item():
    rng = np.random.default_rng(0)
    n, items = 3000, [f"q{j}" for j in range(8)]
    answers = rng.integers(1, 6, (n, 8)).astype(float)
    liners = rng.choice(n, 300, replace=False)
    answers[liners] = rng.integers(1, 6, (300, 1))  # one answer everywhere
    answers[liners[:50], 3] = np.nan  # ... but one item unanswered: not a straight-liner
    answers[rng.random((n, 8)) < 0.01] = np.nan
    frame = pd.DataFrame(answers, columns=items).assign(id=np.arange(n))
    grids = {"A": items[:4], "B": items[4:]}
    result = clean_responses(frame, answer_cols=items, id_col="id", grids=grids, straightline_min_items=4)
    block = frame[items]
    by_respondent = block.notna().all(axis=1) & (block.nunique(axis=1) == 1)  # the rule, row by row
    assert result.steps.set_index("step").loc["straight-liners", "set_aside"] == by_respondent.sum() >= 200
    flagged = result.set_aside.loc[result.set_aside["reason"].str.startswith("straight-liner"), "id"]
    assert set(flagged) == set(frame.loc[by_respondent, "id"])


def test_straight_lining_compares_answers_of_any_type_as_values():
    frame = pd.DataFrame(
        {"a": [1, 2, "x", 3], "b": [1.0, 2, "x", 4], "c": [1, 2.0, "x", 3], "id": ["r1", "r2", "r3", "r4"]}
    )
    result = clean_responses(
        frame, answer_cols=["a", "b", "c"], id_col="id", grids={"G": ["a", "b", "c"]}, straightline_min_items=3
    )
    assert result.responses["id"].tolist() == ["r4"]


def test_number_inputs_are_read_as_they_are_and_give_what_the_general_path_gives():
    values = np.array([1.0, np.nan, 3.5, 0.0])
    for given in (values, pd.Series(values), pd.Series([1, None, 3, 0], dtype="Int64"), np.array([1, 0, 3])):
        general = pd.to_numeric(pd.Series(np.asarray(given, dtype=object).ravel())).to_numpy(
            dtype=float, na_value=np.nan
        )
        np.testing.assert_array_equal(scores._floats(given, "x"), general)
    np.testing.assert_array_equal(scores._floats(np.array([True, False]), "x"), [1.0, 0.0])
    np.testing.assert_array_equal(scores._floats(np.array([[1, 2], [3, 4]]), "x"), [1.0, 2.0, 3.0, 4.0])
    assert scores.effective_n(np.array([1.0, 1.0, 2.0])) == 16 / 6


def test_categories_are_labelled_once_each_as_each_answer_would_be():
    cases = [
        np.array([2.0, 1.0, 2.0, 3.5, np.nan]),
        np.array(["North", "South", "North"], dtype=object),
        np.array([True, 1, 1.0, "1", False], dtype=object),  # equal values that read differently
        np.arange(5),
    ]
    for values in cases:
        assert list(_category_labels(values)) == [_value_label(v) for v in values]
    assert list(_category_labels(np.array([2.0, 10.0]))) == ["2", "10"]
