"""helpers.channels.scorecard and simulate_base: the channel scorecard by hand on a small base, the
counts that must add up, retention eligibility, the chi-square tests against scipy, and the
recovery of simulated channels (conversion, CAC, ranking)."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2, chi2_contingency

from helpers.channels.scorecard import ChannelScorecard, chi_square_test
from helpers.channels.simulate_base import generate_channel_base


def _customers() -> pd.DataFrame:
    """search: c1-c4 (c4 never buys) and c11 (signs up after the snapshot); social: c5-c7 (only c5
    buys); email: c8, c9 (spelt ' Email ' once); c10 has no channel."""
    rows = [
        ("c1", "2024-01-01", "search"), ("c2", "2024-01-05", "search"), ("c3", "2024-02-01", "search"),
        ("c4", "2024-03-01", "search"), ("c5", "2024-01-10", "social"), ("c6", "2024-02-10", "social"),
        ("c7", "2024-03-10", "social"), ("c8", "2024-01-15", "email"), ("c9", "2024-04-01", " Email "),
        ("c10", "2024-01-20", None), ("c11", "2025-02-01", "search"),
    ]  # fmt: skip
    f = pd.DataFrame(rows, columns=["customer_id", "signup_date", "acquisition_channel"])
    f["signup_date"] = pd.to_datetime(f["signup_date"])
    f["region"] = "North"
    return f


def _transactions() -> pd.DataFrame:
    """c1: two orders on 2 Jan (one purchase of 80), a return, a purchase on 1 Jun; c3 first buys
    100 days before the snapshot (23 Sep) and again 99 days later; x1 is not in the customer table.
    The last row is 31 Dec 2024, so the snapshot is 1 Jan 2025."""
    rows = [
        ("c1", "2024-01-02", 50.0), ("c1", "2024-01-02", 30.0), ("c1", "2024-01-20", -10.0),
        ("c1", "2024-06-01", 40.0), ("c2", "2024-01-06", 100.0), ("c3", "2024-09-23", 20.0),
        ("c3", "2024-12-31", 60.0), ("c5", "2024-01-11", 25.0), ("c5", "2024-08-01", 35.0),
        ("c8", "2024-01-16", 70.0), ("c9", "2024-04-02", 30.0), ("c9", "2024-10-01", 30.0),
        ("c10", "2024-01-21", 40.0), ("x1", "2024-02-01", 15.0), ("x1", "2024-02-02", -5.0),
    ]  # fmt: skip
    f = pd.DataFrame(rows, columns=["customer_id", "date", "amount"])
    f["date"] = pd.to_datetime(f["date"])
    return f


def _costs(search_jan: float = 150.0) -> pd.DataFrame:
    """search 150 (Jan) + 90 (Feb) in the window, 50 before it (Jun 2023) and 70 on the snapshot
    month; social 30; email none; tv 100 (no lead came through tv)."""
    rows = [
        ("search", "2024-01-01", search_jan), ("search", "2024-02-01", 90.0), ("Social", "2024-01-01", 30.0),
        ("tv", "2024-01-01", 100.0), ("search", "2023-06-01", 50.0), ("search", "2025-01-01", 70.0),
    ]  # fmt: skip
    f = pd.DataFrame(rows, columns=["channel", "date", "cost"])
    f["date"] = pd.to_datetime(f["date"])
    return f


@pytest.fixture(scope="module")
def hand():
    return ChannelScorecard(min_customers=1).fit(_customers(), ibis.memtable(_transactions()), _costs())


def test_every_column_of_the_hand_case_by_hand(hand):
    assert hand.as_of_ == pd.Timestamp("2025-01-01")  # the day after the last transaction
    t = hand.table_
    # ranked by net value per customer; email has no cost, so it comes last
    assert t["channel"].tolist() == ["social", "search", "email"]
    r = t.set_index("channel")
    # search: leads c1-c4 (c11 signed up after the snapshot); customers c1, c2, c3; purchase days
    # c1 2 (the two 2 Jan orders are one), c2 1, c3 2 -> 5; revenue 80 + 40 + 100 + 20 + 60 = 300
    # (the return is not revenue); aov 300 / 5 = 60; repeat c1, c3 -> 2/3; cost in the window
    # 150 + 90 = 240, cac 240 / 3 = 80, roas 300 / 240 = 1.25, roi 60 / 240 = 0.25.
    # retention 90d: eligible c1 (first purchase 365 days before), c2 (361), c3 (100): c1 bought
    # 151 days after its first, c2 never again, c3 99 days after -> 2/3; 180d: c1, c2 eligible,
    # neither -> 0; 365d: c1 alone -> 0. No CLV (too few repeat buyers): value = 300 / 3 = 100,
    # net 100 - 80 = 20.
    s = r.loc["search"]
    assert (s["leads"], s["customers"], s["orders"]) == (4, 3, 5)
    assert s["conversion_rate"] == pytest.approx(0.75)
    assert (s["cost"], s["cac"], s["revenue"], s["aov"]) == pytest.approx((240.0, 80.0, 300.0, 60.0))
    assert s["repeat_rate"] == pytest.approx(2 / 3)
    assert [s["retention_90d"], s["retention_180d"], s["retention_365d"]] == pytest.approx([2 / 3, 0.0, 0.0])
    assert (s["revenue_per_customer"], s["roas"], s["roi"]) == pytest.approx((100.0, 1.25, 0.25))
    assert np.isnan(s["clv_mean"])
    assert (s["value_per_customer"], s["net_value_per_customer"]) == pytest.approx((100.0, 20.0))
    # social ('Social' in the costs): leads c5-c7, customer c5 with 25 (11 Jan) + 35 (1 Aug, 203 days
    # later); conversion 1/3; cost 30, cac 30; aov 60 / 2 = 30; repeat 1; retention 90d, 180d 1 and
    # 365d missing (c5's first purchase is 356 days before); roas 2, roi 1; net 60 - 30 = 30.
    s = r.loc["social"]
    assert (s["leads"], s["customers"], s["orders"]) == (3, 1, 2)
    assert s["conversion_rate"] == pytest.approx(1 / 3)
    assert (s["cost"], s["cac"], s["revenue"], s["aov"], s["repeat_rate"]) == pytest.approx((30, 30, 60, 30, 1))
    assert (s["retention_90d"], s["retention_180d"]) == (1.0, 1.0) and np.isnan(s["retention_365d"])
    assert (s["revenue_per_customer"], s["roas"], s["roi"]) == pytest.approx((60.0, 2.0, 1.0))
    assert (s["value_per_customer"], s["net_value_per_customer"]) == pytest.approx((60.0, 30.0))
    # email (' Email ' matched): c8 70 once; c9 30 + 30 182 days apart -> leads 2, customers 2,
    # orders 3, revenue 130, aov 43.33, repeat 1/2; 90d: c8 no, c9 yes -> 0.5; 180d (both eligible:
    # 351 and 274 days) -> 0.5; 365d none eligible; no cost row: cost, cac, roas, roi, net missing.
    s = r.loc["email"]
    assert (s["leads"], s["customers"], s["orders"], s["revenue"]) == (2, 2, 3, 130.0)
    assert (s["conversion_rate"], s["aov"], s["repeat_rate"]) == pytest.approx((1.0, 130 / 3, 0.5))
    assert (s["retention_90d"], s["retention_180d"]) == (0.5, 0.5) and np.isnan(s["retention_365d"])
    assert s[["cost", "cac", "roas", "roi", "net_value_per_customer"]].isna().all()
    assert s["value_per_customer"] == pytest.approx(65.0)
    # totals over the channels: 9 leads, 6 customers, 10 purchase days, revenue 490; cost 270 over
    # search and social only, so cac 270 / 4, roas (300 + 60) / 270; retention 90d 4/6 (c1, c3,
    # c5, c9 of c1, c2, c3, c5, c8, c9), 180d 2/5 (c5, c9 of c1, c2, c5, c8, c9)
    tot = hand.totals_
    assert (tot["leads"], tot["customers"], tot["orders"], tot["revenue"], tot["cost"]) == (9, 6, 10, 490.0, 270.0)
    assert (tot["conversion_rate"], tot["aov"], tot["repeat_rate"]) == pytest.approx((6 / 9, 49.0, 4 / 6))
    assert (tot["retention_90d"], tot["retention_180d"], tot["retention_365d"]) == pytest.approx((4 / 6, 2 / 5, 0))
    assert (tot["cac"], tot["roas"], tot["roi"]) == pytest.approx((67.5, 360 / 270, 90 / 270))
    assert tot["net_value_per_customer"] == pytest.approx(490 / 6 - 67.5)


def test_the_hand_case_reports_everything_left_out(hand):
    u = hand.unattributed_
    assert (u["leads_without_channel"], u["customers_without_channel"], u["revenue_without_channel"]) == (1, 1, 40.0)
    assert (u["unknown_customers"], u["unknown_customer_rows"], u["unknown_customer_revenue"]) == (1, 2, 15.0)
    assert (u["leads_after_as_of"], u["return_rows"], u["returns"], u["purchases"]) == (1, 2, 15.0, 545.0)
    assert (u["cost_rows_without_customers"], u["cost_without_customers"], u["channels_without_customers"]) == (
        1,
        100.0,
        ["tv"],
    )
    assert (u["cost_rows_outside_window"], u["cost_outside_window"]) == (2, 120.0)  # Jun 2023 and Jan 2025
    notes = " ".join(hand.notes_)
    for words in ("Predicted CLV is not available", "No cost rows for email", "(tv): 1 row, 100.00", "window"):
        assert words in notes


def test_counts_add_up_to_the_inputs(hand):
    t, u = hand.table_, hand.unattributed_
    # leads: channel rows + no channel + signed up after the snapshot = the customer table
    assert t["leads"].sum() + u["leads_without_channel"] + u["leads_after_as_of"] == len(_customers())
    # revenue: channels + no channel + unknown customers = every purchase (amount >= 0) in the log
    tx = _transactions()
    assert t["revenue"].sum() + u["revenue_without_channel"] + u["unknown_customer_revenue"] == pytest.approx(
        tx.loc[tx["amount"] >= 0, "amount"].sum()
    )
    # costs: attributed + channels without leads + outside the window = the costs table
    assert hand.totals_["cost"] + u["cost_without_customers"] + u["cost_outside_window"] == _costs()["cost"].sum()


def test_counts_add_up_on_a_simulated_base_with_lost_labels_and_stray_rows():
    base = generate_channel_base(2000, seed=5, unattributed_share=0.05)
    tx = pd.concat(
        [
            base.details["transactions"],
            pd.DataFrame({"customer_id": ["Z1"], "date": [pd.Timestamp("2024-05-01")], "amount": [9.5]}),
        ],
        ignore_index=True,
    )
    costs = pd.concat(
        [
            base.details["costs"],
            pd.DataFrame({"channel": ["tv"], "date": [pd.Timestamp("2024-05-01")], "cost": [500.0]}),
        ],
        ignore_index=True,
    )
    sc = ChannelScorecard(as_of="2025-12-01").fit(base.frame, ibis.memtable(tx), costs)
    t, u = sc.table_, sc.unattributed_
    lost = base.frame["acquisition_channel"].isna()
    assert lost.sum() == base.truth["unattributed_leads"] > 0
    # leads signed up on or after the snapshot cannot have bought before it: left out, counted
    late = base.frame["signup_date"] >= "2025-12-01"
    assert (u["leads_without_channel"], u["leads_after_as_of"]) == ((lost & ~late).sum(), late.sum())
    assert t["leads"].sum() + u["leads_without_channel"] + u["leads_after_as_of"] == len(base.frame)
    before = tx[(tx["date"] < "2025-12-01")]
    assert u["rows_after_as_of"] == len(tx) - len(before) > 0
    assert t["revenue"].sum() + u["revenue_without_channel"] + u["unknown_customer_revenue"] == pytest.approx(
        before.loc[before["amount"] >= 0, "amount"].sum(), abs=1e-6
    )
    assert u["unknown_customer_revenue"] == 9.5
    # December 2025 costs are dated on or after the snapshot; tv has no leads
    assert u["cost_outside_window"] == pytest.approx(costs.loc[costs["date"] >= "2025-12-01", "cost"].sum())
    assert u["cost_without_customers"] == 500.0
    assert sc.totals_["cost"] + u["cost_without_customers"] + u["cost_outside_window"] == pytest.approx(
        costs["cost"].sum()
    )


def test_row_order_of_the_inputs_changes_nothing_not_even_the_last_digit():
    """Leads and purchases are joined in customer-id order, whatever order the tables (or the
    engine's aggregation) come in, so every sum is the same to the bit."""
    base = generate_channel_base(3000, seed=8, unattributed_share=0.05)
    tx, costs = base.details["transactions"], base.details["costs"]
    first = ChannelScorecard().fit(base.frame, ibis.memtable(tx), costs)
    again = ChannelScorecard().fit(
        base.frame.sample(frac=1.0, random_state=1), ibis.memtable(tx.sample(frac=1.0, random_state=2)), costs
    )
    pd.testing.assert_frame_equal(first.table_, again.table_, check_exact=True)
    assert first.unattributed_ == again.unattributed_ and first.totals_ == again.totals_
    assert first.customers_["customer_id"].is_monotonic_increasing
    assert first.customers_["customer_id"].tolist() == again.customers_["customer_id"].tolist()


def test_a_channel_is_shown_as_its_most_frequent_spelling_ties_by_the_first_seen():
    c = _customers()
    c.loc[[1, 2], "acquisition_channel"] = ["Search", " Search"]  # search 3 (c1, c4, c11) against Search 2
    c.loc[[5, 6], "acquisition_channel"] = ["SOCIAL ", "SOCIAL"]  # SOCIAL 2 against social 1
    c.loc[8, "acquisition_channel"] = "email"  # email 2 against ' Email ' 0
    sc = ChannelScorecard(min_customers=1).fit(c, ibis.memtable(_transactions()), _costs())
    assert sorted(sc.table_["channel"]) == ["SOCIAL", "email", "search"]
    assert sc.table_.set_index("channel").loc["search", "leads"] == 4
    c.loc[0, "acquisition_channel"] = "SEARCH"  # a tie: Search 2 (first seen in c2), search 2 (c4, c11), SEARCH 1
    c.loc[3, "acquisition_channel"] = "search "
    assert "Search" in set(
        ChannelScorecard(min_customers=1).fit(c, ibis.memtable(_transactions()), _costs()).table_["channel"]
    )


def test_retention_of_a_customer_acquired_100_days_before_the_snapshot(hand):
    c = hand.customers_.set_index("customer_id")
    # c3: first purchase 23 Sep 2024, 100 days before 1 Jan 2025; bought again 99 days later
    assert (hand.as_of_ - c.loc["c3", "first_purchase"]).days == 100
    assert not pd.isna(c.loc["c3", "retained_90d"]) and bool(c.loc["c3", "retained_90d"])
    assert pd.isna(c.loc["c3", "retained_180d"]) and pd.isna(c.loc["c3", "retained_365d"])
    # c2 is eligible for 90 and 180 days (361 days) and never bought again: False, not NA
    assert (c.loc["c2", "retained_90d"], c.loc["c2", "retained_180d"]) == (False, False)
    assert pd.isna(c.loc["c2", "retained_365d"])
    # a lead who never bought is eligible for nothing
    assert c.loc["c4", ["retained_90d", "retained_180d", "retained_365d"]].isna().all()
    # with the snapshot 9 days later, c3 is still eligible only for 90 days: 109 days
    later = ChannelScorecard(as_of="2025-01-10", min_customers=1).fit(_customers(), ibis.memtable(_transactions()))
    c3 = later.customers_.set_index("customer_id").loc["c3"]
    assert bool(c3["retained_90d"]) and pd.isna(c3["retained_180d"])


def test_chi_square_matches_scipy_and_the_hand_formula(hand):
    # conversion by channel (customers, leads without purchase): search 3/1, social 1/2, email 2/0
    # expected = row x column / 9; Pearson's chi-square = 2.625 with 2 d.f. (no Yates correction)
    table = np.array([[3, 1], [1, 2], [2, 0]])
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / table.sum()
    by_hand = ((table - expected) ** 2 / expected).sum()
    assert by_hand == pytest.approx(2.625)
    res = chi_square_test(table, "conversion_rate")
    assert res["chi2"] == pytest.approx(by_hand) and res["dof"] == 2
    assert res["p_value"] == pytest.approx(np.exp(-2.625 / 2)) == pytest.approx(chi2.sf(2.625, 2))
    assert res["significant"] is False
    # the scorecard's own tables, rows in ranking order (social, search, email)
    tests = hand.tests_.set_index("metric")
    conv = chi2_contingency(np.array([[1, 2], [3, 1], [2, 0]]))
    repeat = chi2_contingency(np.array([[1, 0], [2, 1], [1, 1]]))  # repeat buyers, one-time buyers
    assert tests.loc["conversion_rate", ["chi2", "p_value"]].tolist() == pytest.approx([conv.statistic, conv.pvalue])
    assert tests.loc["repeat_rate", ["chi2", "p_value"]].tolist() == pytest.approx([repeat.statistic, repeat.pvalue])
    # a 2 x 2 table uses Yates' correction, as scipy does; an empty column is dropped
    two = chi_square_test(np.array([[30, 10, 0], [15, 25, 0]]), "x")
    assert two["chi2"] == pytest.approx(chi2_contingency(np.array([[30, 10], [15, 25]])).statistic)
    assert two["dof"] == 1 and two["significant"] is True
    assert np.isnan(chi_square_test(np.array([[3, 1]]), "x")["p_value"])  # one channel: no test


def test_sentences_follow_the_numbers(hand):
    s = hand.sentences()
    assert s["ranking"].startswith("social brings the most net value per acquired customer")
    assert "net $30.00" in s["ranking"] and "search the least, net $20.00" in s["ranking"]
    assert s["cost_benefit"].startswith(
        "A customer acquired through social costs $30.00 and is worth $60.00, 2.0 times"
    )
    assert "through search $80.00 for $100.00, 1.2 times" in s["cost_benefit"]
    assert "cheapest through social" in s["cost_benefit"] and "2.7 times as much" in s["cost_benefit"]
    assert s["retention"].startswith("365-day retention") and "is 0 % for search" in s["retention"]
    assert s["tests"].startswith("Conversion rates do not differ significantly") and "p = 0.269" in s["tests"]
    # a free January for search (cost 90, cac 30, net 100 - 30 = 70) puts search first
    cheap = ChannelScorecard(min_customers=1).fit(_customers(), ibis.memtable(_transactions()), _costs(0.0))
    s2 = cheap.sentences(currency="€")
    assert cheap.table_["channel"].tolist() == ["search", "social", "email"]
    assert s2["ranking"].startswith("search brings the most") and "net €70.00" in s2["ranking"]
    assert s2["ranking"] != s["ranking"] and s2["cost_benefit"] != s["cost_benefit"]
    assert "search costs €30.00 and is worth €100.00, 3.3 times" in s2["cost_benefit"]
    # a dear January (search cost 1,090, cac 363.33, net -263.33): one channel of two loses money
    dear = ChannelScorecard(min_customers=1).fit(_customers(), ibis.memtable(_transactions()), _costs(1000.0))
    s3 = dear.sentences()["ranking"]
    assert "search the least, net -$263.33" in s3 and "1 of 2 channels cost more to acquire" in s3


def test_summary_and_cost_benefit_tables(hand):
    s = hand.summary()
    assert list(s.index) == [1, 2, 3] and s.index.name == "rank"
    assert s.loc[2, "aov"] == 60.0 and s.loc[1, "conversion_rate"] == 0.3333
    cb = hand.cost_benefit()
    assert list(cb.columns) == ["channel", "cac", "value_per_customer", "customers"]
    assert cb.set_index("channel").loc["search"].tolist() == pytest.approx([80.0, 100.0, 3])


def test_cost_window_all_counts_every_cost_row_of_the_channels():
    sc = ChannelScorecard(min_customers=1, cost_window="all").fit(
        _customers(), ibis.memtable(_transactions()), _costs()
    )
    # search: 150 + 90 + 50 + 70 = 360 -> cac 120
    assert sc.table_.set_index("channel").loc["search", "cac"] == pytest.approx(120.0)
    assert sc.unattributed_["cost_outside_window"] == 0.0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c, t, k: (c.drop(columns="acquisition_channel"), t, k), "acquisition_channel"),
        (
            lambda c, t, k: (c.assign(acquisition_channel=None), t, k),
            "No customer row has a value in 'acquisition_channel'",
        ),
        (lambda c, t, k: (c, t.drop(columns="amount"), k), "'amount'"),
        (lambda c, t, k: (c, t, k.drop(columns="cost")), "costs table has no column 'cost'"),
        (lambda c, t, k: (c, t, k.assign(cost=[1.0, -2.0, 1.0, 1.0, 1.0, 1.0])), "rows [1]"),
        (lambda c, t, k: (pd.concat([c, c.head(1)]), t, k), "repeats ids, e.g. ['c1']"),
    ],
)
def test_bad_input_raises_a_value_error_naming_it(change, message):
    c, t, k = change(_customers(), _transactions(), _costs())
    with pytest.raises(ValueError, match=None) as err:
        ChannelScorecard().fit(c, ibis.memtable(t), k)
    assert message in str(err.value)


def test_bad_parameters_are_named():
    with pytest.raises(ValueError, match="retention_days"):
        ChannelScorecard(retention_days=(0, 90)).fit(_customers(), ibis.memtable(_transactions()))
    with pytest.raises(ValueError, match=r"before as_of \(2023-01-01\)"):  # every lead signed up later
        ChannelScorecard(as_of="2023-01-01").fit(_customers(), ibis.memtable(_transactions()))
    with pytest.raises(ValueError, match="cost_window"):
        ChannelScorecard(cost_window="month").fit(_customers(), ibis.memtable(_transactions()))


# --- recovery of simulated truth ----------------------------------------------------------------


@pytest.fixture(scope="module")
def simulated():
    base = generate_channel_base(6000, seed=3)
    tx = ibis.memtable(base.details["transactions"])
    return base, ChannelScorecard().fit(base.frame, tx, base.details["costs"])


def test_simulated_conversion_and_cac_are_recovered_within_three_standard_errors(simulated):
    base, sc = simulated
    r = sc.table_.set_index("channel")
    for ch, truth in base.truth["channels"].items():
        p, n = truth["conversion"], r.loc[ch, "leads"]
        se = np.sqrt(p * (1 - p) / n)  # binomial standard error of the conversion rate
        assert abs(r.loc[ch, "conversion_rate"] - p) < 3 * se, ch
        # cac = cost per lead / conversion: delta-method standard error cac x se / p
        assert abs(r.loc[ch, "cac"] - truth["cac"]) < 3 * truth["cac"] * se / p, ch
        assert r.loc[ch, "leads"] == truth["leads"] and r.loc[ch, "customers"] == truth["customers"]
        # spend per purchase day: within 15 % of the channel's order value
        assert r.loc[ch, "aov"] == pytest.approx(truth["order_value"], rel=0.15), ch


def test_simulated_channels_rank_as_designed(simulated):
    base, sc = simulated
    assert (
        sc.table_["channel"].tolist() == base.truth["ranking"] == ["referral", "email", "search", "social", "display"]
    )
    assert sc.clv_model_ != "" and sc.table_["clv_mean"].notna().all()
    assert sc.tests_["significant"].all()  # channels were simulated with very different rates
    s = sc.sentences()
    assert s["ranking"].startswith("referral brings the most") and "display the least" in s["ranking"]
    assert "cheapest through email" in s["cost_benefit"]


def test_simulator_truth_is_consistent_and_seeded():
    a, b = generate_channel_base(1500, seed=9), generate_channel_base(1500, seed=9)
    pd.testing.assert_frame_equal(a.details["transactions"], b.details["transactions"])
    costs = a.details["costs"]
    assert len(costs) == 24 * 5  # 24 months x 5 channels, dated on month starts
    assert (costs["date"].dt.day == 1).all()
    for ch, truth in a.truth["channels"].items():
        assert costs.loc[costs["channel"] == ch, "cost"].sum() == pytest.approx(truth["cost_per_lead"] * truth["leads"])
        assert truth["cac"] == pytest.approx(truth["cost_per_lead"] / truth["conversion"])
    tx = a.details["transactions"]
    assert tx["customer_id"].nunique() == a.truth["n_customers"]  # every converted lead bought
    assert (tx["amount"] < 0).sum() == a.truth["n_returns"] > 0
    assert tx[tx["amount"] >= 0].duplicated(["customer_id", "date"]).any()  # same-day orders
    with pytest.raises(ValueError, match="channels: 'tv'"):
        generate_channel_base(100, channels={"tv": {"share": 1.0}})
