"""CustomerClusters: recovery of simulated segments, the choice of k, determinism, ids, names,
the large-data path, stability, validation and degenerate inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score, silhouette_score

from helpers.segmentation.cluster_names import cluster_names
from helpers.segmentation.clustering import CustomerClusters, _choice_sentence, silhouettes

# Four segments, well apart after log1p: median recency (days), mean extra purchase days (Poisson),
# median spend (currency units), share of customers.
GROUPS = [
    (12, 12.0, 1500.0, 0.15),  # recent, frequent, high spend
    (20, 0.3, 55.0, 0.30),  # recent newcomers, mostly one purchase
    (330, 0.2, 33.0, 0.35),  # lapsed one-off, low spend
    (90, 4.0, 250.0, 0.20),  # in between
]
PROFILE_COLUMNS = [
    "cluster",
    "name",
    "customers",
    "share_of_customers_pct",
    "recency_days_mean",
    "frequency_mean",
    "monetary_mean",
    "recency_days_median",
    "frequency_median",
    "monetary_median",
    "revenue_share_pct",
]


def simulate(n: int, seed: int = 0, groups=GROUPS) -> tuple[pd.DataFrame, np.ndarray]:
    """Customers drawn from ``groups`` (lognormal recency and spend, 1 + Poisson purchase days)."""
    rng = np.random.default_rng(seed)
    g = np.array(groups, dtype=float)
    truth = rng.choice(len(g), n, p=g[:, 3] / g[:, 3].sum())
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i:07d}" for i in range(1, n + 1)],
            "recency_days": np.round(g[truth, 0] * rng.lognormal(0, 0.35, n)),
            "frequency": 1 + rng.poisson(g[truth, 1]),
            "monetary": np.round(g[truth, 2] * rng.lognormal(0, 0.35, n), 2),
        }
    )
    return frame, truth


@pytest.fixture(scope="module")
def data():
    return simulate(3000)


@pytest.fixture(scope="module")
def auto(data):
    return CustomerClusters(seed=7).fit(data[0])


# -- recovery and the choice of k ------------------------------------------------------------
def test_fixed_k_recovers_the_segments(data):
    frame, truth = data
    model = CustomerClusters(n_clusters=4, k_max=6, bootstrap=5).fit(frame)
    assert model.k_ == 4
    assert adjusted_rand_score(truth, model.labels_) >= 0.9
    assert "fixed by the analyst" in model.choice_reason_
    assert "is the highest for k from 2 to 6" in model.choice_reason_  # 4 is also silhouette's best here


def test_auto_chooses_four_and_explains_why(data, auto):
    truth = data[1]
    assert auto.k_ == 4
    assert adjusted_rand_score(truth, auto.labels_) >= 0.9
    d = auto.diagnostics_
    assert list(d.columns) == ["k", "silhouette", "inertia", "bic"]
    assert d["k"].tolist() == list(range(2, 9))
    assert d.loc[d["silhouette"].idxmax(), "k"] == 4
    assert auto.choice_reason_.startswith(f"4 clusters: the highest silhouette ({d['silhouette'].max():.2f}, next best")
    bic_k = int(d.loc[d["bic"].idxmin(), "k"])
    if bic_k == 4:
        assert auto.choice_reason_.endswith("the Gaussian mixture's BIC is also lowest at 4.")
    else:  # on these data the mixture's BIC is lowest at a larger k
        assert auto.choice_reason_.endswith(f"lowest at {bic_k}, so silhouette decides.")
    assert auto.gmm_agreement_ >= 0.9
    assert auto.gmm_labels_.shape == auto.labels_.shape
    assert auto.note_ == ""


def test_fixed_k_below_the_best_is_compared_with_it(data):
    model = CustomerClusters(n_clusters=3, k_max=5, bootstrap=0).fit(data[0])
    assert model.k_ == 3
    best = model.diagnostics_["silhouette"].max()
    assert model.choice_reason_.startswith("3 clusters, fixed by the analyst: its silhouette is")
    assert f"against the best {best:.2f} at 4" in model.choice_reason_
    assert model.stability_["runs"] == 0 and "not assessed" in model.stability_sentence()


def test_choice_sentence_follows_the_numbers():
    ks = np.arange(2, 9)
    falling = pd.DataFrame({"k": ks, "silhouette": [0.4, 0.5, 0.61, 0.48, 0.3, 0.2, 0.1], "bic": 100.0 - ks})
    text = _choice_sentence(falling, 4, False, 2, 8)
    assert text == (
        "4 clusters: the highest silhouette (0.61, next best 0.50 at 3); the Gaussian mixture's BIC keeps "
        "falling up to 8, as it often does on skewed purchase data, so silhouette decides."
    )
    agree = falling.assign(bic=(ks - 4.0) ** 2)
    assert _choice_sentence(agree, 4, False, 2, 8).endswith("the Gaussian mixture's BIC is also lowest at 4.")
    low = falling.assign(silhouette=falling["silhouette"] / 4)
    assert "not well separated" in _choice_sentence(low, 4, False, 2, 8)


def test_silhouettes_equal_sklearns():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(600, 3))
    X[:4] = X[0]  # repeated points
    labelings = [(X[:, 0] > 0).astype(int), rng.integers(0, 5, 600), np.r_[np.zeros(599, int), 1], np.zeros(600, int)]
    ours = silhouettes(X, labelings)
    assert np.allclose(ours[:3], [silhouette_score(X, lab) for lab in labelings[:3]], atol=1e-10)
    assert np.isnan(ours[3])  # one cluster: undefined


# -- determinism and ids ---------------------------------------------------------------------
def test_same_seed_same_result_and_row_order_does_not_matter(data, auto):
    frame, _ = data
    again = CustomerClusters(seed=7).fit(frame)
    np.testing.assert_array_equal(again.labels_, auto.labels_)
    pd.testing.assert_frame_equal(again.diagnostics_, auto.diagnostics_, check_exact=True)
    assert again.stability_ == auto.stability_
    shuffled = frame.sample(frac=1.0, random_state=3)
    other = CustomerClusters(n_clusters=4, k_max=4, seed=7, bootstrap=3).fit(shuffled)
    back = pd.Series(other.labels_, index=shuffled["customer_id"]).loc[frame["customer_id"]].to_numpy()
    np.testing.assert_array_equal(back, auto.labels_)  # ids by spend: the same id per customer


def test_ids_by_descending_spend_and_profiles(data, auto):
    frame, _ = data
    p = auto.profiles_
    assert list(p.columns) == PROFILE_COLUMNS
    assert p["cluster"].tolist() == [0, 1, 2, 3]
    assert p["monetary_mean"].is_monotonic_decreasing
    assert p["customers"].sum() == len(frame)
    assert p["share_of_customers_pct"].sum() == pytest.approx(100)
    assert p["revenue_share_pct"].sum() == pytest.approx(100)
    own = frame.groupby(auto.labels_)["monetary"].agg(["mean", "median", "size"])
    np.testing.assert_allclose(p["monetary_mean"], own["mean"])
    np.testing.assert_allclose(p["monetary_median"], own["median"])
    assert (p["customers"] == own["size"]).all()
    a = auto.assignments_
    assert a["customer_id"].tolist() == frame["customer_id"].tolist()
    assert (a["cluster"].to_numpy() == auto.labels_).all()
    assert (a["name"].astype(str) == a["cluster"].map(auto.names_)).all()


def test_predict_and_transform(data, auto):
    frame, _ = data
    np.testing.assert_array_equal(auto.predict(frame), auto.labels_)
    z = auto.transform(frame)
    np.testing.assert_allclose(z.mean(), 0, atol=1e-9)
    np.testing.assert_allclose(z.std(ddof=0), 1)
    new = pd.DataFrame({"recency_days": [5, 400], "frequency": [20, 1], "monetary": [3000.0, 20.0]})
    assert auto.predict(new).tolist() == [0, 3]
    with pytest.raises(RuntimeError, match="not fitted"):
        CustomerClusters().predict(new)


# -- names -----------------------------------------------------------------------------------
def test_names_follow_the_profiles(auto):
    names = auto.names_
    assert len(set(names.values())) == len(names)
    assert names[0] == "Recent, frequent, high spend"
    assert names[3] == "Lapsed, one-off, low spend"
    assert auto.profiles_["name"].tolist() == [names[c] for c in range(4)]


def test_shared_names_are_told_apart():
    feats = ["recency_days", "frequency", "monetary"]
    z = np.array([[-1.0, 1.0, 1.0], [-1.0, 1.0, 0.6], [1.0, -1.0, -1.0], [0.0, 0.0, 0.0]])
    med = np.array([[5, 9, 900], [5, 9, 400], [300, 1, 10], [60, 3, 100]])
    assert cluster_names(z, med, feats) == [
        "Recent, frequent, high spend (higher spend)",
        "Recent, frequent, high spend (lower spend)",
        "Lapsed, one-off, low spend",
        "Mid-recency, occasional, mid spend",
    ]
    med[2, 1] = 2  # a low-frequency cluster whose median customer bought twice is "infrequent"
    assert cluster_names(z, med, feats)[2] == "Lapsed, infrequent, low spend"
    same = np.zeros((3, 3))
    assert cluster_names(same, np.ones((3, 3)), feats) == [
        "Mid-recency, occasional, mid spend (1)",
        "Mid-recency, occasional, mid spend (2)",
        "Mid-recency, occasional, mid spend (3)",
    ]


# -- large data --------------------------------------------------------------------------------
def test_large_path_samples_the_search_and_fits_the_centres_on_the_sample():
    frame, truth = simulate(5000, seed=1)
    model = CustomerClusters(large=2000, search_sample=1000, bootstrap=5).fit(frame)
    assert model.k_ == 4
    assert adjusted_rand_score(truth, model.labels_) >= 0.9
    assert "random sample of 1,000 of the 5,000 customers" in model.note_
    assert "the cluster centres are those of k-means on the same 1,000 customers" in model.note_
    assert len(model.labels_) == len(model.gmm_labels_) == 5000
    assert model.profiles_["monetary_mean"].is_monotonic_decreasing
    mid = CustomerClusters(n_clusters=4, k_max=4, search_sample=1000, bootstrap=3).fit(frame)  # sample, k-means
    assert "random sample of 1,000" in mid.note_ and "cluster centres" not in mid.note_
    assert adjusted_rand_score(truth, mid.labels_) >= 0.9
    # the centres of the sample place customers as the centres of all customers do
    assert adjusted_rand_score(mid.labels_, model.labels_) >= 0.95


# -- stability -----------------------------------------------------------------------------------
def test_stability_separates_structure_from_noise(auto):
    assert auto.stability_["runs"] == 20
    assert auto.stability_["mean"] >= 0.9 and auto.stability_["low"] <= auto.stability_["mean"]
    assert "very stable" in auto.stability_sentence()
    blob, _ = simulate(2000, seed=3, groups=[(60, 3.0, 200.0, 1.0)])
    noise = CustomerClusters(n_clusters=4, k_max=4, bootstrap=10).fit(blob)
    assert noise.stability_["mean"] < 0.75
    assert noise.stability_["mean"] < auto.stability_["mean"] - 0.25
    assert "stable" in noise.stability_sentence() and "very stable" not in noise.stability_sentence()


# -- validation and degenerate inputs --------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "kwargs", "message"),
    [
        (lambda f: f.drop(columns="monetary"), {}, "'monetary' missing"),
        (lambda f: f.assign(recency_days=f["recency_days"] - 100), {}, "'recency_days' has .* negative values"),
        (lambda f: f.assign(frequency=f["frequency"].where(f.index != 5)), {}, "'frequency' has 1 missing values"),
        (lambda f: f.assign(monetary="x"), {}, "'monetary' must be numeric"),
        (lambda f: f, {"k_min": 5, "k_max": 4}, "k_max must be a whole number >= k_min=5"),
        (lambda f: f, {"k_min": 1}, "k_min must be a whole number >= 2"),
        (lambda f: f, {"n_clusters": 1}, "n_clusters must be"),
        (lambda f: f, {"n_clusters": 300}, "n_clusters must be"),
        (lambda f: f, {"bootstrap": -1}, "bootstrap must be a whole number >= 0"),
    ],
)
def test_invalid_input_is_named(change, kwargs, message):
    frame, _ = simulate(200)
    with pytest.raises(ValueError, match=message):
        CustomerClusters(**{"bootstrap": 0, **kwargs}).fit(change(frame))


def test_constant_feature_is_left_at_zero_with_a_note(data):
    frame, truth = data
    model = CustomerClusters(n_clusters=4, k_max=5, bootstrap=3).fit(frame.assign(frequency=1))
    assert "frequency is the same for every customer" in model.note_
    assert model.transform_.loc["frequency", "sd"] == 0
    assert (model.transform(frame)["frequency"] == 0).all()
    assert adjusted_rand_score(truth, model.labels_) >= 0.9  # recency and spend still separate them


def test_few_distinct_customers_shrink_the_range_or_stop():
    rows = pd.DataFrame({"recency_days": [1, 50, 300, 10], "frequency": [9, 3, 1, 5], "monetary": [900, 90, 9, 300]})
    model = CustomerClusters(bootstrap=2).fit(pd.concat([rows] * 5, ignore_index=True))
    assert "Only 4 distinct customers: k searched from 2 to 3 instead of 2 to 8." in model.note_
    assert model.diagnostics_["k"].tolist() == [2, 3]
    with pytest.raises(ValueError, match="at least 3 distinct customers"):
        CustomerClusters().fit(pd.concat([rows.iloc[:2]] * 5, ignore_index=True))


def test_a_large_cluster_is_named_by_how_it_differs_from_the_other_customers():
    from helpers.segmentation.cluster_names import cluster_names

    # 75 % of customers, mean z of recency 0.3 (overall mean 0): the other 25 % average -0.9,
    # so this cluster is 1.2 standard deviations more lapsed than the rest
    z = np.array([[0.3, -0.2, -0.25], [-0.9, 0.6, 0.75]])
    medians = np.array([[400.0, 1.0, 30.0], [90.0, 5.0, 170.0]])
    features = ["recency_days", "frequency", "monetary"]
    assert cluster_names(z, medians, features, sizes=[750, 250]) == [
        "Lapsed, one-off, low spend",
        "Recent, frequent, high spend",
    ]
    # against the overall mean only, the large cluster would look average
    assert cluster_names(z, medians, features)[0] == "Mid-recency, occasional, mid spend"
