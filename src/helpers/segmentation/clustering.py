"""Customer clusters from recency, frequency and spend: ``CustomerClusters(...).fit(customers)``.

Input: one row per customer with the ``features`` columns (default ``recency_days``: days since
the last purchase; ``frequency``: purchase days, >= 1; ``monetary``: total spend in currency
units, may be 0), all >= 0, plus optionally ``customer_id`` (carried into ``assignments_``).

*Transform*: each feature is ``log1p``-ed (purchase data are right-skewed), then standardised to
mean 0 and standard deviation 1 over the customers fitted; a feature with standard deviation 0
is left at 0 (it cannot shape the clusters; ``note_`` says so). ``transform_`` keeps the means
and standard deviations, so :meth:`CustomerClusters.transform` and
:meth:`CustomerClusters.predict` apply the same transform to new customers.

*Choosing k*: for every k in ``k_min..k_max`` (and a fixed ``n_clusters`` outside it) a k-means
(``n_init=4``) and a Gaussian mixture (full covariances, ``reg_covar=1e-3`` in standardised units)
are fitted on the customers searched; ``diagnostics_`` records the k-means mean silhouette (on at
most 10,000 of them drawn with the seed, the same ones for every k; :func:`silhouettes` gives
``sklearn.metrics.silhouette_score``'s value, sharing the distances across k), its inertia (sum of
squared distances to the centres, transformed units) and the mixture's BIC. With
``n_clusters="auto"`` the k of highest silhouette is chosen (ties: the smaller k); the k of lowest
BIC is reported beside it, as on skewed purchase data BIC often keeps falling as k grows.
``choice_reason_`` says which k and why in a sentence built from the numbers. A fixed
``n_clusters`` is used as given and its silhouette compared with the best. The mixture at the
chosen k labels every customer too (``gmm_labels_``, same id order); ``gmm_agreement_`` is the
adjusted Rand index between its labels and k-means'.

*Large data*: with more than ``search_sample`` customers (default 20,000), k is chosen, the mixture
fitted and the stability bootstrap run on a random sample of ``search_sample`` of them, drawn within
each stratum in proportion to its size when ``fit`` is given ``strata`` (e.g. the RFM segments; see
:mod:`.sampling`), else a simple random sample; labels still cover every customer (the nearest
centre; the mixture's labels by its posterior, in chunks). With more than ``large`` customers
(default 200,000), the final centres are those of a k-means (``n_init=10``) on that sample too, and
every customer is placed by the nearest of them: in three dimensions the sample already pins the
centres down, and a MiniBatchKMeans over 3.3 million customers took from one to more than ten
seconds. ``note_`` says what was done, in sentences from :mod:`.narrative` that name the sample's
size and the parameter that sets it (``sample_parameter``: its name in the report). BLAS runs on
one thread during the fit (see :meth:`CustomerClusters.fit`).

*Cluster ids* are 0..k-1 by descending mean ``monetary`` (cluster 0 spends most on average; by the
first feature when there is no ``monetary`` column), so the same data and seed give the same ids.

*Stability*: ``bootstrap`` times the customers are resampled with replacement, k-means refitted
(``n_init=2``) and every customer reassigned; the adjusted Rand index (ARI) against the final
labels measures how much the partition moves. Mean ARI >= 0.9 "very stable", >= 0.75 "stable",
>= 0.5 "moderately stable", else "unstable".

*Names*: see :mod:`.cluster_names`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_limits

from .cluster_names import cluster_names
from .narrative import sample_sentence
from .sampling import stratified_sample

__all__ = ["FEATURES", "STABILITY_WORDS", "CustomerClusters", "adjusted_rand", "silhouettes"]

FEATURES = ("recency_days", "frequency", "monetary")
SILHOUETTE_POINTS = 10_000
REG_COVAR = 1e-3
_CHUNK_ROWS = 262_144  # rows per block when every customer is assigned (bounds the n x k temporaries)
LOW_SILHOUETTE = 0.25
#: Mean bootstrap ARI cut-offs and their words (below the last: "unstable").
STABILITY_WORDS = ((0.9, "very stable"), (0.75, "stable"), (0.5, "moderately stable"))
_STREAMS = {"search": 0, "silhouette": 1, "bootstrap": 2}


def _rng(seed: int, purpose: str) -> np.random.Generator:
    """An independent random stream per purpose, so changing one step does not shift another."""
    return np.random.default_rng([seed, _STREAMS[purpose]])


class CustomerClusters:
    """K-means customer segments with the choice of k, stability, profiles and names explained.

    Parameters: ``n_clusters`` (``"auto"`` or a whole number), ``k_min``/``k_max`` (the range
    searched), ``seed`` (every random choice), ``features`` (columns used), ``bootstrap`` (stability
    resamples; 0 skips), ``search_sample`` (the most customers the search, mixture and bootstrap use),
    ``large`` (above it the final centres are fitted on the sample too) and ``sample_parameter`` (how
    the report names ``search_sample``); see the module docstring.

    After :meth:`fit`: ``labels_`` (cluster per input row), ``k_``, ``diagnostics_`` (``k, silhouette,
    inertia, bic``), ``choice_reason_``, ``note_``, ``transform_``, ``cluster_centers_`` (transformed
    units, cluster order), ``gmm_labels_``, ``gmm_agreement_``, ``stability_``, ``profiles_``,
    ``names_``, ``assignments_``, ``n_customers_``, ``sample_size_`` (customers searched) and
    ``stratified_`` (whether that sample was drawn within strata).
    """

    def __init__(
        self,
        n_clusters: int | str = "auto",
        k_min: int = 2,
        k_max: int = 8,
        seed: int = 42,
        features: Sequence[str] = FEATURES,
        bootstrap: int = 20,
        search_sample: int = 20_000,
        large: int = 200_000,
        sample_parameter: str = "search_sample",
    ):
        self.n_clusters = n_clusters
        self.k_min = k_min
        self.k_max = k_max
        self.seed = seed
        self.features = features
        self.bootstrap = bootstrap
        self.search_sample = search_sample
        self.large = large
        self.sample_parameter = sample_parameter

    # ------------------------------------------------------------------------------------
    def fit(self, customers: pd.DataFrame, strata=None, strata_label: str = "stratum") -> CustomerClusters:
        """``customers``: one row per customer (module doc); ``strata``: a label per row (e.g. the
        RFM segment) within which the search sample is drawn in proportion, or None (a simple
        random sample); ``strata_label``: what a stratum is called in ``note_``.

        BLAS and OpenMP run on one thread here: every product has three columns (the features),
        too thin to share out, and on a busy machine waiting BLAS threads slowed the mixture fits
        several-fold; k-means' OpenMP threads, which sleep between steps (OMP_WAIT_POLICY=PASSIVE),
        took 7.5 s against 6.4 s on one thread for 3.3 million customers."""
        with threadpool_limits(limits=1):
            return self._fit(customers, strata, strata_label)

    def _fit(self, customers: pd.DataFrame, strata, strata_label: str) -> CustomerClusters:
        features = list(self.features)
        X = _validated(customers, features)
        n = len(X)
        if strata is not None and len(strata) != n:
            raise ValueError(f"strata has {len(strata):,} labels for {n:,} customers: give one per customer.")
        notes: list[str] = []
        k_min, k_max, fixed = self._k_range(X, notes)

        logged = np.log1p(X)
        mean, sd = logged.mean(axis=0), logged.std(axis=0)
        flat = sd <= 1e-12 * np.maximum(1.0, np.abs(mean))
        sd = np.where(flat, 1.0, sd)
        self.transform_ = pd.DataFrame({"mean": mean, "sd": sd}, index=features)
        self.transform_.loc[flat, "sd"] = 0.0
        Z = np.where(flat, 0.0, (logged - mean) / sd)
        for f in np.asarray(features)[flat]:
            notes.append(
                f"{f} is the same for every customer (standard deviation 0): it is left at 0 and plays no part."
            )

        is_large = n > self.large
        search = np.arange(n)
        if n > self.search_sample:
            if strata is None:
                search = np.sort(_rng(self.seed, "search").choice(n, self.search_sample, replace=False))
            else:
                search = stratified_sample(strata, self.search_sample, _rng(self.seed, "search"))
        Zs = Z[search]
        self.sample_size_ = len(Zs)
        self.stratified_ = strata is not None and len(Zs) < n
        ks = sorted(set(range(k_min, k_max + 1)) | ({fixed} if fixed else set()))
        self.diagnostics_, mixtures = self._diagnostics(Zs, ks)
        self.k_ = fixed or _best_k(self.diagnostics_)
        self.choice_reason_ = _choice_sentence(self.diagnostics_, self.k_, fixed is not None, k_min, k_max)

        # final fit, relabelled by descending mean spend
        km = KMeans(self.k_, n_init=10, random_state=self.seed).fit(Zs if is_large else Z)
        order_by = customers["monetary"] if "monetary" in customers.columns else customers[features[0]]
        order_by = order_by.to_numpy(dtype=float)
        order = _order(_nearest(Z, km.cluster_centers_), order_by, self.k_)
        self.cluster_centers_ = km.cluster_centers_[order]
        self.labels_ = _nearest(Z, self.cluster_centers_)
        self.n_customers_ = n

        gmm = mixtures[self.k_]  # the search's mixture at this k: the same fit on the same customers
        graw = np.concatenate([gmm.predict(Z[lo : lo + _CHUNK_ROWS]) for lo in range(0, n, _CHUNK_ROWS)])
        self.gmm_labels_ = np.argsort(_order(graw, order_by, self.k_))[graw]
        self.gmm_agreement_ = adjusted_rand(self.labels_, self.gmm_labels_)

        self.stability_ = self._stability(Zs, self.labels_[search], self.bootstrap)
        notes.append(
            sample_sentence(
                "the number of clusters was chosen, the Gaussian mixture fitted and stability bootstrapped",
                len(Zs),
                n,
                self.sample_parameter,
                strata=strata_label if self.stratified_ else None,
            )
        )
        if is_large and len(Zs) < n:
            notes.append(
                f"With more than {self.large:,} customers, the cluster centres are those of k-means on the "
                f"same {len(Zs):,} customers, and every customer is placed in the cluster of the nearest centre."
            )
        if len(Zs) > SILHOUETTE_POINTS:
            notes.append(
                f"Silhouettes are computed on a random {SILHOUETTE_POINTS:,} of the {len(Zs):,} customers searched."
            )
        self.note_ = " ".join(x for x in notes if x)

        self.profiles_ = _profiles(customers, features, self.labels_, Z, self.k_)
        self.names_ = dict(enumerate(self.profiles_["name"]))
        # the ids as they are stored (a million text ids as Python objects would take hundreds of MB)
        assign = {"customer_id": customers["customer_id"].array} if "customer_id" in customers.columns else {}
        names = pd.Categorical.from_codes(self.labels_, categories=list(self.profiles_["name"]))
        self.assignments_ = pd.DataFrame({**assign, "cluster": self.labels_, "name": names}, index=customers.index)
        return self

    def _k_range(self, X: np.ndarray, notes: list[str]) -> tuple[int, int, int | None]:
        """Checked k range (lowered to the number of distinct customers, with a note) and fixed k."""
        k_min, k_max, n = self.k_min, self.k_max, len(X)
        if not _is_int(k_min) or k_min < 2:
            raise ValueError(f"k_min must be a whole number >= 2 (got {k_min!r}).")
        if not _is_int(k_max) or k_max < k_min:
            raise ValueError(f"k_max must be a whole number >= k_min={k_min} (got {k_max!r}).")
        for name, low in (("bootstrap", 0), ("search_sample", 100), ("large", 1)):
            if not _is_int(getattr(self, name)) or getattr(self, name) < low:
                raise ValueError(f"{name} must be a whole number >= {low} (got {getattr(self, name)!r}).")
        fixed = None
        if self.n_clusters != "auto":
            if not _is_int(self.n_clusters) or not 2 <= self.n_clusters <= n - 1:
                raise ValueError(
                    f'n_clusters must be "auto" or a whole number from 2 to n_customers - 1 = {n - 1} '
                    f"(got {self.n_clusters!r})."
                )
            fixed = int(self.n_clusters)
        distinct = _count_distinct(X, max(k_max, fixed or 0) + 1)
        if distinct < 3:
            raise ValueError(
                f"Clustering needs at least 3 distinct customers (different {', '.join(self.features)}); "
                f"these data have {distinct}."
            )
        if fixed and fixed > distinct:
            raise ValueError(f"n_clusters={fixed} is more than the {distinct} distinct customers in these data.")
        if distinct < k_max + 1:
            new_max = distinct - 1
            new_min = min(k_min, new_max)
            notes.append(
                f"Only {distinct} distinct customers: k searched from {new_min} to {new_max} instead of "
                f"{k_min} to {k_max}."
            )
            k_min, k_max = new_min, new_max
        return int(k_min), int(k_max), fixed

    def _diagnostics(self, Z: np.ndarray, ks: list[int]) -> tuple[pd.DataFrame, dict[int, GaussianMixture]]:
        """Inertia, BIC and silhouette per k (the table), and the Gaussian mixture fitted at each k.
        With more than one core the mixtures are fitted in a second thread beside the k-means fits
        and silhouettes (numpy leaves the lock while it computes; on 20,000 customers the search took
        5.3 s in one thread, the mixtures half of it). Each fit is seeded and on its own, so the
        results do not depend on the threads."""
        m = min(len(Z), SILHOUETTE_POINTS)
        pick = np.arange(len(Z)) if m == len(Z) else np.sort(_rng(self.seed, "silhouette").choice(len(Z), m, False))
        if (os.cpu_count() or 1) > 1:
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mixtures") as pool:
                pending = pool.submit(self._mixtures, Z, ks)
                inertia, samples = self._kmeans(Z, ks, pick)
                sil = silhouettes(Z[pick], samples)
                mixtures = pending.result()
        else:
            mixtures = self._mixtures(Z, ks)
            inertia, samples = self._kmeans(Z, ks, pick)
            sil = silhouettes(Z[pick], samples)
        diag = pd.DataFrame(
            {"k": ks, "silhouette": sil, "inertia": inertia, "bic": [float(mixtures[k].bic(Z)) for k in ks]}
        )
        return diag, mixtures

    def _kmeans(self, Z: np.ndarray, ks: list[int], pick: np.ndarray) -> tuple[list[float], list[np.ndarray]]:
        """k-means at each k: the inertia and the labels of the silhouette's customers (``pick``)."""
        inertia, samples = [], []
        for k in ks:
            km = KMeans(k, n_init=4, random_state=self.seed).fit(Z)
            inertia.append(float(km.inertia_))
            samples.append(km.labels_[pick])
        return inertia, samples

    def _mixtures(self, Z: np.ndarray, ks: list[int]) -> dict[int, GaussianMixture]:
        """The Gaussian mixture (full covariances) fitted at each k."""
        return {
            k: GaussianMixture(k, covariance_type="full", n_init=1, reg_covar=REG_COVAR, random_state=self.seed).fit(Z)
            for k in ks
        }

    def _stability(self, Z: np.ndarray, labels: np.ndarray, runs: int) -> dict:
        rng = _rng(self.seed, "bootstrap")
        scores = []
        for _ in range(int(runs)):
            idx = rng.integers(0, len(Z), len(Z))
            km = KMeans(self.k_, n_init=2, random_state=int(rng.integers(2**31 - 1))).fit(Z[idx])
            scores.append(adjusted_rand(labels, km.predict(Z)))
        if not scores:
            return {"mean": float("nan"), "low": float("nan"), "runs": 0}
        return {"mean": float(np.mean(scores)), "low": float(np.percentile(scores, 5)), "runs": len(scores)}

    # ------------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "labels_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted yet: call .fit(...) first")

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The features of ``frame`` in the fitted transform (``log1p``, standardised; a feature of
        standard deviation 0 in the fitted data is 0), one column per feature, ``frame``'s index."""
        self._check_fitted()
        features = list(self.transform_.index)
        logged = np.log1p(_validated(frame, features))
        mean, sd = self.transform_["mean"].to_numpy(), self.transform_["sd"].to_numpy()
        Z = np.where(sd > 0, (logged - mean) / np.where(sd > 0, sd, 1.0), 0.0)
        return pd.DataFrame(Z, columns=features, index=frame.index)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Cluster id of each row of ``frame``: the nearest k-means centre after the transform."""
        return _nearest(self.transform(frame).to_numpy(), self.cluster_centers_)

    def stability_sentence(self) -> str:
        """The bootstrap stability in plain words (the verdict is from the mean ARI)."""
        self._check_fitted()
        s = self.stability_
        if not s["runs"]:
            return "Stability was not assessed (bootstrap=0)."
        mean = s["mean"]
        verdict = next(
            (w for cut, w in STABILITY_WORDS if mean >= cut), "unstable: treat the clusters as a rough guide"
        )
        return (
            f"Over {s['runs']} bootstrap resamples the clusters agree with the final ones at a mean adjusted "
            f"Rand index of {mean:.2f} (5th percentile {s['low']:.2f}): {verdict}."
        )

    def fit_line(self) -> str:
        """One line on the fit: k, how it was chosen, silhouette, agreement with the mixture, stability."""
        self._check_fitted()
        d = self.diagnostics_.set_index("k")
        sil = d.loc[self.k_, "silhouette"]
        how = "fixed" if self.n_clusters != "auto" else "chosen by silhouette"
        stab = f"{self.stability_['mean']:.2f}" if self.stability_["runs"] else "not assessed"
        return (
            f"{self.k_} clusters ({how}) of {self.n_customers_:,} customers on log1p, standardised "
            f"{', '.join(self.transform_.index)}; silhouette {sil:.2f}; k-means vs Gaussian mixture ARI "
            f"{self.gmm_agreement_:.2f}; bootstrap stability ARI {stab}."
        )

    def summary(self) -> pd.DataFrame:
        """Profile per cluster (indexed by name): customers, shares, feature means and medians, share
        of revenue; the fit line in ``.attrs["fit_line"]`` and the figures in ``.attrs["fit_statistics"]``."""
        self._check_fitted()
        table = self.profiles_.set_index("name")
        table.attrs["fit_line"] = self.fit_line()
        d = self.diagnostics_.set_index("k")
        table.attrs["fit_statistics"] = {
            "k": self.k_,
            "n_customers": self.n_customers_,
            "silhouette": float(d.loc[self.k_, "silhouette"]),
            "bic": float(d.loc[self.k_, "bic"]),
            "gmm_agreement": self.gmm_agreement_,
            "stability_mean": self.stability_["mean"],
            "stability_low": self.stability_["low"],
            "choice_reason": self.choice_reason_,
            "note": self.note_,
        }
        return table


# ------------------------------------------------------------------------------------------
def _is_int(v) -> bool:
    return isinstance(v, int | np.integer) and not isinstance(v, bool)


def _validated(frame: pd.DataFrame, features: list[str]) -> np.ndarray:
    """The features as a float array; ValueError naming the column and the rule broken."""
    if not isinstance(frame, pd.DataFrame):
        raise ValueError("customers must be a pandas DataFrame, one row per customer.")
    missing = [f for f in features if f not in frame.columns]
    if missing:
        raise ValueError(f"Column(s) {', '.join(map(repr, missing))} missing: the features are {', '.join(features)}.")
    for f in features:
        col = frame[f]
        if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
            raise ValueError(f"Column {f!r} must be numeric (got {col.dtype}).")
        values = col.to_numpy(dtype=float, na_value=np.nan)
        if np.isnan(values).any():
            raise ValueError(
                f"Column {f!r} has {int(np.isnan(values).sum()):,} missing values (NaN): fill or drop them."
            )
        if not np.isfinite(values).all():
            raise ValueError(f"Column {f!r} has infinite values: every value must be finite.")
        if (values < 0).any():
            raise ValueError(f"Column {f!r} has {int((values < 0).sum()):,} negative values: every value must be >= 0.")
    return frame[features].to_numpy(dtype=float)


def silhouettes(X: np.ndarray, labelings: Sequence[np.ndarray], chunk: int = 500) -> np.ndarray:
    """Mean silhouette of each labelling of the rows of ``X`` (Euclidean), as
    ``sklearn.metrics.silhouette_score`` computes it, in one pass over the pairwise distances shared by
    all the labellings (the search scores seven k on the same points). s(i) = (b - a) / max(a, b), a =
    mean distance to the rest of i's cluster, b = lowest mean distance to another cluster, 0 for a
    cluster of one; NaN for a labelling with fewer than 2 or more than n - 1 clusters."""
    n = len(X)
    codes = [np.unique(lab, return_inverse=True)[1].ravel() for lab in labelings]
    sizes = [int(c.max()) + 1 for c in codes]
    starts = np.concatenate([[0], np.cumsum(sizes)])
    member = np.zeros((n, starts[-1]))
    for c, s0 in zip(codes, starts):
        member[np.arange(n), s0 + c] = 1.0
    sq = (X**2).sum(axis=1)
    sums = np.empty_like(member)  # sum of distances from each point to each cluster of each labelling
    for lo in range(0, n, chunk):
        hi = min(lo + chunk, n)
        d = sq[lo:hi, None] + sq[None, :] - 2.0 * (X[lo:hi] @ X.T)
        np.maximum(d, 0.0, out=d)
        np.sqrt(d, out=d)
        d[np.arange(hi - lo), np.arange(lo, hi)] = 0.0
        sums[lo:hi] = d @ member
    out = np.full(len(codes), np.nan)
    rows = np.arange(n)
    for j, (c, k, s0) in enumerate(zip(codes, sizes, starts)):
        if not 2 <= k <= n - 1:
            continue
        counts = np.bincount(c, minlength=k).astype(float)
        own = counts[c]
        total = sums[:, s0 : s0 + k]
        a = total[rows, c] / np.maximum(own - 1.0, 1.0)
        mean_other = total / counts
        mean_other[rows, c] = np.inf
        b = mean_other.min(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            sil = np.nan_to_num((b - a) / np.maximum(a, b))
        out[j] = float(np.where(own > 1, sil, 0.0).mean())
    return out


def _count_distinct(X: np.ndarray, enough: int) -> int:
    """Number of distinct rows, counted on the first 10,000 rows when they already give ``enough``."""
    head = len(np.unique(X[:10_000], axis=0))
    return head if head >= enough or len(X) <= 10_000 else len(np.unique(X, axis=0))


def _nearest(Z: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Index of the nearest centre (squared Euclidean distance) for each row of ``Z`` (in blocks of
    rows, so that millions of customers never hold an n x k matrix at once)."""
    sq = (centres**2).sum(axis=1)[None, :]
    out = np.empty(len(Z), dtype=np.intp)
    for lo in range(0, len(Z), _CHUNK_ROWS):
        out[lo : lo + _CHUNK_ROWS] = (sq - 2.0 * Z[lo : lo + _CHUNK_ROWS] @ centres.T).argmin(axis=1)
    return out


def _codes(labels) -> tuple[np.ndarray, int]:
    """Labels as codes 0..m-1 (small non-negative integers are their own codes) and m; pandas
    columns are factorised as stored (text in Arrow, categories by their codes)."""
    if isinstance(labels, pd.Series | pd.Index):
        labels = labels.to_numpy() if labels.dtype.kind in "iu" else labels.array
    elif not isinstance(labels, np.ndarray | pd.api.extensions.ExtensionArray):
        labels = np.asarray(labels)
    small_whole = isinstance(labels, np.ndarray) and labels.dtype.kind in "iu" and labels.size > 0
    if small_whole and labels.min() >= 0 and labels.max() < 4 * labels.size + 1024:
        return labels.astype(np.int64, copy=False).ravel(), int(labels.max()) + 1
    codes, uniques = pd.factorize(labels, use_na_sentinel=False)
    return np.asarray(codes, dtype=np.int64), len(uniques)


def adjusted_rand(labels_a, labels_b) -> float:
    """The adjusted Rand index of two labellings of the same rows, as
    ``sklearn.metrics.adjusted_rand_score`` computes it (pair counts from the contingency table, in
    exact integers), from a bincount of the label codes: seconds faster on millions of customers,
    where scikit-learn sorts the labels (text labels, such as segment names, more slowly still)."""
    a, ka = _codes(labels_a)
    b, kb = _codes(labels_b)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"the two labellings must be 1-D and of the same length (got {a.shape} and {b.shape}).")
    n = int(a.size)
    key = a * kb + b
    # the non-empty cells of the contingency table: a bincount for a few clusters, else by sorting
    cells = (
        np.bincount(key, minlength=ka * kb) if ka * kb <= max(4 * n, 1 << 20) else np.unique(key, return_counts=True)[1]
    )
    rows, cols = np.bincount(a, minlength=ka), np.bincount(b, minlength=kb)
    squares = int((cells.astype(np.int64) ** 2).sum())
    both = squares - n  # pairs together in both (times 2)
    only_b = int((cols**2).sum()) - squares  # together in b only
    only_a = int((rows**2).sum()) - squares  # together in a only
    neither = n * n - only_b - only_a - squares
    if only_a == 0 and only_b == 0:
        return 1.0
    return (
        2.0
        * (both * neither - only_a * only_b)
        / ((both + only_a) * (only_a + neither) + (both + only_b) * (only_b + neither))
    )


def _order(labels: np.ndarray, value: np.ndarray, k: int) -> np.ndarray:
    """Old label ids in the new order: descending mean ``value`` (empty clusters last, ties by id)."""
    counts = np.bincount(labels, minlength=k)
    means = np.where(counts > 0, np.bincount(labels, weights=value, minlength=k) / np.maximum(counts, 1), -np.inf)
    return np.lexsort((np.arange(k), -means))


def _best_k(diag: pd.DataFrame) -> int:
    valid = diag.dropna(subset=["silhouette"])
    if valid.empty:  # no silhouette could be computed: the mixture's BIC decides
        return int(diag.loc[diag["bic"].idxmin(), "k"])
    return int(valid.loc[valid["silhouette"].idxmax(), "k"])


def _choice_sentence(diag: pd.DataFrame, k: int, fixed: bool, k_min: int, k_max: int) -> str:
    """Why k: silhouette, the runner-up and what BIC says, built from ``diag`` so it is always true."""
    d = diag[(diag["k"] >= k_min) & (diag["k"] <= k_max)]
    valid = d.dropna(subset=["silhouette"]).sort_values(["silhouette", "k"], ascending=[False, True])
    bic_k = int(d.loc[d["bic"].idxmin(), "k"])
    falling = len(d) > 1 and bool((np.diff(d["bic"].to_numpy()) < 0).all())
    span = f"{k_min} to {k_max}"
    if falling and bic_k == k_max:
        bic = f"the Gaussian mixture's BIC keeps falling up to {k_max}, as it often does on skewed purchase data"
    else:
        bic = f"the Gaussian mixture's BIC is lowest at {bic_k}"
    sil_k = float(diag.set_index("k").loc[k, "silhouette"])
    if fixed:
        out = f"{k} clusters, fixed by the analyst"
        if valid.empty or np.isnan(sil_k):
            out += f"; no silhouette could be computed; {bic} (k from {span})."
        else:
            best_k, best = int(valid["k"].iloc[0]), float(valid["silhouette"].iloc[0])
            if best_k == k or best <= sil_k:
                than = "the highest" if k_min <= k <= k_max else "higher than any"
                out += f": its silhouette ({sil_k:.2f}) is {than} for k from {span}; {bic}."
            else:
                out += (
                    f": its silhouette is {sil_k:.2f}, against the best {best:.2f} at {best_k} (k from {span}); {bic}."
                )
    elif valid.empty:
        return f"{k} clusters: no silhouette could be computed, so the lowest BIC of the Gaussian mixture decides."
    elif len(valid) == 1:
        out = f"{k} clusters: the only k with a silhouette ({sil_k:.2f}) for k from {span}; {bic}."
    else:
        nxt_k, nxt = int(valid["k"].iloc[1]), float(valid["silhouette"].iloc[1])
        d = 2 if f"{nxt:.2f}" != f"{sil_k:.2f}" else 4  # a near tie shows more digits
        out = f"{k} clusters: the highest silhouette ({sil_k:.{d}f}, next best {nxt:.{d}f} at {nxt_k})"
        if bic_k == k:
            out += f"; the Gaussian mixture's BIC is also lowest at {k}."
        else:
            out += f"; {bic}, so silhouette decides."
    if not valid.empty and not np.isnan(sil_k) and sil_k < LOW_SILHOUETTE:
        out += f" A silhouette below {LOW_SILHOUETTE} means the clusters are not well separated."
    return out


def _profiles(customers: pd.DataFrame, features: list[str], labels: np.ndarray, Z: np.ndarray, k: int) -> pd.DataFrame:
    """One row per cluster: size, shares, feature means and medians (original units), name."""
    frame = customers[features].astype(float)
    groups = frame.groupby(labels)
    counts = np.bincount(labels, minlength=k)
    out = pd.DataFrame({"cluster": np.arange(k), "customers": counts})
    out["share_of_customers_pct"] = 100.0 * counts / counts.sum()
    means = groups.mean().reindex(range(k))
    medians = groups.median().reindex(range(k))
    for f in features:
        out[f"{f}_mean"] = means[f].to_numpy()
    for f in features:
        out[f"{f}_median"] = medians[f].to_numpy()
    if "monetary" in customers.columns:
        revenue = np.bincount(labels, weights=customers["monetary"].to_numpy(dtype=float), minlength=k)
        total = revenue.sum()
        out["revenue_share_pct"] = 100.0 * revenue / total if total > 0 else np.nan
    else:
        out["revenue_share_pct"] = np.nan
    z_means = np.stack([np.bincount(labels, weights=Z[:, j], minlength=k) for j in range(Z.shape[1])], axis=1)
    z_means /= np.maximum(counts, 1)[:, None]
    out.insert(1, "name", cluster_names(z_means, medians[features].to_numpy(), features, counts))
    return out
