"""The shared base of the CLV models: the customer summary collapsed to distinct rows, the CLV
flavour of the maximum-likelihood engine (:mod:`helpers.core.mle`), and the fitting and
prediction entry points common to the BG/NBD and Pareto/NBD transaction models."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from helpers.core.mle import LikelihoodModel, ModelFitError, dot

from ._inputs import (
    _all_scalar,
    _check_finite,
    _factorize,
    _first_index,
    _to_float_array,
    _unique_rows,
    _validate_rfm,
    _validate_weights,
)

FIT_ADVICE = (
    "Things to try: use more data (in particular more customers with repeat purchases), pass a "
    "small penalizer (e.g. penalizer=0.001) or log_penalizer (e.g. log_penalizer=1e-4), pass "
    "different initial_params, and check that recency <= T and that frequency, recency and T are "
    "measured in the same time unit."
)


class RFMData:
    """Customers collapsed to unique (x, t_x, T) rows with summed weights.

    Every distinct value of x, t_x and T is stored once (``xu``, ``txu``, ``Tu``) and rows refer to
    them by index, so parameter-dependent work is done once per distinct value.
    """

    def __init__(self, x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray):
        (rx, rtx, rT), inv = _unique_rows(x, tx, T)  # lexicographic in (x, t_x, T)
        self.xu, self.ix = _factorize(rx)
        self.txu, self.itx = _factorize(rtx)
        self.Tu, self.iT = _factorize(rT)
        keyu = rx
        self.row_of_customer = inv
        w_rows = np.bincount(inv, weights=w, minlength=keyu.size)
        self.w = w_rows
        self.x = self.xu[self.ix]
        self.N = float(w.sum())
        self.Wx = np.bincount(self.ix, weights=w_rows, minlength=self.xu.size)
        self.WT = np.bincount(self.iT, weights=w_rows, minlength=self.Tu.size)
        self.WXT = np.bincount(self.iT, weights=w_rows * self.x, minlength=self.Tu.size)
        self.n_rows = keyu.size
        self.total_x = dot(w, x)


class NoRepeatPurchasesError(ModelFitError):
    """No customer has a repeat purchase: no transaction model can be fitted (no fallback helps)."""


class CLVModel(LikelihoodModel):
    """A likelihood model of customers: counts customers, gives CLV-specific advice on failure.

    Configuration (all models): ``penalizer`` (L2 on the parameters, added to the mean negative
    log-likelihood per customer), ``log_penalizer`` (L2 on the log-parameters: keeps estimates
    off the edges of the allowed range), ``tol`` (L-BFGS-B gradient tolerance), ``maxiter``,
    ``initial_params`` (dict or sequence in the order of the parameters).
    """

    _fit_advice = FIT_ADVICE
    _n_name = "n_customers"


class TransactionModel(CLVModel):
    """Fitting entry point shared by the BG/NBD and Pareto/NBD models."""

    def fit(self, frequency: Any, recency: Any, T: Any, weights: Any = None) -> TransactionModel:
        """Fit by maximum likelihood.

        Parameters
        ----------
        frequency : array-like of whole numbers >= 0
            Number of repeat purchases x.
        recency : array-like
            Time of the last repeat purchase t_x since the first purchase (0 if x = 0; may also be 0
            with x > 0 when the repeat purchases fell in the period of the first one).
        T : array-like
            Time from the first purchase to the end of the calibration period, same unit as
            ``recency`` (weeks or days); ``alpha``/``beta`` are then in that unit.
        weights : array-like, optional
            Frequency weights: how many customers each row stands for. Rows with identical
            (x, t_x, T) are merged internally anyway.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            Invalid input (negative or non-integer frequency, recency > T, NaN, ...).
        ModelFitError
            The fit failed; the message explains why and what to try.
        """
        x, tx, TT = _validate_rfm(frequency, recency, T)
        w = _validate_weights(weights, x.size)
        if dot(w, x) <= 0:
            raise NoRepeatPurchasesError(
                f"{self._model_name}: no customer has a repeat purchase (all frequencies are 0), so "
                "the purchase rate cannot be separated from drop-out and the likelihood has no finite "
                "maximum. The model needs customers with repeat purchases: use a longer calibration "
                "period or more customers."
            )
        start = None
        sub = self._subsample(x.size)
        if sub is not None and dot(w[sub], x[sub]) > 0 and w[sub].sum() > 0:
            sample = self._prepare(x[sub], tx[sub], TT[sub], w[sub])
            start = self._warm_start(sample, sample.N)
        data = self._prepare(x, tx, TT, w)
        self._fit_core(data, data.N, start)
        return self

    def _prepare(self, x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray) -> Any:
        return RFMData(x, tx, T, w)

    def log_likelihood(
        self,
        frequency: Any,
        recency: Any,
        T: Any,
        weights: Any = None,
        params: Mapping[str, float] | None = None,
    ) -> float:
        """Total log-likelihood of the given customers at the fitted parameters (or at ``params``,
        a dict with all parameter names), e.g. to score a holdout sample or compare estimates."""
        x, tx, TT = _validate_rfm(frequency, recency, T)
        w = _validate_weights(weights, x.size)
        if params is None:
            theta = self._theta()
        else:
            theta = np.array([float(params[n]) for n in self._param_names])
            if not (np.all(np.isfinite(theta)) and np.all(theta > 0)):
                raise ValueError("params must all be finite and > 0")
        with np.errstate(all="ignore"):
            nll, _ = self._nll_grad(theta, self._prepare(x, tx, TT, w))
        return -float(nll)

    def _predict_inputs(
        self, frequency: Any, recency: Any, T: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.Index | None, bool]:
        self._check_fitted()
        x, tx, TT = _validate_rfm(frequency, recency, T)
        return x, tx, TT, _first_index(frequency, recency, T), _all_scalar(frequency, recency, T)

    @staticmethod
    def _horizon(t: Any, n: int) -> np.ndarray:
        tt = _to_float_array("t", t)
        _check_finite("t", tt)
        if (tt < 0).any():
            raise ValueError("the horizon t must be >= 0")
        if tt.size == 1:
            return np.full(n, tt[0])
        if tt.size != n:
            raise ValueError(f"t must be a scalar or have one value per customer (got {tt.size} for {n})")
        return tt
