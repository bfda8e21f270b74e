"""helpers.segmentation.migration: a hand-made two-snapshot case with its exact matrix and moves,
totals that add up, the order of segments, rank ties and the sentence."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.segmentation.migration import (
    GONE_LABEL,
    MOVEMENTS,
    NEW_LABEL,
    migration_sentence,
    migration_summary,
    movements,
    transition_matrix,
)

ORDER = ["Champions", "Loyal", "Potential", "At risk", "Hibernating"]
RANK = {"Champions": 5, "Loyal": 4, "Potential": 4, "At risk": 2, "Hibernating": 1}
BEFORE = pd.Series(
    {
        "c1": "Champions",
        "c2": "Loyal",
        "c3": "At risk",
        "c4": "Loyal",
        "c5": "At risk",
        "c6": "Hibernating",
        "c7": "Champions",
        "c9": "At risk",
    }
)
AFTER = pd.Series(
    {
        "c1": "Champions",
        "c2": "Champions",
        "c3": "Hibernating",
        "c4": "Potential",
        "c5": "Loyal",
        "c7": "Loyal",
        "c8": "Potential",
        "c9": "Hibernating",
    }
)


def test_transition_matrix_by_hand():
    counts, shares = transition_matrix(BEFORE, AFTER, order=ORDER)
    assert list(counts.index) == ORDER + [NEW_LABEL]
    assert list(counts.columns) == ORDER + [GONE_LABEL]
    expected = pd.DataFrame(
        [
            [1, 1, 0, 0, 0, 0],  # Champions: c1 stays, c7 -> Loyal
            [1, 0, 1, 0, 0, 0],  # Loyal: c2 -> Champions, c4 -> Potential
            [0, 0, 0, 0, 0, 0],  # Potential: nobody before
            [0, 1, 0, 0, 2, 0],  # At risk: c5 -> Loyal, c3 and c9 -> Hibernating
            [0, 0, 0, 0, 0, 1],  # Hibernating: c6 gone
            [0, 0, 1, 0, 0, 0],  # new: c8 -> Potential
        ],
        index=pd.Index(ORDER + [NEW_LABEL], name="segment_before"),
        columns=pd.Index(ORDER + [GONE_LABEL], name="segment_after"),
    )
    pd.testing.assert_frame_equal(counts, expected)
    assert counts.to_numpy().sum() == len(BEFORE.index.union(AFTER.index)) == 9
    np.testing.assert_allclose(shares.loc["At risk"].to_numpy(), [0, 100 / 3, 0, 0, 200 / 3, 0])
    np.testing.assert_allclose(shares.loc["Champions"].to_numpy(), [50, 50, 0, 0, 0, 0])
    assert shares.loc["Potential"].isna().all()  # an empty row has no shares
    full = shares.drop(index="Potential").sum(axis=1)
    np.testing.assert_allclose(full.to_numpy(), 100.0)


def test_matrix_without_new_or_gone_customers_and_order_respected():
    before = pd.Series({"a": "Low", "b": "High", "c": "Mid"})
    after = pd.Series({"a": "Mid", "b": "High", "c": "Low"})
    counts, _ = transition_matrix(before, after, order=["High", "Mid", "Low", "Empty"])
    assert list(counts.index) == list(counts.columns) == ["High", "Mid", "Low", "Empty"]
    assert counts.loc["Low", "Mid"] == 1 and counts.loc["Mid", "Low"] == 1 and counts.loc["High", "High"] == 1
    assert counts.loc["Empty"].sum() == 0 and counts["Empty"].sum() == 0
    with pytest.raises(ValueError, match="not in order"):
        transition_matrix(before, after, order=["High", "Mid"])
    with pytest.raises(ValueError, match="more than once"):
        transition_matrix(pd.Series(["Low", "Mid"], index=["a", "a"]), after, order=["High", "Mid", "Low"])


def test_movements_by_hand():
    moves = movements(BEFORE, AFTER, rank=RANK)
    assert list(moves.columns) == ["customer_id", "segment_before", "segment_after", "movement"]
    expected = [
        ("c2", "Loyal", "Champions", "upgraded"),
        ("c5", "At risk", "Loyal", "upgraded"),
        ("c1", "Champions", "Champions", "unchanged"),
        ("c4", "Loyal", "Potential", "sideways"),  # equal rank, different segment
        ("c3", "At risk", "Hibernating", "slipped"),
        ("c7", "Champions", "Loyal", "slipped"),
        ("c9", "At risk", "Hibernating", "slipped"),
        ("c8", NEW_LABEL, "Potential", "new"),
        ("c6", "Hibernating", GONE_LABEL, "gone"),
    ]
    assert [tuple(r) for r in moves.itertuples(index=False)] == expected
    # a crosstab of the two columns is the transition matrix
    counts, _ = transition_matrix(BEFORE, AFTER, order=ORDER)
    again = pd.crosstab(moves["segment_before"], moves["segment_after"])
    for (row, col), k in again.stack().items():
        assert counts.loc[row, col] == k
    summary = migration_summary(moves)
    assert list(summary.index) == list(MOVEMENTS)
    assert summary.to_dict() == {"upgraded": 2, "unchanged": 1, "sideways": 1, "slipped": 3, "new": 1, "gone": 1}
    with pytest.raises(ValueError, match="no rank"):
        movements(BEFORE, AFTER, rank={"Champions": 1})


def test_summary_keeps_every_movement_with_zeros():
    moves = movements(pd.Series({"a": "X"}), pd.Series({"a": "X"}), rank={"X": 1})
    assert migration_summary(moves).to_dict() == {m: (1 if m == "unchanged" else 0) for m in MOVEMENTS}


def test_sentence_from_the_numbers():
    moves = movements(BEFORE, AFTER, rank=RANK)
    counts, _ = transition_matrix(BEFORE, AFTER, order=ORDER)
    text = migration_sentence(migration_summary(moves), counts, before_date="2024-12-31", after_date="2025-06-30")
    assert text.startswith(
        "Of the 8 customers already buying on 2024-12-31, 2 (25.0 %) moved to a better segment by 2025-06-30, "
        "3 (37.5 %) slipped, 1 (12.5 %) moved to another segment of the same rank and 1 (12.5 %) was no longer "
        "a customer; 1 (12.5 %) stayed in the same segment."
    )
    assert "The largest flow was 2 from At risk to Hibernating." in text
    assert text.endswith("1 customer was new since 2024-12-31.")


def test_sentence_when_nobody_was_there_before():
    after = pd.Series({"a": "X", "b": "X"})
    moves = movements(pd.Series(dtype=object), after, rank={"X": 1})
    counts, _ = transition_matrix(pd.Series(dtype=object), after, order=["X"])
    assert counts.loc[NEW_LABEL, "X"] == 2
    text = migration_sentence(
        migration_summary(moves), counts, before_date=pd.Timestamp("2025-01-01"), after_date="2025-02-01"
    )
    assert text == "No customer was buying on 2025-01-01; all 2 customers on 2025-02-01 are new since then."


def test_sentence_names_a_flow_out_of_the_base():
    before = pd.Series({"a": "X", "b": "X", "c": "Y", "d": "Y"})
    after = pd.Series({"c": "X"})
    counts, _ = transition_matrix(before, after, order=["X", "Y"])
    summary = migration_summary(movements(before, after, rank={"X": 2, "Y": 1}))
    text = migration_sentence(summary, counts, pd.Timestamp("2025-01-01"), pd.Timestamp("2025-07-01"))
    assert "3 (75.0 %) were no longer customers" in text
    assert "The largest flow was 2 from X out of the customer base." in text
    assert "new since" not in text
