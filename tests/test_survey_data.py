"""Cleaning a survey export: every step counted, nothing dropped without a reason; missing codes
pass the contract as missing answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers import contracts
from helpers.survey.data import clean_responses, infer_scale

ITEMS = ["q1", "q2", "q3", "q4", "q5"]


def _frame():
    return pd.DataFrame(
        {
            "id": ["a", "b", "b", "c", "d", "e", "f"],
            "q1": [1, -99, 3, 4, 5, 2, 4],
            "q2": [2, -99, 3, 4, 5, 3, 2],
            "q3": [3, -99, 3, 4, 5, 4, -99],
            "q4": [1, -99, 3, 4, 5, 5, 3],
            "q5": [2, -99, 3, 4, 5, 1, 5],
            "secs": [300, 200, 250, 20, 310, 280, 400],
        }
    )


def test_each_step_sets_aside_the_rows_it_names_and_the_counts_add_up():
    r = clean_responses(
        _frame(),
        answer_cols=ITEMS,
        id_col="id",
        missing_codes=[-99],
        duration_col="secs",
        speeder_ratio=0.3,
        grids={"G": ITEMS},
    )
    steps = r.steps.set_index("step")["set_aside"].to_dict()
    # b (first) has only codes; b (second) is then the first b with answers, but straight-lines;
    # c took 20 s against a median of 280 (0.3 x 280 = 84); d straight-lines on 5s
    assert steps == {"no answers": 1, "duplicate respondents": 0, "speeders": 1, "straight-liners": 2}
    assert r.respondents_in == 7 == r.respondents + len(r.set_aside)
    assert list(r.responses["id"]) == ["a", "e", "f"]
    assert r.missing_codes_replaced.sum() == 6 and r.missing_codes_replaced["q3"] == 2
    assert np.isnan(r.responses.loc[r.responses["id"] == "f", "q3"]).all()
    assert r.set_aside["reason"].str.startswith("speeder").sum() == 1
    assert "Set aside: no answers: 1; speeders: 1; straight-liners: 2; 3 respondents remain." in r.describe()


def test_duplicate_ids_keep_the_first_answer():
    f = _frame().iloc[[0, 5, 5, 6]].assign(id=["a", "e", "e", "f"])
    r = clean_responses(f, answer_cols=ITEMS, id_col="id")
    assert r.steps.set_index("step").loc["duplicate respondents", "set_aside"] == 1
    assert list(r.responses["id"]) == ["a", "e", "f"] and r.set_aside["reason"].tolist() == ["duplicate respondent id"]


def test_checks_without_their_columns_are_skipped_and_said_so():
    r = clean_responses(_frame(), answer_cols=ITEMS, speeder_ratio=0.5)
    assert "no respondent id column" in r.describe() and "no duration column" in r.describe()
    with pytest.raises(ValueError, match="speeder_ratio must lie between 0 and 1"):
        clean_responses(_frame(), answer_cols=ITEMS, duration_col="secs", speeder_ratio=1.5)
    with pytest.raises(ValueError, match="no column 'q9'"):
        clean_responses(_frame(), answer_cols=["q9"])


def test_missing_codes_pass_the_contract_while_other_out_of_scale_answers_are_set_aside(tmp_path):
    path = tmp_path / "answers.csv"
    path.write_text("respondent_id,q1,q2,nps\nr1,5,-99,9\nr2,6,3,10\nr3,11,2,7\nr4,-99,-99,0\nr5,3,4,12\n")
    loaded = contracts.load(
        path,
        "responses",
        name="responses",
        items=["q1", "q2", "nps"],
        scale={"q1": (0, 10), "q2": (0, 10), "nps": (0, 10)},
        missing_codes=[-99],
        max_quarantined_share=1,
    )
    assert (loaded.rows_read, loaded.rows_accepted, loaded.rows_quarantined) == (5, 3, 2)
    assert sorted(loaded.quarantine["reason"]) == ["nps: outside scale 0-10", "q1: outside scale 0-10"]
    plain = contracts.load(
        path, "responses", name="plain", items=["q1", "q2", "nps"], scale=(0, 10), max_quarantined_share=1
    )
    assert plain.rows_quarantined == 4  # without the declared code, -99 is outside the scale


def test_the_scale_is_inferred_from_whole_answers():
    assert infer_scale(pd.DataFrame({"a": [1.0, 4.0, np.nan], "b": [2.0, 5.0, 3.0]}), ["a", "b"]) == (1, 5)
