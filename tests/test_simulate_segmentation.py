"""helpers.segmentation.simulate: customer tables with the documented shares, joinable to
simulated transactions; a customer base of known behavioural groups that separate in RFM space
and whose attributes depend on the group only where the truth says so."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from helpers import synth
from helpers.segmentation import simulate


def _is_str(s: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(s.dtype) and not pd.api.types.is_object_dtype(s.dtype)


def test_customer_base_tables_join_and_signup_precedes_first_purchase():
    tx, cu = simulate.generate_customer_base(20_000, seed=4)
    c = cu.frame
    assert list(c.columns) == ["customer_id", "signup_date", "region", "age_band", "acquisition_channel", "gender"]
    assert c["customer_id"].is_unique and len(c) == tx.truth["n_customers"]
    merged = tx.frame.merge(c, on="customer_id", how="left", validate="many_to_one")
    assert merged["region"].notna().all()
    first = tx.details["customers"].set_index("customer_id")["first_purchase_date"]
    signup = c.set_index("customer_id")["signup_date"]
    assert (signup <= first).all() and (signup >= pd.Timestamp("2024-01-01")).all()
    # the base's transactions are exactly the standalone transactions with the same seed
    pd.testing.assert_frame_equal(tx.frame, synth.generate("transactions", 20_000, seed=4).frame)
    # and a standalone customer table of the same size has the same ids and attributes
    alone = synth.generate("customers", len(c), seed=4).frame
    pd.testing.assert_frame_equal(alone.drop(columns="signup_date"), c.drop(columns="signup_date"))


def test_customers_attribute_shares_match_truth_and_signups_lie_in_window():
    d = synth.generate("customers", 40_000, seed=8)
    f = d.frame
    assert all(_is_str(f[c]) for c in ["customer_id", "region", "age_band", "acquisition_channel", "gender"])
    assert f["signup_date"].dtype == "datetime64[ns]"
    for col, shares in d.truth["shares"].items():
        observed = f[col].value_counts(normalize=True)
        for level, share in shares.items():
            assert abs(observed.get(level, 0.0) - share) < 4 * np.sqrt(share * (1 - share) / len(f)), (col, level)
    start = pd.Timestamp("2024-01-01")
    assert f["signup_date"].between(start, start + pd.Timedelta(weeks=52) - pd.Timedelta(days=1)).all()


# --------------------------------------------------------------------------------------------
# generate_segmented_base: a customer base of known behavioural groups


def _rfm(tx) -> pd.DataFrame:
    """recency_days (to the day after the end), frequency (distinct purchase days) and monetary
    (total of non-negative rows) per customer."""
    f = tx.frame
    after_end = pd.Timestamp(tx.truth["end"]) + pd.Timedelta(days=1)
    g = f[f["amount"] >= 0].groupby("customer_id")
    return pd.DataFrame(
        {
            "recency_days": (after_end - g["date"].max()).dt.days,
            "frequency": g["date"].nunique(),
            "monetary": g["amount"].sum(),
        }
    )


def test_segmented_base_is_deterministic_and_tables_join():
    tx, cu = simulate.generate_segmented_base(3000, seed=5)
    tx2, cu2 = simulate.generate_segmented_base(3000, seed=5)
    pd.testing.assert_frame_equal(tx.frame, tx2.frame)
    pd.testing.assert_frame_equal(cu.frame, cu2.frame)
    assert tx.truth == tx2.truth and cu.truth == cu2.truth
    assert not tx.frame.equals(simulate.generate_segmented_base(3000, seed=6)[0].frame)
    f, c = tx.frame, cu.frame
    assert list(f.columns) == ["customer_id", "date", "amount", "order_id"]
    assert list(c.columns) == ["customer_id", "signup_date", "region", "age_band", "acquisition_channel", "gender"]
    assert len(c) == 3000 and c["customer_id"].is_unique and c["customer_id"].iloc[0] == "C0000001"
    assert set(f["customer_id"]) == set(c["customer_id"])  # every customer bought at least once
    groups = cu.details["groups"]
    assert list(groups.columns) == ["customer_id", "group"] and groups["customer_id"].equals(c["customer_id"])
    assert groups["group"].value_counts().to_dict() == cu.truth["group_counts"]
    assert f["order_id"].is_unique and f["date"].dtype == "datetime64[ns]"
    assert (f["amount"] != 0).all() and (f["amount"].round(2) == f["amount"]).all()
    assert sorted(cu.truth["dependent_attributes"]) == ["acquisition_channel", "age_band"]
    assert sorted(cu.truth["independent_attributes"]) == ["gender", "region"]
    json.dumps(tx.truth), json.dumps(cu.truth)


def test_segmented_base_dates_returns_and_same_day_orders():
    tx, cu = simulate.generate_segmented_base(3000, seed=1, end="2025-06-30", days=365)
    f = tx.frame
    start, end = pd.Timestamp("2024-07-01"), pd.Timestamp("2025-06-30")
    assert tx.truth["start"] == "2024-07-01" and f["date"].between(start, end).all()
    assert (f["date"] == f["date"].dt.normalize()).all()
    assert f["date"].is_monotonic_increasing
    returns = f[f["amount"] < 0]
    assert 0.01 < len(returns) / len(f) < 0.03 and len(returns) == tx.truth["n_returns"]
    assert (
        returns["order_id"].str.startswith("R").all() and f.loc[f["amount"] > 0, "order_id"].str.startswith("O").all()
    )
    orders = f.set_index("order_id")
    original = orders.loc[("O" + returns["order_id"].str[1:]).to_numpy()]
    assert (original["customer_id"].to_numpy() == returns["customer_id"].to_numpy()).all()
    assert (original["date"].to_numpy() <= returns["date"].to_numpy()).all()
    assert (-returns["amount"].to_numpy() <= original["amount"].to_numpy()).all()
    purchases = f[f["amount"] > 0]
    per_day = purchases.groupby(["customer_id", "date"]).size()
    assert 0 < (per_day > 1).mean() < 0.1  # same-day orders happen, occasionally
    first = purchases.groupby("customer_id")["date"].min()
    signup = cu.frame.set_index("customer_id")["signup_date"]
    assert (signup <= first.reindex(signup.index)).all() and (signup >= start).all()


def test_segmented_base_attributes_depend_on_the_group_as_stated():
    from scipy.stats import chi2_contingency

    _, cu = simulate.generate_segmented_base(3000, seed=0)
    frame = cu.frame.merge(cu.details["groups"], on="customer_id")

    def p_value(col: str) -> float:
        return chi2_contingency(pd.crosstab(frame["group"], frame[col]), correction=False)[1]

    assert p_value("acquisition_channel") < 1e-6 and p_value("age_band") < 1e-6
    assert p_value("region") > 0.01 and p_value("gender") > 0.01
    loyal = frame[frame["group"] == "loyal"]["acquisition_channel"].value_counts(normalize=True)
    new = frame[frame["group"] == "new"]["acquisition_channel"].value_counts(normalize=True)
    assert loyal["referral"] > new["referral"] and new["social"] > loyal["social"]


def test_segmented_base_groups_separate_in_rfm_space():
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score
    from sklearn.preprocessing import StandardScaler

    tx, _ = simulate.generate_segmented_base(3000, seed=0)
    rfm = _rfm(tx)
    truth = tx.details["groups"].set_index("customer_id")["group"].reindex(rfm.index)
    x = StandardScaler().fit_transform(np.log1p(rfm.to_numpy(dtype=float)))
    labels = KMeans(4, n_init=10, random_state=0).fit_predict(x)
    assert adjusted_rand_score(truth, labels) >= 0.9
    means = rfm.groupby(truth.to_numpy()).mean()
    assert means["recency_days"].idxmin() == "loyal" and means["recency_days"].idxmax() == "lapsed"
    assert (rfm.loc[truth.to_numpy() == "new", "frequency"] == 1).all()


def test_segmented_base_custom_groups_and_validation():
    common = dict(order_value=10, acquisition_shares={"x": 1})
    groups = {
        "a": dict(share=1, purchase_days=(1, 3), last_purchase_days_ago=(0, 100), span_days=(0, 50),
                  age_band_shares={"18-24": 1}, **common),
        "b": dict(share=3, purchase_days=(2, 2), last_purchase_days_ago=(0, 0), span_days=(5, 5),
                  age_band_shares={"65+": 1}, **common),
    }  # fmt: skip
    tx, cu = simulate.generate_segmented_base(400, seed=2, groups=groups)
    assert cu.truth["groups"]["b"]["share"] == 0.75
    assert cu.truth["dependent_attributes"] == ["age_band"]
    assert sorted(cu.truth["independent_attributes"]) == ["acquisition_channel", "gender", "region"]
    assert set(cu.frame["acquisition_channel"]) == {"x"}
    b = cu.details["groups"].query("group == 'b'")["customer_id"]
    b_rows = tx.frame[tx.frame["customer_id"].isin(b) & (tx.frame["amount"] > 0)]
    assert set(b_rows["date"]) <= {pd.Timestamp("2025-12-26"), pd.Timestamp("2025-12-31")}
    with pytest.raises(ValueError):
        simulate.generate_segmented_base(10, groups={"x": dict(share=1)})
    with pytest.raises(ValueError):
        simulate.generate_segmented_base(0)
