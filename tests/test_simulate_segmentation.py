"""helpers.segmentation.simulate: customer tables with the documented shares, joinable to
simulated transactions."""

from __future__ import annotations

import numpy as np
import pandas as pd

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
