"""helpers.channels.funnel and simulate_funnel: stage counts, conversion and days by hand, the
group tests against scipy, recovery of simulated funnels, anomalies counted, bad input named."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from helpers.channels.funnel import MISSING_GROUP, FunnelAnalysis, holm
from helpers.channels.simulate_funnel import generate_funnel

# --- a hand-made funnel: 10 leads, stages lead > qualified > won, channels x and y -------------
# x1 lead 01-01, qualified 01-03, won 01-10 | x2 lead 01-01, qualified 01-05 | x3 lead 01-02
# x4 lead 01-02, qualified 01-02, won 01-03 | y1 lead 01-01, qualified 01-11 | y2, y3 lead 01-03
# y4 lead 01-04 | y5 lead 01-05, qualified 01-06, won 01-09 | y6 lead 01-06
HAND = [
    ("x1", "lead", 1), ("x1", "qualified", 3), ("x1", "won", 10),
    ("x2", "lead", 1), ("x2", "qualified", 5),
    ("x3", "lead", 2),
    ("x4", "lead", 2), ("x4", "qualified", 2), ("x4", "won", 3),
    ("y1", "lead", 1), ("y1", "qualified", 11),
    ("y2", "lead", 3), ("y3", "lead", 3), ("y4", "lead", 4),
    ("y5", "lead", 5), ("y5", "qualified", 6), ("y5", "won", 9),
    ("y6", "lead", 6),
]  # fmt: skip


def _events(rows, channel=None) -> pd.DataFrame:
    f = pd.DataFrame(rows, columns=["lead_id", "stage", "day"])
    f["date"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(f.pop("day") - 1, unit="D")
    f["channel"] = channel if channel is not None else f["lead_id"].str[0]
    return f


@pytest.fixture(scope="module")
def hand():
    ev = _events(HAND).sample(frac=1.0, random_state=3)  # row order must not matter
    return FunnelAnalysis().fit(ev)


def test_hand_funnel_counts_conversions_drop_off_and_days(hand):
    o = hand.overall_.set_index("stage")
    assert hand.stages_ == ["lead", "qualified", "won"]
    assert o["leads"].tolist() == [10, 5, 3]
    assert o["moved_on"].iloc[:2].tolist() == [5, 3] and pd.isna(o["moved_on"].iloc[2])
    assert np.isnan(o.loc["lead", "conversion_from_previous"])
    assert o["conversion_from_previous"].iloc[1:].tolist() == pytest.approx([5 / 10, 3 / 5])
    assert o["conversion_from_first"].tolist() == pytest.approx([1.0, 0.5, 0.3])
    assert o["drop_off"].iloc[:2].tolist() == [5, 2]
    # days lead -> qualified: 2, 4, 0, 10, 1; qualified -> won: 7, 1, 3
    assert o.loc["lead", "median_days_in_stage"] == 2 and o.loc["lead", "mean_days_in_stage"] == pytest.approx(3.4)
    assert o.loc["qualified", "median_days_in_stage"] == 3
    assert o.loc["qualified", "mean_days_in_stage"] == pytest.approx(11 / 3)
    assert np.isnan(o.loc["won", "mean_days_in_stage"])


def test_hand_funnel_by_group(hand):
    g = hand.by_group_.set_index(["group", "stage"])
    assert hand.by_group_["group"].unique().tolist() == ["y", "x"]  # more leads first
    assert [g.loc[("x", s), "leads"] for s in hand.stages_] == [4, 3, 2]
    assert [g.loc[("y", s), "leads"] for s in hand.stages_] == [6, 2, 1]
    assert g.loc[("x", "qualified"), "conversion_from_previous"] == pytest.approx(0.75)
    assert g.loc[("y", "qualified"), "conversion_from_previous"] == pytest.approx(1 / 3)
    assert g.loc[("x", "won"), "conversion_from_previous"] == pytest.approx(2 / 3)
    assert g.loc[("y", "won"), "conversion_from_first"] == pytest.approx(1 / 6)
    assert g.loc[("x", "lead"), "median_days_in_stage"] == 2 and g.loc[("x", "lead"), "mean_days_in_stage"] == 2
    assert g.loc[("y", "lead"), "median_days_in_stage"] == 5.5
    assert g.loc[("x", "qualified"), "mean_days_in_stage"] == 4


def test_hand_funnel_chi_square_cramers_v_holm_and_kruskal_by_hand(hand):
    t = hand.tests_.set_index("from_stage")
    # lead -> qualified: moved [x 3, y 2], not [x 1, y 4]; expected 2, 3, 2, 3
    chi2_1 = 1 / 2 + 1 / 3 + 1 / 2 + 1 / 3
    p_1 = math.erfc(math.sqrt(chi2_1 / 2))  # chi-square, 1 df
    # qualified -> won: moved [2, 1], not [1, 1]; expected 1.8, 1.2, 1.2, 0.8
    chi2_2 = 0.04 / 1.8 + 0.04 / 1.2 + 0.04 / 1.2 + 0.04 / 0.8
    p_2 = math.erfc(math.sqrt(chi2_2 / 2))
    assert t.loc["lead", "chi2"] == pytest.approx(5 / 3) and chi2_1 == pytest.approx(5 / 3)
    assert t.loc["qualified", "chi2"] == pytest.approx(5 / 36) and chi2_2 == pytest.approx(5 / 36)
    assert t["dof"].tolist() == [1, 1]
    assert t["p_value"].tolist() == pytest.approx([p_1, p_2], rel=1e-10)
    assert t["p_adjusted"].tolist() == pytest.approx([2 * p_1, p_2], rel=1e-10)  # Holm: 2 p_(1), max(., p_(2))
    assert not t["significant"].any()
    assert t.loc["lead", "cramers_v"] == pytest.approx(math.sqrt(1 / 6))
    assert t.loc["lead", "best_group"] == "x" and t.loc["lead", "worst_group"] == "y"
    assert t.loc["lead", "best_conversion"] == pytest.approx(0.75)
    assert t.loc["lead", "min_expected"] == pytest.approx(2.0)
    # Kruskal-Wallis, days lead -> qualified: x [2, 4, 0], y [10, 1]; ranks x 3, 4, 1; y 5, 2
    h = 12 / (5 * 6) * (8**2 / 3 + 7**2 / 2) - 3 * 6
    assert t.loc["lead", "days_h"] == pytest.approx(h) and h == pytest.approx(1 / 3)
    assert any("expected counts are below 5" in n for n in hand.notes_)


def test_hand_funnel_sentences_and_summary_state_the_numbers(hand):
    s = hand.sentences()
    assert s["funnel"].startswith("Of the 10 leads at lead, 3 (30.0 %) reached won.")
    assert "from lead to qualified: 50.0 % of the leads there did not move on (5 of 10)" in s["funnel"]
    assert "No step's conversion differs significantly" in s["groups"]
    assert f"p = {2 * math.erfc(math.sqrt(5 / 6)):.3f}" in s["groups"]
    table = hand.summary()
    assert list(table.index) == ["lead", "qualified", "won"]
    assert table.loc["lead", "groups_p_adjusted"] == pytest.approx(hand.tests_["p_adjusted"].iloc[0])
    assert "10 leads, 3 stages" in table.attrs["fit_line"] and "30.0 %" in table.attrs["fit_line"]


def test_holm_matches_hand_values_and_skips_nan():
    adj = holm([0.01, 0.04, np.nan, 0.03])
    assert adj[[0, 3, 1]].tolist() == pytest.approx([0.03, 0.06, 0.06]) and np.isnan(adj[2])
    assert holm([0.6, 0.9]).tolist() == pytest.approx([1.0, 1.0])


# --- anomalies and stage order -------------------------------------------------------------------


def test_anomalies_counted_kept_and_explained():
    rows = [
        ("p1", "A", 1), ("p1", "C", 5),  # skipped B
        ("p2", "A", 3), ("p2", "A", 1), ("p2", "B", 4),  # duplicate A: the earliest (day 1) is kept
        ("p3", "A", 10), ("p3", "B", 8),  # B dated before A
        ("p4", "A", 1), ("p4", "B", 2), ("p4", "C", 3),
    ]  # fmt: skip
    ev = _events(rows, channel=["s", "s", "s", "t", "s", "s", "s", None, None, None])
    fa = FunnelAnalysis(stages=["A", "B", "C"]).fit(ev)
    an = fa.anomalies_.set_index("anomaly")
    assert an["count"].to_dict() == {
        "skipped_stage": 1, "duplicate_rows": 1, "dates_backwards": 1, "conflicting_group": 1, "missing_group": 1,
    }  # fmt: skip
    assert an.loc["skipped_stage", "examples"] == "p1" and an.loc["dates_backwards", "examples"] == "p3"
    assert an.loc["conflicting_group", "examples"] == "p2" and an.loc["missing_group", "examples"] == "p4"
    o = fa.overall_.set_index("stage")
    assert o["leads"].tolist() == [4, 3, 2]  # p1 kept as reaching C, p3 as reaching B
    assert o.loc["B", "conversion_from_previous"] == pytest.approx(3 / 4)
    assert o.loc["C", "conversion_from_previous"] == pytest.approx(1 / 3)  # of B's leads only p4 reached C
    assert o.loc["C", "conversion_from_first"] == pytest.approx(2 / 4)
    assert o.loc["A", "mean_days_in_stage"] == pytest.approx(2.0)  # p2: 3 days, p4: 1 day; p3's -2 left out
    groups = fa.by_group_.set_index(["group", "stage"])
    # p2's group is the value on its earliest row of its earliest stage (A on day 1: "t")
    assert groups.loc[("s", "A"), "leads"] == 2 and groups.loc[("t", "A"), "leads"] == 1
    assert groups.loc[(MISSING_GROUP, "A"), "leads"] == 1
    notes = " ".join(fa.notes_)
    assert "1 leads reached a later stage without an earlier one" in notes
    assert "1 duplicate lead-stage rows" in notes and "before their previous stage" in notes


def test_stage_order_inferred_by_leads_then_median_date():
    rows = [
        ("a", "start", 1), ("b", "start", 1), ("c", "start", 1),
        ("a", "late", 9), ("b", "late", 9), ("a", "early", 3), ("b", "early", 3),
    ]  # fmt: skip
    fa = FunnelAnalysis(group_col=None).fit(_events(rows))
    assert fa.stages_ == ["start", "early", "late"]  # early and late tie on 2 leads: earlier median first
    assert "inferred" in fa.notes_[0] and "start, early, late" in fa.notes_[0]
    assert fa.tests_.empty and fa.by_group_.empty
    assert "not compared" in fa.sentences()["groups"]
    sim = generate_funnel(3000, seed=4)
    shuffled = sim.frame.sample(frac=1.0, random_state=1).reset_index(drop=True)
    assert FunnelAnalysis().fit(shuffled).stages_ == sim.truth["stages"]


def test_other_grouping_column_and_non_string_values():
    ev = _events(HAND).rename(columns={"channel": "segment"})
    ev["segment"] = (ev["lead_id"].str[0] == "x").astype(int)
    fa = FunnelAnalysis(group_col="segment").fit(ev)
    assert set(fa.by_group_["group"]) == {"0", "1"}
    assert fa.tests_["chi2"].iloc[0] == pytest.approx(5 / 3)


# --- bad input -----------------------------------------------------------------------------------


def test_bad_input_errors_name_the_column_and_rows():
    ev = _events(HAND)
    with pytest.raises(ValueError, match=r"'stage'.*missing"):
        FunnelAnalysis().fit(ev.drop(columns="stage"))
    with pytest.raises(ValueError, match=r"'channel'.*group_col=None"):
        FunnelAnalysis().fit(ev.drop(columns="channel"))
    bad = ev.copy()
    bad.loc[[2, 5], "lead_id"] = None
    with pytest.raises(ValueError, match=r"'lead_id' has 2 missing values \(rows \[2, 5\]\)"):
        FunnelAnalysis().fit(bad)
    bad = ev.copy()
    bad["date"] = bad["date"].dt.strftime("%Y-%m-%d").astype(object)
    bad.loc[4, "date"] = "not a day"
    with pytest.raises(ValueError, match=r"'date' has values that are not dates \(rows \[4\]\).*not a day"):
        FunnelAnalysis().fit(bad)
    with pytest.raises(ValueError, match=r"'stage' has stages not in stages=.*\['won'\] \(rows \[2, 8, 16\]\)"):
        FunnelAnalysis(stages=["lead", "qualified"]).fit(ev)
    with pytest.raises(ValueError, match="alpha"):
        FunnelAnalysis(alpha=1.5).fit(ev)
    with pytest.raises(ValueError, match="single stage"):
        FunnelAnalysis().fit(ev[ev["stage"] == "lead"])
    with pytest.raises(ValueError, match="not fitted"):
        FunnelAnalysis().summary()


# --- simulated funnels ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big():
    sim = generate_funnel(40_000, seed=11)
    return sim, FunnelAnalysis().fit(sim.frame)


def test_simulator_frame_and_truth_are_consistent(big):
    sim, fa = big
    f = sim.frame
    assert list(f.columns) == ["lead_id", "stage", "date", "channel"]
    assert f["date"].dtype == "datetime64[ns]" and not f.duplicated(["lead_id", "stage"]).any()
    assert f.groupby("stage").size().reindex(sim.truth["stages"]).tolist() == list(sim.truth["reached"].values())
    assert fa.anomalies_["count"].sum() == 0
    assert sim.truth["planted_channels"] == ["search", "social"]
    assert sim.truth["planted_transition"] == "qualified -> proposal"


def test_simulated_conversion_and_days_recovered_within_four_standard_errors(big):
    sim, fa = big
    got = fa.by_group_.set_index(["group", "stage"])
    rates = sim.details["rates"]
    for r in rates.itertuples(index=False):
        n = got.loc[(r.channel, r.from_stage), "leads"]
        p_hat = got.loc[(r.channel, r.to_stage), "conversion_from_previous"]
        assert abs(p_hat - r.p) <= 4 * math.sqrt(r.p * (1 - r.p) / n), (r.channel, r.from_stage)
        movers = got.loc[(r.channel, r.from_stage), "moved_on"]
        m = r.mean_days - 1  # days are 1 + NegBin(size 2, mean m): variance m + m^2 / 2
        sd = math.sqrt(m + m * m / 2)
        mean_hat = got.loc[(r.channel, r.from_stage), "mean_days_in_stage"]
        assert abs(mean_hat - r.mean_days) <= 4 * sd / math.sqrt(movers), (r.channel, r.from_stage)


def test_chi_square_equals_scipy_on_a_crosstab_of_the_data(big):
    sim, fa = big
    f = sim.frame
    for t in fa.tests_.itertuples(index=False):
        base = set(f.loc[f["stage"] == t.from_stage, "lead_id"])
        moved = set(f.loc[f["stage"] == t.to_stage, "lead_id"]) & base
        leads = f[f["stage"] == t.from_stage].set_index("lead_id")["channel"]
        table = pd.crosstab(leads.index.isin(list(moved)), leads.to_numpy())
        ref = stats.chi2_contingency(table.to_numpy(), correction=False)
        assert t.chi2 == pytest.approx(ref.statistic, rel=1e-10) and t.dof == ref.dof
        assert t.p_value == pytest.approx(ref.pvalue, rel=1e-8, abs=1e-300)
        assert t.cramers_v == pytest.approx(math.sqrt(ref.statistic / table.to_numpy().sum()))


def test_planted_difference_significant_equal_transitions_not():
    sim = generate_funnel(5000, seed=0)
    fa = FunnelAnalysis().fit(sim.frame)
    t = fa.tests_.assign(name=lambda d: d["from_stage"] + " -> " + d["to_stage"]).set_index("name")
    planted = sim.truth["planted_transition"]
    assert t.loc[planted, "significant"] and t.loc[planted, "p_adjusted"] < 1e-10
    assert t.loc[planted, "best_group"] == "search" and t.loc[planted, "worst_group"] == "social"
    assert t.loc[planted, "days_p_value"] < 1e-6  # search also moves on in half the days
    assert not t.loc[sim.truth["equal_transitions"], "significant"].any()
    s = fa.sentences()["groups"]
    assert s.startswith("Conversion from qualified to proposal differs between channel groups")
    assert f"search converts best ({100 * t.loc[planted, 'best_conversion']:.1f} %)" in s
    assert "No significant difference (5 % level) from lead to qualified, proposal to won." in s


def test_false_positive_rate_over_seeds_is_sane_and_the_planted_difference_always_found():
    false_pos, days_false_pos, n_tests, found = 0, 0, 0, 0
    for seed in range(20):
        sim = generate_funnel(2000, seed=100 + seed)
        t = FunnelAnalysis().fit(sim.frame).tests_
        name = t["from_stage"] + " -> " + t["to_stage"]
        equal = name.isin(sim.truth["equal_transitions"]).to_numpy()
        false_pos += int(t.loc[equal, "significant"].sum())
        days_false_pos += int((t.loc[equal, "days_p_value"] < 0.05).sum())
        n_tests += int(equal.sum())
        found += int(t.loc[~equal, "significant"].all())
    assert n_tests == 40 and found == 20
    # 40 true-null tests at 5 %: more than 6 rejections has probability < 2 % (binomial)
    assert false_pos <= 6 and days_false_pos <= 6


def test_entry_days_and_groups_equal_a_direct_groupby_on_messy_shuffled_events():
    """The linear-time core (one pass with np.minimum.at, no sort) against pandas groupby and a
    stable sort, on 600 leads with duplicate rows, skipped stages, dates going backwards,
    conflicting and missing groups and ties in time, in shuffled row order."""
    rng = np.random.default_rng(5)
    stages = ["lead", "qualified", "proposal", "won"]
    n = 600
    reach = rng.integers(1, 5, n)
    rows = [(f"L{i:04d}", stages[k], int(rng.integers(1, 40))) for i in range(n) for k in range(reach[i])]
    ev = _events(rows, channel=rng.choice(["a", "b", "c"], len(rows)).tolist())
    extra = ev.sample(300, random_state=1).assign(
        date=lambda f: f["date"] + pd.to_timedelta(rng.integers(-2, 3, 300), "D")
    )
    ev = pd.concat([ev, extra], ignore_index=True)
    ev = ev.drop(ev[ev["stage"] == "qualified"].sample(40, random_state=2).index)
    ev.loc[ev.sample(150, random_state=3).index, "channel"] = None
    ev = ev.sample(frac=1.0, random_state=4).reset_index(drop=True)
    fa = FunnelAnalysis(stages=stages).fit(ev)

    pos = ev["stage"].map({s: k for k, s in enumerate(stages)})
    first = ev.assign(day=ev["date"]).groupby(["lead_id", pos])["day"].min().unstack()
    leads = first.notna().sum().to_numpy()
    np.testing.assert_array_equal(fa.overall_["leads"].to_numpy(), leads)
    days = first.diff(axis=1).shift(-1, axis=1) / pd.Timedelta(days=1)  # entry into the next stage
    for k in range(3):
        d = days[k][days[k] >= 0]
        assert fa.overall_["median_days_in_stage"].iloc[k] == d.median()
        assert fa.overall_["mean_days_in_stage"].iloc[k] == pytest.approx(d.mean(), rel=1e-12)
    n_cells = first.notna().to_numpy().sum()
    an = fa.anomalies_.set_index("anomaly")["count"]
    assert an["duplicate_rows"] == len(ev) - n_cells
    # a lead's group: its row with the lowest stage, then the earliest date, then the first such row
    has = ev[ev["channel"].notna()].assign(pos=pos)
    chosen = has.sort_values(["pos", "date"], kind="stable").groupby("lead_id")["channel"].first()
    distinct = has.groupby("lead_id")["channel"].nunique()
    assert an["conflicting_group"] == int((distinct > 1).sum())
    assert an["missing_group"] == ev["lead_id"].nunique() - len(chosen)
    reached = first.notna().join(chosen.rename("group")).fillna({"group": MISSING_GROUP})
    expected = reached.groupby("group")[list(range(4))].sum()
    got = fa.by_group_.pivot(index="group", columns="stage", values="leads")[stages]
    np.testing.assert_array_equal(got.loc[expected.index].to_numpy(), expected.to_numpy())
