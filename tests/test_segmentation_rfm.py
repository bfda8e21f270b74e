"""RFM per customer (Ibis), scores with ties, the segment map, value tiers and concentration:
hand-computed cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.segmentation import rfm
from helpers.segmentation.data import rfm_table
from helpers.segmentation.value import abc_tiers, concentration, tier_summary


def _table(engine, frame: pd.DataFrame, name: str):
    engine.con.register(name, frame)
    return engine.table(name)


@pytest.fixture(scope="module")
def log(engine):
    """a: two orders on 1 Jan (one purchase), one on 10 Jan; b: a return on 5 Jan, a purchase on
    20 Jan; c: one zero-value order; d: only a return; e: one purchase on the last day."""
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "b", "c", "d", "e"],
            "date": pd.to_datetime(
                [
                    "2024-01-01",
                    "2024-01-01",
                    "2024-01-10",
                    "2024-01-05",
                    "2024-01-20",
                    "2024-01-06",
                    "2024-01-03",
                    "2024-01-21",
                ]
            ),
            "amount": [10.0, 5.0, 20.0, -3.0, 7.0, 0.0, -4.0, 9.0],
        }
    )
    return _table(engine, frame, "rfm_log")


def test_rfm_by_hand_with_same_day_orders_returns_and_the_default_snapshot(log):
    res = rfm_table(log)
    assert res.as_of == pd.Timestamp("2024-01-22")  # the day after the last row
    r = res.rfm.set_index("customer_id")
    assert list(r.index) == ["a", "b", "c", "e"]  # d has only a return: no purchase
    assert r.loc["a", ["recency_days", "frequency", "monetary", "tenure_days"]].tolist() == [12, 2, 35.0, 21]
    assert r.loc["b", ["recency_days", "frequency", "monetary"]].tolist() == [2, 1, 7.0]  # the return is not spend
    assert r.loc["c", ["frequency", "monetary"]].tolist() == [1, 0.0]  # a zero-value order is a visit
    assert r.loc["e", "recency_days"] == 1  # bought on the last day: recency at least 1
    assert (res.negative_rows, res.negative_amount, res.zero_rows) == (2, -7.0, 1)
    assert res.customers_in_log == 5 and res.customers_without_purchase == 1 and res.rows_after_as_of == 0
    assert "2 rows with a negative amount" in res.describe_exclusions()


def test_purchases_on_the_snapshot_date_are_later_than_the_snapshot(log):
    res = rfm_table(log, as_of="2024-01-20")
    r = res.rfm.set_index("customer_id")
    assert list(r.index) == ["a", "c"]  # b's purchase on 20 Jan is on the snapshot date: left out
    assert r.loc["a", "recency_days"] == 10
    assert res.rows_after_as_of == 2 and res.customers_without_purchase == 2  # b and d have only returns before it
    assert "2 rows dated on or after the snapshot date (2024-01-20)" in res.describe_exclusions()


def test_rfm_agrees_with_a_plain_pandas_computation_on_cdnow(engine, cdnow_transactions):
    tx = cdnow_transactions
    res = rfm_table(_table(engine, tx, "cdnow_rfm"), as_of="1998-01-01")
    before = tx[(tx["date"] < "1998-01-01") & (tx["amount"] >= 0)]
    days = before.groupby(["customer_id", "date"], as_index=False)["amount"].sum()
    g = days.groupby("customer_id")
    expected = pd.DataFrame(
        {
            "recency_days": (pd.Timestamp("1998-01-01") - g["date"].max()).dt.days,
            "frequency": g.size(),
            "monetary": g["amount"].sum(),
        }
    )
    ours = res.rfm.set_index("customer_id")
    assert len(ours) == len(expected) == 2357
    pd.testing.assert_frame_equal(
        ours[["recency_days", "frequency", "monetary"]].sort_index(),
        expected.sort_index(),
        check_dtype=False,
        check_index_type=False,
        check_names=False,
        atol=1e-9,
    )


def test_quantile_scores_share_the_lower_score_on_ties_and_ignore_row_order():
    values = np.array([1, 1, 1, 1, 1, 1, 2, 2, 3, 4])
    # strictly worse customers: 0 for the six 1s, 6 for the 2s, 8 and 9 -> 1 + 5 * worse // 10
    assert rfm.quantile_scores(values, 5).tolist() == [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]
    rng = np.random.default_rng(0)
    perm = rng.permutation(values.size)
    assert rfm.quantile_scores(values[perm], 5).tolist() == rfm.quantile_scores(values, 5)[perm].tolist()
    # recency: fewer days is better
    assert rfm.quantile_scores([5, 3, 3, 1], 4, higher_is_better=False).tolist() == [1, 2, 2, 4]
    # all distinct: equal-sized bins
    assert np.bincount(rfm.quantile_scores(np.arange(100), 5))[1:].tolist() == [20] * 5
    with pytest.raises(ValueError, match="rfm_bins"):
        rfm.quantile_scores([1, 2], 1)


def test_the_default_map_covers_every_cell_once_and_ranks_champions_first():
    m = rfm.segment_map()
    assert len(m.cells) == 25 and set(m.cells.values()) == set(rfm.DEFAULT_MAP)
    assert m.order[0] == "Champions" and m.order[-1] == "Lost"
    assert m.rank["Loyal"] > m.rank["At risk"] > m.rank["Hibernating"]
    g = m.grid()
    assert (
        g.loc["R 5", "FM 1"] == "New"
        and g.loc["R 1", "FM 5"] == "Cannot lose them"
        and g.loc["R 3", "FM 3"] == "Need attention"
    )
    seg = m.assign(pd.Series([5, 1, 3]), pd.Series([5, 1, 3]))
    assert seg.astype(str).tolist() == ["Champions", "Lost", "Need attention"]


def test_segment_names_rename_and_patterns_override_the_map():
    m = rfm.segment_map({"Champions": "VIP", "1.": "Gone"})
    assert "Champions" not in m.order and m.cells["55"] == "VIP" and m.actions["VIP"] == rfm.ACTIONS["Champions"]
    assert all(m.cells[f"1{f}"] == "Gone" for f in range(1, 6))
    assert m.actions["Gone"] == rfm.CUSTOM_ACTION
    with pytest.raises(ValueError, match="neither a default segment"):
        rfm.segment_map({"Chumpions": "x"})


def test_scores_on_three_bins_are_rescaled_to_the_map():
    assert rfm.to_grid([1, 2, 3], 3).tolist() == [1, 3, 5]
    assert rfm.to_grid([1, 2, 3, 4], 4).tolist() == [1, 2, 4, 5]  # 1 + (s-1)*4/3 rounded half up


def test_segment_table_shares_add_up_and_list_empty_segments():
    m = rfm.segment_map()
    c = pd.DataFrame(
        {
            "rfm_segment": ["Champions", "Champions", "Lost", "New"],
            "monetary": [60.0, 30.0, 0.0, 10.0],
            "recency_days": [1, 2, 300, 3],
            "frequency": [5, 4, 1, 1],
        }
    )
    t = segment_table(c, m).set_index("segment")
    assert t.loc["Champions", "customers"] == 2 and t.loc["Champions", "share_of_revenue_pct"] == pytest.approx(90.0)
    assert t.loc["Loyal", "customers"] == 0 and t["share_of_customers_pct"].sum() == pytest.approx(100.0)
    assert list(t.index) == m.order


def segment_table(c, m):
    return rfm.segment_table(c, m)


def test_abc_tiers_by_cumulative_value_share():
    v = pd.Series([100.0, 50.0, 30.0, 10.0, 5.0, 5.0, 0.0])
    ids = pd.Series(list("abcdefg"))
    # shares of the customers ranked above: 0, .5, .75, .9, .95, .975, 1 -> A below .8, B below .95
    assert abc_tiers(v, ids).astype(str).tolist() == ["A", "A", "A", "B", "C", "C", "C"]
    # row order does not matter; equal values are ordered by id
    perm = [6, 3, 0, 5, 1, 4, 2]
    assert abc_tiers(v[perm].reset_index(drop=True), ids[perm].reset_index(drop=True)).astype(str).tolist() == [
        ["A", "A", "A", "B", "C", "C", "C"][i] for i in perm
    ]
    t = tier_summary(pd.DataFrame({"tier": abc_tiers(v, ids), "v": v}), "tier", "v").set_index("tier")
    assert t.loc["A", "share_of_value_pct"] == pytest.approx(90.0) and t["customers"].sum() == 7


def test_abc_tiers_without_ids_equal_a_stable_sort_by_value_with_ties_to_the_earlier_row():
    """Without ids the tiers come from the boundary values (no sort of positions): the same tiers
    as ranking by a stable sort, ties at a boundary going to the earlier rows."""
    rng = np.random.default_rng(8)
    for _ in range(30):
        n = int(rng.integers(1, 400))
        v = pd.Series(rng.integers(0, 12, n).astype(float) * rng.choice([1.0, 0.5], n))  # many ties, zeros
        order = np.argsort(-v.to_numpy(), kind="stable")
        sorted_v = v.to_numpy()[order]
        codes = np.full(n, "C", dtype=object)
        if sorted_v.sum() > 0:
            before = (np.cumsum(sorted_v) - sorted_v) / sorted_v.sum()
            ranked = np.where(before < 0.8 - 1e-12, "A", np.where(before < 0.95 - 1e-12, "B", "C"))
            ranked[sorted_v <= 0] = "C"
            codes[order] = ranked
        assert abc_tiers(v).astype(str).tolist() == codes.tolist()


def test_concentration_gini_and_pareto_share_by_hand():
    equal = concentration(pd.Series([5.0] * 10))
    assert equal.gini == pytest.approx(0.0, abs=1e-12) and equal.pareto_customer_share == pytest.approx(0.8)
    one = concentration(pd.Series([10.0, 0, 0, 0]))
    # curve from (0,0) to (.25,1) then flat: area 0.875 -> Gini 0.75 (= 1 - 1/n for one holder)
    assert one.gini == pytest.approx(0.75) and one.pareto_customer_share == pytest.approx(0.25)
    c = concentration(pd.Series([100.0, 50, 30, 10, 5, 5, 0]))
    assert c.pareto_customer_share == pytest.approx(3 / 7)
    assert (
        c.curve["share_of_value_pct"].iloc[-1] == pytest.approx(100.0)
        and c.curve["share_of_value_pct"].is_monotonic_increasing
    )
    with pytest.raises(ValueError, match="no customer has any value"):
        concentration(pd.Series([0.0, 0.0]))


def _scores_by_definition(x, bins, reference=None, higher_is_better=True):
    """The module doc's rule, literally: 1 + floor(bins * worse / n), worse = reference customers
    strictly worse, capped at the top score."""
    x = np.asarray(x, dtype=float)
    ref = x if reference is None else np.asarray(reference, dtype=float)
    worse = np.array([(ref < v).sum() if higher_is_better else (ref > v).sum() for v in x])
    return np.minimum(1 + bins * worse // ref.size, bins)


def test_scores_follow_the_rule_of_the_module_doc_with_ties_and_references():
    rng = np.random.default_rng(3)
    cases = [
        rng.integers(0, 40, 5000).astype(float),  # heavy ties
        rng.normal(size=777),
        np.array([2.0, 2.0, 2.0]),
        np.array([5.0]),
        np.array([1.0, 2.0]),
    ]
    for x in cases:
        for bins in (2, 5, 9):
            for better in (True, False):
                got = rfm.quantile_scores(x, bins, better)
                np.testing.assert_array_equal(got, _scores_by_definition(x, bins, None, better))
                ref = rng.normal(size=int(rng.integers(1, 50))) * x.std() + x.mean()
                got = rfm.quantile_scores(x, bins, better, reference=ref)
                np.testing.assert_array_equal(got, _scores_by_definition(x, bins, ref, better))


def test_scores_against_a_reference_use_its_boundaries():
    ref = np.arange(1, 11, dtype=float)  # ten customers: 1..10
    # 5.5 has five reference customers below it: 1 + 5 * 5 // 10 = 3; 0 has none; 11 beats all ten: the top score
    assert rfm.quantile_scores([5.5, 0.0, 11.0, 3.0], 5, reference=ref).tolist() == [3, 1, 5, 2]
    # recency (fewer days better): 2 days beats eight of 1..10 days
    assert rfm.quantile_scores([2.0], 5, higher_is_better=False, reference=ref).tolist() == [5]
    # the reference itself scores as without one
    assert rfm.quantile_scores(ref, 5, reference=ref).tolist() == rfm.quantile_scores(ref, 5).tolist()


def test_the_clv_summary_from_the_rfm_pass_equals_the_summary_from_the_log(engine, cdnow_transactions):
    """Segmentation aggregates the purchase days once: the RFM table with each customer's first
    spend gives the CLV summary (calibration to the day before the snapshot) and the predicted CLV
    that a separate pass over the log gives, returns and same-day orders included."""
    from helpers.clv.data import customer_summary, summary_from_totals
    from helpers.segmentation.data import rfm_tables
    from helpers.segmentation.value import predicted_clv

    who = cdnow_transactions["customer_id"].iloc[0]
    first = cdnow_transactions.loc[cdnow_transactions["customer_id"] == who, "date"].min()
    extra = pd.DataFrame(  # a return, and a second order on this customer's first purchase day
        {"customer_id": [who, who], "date": [first, first], "amount": [-5.0, 7.5]}
    )
    frame = pd.concat([cdnow_transactions[["customer_id", "date", "amount"]], extra], ignore_index=True)
    engine.con.register("rfm_clv_log", frame)
    log = engine.table("rfm_clv_log")
    as_of = pd.Timestamp("1997-10-01")
    now, before = rfm_tables(log, as_of, "1997-06-01", first_spend=True)
    assert before is not None and "first_spend" not in before.rfm.columns
    direct = customer_summary(log, as_of - pd.Timedelta(days=1), None, "W").summary
    from_rfm = summary_from_totals(now.rfm, as_of - pd.Timedelta(days=1), "W")
    pd.testing.assert_frame_equal(from_rfm, direct, rtol=0, atol=1e-9)
    bought = frame[(frame["customer_id"] == who) & (frame["amount"] >= 0)]
    first_day = bought[bought["date"] == bought["date"].min()]
    assert len(first_day) == 2  # the order of the log and the extra one on the same day: one purchase
    assert now.rfm.set_index("customer_id").loc[who, "first_spend"] == pytest.approx(first_day["amount"].sum())

    via_rfm = predicted_clv(log, as_of, rfm=now.rfm)
    via_log = predicted_clv(log, as_of)
    assert via_rfm.available and via_rfm.model == via_log.model
    pd.testing.assert_frame_equal(via_rfm.clv, via_log.clv, rtol=1e-8)
