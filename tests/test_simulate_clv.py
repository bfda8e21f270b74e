"""helpers.clv.simulate: the transaction log and the model-level summaries show their known
truth (BG/NBD closed-form means, Gamma-Gamma population mean), and share one BG/NBD process."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import hyp2f1

from helpers import synth
from helpers.clv import simulate


def _is_str(s: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(s.dtype) and not pd.api.types.is_object_dtype(s.dtype)


@pytest.fixture(scope="module")
def tx():
    return synth.generate("transactions", 60_000, seed=11)


# --- transactions -----------------------------------------------------------------------------


def test_transactions_columns_dtypes_and_value_ranges(tx):
    f = tx.frame
    assert list(f.columns) == ["customer_id", "date", "amount", "order_id", "channel", "quantity"]
    assert _is_str(f["customer_id"]) and _is_str(f["order_id"]) and _is_str(f["channel"])
    assert f["date"].dtype == "datetime64[ns]"
    assert (f["date"] == f["date"].dt.normalize()).all()
    assert f["amount"].dtype == "float64" and (f["amount"] > 0).all()
    assert np.allclose(f["amount"], f["amount"].round(2))
    assert f["quantity"].dtype == "int64" and (f["quantity"] >= 1).all()
    assert set(f["channel"]) <= set(tx.truth["channel_shares"])
    assert f["date"].min() >= pd.Timestamp(tx.truth["start"])
    assert f["date"].max() <= pd.Timestamp(tx.truth["end"])
    assert f["order_id"].is_unique and f["date"].is_monotonic_increasing
    assert f["customer_id"].str.fullmatch(r"C\d{7}").all()
    assert f["customer_id"].nunique() == tx.truth["n_customers"]  # everyone buys at least once


def test_transactions_row_count_is_close_to_requested(tx):
    assert abs(len(tx.frame) - 60_000) / 60_000 < 0.03
    assert tx.truth["n_rows"] == len(tx.frame)


def _expected_repeats_fhl_eq9(t, r, alpha, a, b):
    """E[X(t)] of the BG/NBD model, Fader, Hardie & Lee (2005), equation 9."""
    t = np.asarray(t, dtype=float)
    return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)))


def test_transactions_mean_repeat_purchases_match_bgnbd_closed_form(tx):
    f, tr, cust = tx.frame, tx.truth, tx.details["customers"]
    repeats = f.groupby("customer_id").size() - 1
    T = cust.set_index("customer_id")["T"].reindex(repeats.index)
    expected = _expected_repeats_fhl_eq9(T.to_numpy(), tr["r"], tr["alpha"], tr["a"], tr["b"]).mean()
    se = repeats.std() / np.sqrt(len(repeats))
    assert abs(repeats.mean() - expected) < 4 * se
    # and the long-run level is far from trivial: about two repeat purchases per customer
    assert 1.0 < expected < 4.0


def test_transactions_per_customer_mean_spend_matches_gamma_gamma_population_mean(tx):
    tr = tx.truth
    means = tx.frame.groupby("customer_id")["amount"].mean()
    target = tr["p"] * tr["v"] / (tr["q"] - 1)
    assert tr["population_mean_spend"] == pytest.approx(target)
    assert abs(means.mean() - target) < 4 * means.std() / np.sqrt(len(means))


def test_transactions_details_agree_with_frame(tx):
    cust = tx.details["customers"].set_index("customer_id")
    g = tx.frame.groupby("customer_id")
    assert (g.size().reindex(cust.index) - 1).equals(cust["x"].astype("int64").rename(None))
    assert (g["date"].min().reindex(cust.index) == cust["first_purchase_date"]).all()
    assert ((cust["t_x"] >= 0) & (cust["t_x"] <= cust["T"])).all()
    assert (cust.loc[cust["x"] == 0, "t_x"] == 0).all()
    # customers who dropped out made exactly their drop-out number of repeat purchases
    gone = ~cust["alive"]
    assert (cust.loc[gone, "x"] == cust.loc[gone, "n_until_dropout"]).all()


def test_transactions_returns_and_zero_value_rows_are_counted_and_removable():
    clean = simulate.generate_transactions(n_customers=6_000, seed=3)
    dirty = simulate.generate_transactions(n_customers=6_000, seed=3, returns_rate=0.05, zero_value_rate=0.02)
    f = dirty.frame
    assert dirty.truth["n_returns"] == (f["amount"] < 0).sum() > 0
    assert dirty.truth["n_zero_value"] == (f["amount"] == 0).sum() > 0
    assert f["order_id"].str.startswith("R").sum() == dirty.truth["n_returns"]
    assert len(f) == dirty.truth["n_purchases"] + dirty.truth["n_returns"] + dirty.truth["n_zero_value"]
    # every return points at a purchase of the same customer with the opposite amount
    returns = f[f["amount"] < 0].assign(order_id=lambda d: "O" + d["order_id"].str[1:])
    joined = returns.merge(f, on="order_id", suffixes=("_ret", ""))
    assert len(joined) == len(returns)
    assert (joined["customer_id_ret"] == joined["customer_id"]).all()
    assert np.allclose(joined["amount_ret"], -joined["amount"])
    assert (joined["date_ret"] >= joined["date"]).all()
    # dropping them restores the clean purchase process (same customers, same purchase counts)
    kept = f[f["amount"] > 0]
    assert len(kept) == dirty.truth["n_purchases"]
    assert kept.groupby("customer_id").size().equals(clean.frame.groupby("customer_id").size())
    assert np.allclose(kept["amount"].sum(), clean.frame["amount"].sum())
    # the row planning counts the extra rows: asking for rows gives about that many in total
    planned = synth.generate("transactions", 20_000, seed=3, returns_rate=0.05, zero_value_rate=0.02)
    assert abs(len(planned.frame) - 20_000) / 20_000 < 0.05


def test_transactions_with_n_customers_and_long_window():
    d = simulate.generate_transactions(n_customers=500, seed=2, acquisition_weeks=10, observation_weeks=200)
    assert d.frame["customer_id"].nunique() == 500
    assert d.truth["end"] == str((pd.Timestamp("2024-01-01") + pd.Timedelta(days=1399)).date())
    assert d.frame["date"].max() <= pd.Timestamp(d.truth["end"])


def test_bgnbd_summary_simulator_matches_the_closed_form_mean():
    truth = dict(r=0.25, alpha=4.0, a=0.8, b=2.5)
    d = simulate.simulate_bgnbd_summary(40_000, **truth, seed=5, T=39.0)
    expected = float(simulate.bgnbd_expected_repeats(39.0, **truth))
    se = d["frequency"].std() / np.sqrt(len(d))
    assert abs(d["frequency"].mean() - expected) < 4 * se
    assert (d["recency"] <= d["T"]).all() and (d.loc[d["frequency"] == 0, "recency"] == 0).all()


def test_gamma_gamma_spend_simulator_has_the_population_mean():
    x = np.full(50_000, 3)
    spend = simulate.simulate_gamma_gamma_spend(x, p=6.0, q=4.0, v=15.0, seed=2)
    assert spend.mean() == pytest.approx(6.0 * 15.0 / (4.0 - 1.0), rel=0.03)


def test_summary_and_transaction_log_come_from_the_same_bgnbd_process():
    truth = dict(r=0.25, alpha=4.0, a=0.8, b=2.5)
    log = simulate.generate_transactions(n_customers=20_000, seed=21, **truth).details["customers"]
    summary = simulate.simulate_bgnbd_summary(20_000, **truth, seed=22, T=log["T"].to_numpy())
    for ours, theirs in (("frequency", "x"), ("recency", "t_x")):
        diff = summary[ours].mean() - log[theirs].mean()
        se = np.sqrt(summary[ours].var() / len(summary) + log[theirs].var() / len(log))
        assert abs(diff) < 4 * se, (ours, diff, se)
    # and the summary is the log's per-customer draws, summarised: the same seed and T, the same numbers
    rng = np.random.default_rng(3)
    T = np.full(1_000, 30.0)
    bg = simulate.draw_bgnbd(rng, T, **truth)
    times, t_x = simulate.draw_repeat_times(rng, bg)
    again = simulate.simulate_bgnbd_summary(1_000, **truth, seed=3, T=30.0)
    assert (again["frequency"].to_numpy() == bg.x).all() and np.allclose(again["recency"], t_x)
    # repeat times lie in (0, T] and increase within a customer; the last one is t_x
    per = np.split(times, np.cumsum(bg.x)[:-1])
    assert all((np.diff(t) > 0).all() and (t <= 30.0).all() for t in per if t.size)
    assert np.allclose([t[-1] if t.size else 0.0 for t in per], t_x)


def test_the_transactions_kind_dispatches_to_the_clv_simulator():
    pd.testing.assert_frame_equal(
        synth.generate("transactions", 2_000, seed=8).frame, simulate.generate_transactions(2_000, seed=8).frame
    )
