"""helpers.channels.narrative: the report's judging sentences follow the numbers they are given."""

from __future__ import annotations

import pandas as pd

from helpers.channels import narrative

ROAS = pd.DataFrame(
    {
        "channel": ["tv", "search", "social"],
        "roas": [0.8, 2.5, 1.2],
        "roas_low": [0.6, 1.9, 0.7],
        "roas_high": [1.0, 3.1, 1.8],
        "mroas": [0.5, 1.4, 0.9],
    }
)


def test_fit_sentence_judges_r2_and_the_holdout_error_by_their_values():
    good = narrative.fit_sentence(0.93, 4.2, 12, 156, "revenue")
    assert good == (
        "The model follows revenue closely: it explains 93 % of its week-to-week variation over 156 weeks; fitted "
        "without the last 12 weeks, it predicted them with a mean error of 4.2 % (good for a forecast of weekly revenue)."
    )
    weak = narrative.fit_sentence(0.55, 31.0, 8, 104, "sales")
    assert "only loosely" in weak and "55 %" in weak and "31.0 % (weak" in weak
    assert narrative.fit_sentence(0.8, None, 0, 52, "sales").endswith("(no holdout was kept back).")


def test_roas_sentence_names_best_and_worst_and_whether_their_intervals_separate_them():
    text = narrative.roas_sentence(ROAS, "$")
    assert text.startswith("search returns the most, 2.50 per unit of spend; tv the least, 0.80")
    assert "(their 90 % intervals do not overlap)" in text
    assert "tv returned less than $1.00 per $1.00 spent." in text
    assert "next unit does most in search (marginal ROAS 1.40) and least in tv (0.50)" in text
    close = ROAS.assign(roas_low=[0.6, 0.9, 0.7])
    assert "(their 90 % intervals overlap, so the order is not certain)" in narrative.roas_sentence(close, "$")


def test_budget_caveat_warns_only_when_money_moves_to_channels_the_model_cannot_tell_from_zero():
    alloc = pd.DataFrame({"channel": ["tv", "search", "social"], "current_spend": [100.0, 50.0, 50.0],
                          "change": [-30.0, 20.0, 10.0]})  # fmt: skip
    assert narrative.budget_caveat(alloc, pd.Series({"tv": 0.5, "search": 0.001, "social": 0.01})) == ""
    text = narrative.budget_caveat(alloc, pd.Series({"tv": 0.001, "search": 0.2, "social": 0.4}))
    assert text.startswith("Caution: the shift gives more to search and social, which have effects the model cannot")
    assert narrative.budget_caveat(alloc, pd.Series({"tv": 0.9, "search": 0.001, "social": 0.3})).startswith(
        "Caution: the shift gives more to social, which has an effect"
    )


def test_synergy_sentence_reports_a_sign_only_when_the_interval_excludes_zero():
    groups = (["search", "social"], ["tv"])
    assert narrative.synergy_sentence(0.4, 0.1, 0.7, groups).startswith("search + social and tv reinforce each other")
    assert narrative.synergy_sentence(-0.4, -0.7, -0.1, groups).startswith("search + social and tv dampen each other")
    assert narrative.synergy_sentence(0.4, -0.1, 0.9, groups).startswith(
        "No clear synergy between search + social and tv"
    )
    assert narrative.synergy_sentence(None, None, None, groups) == ""
