"""Moving-block residual bootstrap of the marketing-mix model and the model's responses to spend.

:func:`block_bootstrap` refits the transform parameters and the linear part on ``fitted +
residuals resampled in blocks`` (blocks of :data:`BLOCK` weeks keep the residuals'
autocorrelation), each refit starting from the point estimate. Draw i uses its own random
stream ``default_rng([seed, 2, i])``, so a draw does not depend on the others.

:class:`Responses` evaluates a fitted parameter set (point estimate or draw) on spend patterns
scaled per channel: each channel's contribution over the modelled period and the synergy term.
"""

from __future__ import annotations

import numpy as np

from .mmm_fit import Media, Solution, VarPro, fit_theta

__all__ = ["BLOCK", "Responses", "block_bootstrap"]

BLOCK = 6  # weeks per resampled block of residuals (at most a quarter of the series)


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
