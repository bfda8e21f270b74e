"""The bootstrap's unit of work: re-estimate a PLS path model on given resamples.

Kept to numpy and threadpoolctl (no pandas or scipy) because every worker process of a parallel
bootstrap imports it: the import is what a worker pays before its first resample.
"""

from __future__ import annotations

import contextlib

import numpy as np

from .estimate import CoreFit, estimate, total_effects
from .spec import ModelSpec

try:  # installed with scikit-learn (a project dependency)
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover
    threadpool_limits = None

__all__ = ["Layout", "layout", "resample_statistics", "statistics"]

#: (path entries, total-effect entries, endogenous positions); entries are (from, to, i, j).
Layout = tuple[list[tuple[str, str, int, int]], list[tuple[str, str, int, int]], list[int]]


def layout(spec: ModelSpec) -> Layout:
    """Which statistics a resample reports: every path, every pair linked by a chain of paths
    (total effects) and every endogenous construct (R²)."""
    cons = spec.constructs
    paths = [(a, b, cons.index(a), cons.index(b)) for a, b in spec.paths]
    reach = total_effects(spec.adjacency.astype(float)) > 0
    totals = [(cons[i], cons[j], i, j) for i in range(len(cons)) for j in range(len(cons)) if reach[i, j]]
    endo = [j for j in range(len(cons)) if spec.adjacency[:, j].any()]
    return paths, totals, endo


def statistics(core: CoreFit, spec: ModelSpec, lay: Layout) -> np.ndarray:
    """Paths, outer weights, loadings, R² and total effects of one fit, as one vector."""
    paths, totals, endo = lay
    items = np.arange(len(spec.items))
    T = total_effects(core.B)
    return np.concatenate(
        [
            [core.B[i, j] for _, _, i, j in paths],
            core.W[items, spec.block_of],
            core.cross[items, spec.block_of],
            core.r2[endo],
            [T[i, j] for _, _, i, j in totals],
        ]
    )


def resample_statistics(
    raw: np.ndarray,
    spec: ModelSpec,
    scaled: bool,
    scheme: str,
    tol: float,
    max_iter: int,
    reference: np.ndarray,
    lay: Layout,
    seeds,
) -> np.ndarray:
    """One row of :func:`statistics` per seed (a ``numpy.random.SeedSequence``): the rows drawn
    with replacement by ``default_rng(seed)``, standardised afresh, estimated with signs aligned to
    ``reference``. A NaN row when an item has no variance in the resample or it does not converge."""
    n = len(raw)
    paths, totals, endo = lay
    width = len(paths) + 2 * len(spec.items) + len(endo) + len(totals)
    out = np.full((len(seeds), width), np.nan)
    limit = threadpool_limits(limits=1, user_api="blas") if threadpool_limits else contextlib.nullcontext()
    with limit:
        for r, seed in enumerate(seeds):
            X = raw[np.random.default_rng(seed).integers(0, n, size=n)]
            X = X - X.mean(axis=0)
            sd = np.sqrt(np.einsum("ij,ij->j", X, X) / n)
            if (sd <= 1e-12).any():
                continue
            if scaled:
                X = X / sd
            core = estimate(X.T @ X / n, spec, scheme, tol, max_iter, reference=reference)
            if core.converged:
                out[r] = statistics(core, spec, lay)
    return out
