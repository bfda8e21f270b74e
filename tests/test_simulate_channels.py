"""helpers.channels.simulate and transforms: journeys and marketing-mix spend whose true
effects are recovered from the data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from helpers import synth
from helpers.channels import transforms


def _is_str(s: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(s.dtype) and not pd.api.types.is_object_dtype(s.dtype)


@pytest.fixture(scope="module")
def journeys():
    return synth.generate("journeys", 60_000, seed=13)


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
        ad = transforms.geometric_adstock(f[c].to_numpy(), info["alpha"], tr["l_max"], tr["normalize_adstock"])
        X[c] = transforms.logistic_saturation(ad / ad.max(), info["lam"])
        assert np.allclose(X[c], media[f"{c}_saturated"])
    fit = sm.OLS(f["revenue"], sm.add_constant(X)).fit()
    for c, info in tr["channels"].items():
        assert abs(fit.params[c] - info["beta"]) < 4 * fit.bse[c], c
    assert abs(fit.params["t"] - tr["trend_per_week"]) < 4 * fit.bse["t"]


def test_adstock_and_saturation_have_the_documented_shape():
    impulse = np.zeros(12)
    impulse[0] = 1.0
    w = transforms.geometric_adstock(impulse, 0.5, l_max=4, normalize=True)
    assert np.allclose(w[:4], 0.5 ** np.arange(4) / (0.5 ** np.arange(4)).sum()) and (w[4:] == 0).all()
    raw = transforms.geometric_adstock(impulse, 0.5, l_max=4, normalize=False)
    assert np.allclose(raw[:4], 0.5 ** np.arange(4))
    x = np.linspace(0, 1, 5)
    assert np.allclose(transforms.logistic_saturation(x, 2.0), (1 - np.exp(-2 * x)) / (1 + np.exp(-2 * x)))
