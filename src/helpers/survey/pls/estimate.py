"""The PLS path-modelling algorithm (Wold; Lohmöller 1989; Tenenhaus et al. 2005), on moments.

Everything works on the items' moment matrix ``S = X'X / n`` of the centred (``scaled=False``) or
standardised (``scaled=True``; divided by the population sd) items ``X``: with outer weights ``W``
(items x constructs, zero outside each block) the construct scores are ``Y = X W``, so
``cov(Y) = W'SW`` and ``X'Y / n = S W``. The data are read once (``X'X``); the iterations cost
O(items² x constructs) whatever the number of respondents, and a bootstrap resample only needs
its own ``S``.

Iteration (as R plspm's ``get_weights``, Sanchez 2013, ch. 2-3):

1. start from weights 1 per item, scaled so each construct has variance 1;
2. outer estimate: ``W`` normalised to ``diag(W'SW) = 1``; ``Φ = W'SW`` (construct correlations);
3. inner weights ``E`` (constructs x constructs; ``Z_j = Σ_i Y_i E[i, j]`` over neighbours of j):
   *centroid* ``sign(Φ)``, *factorial* ``Φ``, *path* the coefficients of the regression of j on
   its predecessors for those, ``Φ[i, j]`` for its successors;
4. new weights from ``C = X'Z / n = S W E``: Mode A ``w_j = C[block, j]`` (covariances of the items
   with the inner proxy), Mode B ``w_j = S_bb⁻¹ C[block, j]`` (regression of the proxy on the items);
5. stop when ``Σ (|w_old| - |w_new|)² < tol`` over all items (plspm's rule, on the un-normalised
   weights of step 4; the first comparison is with the starting weights), else go to 2.

After the loop ``W`` is normalised again. Sign: a construct whose items mostly have negative
loadings is flipped (the weights and scores change sign), so each construct points the way most
of its items do; with a ``reference`` (the bootstrap) each construct is instead aligned with the
reference weights (``Σ w·w_ref >= 0``, Tenenhaus et al.'s construct-level sign change).
Structural part: each endogenous construct is regressed (OLS) on its predecessors' scores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .spec import ModelSpec

__all__ = ["CoreFit", "estimate", "inner_weights", "structural", "total_effects"]


@dataclass
class CoreFit:
    """What the algorithm returns. ``W`` outer weights (items x constructs, ``diag(W'SW) = 1``);
    ``phi`` construct correlations; ``cross`` item-construct correlations (cross-loadings);
    ``B`` path coefficients ``[from, to]``; ``r2`` per construct (NaN if exogenous);
    ``iterations``; ``converged``; ``change`` the last value of the stopping rule."""

    W: np.ndarray
    phi: np.ndarray
    cross: np.ndarray
    B: np.ndarray
    r2: np.ndarray
    iterations: int
    converged: bool
    change: float


def _normalise(W: np.ndarray, S: np.ndarray) -> np.ndarray:
    var = np.einsum("ij,ik,kj->j", W, S, W)
    with np.errstate(divide="ignore", invalid="ignore"):
        return W / np.sqrt(var)


def inner_weights(phi: np.ndarray, spec: ModelSpec, scheme: str) -> np.ndarray:
    """The inner weights ``E`` of the scheme (see the module docstring)."""
    adj = spec.adjacency
    if scheme == "centroid":
        return np.sign(phi) * (adj | adj.T)
    if scheme == "factorial":
        return phi * (adj | adj.T)
    E = phi * adj.T  # a successor f of i (i -> f) enters Z_i with Φ[f, i]
    for j, pred in enumerate(spec.preds):
        if pred.size:
            E[pred, j] = _regression(phi, pred, j)
    return E


def _regression(phi: np.ndarray, pred: np.ndarray, j: int) -> np.ndarray:
    """OLS coefficients of construct ``j`` on ``pred`` from their (co)variances ``phi``."""
    if pred.size == 1:
        return phi[pred, j] / phi[pred, pred]
    return np.linalg.solve(phi[pred[:, None], pred], phi[pred, j])


def structural(phi: np.ndarray, spec: ModelSpec) -> tuple[np.ndarray, np.ndarray]:
    """Path coefficients ``B[from, to]`` and R² (NaN for exogenous constructs) by OLS on ``Φ``."""
    k = len(spec.constructs)
    B = np.zeros((k, k))
    r2 = np.full(k, np.nan)
    for j, pred in enumerate(spec.preds):
        if pred.size:
            beta = _regression(phi, pred, j)
            B[pred, j] = beta
            r2[j] = float(phi[pred, j] @ beta)
    return B, r2


def total_effects(B: np.ndarray) -> np.ndarray:
    """Total effects ``[from, to]`` of a recursive model: ``(I - B)⁻¹ - I`` (= B + B² + ...)."""
    k = B.shape[0]
    return np.linalg.solve(np.eye(k) - B.T, np.eye(k)).T - np.eye(k)


def _outer_update(C: np.ndarray, S: np.ndarray, spec: ModelSpec, solvers: dict) -> np.ndarray:
    W = C * spec.mask
    for j in np.flatnonzero(spec.mode_b):
        b = spec.positions[j]
        W[b, j] = solvers[j](C[b, j])
    return W


def _mode_b_solvers(S: np.ndarray, spec: ModelSpec) -> dict:
    """Per formative block, a solver of ``S_bb w = c`` (Cholesky factor computed once)."""
    out = {}
    for j in np.flatnonzero(spec.mode_b):
        b = spec.positions[j]
        Sbb = S[np.ix_(b, b)]
        try:
            L = np.linalg.cholesky(Sbb)
            out[j] = lambda c, L=L: np.linalg.solve(L.T, np.linalg.solve(L, c))
        except np.linalg.LinAlgError:  # collinear formative items: least squares (minimum norm)
            pinv = np.linalg.pinv(Sbb)
            out[j] = lambda c, P=pinv: P @ c
    return out


def estimate(
    S: np.ndarray,
    spec: ModelSpec,
    scheme: str,
    tol: float,
    max_iter: int,
    reference: np.ndarray | None = None,
) -> CoreFit:
    """Run the algorithm on the moment matrix ``S`` (see the module docstring)."""
    solvers = _mode_b_solvers(S, spec)
    W = _normalise(spec.mask.copy(), S)
    w_old = W.sum(axis=1)
    converged, change, iterations = False, np.inf, 0
    while iterations < max_iter:
        iterations += 1
        Wn = _normalise(W, S)
        SW = S @ Wn
        phi = Wn.T @ SW
        W = _outer_update(SW @ inner_weights(phi, spec, scheme), S, spec, solvers)
        w_new = W.sum(axis=1)
        change = float(np.sum((np.abs(w_old) - np.abs(w_new)) ** 2))
        if not np.isfinite(change):
            break
        if change < tol:
            converged = True
            break
        w_old = w_new
    W = _normalise(W, S)
    SW = S @ W
    cross = SW / np.sqrt(np.diag(S))[:, None]
    if reference is None:
        loads = (cross * spec.mask).T  # constructs x items
        flip = np.sign(loads).sum(axis=1) < 0
    else:
        flip = (W * reference).sum(axis=0) < 0
    if flip.any():
        sign = np.where(flip, -1.0, 1.0)
        W, SW, cross = W * sign, SW * sign, cross * sign
    phi = W.T @ SW
    np.fill_diagonal(phi, 1.0)
    B, r2 = structural(phi, spec)
    return CoreFit(W=W, phi=phi, cross=cross, B=B, r2=r2, iterations=iterations, converged=converged, change=change)
