"""Tests for helpers.synth: seeded simulators whose known truth is visible in the data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy.special import hyp2f1

from helpers import synth

SMALL = {"transactions": 3_000, "customers": 500, "responses": 500, "journeys": 3_000, "spend": 104}


def _is_str(s: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(s.dtype) and not pd.api.types.is_object_dtype(s.dtype)


@pytest.fixture(scope="module")
def tx():
    return synth.generate("transactions", 60_000, seed=11)


@pytest.fixture(scope="module")
def survey():
    return synth.generate("responses", 6_000, seed=12)


@pytest.fixture(scope="module")
def journeys():
    return synth.generate("journeys", 60_000, seed=13)


# --- determinism ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", synth.KINDS)
def test_same_seed_gives_identical_frames_and_truth(kind):
    a = synth.generate(kind, SMALL[kind], seed=5)
    b = synth.generate(kind, SMALL[kind], seed=5)
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert a.truth == b.truth
    for key in a.details:
        pd.testing.assert_frame_equal(a.details[key], b.details[key])


@pytest.mark.parametrize("kind", synth.KINDS)
def test_different_seed_gives_different_frames(kind):
    a = synth.generate(kind, SMALL[kind], seed=5).frame
    b = synth.generate(kind, SMALL[kind], seed=6).frame
    assert not a.equals(b)


def test_generate_rejects_unknown_kind_and_non_positive_rows():
    with pytest.raises(ValueError, match="unknown kind"):
        synth.generate("orders", 10)
    with pytest.raises(ValueError, match="positive integer"):
        synth.generate("customers", 0)


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
    clean = synth.generate_transactions(n_customers=6_000, seed=3)
    dirty = synth.generate_transactions(n_customers=6_000, seed=3, returns_rate=0.05, zero_value_rate=0.02)
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
    d = synth.generate_transactions(n_customers=500, seed=2, acquisition_weeks=10, observation_weeks=200)
    assert d.frame["customer_id"].nunique() == 500
    assert d.truth["end"] == str((pd.Timestamp("2024-01-01") + pd.Timedelta(days=1399)).date())
    assert d.frame["date"].max() <= pd.Timestamp(d.truth["end"])


# --- customers --------------------------------------------------------------------------------


def test_customer_base_tables_join_and_signup_precedes_first_purchase():
    tx, cu = synth.generate_customer_base(20_000, seed=4)
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


# --- responses --------------------------------------------------------------------------------


def test_responses_columns_scale_and_item_nonresponse(survey):
    f, tr = survey.frame, survey.truth
    lo, hi = tr["scale"]
    ratings = tr["drivers"] + ["overall_satisfaction"] + tr["scale_items"] + [f"importance_{d}" for d in tr["drivers"]]
    assert list(f.columns[:4]) == ["respondent_id", "region", "wave", "segment"]
    assert {"likelihood_to_recommend", "weight"} <= set(f.columns)
    vals = f[ratings].to_numpy()
    ok = ~np.isnan(vals)
    assert (vals[ok] == np.round(vals[ok])).all() and vals[ok].min() >= lo and vals[ok].max() <= hi
    ltr = f["likelihood_to_recommend"].dropna()
    assert ltr.between(0, 10).all() and (ltr == ltr.round()).all()
    cells = f[ratings + ["likelihood_to_recommend"]]
    share_missing = cells.isna().to_numpy().mean()
    assert abs(share_missing - tr["missing_rate"]) < 0.005
    assert tr["n_missing"] == cells.isna().to_numpy().sum()
    assert set(f["wave"]) == set(tr["waves"]) and f["respondent_id"].is_unique


def test_responses_ols_recovers_driver_weights_and_group_effects(survey):
    f, tr = survey.frame, survey.truth
    formula = "overall_satisfaction ~ " + " + ".join(tr["drivers"]) + " + C(wave) + C(segment) + C(region)"
    fit = smf.ols(formula, f).fit(cov_type="HC3")
    for d, w in tr["weights"].items():
        assert abs(fit.params[d] - w) < 4 * fit.bse[d], d
    q1, q2 = tr["waves"]
    wave_term = f"C(wave)[T.{q2}]"
    assert abs(fit.params[wave_term] - (tr["wave_effects"][q2] - tr["wave_effects"][q1])) < 4 * fit.bse[wave_term]
    seg = tr["segment_effects"]
    term = "C(segment)[T.Premium]"
    assert abs(fit.params[term] - (seg["Premium"] - seg["Budget"])) < 4 * fit.bse[term]
    assert tr["overall_clipped_share"] == 0.0


def test_responses_cronbach_alpha_matches_truth(survey):
    items = survey.frame[survey.truth["scale_items"]].dropna()
    k = items.shape[1]
    alpha = k / (k - 1) * (1 - items.var().sum() / items.sum(axis=1).var())
    assert abs(alpha - survey.truth["scale_alpha_rounded"]) < 0.02
    assert survey.truth["scale_alpha"] > survey.truth["scale_alpha_rounded"]


def test_responses_weights_restore_population_region_shares_and_mean(survey):
    f, tr = survey.frame, survey.truth
    weighted_shares = f.groupby("region")["weight"].sum() / f["weight"].sum()
    for region, share in tr["population_shares"].items():
        assert weighted_shares[region] == pytest.approx(share)
    assert f["weight"].mean() == pytest.approx(1.0)
    y = f["overall_satisfaction"]
    ok = y.notna()
    wmean = np.average(y[ok], weights=f.loc[ok, "weight"])
    se = y.std() / np.sqrt(ok.sum()) * 1.2  # design effect of the weights, roughly
    assert abs(wmean - tr["population_mean_overall"]) < 4 * se
    by_wave = f[ok].groupby("wave").apply(lambda g: np.average(g["overall_satisfaction"], weights=g["weight"]))
    q1, q2 = tr["waves"]
    assert abs((by_wave[q2] - by_wave[q1]) - (tr["mean_overall_by_wave"][q2] - tr["mean_overall_by_wave"][q1])) < 0.1


def test_responses_on_0_to_10_scale_without_missing_values():
    d = synth.generate("responses", 3_000, seed=2, scale=(0, 10), missing_rate=0.0, importance=False)
    f, tr = d.frame, d.truth
    assert not any(c.startswith("importance_") for c in f.columns)
    assert f.notna().all().all()
    assert f[tr["drivers"] + ["overall_satisfaction"]].stack().between(0, 10).all()
    assert tr["wave_effects"][tr["waves"][1]] == pytest.approx(0.75)  # 0.3 points of a 1-5 scale
    fit = smf.ols("overall_satisfaction ~ " + " + ".join(tr["drivers"]), f).fit(cov_type="HC3")
    for drv, w in tr["weights"].items():
        assert abs(fit.params[drv] - w) < 4 * fit.bse[drv], drv


# --- journeys ---------------------------------------------------------------------------------


def test_journeys_columns_and_counts_are_consistent(journeys):
    f, tr = journeys.frame, journeys.truth
    assert list(f.columns) == ["path", "conversions", "nulls", "conversion_value"]
    assert _is_str(f["path"]) and f["path"].is_unique
    assert f["conversions"].dtype == "int64" and f["nulls"].dtype == "int64"
    assert (f["conversions"] >= 0).all() and (f["nulls"] >= 0).all()
    assert (f["conversion_value"] >= 0).all() and (f.loc[f["conversions"] == 0, "conversion_value"] == 0).all()
    assert (f["conversions"] + f["nulls"]).sum() == tr["n_journeys"]
    assert f["conversions"].sum() == tr["n_conversions"]
    touches = f["path"].str.split(" > ")
    assert touches.map(len).max() <= tr["max_touches"]
    assert set(touches.explode()) <= set(tr["channels"])
    # individual journeys map back to their aggregated row
    ind = journeys.details["journeys"]
    back = ind.groupby("path_row")["converted"].agg(["sum", "size"])
    assert (back["sum"].to_numpy() == f["conversions"].to_numpy()).all()
    assert (back["size"].to_numpy() == (f["conversions"] + f["nulls"]).to_numpy()).all()


def test_journeys_binomial_glm_on_aggregated_paths_recovers_betas(journeys):
    f, tr = journeys.frame, journeys.truth
    touches = f["path"].str.split(" > ")
    X = pd.DataFrame({c: touches.map(lambda p, c=c: p.count(c)) for c in tr["channels"]})
    endog = np.column_stack([f["conversions"], f["nulls"]])
    fit = sm.GLM(endog, sm.add_constant(X), family=sm.families.Binomial()).fit()
    assert abs(fit.params["const"] - tr["intercept"]) < 4 * fit.bse["const"]
    for c, beta in tr["betas"].items():
        assert abs(fit.params[c] - beta) < 4 * fit.bse[c], c


def test_journeys_true_incremental_conversions_are_positive_and_track_betas(journeys):
    tr = journeys.truth
    inc = tr["incremental_conversions"]
    assert all(v > 0 for v in inc.values())
    assert sum(inc.values()) < tr["expected_conversions"]
    # incremental conversions per touch rise with beta
    touches = journeys.details["channel_effects"].set_index("channel")["touches"]
    per_touch = pd.Series({c: inc[c] / touches[c] for c in inc})
    assert list(per_touch.sort_values().index) == list(pd.Series(tr["betas"]).sort_values().index)
    assert abs(tr["n_conversions"] - tr["expected_conversions"]) < 4 * np.sqrt(tr["expected_conversions"])


# --- spend ------------------------------------------------------------------------------------


def test_spend_columns_dates_and_nonnegative_spend():
    d = synth.generate("spend", 156, seed=3)
    f = d.frame
    assert list(f.columns) == ["date", "tv", "search", "social", "display", "revenue"]
    assert f["date"].dtype == "datetime64[ns]"
    assert (f["date"].diff().dropna() == pd.Timedelta(weeks=1)).all()
    assert (f[["tv", "search", "social", "display"]] >= 0).all().all()
    contrib = d.details["contributions"]
    parts = contrib.drop(columns=["date", "revenue"]).sum(axis=1)
    assert np.allclose(parts, f["revenue"])


def test_spend_ols_on_true_transformed_media_recovers_betas():
    d = synth.generate("spend", 156, seed=4)
    f, tr, media = d.frame, d.truth, d.details["media"]
    t = np.arange(len(f), dtype=float)
    u = t * 7 / 365.25
    X = pd.DataFrame({"t": t})
    for k in range(1, len(tr["fourier"]) + 1):
        X[f"sin{k}"] = np.sin(2 * np.pi * k * u)
        X[f"cos{k}"] = np.cos(2 * np.pi * k * u)
    # rebuild the true regressors from the spend columns and the truth, then check them too
    for c, info in tr["channels"].items():
        ad = synth.geometric_adstock(f[c].to_numpy(), info["alpha"], tr["l_max"], tr["normalize_adstock"])
        X[c] = synth.logistic_saturation(ad / ad.max(), info["lam"])
        assert np.allclose(X[c], media[f"{c}_saturated"])
    fit = sm.OLS(f["revenue"], sm.add_constant(X)).fit()
    for c, info in tr["channels"].items():
        assert abs(fit.params[c] - info["beta"]) < 4 * fit.bse[c], c
    assert abs(fit.params["t"] - tr["trend_per_week"]) < 4 * fit.bse["t"]


def test_adstock_and_saturation_have_the_documented_shape():
    impulse = np.zeros(12)
    impulse[0] = 1.0
    w = synth.geometric_adstock(impulse, 0.5, l_max=4, normalize=True)
    assert np.allclose(w[:4], 0.5 ** np.arange(4) / (0.5 ** np.arange(4)).sum()) and (w[4:] == 0).all()
    raw = synth.geometric_adstock(impulse, 0.5, l_max=4, normalize=False)
    assert np.allclose(raw[:4], 0.5 ** np.arange(4))
    x = np.linspace(0, 1, 5)
    assert np.allclose(synth.logistic_saturation(x, 2.0), (1 - np.exp(-2 * x)) / (1 + np.exp(-2 * x)))


# --- writing ----------------------------------------------------------------------------------


def test_write_frame_round_trips_csv_with_iso_dates_and_no_index(tmp_path):
    f = synth.generate("transactions", 2_000, seed=1).frame
    path = synth.write_frame(f, tmp_path / "sub" / "tx.csv")
    lines = path.read_text().splitlines()
    assert lines[0] == "customer_id,date,amount,order_id,channel,quantity"
    assert lines[1].split(",")[1] == f["date"].iloc[0].strftime("%Y-%m-%d")
    back = pd.read_csv(path, parse_dates=["date"], dtype={"customer_id": "str", "order_id": "str", "channel": "str"})
    assert len(back) == len(f)
    assert (back["customer_id"] == f["customer_id"]).all() and (back["order_id"] == f["order_id"]).all()
    assert (back["date"] == f["date"]).all()
    assert np.allclose(back["amount"], f["amount"]) and (back["quantity"] == f["quantity"]).all()
    assert not list(tmp_path.joinpath("sub").glob("*.tmp*"))


def test_write_frame_round_trips_parquet_and_survey_missing_values(tmp_path):
    tx = synth.generate("transactions", 2_000, seed=1).frame
    back = pd.read_parquet(synth.write_frame(tx, tmp_path / "tx.parquet"))
    back["date"] = pd.to_datetime(back["date"]).astype("datetime64[ns]")  # stored as date32
    pd.testing.assert_frame_equal(back, tx, check_dtype=False)
    assert back["quantity"].dtype == "int64" and back["amount"].dtype == "float64"
    survey = synth.generate("responses", 300, seed=1).frame
    csv_back = pd.read_csv(synth.write_frame(survey, tmp_path / "survey.csv"))
    pq_back = pd.read_parquet(synth.write_frame(survey, tmp_path / "survey.parquet"))
    for back in (csv_back, pq_back):
        assert back.isna().sum().equals(survey.isna().sum())
        assert np.allclose(back["price"], survey["price"], equal_nan=True)


def test_write_frame_quotes_text_only_when_needed_and_writes_xlsx(tmp_path):
    f = pd.DataFrame({"name": ["a, b", 'say "hi"'], "n": [1, 2]})
    path = synth.write_frame(f, tmp_path / "q.csv")
    assert pd.read_csv(path)["name"].tolist() == f["name"].tolist()
    j = synth.generate("journeys", 2_000, seed=1).frame
    xl = pd.read_excel(synth.write_frame(j, tmp_path / "j.xlsx"))
    assert xl["path"].tolist() == j["path"].tolist() and (xl["conversions"] == j["conversions"]).all()
    with pytest.raises(ValueError, match="format"):
        synth.write_frame(f, tmp_path / "q.json")


def test_bgnbd_summary_simulator_matches_the_closed_form_mean():
    truth = dict(r=0.25, alpha=4.0, a=0.8, b=2.5)
    d = synth.simulate_bgnbd_summary(40_000, **truth, seed=5, T=39.0)
    expected = float(synth.bgnbd_expected_repeats(39.0, **truth))
    se = d["frequency"].std() / np.sqrt(len(d))
    assert abs(d["frequency"].mean() - expected) < 4 * se
    assert (d["recency"] <= d["T"]).all() and (d.loc[d["frequency"] == 0, "recency"] == 0).all()


def test_gamma_gamma_spend_simulator_has_the_population_mean():
    x = np.full(50_000, 3)
    spend = synth.simulate_gamma_gamma_spend(x, p=6.0, q=4.0, v=15.0, seed=2)
    assert spend.mean() == pytest.approx(6.0 * 15.0 / (4.0 - 1.0), rel=0.03)
