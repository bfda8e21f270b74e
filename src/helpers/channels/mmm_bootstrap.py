"""Draws of the marketing-mix model's parameters and the model's responses to spend.

:func:`block_bootstrap` refits the transform parameters and the linear part on ``fitted +
residuals resampled in blocks`` (blocks of :data:`BLOCK` weeks keep the residuals'
autocorrelation), each refit starting from the posterior mode. Draw i uses its own random
stream ``default_rng([seed, 2, i])``, so a draw does not depend on the others.

:class:`Responses` evaluates a fitted parameter set (point estimate or draw) on spend patterns
scaled per channel: each channel's contribution over the modelled period and the synergy term.

:func:`posterior_draws` samples the posterior of the transform parameters by importance sampling
(the model's point estimate is the posterior mean, see :mod:`.mmm`): the linear coefficients are
integrated out analytically (flat priors; the bound beta >= 0 is ignored there, while each
draw takes its least-squares coefficients, beta >= 0 by NNLS), so the marginal posterior of theta
is, up to a constant, exp(-objective(theta) / (2 sigma^2)) / sqrt(det(B'B)), with ``objective``
the residual sum of squares plus the prior penalty (:meth:`.mmm_fit.VarPro.set_penalty`), sigma^2 the noise
variance estimated by least squares and B the media (and synergy) columns with the fixed columns
projected out. Proposals: a multivariate t (:data:`T_DF` degrees of freedom) around the posterior
mode with the Laplace covariance (Gauss-Newton, from the Jacobian) widened by :data:`WIDEN`,
truncated to the search box (the priors are truncated there too); each draw is weighted by
target / proposal density, and the weighted draws are then resampled systematically to at most
:data:`N_KEEP` distinct ones (weight: how often each is picked), which keeps the response
functions that the budget optimiser calls fast. :class:`Mixture` evaluates the weighted draws
together (posterior means of contributions and responses), vectorised over the draws.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import nnls

from .mmm_fit import Media, Solution, VarPro, fit_theta, saturate

__all__ = [
    "BLOCK",
    "N_KEEP",
    "T_DF",
    "WIDEN",
    "Mixture",
    "Responses",
    "adstocked",
    "block_bootstrap",
    "posterior_draws",
]

BLOCK = 6  # weeks per resampled block of residuals (at most a quarter of the series)
T_DF = 4.0  # degrees of freedom of the multivariate t proposal (heavy tails: robust weights)
WIDEN = 1.5  # the proposal's scale over the Laplace approximation's
N_KEEP = 200  # systematic resampling of the weighted draws to this many (fast response functions)


def block_bootstrap(
    problem: VarPro, point: Solution, fitted: np.ndarray, resid: np.ndarray, n_draws: int, seed: int
) -> list[Solution]:
    """``n_draws`` refits on fitted + moving-block-resampled residuals (all rows of ``problem``)."""
    n = len(resid)
    b = max(1, min(BLOCK, n // 4))
    n_blocks = -(-n // b)
    y0 = problem.y * problem.ysd
    draws = []
    try:
        for i in range(int(n_draws)):
            rng = np.random.default_rng([int(seed), 2, i])
            starts = rng.integers(0, n - b + 1, n_blocks)
            idx = (starts[:, None] + np.arange(b)).ravel()[:n]
            problem.set_y(fitted + resid[idx])
            draws.append(fit_theta(problem, [point.z])[0])
    finally:
        problem.set_y(y0)
    return draws


class Responses:
    """Contributions of the modelled channels (``X``: spend / spend scale, n x K active channels)
    under a parameter set, when channel c's weekly pattern is multiplied by ``factor[c]``."""

    def __init__(self, media: Media, X: np.ndarray, synergy=None):
        self.media, self.X, self.synergy = media, X, synergy

    def columns(self, z: np.ndarray, factors: np.ndarray | None = None) -> np.ndarray:
        X = self.X if factors is None else self.X * np.asarray(factors, float)[None, :]
        return self.media.columns(X, z)[0]

    def channel_totals(self, z: np.ndarray, beta: np.ndarray, factors=None) -> np.ndarray:
        """Each channel's contribution summed over the period (target units)."""
        return beta * self.columns(z, factors).sum(axis=0)

    def synergy_total(self, z: np.ndarray, gamma: float, factors=None) -> float:
        if self.synergy is None:
            return 0.0
        M = self.columns(z, factors)
        return float(gamma * (M[:, self.synergy[0]].sum(axis=1) * M[:, self.synergy[1]].sum(axis=1)).sum())

    def curve(self, c: int, z: np.ndarray, beta: np.ndarray, multipliers: np.ndarray) -> np.ndarray:
        """Channel c's total contribution at each multiplier of its historical pattern."""
        p = self.media.p
        mult = np.asarray(multipliers, float)
        X = self.X[:, [c]] * mult[None, :]
        zc = np.tile(np.asarray(z).reshape(-1, p)[c], len(mult))
        return beta[c] * self.media.columns(X, zc)[0].sum(axis=0)


def posterior_draws(
    problem: VarPro, mode: Solution, sigma2: float, n: int, seed: int
) -> tuple[list[Solution], np.ndarray, float]:
    """``n`` importance-sampling draws of theta (all rows of ``problem``, its penalty as set),
    resampled to at most :data:`N_KEEP` distinct draws: (draws, weights summing to 1, effective
    number of the ``n`` weighted draws). Just the mode (weight 1) when the noise variance is 0 or
    ``n`` < 1."""
    media, K = problem.media, problem.X.shape[1]
    if n < 1 or not np.isfinite(sigma2) or sigma2 <= 1e-20 * problem.ysd**2:
        return [mode], np.ones(1), 1.0
    lo, hi = np.tile(media.lo, K), np.tile(media.hi, K)
    J = problem.jacobian(mode.z)
    # Gauss-Newton precision of theta; the box-wide ridge keeps flat directions (no prior) explorable
    prec = J.T @ J * problem.ysd**2 / sigma2 + np.diag((4.0 / (hi - lo)) ** 2)
    L = np.linalg.cholesky(np.linalg.inv(prec)) * WIDEN
    rng = np.random.default_rng([int(seed), 3])
    d, zs, us = len(lo), [], []
    for _ in range(100):  # truncation to the box by rejection
        u = rng.standard_normal((n, d)) / np.sqrt(rng.chisquare(T_DF, n) / T_DF)[:, None]
        z = mode.z + u @ L.T
        ok = ((z >= lo) & (z <= hi)).all(axis=1)
        zs.append(z[ok])
        us.append(u[ok])
        if sum(map(len, zs)) >= n:
            break
    Z, U = np.concatenate(zs)[:n], np.concatenate(us)[:n]
    if not len(Z):
        return [mode], np.ones(1), 1.0
    log_q = -(T_DF + d) / 2.0 * np.log1p((U * U).sum(axis=1) / T_DF)
    draws, objective, logdet = _evaluate(problem, Z)
    log_w = np.where(np.isfinite(logdet), -objective / (2.0 * sigma2) - 0.5 * logdet, -np.inf) - log_q
    if not np.isfinite(log_w).any():
        return [mode], np.ones(1), 1.0
    w = np.exp(log_w - log_w.max())
    w /= w.sum()
    ess = float(1.0 / (w @ w))
    if N_KEEP and len(w) > N_KEEP:  # systematic resampling: each kept draw weighted by its count
        cum = np.cumsum(w)
        idx = np.minimum(np.searchsorted(cum, (rng.random() + np.arange(N_KEEP)) / N_KEEP * cum[-1]), len(w) - 1)
        keep, count = np.unique(idx, return_counts=True)
        return [draws[i] for i in keep], count / N_KEEP, ess
    return draws, w, ess


def _evaluate(problem: VarPro, Z: np.ndarray) -> tuple[list[Solution], np.ndarray, np.ndarray]:
    """Each row of Z as a :class:`Solution`, its objective and log det(B'B) (B: the media and
    synergy columns with the fixed ones projected out; -inf when singular). Vectorised over the
    rows without synergy (same algebra as :meth:`VarPro.solution`), one by one with it."""
    Qf, ysd, K = problem.Qf, problem.ysd, problem.X.shape[1]
    if problem.synergy is not None:
        out, obj, logdet = [], np.empty(len(Z)), np.empty(len(Z))
        problem.deriv = False
        try:
            for i, z in enumerate(Z):
                out.append(problem.solution(z))
                st = problem._solve(z, False)
                B = np.column_stack([st.M, st.s])
                B = B - Qf @ (Qf.T @ B)
                sign, ld = np.linalg.slogdet(B.T @ B)
                obj[i], logdet[i] = out[-1].objective, ld if sign > 0 else -np.inf
        finally:
            problem.deriv = True
        return out, obj, logdet
    nat = problem.media.natural(Z).reshape(len(Z), K, -1)
    M = saturate(problem.media.saturation, adstocked(problem.media, problem.X, nat), _sat_params(problem.media, nat))
    M = M[:, problem.rows]  # (D, n, K)
    yr = problem.y - Qf @ (Qf.T @ problem.y)
    Mr = M - np.einsum("tq,dqk->dtk", Qf, np.einsum("tq,dtk->dqk", Qf, M))
    cap = 50 * K + 50
    fits = [nnls(m, yr, maxiter=cap) for m in Mr]
    beta = np.array([b for b, _ in fits])
    rss = np.array([r * r for _, r in fits])
    obj = rss.copy()
    if problem.prior is not None:
        centre, wt = problem.prior
        pen = wt / ysd * (Z - centre)
        obj += (pen * pen).sum(axis=1)
    free = (problem.y[None, :] - np.einsum("dtk,dk->dt", M, beta)) @ np.linalg.pinv(problem.F).T
    sign, logdet = np.linalg.slogdet(np.einsum("dtk,dtj->dkj", Mr, Mr))
    sols = [
        Solution(z, b * ysd, f * ysd, float(r) * ysd**2, True, "", 0, float(o) * ysd**2)
        for z, b, f, r, o in zip(Z, beta, free, rss, obj)
    ]
    return sols, obj * ysd**2, np.where(sign > 0, logdet, -np.inf)


def adstocked(media: Media, X: np.ndarray, nat: np.ndarray) -> np.ndarray:
    """Adstocked scaled spend (D, n, K) of X (n, K) under D parameter sets ``nat`` (D, K, p)."""
    D, K = nat.shape[:2]
    n = X.shape[0]
    if media.adstock == "geometric":  # as transforms.geometric_weights, vectorised
        W = nat[:, :, :1] ** np.arange(media.l_max, dtype=float)
        W = W / W.sum(axis=2, keepdims=True) if media.normalize else W
    else:
        W = np.array([[media.weights(nat[d, c, : media.n_ad]) for c in range(K)] for d in range(D)])
    lags = np.zeros((n, K, media.l_max))  # lags[t, c, l] = X[t - l, c], 0 before the first row
    for lag in range(min(media.l_max, n)):
        lags[lag:, :, lag] = X[: n - lag]
    return np.einsum("dcl,tcl->dtc", W, lags)


def _sat_params(media: Media, nat: np.ndarray) -> list[np.ndarray]:
    """Saturation parameters (each D, 1, K) broadcasting against adstocked spend (D, n, K)."""
    return [nat[:, None, :, media.n_ad + j] for j in range(media.p - media.n_ad)]


class Mixture:
    """Weighted parameter sets (posterior draws, or the mode alone) evaluated together: the
    posterior means of the media columns' contributions, the synergy term and the free
    coefficients. Draws with a weight under 1e-9 of the largest are dropped (their total weight
    is negligible), the rest renormalised."""

    def __init__(self, media: Media, X: np.ndarray, sols: list[Solution], weights, n_free: int, synergy=None):
        w = np.asarray(weights, float)
        keep = np.flatnonzero(w >= 1e-9 * w.max())
        self.w = w[keep] / w[keep].sum()
        sols = [sols[i] for i in keep]
        self.media, self.synergy = media, synergy
        nat = np.array([media.natural(s.z) for s in sols])  # (D, K, p)
        self.beta = np.array([s.beta for s in sols])  # (D, K)
        self.free = np.array([s.free for s in sols])
        self.gamma = self.free[:, n_free] if synergy is not None else None
        self.A = adstocked(media, X, nat)  # (D, n, K)
        self.sat = _sat_params(media, nat)

    def columns(self, factors=None) -> np.ndarray:
        """Media columns per draw (D, n, K) with channel c's spend multiplied by ``factors[c]``."""
        A = self.A if factors is None else self.A * np.asarray(factors, float)[None, None, :]
        return saturate(self.media.saturation, A, self.sat)

    def weekly(self) -> tuple[np.ndarray, np.ndarray | None]:
        """Posterior mean of each channel's weekly contribution (n, K) and of the synergy term (n,)."""
        M = self.columns()
        media = np.einsum("d,dk,dtk->tk", self.w, self.beta, M)
        return media, self._synergy(M)

    def _synergy(self, M: np.ndarray) -> np.ndarray | None:
        if self.synergy is None:
            return None
        s = M[:, :, self.synergy[0]].sum(axis=2) * M[:, :, self.synergy[1]].sum(axis=2)
        return (self.w * self.gamma) @ s

    def free_mean(self) -> np.ndarray:
        return self.w @ self.free

    def channel_totals(self, factors=None) -> np.ndarray:
        """Posterior mean of each channel's contribution summed over the period (target units)."""
        return self.w @ (self.beta * self.columns(factors).sum(axis=1))

    def synergy_total(self, factors=None) -> float:
        if self.synergy is None:
            return 0.0
        return float(self._synergy(self.columns(factors)).sum())

    def curve(self, c: int, multipliers: np.ndarray) -> np.ndarray:
        """Posterior mean of channel c's total contribution at each multiplier of its pattern."""
        return (self.w * self.beta[:, c]) @ self._saturated_totals(c, multipliers)

    def draw_curves(self, c: int, multipliers: np.ndarray) -> np.ndarray:
        """Channel c's total contribution at each multiplier of its pattern under each parameter
        set (D, m), all sets at once."""
        return self.beta[:, c, None] * self._saturated_totals(c, multipliers)

    def _saturated_totals(self, c: int, multipliers: np.ndarray) -> np.ndarray:
        """Channel c's saturated media summed over the weeks (D, m): adstock is linear in spend, so
        the adstocked pattern is scaled, not recomputed."""
        a = self.A[:, :, c, None] * np.asarray(multipliers, float)[None, None, :]  # (D, n, m)
        return saturate(self.media.saturation, a, [p[:, :, c, None] for p in self.sat]).sum(axis=1)
