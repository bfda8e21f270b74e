"""helpers.survey.waves: per-wave scores against helpers.survey.scores, changes tested against
the wave before (significant when the simulated truth moves, not when it stays), the wave order,
small bases, weights and the sentences."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from helpers.survey.scores import difference, mean_ci, nps, top_box
from helpers.survey.waves import TREND_COLUMNS, wave_sentence, wave_trend


def _nps_wave(rng, wave: str, shares: tuple[float, float, float], n: int) -> pd.DataFrame:
    """n answers 0-10 with the given (detractor, passive, promoter) shares."""
    kind = rng.choice(3, n, p=shares)
    score = np.select([kind == 0, kind == 1], [rng.integers(0, 7, n), rng.integers(7, 9, n)], rng.integers(9, 11, n))
    return pd.DataFrame({"wave": wave, "ltr": score})


def _waves(seed: int, truth: dict[str, tuple[float, float, float]], n: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.concat([_nps_wave(rng, w, s, n) for w, s in truth.items()], ignore_index=True)


MOVING = {"2025-Q1": (0.35, 0.30, 0.35), "2025-Q2": (0.25, 0.30, 0.45), "2025-Q3": (0.15, 0.30, 0.55)}
FLAT = {"2025-Q1": (0.30, 0.30, 0.40), "2025-Q2": (0.30, 0.30, 0.40), "2025-Q3": (0.30, 0.30, 0.40)}


def test_nps_trend_matches_scores_and_detects_a_real_change():
    frame = _waves(1, MOVING)
    trend = wave_trend(frame, "ltr", "wave", "nps")
    assert list(trend.columns) == TREND_COLUMNS
    assert trend["wave"].tolist() == ["2025-Q1", "2025-Q2", "2025-Q3"]
    estimates = [nps(frame.loc[frame["wave"] == w, "ltr"]) for w in MOVING]
    for row, est in zip(trend.itertuples(), estimates, strict=True):
        assert (row.value, row.low, row.high, row.se, row.n, row.n_eff) == pytest.approx(
            (est.value, est.low, est.high, est.se, est.n, est.n_eff)
        )
    first = trend.iloc[0]
    assert math.isnan(first["change"]) and math.isnan(first["change_p"]) and not first["significant"]
    d = difference(estimates[2], estimates[1])
    assert trend["change"].iloc[2] == pytest.approx(d.estimate) and trend["change_p"].iloc[2] == pytest.approx(
        d.p_value
    )
    assert trend["change_from_first_p"].iloc[2] == pytest.approx(difference(estimates[2], estimates[0]).p_value)
    # the truth moves by 20 NPS points a wave: with 600 answers a wave each step is detected
    assert trend["significant"].iloc[1:].all()
    assert trend.attrs["kind"] == "nps" and trend.attrs["alpha"] == 0.05


def test_flat_truth_gives_changes_within_the_margin_of_error():
    trend = wave_trend(_waves(2, FLAT), "ltr", "wave", "nps")
    assert not trend["significant"].any()
    assert (trend["change_p"].iloc[1:] > 0.05).all() and trend["change_from_first_p"].iloc[2] > 0.05
    text = wave_sentence(trend, "NPS", "points")
    assert "a change within the margin of error (p = 0." in text


def test_order_is_respected_and_checked():
    frame = _waves(3, MOVING)
    trend = wave_trend(frame, "ltr", "wave", "nps", order=["2025-Q3", "2025-Q1"])
    assert trend["wave"].tolist() == ["2025-Q3", "2025-Q1"]  # Q2 left out
    q3, q1 = (nps(frame.loc[frame["wave"] == w, "ltr"]) for w in ("2025-Q3", "2025-Q1"))
    assert trend["change"].iloc[1] == pytest.approx(q1.value - q3.value) and trend["change"].iloc[1] < 0
    assert math.isnan(trend["change"].iloc[0])
    with pytest.raises(ValueError, match="no answers in 'ltr' for wave\\(s\\) '2024-Q4'"):
        wave_trend(frame, "ltr", "wave", "nps", order=["2024-Q4", "2025-Q1"])
    with pytest.raises(ValueError, match="lists a wave twice"):
        wave_trend(frame, "ltr", "wave", "nps", order=["2025-Q1", "2025-Q1"])
    # numeric waves sort as numbers
    numbered = frame.assign(wave=frame["wave"].map({"2025-Q1": 10, "2025-Q2": 9, "2025-Q3": 100}))
    assert wave_trend(numbered, "ltr", "wave", "nps")["wave"].tolist() == [9, 10, 100]


def test_top_box_and_mean_kinds_pass_keywords_on():
    rng = np.random.default_rng(4)
    frame = pd.DataFrame(
        {
            "wave": np.repeat(["W1", "W2"], 300),
            "csat": np.concatenate([rng.integers(1, 6, 300), rng.integers(2, 6, 300)]).astype(float),
        }
    )
    frame.loc[[0, 400], "csat"] = np.nan  # missing answers are left out
    trend = wave_trend(frame, "csat", "wave", "top_box", scale_max=5, alpha=0.1)
    w2 = frame.loc[frame["wave"] == "W2", "csat"].dropna()
    est = top_box(w2, 5, confidence=0.9)
    assert trend["value"].iloc[1] == pytest.approx(est.value) and trend["low"].iloc[1] == pytest.approx(est.low)
    assert trend["n"].tolist() == [299, 299]
    one_box = wave_trend(frame, "csat", "wave", "top_box", scale_max=5, boxes=1)
    assert one_box["value"].iloc[0] == pytest.approx(
        top_box(frame.loc[frame["wave"] == "W1", "csat"].dropna(), 5, 1).value
    )
    means = wave_trend(frame, "csat", "wave", "mean")
    assert means["value"].iloc[0] == pytest.approx(mean_ci(frame.loc[frame["wave"] == "W1", "csat"].dropna()).value)
    text = wave_sentence(trend, "Satisfied customers", "%")
    assert text.startswith(f"Satisfied customers rose from {100 * trend['value'].iloc[0]:.0f} to ")
    assert " % between W1 and W2, a significant change" in text
    v0, v1 = means["value"]
    assert wave_sentence(means, "Mean satisfaction", "points").startswith(
        f"Mean satisfaction rose from {v0:.2f} to {v1:.2f} points between W1 and W2"
    )
    with pytest.raises(ValueError, match="needs scale_max"):
        wave_trend(frame, "csat", "wave", "top_box")
    with pytest.raises(ValueError, match="give alpha, not confidence"):
        wave_trend(frame, "csat", "wave", "mean", confidence=0.9)
    with pytest.raises(ValueError, match="kind must be"):
        wave_trend(frame, "csat", "wave", "median")
    with pytest.raises(ValueError, match="column 'nope' is not in the frame"):
        wave_trend(frame, "nope", "wave", "mean")


def test_small_base_wave_is_flagged_and_not_tested():
    rng = np.random.default_rng(5)
    frame = pd.concat(
        [_nps_wave(rng, "A", (0.3, 0.3, 0.4), 200), _nps_wave(rng, "B", (0.3, 0.3, 0.4), 20)], ignore_index=True
    )
    trend = wave_trend(frame, "ltr", "wave", "nps")
    assert trend["small_base"].tolist() == [False, True]
    assert not math.isnan(trend["change"].iloc[1]) and math.isnan(trend["change_p"].iloc[1])
    assert not trend["significant"].iloc[1]
    assert "not tested (an effective base below 30)" in wave_sentence(trend, "NPS", "points")


def test_weights_all_two_give_the_unweighted_trend_and_weights_are_used():
    frame = _waves(6, MOVING, n=300)
    plain = wave_trend(frame, "ltr", "wave", "nps")
    doubled = wave_trend(frame.assign(w=2.0), "ltr", "wave", "nps", weights="w")
    pd.testing.assert_frame_equal(plain, doubled)
    w = np.random.default_rng(7).uniform(0.5, 2.0, len(frame))
    weighted = wave_trend(frame, "ltr", "wave", "nps", weights=w)
    q2 = (frame["wave"] == "2025-Q2").to_numpy()
    est = nps(frame.loc[q2, "ltr"], weights=w[q2])
    assert weighted["value"].iloc[1] == pytest.approx(est.value) and weighted["n_eff"].iloc[1] == pytest.approx(
        est.n_eff
    )
    assert weighted["n_eff"].iloc[1] < 300


def test_wave_sentence_wording():
    trend = pd.DataFrame(
        {
            "wave": ["2025-Q1", "2025-Q2"],
            "value": [12.0, 21.0],
            "change": [math.nan, 9.0],
            "change_p": [math.nan, 0.0031],
            "small_base": [False, False],
        }
    )
    trend.attrs.update(kind="nps", alpha=0.05)
    assert wave_sentence(trend, "NPS", "points") == (
        "NPS rose from 12 to 21 points between 2025\\-Q1 and 2025\\-Q2, a significant change (p = 0.003)."
    )
    trend.loc[1, ["value", "change", "change_p"]] = [5.0, -7.0, 0.41]
    assert wave_sentence(trend, "NPS", "points") == (
        "NPS fell from 12 to 5 points between 2025\\-Q1 and 2025\\-Q2, a change within the margin of error (p = 0.41)."
    )
    three = wave_trend(_waves(8, MOVING), "ltr", "wave", "nps")
    text = wave_sentence(three, "<NPS>", "points")
    assert text.startswith("\\<NPS\\> rose from ") and " Over the 3 waves it rose from " in text
    assert "between 2025\\-Q1 and 2025\\-Q3, a significant change (p < 0.001)." in text
    single = wave_trend(_waves(9, {"2025-Q1": MOVING["2025-Q1"]}), "ltr", "wave", "nps")
    assert "a single wave, so no trend" in wave_sentence(single, "NPS", "points")
