"""Pareto/NBD model of repeat purchasing: Schmittlein, Morrison & Colombo (1987), "Counting Your
Customers: Who Are They and What Will They Do Next?", *Management Science* 33(1), 1-24; the
likelihood in the form of Fader, Hardie & Lee (2005), "A Note on Deriving the Pareto/NBD Model
and Related Expressions". Implemented from the published formulas; the Gauss hypergeometric
function comes from :mod:`.hyp2f1`."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import special

from helpers.core.mle import dot

from ._inputs import _check_finite, _factorize, _first_index, _to_float_array, _wrap
from .base import RFMData, TransactionModel
from .hyp2f1 import log_hyp_1pq


def _pareto_log_I(
    x: np.ndarray, t: np.ndarray, r: float, alpha: float, s: float, beta: float
) -> tuple[np.ndarray, np.ndarray]:
    """log I(t) = log int_t^inf (alpha+u)^-(r+x) (beta+u)^-(s+1) du and its gradient (n, 4)
    with respect to (r, alpha, s, beta)."""
    if alpha >= beta:
        big, small = alpha + t, beta + t
        P, Q = r + x, np.full(x.size, s + 1.0)
        z = (alpha - beta) / big
    else:
        big, small = beta + t, alpha + t
        P, Q = np.full(x.size, s + 1.0), r + x
        z = (beta - alpha) / big
    A = r + s + x
    logF, dP, dQ, dz = log_hyp_1pq(P, Q, z)
    lbig, lsmall = np.log(big), np.log(small)
    logI = -P * lbig + (1.0 - Q) * lsmall - np.log(A) + logF
    dPt = -lbig - 1.0 / A + dP
    dQt = -lsmall - 1.0 / A + dQ
    dbig = -P / big + dz * small / big**2
    dsmall = (1.0 - Q) / small - dz / big
    grad = np.empty((x.size, 4))
    if alpha >= beta:
        grad[:, 0], grad[:, 1], grad[:, 2], grad[:, 3] = dPt, dbig, dQt, dsmall
    else:
        grad[:, 0], grad[:, 1], grad[:, 2], grad[:, 3] = dQt, dsmall, dPt, dbig
    return logI, grad


def _log1mexp(d: np.ndarray) -> np.ndarray:
    """log(1 - exp(d)) for d <= 0 (-inf at d = 0)."""
    with np.errstate(divide="ignore"):
        return np.where(d > -math.log(2.0), np.log(-np.expm1(d)), np.log1p(-np.exp(d)))


class ParetoData(RFMData):
    def __init__(self, x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray):
        super().__init__(x, tx, T, w)
        k1u, p1 = _factorize(self.ix * self.txu.size + self.itx)
        k2u, p2 = _factorize(self.ix * self.Tu.size + self.iT)
        self.pair_x = np.concatenate([self.xu[k1u // self.txu.size], self.xu[k2u // self.Tu.size]])
        self.pair_t = np.concatenate([self.txu[k1u % self.txu.size], self.Tu[k2u % self.Tu.size]])
        self.p1 = p1
        self.p2 = p2 + k1u.size
        self.n_pairs = self.pair_x.size


def _pareto_row_terms(theta: np.ndarray, D: ParetoData) -> dict[str, np.ndarray]:
    r, alpha, s, beta = theta
    logaT = np.log(alpha + D.Tu)
    logbT = np.log(beta + D.Tu)
    T0 = -(r + D.x) * logaT[D.iT] - s * logbT[D.iT]
    logI, dI = _pareto_log_I(D.pair_x, D.pair_t, r, alpha, s, beta)
    ls = math.log(s)
    T1 = ls + logI[D.p1]
    T2 = ls + logI[D.p2]
    # Z = e^T0 - e^T2 + e^T1 with e^T2 <= e^T0 and e^T2 <= e^T1: no catastrophic cancellation
    A0 = T0 + _log1mexp(np.minimum(T2 - T0, 0.0))
    logZ = np.logaddexp(A0, T1)
    return {"T0": T0, "T1": T1, "T2": T2, "logZ": logZ, "dI": dI, "logaT": logaT, "logbT": logbT}


class ParetoNBDModel(TransactionModel):
    """Pareto/NBD model of repeat purchasing (Schmittlein, Morrison & Colombo 1987).

    While alive a customer buys at Poisson rate lambda, lambda ~ Gamma(shape r, rate alpha); the
    unobserved lifetime is exponential with rate mu, mu ~ Gamma(shape s, rate beta).

    Same configuration and fitted attributes as :class:`BetaGeoModel`, with
    ``params_ = {r, alpha, s, beta}`` (alpha and beta in the time unit of recency/T). The
    likelihood's Gauss hypergeometric function is evaluated stably in both the alpha >= beta and
    alpha < beta branches, including large x and alpha/beta far apart.
    """

    _param_names = ("r", "alpha", "s", "beta")
    _model_name = "Pareto/NBD"

    def _prepare(self, x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray) -> ParetoData:
        return ParetoData(x, tx, T, w)

    def _default_start(self, data: ParetoData) -> np.ndarray:
        mean_T = dot(data.WT, data.Tu) / data.N
        rate = max(data.total_x / data.N, 1e-3) / max(mean_T, 1e-9)
        return np.array([1.0, 1.0 / rate, 1.0, max(mean_T, 1e-3)])

    def _nll_grad(self, theta: np.ndarray, D: ParetoData) -> tuple[float, np.ndarray]:
        r, alpha, s, beta = theta
        xs = D.xu
        R = _pareto_row_terms(theta, D)
        logZ = R["logZ"]
        lg = special.gammaln(r + xs) - special.gammaln(r)
        ll = dot(D.Wx, lg) + D.N * (r * math.log(alpha) + s * math.log(beta)) + dot(D.w, logZ)
        w0 = D.w * np.exp(R["T0"] - logZ)
        w1 = D.w * np.exp(R["T1"] - logZ)
        w2 = D.w * np.exp(R["T2"] - logZ)
        Tr = D.Tu[D.iT]
        g = np.array(
            [
                dot(D.Wx, special.digamma(r + xs) - special.digamma(r))
                + D.N * math.log(alpha)
                - dot(w0, R["logaT"][D.iT]),
                D.N * r / alpha - dot((w0 * (r + D.x)), (1.0 / (alpha + Tr))),
                D.N * math.log(beta) - dot(w0, R["logbT"][D.iT]) + float((w1 - w2).sum()) / s,
                D.N * s / beta - s * dot(w0, (1.0 / (beta + Tr))),
            ]
        )
        c = np.bincount(D.p1, weights=w1, minlength=D.n_pairs) - np.bincount(D.p2, weights=w2, minlength=D.n_pairs)
        g += np.einsum("i,ij->j", c, R["dI"])
        return -ll, -g

    def _rows(self, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> tuple[ParetoData, dict[str, np.ndarray]]:
        D = ParetoData(x, tx, T, np.ones(x.size))
        return D, _pareto_row_terms(self._theta(), D)

    def p_alive(self, frequency: Any, recency: Any, T: Any) -> Any:
        """P(customer still alive at T | x, t_x, T). Below 1 even for x = 0 (a Pareto/NBD customer
        can die at any time), and decreasing in T for fixed x, t_x."""
        x, tx, TT, index, scalar = self._predict_inputs(frequency, recency, T)
        D, R = self._rows(x, tx, TT)
        pa = np.exp(R["T0"] - R["logZ"])[D.row_of_customer]
        return _wrap(np.clip(pa, 0.0, 1.0), index, scalar, "p_alive")

    @staticmethod
    def _lifetime_factor(s: float, scale: np.ndarray, t: np.ndarray) -> np.ndarray:
        """E[(1 - exp(-mu t)) / mu] for mu ~ Gamma(s, rate=scale), stable for s near 1."""
        L = np.log1p(t / scale)
        u = s - 1.0
        if abs(u) < 1e-8:
            return scale * L * (1.0 - 0.5 * u * L)
        return scale * (-np.expm1(-u * L)) / u

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> Any:
        """Conditional expected number of purchases in (T, T + t] (Schmittlein et al. 1987; FHL
        note eq. 22): P(alive) * (r + x)(beta + T) / ((alpha + T)(s - 1)) *
        [1 - ((beta + T)/(beta + T + t))^(s - 1)], t in the time unit of recency/T."""
        x, tx, TT, index, scalar = self._predict_inputs(frequency, recency, T)
        tt = self._horizon(t, x.size)
        r, alpha, s, beta = self._theta()
        D, R = self._rows(x, tx, TT)
        pa = np.exp(R["T0"] - R["logZ"])[D.row_of_customer]
        out = pa * (r + x) / (alpha + TT) * self._lifetime_factor(s, beta + TT, tt)
        return _wrap(out, index, scalar, "expected_purchases")

    def expected_purchases_new_customer(self, t: Any) -> Any:
        """Unconditional E[X(t)] = r beta / (alpha (s - 1)) [1 - (beta / (beta + t))^(s - 1)]."""
        r, alpha, s, beta = self._theta()
        tt = _to_float_array("t", t)
        _check_finite("t", tt)
        if (tt < 0).any():
            raise ValueError("t must be >= 0")
        out = r / alpha * self._lifetime_factor(s, np.full(tt.size, beta), tt)
        if np.ndim(t) == 0:
            return float(out[0])
        return _wrap(out, _first_index(t), False, "expected_purchases")
