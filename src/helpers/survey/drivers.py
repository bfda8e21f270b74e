"""Key-driver analysis: which ratings move an outcome (e.g. overall satisfaction) and what to fix.

``KeyDriverAnalysis(outcome, drivers).fit(frame)`` regresses the outcome on the drivers by least
squares and splits the model's R² among the drivers in two standard ways:

* *Johnson's relative weights* (Johnson 2000). With ``R`` the drivers' correlation matrix and
  ``r`` their correlations with the outcome, write ``R = V diag(λ) V'`` and take the symmetric
  square root ``L = R^(1/2) = V diag(√λ) V'``: the standardised drivers are ``X = Z L`` with ``Z``
  the orthonormal variables closest to them (least squares), so ``L[j, k]`` is the loading of
  driver ``j`` on orthogonal variable ``k``. Regressing the outcome on ``Z`` gives
  ``β* = R^(-1/2) r``, and driver ``j``'s raw weight is
  ``ε_j = Σ_k L[j, k]² β*_k²``. As every column of ``L²`` sums to ``R[k, k] = 1``,
  ``Σ_j ε_j = Σ_k β*_k² = r' R^(-1) r = R²``.
* *Shapley values / LMG* (Lindeman, Merenda and Gold 1980): driver ``j`` gets its increase in R²
  when added to a subset ``S`` of the other drivers, averaged over all orders of entry,
  ``φ_j = Σ_{S ⊆ N\\{j}} |S|! (p-|S|-1)! / p! · (R²(S ∪ {j}) - R²(S))``; they sum to R² too.
  Computed exactly over all ``2^p`` subsets: ``R²(S) = r_S' R_SS^(-1) r_S`` from the correlation
  matrix, with batched solves grouped by subset size (15 drivers, 32,768 subsets: well under a
  second). More than ``shapley_max_drivers`` drivers (default 20, at most 24) is refused: the
  work and memory double with every driver.

``importance_`` puts both beside the standardised coefficient ``beta`` and each driver's mean
rating (its *performance*); ``rank`` 1 is the largest relative weight. The shares
``relative_weight_pct`` and ``shapley_pct`` are percentages of R² (they sum to 100).
:meth:`KeyDriverAnalysis.importance_performance` places the drivers in the four quadrants of an
importance-performance map and :meth:`KeyDriverAnalysis.actions` says what to fix first.

*Weights* (the survey package's convention): ``weights`` (>= 0, one per row) are normalised and
used for every mean, variance and correlation, so the coefficients are weighted least squares.
Standard errors, t, F and their p-values use Kish's effective base ``n_eff = (Σw)² / Σw²`` in
place of n: residual variance ``s² = (1 - R²) var(y) n_eff / (n_eff - p - 1)``,
``cov(b) = s² / n_eff · Cxx^(-1)`` (ordinary OLS for equal weights; with unequal weights an
approximation, not a design-based variance), ``df = n_eff - p - 1`` (NaN when not positive).
*Missing values*: rows missing the outcome or any driver are dropped listwise (``n_dropped_``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .reliability import check_not_constant, complete_rows, weighted_cov

__all__ = ["QUADRANTS", "SHAPLEY_CEILING", "KeyDriverAnalysis", "r2_all_subsets", "shapley_from_subsets"]

#: Importance-performance quadrants: (importance above the mean?, performance above the mean?) -> name.
QUADRANTS = {
    (True, False): "Fix first",
    (True, True): "Keep it up",
    (False, False): "Low priority",
    (False, True): "Possible overkill",
}
#: The largest ``shapley_max_drivers`` accepted (2^24 subsets: a 128 MB vector of R² values).
SHAPLEY_CEILING = 24
#: A correlation matrix whose smallest eigenvalue is below this (relative to the largest) is singular.
COLLINEAR = 1e-10
_CHUNK_ELEMENTS = 4_000_000  # matrix entries per batched solve (32 MB)


class KeyDriverAnalysis:
    """Least-squares key-driver analysis with relative weights and Shapley (LMG) importance.

    Parameters: ``outcome`` (the column explained), ``drivers`` (the columns explaining it) and
    ``shapley_max_drivers`` (refuse the exact Shapley decomposition above this many drivers).

    After :meth:`fit`: ``n_`` (rows used), ``n_dropped_``, ``n_effective_`` (Kish), ``r2_``,
    ``adjusted_r2_``, ``f_statistic_``, ``f_p_value_``, ``coefficients_`` (``driver, b, se, t,
    p_value, beta``), ``intercept_``, ``relative_weights_`` and ``shapley_`` (Series by driver,
    each summing to ``r2_``), ``means_`` (weighted mean rating per driver) and ``importance_``
    (``driver, relative_weight, relative_weight_pct, shapley, shapley_pct, beta, mean, rank``,
    rows by rank).
    """

    def __init__(self, outcome: str, drivers: Sequence[str], *, shapley_max_drivers: int = 20):
        self.outcome = outcome
        self.drivers = drivers
        self.shapley_max_drivers = shapley_max_drivers

    # ------------------------------------------------------------------------------------
    def fit(self, frame: pd.DataFrame, weights=None) -> KeyDriverAnalysis:
        drivers = self._checked_drivers()
        p = len(drivers)
        what = f"Key-driver analysis of {self.outcome!r}"
        X, w, n_dropped = complete_rows(
            frame, [self.outcome, *drivers], weights, what, min_rows=p + 2, rule=f"{p} drivers + 2"
        )
        mean, C = weighted_cov(X, w)
        sd = np.sqrt(np.diag(C))
        check_not_constant([self.outcome, *drivers], mean, sd, what)
        Rall = C / np.outer(sd, sd)
        R, r = Rall[1:, 1:], Rall[1:, 0]
        lam, V = np.linalg.eigh(R)
        if lam[0] <= COLLINEAR * lam[-1]:
            v = np.abs(V[:, 0])
            involved = [d for d, x in zip(drivers, v) if x > 0.1 * v.max()]
            raise ValueError(
                f"{what}: the drivers {', '.join(map(repr, involved))} are perfectly collinear (one is a linear "
                "combination of the others in the rows used), so their separate effects are not identified; "
                "drop one of them."
            )

        beta = np.linalg.solve(R, r)
        r2 = float(r @ beta)
        b = beta * sd[0] / sd[1:]
        n_eff = float(w.sum() ** 2 / (w**2).sum())
        df = n_eff - p - 1
        if df > 0:
            s2 = (1.0 - r2) * C[0, 0] * n_eff / df
            se = np.sqrt(s2 / n_eff * np.diag(np.linalg.inv(C[1:, 1:])))
            t = b / se
            p_value = 2 * stats.t.sf(np.abs(t), df)
            f_stat = (r2 / p) / ((1.0 - r2) / df) if r2 < 1 else np.inf
            f_p = float(stats.f.sf(f_stat, p, df))
            adj = 1.0 - (1.0 - r2) * (n_eff - 1) / df
        else:
            se = t = p_value = np.full(p, np.nan)
            f_stat = f_p = adj = np.nan

        self.n_ = len(X)
        self.n_dropped_ = n_dropped
        self.n_effective_ = n_eff
        self.r2_ = r2
        self.adjusted_r2_ = float(adj)
        self.f_statistic_ = float(f_stat)
        self.f_p_value_ = float(f_p)
        self.intercept_ = float(mean[0] - b @ mean[1:])
        self.coefficients_ = pd.DataFrame(
            {"driver": drivers, "b": b, "se": se, "t": t, "p_value": p_value, "beta": beta}
        )
        self.relative_weights_ = pd.Series(_relative_weights(lam, V, r), index=drivers, name="relative_weight")
        self.shapley_ = pd.Series(shapley_from_subsets(r2_all_subsets(R, r)), index=drivers, name="shapley")
        self.means_ = pd.Series(mean[1:], index=drivers, name="mean")

        share = 100.0 / r2 if r2 > 0 else np.nan
        imp = pd.DataFrame(
            {
                "driver": drivers,
                "relative_weight": self.relative_weights_.to_numpy(),
                "relative_weight_pct": self.relative_weights_.to_numpy() * share,
                "shapley": self.shapley_.to_numpy(),
                "shapley_pct": self.shapley_.to_numpy() * share,
                "beta": beta,
                "mean": mean[1:],
            }
        )
        imp = imp.sort_values("relative_weight", ascending=False, kind="stable").reset_index(drop=True)
        imp["rank"] = np.arange(1, p + 1)
        self.importance_ = imp
        return self

    def _checked_drivers(self) -> list[str]:
        if isinstance(self.drivers, str) or not isinstance(self.drivers, Sequence):
            raise ValueError(f"drivers must be a list of column names (got {self.drivers!r}).")
        drivers = list(self.drivers)
        if not drivers:
            raise ValueError("drivers is empty: name at least one column that may drive the outcome.")
        dup = sorted({d for d in drivers if drivers.count(d) > 1})
        if dup:
            raise ValueError(f"drivers lists {', '.join(map(repr, dup))} more than once.")
        if self.outcome in drivers:
            raise ValueError(
                f"The outcome {self.outcome!r} is also listed among the drivers; a column cannot explain itself."
            )
        cap = self.shapley_max_drivers
        if isinstance(cap, bool) or not isinstance(cap, int | np.integer) or not 1 <= cap <= SHAPLEY_CEILING:
            raise ValueError(f"shapley_max_drivers must be a whole number from 1 to {SHAPLEY_CEILING} (got {cap!r}).")
        if len(drivers) > cap:
            raise ValueError(
                f"Exact Shapley importance over {len(drivers)} drivers needs R² for 2^{len(drivers)} = "
                f"{2 ** len(drivers):,} driver subsets; the limit is shapley_max_drivers={cap} (2^{cap} = {2**cap:,}). "
                f"Group or drop drivers, or raise shapley_max_drivers (at most {SHAPLEY_CEILING})."
            )
        return drivers

    def _check_fitted(self) -> None:
        if not hasattr(self, "importance_"):
            raise ValueError("This KeyDriverAnalysis is not fitted yet: call fit(frame) first.")

    # ------------------------------------------------------------------------------------
    def summary(self) -> pd.DataFrame:
        """``importance_`` with each driver's ``b`` and ``p_value``; fit statistics in ``.attrs``:
        ``outcome``, ``r2``, ``adjusted_r2``, ``n``, ``n_dropped``, ``n_effective``, ``F``, ``p``
        (the F test's p-value), ``df_model``, ``df_resid``."""
        self._check_fitted()
        coef = self.coefficients_.set_index("driver")
        df = self.importance_.copy()
        df["b"] = coef.loc[df["driver"], "b"].to_numpy()
        df["p_value"] = coef.loc[df["driver"], "p_value"].to_numpy()
        p = len(df)
        df.attrs.update(
            outcome=self.outcome,
            r2=self.r2_,
            adjusted_r2=self.adjusted_r2_,
            n=self.n_,
            n_dropped=self.n_dropped_,
            n_effective=self.n_effective_,
            F=self.f_statistic_,
            p=self.f_p_value_,
            df_model=p,
            df_resid=self.n_effective_ - p - 1,
        )
        return df

    def importance_performance(self, frame: pd.DataFrame | None = None, scale=None, *, weights=None) -> pd.DataFrame:
        """Drivers on an importance-performance map: ``driver``, ``importance`` (``relative_weight_pct``),
        ``performance`` and ``quadrant``.

        Performance is each driver's weighted mean in the fitted rows, or its mean in ``frame`` when
        given (weighted by ``weights``; missing ratings skipped), rescaled to 0-100 when
        ``scale=(min, max)`` is given. A driver is of *high importance* when its importance is above
        the drivers' mean importance and of *high performance* when its performance is at or above
        the drivers' mean performance: "Fix first" (high, low), "Keep it up" (high, high), "Low
        priority" (low, low), "Possible overkill" (low importance, high performance). The means are
        in ``.attrs`` (``mean_importance``, ``mean_performance``, ``scale``)."""
        self._check_fitted()
        imp = self.importance_
        drivers = list(imp["driver"])
        if frame is None:
            perf = imp["mean"].to_numpy(dtype=float)
        else:
            perf = _column_means(frame, drivers, weights)
        if scale is not None:
            lo, hi = _checked_scale(scale)
            perf = 100.0 * (perf - lo) / (hi - lo)
        importance = imp["relative_weight_pct"].to_numpy(dtype=float)
        mean_imp, mean_perf = float(importance.mean()), float(perf.mean())
        quadrant = [QUADRANTS[(bool(i > mean_imp), bool(q >= mean_perf))] for i, q in zip(importance, perf)]
        out = pd.DataFrame({"driver": drivers, "importance": importance, "performance": perf, "quadrant": quadrant})
        out.attrs.update(mean_importance=mean_imp, mean_performance=mean_perf, scale=scale)
        return out

    def actions(self, k: int = 3, *, scale=None) -> list[str]:
        """Up to ``k`` plain-words sentences on what to improve: the "Fix first" drivers by importance,
        then the most important of the rest, each with its share of R² (relative weight) and its mean
        rating against the drivers' average (in the fitted rows). ``scale=(min, max)`` adds the
        answer scale to the ratings ("5.8 of 10")."""
        self._check_fitted()
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
            raise ValueError(f"k must be a whole number >= 1 (got {k!r}).")
        ipm = self.importance_performance()
        avg = ipm.attrs["mean_performance"]
        suffix = ""
        if scale is not None:
            lo, hi = _checked_scale(scale)
            suffix = f" of {hi:g}" if lo == 0 else f" on the {lo:g}-{hi:g} scale"
        fix = ipm[ipm["quadrant"] == "Fix first"]
        rest = ipm[ipm["quadrant"] != "Fix first"]
        order = pd.concat([fix, rest]).head(int(k))  # each part already by descending importance
        sentences = []
        n_fix = 0
        for row in order.itertuples(index=False):
            share = f"{row.importance:.0f} % of the explained variation in {self.outcome} (relative weight)"
            score = f"{row.performance:.1f}{suffix}"
            above = "above" if row.performance >= avg else "below"
            vs = f"{above} the drivers' average {avg:.1f}"
            name = f"**{row.driver}**"
            if row.quadrant == "Fix first":
                lead = f"Improve {name} first" if n_fix == 0 else f"Then improve {name}"
                sentences.append(f"{lead}: it explains {share} and scores {score}, {vs}.")
                n_fix += 1
            elif row.quadrant == "Keep it up":
                sentences.append(f"Keep {name} where it is: it explains {share} and scores {score}, {vs}.")
            elif row.quadrant == "Low priority":
                sentences.append(f"Improve {name} later: it scores {score}, {vs}, but explains only {share}.")
            else:
                sentences.append(
                    f"Do not invest more in {name} for now: it explains only {share} and already scores {score}, {vs}."
                )
        return sentences


# ----------------------------------------------------------------------------------------------
def _relative_weights(lam: np.ndarray, V: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Johnson's raw relative weights from the eigen-decomposition ``R = V diag(lam) V'`` and the
    drivers' correlations ``r`` with the outcome (formula in the module docstring)."""
    root = np.sqrt(lam)
    L = (V * root) @ V.T  # R^(1/2): loadings of the drivers on their orthogonal counterparts
    beta_star = (V / root) @ (V.T @ r)  # R^(-1/2) r: the outcome regressed on the counterparts
    return (L**2) @ (beta_star**2)


def r2_all_subsets(R: np.ndarray, r: np.ndarray) -> np.ndarray:
    """R² of the regression on every subset of the drivers, from their correlation matrix ``R``
    (p x p, positive definite) and correlations ``r`` with the outcome: element ``m`` is the R² of
    the subset whose members are the set bits of ``m`` (bit j = driver j; element 0 is 0).

    ``R²(S) = r_S' R_SS^(-1) r_S``, solved in batches of equal-sized subsets."""
    p = len(r)
    masks = np.arange(2**p, dtype=np.uint32)
    bits = np.unpackbits(masks.view(np.uint8).reshape(-1, 4), axis=1, bitorder="little")[:, :p].astype(bool)
    size = bits.sum(axis=1)
    out = np.zeros(2**p)
    for s in range(1, p + 1):
        members = np.flatnonzero(size == s)
        chunk = max(1, _CHUNK_ELEMENTS // (s * s))
        for start in range(0, len(members), chunk):
            sel = members[start : start + chunk]
            idx = np.nonzero(bits[sel])[1].reshape(len(sel), s)
            rs = r[idx]
            sol = np.linalg.solve(R[idx[:, :, None], idx[:, None, :]], rs[:, :, None])[:, :, 0]
            out[sel] = np.einsum("ij,ij->i", rs, sol)
    return out


def shapley_from_subsets(r2: np.ndarray) -> np.ndarray:
    """Shapley values (LMG) of the p drivers from :func:`r2_all_subsets`' vector of ``2^p`` R²:
    ``φ_j = Σ_{S ∌ j} |S|! (p-|S|-1)! / p! · (R²(S ∪ {j}) - R²(S))``."""
    p = round(math.log2(len(r2)))
    if 2**p != len(r2):
        raise ValueError(f"r2 must have 2^p values (got {len(r2)}).")
    masks = np.arange(2**p, dtype=np.int64)
    size = np.unpackbits(masks.astype(np.uint32).view(np.uint8).reshape(-1, 4), axis=1).sum(axis=1)
    # |S|! (p-|S|-1)! / p! = 1 / (p * C(p-1, |S|))
    weight = np.array([1.0 / (p * math.comb(p - 1, s)) for s in range(p)])
    phi = np.empty(p)
    for j in range(p):
        without = masks[(masks >> j) & 1 == 0]
        phi[j] = weight[size[without]] @ (r2[without | (1 << j)] - r2[without])
    return phi


def _checked_scale(scale) -> tuple[float, float]:
    try:
        lo, hi = (float(x) for x in scale)
    except (TypeError, ValueError):
        raise ValueError(f"scale must be (min, max) of the answer scale, e.g. (0, 10) (got {scale!r}).") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
        raise ValueError(f"scale must be (min, max) with max > min (got {scale!r}).")
    return lo, hi


def _column_means(frame: pd.DataFrame, columns: list[str], weights) -> np.ndarray:
    """(Weighted) mean of each column of ``frame``, skipping its missing values."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"Performance: driver column(s) {', '.join(map(repr, missing))} not in the frame given.")
    w = np.ones(len(frame)) if weights is None else np.asarray(weights, dtype=float).reshape(-1)
    if len(w) != len(frame) or not np.isfinite(w).all() or (w < 0).any():
        raise ValueError(f"Performance: weights must be {len(frame):,} finite numbers >= 0, one per row of the frame.")
    means = []
    for c in columns:
        x = frame[c].to_numpy(dtype=float, na_value=np.nan)
        ok = ~np.isnan(x) & (w > 0)
        if not ok.any():
            raise ValueError(f"Performance: column {c!r} has no rating with a positive weight in the frame given.")
        means.append(float(np.average(x[ok], weights=w[ok])))
    return np.array(means)
