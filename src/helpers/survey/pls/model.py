"""``PLSPathModel``: PLS path modelling (PLS-PM) of customer-satisfaction models, ECSI/ACSI style.

``PLSPathModel(blocks, paths, ...).fit(frame)`` estimates the outer weights, loadings, construct
scores and path coefficients with the algorithm of :mod:`.estimate`, and the quality measures of
:mod:`.quality`. Conventions:

* *Data*: ``scaled=True`` standardises every item (centred, divided by its *population* sd, divisor
  n, as R plspm does); ``scaled=False`` only centres (R plspm's ``scaled=FALSE``; weights then
  refer to the items on their own scale). seminr divides by the sample sd (n - 1) and scales its
  scores to sample variance 1: its weights, loadings and paths are the same numbers, its scores
  are ours times ``sqrt(n / (n - 1))``.
* *Missing answers*: ``missing="mean"`` replaces a missing answer by the item's mean (seminr's
  ``mean_replacement``; ``n_imputed_`` counts the cells); ``"listwise"`` drops respondents with any
  missing item (``n_dropped_``). Only the model's item columns are looked at.
* *Scores* ``scores_``: ``Y = X W`` on the centred/standardised items; mean 0, population variance
  1; rows are the respondents used, labelled with the frame's index.
* *Weights* ``outer_weights_``: the weights of the centred/standardised items in ``Y``; *loadings*:
  correlations of each item with its own construct; ``cross_loadings_``: with every construct.
* *Paths*: ``path_coefficients_`` is a constructs x constructs DataFrame, rows = from, columns = to
  (0 where there is no path), standardised OLS coefficients; ``total_effects_`` and
  ``indirect_effects_`` the same way (total = direct + indirect through every chain of paths).
* *Convergence* is plspm's rule (see :mod:`.estimate`); ``tol=1e-6`` reproduces R plspm to its
  printed digits. Not converging is no error: ``converged_`` is False and ``note_`` says so; the
  estimates are those of the last iteration.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from helpers.core.mle import single_threaded_blas

from . import quality
from .estimate import CoreFit, estimate, total_effects
from .spec import MISSING, SCHEMES, ModelSpec, build_spec

__all__ = ["PLSPathModel", "check_columns", "prepare_items"]


def check_columns(frame: pd.DataFrame, spec: ModelSpec) -> None:
    """Every item column of ``spec`` in ``frame`` and numeric (not boolean); names the construct."""
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"A PLS path model is fitted on a pandas DataFrame (got {type(frame).__name__}).")
    for c in spec.constructs:
        for item in spec.blocks[c]:
            if item not in frame.columns:
                raise ValueError(f"Item column {item!r} of construct {c!r} is not in the data.")
            col = frame[item]
            if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
                raise ValueError(
                    f"Item column {item!r} of construct {c!r} must hold numbers (its type is {col.dtype})."
                )


def prepare_items(frame: pd.DataFrame, spec: ModelSpec, missing: str) -> tuple[np.ndarray, np.ndarray, int, int]:
    """The item columns as a float matrix after the missing-value rule, the positions of the rows
    kept, the number of rows dropped (listwise) and of cells replaced by the item mean."""
    check_columns(frame, spec)
    X = frame[list(spec.items)].to_numpy(dtype=float, na_value=np.nan)
    if np.isinf(X).any():
        bad = [i for i, ok in zip(spec.items, np.isfinite(X) | np.isnan(X)) if not ok.all()]
        raise ValueError(f"Item column(s) {', '.join(map(repr, bad))} hold infinite values.")
    rows, dropped, imputed = np.arange(len(frame)), 0, 0
    gaps = np.isnan(X)
    if gaps.any():
        if missing == "listwise":
            keep = ~gaps.any(axis=1)
            X, rows, dropped = X[keep], rows[keep], int((~keep).sum())
        else:
            empty = gaps.all(axis=0)
            if empty.any():
                i = int(np.argmax(empty))
                raise ValueError(
                    f"Item column {spec.items[i]!r} of construct {spec.constructs[spec.block_of[i]]!r} has no "
                    "answer at all, so its mean cannot replace missing answers."
                )
            X = np.where(gaps, np.nanmean(X, axis=0), X)
            imputed = int(gaps.sum())
    if len(X) < 3:
        raise ValueError(
            f"A PLS path model needs at least 3 respondents with answers; {len(X)} left "
            f"({dropped} dropped for a missing answer)."
        )
    return X, rows, dropped, imputed


def standardise(raw: np.ndarray, spec: ModelSpec, scaled: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centred (and, if ``scaled``, standardised by the population sd) items, their means and sds.
    An item without variance raises a ValueError naming it and its construct."""
    mean = raw.mean(axis=0)
    X = raw - mean
    sd = np.sqrt(np.einsum("ij,ij->j", X, X) / len(X))
    flat = sd <= 1e-12 * np.maximum(1.0, np.abs(mean))
    if flat.any():
        i = int(np.argmax(flat))
        c = spec.constructs[spec.block_of[i]]
        raise ValueError(
            f"Item {spec.items[i]!r} of construct {c!r} has no variance (every answer used is {mean[i]:g}), "
            "so it cannot measure anything; drop it from the block."
        )
    return (X / sd if scaled else X), mean, sd


class PLSPathModel:
    """PLS path model (see the module docstring for the conventions).

    Parameters: ``blocks`` (construct -> item columns), ``paths`` (``(from, to)`` pairs),
    ``modes`` (construct -> "A" reflective or "B" formative; default "A"), ``scheme``
    ("centroid", "factorial" or "path"), ``scaled``, ``missing`` ("mean" or "listwise"), ``tol``
    and ``max_iter`` (the iterations' stopping rule and limit).

    After :meth:`fit`: ``spec_``, ``n_in_`` (rows of the frame), ``n_`` (respondents used),
    ``n_dropped_``, ``n_imputed_``, ``item_means_``,
    ``item_sds_`` (population), ``outer_weights_``, ``loadings_``, ``cross_loadings_``,
    ``construct_correlations_``, ``path_coefficients_``, ``r2_`` (endogenous constructs),
    ``total_effects_``, ``indirect_effects_``, ``scores_``, ``gof_``, ``reliability_``, ``htmt_``,
    ``fornell_larcker_``, ``converged_``, ``iterations_``, ``note_``. :meth:`bootstrap` adds
    ``bootstrap_``.
    """

    def __init__(
        self,
        blocks: Mapping[str, Sequence[str]],
        paths: Sequence[tuple[str, str]],
        modes: Mapping[str, str] | None = None,
        scheme: str = "path",
        scaled: bool = True,
        missing: str = "mean",
        tol: float = 1e-6,
        max_iter: int = 300,
    ):
        self.blocks = blocks
        self.paths = paths
        self.modes = modes
        self.scheme = scheme
        self.scaled = scaled
        self.missing = missing
        self.tol = tol
        self.max_iter = max_iter

    def _checked_spec(self) -> ModelSpec:
        if self.scheme not in SCHEMES:
            raise ValueError(f"scheme must be one of {', '.join(SCHEMES)} (got {self.scheme!r}).")
        if self.missing not in MISSING:
            raise ValueError(f"missing must be 'mean' or 'listwise' (got {self.missing!r}).")
        if not isinstance(self.scaled, bool | np.bool_):
            raise ValueError(f"scaled must be True or False (got {self.scaled!r}).")
        if isinstance(self.tol, bool) or not isinstance(self.tol, int | float) or not self.tol > 0:
            raise ValueError(f"tol must be a positive number (got {self.tol!r}).")
        if isinstance(self.max_iter, bool) or not isinstance(self.max_iter, int | np.integer) or self.max_iter < 1:
            raise ValueError(f"max_iter must be a positive whole number (got {self.max_iter!r}).")
        return build_spec(self.blocks, self.paths, self.modes)

    # ------------------------------------------------------------------------------------
    def fit(self, frame: pd.DataFrame) -> PLSPathModel:
        """Estimate the model on ``frame`` (one row per respondent; only the item columns are
        read). Returns self; a previous ``bootstrap_`` is discarded."""
        spec = self._checked_spec()
        raw, positions, dropped, imputed = prepare_items(frame, spec, self.missing)
        rows = frame.index[positions]
        X, mean, sd = standardise(raw, spec, bool(self.scaled))
        with single_threaded_blas():
            S = X.T @ X / len(X)
            core = estimate(S, spec, self.scheme, float(self.tol), int(self.max_iter))
            scores = X @ core.W
        self._raw, self._core = raw, core
        self.__dict__.pop("bootstrap_", None)
        self._set_results(spec, core, S, scores, rows, mean, sd)
        self.n_dropped_, self.n_imputed_, self.n_in_, self._positions = dropped, imputed, len(frame), positions
        return self

    def _set_results(self, spec, core: CoreFit, S, scores, rows, mean, sd) -> None:
        items, cons = list(spec.items), list(spec.constructs)
        k = len(cons)
        own = core.cross[np.arange(len(items)), spec.block_of]
        self.spec_ = spec
        self.n_ = len(scores)
        self.item_means_ = pd.Series(mean, index=items, name="mean")
        self.item_sds_ = pd.Series(sd, index=items, name="sd")
        self.outer_weights_ = pd.Series(core.W[np.arange(len(items)), spec.block_of], index=items, name="weight")
        self.loadings_ = pd.Series(own, index=items, name="loading")
        self.cross_loadings_ = pd.DataFrame(core.cross, index=items, columns=cons)
        self.construct_correlations_ = pd.DataFrame(core.phi, index=cons, columns=cons)
        self.path_coefficients_ = pd.DataFrame(core.B, index=cons, columns=cons)
        endo = [j for j in range(k) if np.isfinite(core.r2[j])]
        self.r2_ = pd.Series(core.r2[endo], index=[cons[j] for j in endo], name="r2")
        total = total_effects(core.B)
        self.total_effects_ = pd.DataFrame(total, index=cons, columns=cons)
        self.indirect_effects_ = pd.DataFrame(total - core.B, index=cons, columns=cons)
        self.scores_ = pd.DataFrame(scores, index=rows, columns=cons)
        d = np.sqrt(np.diag(S))
        R = S / np.outer(d, d)
        self.reliability_ = quality.reliability(R, own, spec)
        self.htmt_ = quality.htmt(R, spec)
        self.fornell_larcker_ = quality.fornell_larcker(core.phi, self.reliability_["ave"].to_numpy(), spec)
        self.gof_ = quality.gof(own, core.r2, spec)
        self.converged_ = bool(core.converged)
        self.iterations_ = int(core.iterations)
        if core.converged:
            self.note_ = f"Converged in {core.iterations} iterations (tolerance {self.tol:g})."
        elif not np.isfinite(core.change):
            self.note_ = (
                f"The PLS iterations broke down at iteration {core.iterations} (the weights stopped being finite "
                "numbers), so the estimates are not usable; check for blocks whose items are (nearly) collinear "
                "or barely correlate with the rest of the model."
            )
        else:
            self.note_ = (
                f"The PLS iterations did not converge within {self.max_iter} iterations (last change "
                f"{core.change:.3g}, tolerance {self.tol:g}). The estimates are those of the last iteration and "
                "may not be reliable; try the path or factorial scheme, a larger max_iter, or check for blocks "
                "whose items barely correlate with each other."
            )

    def _check_fitted(self) -> None:
        if not hasattr(self, "spec_"):
            raise ValueError("This PLSPathModel is not fitted yet: call fit(frame) first.")

    # ------------------------------------------------------------------------------------
    def effects(self) -> pd.DataFrame:
        """Every pair linked by a chain of paths: ``from, to, direct, indirect, total``."""
        self._check_fitted()
        cons = list(self.spec_.constructs)
        total = self.total_effects_.to_numpy()
        direct = self.path_coefficients_.to_numpy()
        linked = total_effects(self.spec_.adjacency.astype(float)) > 0  # a chain of paths from i to j
        rows = [
            {"from": a, "to": b, "direct": direct[i, j], "indirect": total[i, j] - direct[i, j], "total": total[i, j]}
            for i, a in enumerate(cons)
            for j, b in enumerate(cons)
            if linked[i, j]
        ]
        return pd.DataFrame(rows, columns=["from", "to", "direct", "indirect", "total"])

    def summary(self):
        """The results as a :class:`~.results.PLSSummary` (a dict of tables with a text form)."""
        from .results import summarise

        self._check_fitted()
        return summarise(self)

    def bootstrap(self, n: int = 500, seed: int | None = 0, n_jobs: int | None = None, level: float = 0.95):
        """Bootstrap standard errors, t values and percentile intervals (see :mod:`.bootstrap`);
        the result is returned and kept as ``bootstrap_``."""
        from .bootstrap import run_bootstrap

        self._check_fitted()
        self.bootstrap_ = run_bootstrap(self, n=n, seed=seed, n_jobs=n_jobs, level=level)
        return self.bootstrap_

    def index_scores(self, scale=None) -> pd.DataFrame:
        """0-100 index per respondent and construct (see :mod:`.index`)."""
        from .index import index_scores

        return index_scores(self, scale=scale)

    def index_means(self, groups=None, scale=None, level: float = 0.95) -> pd.DataFrame:
        """Mean index per construct (and group) with a t interval (see :mod:`.index`)."""
        from .index import index_means

        return index_means(self, groups=groups, scale=scale, level=level)

    def importance_performance(self, target: str, scale=None) -> pd.DataFrame:
        """Construct-level importance-performance map for ``target`` (see :mod:`.index`)."""
        from .index import importance_performance

        return importance_performance(self, target, scale=scale)
