"""Gamma-Gamma model of spend per transaction: Fader, Hardie & Lee (2005), "RFM and CLV: Using
Iso-Value Curves for Customer Base Analysis", *Journal of Marketing Research* 42(4), and Fader &
Hardie (2013), "The Gamma-Gamma Model of Monetary Value". Implemented from the published
formulas."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
from scipy import special

from helpers.core.mle import ModelFitError, dot

from ._inputs import (
    _all_scalar,
    _check_finite,
    _check_lengths,
    _check_whole_nonnegative,
    _factorize,
    _first_index,
    _to_float_array,
    _validate_weights,
    _wrap,
)
from .base import CLVModel


class _SpendData:
    def __init__(self, x: np.ndarray, m: np.ndarray, w: np.ndarray):
        self.xu, ix = _factorize(x)
        mu, im = _factorize(m)
        keyu, inv = _factorize(ix * mu.size + im)
        self.w = np.bincount(inv, weights=w, minlength=keyu.size)
        self.ix = keyu // mu.size
        self.x = self.xu[self.ix]
        self.m = mu[keyu % mu.size]
        self.logm = np.log(self.m)
        self.logx = np.log(self.x)
        self.Wx = np.bincount(self.ix, weights=self.w, minlength=self.xu.size)
        self.N = float(w.sum())


class GammaGammaModel(CLVModel):
    """Gamma-Gamma model of average spend per transaction (Fader, Hardie & Lee 2005).

    Each transaction value is Gamma(shape p, rate nu) around the customer's mean p/nu;
    nu ~ Gamma(shape q, rate v) across customers. Assumes spend is independent of purchase
    frequency (check with :func:`gamma_gamma_independence`).

    ``fit(frequency, monetary, weights=None)``: ``monetary`` is the mean value of the customer's
    repeat transactions (currency units). Customers with ``frequency == 0`` carry no spend
    information and are left out of the fit (``n_customers_`` counts the repeat buyers used).
    Configuration as in :class:`BetaGeoModel`; ``params_ = {p, q, v}`` (v in currency units).
    """

    _param_names = ("p", "q", "v")
    _model_name = "Gamma-Gamma"

    def _default_start(self, data: _SpendData) -> np.ndarray:
        mean_m = dot(data.w, data.m) / data.N
        return np.array([1.0, 2.0, max(mean_m, 1e-6)])

    def fit(self, frequency: Any, monetary: Any, weights: Any = None) -> GammaGammaModel:
        """Fit on repeat buyers; ``frequency`` = number of repeat transactions, ``monetary`` = their
        mean value (> 0 for every customer with frequency > 0). Returns self."""
        x = _to_float_array("frequency", frequency)
        m = _to_float_array("monetary", monetary)
        _check_lengths(frequency=x, monetary=m)
        _check_finite("frequency", x)
        _check_finite("monetary", m)
        _check_whole_nonnegative("frequency", x)
        w = _validate_weights(weights, x.size)
        rep = (x > 0) & (w > 0)
        if (m[rep] <= 0).any():
            raise ValueError(
                "monetary must be > 0 for every customer with frequency > 0 (the Gamma-Gamma model "
                "describes positive spend); drop or fix zero/negative values"
            )
        self.n_excluded_ = int((x == 0).sum())
        if rep.sum() < 2:
            raise ModelFitError(
                "Gamma-Gamma: fewer than 2 customers with repeat purchases, so spend heterogeneity "
                "cannot be estimated. The model needs repeat buyers (frequency > 0) with their mean "
                "repeat spend."
            )
        x, m, w = x[rep], m[rep], w[rep]
        start = None
        sub = self._subsample(x.size)
        if sub is not None:
            sample = _SpendData(x[sub], m[sub], w[sub])
            start = self._warm_start(sample, sample.N)
        data = _SpendData(x, m, w)
        self._fit_core(data, data.N, start)
        return self

    def _nll_grad(self, theta: np.ndarray, D: _SpendData) -> tuple[float, np.ndarray]:
        p, q, v = theta
        xs = D.xu
        psi = special.digamma
        px = p * xs
        lgx = special.gammaln(px + q) - special.gammaln(px)
        lvxm = np.log(v + D.x * D.m)
        pxr = p * D.x
        ll = (
            dot(D.Wx, lgx)
            + D.N * (q * math.log(v) - special.gammaln(q))
            + dot(D.w, (pxr - 1.0) * D.logm + pxr * D.logx - (pxr + q) * lvxm)
        )
        dpx = psi(px + q) - psi(px)
        g = np.array(
            [
                dot(D.Wx, (xs * dpx)) + dot(D.w, (D.x * (D.logm + D.logx - lvxm))),
                dot(D.Wx, psi(px + q)) - D.N * psi(q) + D.N * math.log(v) - dot(D.w, lvxm),
                D.N * q / v - dot(D.w, (pxr + q) / (v + D.x * D.m)),
            ]
        )
        return -ll, -g

    def expected_spend(self, frequency: Any, monetary: Any) -> Any:
        """Conditional expected average transaction value E[M | x, m] = p (v + x m) / (p x + q - 1);
        for frequency 0 this is the population mean p v / (q - 1). Infinite if q <= 1."""
        self._check_fitted()
        x = _to_float_array("frequency", frequency)
        m = _to_float_array("monetary", monetary)
        _check_lengths(frequency=x, monetary=m)
        _check_finite("frequency", x)
        _check_whole_nonnegative("frequency", x)
        m = np.where(x == 0, 0.0, m)
        _check_finite("monetary", m)
        if (m < 0).any():
            raise ValueError("monetary must be >= 0")
        p, q, v = self._theta()
        denom = p * x + q - 1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(denom > 0, p * (v + x * m) / denom, np.inf)
        if q <= 1:
            warnings.warn(
                f"Gamma-Gamma q = {q:.3g} <= 1: the population mean spend is infinite, so expected "
                "spend for customers without repeat purchases is inf",
                RuntimeWarning,
                stacklevel=2,
            )
        return _wrap(out, _first_index(frequency, monetary), _all_scalar(frequency, monetary), "expected_spend")
