"""BG/NBD model of repeat purchasing: Fader, Hardie & Lee (2005), "'Counting Your Customers' the
Easy Way: An Alternative to the Pareto/NBD Model", *Marketing Science* 24(2), 275-284.
Implemented from the published formulas."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import special

from helpers.core.mle import dot

from ._inputs import _check_finite, _factorize, _first_index, _to_float_array, _unique_rows, _wrap
from .base import RFMData, TransactionModel


def _jacobi_beta_nodes(a: float, b: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes/weights for expectations under p ~ Beta(a, b) (Gauss-Jacobi on [0, 1])."""
    y, wts = special.roots_jacobi(n, b - 1.0, a - 1.0)  # weight (1-y)^(b-1) (1+y)^(a-1)
    p = 0.5 * (1.0 + y)
    wts = wts / wts.sum()
    return p, wts


def _beta_expect_g(a: float, bprime: np.ndarray, k: np.ndarray, c: np.ndarray) -> np.ndarray:
    """E[(1 - (1 + p c)^(-k)) / p] for p ~ Beta(a, bprime), elementwise, by Gauss-Jacobi.

    The integrand is bounded (it tends to k c as p -> 0), so this is finite for every a > 0,
    including a <= 1 where E[1/p] is infinite; it is evaluated without cancellation via expm1.
    """
    out = np.empty(k.size)
    bu, ib = _factorize(bprime)
    for j, bv in enumerate(bu):
        rows = np.flatnonzero(ib == j)
        cmax = float(c[rows].max()) if rows.size else 0.0
        n = int(min(3000, max(48, math.ceil(14.0 * math.sqrt(cmax) + 40))))
        p, wts = _jacobi_beta_nodes(a, float(bv), n)
        for s in range(0, rows.size, 8192):
            rr = rows[s : s + 8192]
            pc = np.log1p(np.outer(c[rr], p))
            vals = -np.expm1(-k[rr, None] * pc) / p[None, :]
            out[rr] = np.einsum("ij,j->i", vals, wts)
    return out


class BetaGeoModel(TransactionModel):
    """BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005).

    While alive a customer buys at Poisson rate lambda, lambda ~ Gamma(shape r, rate alpha); after
    every repeat purchase the customer drops out with probability p, p ~ Beta(a, b).

    Parameters
    ----------
    penalizer : float, default 0
        L2 penalty: ``penalizer * sum(theta**2)`` is added to the mean negative log-likelihood per
        customer (theta = (r, alpha, a, b)). Shrinks extreme estimates on sparse data.
    tol : float, default 1e-8
        Gradient tolerance for L-BFGS-B (on the mean objective in log-parameters); the result is
        then polished with Newton steps.
    maxiter : int, default 2000
        Maximum L-BFGS-B iterations.
    initial_params : dict or sequence, optional
        Starting values for (r, alpha, a, b).

    Attributes (after ``fit``)
    --------------------------
    params_ : dict  -- r, alpha, a, b (alpha in the time unit of recency/T)
    standard_errors_ : dict, covariance_ : DataFrame
    log_likelihood_, aic_, bic_ : float
    n_customers_ : int, converged_ : bool, n_iter_ : int
    """

    _param_names = ("r", "alpha", "a", "b")
    _model_name = "BG/NBD"

    def _default_start(self, data: RFMData) -> np.ndarray:
        mean_T = dot(data.WT, data.Tu) / data.N
        rate = max(data.total_x / data.N, 1e-3) / max(mean_T, 1e-9)
        return np.array([1.0, 1.0 / rate, 1.0, 1.0])

    def _nll_grad(self, theta: np.ndarray, D: RFMData) -> tuple[float, np.ndarray]:
        r, alpha, a, b = theta
        xs = D.xu
        psi = special.digamma
        lg = special.gammaln(r + xs) - special.gammaln(r)
        B1 = special.betaln(a, b + xs) - special.betaln(a, b)
        logaT = np.log(alpha + D.Tu)
        invaT = 1.0 / (alpha + D.Tu)
        coefT = r * D.WT + D.WXT
        ll = dot(D.Wx, (lg + B1)) + D.N * r * math.log(alpha) - dot(coefT, logaT)
        g = np.array(
            [
                dot(D.Wx, psi(r + xs) - psi(r)) + D.N * math.log(alpha) - dot(D.WT, logaT),
                D.N * r / alpha - dot(coefT, invaT),
                dot(D.Wx, psi(a + b) - psi(a + b + xs)),
                dot(D.Wx, psi(b + xs) - psi(a + b + xs) - psi(b) + psi(a + b)),
            ]
        )
        # second branch (drop-out right after the last purchase) exists only for x > 0
        pos = D.x > 0
        if pos.any():
            ix, itx, iT, w, x = D.ix[pos], D.itx[pos], D.iT[pos], D.w[pos], D.x[pos]
            xpos = np.where(xs > 0, xs, 1.0)
            logc = math.log(a) - np.log(b + xpos - 1.0)  # log(a / (b + x - 1))
            logatx = np.log(alpha + D.txu)
            invatx = 1.0 / (alpha + D.txu)
            dlog = logatx[itx] - logaT[iT]  # <= 0
            rx = r + x
            d = logc[ix] - rx * dlog
            # softplus(d) and sigmoid(d) from one exponential
            e = np.exp(-np.abs(d))
            ll += dot(w, np.maximum(d, 0.0) + np.log1p(e))
            sig = e / (1.0 + e)
            np.subtract(1.0, sig, out=sig, where=d >= 0)
            wp = w * sig
            g[0] -= dot(wp, dlog)
            wp_rx = wp * rx
            g[1] -= dot(np.bincount(itx, weights=wp_rx, minlength=invatx.size), invatx) - dot(
                np.bincount(iT, weights=wp_rx, minlength=invaT.size), invaT
            )
            g[2] += float(wp.sum()) / a
            g[3] -= dot(np.bincount(ix, weights=wp, minlength=xs.size), (1.0 / (b + xpos - 1.0)))
        return -ll, -g

    # -- predictions --------------------------------------------------------------------------
    def _log_odds_dead(self, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray:
        r, alpha, a, b = self._theta()
        out = np.full(x.size, -np.inf)
        pos = x > 0
        xp = x[pos]
        out[pos] = math.log(a) - np.log(b + xp - 1.0) + (r + xp) * (np.log(alpha + T[pos]) - np.log(alpha + tx[pos]))
        return out

    def p_alive(self, frequency: Any, recency: Any, T: Any) -> Any:
        """P(customer still alive at T | x, t_x, T). Equals 1 when frequency is 0 (BG/NBD
        customers can only drop out right after a repeat purchase)."""
        x, tx, TT, index, scalar = self._predict_inputs(frequency, recency, T)
        return _wrap(special.expit(-self._log_odds_dead(x, tx, TT)), index, scalar, "p_alive")

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> Any:
        """Conditional expected number of purchases in (T, T + t] (FHL 2005, eq. 10).

        ``t`` is in the time unit of recency/T (scalar, or one value per customer). Computed as
        P(alive) * E[(1 - (1 + p t / (alpha + T))^-(r + x)) / p] with p ~ Beta(a, b + x), the
        expectation by Gauss-Jacobi quadrature (equal to eq. 10, but without its cancellation).
        """
        x, tx, TT, index, scalar = self._predict_inputs(frequency, recency, T)
        tt = self._horizon(t, x.size)
        r, alpha, a, b = self._theta()
        pa = special.expit(-self._log_odds_dead(x, tx, TT))
        # the expectation depends on (x, T, t) only: evaluate each distinct combination once
        if tt.size and np.all(tt == tt[0]):  # one horizon for all (the usual case): rows of (x, T)
            (ux, uT), inv = _unique_rows(x, TT)
            ut = np.full(ux.size, tt[0])
        else:
            (ux, uT, ut), inv = _unique_rows(x, TT, tt)
        G = _beta_expect_g(a, b + ux, r + ux, ut / (alpha + uT))
        return _wrap(pa * G[inv], index, scalar, "expected_purchases")

    def expected_purchases_new_customer(self, t: Any) -> Any:
        """Unconditional E[X(t)]: expected repeat purchases in (0, t] for a new customer (FHL 2005
        eq. 9), t in the time unit of the fit. Scalar in, float out; array in, array out."""
        r, alpha, a, b = self._theta()
        tt = _to_float_array("t", t)
        _check_finite("t", tt)
        if (tt < 0).any():
            raise ValueError("t must be >= 0")
        G = _beta_expect_g(a, np.full(tt.size, b), np.full(tt.size, r), tt / alpha)
        if np.ndim(t) == 0:
            return float(G[0])
        return _wrap(G, _first_index(t), False, "expected_purchases")
